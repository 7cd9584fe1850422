//! Chunks of a document (contract C1–C4, plus the v0.27 single read, PATCH update and bulk
//! availability). Rules live in `lambdarag::services::chunks`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::Router;
use serde_json::json;

use lambdarag::contract::batch::BatchOutcome;
use lambdarag::contract::envelope::{ok, ok_empty, ApiResult};
use lambdarag::contract::http::{loose_json_body, query_pairs};
use lambdarag::services::auth::AuthTenant;
use lambdarag::services::chunks;
use lambdarag::AppState;
use lambdarag_ingest::count_tokens;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/api/v1/datasets/{dataset_id}/documents/{document_id}/chunks",
            get(list).post(add).delete(delete).patch(set_available),
        )
        .route(
            "/api/v1/datasets/{dataset_id}/documents/{document_id}/chunks/{chunk_id}",
            // PATCH is v0.27's name for the same update.
            get(get_one).put(update).patch(update),
        )
        // A chunk's `image_base64` may pass axum's 2 MB default; API Gateway's 6 MB bounds it
        // on AWS, the embedded server's own limit there.
        .layer(axum::extract::DefaultBodyLimit::max(6 << 20))
        .with_state(state)
}

async fn list(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path((dataset_id, document_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(q.as_deref());
    Ok(ok(chunks::list(
        &state,
        &tenant,
        &dataset_id,
        &document_id,
        &pairs,
    )
    .await?))
}

async fn add(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path((dataset_id, document_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    let counter = |s: &str| count_tokens(s);
    Ok(ok(chunks::add(
        &state,
        &tenant,
        &dataset_id,
        &document_id,
        &req,
        &counter,
    )
    .await?))
}

async fn delete(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path((dataset_id, document_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    Ok(
        match chunks::delete(&state, &tenant, &dataset_id, &document_id, &req).await? {
            BatchOutcome::Done => ok_empty(),
            BatchOutcome::Partial {
                success_count,
                errors,
            } => ok(json!({"success_count": success_count, "errors": errors})),
        },
    )
}

async fn update(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path((dataset_id, document_id, chunk_id)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    let counter = |s: &str| count_tokens(s);
    chunks::update(
        &state,
        &tenant,
        &dataset_id,
        &document_id,
        &chunk_id,
        &req,
        &counter,
    )
    .await?;
    Ok(ok_empty())
}

async fn get_one(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path((dataset_id, document_id, chunk_id)): Path<(String, String, String)>,
) -> ApiResult {
    Ok(ok(chunks::v027::get_one(
        &state,
        &tenant,
        &dataset_id,
        &document_id,
        &chunk_id,
    )
    .await?))
}

async fn set_available(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path((dataset_id, document_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    chunks::v027::set_available(&state, &tenant, &dataset_id, &document_id, &req).await?;
    Ok(ok(json!(true)))
}
