//! The OpenAPI document (`lambdarag::contract::openapi`) against what is really served:
//!
//! - the embedded server's router: its `/api/v1` (and `/v1`) paths are read from the router itself (axum
//!   prints its path table in `Debug`), and each path's methods are found by sending every
//!   method through the router with marker fallbacks: a method is served unless the 404 or
//!   405 fallback answered. That set must equal the documented operations.
//! - the AWS deployment: template.yaml's HttpApi route events (less `$default`) must equal
//!   the documented operations, and the function each route invokes must serve it.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use lambdarag::AppState;
use tower::ServiceExt;
use yaml_rust2::{Yaml, YamlLoader};

type Ops = BTreeSet<(String, String)>;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "PATCH"];
const MARKER: &str = "x-openapi-test-fallback";

fn state() -> AppState {
    let meta = lambdarag_embedded::SqliteStore::in_memory().expect("sqlite");
    AppState::new(std::sync::Arc::new(meta))
}

fn documented() -> Ops {
    lambdarag::contract::openapi::operations()
        .into_iter()
        .collect()
}

/// The router with fallbacks that mark their replies, so a probe can tell them apart from
/// any handler's reply (handlers answer 404-like envelopes too).
fn marked(router: Router) -> Router {
    router
        .fallback(|| async { (StatusCode::NOT_FOUND, [(MARKER, "404")]).into_response() })
        .method_not_allowed_fallback(|| async {
            (StatusCode::METHOD_NOT_ALLOWED, [(MARKER, "405")]).into_response()
        })
}

/// A concrete path for a template: every `{param}` becomes a plausible id.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|s| {
            if s.starts_with('{') {
                "0123456789abcdef0123456789abcdef"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether `method path-template` reaches a handler of `router` (no auth is sent, so no
/// handler gets past its authentication or argument checks).
async fn serves(router: &Router, method: &str, template: &str) -> bool {
    let req = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).expect("method"))
        .uri(concrete(template))
        .body(Body::empty())
        .expect("request");
    let resp = router.clone().oneshot(req).await.expect("infallible");
    !resp.headers().contains_key(MARKER)
}

/// The `/api/v1` path templates in the router's own table (its `Debug` output).
fn router_paths(router: &Router) -> BTreeSet<String> {
    let dump = format!("{router:?}");
    let paths: BTreeSet<String> = dump
        .split('"')
        // `/v1/system/healthz`: the one documented path outside /api/v1 (upstream's alias).
        .filter(|s| {
            (s.starts_with("/api/v1/") || s.starts_with("/v1/")) && !s.contains(char::is_whitespace)
        })
        .map(str::to_string)
        .collect();
    assert!(
        paths.contains("/api/v1/datasets"),
        "could not read the router's paths from its Debug output: {dump:.400}"
    );
    paths
}

async fn served_operations(router: Router) -> Ops {
    let paths = router_paths(&router);
    let router = marked(router);
    let mut ops = Ops::new();
    for path in paths {
        for method in METHODS {
            if serves(&router, method, &path).await {
                ops.insert((method.to_string(), path.clone()));
            }
        }
    }
    ops
}

fn diff(what: &str, a: &Ops, b: &Ops) -> String {
    let show = |s: BTreeSet<&(String, String)>| {
        s.iter()
            .map(|(m, p)| format!("  {m} {p}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    format!(
        "{what}:\nonly in the first:\n{}\nonly in the document:\n{}",
        show(a.difference(b).collect()),
        show(b.difference(a).collect())
    )
}

#[tokio::test]
async fn embedded_router_serves_exactly_the_documented_operations() {
    let served = served_operations(lambdarag_server::routes(state())).await;
    let doc = documented();
    assert_eq!(
        served,
        doc,
        "{}",
        diff("served vs documented", &served, &doc)
    );
}

#[tokio::test]
async fn documented_operations_are_not_fallbacks_of_the_finished_app() {
    // The finished app (404 envelope, wrong-method reply, trailing slashes) answers every
    // documented operation from a handler: neither fallback's reply comes back.
    let app = lambdarag_server::app(state());
    for (method, path) in documented() {
        let req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("method"))
            .uri(concrete(&path))
            .body(Body::empty())
            .expect("request");
        let resp = app.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .expect("body");
        assert_ne!(status, StatusCode::NOT_FOUND, "{method} {path}");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let fallback = v["error"] == "Not Found"
            || v["message"] == "<MethodNotAllowed '405: Method Not Allowed'>";
        assert!(!fallback, "{method} {path} fell through: {v}");
    }
}

/// A function's router, by the template's `CodeUri`.
fn group_router(code_uri: &str, state: AppState) -> Router {
    match code_uri {
        "functions/datasets" => fn_datasets::router(state),
        "functions/documents" => fn_documents::router(state),
        "functions/chunks" => fn_chunks::router(state),
        "functions/retrieval" => fn_retrieval::router(state),
        "functions/dify" => fn_dify::router(state),
        "functions/chats" => fn_chats::router(state),
        "functions/sessions" => fn_sessions::router(state),
        "functions/openai" => fn_openai::router(state),
        "functions/memories" => fn_memories::router(state),
        "functions/files" => fn_files::router(state),
        "functions/searches" => fn_searches::router(state),
        "functions/agents" => fn_agents::router(state),
        "functions/system" => fn_system::router(state),
        other => panic!("template.yaml: HttpApi events on an unknown function {other}"),
    }
}

/// `(function CodeUri, METHOD, path)` of every HttpApi route event with a path.
fn template_routes() -> Vec<(String, String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
    let text = std::fs::read_to_string(path).expect("template.yaml");
    let docs = YamlLoader::load_from_str(&text).expect("template.yaml parses");
    let resources = docs[0]["Resources"].as_hash().expect("Resources");
    let mut out = Vec::new();
    for res in resources.values() {
        if res["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let code_uri = res["Properties"]["CodeUri"].as_str().unwrap_or_default();
        let Some(events) = res["Properties"]["Events"].as_hash() else {
            continue;
        };
        for ev in events.values() {
            if ev["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let props = &ev["Properties"];
            // No Path: the `$default` route (unmatched requests).
            let Some(path) = props["Path"].as_str() else {
                continue;
            };
            let method = match &props["Method"] {
                Yaml::String(m) => m.to_uppercase(),
                _ => "ANY".to_string(),
            };
            out.push((code_uri.to_string(), method, path.to_string()));
        }
    }
    out
}

#[tokio::test]
async fn template_routes_are_the_documented_operations_and_their_functions_serve_them() {
    let routes = template_routes();
    let ops: Ops = routes
        .iter()
        .map(|(_, m, p)| (m.clone(), p.clone()))
        .collect();
    assert_eq!(
        ops.len(),
        routes.len(),
        "a route appears twice in template.yaml"
    );
    let doc = documented();
    assert_eq!(
        ops,
        doc,
        "{}",
        diff("template.yaml vs documented", &ops, &doc)
    );
    let state = state();
    for (code_uri, method, path) in routes {
        let router = marked(group_router(&code_uri, state.clone()));
        assert!(
            serves(&router, &method, &path).await,
            "template.yaml sends {method} {path} to {code_uri}, whose router does not serve it"
        );
    }
}

#[test]
fn the_dollar_default_route_is_on_the_datasets_function() {
    // Unmatched requests (and documented paths with other methods) need the 404 / 405
    // envelopes; the datasets function answers them, and it also serves the document.
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml"))
        .expect("template.yaml");
    let docs = YamlLoader::load_from_str(&text).expect("template.yaml parses");
    let resources = docs[0]["Resources"].as_hash().expect("Resources");
    let mut defaults = Vec::new();
    for res in resources.values() {
        for ev in res["Properties"]["Events"]
            .as_hash()
            .into_iter()
            .flat_map(|h| h.values())
        {
            if ev["Type"].as_str() == Some("HttpApi") && ev["Properties"]["Path"].is_badvalue() {
                defaults.push(res["Properties"]["CodeUri"].as_str().unwrap_or_default());
            }
        }
    }
    assert_eq!(defaults, ["functions/datasets"]);
}

#[tokio::test]
async fn a_documented_path_with_another_method_gets_the_wrong_method_reply_everywhere() {
    // As API Gateway delivers it to the $default function: the datasets router alone.
    let app = lambdarag::contract::http::finish(fn_datasets::router(state()));
    for (method, uri) in [("PATCH", "/api/v1/chats"), ("GET", "/api/v1/chats/abc")] {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .expect("request");
        let resp = app.clone().oneshot(req).await.expect("infallible");
        assert_eq!(resp.status(), StatusCode::OK);
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .expect("body");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["code"], 100, "{method} {uri}: {v}");
        assert_eq!(v["message"], "<MethodNotAllowed '405: Method Not Allowed'>");
    }
    let req = Request::builder()
        .uri("/api/v1/nothing/here")
        .body(Body::empty())
        .expect("request");
    let resp = app.oneshot(req).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_document_and_its_page_are_served_without_a_key() {
    let app = lambdarag_server::app(state());
    for (uri, content_type) in [
        ("/api/v1/openapi.json", "application/json"),
        ("/api/v1/docs", "text/html; charset=utf-8"),
    ] {
        let req = Request::builder()
            .uri(uri)
            .body(Body::empty())
            .expect("req");
        let resp = app.clone().oneshot(req).await.expect("infallible");
        assert_eq!(resp.status(), StatusCode::OK, "{uri}");
        assert_eq!(resp.headers()["content-type"], content_type, "{uri}");
        let body = axum::body::to_bytes(resp.into_body(), 1 << 22)
            .await
            .expect("body");
        if uri.ends_with(".json") {
            let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
            assert_eq!(v["openapi"], "3.1.0");
        } else {
            assert!(String::from_utf8_lossy(&body).contains("openapi.json"));
        }
    }
}
