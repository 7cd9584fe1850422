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
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_headers(Any)
                .allow_methods(Any),
        );
    NormalizePathLayer::trim_trailing_slash().layer(router)
}

use tower::Layer;

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
