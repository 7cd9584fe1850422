//! Text to speech and speech to text with the tenant's default audio models: the pinned
//! `/tts` and `/sequence2txt` and v0.27's `/chat/audio/speech` and `/chat/audio/transcription`
//! (the same rules under new paths).

use std::sync::Arc;

use bytes::Bytes;
use serde_json::json;

use crate::contract::envelope::ApiError;
use crate::domain::Tenant;
use crate::ports::audio::{SpeechModel, TranscriptionModel};
use crate::ports::chat::FrameStream;
use crate::services::answer::sse::spawn_frames;
use crate::state::AppState;

/// The recordings a transcription accepts, by extension (sorted, as the message lists them).
pub const AUDIO_EXTENSIONS: &[&str] = &[
    ".aac", ".flac", ".m4a", ".mp3", ".ogg", ".opus", ".wav", ".webm", ".wma",
];

/// Which generation's route is answering: they word the lookup errors differently (the
/// pinned handler has its own texts; v0.27's pass on its model lookup's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioRoute {
    /// `/tts`, `/sequence2txt`.
    Pinned,
    /// `/chat/audio/speech`, `/chat/audio/transcription`.
    V027,
}

async fn tenant(state: &AppState, tenant_id: &str, route: AudioRoute) -> Result<Tenant, ApiError> {
    state.meta.get_tenant(tenant_id).await?.ok_or_else(|| {
        ApiError::data(match route {
            AudioRoute::Pinned => "Tenant not found!",
            AudioRoute::V027 => "Tenant not found",
        })
    })
}

fn unusable(e: &crate::ports::ModelError) -> ApiError {
    ApiError::data(e.to_string())
}

/// The tenant's default TTS model.
pub async fn speech_model(
    state: &AppState,
    tenant_id: &str,
    route: AudioRoute,
) -> Result<Arc<dyn SpeechModel>, ApiError> {
    let tenant = tenant(state, tenant_id, route).await?;
    if tenant.tts_id.is_empty() {
        return Err(ApiError::data(match route {
            AudioRoute::Pinned => "No default TTS model is set",
            AudioRoute::V027 => "No default tts model is set.",
        }));
    }
    state
        .audio
        .speech_model(&tenant, &tenant.tts_id)
        .map_err(|e| unusable(&e))
}

/// The tenant's default ASR model.
pub async fn transcription_model(
    state: &AppState,
    tenant_id: &str,
    route: AudioRoute,
) -> Result<Arc<dyn TranscriptionModel>, ApiError> {
    let tenant = tenant(state, tenant_id, route).await?;
    if tenant.asr_id.is_empty() {
        return Err(ApiError::data(match route {
            AudioRoute::Pinned => "No default ASR model is set",
            AudioRoute::V027 => "No default speech2text model is set.",
        }));
    }
    state
        .audio
        .transcription_model(&tenant, &tenant.asr_id)
        .map_err(|e| unusable(&e))
}

/// The lower-case extension of an upload's name, with its dot (`""` when it has none),
/// checked against [`AUDIO_EXTENSIONS`].
pub fn audio_extension(file_name: &str) -> Result<String, ApiError> {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    // Python's splitext: a leading dot alone is not an extension.
    let ext = match base.trim_start_matches('.').rfind('.') {
        Some(_) => {
            let i = base.rfind('.').unwrap_or(base.len());
            base[i..].to_lowercase()
        }
        None => String::new(),
    };
    if AUDIO_EXTENSIONS.contains(&ext.as_str()) {
        Ok(ext)
    } else {
        Err(ApiError::data(format!(
            "Unsupported audio format: {ext}. Allowed: {}",
            AUDIO_EXTENSIONS.join(", ")
        )))
    }
}

/// The pieces a text is spoken in: split at Chinese and ASCII sentence punctuation and line
/// breaks, as upstream does, so audio starts after the first piece. Empty pieces are
/// skipped (upstream sends them to the model too).
pub fn speech_pieces(text: &str) -> Vec<String> {
    const BREAKS: &[char] = &[
        '，', '。', '/', '《', '》', '？', '；', '：', '！', '\n', '\r', ':', ';',
    ];
    text.split(BREAKS)
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// The audio of `text`, piece by piece, as one MP3 stream. A model failure ends the
/// stream with upstream's error frame (the status line has gone out already).
pub fn speech_stream(model: Arc<dyn SpeechModel>, text: &str) -> FrameStream {
    let pieces = speech_pieces(text);
    spawn_frames(move |sink| async move {
        for piece in pieces {
            match model.speak(&piece).await {
                Ok(audio) => {
                    if !sink.send_bytes(audio).await {
                        return;
                    }
                }
                Err(e) => {
                    let message = e.to_string();
                    tracing::warn!(error = %message, "text to speech failed");
                    let frame = json!({
                        "code": 500,
                        "message": message,
                        "data": {"answer": format!("**ERROR**: {message}")},
                    });
                    sink.send_bytes(Bytes::from(format!("data:{frame}"))).await;
                    return;
                }
            }
        }
    })
}

/// A transcription as SSE: the model answers in one piece, so one `final` event marked
/// `streaming: false` (or one `error` event), `data: ` with a space as upstream writes these.
pub fn transcription_stream(
    model: Arc<dyn TranscriptionModel>,
    file_name: String,
    audio: Bytes,
) -> FrameStream {
    spawn_frames(move |sink| async move {
        let event = match model.transcribe(&file_name, audio).await {
            Ok(text) => json!({"event": "final", "text": text, "streaming": false}),
            Err(e) => json!({"event": "error", "text": e.to_string()}),
        };
        sink.send_bytes(Bytes::from(format!("data: {event}\n\n")))
            .await;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_like_splitext() {
        assert_eq!(audio_extension("a/b/Talk.MP3").ok(), Some(".mp3".into()));
        assert_eq!(audio_extension("x.tar.wav").ok(), Some(".wav".into()));
        let e = audio_extension("clip.mp4").expect_err("video");
        assert_eq!(
            e.message,
            "Unsupported audio format: .mp4. Allowed: .aac, .flac, .m4a, .mp3, .ogg, .opus, .wav, .webm, .wma"
        );
        assert_eq!(
            audio_extension(".wav").expect_err("hidden file").message,
            "Unsupported audio format: . Allowed: .aac, .flac, .m4a, .mp3, .ogg, .opus, .wav, .webm, .wma"
        );
        assert!(audio_extension("noext").is_err());
    }

    #[test]
    fn pieces_split_at_sentence_marks() {
        assert_eq!(
            speech_pieces("Hello: world;\nsecond line。第二句！ "),
            vec!["Hello", "world", "second line", "第二句"]
        );
        assert!(speech_pieces(" ;: ").is_empty());
    }
}
