//! Every endpoint, another tenant's ids: refused, and the owner's data stays intact.
//! Runs on the full embedded deployment (SQLite, folder blobs, tantivy, queue).

use http::Method;
use lambdarag_e2e::FullApi;
use serde_json::{json, Value};

#[tokio::test]
async fn tenant_b_cannot_touch_tenant_a() {
    let full = FullApi::new();
    let api = &full.api;
    let a = api.tenant("a").await;
    let b = api.tenant("b").await;

    // Tenant A: a dataset, a parsed document, a manual chunk.
    let r = api
        .call(
            Method::POST,
            "/api/v1/datasets",
            Some(&a.key),
            Some(json!({"name": "a-kb"})),
        )
        .await;
    let ds = r.json["data"]["id"].as_str().unwrap().to_string();
    let r = full
        .upload(
            &a.key,
            &ds,
            "secret.txt",
            "The launch code of tenant A is swordfish. Keep it safe.",
        )
        .await;
    assert_eq!(r.json["code"], 0, "{}", r.json);
    let doc = r.json["data"][0]["id"].as_str().unwrap().to_string();
    let r = api
        .call(
            Method::POST,
            &format!("/api/v1/datasets/{ds}/chunks"),
            Some(&a.key),
            Some(json!({"document_ids": [doc]})),
        )
        .await;
    assert_eq!(r.json, json!({"code": 0}));
    full.drain().await;
    let r = api
        .call(
            Method::GET,
            &format!("/api/v1/datasets/{ds}/documents?id={doc}"),
            Some(&a.key),
            None,
        )
        .await;
    assert_eq!(r.json["data"]["docs"][0]["run"], "DONE", "{}", r.json);
    let r = api
        .call(
            Method::GET,
            &format!("/api/v1/datasets/{ds}/documents/{doc}/chunks"),
            Some(&a.key),
            None,
        )
        .await;
    let chunk = r.json["data"]["chunks"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // B has a dataset of its own, so ids of both kinds exist for B too.
    let r = api
        .call(
            Method::POST,
            "/api/v1/datasets",
            Some(&b.key),
            Some(json!({"name": "b-kb"})),
        )
        .await;
    let b_ds = r.json["data"]["id"].as_str().unwrap().to_string();

    let docs = format!("/api/v1/datasets/{ds}/documents");
    let one = format!("/api/v1/datasets/{ds}/documents/{doc}");
    let chunks = format!("/api/v1/datasets/{ds}/documents/{doc}/chunks");
    let chunk_one = format!("{chunks}/{chunk}");
    let parse = format!("/api/v1/datasets/{ds}/chunks");
    let cases: Vec<(Method, String, Option<Value>, Value)> = vec![
        (
            Method::GET,
            format!("/api/v1/datasets?id={ds}"),
            None,
            json!({"code": 108, "message": format!("User '{}' lacks permission for dataset '{ds}'", b.id)}),
        ),
        (
            Method::PUT,
            format!("/api/v1/datasets/{ds}"),
            Some(json!({"name": "x"})),
            json!({"code": 108, "message": format!("User '{}' lacks permission for dataset '{ds}'", b.id)}),
        ),
        (
            Method::DELETE,
            "/api/v1/datasets".into(),
            Some(json!({"ids": [ds]})),
            json!({"code": 108, "message": format!("User '{}' lacks permission for datasets: '{ds}'", b.id)}),
        ),
        (
            Method::GET,
            docs.clone(),
            None,
            json!({"code": 102, "message": format!("You don't own the dataset {ds}. ")}),
        ),
        (
            Method::DELETE,
            docs.clone(),
            Some(json!({"ids": [doc]})),
            json!({"code": 102, "message": format!("You don't own the dataset {ds}. ")}),
        ),
        (
            Method::PUT,
            one.clone(),
            Some(json!({"name": "x.txt"})),
            json!({"code": 102, "message": "You don't own the dataset."}),
        ),
        (
            Method::GET,
            one.clone(),
            None,
            json!({"code": 102, "message": format!("You do not own the dataset {ds}.")}),
        ),
        (
            Method::POST,
            parse.clone(),
            Some(json!({"document_ids": [doc]})),
            json!({"code": 102, "message": format!("You don't own the dataset {ds}.")}),
        ),
        (
            Method::DELETE,
            parse.clone(),
            Some(json!({"document_ids": [doc]})),
            json!({"code": 102, "message": format!("You don't own the dataset {ds}.")}),
        ),
        (
            Method::GET,
            format!("/api/v1/datasets/{ds}/metadata/summary"),
            None,
            json!({"code": 102, "message": format!("You don't own the dataset {ds}. ")}),
        ),
        (
            Method::POST,
            format!("/api/v1/datasets/{ds}/metadata/update"),
            Some(json!({"updates": [{"key": "k", "value": "v"}]})),
            json!({"code": 102, "message": format!("You don't own the dataset {ds}. ")}),
        ),
        (
            Method::GET,
            chunks.clone(),
            None,
            json!({"code": 102, "message": format!("You don't own the dataset {ds}.")}),
        ),
        (
            Method::POST,
            chunks.clone(),
            Some(json!({"content": "injected"})),
            json!({"code": 102, "message": format!("You don't own the dataset {ds}.")}),
        ),
        (
            Method::DELETE,
            chunks.clone(),
            Some(json!({"chunk_ids": [chunk]})),
            json!({"code": 102, "message": format!("You don't own the dataset {ds}.")}),
        ),
        (
            Method::PUT,
            chunk_one.clone(),
            Some(json!({"content": "changed"})),
            json!({"code": 102, "message": format!("Can't find this chunk {chunk}")}),
        ),
        (
            Method::POST,
            "/api/v1/retrieval".into(),
            Some(json!({"dataset_ids": [ds], "question": "launch code"})),
            json!({"code": 102, "message": format!("You don't own the dataset {ds}.")}),
        ),
        (
            Method::POST,
            "/api/v1/retrieval".into(),
            Some(json!({"dataset_ids": [b_ds], "question": "launch code", "document_ids": [doc]})),
            json!({"code": 102, "message": format!("The datasets don't own the document {doc}")}),
        ),
        (
            Method::POST,
            "/api/v1/dify/retrieval".into(),
            Some(json!({"knowledge_id": ds, "query": "launch code"})),
            json!({"code": 404, "message": "Knowledgebase not found!"}),
        ),
        // v0.27's document routes.
        (
            Method::POST,
            format!("{docs}/parse"),
            Some(json!({"document_ids": [doc]})),
            json!({"code": 102, "message": format!("You don't own the dataset {ds}.")}),
        ),
        (
            Method::POST,
            format!("{docs}/stop"),
            Some(json!({"document_ids": [doc]})),
            json!({"code": 102, "message": format!("You don't own the dataset {ds}.")}),
        ),
        (
            Method::POST,
            format!("{docs}/batch-update-status"),
            Some(json!({"doc_ids": [doc], "status": 0})),
            json!({"code": 102, "message": "you don't own the dataset"}),
        ),
        (
            Method::PATCH,
            format!("{docs}/metadatas"),
            Some(json!({"updates": [{"key": "k", "value": "v"}]})),
            json!({"code": 102, "message": format!("You don't own the dataset {ds}.")}),
        ),
        (
            Method::PUT,
            format!("{one}/metadata/config"),
            Some(json!({"metadata": []})),
            json!({"code": 102, "message": "you don't own the dataset"}),
        ),
        (
            Method::POST,
            "/api/v1/datasets/search".into(),
            Some(json!({"dataset_ids": [ds], "question": "launch code"})),
            json!({"code": 102, "message": format!("Only owner of dataset {ds} authorized for this operation.")}),
        ),
        (
            Method::POST,
            format!("/api/v1/datasets/{ds}/search"),
            Some(json!({"question": "launch code"})),
            json!({"code": 102, "message": format!("Only owner of dataset {ds} authorized for this operation.")}),
        ),
        (
            Method::POST,
            format!("/api/v1/datasets/{ds}/embedding/check"),
            Some(json!({"embd_id": "all-MiniLM-L6-v2@Builtin"})),
            json!({"code": 102, "message": "no authorization"}),
        ),
        // A's document is left out as an unknown id is.
        (
            Method::GET,
            format!("/api/v1/thumbnails?doc_ids={doc}"),
            None,
            json!({"code": 0, "message": "success", "data": {}}),
        ),
        // A's dataset is skipped as an unknown one is: no dataset of B's is left.
        (
            Method::POST,
            "/api/v1/chat/mindmap".into(),
            Some(json!({"question": "launch code", "kb_ids": [ds]})),
            json!({"code": 100, "message": "Exception('No KB selected')", "data": null}),
        ),
    ];
    for (method, path, body, expected) in cases {
        let r = api
            .call(method.clone(), &path, Some(&b.key), body.clone())
            .await;
        assert_eq!(r.json, expected, "{method} {path} as tenant B");
    }
    // Upload into A's dataset as B: the dataset does not exist for B.
    let r = full.upload(&b.key, &ds, "evil.txt", "evil").await;
    assert_eq!(
        r.json,
        json!({"code": 100, "message": format!("LookupError(\"Can't find the dataset with ID {ds}!\")"), "data": null})
    );
    // B's retrieval over its own dataset never surfaces A's chunks.
    let r = api
        .call(Method::POST, "/api/v1/retrieval", Some(&b.key), Some(json!({"dataset_ids": [b_ds], "question": "launch code swordfish", "similarity_threshold": 0.0})))
        .await;
    assert_eq!(r.json["data"]["total"], 0, "{}", r.json);

    // A's data is intact and A still sees it.
    let r = api.call(Method::GET, &chunks, Some(&a.key), None).await;
    assert_eq!(r.json["data"]["total"], 1);
    assert!(r.json["data"]["chunks"][0]["content"]
        .as_str()
        .unwrap()
        .contains("swordfish"));
    let r = api
        .call(
            Method::POST,
            "/api/v1/retrieval",
            Some(&a.key),
            Some(json!({"dataset_ids": [ds], "question": "launch code"})),
        )
        .await;
    assert_eq!(
        r.json["data"]["chunks"][0]["id"],
        chunk.as_str(),
        "{}",
        r.json
    );
    let r = api.call(Method::GET, &one, Some(&a.key), None).await;
    assert_eq!(r.status, http::StatusCode::OK);
    let r = api
        .call(Method::GET, "/api/v1/datasets", Some(&a.key), None)
        .await;
    assert_eq!(r.json["data"][0]["name"], "a-kb");
    assert_eq!(r.json["data"][0]["chunk_count"], 1);
    assert_eq!(r.json["data"][0]["document_count"], 1);
}
