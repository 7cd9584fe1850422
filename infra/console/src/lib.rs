//! The web console of the embedded server: a plain HTML + JavaScript + CSS page at `/` that
//! talks to the `/api/v1` API from the browser (same origin, the user's API key). Its files
//! are compiled into the binary, so running it needs nothing beyond `lambdarag serve`.
//!
//! Only GET and HEAD answer; any other method on these paths, and every other path, keeps the
//! contract's 404 envelope, so the API surface is unchanged.

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use lambdarag::contract::http::not_found;

/// One embedded file: the path it is served at, its media type and its bytes.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../assets/index.html"),
    },
    Asset {
        path: "/console/app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/app.js"),
    },
    Asset {
        path: "/console/api.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/api.js"),
    },
    Asset {
        path: "/console/datasets.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/datasets.js"),
    },
    Asset {
        path: "/console/retrieval.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/retrieval.js"),
    },
    Asset {
        path: "/console/chat.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/chat.js"),
    },
    Asset {
        path: "/console/app.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../assets/app.css"),
    },
    Asset {
        path: "/console/icon.svg",
        content_type: "image/svg+xml",
        body: include_str!("../assets/icon.svg"),
    },
];

/// The page renders API data with `textContent` only; the policy is a second line of defence
/// should a future change slip: no inline script, nothing fetched from another origin.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// The console's routes, to be merged into the embedded server's router.
pub fn router() -> Router {
    ASSETS.iter().fold(Router::new(), |r, a| {
        r.route(a.path, any(move |req: Request| serve(a, req)))
    })
}

async fn serve(asset: &'static Asset, req: Request) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return not_found(req).await;
    }
    let mut resp = asset.body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    // The files change with the binary; revalidating keeps an upgraded server's page current.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::StatusCode;
    use http_body_util::BodyExt;
    use serde_json::{json, Value};
    use tower::ServiceExt;

    async fn call(method: Method, uri: &str) -> (StatusCode, String, String) {
        let app = lambdarag::contract::http::finish(router());
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .expect("request");
        let resp = app.oneshot(req).await.expect("infallible");
        let status = resp.status();
        let ct = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        (status, ct, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn serves_the_page_and_its_files() {
        let (status, ct, body) = call(Method::GET, "/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(ct.starts_with("text/html"), "{ct}");
        assert!(body.contains("<title>lambdarag console</title>"), "{body}");
        for path in ["/console/app.js", "/console/app.css", "/console/icon.svg"] {
            assert!(body.contains(path), "the page loads {path}");
        }
        for a in ASSETS {
            let (status, ct, _) = call(Method::GET, a.path).await;
            assert_eq!(status, StatusCode::OK, "{}", a.path);
            assert_eq!(ct, a.content_type);
        }
    }

    #[test]
    fn every_module_import_is_served() {
        for a in ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
            for part in a.body.split("from '").skip(1) {
                let target = part.split('\'').next().unwrap_or("");
                assert!(
                    ASSETS.iter().any(|b| b.path == target),
                    "{} imports {target}, which is not served",
                    a.path
                );
            }
        }
    }

    #[tokio::test]
    async fn other_paths_and_methods_keep_the_404_envelope() {
        for (method, uri) in [
            (Method::GET, "/nowhere"),
            (Method::GET, "/console/missing.js"),
            (Method::POST, "/"),
            (Method::DELETE, "/console/app.js"),
        ] {
            let (status, _, body) = call(method, uri).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
            let v: Value = serde_json::from_str(&body).expect("json");
            assert_eq!(
                v,
                json!({"code": 404, "message": format!("Not Found: {uri}"), "data": null, "error": "Not Found"})
            );
        }
    }
}
