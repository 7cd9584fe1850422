//! The agents Lambda. `LAMBDARAG_INVOKE_MODE=RESPONSE_STREAM` (behind a Function URL in
//! RESPONSE_STREAM mode) streams completions as they are generated; otherwise responses are
//! buffered (API Gateway HTTP API), SSE bodies included.

#[tokio::main]
async fn main() -> Result<(), lambdarag_aws::LambdaError> {
    lambdarag_aws::lambda::init_tracing();
    let state = lambdarag_aws::config::state_from_env().await?;
    let app = lambdarag_aws::lambda::app(state, fn_agents::router);
    if std::env::var("LAMBDARAG_INVOKE_MODE").as_deref() == Ok("RESPONSE_STREAM") {
        lambda_http::run_with_streaming_response(app).await
    } else {
        lambda_http::run(app).await
    }
}
