//! The S5 and O1 routes end to end over a scripted chat model: real streamed bodies, the
//! frames of contract 8.1 / 8.2, and the turn stored in the session.

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use lambdarag::domain::Tenant;
use lambdarag::ports::chat::{
    iter_stream, ChatDelta, ChatMessage, ChatModel, ChatModelRegistry, DeltaStream, GenOptions,
};
use lambdarag::ports::ModelError;
use lambdarag::AppState;
use lambdarag_embedded::SqliteStore;

/// Answers with a fixed script: `think` reasoning, then words; `fail` breaks off.
struct Scripted {
    id: String,
}

#[async_trait]
impl ChatModel for Scripted {
    fn model_id(&self) -> &str {
        &self.id
    }
    async fn stream(
        &self,
        messages: &[ChatMessage],
        _: &GenOptions,
    ) -> Result<DeltaStream, ModelError> {
        let question = messages
            .last()
            .map(|m| m.content.clone())
            .unwrap_or_default();
        let mut items = Vec::new();
        if question.contains("think") {
            items.push(Ok(ChatDelta::reasoning("pondering the question")));
        }
        for i in 0..40 {
            items.push(Ok(ChatDelta::text(format!("word{i} "))));
        }
        if question.contains("fail") {
            items.push(Err(ModelError::Provider("the provider fell over".into())));
        }
        Ok(iter_stream(items))
    }
}

struct Registry;

impl ChatModelRegistry for Registry {
    fn chat_model(&self, _: &Tenant, model_id: &str) -> Result<Arc<dyn ChatModel>, ModelError> {
        Ok(Arc::new(Scripted {
            id: model_id.to_string(),
        }))
    }
}

struct Setup {
    app: lambdarag::contract::http::App,
    key: String,
    chat_id: String,
    session_id: String,
}

async fn setup() -> Setup {
    let store = Arc::new(SqliteStore::in_memory().expect("store"));
    let state = AppState::new(store.clone())
        .with_docs(store.clone())
        .with_chats(store.clone())
        .with_chat_models(Arc::new(Registry));
    let tenant = lambdarag::services::auth::create_tenant(store.as_ref(), "t")
        .await
        .expect("tenant");
    let (key, _) = lambdarag::services::auth::issue_key(store.as_ref(), &tenant.id)
        .await
        .expect("key");
    let req = json!({"name": "c"});
    let chat =
        lambdarag::services::chats::create(&state, &tenant.id, req.as_object().expect("object"))
            .await
            .expect("chat");
    let chat_id = chat["id"].as_str().expect("id").to_string();
    let session = lambdarag::services::sessions::create(
        &state,
        &tenant.id,
        &chat_id,
        &serde_json::Map::new(),
    )
    .await
    .expect("session");
    let router = fn_sessions::router(state.clone()).merge(fn_openai::router(state));
    Setup {
        app: lambdarag::contract::http::finish(router),
        key,
        chat_id,
        session_id: session["id"].as_str().expect("id").to_string(),
    }
}

async fn post(s: &Setup, path: &str, body: Value) -> (http::HeaderMap, String) {
    let req = Request::post(path)
        .header("Authorization", format!("Bearer {}", s.key))
        .header("Content-Type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let resp = s.app.clone().oneshot(req).await.expect("response");
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (headers, String::from_utf8(bytes.to_vec()).expect("utf-8"))
}

fn frames(body: &str) -> Vec<Value> {
    assert!(body.ends_with("\n\n"));
    body.split("\n\n")
        .filter(|f| !f.is_empty())
        .map(|f| {
            let payload = f.strip_prefix("data:").expect("data: prefix");
            assert!(!payload.starts_with(' '), "no space after data:");
            if payload == "[DONE]" {
                json!("[DONE]")
            } else {
                serde_json::from_str(payload).expect("json frame")
            }
        })
        .collect()
}

#[tokio::test]
async fn streamed_turn_in_buffered_deltas_and_stored() {
    let s = setup().await;
    let path = format!("/api/v1/chats/{}/completions", s.chat_id);
    let (headers, body) = post(
        &s,
        &path,
        json!({"question": "hello", "session_id": s.session_id}),
    )
    .await;
    assert_eq!(headers["content-type"], "text/event-stream; charset=utf-8");
    assert_eq!(headers["x-accel-buffering"], "no");
    let f = frames(&body);
    assert_eq!(f.last(), Some(&json!({"code": 0, "data": true})));
    let deltas = &f[..f.len() - 1];
    assert!(
        deltas.len() >= 4,
        "40 words buffered to >= 16 tokens make several frames"
    );
    let mut text = String::new();
    for d in deltas {
        assert_eq!(d["code"], 0);
        assert!(d.get("message").is_none());
        let data = &d["data"];
        assert_eq!(data["final"], false);
        assert_eq!(data["reference"], json!({"chunks": []}));
        assert_eq!(
            data["prompt"], "",
            "chats without datasets: prompt on every frame"
        );
        assert!(data["created_at"].is_f64());
        assert_eq!(data["session_id"], s.session_id.as_str());
        text.push_str(data["answer"].as_str().expect("answer"));
    }
    assert_eq!(
        text,
        (0..40).map(|i| format!("word{i} ")).collect::<String>()
    );
    let ids: Vec<&Value> = deltas.iter().map(|d| &d["data"]["id"]).collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]));

    let list_req = Request::get(format!("/api/v1/chats/{}/sessions", s.chat_id))
        .header("Authorization", format!("Bearer {}", s.key))
        .body(Body::empty())
        .expect("request");
    let resp = s.app.clone().oneshot(list_req).await.expect("response");
    let v: Value =
        serde_json::from_slice(&resp.into_body().collect().await.expect("body").to_bytes())
            .expect("json");
    let messages = &v["data"][0]["messages"];
    assert_eq!(messages.as_array().map(Vec::len), Some(3));
    assert_eq!(messages[1]["content"], "hello");
    assert_eq!(messages[2]["content"], text.as_str());
    assert_eq!(messages[1]["id"], *ids[0]);
}

#[tokio::test]
async fn reasoning_boundaries_and_mid_stream_errors() {
    let s = setup().await;
    let path = format!("/api/v1/chats/{}/completions", s.chat_id);
    let (_, body) = post(
        &s,
        &path,
        json!({"question": "think", "session_id": s.session_id}),
    )
    .await;
    let f = frames(&body);
    assert_eq!(f[0]["data"]["start_to_think"], true);
    assert_eq!(f[0]["data"]["answer"], "");
    assert_eq!(f[1]["data"]["answer"], "pondering the question");
    assert_eq!(f[2]["data"]["end_to_think"], true);

    let (_, body) = post(
        &s,
        &path,
        json!({"question": "fail", "session_id": s.session_id}),
    )
    .await;
    let f = frames(&body);
    let n = f.len();
    assert_eq!(f[n - 1], json!({"code": 0, "data": true}));
    let err = &f[n - 2];
    assert_eq!(err["code"], 500);
    assert_eq!(
        err["message"],
        "model provider request failed: the provider fell over"
    );
    assert_eq!(
        err["data"],
        json!({"answer": "**ERROR**: model provider request failed: the provider fell over", "reference": []})
    );

    // Non-streamed: the answer object.
    let (_, body) = post(
        &s,
        &path,
        json!({"question": "hi", "session_id": s.session_id, "stream": false}),
    )
    .await;
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["code"], 0);
    assert!(v["data"]["answer"]
        .as_str()
        .is_some_and(|a| a.starts_with("word0 word1")));
}

#[tokio::test]
async fn openai_frames() {
    let s = setup().await;
    let path = format!("/api/v1/chats_openai/{}/chat/completions", s.chat_id);
    let (_, body) = post(
        &s,
        &path,
        json!({"model": "m", "messages": [{"role": "user", "content": "think"}]}),
    )
    .await;
    let f = frames(&body);
    assert_eq!(f.last(), Some(&json!("[DONE]")));
    let last = &f[f.len() - 2];
    assert_eq!(last["choices"][0]["finish_reason"], "stop");
    assert!(last["usage"]["completion_tokens"]
        .as_u64()
        .is_some_and(|n| n > 0));
    assert_eq!(
        f[0]["choices"][0]["delta"]["reasoning_content"],
        "pondering the question"
    );
    assert_eq!(f[0]["choices"][0]["delta"]["content"], Value::Null);
    assert_eq!(
        f[1]["choices"][0]["delta"]["reasoning_content"],
        Value::Null
    );
    assert_eq!(f[0]["id"], format!("chatcmpl-{}", s.chat_id));
    assert_eq!(f[0]["model"], "model");

    let (_, body) = post(
        &s,
        &path,
        json!({"model": "mine", "stream": false, "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "mine");
    assert!(v["choices"][0]["message"].get("reference").is_none());
    assert!(v["usage"]["completion_tokens_details"]["reasoning_tokens"]
        .as_u64()
        .is_some());
}
