//! `POST /api/v1/retrieval` (contract R1). Scoring lives in `lambdarag::services::retrieval`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;

use lambdarag::contract::envelope::{json_response, ok, ok_serialized, ApiResult};
use lambdarag::contract::http::{dataset_json_body, loose_json_body};
use lambdarag::services::auth::AuthTenant;
use lambdarag::services::datasets::embedding_check;
use lambdarag::services::retrieval::{self, dataset_search};
use lambdarag::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/retrieval", post(retrieve))
        // v0.27's retrieval test: the same search, its own body and chunk field names.
        .route("/api/v1/datasets/search", post(search_datasets))
        .route("/api/v1/datasets/{dataset_id}/search", post(search_dataset))
        // Here rather than in the datasets function: it embeds, and this function has the
        // built-in model.
        .route(
            "/api/v1/datasets/{dataset_id}/embedding/check",
            post(check_embedding),
        )
        .with_state(state)
}

async fn retrieve(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    let request = retrieval::validate(&req)?;
    let datasets = retrieval::load_datasets(&state, &tenant, &request.dataset_ids).await?;
    let result = retrieval::retrieve(&state, &tenant, &datasets, &request).await?;
    Ok(ok_serialized(&retrieval::reply_for(&result, &request)))
}

async fn search_datasets(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = dataset_json_body(&headers, &body)?;
    let body = dataset_search::validate(&req, None)?;
    Ok(ok(dataset_search::search(&state, &tenant, body).await?))
}

async fn search_dataset(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = dataset_json_body(&headers, &body)?;
    let body = dataset_search::validate(&req, Some(&dataset_id))?;
    Ok(ok(dataset_search::search(&state, &tenant, body).await?))
}

async fn check_embedding(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    let found = embedding_check::check(&state, &tenant, &dataset_id, &req).await?;
    if found.effective {
        return Ok(ok(found.data));
    }
    // Upstream's `get_json_result(code=NOT_EFFECTIVE)`: code 10, HTTP 200, the same figures.
    Ok(json_response(
        axum::http::StatusCode::OK,
        &serde_json::json!({
            "code": 10,
            "message": embedding_check::NOT_EFFECTIVE_MESSAGE,
            "data": found.data,
        }),
    ))
}
