//! HTTP plumbing shared by every function: request-body parsing with upstream's replies,
//! query strings, the 404 / wrong-method replies, CORS and trailing-slash tolerance.

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Map, Value};
use tower_http::cors::{Any, CorsLayer};
use tower_http::normalize_path::{NormalizePath, NormalizePathLayer};

use crate::contract::envelope::{json_response, ApiError};
use crate::contract::pyfmt::py_type_name;

/// A finished application: the mounted routes plus the contract's edge behaviour.
pub type App = NormalizePath<Router>;

/// Add what every deployment needs around a group's routes: the 404 envelope for unknown
/// paths, upstream's reply for a known path with the wrong method, CORS `*`, and
/// tolerance of trailing slashes.
pub fn finish(routes: Router) -> App {
    let router = routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(run_to_completion))
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_headers(Any)
                .allow_methods(Any),
        );
    NormalizePathLayer::trim_trailing_slash().layer(router)
}

use tower::Layer;

/// v0.27's cap on an id list given to a list route.
pub const MAX_LIST_IDS: usize = 100;

/// Values of a repeatable query key, each also split on commas (v0.27's list parameters).
pub fn repeated_csv(pairs: &[(String, String)], keys: &[&str]) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| keys.contains(&k.as_str()))
        .flat_map(|(_, v)| v.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Runs each request's handler as a task of its own. Without this, a client that hangs up
/// mid-request makes hyper drop the handler between two writes (a document already moved to
/// RUNNING whose parse task was never queued stays RUNNING forever); a request, once
/// received, now runs to its end whoever is still listening. A handler that panics becomes
/// the envelope's 500 instead of a dropped connection.
async fn run_to_completion(req: Request, next: axum::middleware::Next) -> Response {
    match tokio::spawn(next.run(req)).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "request handler panicked");
            json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"code": 500, "message": "Internal server error", "data": null}),
            )
        }
    }
}

/// The reply for a multipart body that could not be read, naming the cause (axum's own
/// message is the same for every cause: a truncated stream, a bad boundary, a read error);
/// logged too, since a well-formed client should never see it.
pub fn malformed_multipart(e: axum::extract::multipart::MultipartError) -> ApiError {
    let cause = e.body_text();
    tracing::warn!(cause = %cause, status = %e.status(), "multipart body could not be read");
    ApiError::argument(format!("Malformed multipart body: {cause}"))
}

/// `attachment; filename=...` with an RFC 5987 form for non-ASCII names.
pub fn content_disposition(name: &str) -> String {
    disposition("attachment", name)
}

/// A `Content-Disposition` of `kind` (`attachment` or `inline`) naming `name`, with an
/// RFC 5987 form for non-ASCII names.
pub fn disposition(kind: &str, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The contract's reply for an unknown path (public so routes that answer only some methods,
/// like the embedded console's pages, can keep every other method on it).
pub async fn not_found(req: Request) -> Response {
    // A documented path reached with an undocumented method: on API Gateway, whose routes
    // name their methods, such a request lands here (the `$default` route) rather than on
    // its group's router, and must get the same reply as the embedded server's.
    if crate::contract::openapi::is_documented_path(req.uri().path()) {
        return method_not_allowed().await;
    }
    json_response(
        StatusCode::NOT_FOUND,
        &json!({
            "code": 404,
            "message": format!("Not Found: {}", req.uri().path()),
            "data": null,
            "error": "Not Found",
        }),
    )
}

async fn method_not_allowed() -> Response {
    ApiError::exception("<MethodNotAllowed '405: Method Not Allowed'>").into_response()
}

fn is_json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        })
        .unwrap_or(false)
}

/// `302 Found` to `url` (a reply too large to carry inline, fetched where it is stored).
pub fn found(url: &str) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(url) {
        resp.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    resp
}

/// The dataset routes' body rule (upstream's strict pydantic path, section 5.1):
/// a JSON object is required; malformed JSON and non-objects get their own 101 messages;
/// a body that is not declared as JSON is treated as an empty object, which is what
/// upstream's current server does and its suites expect.
pub fn dataset_json_body(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Map<String, Value>, ApiError> {
    if !is_json_content_type(headers) {
        return Ok(Map::new());
    }
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        ApiError::argument("Malformed JSON syntax: Missing commas/brackets or invalid encoding")
    })?;
    match value {
        Value::Object(m) => Ok(m),
        // `request.get_json() or {}`: falsy payloads (null, [], 0, "", false) count as `{}`.
        Value::Null => Ok(Map::new()),
        Value::Array(ref a) if a.is_empty() => Ok(Map::new()),
        Value::String(ref s) if s.is_empty() => Ok(Map::new()),
        Value::Bool(false) => Ok(Map::new()),
        Value::Number(ref n) if n.as_f64() == Some(0.0) => Ok(Map::new()),
        other => Err(ApiError::argument(format!(
            "Invalid request payload: expected object, got {}",
            py_type_name(&other)
        ))),
    }
}

/// Query-string pairs in order, percent-decoded (repeated keys kept).
pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| {
        form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    })
    .unwrap_or_default()
}

/// The first value of a key (Werkzeug's `args.get`).
pub fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The body rule of most routes (upstream's `get_request_json`): an empty body is `{}`;
/// malformed JSON and non-object JSON get upstream's (leaked-exception) replies, code 100.
pub fn loose_json_body(headers: &HeaderMap, body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    if !is_json_content_type(headers) {
        // Form bodies carry no JSON fields the JSON routes read.
        return Ok(Map::new());
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::exception("<BadRequest '400: Bad Request'>"))?;
    match value {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        Value::String(_) => Err(ApiError::exception(
            "AttributeError(\"'str' object has no attribute 'get'\")",
        )),
        _ => Err(ApiError::exception(
            "TypeError('JSON payload must be an object.')",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use tower::ServiceExt;

    /// A handler whose caller goes away (the request future is dropped, as hyper does when the
    /// client disconnects) still runs to its end.
    #[tokio::test]
    async fn a_request_runs_to_its_end_after_the_client_leaves() {
        let release = Arc::new(tokio::sync::Notify::new());
        let finished = Arc::new(AtomicBool::new(false));
        let (r, f) = (release.clone(), finished.clone());
        let app = finish(Router::new().route(
            "/api/v1/slow",
            axum::routing::post(move || async move {
                r.notified().await;
                f.store(true, Ordering::SeqCst);
                "done"
            }),
        ));
        let req = Request::builder()
            .method("POST")
            .uri("/api/v1/slow")
            .body(axum::body::Body::empty())
            .unwrap();
        let call = app.oneshot(req);
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), call)
                .await
                .is_err()
        );
        release.notify_one();
        for _ in 0..100 {
            if finished.load(Ordering::SeqCst) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the handler was dropped with its caller");
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_in_the_envelope() {
        async fn boom() -> &'static str {
            panic!("boom")
        }
        let app = finish(Router::new().route("/api/v1/boom", axum::routing::get(boom)));
        let req = Request::builder()
            .uri("/api/v1/boom")
            .body(axum::body::Body::empty())
            .unwrap();
        let res = app.oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["code"], 500);
    }

    fn json_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h
    }

    #[test]
    fn dataset_body_rules() {
        let h = json_headers();
        assert_eq!(
            dataset_json_body(&h, &Bytes::from_static(b"{\"a\":1}")).unwrap()["a"],
            json!(1)
        );
        assert_eq!(
            dataset_json_body(&h, &Bytes::from_static(b"{bad"))
                .unwrap_err()
                .message,
            "Malformed JSON syntax: Missing commas/brackets or invalid encoding"
        );
        assert_eq!(
            dataset_json_body(&h, &Bytes::from_static(b"\"x\""))
                .unwrap_err()
                .message,
            "Invalid request payload: expected object, got str"
        );
        assert_eq!(
            dataset_json_body(&h, &Bytes::from_static(b"[1]"))
                .unwrap_err()
                .message,
            "Invalid request payload: expected object, got list"
        );
        assert!(dataset_json_body(&h, &Bytes::from_static(b"null"))
            .unwrap()
            .is_empty());
        assert!(
            dataset_json_body(&HeaderMap::new(), &Bytes::from_static(b"<xml/>"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn query_pairs_keep_order_and_repeats() {
        let p = query_pairs(Some("a=1&b=x%20y&a=2"));
        assert_eq!(p.len(), 3);
        assert_eq!(first(&p, "a"), Some("1"));
        assert_eq!(first(&p, "b"), Some("x y"));
    }
}
