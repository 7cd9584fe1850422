//! Chat assistants (contract CH1–CH4): create, update, delete and list. Handlers are thin;
//! rules live in `lambdarag::services::chats`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{post, put};
use axum::Router;
use serde_json::json;

use lambdarag::contract::batch::BatchOutcome;
use lambdarag::contract::envelope::{ok, ok_empty, ApiResult};
use lambdarag::contract::http::{loose_json_body, query_pairs};
use lambdarag::services::auth::AuthTenant;
use lambdarag::services::chats;
use lambdarag::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/chats", post(create).get(list).delete(delete))
        .route("/api/v1/chats/{chat_id}", put(update))
        .with_state(state)
}

/// The reply of a batch delete: `{"code":0}` or the partial-success counts.
pub fn batch_reply(outcome: BatchOutcome) -> Response {
    match outcome {
        BatchOutcome::Done => ok_empty(),
        BatchOutcome::Partial {
            success_count,
            errors,
        } => ok(json!({"success_count": success_count, "errors": errors})),
    }
}

async fn create(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    Ok(ok(chats::create(&state, &tenant, &req).await?))
}

async fn update(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(chat_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    chats::update(&state, &tenant, &chat_id, &req).await?;
    Ok(ok_empty())
}

async fn delete(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    Ok(batch_reply(chats::delete(&state, &tenant, &req).await?))
}

async fn list(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    RawQuery(q): RawQuery,
) -> ApiResult {
    Ok(ok(
        chats::list(&state, &tenant, &query_pairs(q.as_deref())).await?
    ))
}
