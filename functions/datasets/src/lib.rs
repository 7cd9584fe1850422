//! `/api/v1/datasets`: the datasets group's routes (contract D1–D10).
//! Handlers are thin: parse, validate, call `lambdarag::services::datasets`, shape the reply.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use lambdarag::contract::envelope::{
    json_response, ok, ok_empty, ok_with_total_datasets, ApiError, ApiResult, RetCode,
};
use lambdarag::contract::http::{dataset_json_body, loose_json_body, query_pairs};
use lambdarag::services::auth::AuthTenant;
use lambdarag::services::datasets::{self, DeleteOutcome};
use lambdarag::services::{graphrag, raptor};
use lambdarag::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/datasets", post(create).get(list).delete(delete))
        .route(
            "/api/v1/datasets/{dataset_id}",
            axum::routing::put(update).get(get_one),
        )
        .route(
            "/api/v1/datasets/{dataset_id}/metadata/config",
            get(metadata_config).put(put_metadata_config),
        )
        .route(
            "/api/v1/datasets/{dataset_id}/tags",
            get(list_tags).put(rename_tag).delete(delete_tags),
        )
        .route("/api/v1/datasets/tags/aggregation", get(aggregate_tags))
        .route(
            "/api/v1/datasets/metadata/flattened",
            get(flattened_metadata),
        )
        .route(
            "/api/v1/datasets/{dataset_id}/knowledge_graph",
            get(get_graph).delete(delete_graph),
        )
        // v0.27's name for the same graph.
        .route(
            "/api/v1/datasets/{dataset_id}/graph",
            get(get_graph).delete(delete_graph),
        )
        .route(
            "/api/v1/datasets/{dataset_id}/run_graphrag",
            post(run_graphrag),
        )
        .route(
            "/api/v1/datasets/{dataset_id}/trace_graphrag",
            get(trace_graphrag),
        )
        .route("/api/v1/datasets/{dataset_id}/run_raptor", post(run_raptor))
        .route(
            "/api/v1/datasets/{dataset_id}/trace_raptor",
            get(trace_raptor),
        )
        // The API's own description lives on this group (no auth: it is public).
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/api/v1/docs", get(api_docs))
        .with_state(state)
}

async fn list_tags(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
) -> ApiResult {
    Ok(ok(datasets::tags::list(&state, &tenant, &dataset_id).await?))
}

async fn delete_tags(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    Ok(ok(datasets::tags::delete(
        &state,
        &tenant,
        &dataset_id,
        &req,
    )
    .await?))
}

async fn rename_tag(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    Ok(ok(datasets::tags::rename(
        &state,
        &tenant,
        &dataset_id,
        &req,
    )
    .await?))
}

async fn aggregate_tags(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(q.as_deref());
    Ok(ok(datasets::tags::aggregate(&state, &tenant, &pairs).await?))
}

async fn flattened_metadata(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(q.as_deref());
    Ok(ok(datasets::tags::flattened_metadata(
        &state, &tenant, &pairs,
    )
    .await?))
}

async fn openapi_json() -> Response {
    json_response(StatusCode::OK, lambdarag::contract::openapi::document())
}

async fn api_docs() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        lambdarag::contract::openapi::DOCS_HTML,
    )
        .into_response()
}

async fn create(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let body = dataset_json_body(&headers, &body)?;
    let fields = datasets::validate_create(&body)?;
    let ds = datasets::create(&state, &tenant, fields).await?;
    Ok(ok(datasets::render(&state, &ds).await?))
}

async fn list(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(q.as_deref());
    // v0.27's filter panel; the pinned list refuses a `type` key, so nothing collides.
    if lambdarag::contract::http::first(&pairs, "type") == Some("filter") {
        return Ok(ok(
            datasets::v027::list_filter_counts(&state, &tenant).await?
        ));
    }
    let query = datasets::validate_list(&pairs)?;
    let filters = datasets::v027::list_filters(&pairs)?;
    let (mut rows, total) = datasets::list_filtered(&state, &tenant, &query, &filters).await?;
    let nickname = state
        .meta
        .get_tenant(&tenant)
        .await?
        .map(|t| t.name)
        .unwrap_or_default();
    for row in &mut rows {
        datasets::v027::add_list_keys(row, &nickname);
    }
    if datasets::v027::wants_parsing_status(&pairs) {
        for row in &mut rows {
            datasets::v027::add_parsing_status(&state, &tenant, row).await?;
        }
    }
    Ok(ok_with_total_datasets(Value::Array(rows), total))
}

async fn get_one(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
) -> ApiResult {
    Ok(ok(
        datasets::v027::get_one(&state, &tenant, &dataset_id).await?
    ))
}

async fn metadata_config(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
) -> ApiResult {
    Ok(ok(datasets::v027::get_metadata_config(
        &state,
        &tenant,
        &dataset_id,
    )
    .await?))
}

async fn put_metadata_config(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let body = dataset_json_body(&headers, &body)?;
    Ok(ok(datasets::v027::put_metadata_config(
        &state,
        &tenant,
        &dataset_id,
        &body,
    )
    .await?))
}

async fn update(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let body = dataset_json_body(&headers, &body)?;
    let (fields, id) = datasets::validate_update(&dataset_id, &body)?;
    let ds = datasets::update(&state, &tenant, &id, fields).await?;
    Ok(ok(datasets::render(&state, &ds).await?))
}

async fn delete(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let body = dataset_json_body(&headers, &body)?;
    let ids = match datasets::v027::validate_delete(&body)? {
        datasets::v027::DeleteRequest::Pinned(ids) => ids,
        datasets::v027::DeleteRequest::V027(ids) => {
            // v0.27: no ids without `delete_all` deletes nothing; unknown ids are 102
            // (pinned: 108); success counts what went.
            if ids.as_ref().is_some_and(Vec::is_empty) {
                return Ok(ok(json!({"success_count": 0})));
            }
            return match datasets::delete(&state, &tenant, ids).await {
                Ok(DeleteOutcome::Done(n)) => Ok(ok(json!({"success_count": n}))),
                Ok(DeleteOutcome::Partial {
                    success_count,
                    errors,
                }) => Ok(ok(
                    json!({"success_count": success_count, "errors": errors}),
                )),
                Err(e) if e.code == RetCode::PermissionError as i64 => {
                    Err(ApiError::data(e.message))
                }
                Err(e) => Err(e),
            };
        }
    };
    match datasets::delete(&state, &tenant, ids).await? {
        DeleteOutcome::Done(_) => Ok(ok_empty()),
        DeleteOutcome::Partial {
            success_count,
            errors,
        } => Ok(ok(
            json!({"success_count": success_count, "errors": errors}),
        )),
    }
}

/// D5: the dataset's knowledge graph and mind map (`{}` each without one).
async fn get_graph(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
) -> ApiResult {
    Ok(ok(graphrag::get(&state, &tenant, &dataset_id).await?))
}

/// D6: remove the knowledge graph (cancelling a run in progress).
async fn delete_graph(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
) -> ApiResult {
    Ok(ok(graphrag::delete(&state, &tenant, &dataset_id).await?))
}

/// D7: queue a GraphRAG task over the dataset's documents.
async fn run_graphrag(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
) -> ApiResult {
    Ok(ok(graphrag::run(&state, &tenant, &dataset_id).await?))
}

/// D8: the dataset's GraphRAG task row (`{}` if it never ran).
async fn trace_graphrag(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
) -> ApiResult {
    Ok(ok(graphrag::trace(&state, &tenant, &dataset_id).await?))
}

/// D9: queue a RAPTOR task over the dataset's documents.
async fn run_raptor(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
) -> ApiResult {
    Ok(ok(raptor::run(&state, &tenant, &dataset_id).await?))
}

/// D10: the dataset's RAPTOR task row (`{}` if it never ran).
async fn trace_raptor(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
) -> ApiResult {
    Ok(ok(raptor::trace(&state, &tenant, &dataset_id).await?))
}
