//! Agents (contract 7.9 and 8.3–8.4, v0.27 delta §1.7): canvas CRUD, agent sessions, agent
//! completions (streamed or not) and the OpenAI-compatible agent route. Rules and the
//! runtime live in `lambdarag::services::agents`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use lambdarag::contract::envelope::{json_response, ApiResult};
use lambdarag::contract::http::{loose_json_body, query_pairs};
use lambdarag::services::agents::{self, AgentReply, CompletionStyle};
use lambdarag::services::answer::sse::sse_response;
use lambdarag::services::auth::{authenticate, AuthKey, AuthStyle, AuthTenant};
use lambdarag::services::files::attachments;
use lambdarag::services::openai_compat;
use lambdarag::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/agents", get(list).post(create))
        .route(
            "/api/v1/agents/{agent_id}",
            get(get_one).put(update).delete(delete),
        )
        .route(
            "/api/v1/agents/{agent_id}/sessions",
            post(create_session)
                .get(list_sessions)
                .delete(delete_sessions),
        )
        .route(
            "/api/v1/agents/{agent_id}/sessions/{session_id}",
            get(get_session).delete(delete_session),
        )
        .route("/api/v1/agents/{agent_id}/completions", post(completions))
        .route("/api/v1/agents/chat/completions", post(unified_completions))
        .route(
            "/api/v1/agents_openai/{agent_id}/chat/completions",
            post(openai_completions),
        )
        .route(
            "/api/v1/agents/attachments/{attachment_id}/download",
            get(attachment_download),
        )
        .route(
            "/api/v1/agents/attachments/{attachment_id}/preview",
            get(attachment_preview),
        )
        .with_state(state)
}

/// v0.27's attachment download (`?disposition=inline` previews instead).
async fn attachment_download(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(attachment_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(q.as_deref());
    attachments::serve(&state, &tenant, &attachment_id, &pairs, false).await
}

async fn attachment_preview(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(attachment_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(q.as_deref());
    attachments::serve(&state, &tenant, &attachment_id, &pairs, true).await
}

fn reply(body: serde_json::Value) -> Response {
    json_response(StatusCode::OK, &body)
}

fn agent_reply(r: AgentReply) -> Response {
    match r {
        AgentReply::Json(body) | AgentReply::Bare(body) => reply(body),
        AgentReply::Stream(frames) => sse_response(frames),
    }
}

async fn list(
    State(state): State<AppState>,
    AuthKey(key): AuthKey,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(q.as_deref());
    Ok(reply(
        agents::list(&state, &key.tenant_id, key.generation, &pairs).await?,
    ))
}

async fn create(
    State(state): State<AppState>,
    AuthKey(key): AuthKey,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    Ok(reply(
        agents::create(&state, &key.tenant_id, key.generation, &req).await?,
    ))
}

async fn get_one(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(id): Path<String>,
) -> ApiResult {
    Ok(reply(agents::get_one(&state, &tenant, &id).await?))
}

async fn update(
    State(state): State<AppState>,
    AuthKey(key): AuthKey,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    Ok(reply(
        agents::update(&state, &key.tenant_id, key.generation, &id, &req).await?,
    ))
}

async fn delete(
    State(state): State<AppState>,
    AuthKey(key): AuthKey,
    Path(id): Path<String>,
) -> ApiResult {
    Ok(reply(
        agents::delete(&state, &key.tenant_id, key.generation, &id).await?,
    ))
}

async fn create_session(
    State(state): State<AppState>,
    AuthKey(key): AuthKey,
    Path(agent_id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let pairs = query_pairs(q.as_deref());
    // Upstream ignores a body it cannot read here.
    let req = loose_json_body(&headers, &body).unwrap_or_default();
    Ok(reply(
        agents::create_session(
            &state,
            &key.tenant_id,
            key.generation,
            &agent_id,
            &pairs,
            &req,
        )
        .await?,
    ))
}

async fn list_sessions(
    State(state): State<AppState>,
    AuthKey(key): AuthKey,
    Path(agent_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(q.as_deref());
    Ok(reply(
        agents::list_sessions(&state, &key.tenant_id, key.generation, &agent_id, &pairs).await?,
    ))
}

async fn delete_sessions(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(agent_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    Ok(reply(
        agents::delete_sessions(&state, &tenant, &agent_id, &req).await?,
    ))
}

async fn get_session(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path((agent_id, session_id)): Path<(String, String)>,
) -> ApiResult {
    Ok(reply(
        agents::get_session(&state, &tenant, &agent_id, &session_id).await?,
    ))
}

async fn delete_session(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path((agent_id, session_id)): Path<(String, String)>,
) -> ApiResult {
    Ok(reply(
        agents::delete_session(&state, &tenant, &agent_id, &session_id).await?,
    ))
}

async fn completions(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(agent_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    Ok(agent_reply(
        agents::agent_completion(&state, &tenant, &agent_id, &req, CompletionStyle::Pinned).await?,
    ))
}

async fn unified_completions(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    Ok(agent_reply(
        agents::unified_completion(&state, &tenant, &req).await?,
    ))
}

/// Upstream checks `model` and `messages` before authenticating.
async fn openai_completions(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = openai_compat::check_required(&body)?;
    let tenant = authenticate(state.meta.as_ref(), &headers, AuthStyle::Token).await?;
    Ok(agent_reply(
        agents::openai_completion(&state, &tenant, &agent_id, &req).await?,
    ))
}
