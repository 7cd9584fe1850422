//! OpenAiEmbedder against a small OpenAI-compatible server on 127.0.0.1.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use lambdarag::ports::{Embedder, ModelError};
use lambdarag_models::{OpenAiEmbedder, RetryPolicy};
use serde_json::{json, Value};

#[derive(Default)]
struct Recorded {
    bodies: Mutex<Vec<Value>>,
    auth: Mutex<Vec<Option<String>>>,
    calls: AtomicUsize,
}

type Shared = Arc<Recorded>;

/// The vector the server gives `text`: [len, 1, 0], so order is checkable after normalising.
fn vector_for(text: &str) -> Vec<f32> {
    vec![text.len() as f32, 1.0, 0.0]
}

fn normalised(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

fn record(s: &Recorded, headers: &HeaderMap, body: &Value) -> usize {
    s.bodies.lock().unwrap().push(body.clone());
    s.auth.lock().unwrap().push(
        headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_string()),
    );
    s.calls.fetch_add(1, Ordering::SeqCst) + 1
}

/// A well-behaved server that answers the items in reverse order (with their indices).
fn embeddings(body: &Value) -> Value {
    let inputs = body["input"].as_array().unwrap();
    let mut data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({"object": "embedding", "index": i, "embedding": vector_for(t.as_str().unwrap())})
        })
        .collect();
    data.reverse();
    json!({"object": "list", "data": data, "model": body["model"], "usage": {"prompt_tokens": 1, "total_tokens": 1}})
}

async fn ok(State(s): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    record(&s, &headers, &body);
    Json(embeddings(&body)).into_response()
}

async fn flaky(State(s): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if record(&s, &headers, &body) == 1 {
        return (StatusCode::INTERNAL_SERVER_ERROR, "upstream exploded").into_response();
    }
    Json(embeddings(&body)).into_response()
}

async fn always_503(
    State(s): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    record(&s, &headers, &body);
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"error": "model is loading"})),
    )
        .into_response()
}

async fn unauthorized(
    State(s): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    record(&s, &headers, &body);
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": {"message": "Incorrect API key provided: sk-bad.", "type": "invalid_request_error", "code": "invalid_api_key"}})),
    )
        .into_response()
}

async fn too_few(State(s): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    record(&s, &headers, &body);
    Json(json!({"data": [{"index": 0, "embedding": [1.0, 0.0]}]})).into_response()
}

async fn serve() -> (String, Shared) {
    let state: Shared = Arc::default();
    let app = Router::new()
        .route("/ok/v1/embeddings", post(ok))
        .route("/flaky/v1/embeddings", post(flaky))
        .route("/down/v1/embeddings", post(always_503))
        .route("/auth/v1/embeddings", post(unauthorized))
        .route("/short/v1/embeddings", post(too_few))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), state)
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    }
}

fn embedder(base: &str, path: &str, key: Option<&str>) -> OpenAiEmbedder {
    OpenAiEmbedder::new(
        OpenAiEmbedder::default_client().unwrap(),
        "text-embedding-3-small@OpenAI",
        "text-embedding-3-small",
        &format!("{base}/{path}/v1/"),
        key.map(str::to_string),
    )
    .with_retry(fast_retry())
}

fn strings(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn sends_openai_requests_and_orders_by_index() {
    let (base, state) = serve().await;
    let e = embedder(&base, "ok", Some("sk-test")).with_batch_size(2);
    assert!(e.url().ends_with("/ok/v1/embeddings"));
    let texts = strings(&["a", "bbb", "cc", "dddddd", "e"]);
    let v = e.embed(&texts).await.unwrap();
    assert_eq!(v.len(), 5);
    for (t, got) in texts.iter().zip(&v) {
        let want = normalised(vector_for(t));
        assert!(
            got.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-6),
            "{t}: {got:?} vs {want:?}"
        );
    }
    let bodies = state.bodies.lock().unwrap().clone();
    assert_eq!(
        bodies,
        vec![
            json!({"model": "text-embedding-3-small", "input": ["a", "bbb"]}),
            json!({"model": "text-embedding-3-small", "input": ["cc", "dddddd"]}),
            json!({"model": "text-embedding-3-small", "input": ["e"]}),
        ]
    );
    assert!(state
        .auth
        .lock()
        .unwrap()
        .iter()
        .all(|a| a.as_deref() == Some("Bearer sk-test")));
    assert!(e.embed(&[]).await.unwrap().is_empty());
    assert_eq!(state.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn no_key_no_authorization_header() {
    let (base, state) = serve().await;
    let e = embedder(&base, "ok", None);
    e.embed(&strings(&["x"])).await.unwrap();
    assert_eq!(*state.auth.lock().unwrap(), vec![None]);
}

#[tokio::test]
async fn retries_after_a_server_error() {
    let (base, state) = serve().await;
    let e = embedder(&base, "flaky", Some("k"));
    let v = e.embed(&strings(&["one", "two"])).await.unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(state.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn gives_up_after_three_attempts_with_the_provider_text() {
    let (base, state) = serve().await;
    let e = embedder(&base, "down", Some("k"));
    match e.embed(&strings(&["x"])).await {
        Err(ModelError::Provider(msg)) => {
            assert!(msg.contains("503"), "{msg}");
            assert!(msg.contains("model is loading"), "{msg}");
        }
        other => panic!("expected a provider error, got {other:?}"),
    }
    assert_eq!(state.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn unauthorized_is_not_retried_and_quotes_the_provider() {
    let (base, state) = serve().await;
    let e = embedder(&base, "auth", Some("sk-bad"));
    match e.embed(&strings(&["x"])).await {
        Err(ModelError::Provider(msg)) => {
            assert!(msg.contains("HTTP 401 Unauthorized"), "{msg}");
            assert!(msg.contains("Incorrect API key provided: sk-bad."), "{msg}");
            assert!(msg.starts_with("text-embedding-3-small@OpenAI"), "{msg}");
        }
        other => panic!("expected a provider error, got {other:?}"),
    }
    assert_eq!(state.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_short_answer_is_an_error() {
    let (base, _) = serve().await;
    let e = embedder(&base, "short", None);
    match e.embed(&strings(&["x", "y"])).await {
        Err(ModelError::Provider(msg)) => {
            assert!(msg.contains("1 embeddings for 2 inputs"), "{msg}")
        }
        other => panic!("expected a provider error, got {other:?}"),
    }
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let e = embedder(&format!("http://{addr}"), "x", None);
    match e.embed(&strings(&["x"])).await {
        Err(ModelError::Provider(msg)) => assert!(msg.contains("cannot reach"), "{msg}"),
        other => panic!("expected a provider error, got {other:?}"),
    }
}
