//! Chat assistants (contract CH1–CH4): create, update, delete and list, plus the routes
//! ragflow-sdk 0.26 (RAGFlow v0.27) adds: GET / PATCH / DELETE `/chats/{chat_id}` and
//! `delete_all`. Handlers are thin; rules live in `lambdarag::services::chats`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{post, put};
use axum::Router;
use serde_json::json;

use lambdarag::contract::batch::BatchOutcome;
use lambdarag::contract::envelope::{json_response, ok, ok_empty, ok_json, ApiResult};
use lambdarag::contract::http::{loose_json_body, query_pairs};
use lambdarag::domain::ClientGeneration;
use lambdarag::services::auth::{AuthKey, AuthTenant};
use lambdarag::services::chats;
use lambdarag::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/chats", post(create).get(list).delete(delete))
        .route(
            "/api/v1/chats/{chat_id}",
            put(update).get(get_one).patch(patch).delete(delete_one),
        )
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
    // `delete_all` present: v0.27 rules (ragflow-sdk 0.26 always sends it); absent: pinned.
    if req.contains_key("delete_all") {
        let done = chats::delete_all_chats(&state, &tenant, &req).await?;
        return Ok(json_response(
            StatusCode::OK,
            &json!({"code": 0, "message": done.message, "data": done.data}),
        ));
    }
    Ok(batch_reply(chats::delete(&state, &tenant, &req).await?))
}

/// GET /chats: the list shape depends on the key's client generation (conflict C1).
async fn list(
    State(state): State<AppState>,
    AuthKey(key): AuthKey,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(q.as_deref());
    match key.generation {
        ClientGeneration::Pinned => Ok(ok(chats::list(&state, &key.tenant_id, &pairs).await?)),
        ClientGeneration::V027 => Ok(ok_json(
            chats::list_v027(&state, &key.tenant_id, &pairs).await?,
        )),
    }
}

async fn get_one(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(chat_id): Path<String>,
) -> ApiResult {
    Ok(ok_json(chats::get_one(&state, &tenant, &chat_id).await?))
}

async fn patch(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(chat_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    Ok(ok_json(
        chats::patch(&state, &tenant, &chat_id, &req).await?,
    ))
}

async fn delete_one(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(chat_id): Path<String>,
) -> ApiResult {
    chats::delete_one(&state, &tenant, &chat_id).await?;
    Ok(ok_json(json!(true)))
}
