//! HttpReranker and the rerank side of ModelRegistry against small `/rerank` servers on
//! 127.0.0.1.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use lambdarag::domain::models::{configure_provider, default_chat_id, default_embedding_id};
use lambdarag::domain::{ModelType, ProviderModel, Tenant};
use lambdarag::ports::{ModelError, Reranker, RerankerRegistry};
use lambdarag_models::{HttpReranker, ModelRegistry, RetryPolicy, MAX_DOCUMENT_CHARS};
use serde_json::{json, Value};

#[derive(Default)]
struct Recorded {
    bodies: Mutex<Vec<Value>>,
    auth: Mutex<Vec<Option<String>>>,
    calls: AtomicUsize,
}

type Shared = Arc<Recorded>;

fn record(s: &Recorded, headers: &HeaderMap, body: &Value) {
    s.bodies.lock().unwrap().push(body.clone());
    s.auth.lock().unwrap().push(
        headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_string()),
    );
    s.calls.fetch_add(1, Ordering::SeqCst);
}

/// The score the servers give a document: its number (`d17` → 17), else its length.
fn score_of(doc: &str) -> f32 {
    doc.strip_prefix('d')
        .and_then(|n| n.parse::<f32>().ok())
        .unwrap_or(doc.len() as f32)
}

fn docs_of<'a>(body: &'a Value, field: &str) -> Vec<&'a str> {
    body[field]
        .as_array()
        .map(|a| a.iter().map(|d| d.as_str().unwrap()).collect())
        .unwrap_or_default()
}

/// Jina/Cohere shape, best first (as real providers answer), with the document echoed.
async fn jina(State(s): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    record(&s, &headers, &body);
    let mut results: Vec<Value> = docs_of(&body, "documents")
        .iter()
        .enumerate()
        .map(|(i, d)| json!({"index": i, "relevance_score": score_of(d), "document": {"text": d}}))
        .collect();
    results.sort_by(|a, b| {
        b["relevance_score"]
            .as_f64()
            .partial_cmp(&a["relevance_score"].as_f64())
            .unwrap()
    });
    let top_n = body["top_n"].as_u64().unwrap() as usize;
    results.truncate(top_n);
    Json(json!({"model": body["model"], "results": results, "usage": {"total_tokens": 1}}))
        .into_response()
}

/// Only the best result, whatever `top_n` says.
async fn fewer(State(s): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    record(&s, &headers, &body);
    let docs = docs_of(&body, "documents");
    let (best, doc) = docs
        .iter()
        .enumerate()
        .max_by(|a, b| score_of(a.1).partial_cmp(&score_of(b.1)).unwrap())
        .unwrap();
    Json(json!({"results": [{"index": best, "relevance_score": score_of(doc)}]})).into_response()
}

/// HuggingFace TEI: wants `{"query", "texts"}` (axum's 422 otherwise), at most 32 texts,
/// answers a bare list.
async fn tei(State(s): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    record(&s, &headers, &body);
    if body.get("texts").is_none() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Failed to deserialize the JSON body into the target type: missing field `texts` at line 1 column 60",
        )
            .into_response();
    }
    let texts = docs_of(&body, "texts");
    if texts.len() > 32 {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            Json(json!({"error": "batch size > maximum allowed batch size 32", "error_type": "Validation"})),
        )
            .into_response();
    }
    let mut out: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(i, d)| json!({"index": i, "score": score_of(d)}))
        .collect();
    out.reverse();
    Json(Value::Array(out)).into_response()
}

async fn fail(State(s): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    record(&s, &headers, &body);
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({"detail": "reranker crashed"})),
    )
        .into_response()
}

async fn garbage(State(s): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    record(&s, &headers, &body);
    (StatusCode::OK, "<html>not json</html>").into_response()
}

async fn bad_index(
    State(s): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    record(&s, &headers, &body);
    let n = docs_of(&body, "documents").len();
    Json(json!({"results": [{"index": n, "relevance_score": 1.0}]})).into_response()
}

async fn serve() -> (String, Shared) {
    let state: Shared = Arc::default();
    let app = Router::new()
        .route("/jina/v1/rerank", post(jina))
        .route("/fewer/v1/rerank", post(fewer))
        .route("/tei/rerank", post(tei))
        .route("/fail/v1/rerank", post(fail))
        .route("/garbage/v1/rerank", post(garbage))
        .route("/badindex/v1/rerank", post(bad_index))
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

fn reranker(base_url: &str, key: Option<&str>) -> HttpReranker {
    HttpReranker::new(
        lambdarag_models::OpenAiEmbedder::default_client().unwrap(),
        "rr@VLLM",
        "rr",
        base_url,
        key.map(str::to_string),
    )
    .with_retry(fast_retry())
}

fn strings(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|s| s.to_string()).collect()
}

fn provider_error(r: Result<Vec<f32>, ModelError>) -> String {
    match r {
        Err(ModelError::Provider(msg)) => msg,
        other => panic!("expected a provider error, got {other:?}"),
    }
}

#[tokio::test]
async fn jina_shape_in_input_order_with_auth() {
    let (base, state) = serve().await;
    let r = reranker(&format!("{base}/jina/v1/"), Some("sk-rr"));
    assert_eq!(r.url(), format!("{base}/jina/v1/rerank"));
    assert_eq!(r.model_id(), "rr@VLLM");
    let texts = strings(&["d3", "d9", "d1", "d5"]);
    let scores = r.rerank("what?", &texts).await.unwrap();
    assert_eq!(scores, vec![3.0, 9.0, 1.0, 5.0]);
    assert_eq!(
        *state.bodies.lock().unwrap(),
        vec![
            json!({"model": "rr", "query": "what?", "documents": ["d3", "d9", "d1", "d5"], "top_n": 4})
        ]
    );
    assert_eq!(
        *state.auth.lock().unwrap(),
        vec![Some("Bearer sk-rr".to_string())]
    );
}

#[tokio::test]
async fn empty_input_sends_nothing_and_no_key_no_header() {
    let (base, state) = serve().await;
    let r = reranker(&format!("{base}/jina/v1"), None);
    assert!(r.rerank("q", &[]).await.unwrap().is_empty());
    assert_eq!(state.calls.load(Ordering::SeqCst), 0);
    r.rerank("q", &strings(&["d1"])).await.unwrap();
    assert_eq!(*state.auth.lock().unwrap(), vec![None]);
}

#[tokio::test]
async fn missing_results_score_zero() {
    let (base, _) = serve().await;
    let r = reranker(&format!("{base}/fewer/v1"), None);
    let scores = r.rerank("q", &strings(&["d2", "d7", "d4"])).await.unwrap();
    assert_eq!(scores, vec![0.0, 7.0, 0.0]);
}

#[tokio::test]
async fn large_inputs_go_in_batches_of_64_and_are_stitched_in_order() {
    let (base, state) = serve().await;
    let r = reranker(&format!("{base}/jina/v1"), Some("k"));
    let texts: Vec<String> = (0..150).map(|i| format!("d{i}")).collect();
    let scores = r.rerank("q", &texts).await.unwrap();
    assert_eq!(scores, (0..150).map(|i| i as f32).collect::<Vec<_>>());
    let bodies = state.bodies.lock().unwrap().clone();
    let sizes: Vec<usize> = bodies
        .iter()
        .map(|b| docs_of(b, "documents").len())
        .collect();
    assert_eq!(sizes, vec![64, 64, 22]);
    assert!(bodies
        .iter()
        .all(|b| b["top_n"].as_u64() == Some(docs_of(b, "documents").len() as u64)));
    assert_eq!(docs_of(&bodies[1], "documents")[0], "d64");

    // A smaller batch size is honoured too.
    let r = reranker(&format!("{base}/jina/v1"), None).with_batch_size(2);
    let scores = r.rerank("q", &strings(&["d1", "d2", "d3"])).await.unwrap();
    assert_eq!(scores, vec![1.0, 2.0, 3.0]);
}

#[tokio::test]
async fn long_documents_are_clipped() {
    let (base, state) = serve().await;
    let r = reranker(&format!("{base}/jina/v1"), None);
    let long = "é".repeat(MAX_DOCUMENT_CHARS + 100);
    r.rerank("q", &[long]).await.unwrap();
    let sent = state.bodies.lock().unwrap()[0]["documents"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(sent.chars().count(), MAX_DOCUMENT_CHARS);
}

#[tokio::test]
async fn tei_body_and_bare_list_after_its_422() {
    let (base, state) = serve().await;
    let r = reranker(&format!("{base}/tei"), Some("k"));
    let texts: Vec<String> = (0..70).map(|i| format!("d{i}")).collect();
    let scores = r.rerank("q", &texts).await.unwrap();
    assert_eq!(scores, (0..70).map(|i| i as f32).collect::<Vec<_>>());
    let bodies = state.bodies.lock().unwrap().clone();
    // One refused Jina body, then TEI bodies of at most 32 texts.
    assert!(bodies[0].get("documents").is_some());
    let sizes: Vec<usize> = bodies[1..]
        .iter()
        .map(|b| docs_of(b, "texts").len())
        .collect();
    assert_eq!(sizes, vec![32, 32, 6]);
    assert_eq!(bodies[1]["query"], "q");
    assert_eq!(bodies[1]["truncate"], true);
    // Later calls go straight to the TEI body.
    let before = state.calls.load(Ordering::SeqCst);
    assert_eq!(r.rerank("q", &strings(&["d8"])).await.unwrap(), vec![8.0]);
    assert_eq!(state.calls.load(Ordering::SeqCst), before + 1);
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let (base, state) = serve().await;
    let r = reranker(&format!("{base}/fail/v1"), None);
    let msg = provider_error(r.rerank("q", &strings(&["d1"])).await);
    assert!(msg.contains("500"), "{msg}");
    assert!(msg.contains("reranker crashed"), "{msg}");
    assert!(msg.contains("rr@VLLM"), "{msg}");
    assert_eq!(state.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn garbage_and_bad_indexes_are_errors() {
    let (base, state) = serve().await;
    let msg = provider_error(
        reranker(&format!("{base}/garbage/v1"), None)
            .rerank("q", &strings(&["d1"]))
            .await,
    );
    assert!(msg.contains("unexpected rerank response"), "{msg}");
    let msg = provider_error(
        reranker(&format!("{base}/badindex/v1"), None)
            .rerank("q", &strings(&["d1", "d2"]))
            .await,
    );
    assert!(
        msg.contains("index 2 is out of range for 2 documents"),
        "{msg}"
    );
    // Neither is retried: a second try would get the same answer.
    assert_eq!(state.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn unreachable_servers_are_provider_errors() {
    // A port that was free a moment ago.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let r = reranker(&format!("http://127.0.0.1:{port}/v1"), None);
    let msg = provider_error(r.rerank("q", &strings(&["d1"])).await);
    assert!(msg.contains("cannot reach"), "{msg}");
}

fn tenant() -> Tenant {
    Tenant {
        id: "t".into(),
        name: "t".into(),
        embd_id: default_embedding_id(),
        llm_id: default_chat_id(),
        tts_id: String::new(),
        asr_id: String::new(),
        providers: vec![],
        create_time: 0,
    }
}

#[tokio::test]
async fn registry_resolves_configured_rerank_models_end_to_end() {
    let (base, state) = serve().await;
    let registry = ModelRegistry::new(None);
    let mut t = tenant();
    configure_provider(
        &mut t,
        "OpenAI-API-Compatible",
        Some("sk-x".into()),
        Some(format!("{base}/jina/v1")),
        vec![ProviderModel {
            name: "my-reranker".into(),
            model_type: ModelType::Rerank,
        }],
    )
    .unwrap();
    let by_name = registry.reranker(&t, "my-reranker").unwrap();
    let by_id = registry
        .reranker(&t, "my-reranker@OpenAI-API-Compatible")
        .unwrap();
    assert!(Arc::ptr_eq(&by_name, &by_id));
    assert_eq!(by_name.model_id(), "my-reranker@OpenAI-API-Compatible");
    let scores = by_id.rerank("q", &strings(&["d2", "d1"])).await.unwrap();
    assert_eq!(scores, vec![2.0, 1.0]);
    let body = state.bodies.lock().unwrap()[0].clone();
    assert_eq!(body["model"], "my-reranker");
    assert_eq!(
        *state.auth.lock().unwrap(),
        vec![Some("Bearer sk-x".to_string())]
    );

    match registry.reranker(&tenant(), "my-reranker") {
        Err(ModelError::Unavailable(model, why)) => {
            assert_eq!(model, "my-reranker");
            assert!(why.contains("no provider of the tenant lists"), "{why}");
        }
        Err(e) => panic!("expected Unavailable, got {e}"),
        Ok(r) => panic!("expected Unavailable, got {}", r.model_id()),
    }
}
