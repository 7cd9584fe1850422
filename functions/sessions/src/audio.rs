//! Audio routes: the pinned `/tts` and `/sequence2txt`, and v0.27's `/chat/audio/speech`
//! and `/chat/audio/transcription` (the same handlers). Rules live in
//! `lambdarag::services::audio`.

use axum::body::{Body, Bytes};
use axum::extract::{Multipart, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use serde_json::json;

use lambdarag::contract::envelope::{ok_json, ApiError, ApiResult};
use lambdarag::contract::http::{loose_json_body, malformed_multipart};
use lambdarag::contract::pyfmt::py_str;
use lambdarag::services::answer::sse::sse_response;
use lambdarag::services::audio::{self, AudioRoute};
use lambdarag::services::auth::{AuthTenant, LoginKey};
use lambdarag::AppState;

/// Largest recording accepted (API Gateway allows 6 MB on AWS anyway).
pub const MAX_AUDIO_BYTES: usize = 100 << 20;

async fn speech(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    speak(state, &tenant, AudioRoute::Pinned, &headers, &body).await
}

/// v0.27's path: `login_required` (HTTP 401 on a bad key) and the model lookup's texts.
async fn speech_v027(
    State(state): State<AppState>,
    LoginKey(key): LoginKey,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    speak(state, &key.tenant_id, AudioRoute::V027, &headers, &body).await
}

async fn speak(
    state: AppState,
    tenant: &str,
    route: AudioRoute,
    headers: &HeaderMap,
    body: &Bytes,
) -> ApiResult {
    let req = loose_json_body(headers, body)?;
    let Some(text) = req.get("text") else {
        return Err(ApiError::exception("KeyError('text')"));
    };
    let text = py_str(text);
    let model = audio::speech_model(&state, tenant, route).await?;
    let mut resp = (
        StatusCode::OK,
        Body::from_stream(audio::speech_stream(model, &text)),
    )
        .into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/mpeg"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
    h.insert("X-Accel-Buffering", HeaderValue::from_static("no"));
    Ok(resp)
}

async fn transcription(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult {
    transcribe(state, &tenant, AudioRoute::Pinned, multipart).await
}

async fn transcription_v027(
    State(state): State<AppState>,
    LoginKey(key): LoginKey,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult {
    transcribe(state, &key.tenant_id, AudioRoute::V027, multipart).await
}

async fn transcribe(
    state: AppState,
    tenant: &str,
    route: AudioRoute,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult {
    let missing = || ApiError::data("Missing 'file' in multipart form-data");
    let Ok(mut multipart) = multipart else {
        return Err(missing());
    };
    let mut stream = false;
    let mut file: Option<(String, Bytes)> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(malformed_multipart(e)),
        };
        match field.name() {
            Some("stream") => {
                let v = field.text().await.map_err(malformed_multipart)?;
                stream = v.trim().eq_ignore_ascii_case("true");
            }
            Some("file") if field.file_name().is_some() && file.is_none() => {
                let name = field.file_name().unwrap_or_default().to_string();
                let bytes = field.bytes().await.map_err(malformed_multipart)?;
                file = Some((name, bytes));
            }
            _ => {}
        }
    }
    let Some((name, bytes)) = file else {
        return Err(missing());
    };
    audio::audio_extension(&name)?;
    let model = audio::transcription_model(&state, tenant, route).await?;
    if stream {
        return Ok(sse_response(audio::transcription_stream(
            model, name, bytes,
        )));
    }
    let text = model
        .transcribe(&name, bytes)
        .await
        .map_err(|e| ApiError::exception(e.to_string()))?;
    Ok(ok_json(json!({ "text": text })))
}

/// The audio routes' router part, with a body limit fit for recordings.
pub fn routes(router: axum::Router<AppState>) -> axum::Router<AppState> {
    use axum::routing::post;
    router
        .route("/api/v1/tts", post(speech))
        .route("/api/v1/chat/audio/speech", post(speech_v027))
        .route(
            "/api/v1/sequence2txt",
            post(transcription).layer(axum::extract::DefaultBodyLimit::max(MAX_AUDIO_BYTES)),
        )
        .route(
            "/api/v1/chat/audio/transcription",
            post(transcription_v027).layer(axum::extract::DefaultBodyLimit::max(MAX_AUDIO_BYTES)),
        )
}
