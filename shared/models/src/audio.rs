//! Audio models over the OpenAI audio protocol: `POST {base}/audio/speech` (JSON in, MP3
//! bytes out) and `POST {base}/audio/transcriptions` (multipart file in, `{text}` out).
//! OpenAI, vLLM, LocalAI and most OpenAI-compatible servers speak it.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::Client;
use serde_json::{json, Value};

use lambdarag::ports::audio::{SpeechModel, TranscriptionModel};
use lambdarag::ports::ModelError;

use crate::http::HttpError;

/// Audio of a long text, or a long recording, takes a while.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
/// The voice every OpenAI-protocol TTS server knows.
const DEFAULT_VOICE: &str = "alloy";

fn send_error(model_id: &str, e: &reqwest::Error) -> ModelError {
    if e.is_timeout() {
        ModelError::Timeout
    } else {
        ModelError::Provider(format!("{model_id}: {e}"))
    }
}

/// One endpoint, key and model.
pub struct OpenAiAudio {
    client: Client,
    model_id: String,
    name: String,
    base_url: String,
    api_key: Option<String>,
}

impl OpenAiAudio {
    pub fn new(
        client: Client,
        model_id: &str,
        name: &str,
        base_url: &str,
        api_key: Option<String>,
    ) -> Self {
        OpenAiAudio {
            client,
            model_id: model_id.to_string(),
            name: name.to_string(),
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key,
        }
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        let request = self
            .client
            .post(format!("{}/{path}", self.base_url))
            .timeout(REQUEST_TIMEOUT);
        match &self.api_key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }

    async fn checked(&self, response: reqwest::Response) -> Result<reqwest::Response, ModelError> {
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(HttpError::read(response, &self.model_id).await.error)
        }
    }
}

#[async_trait]
impl SpeechModel for OpenAiAudio {
    async fn speak(&self, text: &str) -> Result<Bytes, ModelError> {
        let body = json!({
            "model": self.name,
            "input": text,
            "voice": DEFAULT_VOICE,
            "response_format": "mp3",
        });
        let response = self
            .post("audio/speech")
            .json(&body)
            .send()
            .await
            .map_err(|e| send_error(&self.model_id, &e))?;
        self.checked(response)
            .await?
            .bytes()
            .await
            .map_err(|e| send_error(&self.model_id, &e))
    }
}

#[async_trait]
impl TranscriptionModel for OpenAiAudio {
    async fn transcribe(&self, file_name: &str, audio: Bytes) -> Result<String, ModelError> {
        let file = reqwest::multipart::Part::stream(audio).file_name(file_name.to_string());
        let form = reqwest::multipart::Form::new()
            .text("model", self.name.clone())
            .text("response_format", "json")
            .part("file", file);
        let response = self
            .post("audio/transcriptions")
            .multipart(form)
            .send()
            .await
            .map_err(|e| send_error(&self.model_id, &e))?;
        let reply: Value = self
            .checked(response)
            .await?
            .json()
            .await
            .map_err(|e| send_error(&self.model_id, &e))?;
        reply
            .get("text")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                ModelError::Provider(format!(
                    "{}: the transcription reply has no text",
                    self.model_id
                ))
            })
    }
}
