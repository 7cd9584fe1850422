//! JSON POSTs to model providers with lambdarag's retry policy, shared by the
//! OpenAI-compatible embedder and the rerank client: one request, its failure classified
//! (retry on 429, 5xx and connection failures; not on a timeout after the provider took the
//! request, nor on other statuses), and the retry loop around it.

use std::time::Duration;

use bytes::Bytes;
use lambdarag::ports::ModelError;
use reqwest::header::RETRY_AFTER;
use reqwest::{Client, StatusCode};
use serde_json::Value;

use crate::openai::{error_chain, provider_message, RetryPolicy};

/// A provider's non-2xx answer.
pub(crate) struct HttpError {
    pub status: StatusCode,
    /// The raw body, for callers that recognise a specific complaint.
    pub text: String,
    /// `model: HTTP status: the provider's own words`.
    pub error: ModelError,
    pub retry_after: Option<Duration>,
}

impl HttpError {
    /// Read a non-2xx response.
    pub(crate) async fn read(response: reqwest::Response, model_id: &str) -> HttpError {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().await.unwrap_or_default();
        let error = ModelError::Provider(format!(
            "{model_id}: HTTP {status}: {}",
            provider_message(&text, status)
        ));
        HttpError {
            status,
            text,
            error,
            retry_after,
        }
    }

    /// 429 and 5xx are worth another try.
    pub(crate) fn retryable(&self) -> bool {
        self.status == StatusCode::TOO_MANY_REQUESTS || self.status.is_server_error()
    }
}

/// Why a POST did not return a 2xx body.
pub(crate) enum Failure {
    /// The provider answered with a non-2xx status.
    Http(HttpError),
    /// The provider took the request and did not answer in time: trying again would likely
    /// wait as long again.
    Timeout,
    /// The provider could not be reached (or the answer was cut off).
    Unreachable(ModelError),
}

/// What one attempt came to.
pub(crate) enum Outcome<T> {
    Done(Result<T, ModelError>),
    Retryable(ModelError, Option<Duration>),
}

impl Failure {
    /// The default classification: 429 and 5xx are worth another try, other statuses and
    /// timeouts are final.
    pub(crate) fn outcome<T>(self) -> Outcome<T> {
        match self {
            Failure::Http(e) if e.retryable() => Outcome::Retryable(e.error, e.retry_after),
            Failure::Http(e) => Outcome::Done(Err(e.error)),
            Failure::Timeout => Outcome::Done(Err(ModelError::Timeout)),
            Failure::Unreachable(error) => Outcome::Retryable(error, None),
        }
    }
}

/// POST `body` as JSON to `url` (with `Authorization: Bearer` when a key is set) and read
/// the whole 2xx body.
pub(crate) async fn post_json(
    client: &Client,
    url: &str,
    api_key: Option<&str>,
    model_id: &str,
    body: &Value,
) -> Result<Bytes, Failure> {
    let mut request = client.post(url).json(body);
    if let Some(key) = api_key {
        request = request.bearer_auth(key);
    }
    let transport = |e: reqwest::Error| {
        if e.is_timeout() && !e.is_connect() {
            Failure::Timeout
        } else {
            Failure::Unreachable(ModelError::Provider(format!(
                "{model_id}: cannot reach {url}: {}",
                error_chain(&e)
            )))
        }
    };
    let response = request.send().await.map_err(transport)?;
    let status = response.status();
    if status.is_success() {
        return response.bytes().await.map_err(transport);
    }
    Err(Failure::Http(HttpError::read(response, model_id).await))
}

/// Run `attempt` until it is done or `policy` allows no more tries, sleeping the policy's
/// backoff in between. `what` names the request in the retry log line.
pub(crate) async fn with_retries<T, Fut>(
    policy: &RetryPolicy,
    model_id: &str,
    what: &str,
    mut attempt: impl FnMut() -> Fut,
) -> Result<T, ModelError>
where
    Fut: std::future::Future<Output = Outcome<T>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        let (error, retry_after) = match attempt().await {
            Outcome::Done(result) => return result,
            Outcome::Retryable(error, retry_after) => (error, retry_after),
        };
        if tries >= policy.attempts {
            return Err(error);
        }
        let delay = policy.delay(tries, retry_after);
        tracing::warn!(
            model = %model_id,
            attempt = tries,
            delay_ms = delay.as_millis() as u64,
            "{what} request failed, retrying: {error}"
        );
        tokio::time::sleep(delay).await;
    }
}
