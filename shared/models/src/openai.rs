//! Embeddings over the OpenAI-compatible HTTP API: `POST {base_url}/embeddings` with
//! `{"model": ..., "input": [...]}`, answered by `{"data": [{"index": i, "embedding": [...]}]}`.
//! Spoken by OpenAI and by most other providers and self-hosted servers (Ollama, vLLM,
//! LocalAI, Xinference, Jina, SiliconFlow, ...).

use std::time::Duration;

use async_trait::async_trait;
use lambdarag::ports::{Embedder, ModelError};
use reqwest::{Client, StatusCode};
use serde::Deserialize;

use crate::http::{post_json, with_retries, Outcome};
use crate::vector::l2_normalize;

/// Texts per request.
const DEFAULT_BATCH_SIZE: usize = 64;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest provider error text quoted in an error message.
const MAX_ERROR_TEXT: usize = 500;

/// When to try a request again: on 429, 5xx and connection failures, up to `attempts`
/// tries in all, waiting `base_delay`, then twice that, and so on (at most `max_delay`; a
/// `Retry-After` of the provider is honoured up to `max_delay`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    pub(crate) fn delay(&self, failed_attempt: u32, retry_after: Option<Duration>) -> Duration {
        let backoff = self
            .base_delay
            .saturating_mul(1u32 << failed_attempt.saturating_sub(1).min(16));
        retry_after.unwrap_or(backoff).min(self.max_delay)
    }
}

/// An embedding model behind an OpenAI-compatible endpoint.
#[derive(Debug, Clone)]
pub struct OpenAiEmbedder {
    model_id: String,
    model: String,
    url: String,
    api_key: Option<String>,
    client: Client,
    batch_size: usize,
    retry: RetryPolicy,
}

impl OpenAiEmbedder {
    /// `model_id` is what [`Embedder::model_id`] reports (`name@factory`); `model` is the
    /// name sent to the provider; `base_url` is the API root (`https://api.openai.com/v1`).
    /// Share one `client` (see [`OpenAiEmbedder::default_client`]) between embedders: it
    /// holds the connection pool.
    pub fn new(
        client: Client,
        model_id: impl Into<String>,
        model: impl Into<String>,
        base_url: &str,
        api_key: Option<String>,
    ) -> Self {
        Self {
            model_id: model_id.into(),
            model: model.into(),
            url: format!("{}/embeddings", base_url.trim_end_matches('/')),
            api_key: api_key.filter(|k| !k.is_empty()),
            client,
            batch_size: DEFAULT_BATCH_SIZE,
            retry: RetryPolicy::default(),
        }
    }

    /// An HTTP client with lambdarag's timeouts (connect 5 s, whole request 60 s), on
    /// rustls with the ring provider.
    pub fn default_client() -> Result<Client, ModelError> {
        Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("lambdarag/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ModelError::Provider(format!("cannot build the HTTP client: {e}")))
    }

    /// Texts per request (default 64).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = RetryPolicy {
            attempts: retry.attempts.max(1),
            ..retry
        };
        self
    }

    /// The endpoint requests go to.
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn embed_batch(&self, inputs: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        let body = serde_json::json!({ "model": self.model, "input": inputs });
        // The closure hands out references only, so each attempt's future is `Send`.
        let body = &body;
        with_retries(
            &self.retry,
            &self.model_id,
            "embedding",
            move || async move {
                let sent = post_json(
                    &self.client,
                    &self.url,
                    self.api_key.as_deref(),
                    &self.model_id,
                    body,
                );
                match sent.await {
                    Ok(bytes) => Outcome::Done(self.parse(&bytes, inputs.len())),
                    Err(failure) => failure.outcome(),
                }
            },
        )
        .await
    }

    fn parse(&self, bytes: &[u8], expected: usize) -> Result<Vec<Vec<f32>>, ModelError> {
        let bad = |why: String| {
            ModelError::Provider(format!(
                "{}: unexpected embeddings response: {why}",
                self.model_id
            ))
        };
        let response: EmbeddingsResponse =
            serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        let mut items = response.data;
        if items.len() != expected {
            return Err(bad(format!(
                "{} embeddings for {expected} inputs",
                items.len()
            )));
        }
        if items.iter().all(|d| d.index.is_some()) {
            items.sort_by_key(|d| d.index);
            if items.iter().enumerate().any(|(i, d)| d.index != Some(i)) {
                return Err(bad("indices are not 0..n".to_string()));
            }
        }
        let dim = items.first().map_or(0, |d| d.embedding.len());
        if dim == 0 || items.iter().any(|d| d.embedding.len() != dim) {
            return Err(bad("empty or unequal vector lengths".to_string()));
        }
        Ok(items
            .into_iter()
            .map(|d| {
                let mut v = d.embedding;
                l2_normalize(&mut v);
                v
            })
            .collect())
    }
}

#[async_trait]
impl Embedder for OpenAiEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(self.batch_size) {
            out.extend(self.embed_batch(batch).await?);
        }
        Ok(out)
    }
}

#[derive(Deserialize)]
struct EmbeddingsResponse {
    data: Vec<EmbeddingItem>,
}

#[derive(Deserialize)]
struct EmbeddingItem {
    embedding: Vec<f32>,
    #[serde(default)]
    index: Option<usize>,
}

/// The provider's own words from an error body: OpenAI's `{"error": {"message"}}`,
/// Ollama's `{"error": "..."}`, FastAPI's `{"detail": ...}`, `{"message"}`, else the text.
pub(crate) fn provider_message(text: &str, status: StatusCode) -> String {
    let from_json = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| {
            let pick = |v: &serde_json::Value| match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Null => None,
                other => Some(other.to_string()),
            };
            v.pointer("/error/message")
                .and_then(pick)
                .or_else(|| v.get("error").filter(|e| e.is_string()).and_then(pick))
                .or_else(|| v.get("message").and_then(pick))
                .or_else(|| v.get("detail").and_then(pick))
        });
    let message = from_json.unwrap_or_else(|| text.trim().to_string());
    if message.is_empty() {
        return status
            .canonical_reason()
            .unwrap_or("no error text")
            .to_string();
    }
    truncate(&message, MAX_ERROR_TEXT)
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// An error and its sources, `a: b: c`.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_messages() {
        let s = StatusCode::UNAUTHORIZED;
        assert_eq!(
            provider_message(r#"{"error":{"message":"Incorrect API key","type":"x"}}"#, s),
            "Incorrect API key"
        );
        assert_eq!(
            provider_message(r#"{"error":"model not found"}"#, s),
            "model not found"
        );
        assert_eq!(provider_message(r#"{"detail":"nope"}"#, s), "nope");
        assert_eq!(provider_message("plain text\n", s), "plain text");
        assert_eq!(provider_message("", s), "Unauthorized");
        assert_eq!(truncate("ééé", 3), "é…");
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1, None), Duration::from_millis(500));
        assert_eq!(p.delay(2, None), Duration::from_secs(1));
        assert_eq!(p.delay(30, None), Duration::from_secs(8));
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(60))),
            Duration::from_secs(8)
        );
    }
}
