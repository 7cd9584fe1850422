//! The datasets routes through the mounted router on the embedded adapters.

use http::{Method, StatusCode};
use lambdarag_e2e::TestApi;
use serde_json::json;

#[tokio::test]
async fn create_list_update_delete_round_trip() {
    let api = TestApi::embedded();
    let a = api.tenant("a").await;
    let r = api
        .call(
            Method::POST,
            "/api/v1/datasets",
            Some(&a.key),
            Some(json!({"name": "kb"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["code"], 0);
    assert!(
        r.json.get("message").is_none(),
        "success replies carry no message key"
    );
    let ds = &r.json["data"];
    assert_eq!(ds["name"], "kb");
    assert_eq!(ds["chunk_method"], "naive");
    assert_eq!(ds["permission"], "me");
    assert_eq!(ds["embedding_model"], "all-MiniLM-L6-v2@Builtin");
    assert_eq!(ds["parser_config"]["llm_id"], "extractive-answerer@Builtin");
    assert_eq!(ds["tenant_id"], a.id.as_str());
    assert!(ds["create_time"].is_i64());
    assert!(ds["create_date"].as_str().unwrap().ends_with(" GMT"));
    let id = ds["id"].as_str().unwrap().to_string();

    // Duplicate names are renamed, case-insensitively.
    let r = api
        .call(
            Method::POST,
            "/api/v1/datasets",
            Some(&a.key),
            Some(json!({"name": "KB"})),
        )
        .await;
    assert_eq!(r.json["data"]["name"], "KB(1)");
    let r = api
        .call(
            Method::POST,
            "/api/v1/datasets",
            Some(&a.key),
            Some(json!({"name": "kb"})),
        )
        .await;
    assert_eq!(r.json["data"]["name"], "kb(2)");

    let r = api
        .call(
            Method::GET,
            "/api/v1/datasets?page=1&page_size=2&desc=False",
            Some(&a.key),
            None,
        )
        .await;
    assert_eq!(r.json["total_datasets"], 3);
    let names: Vec<&str> = r.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["kb", "KB(1)"]);

    let r = api
        .call(
            Method::PUT,
            &format!("/api/v1/datasets/{id}"),
            Some(&a.key),
            Some(json!({"name": "renamed", "parser_config": {"chunk_token_num": 256}, "pagerank": 10})),
        )
        .await;
    assert_eq!(r.json["code"], 0, "{}", r.json);
    assert_eq!(r.json["data"]["name"], "renamed");
    assert_eq!(r.json["data"]["pagerank"], 10);
    assert_eq!(r.json["data"]["parser_config"]["chunk_token_num"], 256);
    // Deep merge keeps what was not sent.
    assert_eq!(
        r.json["data"]["parser_config"]["raptor"]["use_raptor"],
        true
    );

    let r = api
        .call(
            Method::PUT,
            &format!("/api/v1/datasets/{id}"),
            Some(&a.key),
            Some(json!({"name": "kb(2)"})),
        )
        .await;
    assert_eq!(
        r.json,
        json!({"code": 102, "message": "Dataset name 'kb(2)' already exists"})
    );

    let r = api
        .call(
            Method::PUT,
            &format!("/api/v1/datasets/{id}"),
            Some(&a.key),
            Some(json!({"chunk_method": "qa"})),
        )
        .await;
    assert_eq!(
        r.json["data"]["parser_config"],
        json!({"table_context_size": 0, "image_context_size": 0, "raptor": {"use_raptor": false}, "graphrag": {"use_graphrag": false}})
    );

    let r = api
        .call(
            Method::DELETE,
            "/api/v1/datasets",
            Some(&a.key),
            Some(json!({"ids": [id]})),
        )
        .await;
    assert_eq!(r.json, json!({"code": 0}));
    let r = api
        .call(
            Method::DELETE,
            "/api/v1/datasets",
            Some(&a.key),
            Some(json!({"ids": []})),
        )
        .await;
    assert_eq!(r.json, json!({"code": 0}));
    let r = api
        .call(Method::GET, "/api/v1/datasets", Some(&a.key), None)
        .await;
    assert_eq!(r.json["total_datasets"], 2, "[] deletes nothing");
    let r = api
        .call(
            Method::DELETE,
            "/api/v1/datasets",
            Some(&a.key),
            Some(json!({"ids": null})),
        )
        .await;
    assert_eq!(r.json, json!({"code": 0}));
    let r = api
        .call(Method::GET, "/api/v1/datasets", Some(&a.key), None)
        .await;
    assert_eq!(r.json["total_datasets"], 0, "null deletes all");
}

#[tokio::test]
async fn auth_replies_are_upstreams() {
    let api = TestApi::embedded();
    let r = api.call(Method::GET, "/api/v1/datasets", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json,
        json!({"code": 0, "message": "`Authorization` can't be empty", "data": false})
    );
    let req = http::Request::builder()
        .uri("/api/v1/datasets")
        .header("Authorization", "onlyonetoken")
        .body(axum::body::Body::empty())
        .unwrap();
    let r = api.send(req).await;
    assert_eq!(
        r.json,
        json!({"code": 0, "message": "Please check your authorization format.", "data": false})
    );
    let r = api
        .call(Method::GET, "/api/v1/datasets", Some("ragflow-nope"), None)
        .await;
    assert_eq!(
        r.json,
        json!({"code": 109, "message": "Authentication error: API key is invalid!", "data": false})
    );
    // A revoked key stops working.
    let a = api.tenant("a").await;
    let keys = api.state.meta.list_keys(&a.id).await.unwrap();
    assert!(api
        .state
        .meta
        .revoke_key(&a.id, &keys[0].key_id)
        .await
        .unwrap());
    let r = api
        .call(Method::GET, "/api/v1/datasets", Some(&a.key), None)
        .await;
    assert_eq!(r.json["code"], 109);
}

#[tokio::test]
async fn transport_edges() {
    let api = TestApi::embedded();
    let a = api.tenant("a").await;
    let r = api
        .call(Method::GET, "/api/v1/nowhere", Some(&a.key), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.json,
        json!({"code": 404, "message": "Not Found: /api/v1/nowhere", "data": null, "error": "Not Found"})
    );
    let r = api
        .call(Method::PATCH, "/api/v1/datasets", Some(&a.key), None)
        .await;
    assert_eq!(
        r.json,
        json!({"code": 100, "message": "<MethodNotAllowed '405: Method Not Allowed'>", "data": null})
    );
    let r = api
        .call(Method::GET, "/api/v1/datasets/", Some(&a.key), None)
        .await;
    assert_eq!(r.json["code"], 0, "trailing slash is tolerated");
    assert_eq!(
        r.headers
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap()),
        Some("*")
    );
    // Malformed JSON, non-object JSON, non-JSON content type.
    for (body, ctype, msg) in [
        (
            "{bad",
            "application/json",
            "Malformed JSON syntax: Missing commas/brackets or invalid encoding",
        ),
        (
            "[1]",
            "application/json",
            "Invalid request payload: expected object, got list",
        ),
        (
            "\"s\"",
            "application/json",
            "Invalid request payload: expected object, got str",
        ),
    ] {
        let req = http::Request::builder()
            .method(Method::POST)
            .uri("/api/v1/datasets")
            .header("Authorization", format!("Bearer {}", a.key))
            .header("Content-Type", ctype)
            .body(axum::body::Body::from(body))
            .unwrap();
        let r = api.send(req).await;
        assert_eq!(r.json, json!({"code": 101, "message": msg}));
    }
    let req = http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1/datasets")
        .header("Authorization", format!("Bearer {}", a.key))
        .header("Content-Type", "text/xml")
        .body(axum::body::Body::from("<a/>"))
        .unwrap();
    let r = api.send(req).await;
    assert_eq!(r.json["code"], 101);
    assert!(r.json["message"]
        .as_str()
        .unwrap()
        .contains("Field: <name>"));
}

#[tokio::test]
async fn validation_and_model_errors() {
    let api = TestApi::embedded();
    let a = api.tenant("a").await;
    let post = |body: serde_json::Value| {
        let api = &api;
        let key = a.key.clone();
        async move {
            api.call(Method::POST, "/api/v1/datasets", Some(&key), Some(body))
                .await
                .json
        }
    };
    assert_eq!(
        post(json!({"name": "x", "embedding_model": "text-embedding-3-small@OpenAI"})).await,
        json!({"code": 101, "message": "Unauthorized model: <text-embedding-3-small@OpenAI>"})
    );
    assert_eq!(
        post(json!({"name": "x", "embedding_model": "nope@OpenAI"})).await,
        json!({"code": 101, "message": "Unsupported model: <nope@OpenAI>"})
    );
    // Configuring the provider authorises its models.
    let mut t = api.state.meta.get_tenant(&a.id).await.unwrap().unwrap();
    lambdarag::domain::models::configure_provider(
        &mut t,
        "OpenAI",
        Some("sk".into()),
        None,
        vec![],
    )
    .unwrap();
    api.state.meta.update_tenant(&t).await.unwrap();
    let r = post(json!({"name": "x", "embedding_model": "text-embedding-3-small@OpenAI"})).await;
    assert_eq!(r["code"], 0);
    assert_eq!(
        r["data"]["embedding_model"],
        "text-embedding-3-small@OpenAI"
    );

    let long = "é".repeat(100);
    assert_eq!(
        post(json!({"name": long})).await,
        json!({"code": 102, "message": "Dataset name length is 100 which is large than 128"})
    );
    let r = api
        .call(
            Method::GET,
            "/api/v1/datasets?page=0&foo=1",
            Some(&a.key),
            None,
        )
        .await;
    assert_eq!(
        r.json["message"],
        "Field: <page> - Message: <Input should be greater than or equal to 1> - Value: <0>\nField: <foo> - Message: <Extra inputs are not permitted> - Value: <1>"
    );
    let missing = lambdarag::contract::ids::new_id();
    let r = api
        .call(
            Method::GET,
            &format!("/api/v1/datasets?id={missing}"),
            Some(&a.key),
            None,
        )
        .await;
    assert_eq!(
        r.json,
        json!({"code": 108, "message": format!("User '{}' lacks permission for dataset '{missing}'", a.id)})
    );
    let r = api
        .call(
            Method::PUT,
            &format!("/api/v1/datasets/{missing}"),
            Some(&a.key),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        r.json,
        json!({"code": 101, "message": "No properties were modified"})
    );
}

/// Tenant B's key never lists, reads, changes or deletes tenant A's datasets.
#[tokio::test]
async fn tenant_isolation_matrix() {
    let api = TestApi::embedded();
    let a = api.tenant("a").await;
    let b = api.tenant("b").await;
    let r = api
        .call(
            Method::POST,
            "/api/v1/datasets",
            Some(&a.key),
            Some(json!({"name": "secret"})),
        )
        .await;
    let id = r.json["data"]["id"].as_str().unwrap().to_string();

    let r = api
        .call(Method::GET, "/api/v1/datasets", Some(&b.key), None)
        .await;
    assert_eq!(r.json["data"], json!([]));
    assert_eq!(r.json["total_datasets"], 0);

    let r = api
        .call(
            Method::GET,
            &format!("/api/v1/datasets?id={id}"),
            Some(&b.key),
            None,
        )
        .await;
    assert_eq!(
        r.json,
        json!({"code": 108, "message": format!("User '{}' lacks permission for dataset '{id}'", b.id)})
    );
    let r = api
        .call(
            Method::GET,
            "/api/v1/datasets?name=secret",
            Some(&b.key),
            None,
        )
        .await;
    assert_eq!(r.json["code"], 108);

    let r = api
        .call(
            Method::PUT,
            &format!("/api/v1/datasets/{id}"),
            Some(&b.key),
            Some(json!({"name": "pwned"})),
        )
        .await;
    assert_eq!(
        r.json,
        json!({"code": 108, "message": format!("User '{}' lacks permission for dataset '{id}'", b.id)})
    );

    let r = api
        .call(
            Method::DELETE,
            "/api/v1/datasets",
            Some(&b.key),
            Some(json!({"ids": [id]})),
        )
        .await;
    assert_eq!(
        r.json,
        json!({"code": 108, "message": format!("User '{}' lacks permission for datasets: '{id}'", b.id)})
    );
    // Deleting "all" as B leaves A's dataset alone.
    let r = api
        .call(
            Method::DELETE,
            "/api/v1/datasets",
            Some(&b.key),
            Some(json!({"ids": null})),
        )
        .await;
    assert_eq!(r.json["code"], 0);

    for path in ["knowledge_graph", "trace_graphrag", "trace_raptor"] {
        let r = api
            .call(
                Method::GET,
                &format!("/api/v1/datasets/{id}/{path}"),
                Some(&b.key),
                None,
            )
            .await;
        assert_eq!(
            r.json,
            json!({"code": 109, "message": "No authorization."}),
            "{path}"
        );
        let r = api
            .call(
                Method::GET,
                &format!("/api/v1/datasets/{id}/{path}"),
                Some(&a.key),
                None,
            )
            .await;
        if path == "knowledge_graph" {
            assert_eq!(
                r.json,
                json!({"code": 0, "data": {"graph": {}, "mind_map": {}}}),
                "the owner sees an empty graph before any run"
            );
        } else {
            assert_eq!(
                r.json,
                json!({"code": 0, "data": {}}),
                "{path}: the owner sees no task yet"
            );
        }
    }
    for path in ["run_graphrag", "run_raptor"] {
        let r = api
            .call(
                Method::POST,
                &format!("/api/v1/datasets/{id}/{path}"),
                Some(&b.key),
                None,
            )
            .await;
        assert_eq!(r.json["code"], 109, "{path}");
    }

    // A's dataset is intact.
    let r = api
        .call(
            Method::GET,
            &format!("/api/v1/datasets?id={id}"),
            Some(&a.key),
            None,
        )
        .await;
    assert_eq!(r.json["data"][0]["name"], "secret");
}
