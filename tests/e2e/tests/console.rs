//! The embedded server's web console is mounted beside the API without changing it: `/`
//! answers the page, while unknown paths (also under `/console/`) and the API keep their
//! replies.

use http::{header, Method, StatusCode};
use lambdarag_e2e::TestApi;
use serde_json::json;

#[tokio::test]
async fn console_page_beside_the_api() {
    let api = TestApi::embedded();
    let a = api.tenant("a").await;

    let r = api.call(Method::GET, "/", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let ct = r
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    assert_eq!(ct, Some("text/html; charset=utf-8"));
    let r = api.call(Method::GET, "/console/app.js", None, None).await;
    assert_eq!(r.status, StatusCode::OK);

    for path in ["/nowhere", "/console/nowhere.js", "/api/v1/nowhere"] {
        let r = api.call(Method::GET, path, Some(&a.key), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            r.json,
            json!({"code": 404, "message": format!("Not Found: {path}"), "data": null, "error": "Not Found"})
        );
    }
    // The API behind it is unchanged (no key: upstream's code-0 refusal).
    let r = api.call(Method::GET, "/api/v1/datasets", None, None).await;
    assert_eq!(r.json["message"], "`Authorization` can't be empty");
}
