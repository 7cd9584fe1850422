//! AWS adapters of lambdarag's ports and the Lambda entry helper.
//!
//! - `dynamo`: the metadata ports (tenants, API keys, datasets) on one DynamoDB table.
//! - `config`: SDK configuration and the application state from the environment.
//! - `lambda`: `serve` for a function's `main.rs`, `invoke` to run events in tests.

pub mod config;
pub mod dynamo;
pub mod lambda;

pub use dynamo::DynamoStore;
pub use lambda_http::Error as LambdaError;
