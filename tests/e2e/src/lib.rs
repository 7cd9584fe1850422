//! Helpers for the end-to-end tests: a running router on the embedded adapters and a
//! small client that speaks to it in-process.

use axum::body::Body;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use lambdarag::contract::http::App;
use lambdarag::AppState;

/// A tenant with a live API key.
pub struct Tenant {
    pub id: String,
    pub key: String,
}

pub struct TestApi {
    pub app: App,
    pub state: AppState,
    blob_dir: Option<std::path::PathBuf>,
}

impl Drop for TestApi {
    fn drop(&mut self) {
        if let Some(dir) = &self.blob_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A reply: HTTP status, headers and the JSON body (Null if the body is not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub json: Value,
}

impl TestApi {
    /// The full embedded app on a private in-memory SQLite store.
    pub fn embedded() -> Self {
        let meta =
            std::sync::Arc::new(lambdarag_embedded::SqliteStore::in_memory().expect("sqlite"));
        // A private folder for blobs (the knowledge graph lives there); removed on drop.
        let blob_dir = std::env::temp_dir().join(format!(
            "lambdarag-e2e-{}",
            lambdarag::contract::ids::new_id()
        ));
        let blobs = lambdarag_embedded::FolderBlobStore::open(&blob_dir).expect("blob folder");
        let state = AppState::new(meta.clone())
            .with_tasks(meta)
            .with_blobs(std::sync::Arc::new(blobs));
        TestApi {
            app: lambdarag_server::app(state.clone()),
            state,
            blob_dir: Some(blob_dir),
        }
    }

    pub async fn tenant(&self, name: &str) -> Tenant {
        let t = lambdarag::services::auth::create_tenant(self.state.meta.as_ref(), name)
            .await
            .expect("tenant");
        let (key, _) = lambdarag::services::auth::issue_key(self.state.meta.as_ref(), &t.id)
            .await
            .expect("key");
        Tenant { id: t.id, key }
    }

    /// Send a request; `body` is sent as JSON when given.
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(k) = key {
            req = req.header("Authorization", format!("Bearer {k}"));
        }
        let body = match body {
            Some(v) => {
                req = req.header("Content-Type", "application/json");
                Body::from(serde_json::to_vec(&v).expect("json"))
            }
            None => Body::empty(),
        };
        self.send(req.body(body).expect("request")).await
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        let resp = self.app.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            json,
        }
    }
}

/// A deterministic stand-in embedder: hashed bag of words into 64 dimensions, normalised.
/// Enough for routing and isolation tests without model weights.
pub struct HashEmbedder;

#[async_trait::async_trait]
impl lambdarag::ports::Embedder for HashEmbedder {
    fn model_id(&self) -> &str {
        "all-MiniLM-L6-v2@Builtin"
    }
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, lambdarag::ports::ModelError> {
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = vec![0f32; 64];
                for w in t.split_whitespace() {
                    let h = w
                        .to_lowercase()
                        .bytes()
                        .fold(7u64, |a, b| a.wrapping_mul(31).wrapping_add(b as u64));
                    v[(h % 64) as usize] += 1.0;
                }
                let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
                v.into_iter().map(|x| x / n).collect()
            })
            .collect())
    }
}

impl lambdarag::ports::EmbedderRegistry for HashEmbedder {
    fn embedder(
        &self,
        _tenant: &lambdarag::domain::Tenant,
        _model_id: &str,
    ) -> Result<std::sync::Arc<dyn lambdarag::ports::Embedder>, lambdarag::ports::ModelError> {
        Ok(std::sync::Arc::new(HashEmbedder))
    }
}

/// The whole embedded deployment on a temp dir, with the hashing embedder; call
/// `drain()` to run queued parse tasks to completion.
pub struct FullApi {
    pub api: TestApi,
    pub queue: std::sync::Arc<lambdarag_embedded::SqliteQueue>,
    pub dir: std::path::PathBuf,
}

impl FullApi {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "lambdarag-e2e-{}",
            lambdarag::contract::ids::new_id()
        ));
        let emb = lambdarag_embedded::open(&dir).expect("open embedded");
        let state = emb.state.with_embedders(std::sync::Arc::new(HashEmbedder));
        FullApi {
            api: TestApi {
                app: lambdarag_server::app(state.clone()),
                state,
                blob_dir: None,
            },
            queue: emb.queue,
            dir,
        }
    }

    /// Process every queued parse task.
    pub async fn drain(&self) {
        self.drain_with(&lambdarag_ingest::pipeline::PipelineConfig::default())
            .await;
    }

    /// Process every queued task with this configuration; how many messages that took.
    pub async fn drain_with(&self, cfg: &lambdarag_ingest::pipeline::PipelineConfig) -> usize {
        use lambdarag::ports::PollingQueue;
        let mut messages = 0;
        while let Some(lease) = self
            .queue
            .receive(std::time::Duration::from_secs(30))
            .await
            .expect("receive")
        {
            let out =
                lambdarag_ingest::pipeline::process_task(&self.api.state, &lease.task, cfg).await;
            assert!(out.finished(), "task should finish: {out:?}");
            self.queue.ack(&lease.receipt).await.expect("ack");
            messages += 1;
        }
        messages
    }

    /// Create a dataset; its id.
    pub async fn create_dataset(&self, key: &str, name: &str) -> String {
        let r = self
            .api
            .call(
                Method::POST,
                "/api/v1/datasets",
                Some(key),
                Some(serde_json::json!({ "name": name })),
            )
            .await;
        r.json["data"]["id"]
            .as_str()
            .expect("dataset id")
            .to_string()
    }

    /// Upload text documents `(name, text)`, parse them and drain the queue; their ids.
    pub async fn parsed_documents(
        &self,
        key: &str,
        dataset_id: &str,
        docs: &[(&str, &str)],
    ) -> Vec<String> {
        let mut ids = Vec::new();
        for (name, text) in docs {
            let r = self.upload(key, dataset_id, name, text).await;
            ids.push(
                r.json["data"][0]["id"]
                    .as_str()
                    .expect("doc id")
                    .to_string(),
            );
        }
        self.api
            .call(
                Method::POST,
                &format!("/api/v1/datasets/{dataset_id}/chunks"),
                Some(key),
                Some(serde_json::json!({ "document_ids": ids })),
            )
            .await;
        self.drain().await;
        ids
    }

    /// Upload one text file through the API.
    pub async fn upload(&self, key: &str, dataset_id: &str, name: &str, text: &str) -> Reply {
        let boundary = "lambdaragboundary";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/plain\r\n\r\n{text}\r\n--{boundary}--\r\n"
        );
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/v1/datasets/{dataset_id}/documents"))
            .header("Authorization", format!("Bearer {key}"))
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .expect("request");
        self.api.send(req).await
    }
}

impl Default for FullApi {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for FullApi {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
