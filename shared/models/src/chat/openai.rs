//! Chat over the OpenAI-compatible HTTP API, streamed: `POST {base_url}/chat/completions`
//! with `"stream": true`, answered by server-sent events whose `data:` lines carry
//! `choices[0].delta.content` (and `reasoning_content` for reasoning models), a final
//! `usage` when asked for with `stream_options.include_usage`, and `[DONE]`.
//!
//! Failures before the first byte of the answer (connection refused, 429, 5xx) are retried
//! with exponential backoff; afterwards nothing is retried (the client already has part of
//! the answer). Provider errors carry the provider's own message.

use std::time::Duration;

use async_trait::async_trait;
use lambdarag::ports::chat::{
    channel_stream, ChatDelta, ChatMessage, ChatModel, DeltaStream, GenOptions, Usage,
};
use lambdarag::ports::ModelError;
use reqwest::{Client, Response};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::http::HttpError;
use crate::openai::error_chain;
use crate::RetryPolicy;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for the response headers (a reasoning model may think before answering).
const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest silence between two pieces of a streamed answer.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// A chat model behind an OpenAI-compatible endpoint.
#[derive(Debug, Clone)]
pub struct OpenAiChat {
    model_id: String,
    model: String,
    url: String,
    api_key: Option<String>,
    client: Client,
    retry: RetryPolicy,
    idle_timeout: Duration,
}

impl OpenAiChat {
    /// `model_id` is `name@factory`; `model` the name sent to the provider; `base_url` the
    /// API root (`https://api.openai.com/v1`). Share one `client` (see
    /// [`OpenAiChat::default_client`]): it holds the connection pool.
    pub fn new(
        client: Client,
        model_id: impl Into<String>,
        model: impl Into<String>,
        base_url: &str,
        api_key: Option<String>,
    ) -> Self {
        OpenAiChat {
            model_id: model_id.into(),
            model: model.into(),
            url: format!("{}/chat/completions", base_url.trim_end_matches('/')),
            api_key: api_key.filter(|k| !k.is_empty()),
            client,
            retry: RetryPolicy::default(),
            idle_timeout: IDLE_TIMEOUT,
        }
    }

    /// An HTTP client for streaming: a connect timeout but no whole-request timeout (an
    /// answer may stream for minutes); waits are bounded per step instead.
    pub fn default_client() -> Result<Client, ModelError> {
        Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("lambdarag/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ModelError::Provider(format!("cannot build the HTTP client: {e}")))
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = RetryPolicy {
            attempts: retry.attempts.max(1),
            ..retry
        };
        self
    }

    pub fn with_idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// The endpoint requests go to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The request body.
    pub fn body(&self, messages: &[ChatMessage], opts: &GenOptions) -> Value {
        let mut body = json!({
            "model": self.model,
            "messages": messages
                .iter()
                .map(|m| json!({"role": m.role, "content": m.content}))
                .collect::<Vec<_>>(),
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        let fields: [(&str, Option<Value>); 5] = [
            ("temperature", opts.temperature.map(Value::from)),
            ("top_p", opts.top_p.map(Value::from)),
            ("max_tokens", opts.max_tokens.map(Value::from)),
            ("presence_penalty", opts.presence_penalty.map(Value::from)),
            ("frequency_penalty", opts.frequency_penalty.map(Value::from)),
        ];
        if let Some(o) = body.as_object_mut() {
            for (k, v) in fields {
                if let Some(v) = v {
                    o.insert(k.to_string(), v);
                }
            }
        }
        body
    }

    fn backoff(&self, failed_attempt: u32, retry_after: Option<Duration>) -> Duration {
        let base = self
            .retry
            .base_delay
            .saturating_mul(1u32 << failed_attempt.saturating_sub(1).min(16));
        retry_after.unwrap_or(base).min(self.retry.max_delay)
    }

    /// Send until the provider accepts the request (2xx), retrying what is retryable.
    async fn open(&self, body: &Value) -> Result<Response, ModelError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (error, retry_after) = match self.try_open(body).await {
                Opened::Ok(r) => return Ok(r),
                Opened::Fatal(e) => return Err(e),
                Opened::Retry(e, after) => (e, after),
            };
            if attempt >= self.retry.attempts {
                return Err(error);
            }
            let delay = self.backoff(attempt, retry_after);
            tracing::warn!(
                model = %self.model_id,
                attempt,
                delay_ms = delay.as_millis() as u64,
                "chat request failed, retrying: {error}"
            );
            tokio::time::sleep(delay).await;
        }
    }

    async fn try_open(&self, body: &Value) -> Opened {
        let mut request = self.client.post(&self.url).json(body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = match tokio::time::timeout(FIRST_BYTE_TIMEOUT, request.send()).await {
            Err(_) => return Opened::Fatal(ModelError::Timeout),
            Ok(Err(e)) => {
                return Opened::Retry(
                    ModelError::Provider(format!(
                        "{}: cannot reach {}: {}",
                        self.model_id,
                        self.url,
                        error_chain(&e)
                    )),
                    None,
                )
            }
            Ok(Ok(r)) => r,
        };
        let status = response.status();
        if status.is_success() {
            return Opened::Ok(response);
        }
        let e = HttpError::read(response, &self.model_id).await;
        if e.retryable() {
            Opened::Retry(e.error, e.retry_after)
        } else {
            Opened::Fatal(e.error)
        }
    }
}

enum Opened {
    Ok(Response),
    Retry(ModelError, Option<Duration>),
    Fatal(ModelError),
}

/// What one SSE `data:` payload of a chat stream means.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    Delta(ChatDelta),
    Done,
    Error(String),
    /// Keep-alives, role-only chunks and other payloads without text.
    Nothing,
}

/// Interpret one `data:` payload.
pub fn parse_event(payload: &str) -> StreamEvent {
    let payload = payload.trim();
    if payload == "[DONE]" {
        return StreamEvent::Done;
    }
    let Ok(v) = serde_json::from_str::<Value>(payload) else {
        return StreamEvent::Nothing;
    };
    if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
        let msg = err
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| err.to_string());
        return StreamEvent::Error(msg);
    }
    let delta = v.pointer("/choices/0/delta");
    let text = |key: &str| {
        delta
            .and_then(|d| d.get(key))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let content = text("content").unwrap_or_default();
    // DeepSeek/Qwen/vLLM send `reasoning_content`; some routers send `reasoning`.
    let reasoning = text("reasoning_content").or_else(|| text("reasoning"));
    let usage = v.get("usage").filter(|u| u.is_object()).map(|u| {
        let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
        Usage {
            prompt_tokens: n("prompt_tokens"),
            completion_tokens: n("completion_tokens"),
            total_tokens: n("total_tokens"),
        }
    });
    if content.is_empty() && reasoning.is_none() && usage.is_none() {
        return StreamEvent::Nothing;
    }
    StreamEvent::Delta(ChatDelta {
        content,
        reasoning,
        usage,
    })
}

/// Splits a byte stream into SSE `data:` payloads (lines may arrive cut anywhere, even
/// inside a UTF-8 character).
#[derive(Debug, Default)]
pub struct SseLines {
    buf: Vec<u8>,
}

impl SseLines {
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            if let Some(p) = data_payload(&line) {
                out.push(p);
            }
        }
        out
    }

    /// A last line without a newline.
    pub fn finish(&mut self) -> Option<String> {
        let line = std::mem::take(&mut self.buf);
        data_payload(&line)
    }
}

fn data_payload(line: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(line);
    let text = text.trim_end_matches(['\n', '\r']);
    let rest = text.strip_prefix("data:")?;
    Some(rest.strip_prefix(' ').unwrap_or(rest).to_string())
}

type DeltaTx = mpsc::Sender<Result<ChatDelta, ModelError>>;

/// Read the response body, sending deltas, until `[DONE]`, the end, an error or a gone
/// consumer.
async fn pump(mut response: Response, tx: DeltaTx, model_id: String, idle: Duration) {
    let mut lines = SseLines::default();
    loop {
        let chunk = match tokio::time::timeout(idle, response.chunk()).await {
            Err(_) => {
                let _ = tx.send(Err(ModelError::Timeout)).await;
                return;
            }
            Ok(Err(e)) => {
                let _ = tx
                    .send(Err(ModelError::Provider(format!(
                        "{model_id}: the answer stream broke off: {}",
                        error_chain(&e)
                    ))))
                    .await;
                return;
            }
            Ok(Ok(c)) => c,
        };
        let payloads = match &chunk {
            Some(bytes) => lines.push(bytes),
            None => lines.finish().into_iter().collect(),
        };
        for p in payloads {
            match parse_event(&p) {
                StreamEvent::Nothing => {}
                StreamEvent::Done => return,
                StreamEvent::Error(msg) => {
                    let _ = tx
                        .send(Err(ModelError::Provider(format!("{model_id}: {msg}"))))
                        .await;
                    return;
                }
                StreamEvent::Delta(d) => {
                    if tx.send(Ok(d)).await.is_err() {
                        return; // the consumer went away: stop reading
                    }
                }
            }
        }
        if chunk.is_none() {
            return;
        }
    }
}

#[async_trait]
impl ChatModel for OpenAiChat {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    async fn stream(
        &self,
        messages: &[ChatMessage],
        opts: &GenOptions,
    ) -> Result<DeltaStream, ModelError> {
        let body = self.body(messages, opts);
        let response = self.open(&body).await?;
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(pump(response, tx, self.model_id.clone(), self.idle_timeout));
        Ok(channel_stream(rx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::provider_message;
    use reqwest::StatusCode;

    #[test]
    fn sse_lines_survive_any_cut() {
        let stream = "data: {\"a\":\"é\"}\r\n\r\n: keep-alive\n\ndata:[DONE]\n";
        let bytes = stream.as_bytes();
        for cut in 0..bytes.len() {
            let mut l = SseLines::default();
            let mut got = l.push(&bytes[..cut]);
            got.extend(l.push(&bytes[cut..]));
            got.extend(l.finish());
            assert_eq!(got, vec!["{\"a\":\"é\"}".to_string(), "[DONE]".to_string()]);
        }
    }

    #[test]
    fn events() {
        assert_eq!(parse_event("[DONE]"), StreamEvent::Done);
        assert_eq!(
            parse_event(r#"{"choices":[{"delta":{"content":"Hi"}}]}"#),
            StreamEvent::Delta(ChatDelta::text("Hi"))
        );
        assert_eq!(
            parse_event(r#"{"choices":[{"delta":{"content":null,"reasoning_content":"hmm"}}]}"#),
            StreamEvent::Delta(ChatDelta::reasoning("hmm"))
        );
        assert_eq!(
            parse_event(r#"{"choices":[{"delta":{"role":"assistant","content":""}}]}"#),
            StreamEvent::Nothing
        );
        assert_eq!(
            parse_event(
                r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}"#
            ),
            StreamEvent::Delta(ChatDelta {
                usage: Some(Usage {
                    prompt_tokens: 3,
                    completion_tokens: 4,
                    total_tokens: 7
                }),
                ..Default::default()
            })
        );
        assert_eq!(
            parse_event(r#"{"error":{"message":"overloaded"}}"#),
            StreamEvent::Error("overloaded".into())
        );
    }

    #[test]
    fn request_body_carries_settings() {
        let client = OpenAiChat::default_client().unwrap_or_else(|e| panic!("{e}"));
        let m = OpenAiChat::new(client, "gpt-4o@OpenAI", "gpt-4o", "http://x/v1/", None);
        assert_eq!(m.url(), "http://x/v1/chat/completions");
        let body = m.body(
            &[ChatMessage::system("s"), ChatMessage::user("q")],
            &GenOptions {
                temperature: Some(0.1),
                max_tokens: Some(512),
                ..Default::default()
            },
        );
        assert_eq!(body["stream"], true);
        assert_eq!(body["model"], "gpt-4o");
        assert_eq!(body["messages"][1], json!({"role": "user", "content": "q"}));
        assert_eq!(body["temperature"], 0.1);
        assert_eq!(body["max_tokens"], 512);
        assert!(body.get("top_p").is_none());
    }

    #[test]
    fn provider_messages() {
        let s = StatusCode::UNAUTHORIZED;
        assert_eq!(
            provider_message(r#"{"error":{"message":"Incorrect API key"}}"#, s),
            "Incorrect API key"
        );
        assert_eq!(provider_message("", s), "Unauthorized");
        assert_eq!(provider_message("boom\n", s), "boom");
    }
}
