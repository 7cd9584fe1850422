//! Audio models: text to speech and speech to text, reached through a tenant's default
//! TTS / ASR model (`tts_id`, `asr_id`). No built-in model does either; a provider speaking
//! the OpenAI audio protocol does.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::domain::Tenant;
use crate::ports::ModelError;

/// A text-to-speech model.
#[async_trait]
pub trait SpeechModel: Send + Sync {
    /// MP3 audio of `text`.
    async fn speak(&self, text: &str) -> Result<Bytes, ModelError>;
}

/// A speech-to-text model.
#[async_trait]
pub trait TranscriptionModel: Send + Sync {
    /// The text spoken in `audio`; `file_name` carries the format (its extension).
    async fn transcribe(&self, file_name: &str, audio: Bytes) -> Result<String, ModelError>;
}

/// Resolves a tenant's audio model ids.
pub trait AudioModelRegistry: Send + Sync {
    fn speech_model(
        &self,
        tenant: &Tenant,
        model_id: &str,
    ) -> Result<Arc<dyn SpeechModel>, ModelError>;
    fn transcription_model(
        &self,
        tenant: &Tenant,
        model_id: &str,
    ) -> Result<Arc<dyn TranscriptionModel>, ModelError>;
}
