//! Helpers for the end-to-end tests: a running router on the embedded adapters and a
//! small client that speaks to it in-process.

use axum::body::Body;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use lambdarag::http::App;
use lambdarag::AppState;

/// A tenant with a live API key.
pub struct Tenant {
    pub id: String,
    pub key: String,
}

pub struct TestApi {
    pub app: App,
    pub state: AppState,
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
        let meta = lambdarag_embedded::SqliteStore::in_memory().expect("sqlite");
        let state = AppState::new(std::sync::Arc::new(meta));
        TestApi {
            app: lambdarag_server::app(state.clone()),
            state,
        }
    }

    pub async fn tenant(&self, name: &str) -> Tenant {
        let t = lambdarag::auth::create_tenant(self.state.meta.as_ref(), name)
            .await
            .expect("tenant");
        let (key, _) = lambdarag::auth::issue_key(self.state.meta.as_ref(), &t.id)
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
