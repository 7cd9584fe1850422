//! AWS configuration, built once per cold start (SDK clients are cheap to clone and hold the
//! connection pool, so every request reuses them).
//!
//! Environment:
//! - `LAMBDARAG_TABLE`: the DynamoDB table holding all metadata (required).
//! - the standard AWS variables (`AWS_REGION`, credentials, `AWS_ENDPOINT_URL` /
//!   `AWS_ENDPOINT_URL_DYNAMODB` for a local emulator such as moto), read by `aws-config`.

use std::sync::Arc;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, Region, SharedHttpClient};
use aws_smithy_http_client::{tls, Builder};
use lambdarag::AppState;

use crate::dynamo::DynamoStore;

/// Environment variable naming the metadata table.
pub const TABLE_ENV: &str = "LAMBDARAG_TABLE";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set (the DynamoDB table name)")]
    MissingTable(&'static str),
}

/// The SDK's HTTPS client on rustls + ring: the SDK's default pulls aws-lc-sys, a slow C
/// build we avoid (see the lean settings in the tooling notes).
pub fn http_client() -> SharedHttpClient {
    Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// The shared SDK configuration from the environment (region, credentials, endpoint).
pub async fn sdk_config_from_env() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .load()
        .await
}

/// An SDK configuration for a local AWS emulator (moto) at `endpoint`: region `us-east-1`
/// and the static credentials `test`/`test` the emulator accepts. Used by tests and local
/// runs; never by a deployed function.
pub async fn local_sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "lambdarag-local",
        ))
        .load()
        .await
}

/// The table name from `LAMBDARAG_TABLE`.
pub fn table_from_env() -> Result<String, ConfigError> {
    std::env::var(TABLE_ENV)
        .ok()
        .filter(|t| !t.trim().is_empty())
        .ok_or(ConfigError::MissingTable(TABLE_ENV))
}

/// The application state of a Lambda function: every port on its AWS adapter.
pub async fn state_from_env() -> Result<AppState, ConfigError> {
    let table = table_from_env()?;
    let conf = sdk_config_from_env().await;
    Ok(state_from_config(&conf, table))
}

/// The application state over an already loaded SDK configuration.
pub fn state_from_config(conf: &SdkConfig, table: impl Into<String>) -> AppState {
    let dynamo = aws_sdk_dynamodb::Client::new(conf);
    AppState::new(Arc::new(DynamoStore::new(dynamo, table)))
}
