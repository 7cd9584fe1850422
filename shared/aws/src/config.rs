//! AWS configuration, built once per cold start (SDK clients are cheap to clone and hold the
//! connection pool, so every request reuses them).
//!
//! Environment (each port is wired only when its variable is set, so a function gets
//! exactly what its template entry gives it; the rest answer "not configured"):
//!
//! | variable | port | adapter |
//! |---|---|---|
//! | `LAMBDARAG_TABLE` (required) | metadata | [`DynamoStore`] |
//! | `LAMBDARAG_BUCKET` | blobs | [`S3BlobStore`] |
//! | `LAMBDARAG_QUEUE_URL` | parse tasks | [`SqsTaskQueue`] |
//! | `LAMBDARAG_OPENSEARCH_URL` | chunk index | [`OpenSearchIndex`] |
//! | `LAMBDARAG_OPENSEARCH_SIGV4=1` | sign index requests (`LAMBDARAG_OPENSEARCH_SERVICE`: `es`, default, or `aoss`) | |
//! | `LAMBDARAG_OPENSEARCH_INDEX_PREFIX` | index names (default `lambdarag-chunks-`) | |
//!
//! Documents (on the table, [`DynamoStore`]) are wired when the bucket or the index is:
//! a function with documents must be able to remove what they own (deleting a dataset
//! deletes its documents' chunks and files), so a metadata-only function (only the table)
//! keeps answering as before, and the template gives the bucket and the index to every
//! function that deletes documents. Embedding models (OpenAI-compatible providers; Bedrock
//! with the `bedrock` feature) are always available: the registry does nothing until asked
//! for a model; so are chat models (the built-in extractive answerer and the providers).
//!
//! Plus the standard AWS variables (`AWS_REGION`, credentials, `AWS_ENDPOINT_URL` for a
//! local emulator such as moto), read by `aws-config`.

use std::sync::{Arc, OnceLock};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, Region, SharedHttpClient};
use aws_smithy_http_client::{tls, Builder};
use lambdarag::AppState;
use lambdarag_models::ModelRegistry;

use crate::dynamo::DynamoStore;
use crate::opensearch::{OpenSearchIndex, SigV4Signer};
use crate::s3::S3BlobStore;
use crate::sqs::SqsTaskQueue;

/// Environment variable naming the metadata table.
pub const TABLE_ENV: &str = "LAMBDARAG_TABLE";
/// The documents bucket (blobs under `tenants/`, staged uploads under `datasets/`).
pub const BUCKET_ENV: &str = "LAMBDARAG_BUCKET";
/// The parse queue's URL.
pub const QUEUE_URL_ENV: &str = "LAMBDARAG_QUEUE_URL";
/// The OpenSearch endpoint (`https://...`).
pub const OPENSEARCH_URL_ENV: &str = "LAMBDARAG_OPENSEARCH_URL";
/// `1` / `true`: sign OpenSearch requests with SigV4.
pub const OPENSEARCH_SIGV4_ENV: &str = "LAMBDARAG_OPENSEARCH_SIGV4";
/// The SigV4 service name: `es` (managed domain, default) or `aoss` (serverless).
pub const OPENSEARCH_SERVICE_ENV: &str = "LAMBDARAG_OPENSEARCH_SERVICE";
/// Index name prefix.
pub const OPENSEARCH_PREFIX_ENV: &str = "LAMBDARAG_OPENSEARCH_INDEX_PREFIX";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set (the DynamoDB table name)")]
    MissingTable(&'static str),
    #[error("the OpenSearch index cannot be configured: {0}")]
    OpenSearch(String),
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

/// The OpenSearch part of the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSearchSettings {
    pub url: String,
    /// `Some(service)` to sign requests (`es` or `aoss`).
    pub sigv4_service: Option<String>,
    pub index_prefix: Option<String>,
}

/// What a function is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    pub table: String,
    pub bucket: Option<String>,
    pub queue_url: Option<String>,
    pub opensearch: Option<OpenSearchSettings>,
}

impl AwsSettings {
    /// From the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// From any variable lookup (blank values count as unset).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let table = var(TABLE_ENV).ok_or(ConfigError::MissingTable(TABLE_ENV))?;
        let opensearch = var(OPENSEARCH_URL_ENV).map(|url| {
            let sign = var(OPENSEARCH_SIGV4_ENV)
                .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"));
            OpenSearchSettings {
                url,
                sigv4_service: sign
                    .then(|| var(OPENSEARCH_SERVICE_ENV).unwrap_or_else(|| "es".into())),
                index_prefix: var(OPENSEARCH_PREFIX_ENV),
            }
        });
        Ok(AwsSettings {
            table,
            bucket: var(BUCKET_ENV),
            queue_url: var(QUEUE_URL_ENV),
            opensearch,
        })
    }
}

/// The application state plus the concrete adapters, for functions that need more than
/// the ports (the S3 ingestion uses the table's markers and the staging area).
#[derive(Clone)]
pub struct AwsState {
    pub app: AppState,
    pub dynamo: DynamoStore,
    pub blobs: Option<S3BlobStore>,
    pub queue: Option<SqsTaskQueue>,
    pub settings: AwsSettings,
}

/// The blob store presigned uploads are signed with, once a state with a bucket was built.
static UPLOAD_STORE: OnceLock<S3BlobStore> = OnceLock::new();

/// The documents bucket of this process, if configured (see [`crate::uploads`]).
pub fn upload_store() -> Option<&'static S3BlobStore> {
    UPLOAD_STORE.get()
}

/// An S3 client; path-style addressing when an endpoint is overridden (an emulator such as
/// moto: `<bucket>.127.0.0.1` does not resolve).
pub fn s3_client(conf: &SdkConfig) -> aws_sdk_s3::Client {
    let overridden = conf.endpoint_url().is_some()
        || std::env::var("AWS_ENDPOINT_URL_S3").is_ok_and(|v| !v.is_empty());
    let s3 = aws_sdk_s3::config::Builder::from(conf)
        .force_path_style(overridden)
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}

/// Every configured port on its AWS adapter, over an already loaded SDK configuration.
pub fn build_state(conf: &SdkConfig, settings: AwsSettings) -> Result<AwsState, ConfigError> {
    let dynamo = DynamoStore::new(aws_sdk_dynamodb::Client::new(conf), &settings.table);
    let mut app = AppState::new(Arc::new(dynamo.clone()));

    let blobs = settings
        .bucket
        .as_ref()
        .map(|bucket| S3BlobStore::new(s3_client(conf), bucket));
    if let Some(b) = &blobs {
        app = app.with_blobs(Arc::new(b.clone()));
        let _ = UPLOAD_STORE.set(b.clone());
    }
    if blobs.is_some() || settings.opensearch.is_some() {
        app = app.with_docs(Arc::new(dynamo.clone()));
    }
    // Chats and sessions live on the table alone, so every function gets them.
    app = app.with_chats(Arc::new(dynamo.clone()));
    // So are memories and their messages.
    app = app.with_memories(Arc::new(dynamo.clone()));
    // The file manager's rows live on the table too (its bytes need the bucket).
    app = app.with_files(Arc::new(dynamo.clone()));
    // Search apps too.
    app = app.with_searches(Arc::new(dynamo.clone()));
    // Agents and their sessions.
    app = app.with_agents(Arc::new(dynamo.clone()));
    // Dataset tasks (RAPTOR) and each dataset's current one.
    app = app.with_tasks(Arc::new(dynamo.clone()));

    let queue = settings
        .queue_url
        .as_ref()
        .map(|url| SqsTaskQueue::new(aws_sdk_sqs::Client::new(conf), url));
    if let Some(q) = &queue {
        app = app.with_queue(Arc::new(q.clone()));
    }

    if let Some(os) = &settings.opensearch {
        app = app.with_index(Arc::new(opensearch_index(conf, os)?));
    }

    let registry = ModelRegistry::new(None);
    #[cfg(feature = "bedrock")]
    let registry = registry.with_aws_config(conf);
    let registry = Arc::new(registry);
    // Chat models: completions, and retrieval's `keyword` / `cross_languages`, which ask the
    // tenant's default chat model. Like the embedders, nothing happens until a model is used.
    // Audio models (`/tts`, `/sequence2txt`, `/chat/audio/*`) share the chat models' client.
    let providers = Arc::new(lambdarag_models::ChatRegistry::new());
    app = app
        .with_embedders(registry.clone())
        .with_rerankers(registry)
        .with_chat_models(providers.clone())
        .with_audio(providers);

    Ok(AwsState {
        app,
        dynamo,
        blobs,
        queue,
        settings,
    })
}

/// The OpenSearch index client the settings describe.
pub fn opensearch_index(
    conf: &SdkConfig,
    os: &OpenSearchSettings,
) -> Result<OpenSearchIndex, ConfigError> {
    let mut index =
        OpenSearchIndex::new(&os.url).map_err(|e| ConfigError::OpenSearch(e.to_string()))?;
    if let Some(prefix) = &os.index_prefix {
        index = index.with_index_prefix(prefix.clone());
    }
    if let Some(service) = &os.sigv4_service {
        let region = conf.region().ok_or_else(|| {
            ConfigError::OpenSearch("SigV4 signing needs a region (AWS_REGION)".into())
        })?;
        let creds = conf
            .credentials_provider()
            .ok_or_else(|| ConfigError::OpenSearch("SigV4 signing needs AWS credentials".into()))?;
        index = index.with_signer(SigV4Signer::new(creds, region.to_string(), service.clone()));
    }
    Ok(index)
}

/// The application state of a Lambda function: every configured port on its AWS adapter.
pub async fn state_from_env() -> Result<AppState, ConfigError> {
    Ok(aws_state_from_env().await?.app)
}

/// [`state_from_env`] with the concrete adapters.
pub async fn aws_state_from_env() -> Result<AwsState, ConfigError> {
    let settings = AwsSettings::from_env()?;
    let conf = sdk_config_from_env().await;
    build_state(&conf, settings)
}

/// The metadata-only state over an already loaded SDK configuration (tenants, keys,
/// datasets; what the management commands and the datasets routes need).
pub fn state_from_config(conf: &SdkConfig, table: impl Into<String>) -> AppState {
    let dynamo = aws_sdk_dynamodb::Client::new(conf);
    AppState::new(Arc::new(DynamoStore::new(dynamo, table)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<AwsSettings, ConfigError> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AwsSettings::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn only_the_table_is_required() {
        assert!(matches!(settings(&[]), Err(ConfigError::MissingTable(_))));
        assert!(matches!(
            settings(&[(TABLE_ENV, "  ")]),
            Err(ConfigError::MissingTable(_))
        ));
        let s = settings(&[(TABLE_ENV, "t"), (BUCKET_ENV, "")]).expect("settings");
        assert_eq!(
            s,
            AwsSettings {
                table: "t".into(),
                bucket: None,
                queue_url: None,
                opensearch: None
            }
        );
    }

    #[test]
    fn opensearch_signing_is_opt_in() {
        let s = settings(&[
            (TABLE_ENV, "t"),
            (OPENSEARCH_URL_ENV, "https://search.example"),
        ])
        .expect("settings");
        assert_eq!(
            s.opensearch.expect("opensearch").sigv4_service,
            None,
            "unsigned by default"
        );
        let s = settings(&[
            (TABLE_ENV, "t"),
            (OPENSEARCH_URL_ENV, "https://search.example"),
            (OPENSEARCH_SIGV4_ENV, "1"),
        ])
        .expect("settings");
        assert_eq!(
            s.opensearch.expect("os").sigv4_service.as_deref(),
            Some("es")
        );
        let s = settings(&[
            (TABLE_ENV, "t"),
            (OPENSEARCH_URL_ENV, "https://x.aoss.amazonaws.com"),
            (OPENSEARCH_SIGV4_ENV, "true"),
            (OPENSEARCH_SERVICE_ENV, "aoss"),
            (OPENSEARCH_PREFIX_ENV, "stage-chunks-"),
        ])
        .expect("settings");
        let os = s.opensearch.expect("os");
        assert_eq!(os.sigv4_service.as_deref(), Some("aoss"));
        assert_eq!(os.index_prefix.as_deref(), Some("stage-chunks-"));
    }
}
