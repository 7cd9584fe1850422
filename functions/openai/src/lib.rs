//! The OpenAI-compatible chat routes: the pinned O1
//! `POST /api/v1/chats_openai/{chat_id}/chat/completions` (streamed by default) and v0.27's
//! `POST /api/v1/openai/{chat_id}/chat/completions` (not streamed by default).
//! Rules live in `lambdarag::services::openai_compat`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;

use lambdarag::contract::envelope::{json_response, ApiResult};
use lambdarag::services::answer::sse::sse_response;
use lambdarag::services::auth::{authenticate, AuthStyle};
use lambdarag::services::openai_compat::{self, OpenAiReply, OpenAiRoute};
use lambdarag::AppState;

/// Token counts of the `usage` object: cl100k, as upstream counts.
fn count_tokens(text: &str) -> usize {
    lambdarag_ingest::count_tokens(text)
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/api/v1/chats_openai/{chat_id}/chat/completions",
            post(chat_completions),
        )
        .route(
            "/api/v1/openai/{chat_id}/chat/completions",
            post(openai_completions),
        )
        .with_state(state)
}

async fn chat_completions(
    State(state): State<AppState>,
    Path(chat_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    // Upstream checks the required keys before authenticating.
    let req = openai_compat::check_required(&body)?;
    let tenant = authenticate(state.meta.as_ref(), &headers, AuthStyle::Token).await?;
    match openai_compat::chat_completion(&state, &tenant, &chat_id, &req, count_tokens).await? {
        OpenAiReply::Stream(frames) => Ok(sse_response(frames)),
        OpenAiReply::Json(body) => Ok(json_response(StatusCode::OK, &body)),
    }
}

/// v0.27's route: authentication first, then the required keys; `stream` defaults to false.
async fn openai_completions(
    State(state): State<AppState>,
    Path(chat_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let tenant = authenticate(state.meta.as_ref(), &headers, AuthStyle::Token).await?;
    let req = openai_compat::check_required(&body)?;
    match openai_compat::chat_completion_on(
        &state,
        &tenant,
        &chat_id,
        &req,
        count_tokens,
        OpenAiRoute::V027,
    )
    .await?
    {
        OpenAiReply::Stream(frames) => Ok(sse_response(frames)),
        OpenAiReply::Json(body) => Ok(json_response(StatusCode::OK, &body)),
    }
}
