//! The memories and messages routes end to end on the embedded adapters, with a
//! deterministic embedder and a scripted chat model: add-message embeds at once, the
//! extraction runs as a queued task through the workers' dispatch, FIFO forgetting, hybrid
//! search, status and forget, and tenant isolation.

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Method, Request};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use lambdarag::domain::Tenant;
use lambdarag::ports::chat::{
    iter_stream, ChatDelta, ChatMessage, ChatModel, ChatModelRegistry, DeltaStream, GenOptions,
};
use lambdarag::ports::{Embedder, EmbedderRegistry, ModelError, PollingQueue};
use lambdarag::AppState;
use lambdarag_embedded::{SqliteQueue, SqliteStore};
use lambdarag_ingest::pipeline::{process_task, Outcome, PipelineConfig};

/// Hashes words into 64 buckets: texts sharing words get close vectors.
struct WordsEmbedder;

#[async_trait]
impl Embedder for WordsEmbedder {
    fn model_id(&self) -> &str {
        "words@Test"
    }
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0f32; 64];
                for w in lambdarag::services::memories::search::terms(t) {
                    let h = w
                        .bytes()
                        .fold(7u32, |a, b| a.wrapping_mul(31).wrapping_add(b as u32));
                    v[(h % 64) as usize] += 1.0;
                }
                let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
                v.iter().map(|x| x / n).collect()
            })
            .collect())
    }
}

struct Embedders;

impl EmbedderRegistry for Embedders {
    fn embedder(&self, _: &Tenant, model_id: &str) -> Result<Arc<dyn Embedder>, ModelError> {
        if model_id == "missing@Test" {
            return Err(ModelError::Unavailable(
                model_id.into(),
                "not configured".into(),
            ));
        }
        Ok(Arc::new(WordsEmbedder))
    }
}

/// Answers every extraction with two memories (and records the prompts it saw).
struct Extractor;

#[async_trait]
impl ChatModel for Extractor {
    fn model_id(&self) -> &str {
        "scripted@Test"
    }
    async fn stream(
        &self,
        messages: &[ChatMessage],
        _: &GenOptions,
    ) -> Result<DeltaStream, ModelError> {
        let convo = messages
            .last()
            .map(|m| m.content.clone())
            .unwrap_or_default();
        assert!(
            convo.contains("User Input:"),
            "the prompt carries the conversation"
        );
        let answer = json!({
            "semantic": [{"content": "The user likes green tea", "valid_at": "2026-01-02T03:04:05Z", "invalid_at": ""}],
            "procedural": [{"content": "Brews tea every morning"}],
            "episodic": [{"content": "not asked for"}],
        })
        .to_string();
        let (a, b) = answer.split_at(10);
        Ok(iter_stream(vec![
            Ok(ChatDelta::text(a)),
            Ok(ChatDelta::text(b)),
        ]))
    }
}

struct Models;

impl ChatModelRegistry for Models {
    fn chat_model(&self, _: &Tenant, _: &str) -> Result<Arc<dyn ChatModel>, ModelError> {
        Ok(Arc::new(Extractor))
    }
}

struct Setup {
    app: lambdarag::contract::http::App,
    state: AppState,
    queue: Arc<SqliteQueue>,
    key: String,
    other_key: String,
}

async fn setup() -> Setup {
    let store = Arc::new(SqliteStore::in_memory().expect("store"));
    let queue = Arc::new(SqliteQueue::in_memory().expect("queue"));
    let state = AppState::new(store.clone())
        .with_memories(store.clone())
        .with_queue(queue.clone())
        .with_embedders(Arc::new(Embedders))
        .with_chat_models(Arc::new(Models));
    let mut keys = Vec::new();
    for name in ["t", "other"] {
        let tenant = lambdarag::services::auth::create_tenant(store.as_ref(), name)
            .await
            .expect("tenant");
        let (key, _) = lambdarag::services::auth::issue_key(store.as_ref(), &tenant.id)
            .await
            .expect("key");
        keys.push(key);
    }
    let app = lambdarag::contract::http::finish(fn_memories::router(state.clone()));
    Setup {
        app,
        state,
        queue,
        other_key: keys.pop().expect("key"),
        key: keys.pop().expect("key"),
    }
}

impl Setup {
    async fn call(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("Authorization", format!("Bearer {key}"));
        if body.is_some() {
            req = req.header("Content-Type", "application/json");
        }
        let req = req
            .body(body.map_or(Body::empty(), |b| Body::from(b.to_string())))
            .expect("request");
        let resp = self.app.clone().oneshot(req).await.expect("infallible");
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (status, serde_json::from_slice(&bytes).expect("json body"))
    }

    async fn create(&self, name: &str, types: Value, llm: &str) -> String {
        let (_, v) = self
            .call(
                &self.key,
                Method::POST,
                "/api/v1/memories",
                Some(json!({"name": name, "memory_type": types, "embd_id": "words@Test", "llm_id": llm})),
            )
            .await;
        assert_eq!(v["code"], 0, "{v}");
        assert_eq!(v["message"], true);
        v["data"]["id"].as_str().expect("id").to_string()
    }

    async fn add(&self, memory: &str, user: &str, agent: &str) -> Value {
        self.call(
            &self.key,
            Method::POST,
            "/api/v1/messages",
            Some(
                json!({"memory_id": [memory], "agent_id": "a1", "session_id": "s1",
                         "user_input": user, "agent_response": agent, "user_id": "u1"}),
            ),
        )
        .await
        .1
    }

    /// Run every queued task through the workers' dispatch.
    async fn drain(&self) -> Vec<Outcome> {
        let mut out = Vec::new();
        while let Some(lease) = self
            .queue
            .receive(std::time::Duration::from_secs(30))
            .await
            .expect("receive")
        {
            out.push(process_task(&self.state, &lease.task, &PipelineConfig::default()).await);
            self.queue.ack(&lease.receipt).await.expect("ack");
        }
        out
    }

    async fn messages(&self, memory: &str) -> Value {
        let (_, v) = self
            .call(
                &self.key,
                Method::GET,
                &format!("/api/v1/memories/{memory}"),
                None,
            )
            .await;
        assert_eq!(v["code"], 0, "{v}");
        v["data"]["messages"].clone()
    }
}

#[tokio::test]
async fn extraction_runs_as_a_queued_task_with_the_memorys_chat_model() {
    let s = setup().await;
    let id = s
        .create(
            "facts",
            json!(["raw", "semantic", "procedural"]),
            "gpt@OpenAI",
        )
        .await;
    let v = s.add(&id, "I love green tea", "Noted: green tea.").await;
    assert_eq!(
        v,
        json!({"code": 0, "message": "All add to task.", "data": null})
    );

    // Stored and embedded at once; the extraction is queued.
    let msgs = s.messages(&id).await;
    assert_eq!(msgs["total_count"], 1);
    let raw = &msgs["message_list"][0];
    assert_eq!(raw["message_type"], "raw");
    assert_eq!(raw["user_id"], "u1");
    assert_eq!(raw["task"]["progress"], 0.0);
    assert_eq!(raw["extract"], json!([]));
    let mid = raw["message_id"].as_i64().expect("id");
    let (_, c) = s
        .call(
            &s.key,
            Method::GET,
            &format!("/api/v1/messages/{id}:{mid}/content"),
            None,
        )
        .await;
    assert_eq!(
        c["data"]["content"],
        "User Input: I love green tea\nAgent Response: Noted: green tea."
    );
    assert_eq!(
        c["data"]["content_embed"].as_array().map(Vec::len),
        Some(64)
    );

    assert_eq!(s.drain().await, vec![Outcome::Done { chunks: 2 }]);
    let msgs = s.messages(&id).await;
    let raw = &msgs["message_list"][0];
    assert_eq!(raw["task"]["progress"], 1.0, "{raw}");
    assert!(raw["task"]["progress_msg"]
        .as_str()
        .unwrap_or("")
        .contains("Saved 2 messages"));
    let extract = raw["extract"].as_array().expect("extract");
    let kinds: Vec<&str> = extract
        .iter()
        .filter_map(|e| e["message_type"].as_str())
        .collect();
    assert_eq!(kinds.len(), 2);
    assert!(kinds.contains(&"semantic") && kinds.contains(&"procedural"));
    assert!(extract.iter().all(|e| e["source_id"] == mid));
    assert!(extract
        .iter()
        .any(|e| e["valid_at"] == "2026-01-02 03:04:05"));

    // A redelivery of the finished task changes nothing.
    let (_, cfg) = s
        .call(
            &s.key,
            Method::GET,
            &format!("/api/v1/memories/{id}/config"),
            None,
        )
        .await;
    let tenant_id = cfg["data"]["tenant_id"]
        .as_str()
        .expect("tenant")
        .to_string();
    let again = lambdarag::domain::QueuedTask::Memory(lambdarag::domain::MemoryTask {
        task_id: raw["task"]["id"].as_str().expect("task id").into(),
        tenant_id,
        memory_id: id.clone(),
        message_id: mid,
    });
    assert_eq!(
        process_task(&s.state, &again, &PipelineConfig::default()).await,
        Outcome::Stale
    );

    // Extracted memories are searchable.
    let (_, r) = s
        .call(&s.key, Method::GET, &format!("/api/v1/messages/search?memory_id={id}&query=morning%20tea&similarity_threshold=0.1"), None)
        .await;
    assert_eq!(r["code"], 0, "{r}");
    let contents: Vec<&str> = r["data"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(
        contents.first(),
        Some(&"Brews tea every morning"),
        "{contents:?}"
    );
}

#[tokio::test]
async fn the_builtin_answerer_cannot_extract_and_the_task_says_so() {
    let s = setup().await;
    let id = s
        .create(
            "b",
            json!(["raw", "episodic"]),
            "extractive-answerer@Builtin",
        )
        .await;
    s.add(&id, "We met on Monday", "OK").await;
    let out = s.drain().await;
    assert!(
        matches!(&out[..], [Outcome::Failed(m)] if m.contains("cannot extract")),
        "{out:?}"
    );
    let msgs = s.messages(&id).await;
    let task = &msgs["message_list"][0]["task"];
    assert_eq!(task["progress"], -1.0);
    assert!(task["progress_msg"]
        .as_str()
        .unwrap_or("")
        .contains("built-in extractive answerer"));
    assert_eq!(msgs["message_list"][0]["extract"], json!([]));
}

#[tokio::test]
async fn raw_memories_queue_nothing() {
    let s = setup().await;
    let id = s
        .create("raw only", json!(["raw"]), "extractive-answerer@Builtin")
        .await;
    s.add(&id, "hi", "hello").await;
    assert!(s.drain().await.is_empty());
    assert_eq!(
        s.messages(&id).await["message_list"][0]["task"]["progress"],
        1.0
    );
}

#[tokio::test]
async fn fifo_forgets_the_oldest_messages_when_the_memory_is_full() {
    let s = setup().await;
    let id = s.create("small", json!(["raw"]), "x@Test").await;
    // Each message: ~45 bytes of text + 64 dims × 8 bytes ≈ 560 bytes; room for three.
    let (_, v) = s
        .call(
            &s.key,
            Method::PUT,
            &format!("/api/v1/memories/{id}"),
            Some(json!({"memory_size": 1700})),
        )
        .await;
    assert_eq!(v["data"]["memory_size"], 1700, "{v}");
    for i in 0..5 {
        let r = s
            .add(&id, &format!("question {i}"), &format!("answer {i}"))
            .await;
        assert_eq!(r["code"], 0, "{r}");
    }
    let msgs = s.messages(&id).await;
    assert_eq!(msgs["total_count"], 3);
    let (_, recent) = s
        .call(
            &s.key,
            Method::GET,
            &format!("/api/v1/messages?memory_id={id}&limit=10"),
            None,
        )
        .await;
    let contents: Vec<&str> = recent["data"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(contents.len(), 3);
    assert!(
        contents
            .iter()
            .all(|c| !c.contains("question 0") && !c.contains("question 1")),
        "{contents:?}"
    );

    // A forgotten message goes first, before older ones.
    let newest = msgs["message_list"][0]["message_id"].as_i64().expect("id");
    let (_, f) = s
        .call(
            &s.key,
            Method::DELETE,
            &format!("/api/v1/messages/{id}:{newest}"),
            None,
        )
        .await;
    assert_eq!(f, json!({"code": 0, "message": true, "data": null}));
    s.add(&id, "question 5", "answer 5").await;
    let ids: Vec<i64> = s.messages(&id).await["message_list"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|m| m["message_id"].as_i64())
        .collect();
    assert!(
        !ids.contains(&newest),
        "the forgotten message was dropped first: {ids:?}"
    );
    assert_eq!(ids.len(), 3);

    // A message larger than the whole memory is refused without forgetting anything.
    let big = "x".repeat(2000);
    let r = s.add(&id, &big, "y").await;
    assert_eq!(r["code"], 500);
    assert!(
        r["message"].as_str().unwrap_or("").starts_with(&format!(
            "Some messages failed to add. Detail:Memory {id} failed. Detail: the message takes"
        )),
        "{r}"
    );
    assert_eq!(s.messages(&id).await["total_count"], 3);
}

#[tokio::test]
async fn search_is_hybrid_and_skips_disabled_and_forgotten_messages() {
    let s = setup().await;
    let id = s.create("s", json!(["raw"]), "x@Test").await;
    s.add(&id, "what is a pineapple", "a tropical fruit").await;
    s.add(&id, "how do I bake bread", "flour water yeast").await;
    s.add(&id, "pineapple pizza", "controversial topping").await;
    let search = |q: &str| {
        format!("/api/v1/messages/search?memory_id={id}&query={q}&similarity_threshold=0.2&keywords_similarity_weight=0.7&top_n=5")
    };
    let (_, r) = s
        .call(&s.key, Method::GET, &search("pineapple"), None)
        .await;
    let found: Vec<i64> = r["data"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|m| m["message_id"].as_i64())
        .collect();
    assert_eq!(found.len(), 2, "{r}");
    let (_, r1) = s
        .call(
            &s.key,
            Method::GET,
            &format!("/api/v1/messages/search?memory_id={id}&query=pineapple&top_n=1"),
            None,
        )
        .await;
    assert_eq!(r1["data"].as_array().map(Vec::len), Some(1));

    let (_, d) = s
        .call(
            &s.key,
            Method::PUT,
            &format!("/api/v1/messages/{id}:{}", found[0]),
            Some(json!({"status": false})),
        )
        .await;
    assert_eq!(d, json!({"code": 0, "message": true, "data": null}));
    s.call(
        &s.key,
        Method::DELETE,
        &format!("/api/v1/messages/{id}:{}", found[1]),
        None,
    )
    .await;
    let (_, r) = s
        .call(&s.key, Method::GET, &search("pineapple"), None)
        .await;
    assert_eq!(
        r["data"],
        json!([]),
        "disabled and forgotten messages are not searched"
    );
    // but both are still listed, with their state
    let msgs = s.messages(&id).await;
    assert_eq!(msgs["total_count"], 3);
    let listed: Vec<&Value> = msgs["message_list"]
        .as_array()
        .expect("list")
        .iter()
        .collect();
    assert!(listed.iter().any(|m| m["status"] == false));
    assert!(listed.iter().any(|m| m["forget_at"].is_string()));
}

#[tokio::test]
async fn another_tenants_memories_answer_as_missing() {
    let s = setup().await;
    let id = s.create("mine", json!(["raw"]), "x@Test").await;
    s.add(&id, "secret", "kept").await;
    let mid = s.messages(&id).await["message_list"][0]["message_id"]
        .as_i64()
        .expect("id");
    let o = &s.other_key;
    let not_found =
        json!({"code": 404, "message": format!("Memory '{id}' not found."), "data": null});
    assert_eq!(
        s.call(
            o,
            Method::GET,
            &format!("/api/v1/memories/{id}/config"),
            None
        )
        .await
        .1,
        not_found
    );
    assert_eq!(
        s.call(o, Method::GET, &format!("/api/v1/memories/{id}"), None)
            .await
            .1,
        not_found
    );
    assert_eq!(
        s.call(
            o,
            Method::PUT,
            &format!("/api/v1/memories/{id}"),
            Some(json!({"name": "x"}))
        )
        .await
        .1,
        not_found
    );
    assert_eq!(
        s.call(o, Method::DELETE, &format!("/api/v1/memories/{id}"), None)
            .await
            .1,
        json!({"code": 404, "message": true, "data": null})
    );
    assert_eq!(
        s.call(
            o,
            Method::GET,
            &format!("/api/v1/messages/{id}:{mid}/content"),
            None
        )
        .await
        .1,
        not_found
    );
    assert_eq!(
        s.call(
            o,
            Method::DELETE,
            &format!("/api/v1/messages/{id}:{mid}"),
            None
        )
        .await
        .1,
        not_found
    );
    assert_eq!(
        s.call(
            o,
            Method::PUT,
            &format!("/api/v1/messages/{id}:{mid}"),
            Some(json!({"status": false}))
        )
        .await
        .1,
        not_found
    );
    let (_, add) = s
        .call(o, Method::POST, "/api/v1/messages", Some(json!({"memory_id": [id], "agent_id": "a", "session_id": "s", "user_input": "x", "agent_response": "y"})))
        .await;
    assert_eq!(
        add["message"],
        format!("Some messages failed to add. Detail:Memory ['{id}'] not found.")
    );
    assert_eq!(
        s.call(
            o,
            Method::GET,
            &format!("/api/v1/messages/search?memory_id={id}&query=secret"),
            None
        )
        .await
        .1["data"],
        json!([])
    );
    assert_eq!(
        s.call(
            o,
            Method::GET,
            &format!("/api/v1/messages?memory_id={id}"),
            None
        )
        .await
        .1["data"],
        json!([])
    );
    let (_, l) = s.call(o, Method::GET, "/api/v1/memories", None).await;
    assert_eq!(l["data"]["total_count"], 0);
    // the owner still has everything
    assert_eq!(s.messages(&id).await["message_list"][0]["status"], true);
}

#[tokio::test]
async fn a_bad_key_is_http_401() {
    let s = setup().await;
    let (status, v) = s.call("nope", Method::GET, "/api/v1/memories", None).await;
    assert_eq!(status, 401);
    assert_eq!(
        v,
        json!({"code": 401, "message": "<Unauthorized '401: Unauthorized'>", "data": null})
    );
}
