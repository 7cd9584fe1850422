//! BedrockEmbedder against a stub of Bedrock Runtime's InvokeModel on 127.0.0.1
//! (`POST /model/{modelId}/invoke`): checks the request bodies and the response parsing.
#![cfg(feature = "bedrock")]

use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_bedrockruntime::config::Credentials;
use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use lambdarag::ports::Embedder;
use lambdarag_models::BedrockEmbedder;
use serde_json::{json, Value};

type Seen = Arc<Mutex<Vec<(String, Value)>>>;

async fn invoke(State(seen): State<Seen>, Path(model): Path<String>, body: String) -> Json<Value> {
    let body: Value = serde_json::from_str(&body).unwrap();
    seen.lock().unwrap().push((model.clone(), body.clone()));
    if model.starts_with("cohere.") {
        let n = body["texts"].as_array().unwrap().len();
        Json(
            json!({"embeddings": (0..n).map(|i| vec![i as f32 + 1.0, 1.0]).collect::<Vec<_>>(), "id": "x", "texts": body["texts"]}),
        )
    } else {
        let len = body["inputText"].as_str().unwrap().len() as f32;
        Json(json!({"embedding": [len, 0.0], "inputTextTokenCount": 1}))
    }
}

async fn stub() -> (SdkConfig, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route("/model/{model}/invoke", post(invoke))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let conf = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .region(Region::new("us-east-1"))
        .endpoint_url(format!("http://{addr}"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .load()
        .await;
    (conf, seen)
}

#[tokio::test]
async fn titan_one_text_per_call() {
    let (conf, seen) = stub().await;
    let e = BedrockEmbedder::new(
        &conf,
        "amazon.titan-embed-text-v2:0@Bedrock",
        "amazon.titan-embed-text-v2:0",
    )
    .unwrap();
    let v = e
        .embed(&["abc".to_string(), "de".to_string()])
        .await
        .unwrap();
    assert_eq!(v, vec![vec![1.0, 0.0], vec![1.0, 0.0]]);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            (
                "amazon.titan-embed-text-v2:0".to_string(),
                json!({"inputText": "abc"})
            ),
            (
                "amazon.titan-embed-text-v2:0".to_string(),
                json!({"inputText": "de"})
            ),
        ]
    );
}

#[tokio::test]
async fn cohere_batches_texts() {
    let (conf, seen) = stub().await;
    let e = BedrockEmbedder::new(
        &conf,
        "cohere.embed-english-v3@Bedrock",
        "cohere.embed-english-v3",
    )
    .unwrap();
    let texts: Vec<String> = (0..100).map(|i| format!("t{i}")).collect();
    let v = e.embed(&texts).await.unwrap();
    assert_eq!(v.len(), 100);
    let norm: f32 = v[5].iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-6);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "96 + 4");
    assert_eq!(seen[0].1["input_type"], "search_document");
    assert_eq!(seen[0].1["texts"].as_array().unwrap().len(), 96);
    assert_eq!(seen[1].1["texts"], json!(["t96", "t97", "t98", "t99"]));
}

#[tokio::test]
async fn other_models_are_refused() {
    let (conf, _) = stub().await;
    assert!(BedrockEmbedder::new(&conf, "x@Bedrock", "anthropic.claude-3-haiku").is_err());
}
