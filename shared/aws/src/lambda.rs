//! Running a group's router inside Lambda (placeholder until the DynamoDB adapter lands).

use axum::Router;
use lambdarag::AppState;

/// Build the AWS state from the environment, finish the router and serve Lambda events.
pub async fn serve(_build: fn(AppState) -> Router) -> Result<(), lambda_http::Error> {
    Err("the AWS state is not wired yet".into())
}
