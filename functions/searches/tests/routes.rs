//! The searches router on the embedded metadata store: the replies of each route, and two
//! tenants' apps kept apart.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use lambdarag::AppState;
use lambdarag_embedded::SqliteStore;

struct Setup {
    app: lambdarag::contract::http::App,
    a: String,
    b: String,
}

async fn setup() -> Setup {
    let store = Arc::new(SqliteStore::in_memory().expect("store"));
    let state = AppState::new(store.clone()).with_searches(store.clone());
    let mut keys = Vec::new();
    for name in ["a", "b"] {
        let t = lambdarag::services::auth::create_tenant(store.as_ref(), name)
            .await
            .expect("tenant");
        let (key, _) = lambdarag::services::auth::issue_key(store.as_ref(), &t.id)
            .await
            .expect("key");
        keys.push(key);
    }
    Setup {
        app: lambdarag::contract::http::finish(fn_searches::router(state)),
        b: keys.pop().unwrap_or_default(),
        a: keys.pop().unwrap_or_default(),
    }
}

async fn call(s: &Setup, method: &str, uri: &str, key: &str, body: Option<Value>) -> Value {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("Authorization", format!("Bearer {key}"))
        .header("Content-Type", "application/json")
        .body(body.map_or(Body::empty(), |b| Body::from(b.to_string())))
        .expect("request");
    let resp = s.app.clone().oneshot(req).await.expect("infallible");
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    serde_json::from_slice(&bytes).expect("json reply")
}

#[tokio::test]
async fn crud_replies_and_tenant_isolation() {
    let s = setup().await;
    let res = call(
        &s,
        "POST",
        "/api/v1/searches",
        &s.a,
        Some(json!({"name": "n"})),
    )
    .await;
    assert_eq!(
        (res["code"].clone(), res["message"].clone()),
        (json!(0), json!("success"))
    );
    let id = res["data"]["search_id"].as_str().expect("id").to_string();
    let one = format!("/api/v1/searches/{id}");

    let got = call(&s, "GET", &one, &s.a, None).await;
    assert_eq!(got["data"]["name"], "n");
    assert_eq!(got["data"]["search_config"]["top_k"], 1024);
    assert_eq!(
        call(&s, "GET", &one, &s.b, None).await,
        json!({"code": 103, "message": "Has no permission for this operation.", "data": false})
    );
    let no_auth = json!({"code": 109, "message": "No authorization.", "data": false});
    let rename = json!({"name": "m", "search_config": {"top_k": 3}});
    assert_eq!(
        call(&s, "PUT", &one, &s.b, Some(rename.clone())).await,
        no_auth
    );
    assert_eq!(call(&s, "DELETE", &one, &s.b, None).await, no_auth);
    assert_eq!(
        call(
            &s,
            "POST",
            &format!("{one}/completions"),
            &s.b,
            Some(json!({"question": "q"}))
        )
        .await,
        no_auth
    );
    let listed = call(&s, "GET", "/api/v1/searches", &s.b, None).await;
    assert_eq!(listed["data"], json!({"search_apps": [], "total": 0}));

    let updated = call(&s, "PUT", &one, &s.a, Some(rename)).await;
    assert_eq!(updated["data"]["name"], "m");
    assert_eq!(updated["data"]["search_config"]["top_k"], 3);
    assert_eq!(
        call(
            &s,
            "POST",
            &format!("{one}/completion"),
            &s.a,
            Some(json!({"question": "q"}))
        )
        .await,
        json!({"code": 102, "message": "`kb_ids` is required."})
    );
    assert_eq!(
        call(&s, "DELETE", &one, &s.a, None).await,
        json!({"code": 0, "message": "success", "data": true})
    );
    assert_eq!(call(&s, "DELETE", &one, &s.a, None).await, no_auth);
}
