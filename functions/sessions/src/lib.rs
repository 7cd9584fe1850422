//! Chat sessions and completions (contract S1–S7): session CRUD, `POST
//! /chats/{chat_id}/completions` (SSE or JSON), `/sessions/ask` and
//! `/sessions/related_questions`. Rules live in `lambdarag::services::sessions` and
//! `lambdarag::services::completion`; answers stream as real model deltas.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{delete as delete_route, post, put};
use axum::Router;
use serde_json::json;

use lambdarag::contract::batch::BatchOutcome;
use lambdarag::contract::envelope::{json_response, ok, ok_empty, ok_json, ApiResult};
use lambdarag::contract::http::{loose_json_body, query_pairs};
use lambdarag::services::answer::default_model::{
    recommendation as recommendation_of, related_questions as related_questions_of,
};
use lambdarag::services::answer::mind_map::mind_map as mind_map_of;
use lambdarag::services::answer::sse::sse_response;
use lambdarag::services::auth::AuthTenant;
use lambdarag::services::completion::{self, Completion, TurnAnswer};
use lambdarag::services::{sessions, sessions_v027};
use lambdarag::AppState;

mod audio;

/// Token counting for frame buffering: cl100k, as upstream counts.
fn count_tokens(text: &str) -> usize {
    lambdarag_ingest::count_tokens(text)
}

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route(
            "/api/v1/chats/{chat_id}/sessions",
            post(create).get(list).delete(delete),
        )
        .route(
            "/api/v1/chats/{chat_id}/sessions/{session_id}",
            put(update).get(get_one).patch(patch),
        )
        .route(
            "/api/v1/chats/{chat_id}/sessions/{session_id}/messages/{msg_id}",
            delete_route(delete_message),
        )
        .route(
            "/api/v1/chats/{chat_id}/sessions/{session_id}/messages/{msg_id}/feedback",
            put(feedback),
        )
        .route("/api/v1/chat/completions", post(unified_completions))
        .route("/api/v1/chats/{chat_id}/completions", post(completions))
        .route("/api/v1/sessions/ask", post(ask))
        .route(
            "/api/v1/sessions/related_questions",
            post(related_questions),
        )
        .route("/api/v1/chat/recommendation", post(recommendation))
        .route("/api/v1/chat/mindmap", post(mind_map));
    audio::routes(routes).with_state(state)
}

fn batch_reply(outcome: BatchOutcome) -> Response {
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
    Path(chat_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    Ok(ok(sessions::create(&state, &tenant, &chat_id, &req).await?))
}

async fn update(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path((chat_id, session_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    sessions::update(&state, &tenant, &chat_id, &session_id, &req).await?;
    Ok(ok_empty())
}

async fn list(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(chat_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(q.as_deref());
    Ok(ok(sessions::list(&state, &tenant, &chat_id, &pairs).await?))
}

async fn delete(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(chat_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    // `delete_all` present: v0.27 rules (ragflow-sdk 0.26 always sends it); absent: pinned.
    if req.contains_key("delete_all") {
        let done = sessions_v027::delete_v027(&state, &tenant, &chat_id, &req).await?;
        return Ok(json_response(
            StatusCode::OK,
            &json!({"code": 0, "message": done.message, "data": done.data}),
        ));
    }
    Ok(batch_reply(
        sessions::delete(&state, &tenant, &chat_id, &req).await?,
    ))
}

async fn get_one(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path((chat_id, session_id)): Path<(String, String)>,
) -> ApiResult {
    Ok(ok_json(
        sessions_v027::get_one(&state, &tenant, &chat_id, &session_id).await?,
    ))
}

async fn patch(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path((chat_id, session_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    Ok(ok_json(
        sessions_v027::patch(&state, &tenant, &chat_id, &session_id, &req).await?,
    ))
}

async fn delete_message(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path((chat_id, session_id, msg_id)): Path<(String, String, String)>,
) -> ApiResult {
    Ok(ok_json(
        sessions_v027::delete_message(&state, &tenant, &chat_id, &session_id, &msg_id).await?,
    ))
}

async fn feedback(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path((chat_id, session_id, msg_id)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    Ok(ok_json(
        sessions_v027::feedback(&state, &tenant, &chat_id, &session_id, &msg_id, &req).await?,
    ))
}

/// POST /chat/completions (v0.27): the chat id in the body; answered even without a session.
async fn unified_completions(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    match completion::unified::answer(&state, &tenant, &req, count_tokens).await? {
        TurnAnswer::Stream(frames) => Ok(sse_response(frames)),
        TurnAnswer::Json(body) => Ok(json_response(StatusCode::OK, &body)),
    }
}

async fn completions(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(chat_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    match completion::start_completion(&state, &tenant, &chat_id, &req).await? {
        Completion::Prologue {
            session,
            stream: true,
        } => Ok(sse_response(completion::prologue_frames(&session))),
        Completion::Prologue {
            session,
            stream: false,
        } => Ok(ok(completion::prologue_answer(&session))),
        Completion::Turn(turn) => {
            match completion::answer_turn(&state, &tenant, turn, count_tokens).await? {
                TurnAnswer::Stream(frames) => Ok(sse_response(frames)),
                TurnAnswer::Json(body) => Ok(json_response(StatusCode::OK, &body)),
            }
        }
    }
}

async fn ask(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    let frames = completion::ask(&state, &tenant, &req, count_tokens).await?;
    Ok(sse_response(frames))
}

async fn related_questions(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    let questions = related_questions_of(&state, &tenant, &req).await?;
    Ok(ok(json!(questions)))
}

/// v0.27's rename of related questions (optionally with a search app's model).
async fn recommendation(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    let questions = recommendation_of(&state, &tenant, &req).await?;
    Ok(ok_json(json!(questions)))
}

async fn mind_map(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    Ok(ok_json(mind_map_of(&state, &tenant, &req).await?))
}
