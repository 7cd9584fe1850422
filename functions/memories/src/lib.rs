//! Memories and messages (contract M1–M12). Both groups authenticate like upstream's
//! `login_required` (HTTP 401 on a bad key). Handlers are thin; rules live in
//! `lambdarag::services::memories`.
//!
//! Message paths name `{memory_id}:{message_id}` in one segment (a literal colon), so they
//! are routed as one `{pair}` parameter and split by the service.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;
use serde_json::Value;

use lambdarag::contract::envelope::{json_response, ApiResult};
use lambdarag::contract::http::{loose_json_body, query_pairs};
use lambdarag::services::auth::LoginKey;
use lambdarag::services::memories::{self, messages};
use lambdarag::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/memories", post(create).get(list))
        .route(
            "/api/v1/memories/{memory_id}",
            put(update).delete(delete).get(detail),
        )
        .route("/api/v1/memories/{memory_id}/config", get(config))
        .route("/api/v1/messages", post(add).get(recent))
        .route("/api/v1/messages/search", get(search))
        .route("/api/v1/messages/{pair}", put(set_status).delete(forget))
        .route("/api/v1/messages/{pair}/content", get(content))
        .with_state(state)
}

fn reply(body: Value) -> Response {
    json_response(StatusCode::OK, &body)
}

async fn create(
    State(state): State<AppState>,
    LoginKey(key): LoginKey,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    // `validate_request` treats an unreadable body as `{}` (it reports every name).
    let req = loose_json_body(&headers, &body).unwrap_or_default();
    Ok(reply(memories::create(&state, &key.tenant_id, &req).await?))
}

async fn update(
    State(state): State<AppState>,
    LoginKey(key): LoginKey,
    Path(memory_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    Ok(reply(
        memories::update(&state, &key.tenant_id, &memory_id, &req).await?,
    ))
}

async fn delete(
    State(state): State<AppState>,
    LoginKey(key): LoginKey,
    Path(memory_id): Path<String>,
) -> ApiResult {
    Ok(reply(
        memories::delete(&state, &key.tenant_id, &memory_id).await?,
    ))
}

async fn list(
    State(state): State<AppState>,
    LoginKey(key): LoginKey,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(q.as_deref());
    Ok(reply(
        memories::list(&state, &key.tenant_id, key.generation, &pairs).await?,
    ))
}

async fn config(
    State(state): State<AppState>,
    LoginKey(key): LoginKey,
    Path(memory_id): Path<String>,
) -> ApiResult {
    Ok(reply(
        memories::config(&state, &key.tenant_id, &memory_id).await?,
    ))
}

async fn detail(
    State(state): State<AppState>,
    LoginKey(key): LoginKey,
    Path(memory_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(q.as_deref());
    Ok(reply(
        messages::list_of_memory(&state, &key.tenant_id, &memory_id, &pairs).await?,
    ))
}

async fn add(
    State(state): State<AppState>,
    LoginKey(key): LoginKey,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body).unwrap_or_default();
    Ok(reply(messages::add(&state, &key.tenant_id, &req).await?))
}

async fn recent(
    State(state): State<AppState>,
    LoginKey(key): LoginKey,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(q.as_deref());
    Ok(reply(
        messages::recent(&state, &key.tenant_id, &pairs).await?,
    ))
}

async fn search(
    State(state): State<AppState>,
    LoginKey(key): LoginKey,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(q.as_deref());
    Ok(reply(
        messages::search(&state, &key.tenant_id, &pairs).await?,
    ))
}

async fn forget(
    State(state): State<AppState>,
    LoginKey(key): LoginKey,
    Path(pair): Path<String>,
) -> ApiResult {
    Ok(reply(
        messages::forget(&state, &key.tenant_id, &pair).await?,
    ))
}

async fn set_status(
    State(state): State<AppState>,
    LoginKey(key): LoginKey,
    Path(pair): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body).unwrap_or_default();
    Ok(reply(
        messages::set_status(&state, &key.tenant_id, &pair, &req).await?,
    ))
}

async fn content(
    State(state): State<AppState>,
    LoginKey(key): LoginKey,
    Path(pair): Path<String>,
) -> ApiResult {
    Ok(reply(
        messages::content(&state, &key.tenant_id, &pair).await?,
    ))
}
