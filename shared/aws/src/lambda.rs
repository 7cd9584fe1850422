//! Running a group's router inside Lambda.
//!
//! A function's `main.rs` is one call: `lambdarag_aws::lambda::serve(fn_x::router).await`.
//! `serve` builds the AWS state once per cold start and hands the finished router to
//! `lambda_http`, which turns API Gateway HTTP API (payload v2) events into requests.
//! `invoke` runs one event through exactly that conversion in-process, for tests.

use axum::Router;
use lambda_http::request::LambdaRequest;
use lambda_http::{Context, LambdaEvent};
use lambdarag::contract::http::{finish, App};
use lambdarag::AppState;
use tower::ServiceExt;
use tracing_subscriber::EnvFilter;

/// A group's router builder (`fn_datasets::router`, ...).
pub type RouterBuilder = fn(AppState) -> Router;

#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("the event is not a Lambda HTTP event lambda_http understands: {0}")]
    Event(serde_json::Error),
    #[error("the response could not be serialised: {0}")]
    Response(serde_json::Error),
}

/// JSON logs (CloudWatch parses them), filtered by `RUST_LOG` (default `info`), no ANSI.
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // `try_init` so a second call (tests, a host that set its own) is harmless.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_current_span(false)
        .with_target(true)
        .try_init();
}

/// The finished service for a group: its routes plus the contract's edge behaviour (404
/// envelope, wrong-method reply, CORS, trailing slashes), exactly what Lambda serves.
pub fn app(state: AppState, build: RouterBuilder) -> App {
    finish(build(state))
}

/// The Lambda entry point: state from the environment (once), then the event loop.
pub async fn serve(build: RouterBuilder) -> Result<(), lambda_http::Error> {
    init_tracing();
    let state = match crate::config::state_from_env().await {
        Ok(state) => state,
        Err(e) => {
            tracing::error!(error = %e, "cannot configure the function");
            return Err(e.into());
        }
    };
    lambda_http::run(app(state, build)).await
}

/// Run one raw Lambda event (API Gateway HTTP API v2 JSON, as in `events/`) through the same
/// adapter `lambda_http::run` uses, and return the response Lambda would send back
/// (`{"statusCode", "headers", "body", "isBase64Encoded", ...}`).
pub async fn invoke(app: &App, event: &str) -> Result<serde_json::Value, InvokeError> {
    let request: LambdaRequest = serde_json::from_str(event).map_err(InvokeError::Event)?;
    // `Adapter` is the (doc-hidden but public) bridge `lambda_http::run` wraps the service
    // in; going through it keeps the request and response conversions identical.
    let adapter = lambda_http::Adapter::from(app.clone());
    let response = match adapter
        .oneshot(LambdaEvent::new(request, Context::default()))
        .await
    {
        Ok(r) => r,
        Err(never) => match never {},
    };
    serde_json::to_value(&response).map_err(InvokeError::Response)
}
