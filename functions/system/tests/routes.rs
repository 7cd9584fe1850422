//! The system router on the full embedded deployment: healthy stores answer 200, a broken
//! one 500 with its error; ping and version.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

async fn get(app: &lambdarag::contract::http::App, uri: &str) -> (StatusCode, Vec<u8>) {
    let req = Request::builder()
        .uri(uri)
        .body(Body::empty())
        .expect("request");
    let resp = app.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    (
        status,
        resp.into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec(),
    )
}

#[tokio::test]
async fn health_ping_and_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let embedded = lambdarag_embedded::open(dir.path()).expect("open");
    let app = lambdarag::contract::http::finish(fn_system::router(embedded.state));
    let all_ok = json!({"db": "ok", "redis": "ok", "doc_engine": "ok", "storage": "ok",
                        "queue": "ok", "status": "ok"});
    for uri in ["/api/v1/system/healthz", "/v1/system/healthz"] {
        let (status, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert_eq!(
            serde_json::from_slice::<Value>(&body).expect("json"),
            all_ok
        );
    }
    assert_eq!(
        get(&app, "/api/v1/system/ping").await,
        (StatusCode::OK, b"pong".to_vec())
    );
    let (_, body) = get(&app, "/api/v1/system/version").await;
    let v: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(v["data"], env!("CARGO_PKG_VERSION"));

    std::fs::remove_dir_all(dir.path().join("blobs")).expect("break the blob store");
    let (status, body) = get(&app, "/api/v1/system/healthz").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let v: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(
        (v["storage"].clone(), v["status"].clone()),
        (json!("nok"), json!("nok"))
    );
    assert!(v["_meta"]["storage"]["error"].is_string());
}
