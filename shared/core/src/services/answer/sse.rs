//! Server-sent events: frames as upstream writes them, and a channel-backed body so a
//! producer task stops when the client goes away.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::ports::chat::{channel_stream, FrameStream};

/// Frames buffered between the turn task and the response body.
const FRAME_CHANNEL: usize = 32;

/// One SSE frame: `data:` + JSON + blank line, no space after the colon (upstream's form).
pub fn sse_frame(v: &Value) -> Bytes {
    Bytes::from(format!(
        "data:{}\n\n",
        serde_json::to_string(v).unwrap_or_default()
    ))
}

/// A streamed response with the headers of contract section 8.
pub fn sse_response(frames: FrameStream) -> Response {
    let mut resp = (StatusCode::OK, Body::from_stream(frames)).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
    h.insert("X-Accel-Buffering", HeaderValue::from_static("no"));
    resp
}

/// Sends frames to the response body; `false` once the client has gone away.
#[derive(Clone)]
pub struct FrameSink(mpsc::Sender<Result<Bytes, std::convert::Infallible>>);

impl FrameSink {
    pub async fn send(&self, v: &Value) -> bool {
        self.0.send(Ok(sse_frame(v))).await.is_ok()
    }
    /// Bytes as they are (audio, or a frame written by the caller).
    pub async fn send_bytes(&self, bytes: Bytes) -> bool {
        self.0.send(Ok(bytes)).await.is_ok()
    }
    pub async fn send_raw(&self, text: &'static str) -> bool {
        self.0
            .send(Ok(Bytes::from_static(text.as_bytes())))
            .await
            .is_ok()
    }
}

/// Run `produce` in a task that writes frames; the returned stream is the response body.
pub fn spawn_frames<F, Fut>(produce: F) -> FrameStream
where
    F: FnOnce(FrameSink) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(FRAME_CHANNEL);
    tokio::spawn(produce(FrameSink(tx)));
    channel_stream(rx)
}
