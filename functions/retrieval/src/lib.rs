//! `POST /api/v1/retrieval` (contract R1). Scoring lives in `lambdarag::services::retrieval`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;

use lambdarag::contract::envelope::{ok, ApiResult};
use lambdarag::contract::http::loose_json_body;
use lambdarag::services::auth::AuthTenant;
use lambdarag::services::retrieval;
use lambdarag::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/retrieval", post(retrieve))
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
    Ok(ok(retrieval::to_api_for(&result, &request)))
}
