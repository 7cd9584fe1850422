//! Helpers of the OpenSearch adapter's test files: sample chunks, and a stub cluster that
//! records every request (method, path with query, headers, body) and answers from a
//! function of the request, so concurrent requests (search runs its text and k-NN queries
//! together) get the right reply in any order.

// Each test file is its own crate and uses only some of these.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::Router;
use serde_json::{json, Value};

use lambdarag::domain::ChunkRecord;
use lambdarag::ports::conformance_index::sample_chunk;

/// A sample chunk with the given vector and a fixed creation time.
pub fn chunk(t: &str, ds: &str, doc: &str, pos: i64, content: &str, vector: &[f32]) -> ChunkRecord {
    let mut c = sample_chunk(t, ds, doc, pos, content);
    c.vector = vector.to_vec();
    c.create_time = 1_700_000_000_000;
    c
}

#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Req {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn ndjson(&self) -> Vec<Value> {
        String::from_utf8_lossy(&self.body)
            .lines()
            .map(|l| serde_json::from_str(l).expect("an NDJSON line"))
            .collect()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub type Responder = Arc<dyn Fn(&Req) -> (u16, Value) + Send + Sync>;

#[derive(Clone)]
pub struct Stub {
    pub log: Arc<Mutex<Vec<Req>>>,
    pub respond: Responder,
}

pub async fn record(
    State(stub): State<Stub>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let req = Req {
        method: method.to_string(),
        path: uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers,
        body: body.to_vec(),
    };
    let (status, reply) = (stub.respond)(&req);
    stub.log.lock().expect("log").push(req);
    (
        StatusCode::from_u16(status).expect("status"),
        [("content-type", "application/json")],
        reply.to_string(),
    )
}

/// A stub cluster; returns its base URL and the request log.
pub async fn stub(
    respond: impl Fn(&Req) -> (u16, Value) + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<Req>>>) {
    let log = Arc::new(Mutex::new(vec![]));
    let state = Stub {
        log: log.clone(),
        respond: Arc::new(respond),
    };
    let app = Router::new().fallback(record).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    (format!("http://{addr}"), log)
}

pub fn taken(log: &Arc<Mutex<Vec<Req>>>) -> Vec<Req> {
    std::mem::take(&mut *log.lock().expect("log"))
}

pub fn index_missing() -> (u16, Value) {
    (
        404,
        json!({"error": {"type": "index_not_found_exception", "reason": "no such index"}, "status": 404}),
    )
}

/// What a chunk looks like in `_source`.
pub fn source(c: &ChunkRecord) -> Value {
    let mut v = json!({
        "tenant_id": c.tenant_id,
        "dataset_id": c.dataset_id,
        "document_id": c.document_id,
        "document_name": c.document_name,
        "content": c.content,
        "important_keywords": c.important_keywords,
        "questions": c.questions,
        "available": c.available,
        "positions": c.positions,
        "image_id": c.image_id,
        "doc_type": c.doc_type,
        "position": c.position,
        "token_count": c.token_count,
        "create_time": c.create_time,
        "generation": c.generation,
        "chunk_id": c.id,
    });
    if !c.vector.is_empty() {
        v[format!("vector_{}", c.vector.len())] = json!(c.vector);
    }
    v
}

pub fn hit(c: &ChunkRecord, score: f64) -> Value {
    let mut src = source(c);
    if let Some(m) = src.as_object_mut() {
        m.retain(|k, _| !k.starts_with("vector_"));
    }
    json!({"_index": "x", "_id": c.id, "_score": score, "_source": src})
}

pub fn hits(list: Vec<Value>) -> Value {
    json!({"hits": {"total": {"value": list.len(), "relation": "eq"}, "hits": list}})
}

/// `_source` of a `search_hits` hit: the id fields only.
pub fn id_hit(c: &ChunkRecord, score: f64) -> Value {
    json!({"_id": c.id, "_score": score, "_source": {"dataset_id": c.dataset_id, "document_id": c.document_id}})
}
