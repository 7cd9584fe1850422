//! Search apps (RAGFlow v0.27, delta §1.10): CRUD under `/api/v1/searches` and the
//! completion, streamed like `/sessions/ask`. Rules live in `lambdarag::services::searches`;
//! the answer comes from the chats' answer path.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;

use lambdarag::contract::envelope::{ok_json, ApiResult};
use lambdarag::contract::http::{loose_json_body, query_pairs};
use lambdarag::services::answer::sse::sse_response;
use lambdarag::services::auth::AuthTenant;
use lambdarag::services::searches;
use lambdarag::AppState;

/// Token counting for frame buffering: cl100k, as upstream counts.
fn count_tokens(text: &str) -> usize {
    lambdarag_ingest::count_tokens(text)
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/searches", post(create).get(list))
        .route(
            "/api/v1/searches/{search_id}",
            get(get_one).put(update).delete(delete),
        )
        .route("/api/v1/searches/{search_id}/completion", post(completion))
        .route("/api/v1/searches/{search_id}/completions", post(completion))
        .with_state(state)
}

async fn create(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    Ok(ok_json(searches::create(&state, &tenant, &req).await?))
}

async fn list(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(q.as_deref());
    Ok(ok_json(searches::list(&state, &tenant, &pairs).await?))
}

async fn get_one(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(id): Path<String>,
) -> ApiResult {
    Ok(ok_json(searches::get(&state, &tenant, &id).await?))
}

async fn update(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    Ok(ok_json(searches::update(&state, &tenant, &id, &req).await?))
}

async fn delete(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(id): Path<String>,
) -> ApiResult {
    Ok(ok_json(searches::delete(&state, &tenant, &id).await?))
}

async fn completion(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    let frames = searches::completion(&state, &tenant, &id, &req, count_tokens).await?;
    Ok(sse_response(frames))
}
