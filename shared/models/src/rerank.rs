//! Rerank over HTTP: `POST {base_url}/rerank` with the Jina/Cohere body
//! `{"model", "query", "documents", "top_n"}`. Two reply shapes are understood:
//!
//! - `{"results": [{"index": i, "relevance_score": s}, ...]}`: Jina, Cohere, SiliconFlow,
//!   vLLM, Xinference, Infinity, LocalAI;
//! - `[{"index": i, "score": s}, ...]`: HuggingFace text-embeddings-inference (TEI).
//!
//! TEI also wants its own request body (`{"query", "texts"}`) and turns the Jina body down
//! with a 422 naming `texts`; the reranker then switches to TEI's body for good.

use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use lambdarag::ports::{ModelError, Reranker};
use reqwest::{Client, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::http::{post_json, with_retries, Failure, HttpError, Outcome};
use crate::openai::RetryPolicy;

/// Documents per request: what hosted APIs accept comfortably (Cohere allows 1000, Jina
/// 2048) while keeping one request's body and latency bounded.
const DEFAULT_BATCH_SIZE: usize = 64;
/// TEI's default `--max-client-batch-size`; it rejects larger requests.
const TEI_BATCH_SIZE: usize = 32;
/// Longest document sent, in characters. Cross-encoders read 512 tokens (bge, bce) to
/// ~8k (jina v2) of query + document and drop the rest, so longer text only costs upload
/// and (on metered APIs) tokens; some servers reject over-long inputs outright.
pub const MAX_DOCUMENT_CHARS: usize = 4096;

/// A rerank model behind a Jina/Cohere-style (or TEI) `/rerank` endpoint.
#[derive(Debug)]
pub struct HttpReranker {
    model_id: String,
    model: String,
    url: String,
    api_key: Option<String>,
    client: Client,
    batch_size: usize,
    retry: RetryPolicy,
    /// The server asked for TEI's body (`texts`) once; every later request uses it.
    tei: AtomicBool,
}

impl HttpReranker {
    /// `model_id` is what [`Reranker::model_id`] reports (`name@factory`); `model` is the
    /// name sent to the provider; `base_url` is the API root (`https://api.jina.ai/v1`).
    /// Share one `client` ([`crate::OpenAiEmbedder::default_client`]: same timeouts) between
    /// models: it holds the connection pool.
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
            url: format!("{}/rerank", base_url.trim_end_matches('/')),
            api_key: api_key.filter(|k| !k.is_empty()),
            client,
            batch_size: DEFAULT_BATCH_SIZE,
            retry: RetryPolicy::default(),
            tei: AtomicBool::new(false),
        }
    }

    /// Documents per request (default 64; at most 32 once the server turned out to be TEI).
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

    fn is_tei(&self) -> bool {
        self.tei.load(Ordering::Relaxed)
    }

    fn body(&self, query: &str, docs: &[&str], tei: bool) -> Value {
        if tei {
            // `truncate`: let TEI cut to the model's window instead of failing the request.
            json!({ "query": query, "texts": docs, "truncate": true })
        } else {
            json!({
                "model": self.model,
                "query": query,
                "documents": docs,
                "top_n": docs.len(),
            })
        }
    }

    /// Scores for one batch as `(index in docs, score)`, retrying what is retryable.
    /// `Ok(None)`: the server wants TEI's body; the caller re-plans the batch.
    async fn rerank_batch(
        &self,
        query: &str,
        docs: &[&str],
    ) -> Result<Option<Vec<(usize, f32)>>, ModelError> {
        let tei = self.is_tei();
        let body = self.body(query, docs, tei);
        // The closure hands out references only, so each attempt's future is `Send`.
        let body = &body;
        with_retries(&self.retry, &self.model_id, "rerank", move || async move {
            let sent = post_json(
                &self.client,
                &self.url,
                self.api_key.as_deref(),
                &self.model_id,
                body,
            );
            match sent.await {
                Ok(bytes) => Outcome::Done(self.parse(&bytes, docs.len()).map(Some)),
                // TEI (axum) answers a body without `texts` with 422 "missing field
                // `texts`"; a FastAPI/pydantic look-alike with `"loc": ["body", "texts"]`.
                Err(Failure::Http(HttpError {
                    status,
                    text,
                    error,
                    ..
                })) if status == StatusCode::UNPROCESSABLE_ENTITY
                    && (text.contains("`texts`") || text.contains("\"texts\"")) =>
                {
                    if tei {
                        // Already speaking TEI: the complaint is about something else.
                        return Outcome::Done(Err(error));
                    }
                    // Another request may have switched already: only the first one logs.
                    if !self.tei.swap(true, Ordering::Relaxed) {
                        tracing::info!(
                            model = %self.model_id,
                            url = %self.url,
                            "rerank server wants {{query, texts}}: switching to TEI's body"
                        );
                    }
                    Outcome::Done(Ok(None))
                }
                Err(failure) => failure.outcome(),
            }
        })
        .await
    }

    fn parse(&self, bytes: &[u8], expected: usize) -> Result<Vec<(usize, f32)>, ModelError> {
        parse_scores(bytes, expected).map_err(|why| {
            ModelError::Provider(format!(
                "{}: unexpected rerank response: {why}",
                self.model_id
            ))
        })
    }
}

#[async_trait]
impl Reranker for HttpReranker {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    async fn rerank(&self, query: &str, texts: &[String]) -> Result<Vec<f32>, ModelError> {
        // A document the provider leaves out of its results scores 0.
        let mut scores = vec![0.0; texts.len()];
        let mut start = 0;
        while start < texts.len() {
            let size = if self.is_tei() {
                self.batch_size.min(TEI_BATCH_SIZE)
            } else {
                self.batch_size
            };
            let end = (start + size).min(texts.len());
            let docs: Vec<&str> = texts[start..end]
                .iter()
                .map(|t| clip(t, MAX_DOCUMENT_CHARS))
                .collect();
            // `None`: switched to TEI mid-way; the same window is sent again, re-sized.
            if let Some(scored) = self.rerank_batch(query, &docs).await? {
                for (i, score) in scored {
                    scores[start + i] = score;
                }
                start = end;
            }
        }
        Ok(scores)
    }
}

#[derive(Deserialize)]
struct Scored {
    index: i64,
    #[serde(alias = "score")]
    relevance_score: f32,
}

/// `(index, score)` pairs from either reply shape, each index checked against `expected`.
fn parse_scores(bytes: &[u8], expected: usize) -> Result<Vec<(usize, f32)>, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut o) => match o.remove("results") {
            Some(Value::Array(items)) => items,
            _ => return Err("expected {\"results\": [...]} or a list of scores".to_string()),
        },
        _ => return Err("expected {\"results\": [...]} or a list of scores".to_string()),
    };
    items
        .into_iter()
        .map(|item| {
            let s: Scored = serde_json::from_value(item).map_err(|e| format!("a result: {e}"))?;
            match usize::try_from(s.index) {
                Ok(i) if i < expected => Ok((i, s.relevance_score)),
                _ => Err(format!(
                    "result index {} is out of range for {expected} documents",
                    s.index
                )),
            }
        })
        .collect()
}

/// At most `max` characters of `s` (a prefix, cut on a character boundary).
fn clip(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((end, _)) => &s[..end],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_reply_shapes() {
        let jina = br#"{"model":"m","results":[{"index":1,"relevance_score":0.9,"document":{"text":"b"}},{"index":0,"relevance_score":0.1}],"usage":{"total_tokens":3}}"#;
        assert_eq!(parse_scores(jina, 2).unwrap(), vec![(1, 0.9), (0, 0.1)]);
        let tei = br#"[{"index":0,"score":0.5}]"#;
        assert_eq!(parse_scores(tei, 2).unwrap(), vec![(0, 0.5)]);
    }

    #[test]
    fn bad_replies_are_errors() {
        assert!(parse_scores(br#"[{"index":2,"score":0.5}]"#, 2)
            .unwrap_err()
            .contains("index 2 is out of range for 2"));
        assert!(parse_scores(br#"[{"index":-1,"score":0.5}]"#, 2)
            .unwrap_err()
            .contains("out of range"));
        assert!(parse_scores(br#"{"data":[]}"#, 2).is_err());
        assert!(parse_scores(br#"[{"index":0}]"#, 2).is_err());
        assert!(parse_scores(b"not json", 2).is_err());
    }

    #[test]
    fn clipping_respects_characters() {
        assert_eq!(clip("ééé", 2), "éé");
        assert_eq!(clip("ab", 5), "ab");
    }
}
