//! System routes (RAGFlow v0.27, delta §1.11): without a key the health of every store the
//! deployment uses, `pong`, the version and the login page's config; with one, each
//! store's status and the tenant's API keys (`/system/tokens`). Its own small group (not the datasets one):
//! the health check needs every port wired (bucket, queue, index), which the datasets
//! function does not otherwise need, and a probe should not share a busy group's
//! concurrency.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{extract::State, Router};
use serde_json::json;

use lambdarag::contract::envelope::{json_response, ok_json, ApiResult};
use lambdarag::services::auth::AuthTenant;
use lambdarag::services::system;
use lambdarag::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/system/healthz", get(healthz))
        // The pinned contract's path (outside /api/v1), kept upstream as an alias.
        .route("/v1/system/healthz", get(healthz))
        .route("/api/v1/system/ping", get(ping))
        .route("/api/v1/system/version", get(version))
        .route("/api/v1/system/config", get(config))
        .route("/api/v1/system/status", get(status))
        .route("/api/v1/system/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/system/tokens/{token}", delete(delete_token))
        .with_state(state)
}

/// HTTP 200 when every store answers, 500 otherwise; the body is not an envelope.
async fn healthz(State(state): State<AppState>) -> Response {
    let (ok, body) = system::healthz(&state).await;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    json_response(status, &body)
}

async fn ping() -> Response {
    let mut resp = (StatusCode::OK, "pong").into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

async fn version() -> Response {
    ok_json(json!(system::version()))
}

async fn config() -> Response {
    ok_json(system::config())
}

async fn status(State(state): State<AppState>, AuthTenant(_tenant): AuthTenant) -> Response {
    ok_json(system::status(&state).await)
}

async fn list_tokens(State(state): State<AppState>, AuthTenant(tenant): AuthTenant) -> ApiResult {
    Ok(ok_json(system::list_tokens(&state, &tenant).await?))
}

async fn create_token(State(state): State<AppState>, AuthTenant(tenant): AuthTenant) -> ApiResult {
    Ok(ok_json(system::create_token(&state, &tenant).await?))
}

async fn delete_token(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(token): Path<String>,
) -> ApiResult {
    Ok(ok_json(
        system::delete_token(&state, &tenant, &token).await?,
    ))
}
