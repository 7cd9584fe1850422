//! Embeddings from AWS Bedrock (InvokeModel) with the deployment's AWS credentials.
//!
//! - Amazon Titan (`amazon.titan-embed-text-v2:0`, `amazon.titan-embed-text-v1`): one text
//!   per call, `{"inputText": ...}` → `{"embedding": [...]}`.
//! - Cohere (`cohere.embed-*`): up to 96 texts per call,
//!   `{"texts": [...], "input_type": "search_document"}` → `{"embeddings": [[...], ...]}`.
//!
//! The SDK retries throttling and transient errors itself (standard mode, 3 attempts).

use std::sync::Arc;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_bedrockruntime::error::DisplayErrorContext;
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::Client;
use aws_smithy_http_client::{tls, Builder};
use lambdarag::ports::{Embedder, ModelError};
use serde::Deserialize;
use tokio::sync::OnceCell;

use crate::vector::l2_normalize;

/// Texts per Cohere request (Bedrock's limit).
const COHERE_BATCH: usize = 96;

/// A lazily built Bedrock client, shared by every Bedrock embedder of a registry.
#[derive(Clone, Default)]
pub(crate) struct SharedBedrockClient {
    cell: Arc<OnceCell<Client>>,
}

impl SharedBedrockClient {
    pub(crate) fn from_config(conf: &SdkConfig) -> Self {
        let cell = OnceCell::new();
        // A fresh cell cannot be full, so this cannot fail.
        let _ = cell.set(Client::new(conf));
        Self {
            cell: Arc::new(cell),
        }
    }

    async fn get(&self) -> &Client {
        self.cell
            .get_or_init(|| async {
                // rustls + ring: the SDK's default TLS stack pulls aws-lc-sys (a slow C build).
                let http = Builder::new()
                    .tls_provider(tls::Provider::Rustls(
                        tls::rustls_provider::CryptoMode::Ring,
                    ))
                    .build_https();
                let conf = aws_config::defaults(BehaviorVersion::latest())
                    .http_client(http)
                    .load()
                    .await;
                Client::new(&conf)
            })
            .await
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Titan,
    Cohere,
}

/// A Bedrock embedding model.
pub struct BedrockEmbedder {
    model_id: String,
    bedrock_model: String,
    family: Family,
    client: SharedBedrockClient,
}

impl BedrockEmbedder {
    /// Embeds with the model `bedrock_model` (e.g. `amazon.titan-embed-text-v2:0`) through a
    /// client from `conf`. `model_id` is what [`Embedder::model_id`] reports.
    pub fn new(
        conf: &SdkConfig,
        model_id: impl Into<String>,
        bedrock_model: &str,
    ) -> Result<Self, ModelError> {
        Self::with_client(
            SharedBedrockClient::from_config(conf),
            model_id.into(),
            bedrock_model,
        )
    }

    pub(crate) fn with_client(
        client: SharedBedrockClient,
        model_id: String,
        bedrock_model: &str,
    ) -> Result<Self, ModelError> {
        let family = if bedrock_model.starts_with("amazon.titan-embed") {
            Family::Titan
        } else if bedrock_model.starts_with("cohere.embed") {
            Family::Cohere
        } else {
            return Err(ModelError::Unavailable(
                model_id,
                format!(
                    "Bedrock model {bedrock_model} is not an embedding model lambdarag can call \
                     (supported: amazon.titan-embed-*, cohere.embed-*)"
                ),
            ));
        };
        Ok(Self {
            model_id,
            bedrock_model: bedrock_model.to_string(),
            family,
            client,
        })
    }

    async fn invoke(&self, body: serde_json::Value) -> Result<Vec<u8>, ModelError> {
        let client = self.client.get().await;
        let output = client
            .invoke_model()
            .model_id(&self.bedrock_model)
            .content_type("application/json")
            .accept("application/json")
            .body(Blob::new(body.to_string().into_bytes()))
            .send()
            .await
            .map_err(|e| {
                ModelError::Provider(format!(
                    "{}: Bedrock InvokeModel failed: {}",
                    self.model_id,
                    DisplayErrorContext(&e)
                ))
            })?;
        Ok(output.body.into_inner())
    }

    fn bad(&self, why: impl std::fmt::Display) -> ModelError {
        ModelError::Provider(format!(
            "{}: unexpected Bedrock response: {why}",
            self.model_id
        ))
    }
}

#[derive(Deserialize)]
struct TitanResponse {
    embedding: Vec<f32>,
}

#[derive(Deserialize)]
struct CohereResponse {
    embeddings: Vec<Vec<f32>>,
}

#[async_trait]
impl Embedder for BedrockEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        let mut out = Vec::with_capacity(texts.len());
        match self.family {
            Family::Titan => {
                for text in texts {
                    let bytes = self
                        .invoke(serde_json::json!({ "inputText": text }))
                        .await?;
                    let r: TitanResponse =
                        serde_json::from_slice(&bytes).map_err(|e| self.bad(e))?;
                    out.push(r.embedding);
                }
            }
            Family::Cohere => {
                for batch in texts.chunks(COHERE_BATCH) {
                    let bytes = self
                        .invoke(serde_json::json!({
                            "texts": batch,
                            "input_type": "search_document",
                        }))
                        .await?;
                    let r: CohereResponse =
                        serde_json::from_slice(&bytes).map_err(|e| self.bad(e))?;
                    if r.embeddings.len() != batch.len() {
                        return Err(self.bad(format!(
                            "{} embeddings for {} texts",
                            r.embeddings.len(),
                            batch.len()
                        )));
                    }
                    out.extend(r.embeddings);
                }
            }
        }
        for v in &mut out {
            l2_normalize(v);
        }
        Ok(out)
    }
}
