//! `OpenSearchIndex`: exact requests, against a stub cluster (`opensearch_support`), for
//! index creation, writes, listing, deletes, errors, retries and signing. Searches are in
//! `opensearch_search.rs`, the real cluster's tests in `opensearch_real_cluster.rs`.

mod opensearch_support;

use std::collections::BTreeSet;
use std::sync::Arc;

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use serde_json::json;
use sha2::Digest;

use lambdarag::ports::{ChunkIndex, ChunkListQuery, SearchRequest};
use lambdarag_aws::opensearch::{index_body, SigV4Signer};
use lambdarag_aws::OpenSearchIndex;
use opensearch_support::*;

#[tokio::test]
async fn the_first_write_creates_the_tenant_index_with_its_mapping() {
    let created = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = created.clone();
    let (url, log) = stub(move |r| match (r.method.as_str(), r.path.as_str()) {
        ("GET", p) if p.ends_with("/_mapping") => {
            if seen.load(std::sync::atomic::Ordering::SeqCst) {
                (
                    200,
                    json!({"lambdarag-chunks-0123abcd": {"mappings": {"properties": {"vector_4": {"type": "knn_vector"}}}}}),
                )
            } else {
                index_missing()
            }
        }
        ("PUT", _) => {
            seen.store(true, std::sync::atomic::Ordering::SeqCst);
            (200, json!({"acknowledged": true}))
        }
        ("POST", p) if p.contains("/_bulk") => (200, json!({"errors": false, "items": []})),
        _ => (500, json!({"error": "unexpected"})),
    })
    .await;
    let index = OpenSearchIndex::new(&url).expect("client");
    let t = "0123abcd";
    let a = chunk(t, "ds1", "doc1", 0, "first chunk", &[1.0, 0.0, 0.0, 0.0]);
    let b = chunk(t, "ds1", "doc1", 1, "second chunk", &[]);
    index
        .upsert(t, &[a.clone(), b.clone()])
        .await
        .expect("upsert");

    let reqs = taken(&log);
    assert_eq!(
        reqs.iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect::<Vec<_>>(),
        vec![
            "GET /lambdarag-chunks-0123abcd/_mapping",
            "PUT /lambdarag-chunks-0123abcd",
            "POST /lambdarag-chunks-0123abcd/_bulk?refresh=wait_for",
        ]
    );
    assert_eq!(
        reqs[1].json(),
        json!({
            "settings": {"index": {"knn": true, "number_of_shards": 1}},
            "mappings": {
                "dynamic": false,
                "properties": {
                    "tenant_id": {"type": "keyword"},
                    "dataset_id": {"type": "keyword"},
                    "document_id": {"type": "keyword"},
                    "chunk_id": {"type": "keyword"},
                    "doc_type": {"type": "keyword"},
                    "content": {"type": "text", "analyzer": "english"},
                    "document_name": {"type": "text", "analyzer": "english"},
                    "important_keywords": {"type": "text", "analyzer": "english"},
                    "questions": {"type": "text", "analyzer": "english"},
                    "position": {"type": "long"},
                    "generation": {"type": "long"},
                    "token_count": {"type": "long"},
                    "create_time": {"type": "long"},
                    "available": {"type": "boolean"},
                    "vector_4": {
                        "type": "knn_vector",
                        "dimension": 4,
                        "method": {
                            "name": "hnsw",
                            "space_type": "cosinesimil",
                            "engine": "lucene",
                            "parameters": {"m": 16, "ef_construction": 128}
                        }
                    }
                }
            }
        }),
        "the index mapping"
    );
    assert_eq!(reqs[1].header("content-type"), Some("application/json"));
    assert_eq!(reqs[2].header("content-type"), Some("application/x-ndjson"));
    assert_eq!(
        reqs[2].ndjson(),
        vec![
            json!({"index": {"_id": a.id}}),
            source(&a),
            json!({"index": {"_id": b.id}}),
            source(&b),
        ],
        "_bulk indexes each chunk by id; a chunk without a vector has no vector field"
    );

    // The index is known now: the next write is only the bulk request. One chunk (an API
    // edit) is made searchable at once; more (a parse) join the next refresh.
    index
        .upsert(t, std::slice::from_ref(&b))
        .await
        .expect("upsert");
    let reqs = taken(&log);
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0].path.ends_with("/_bulk?refresh=true"));

    // A vector of a new size: the mapping is re-read (another function may have added the
    // field), then the field is added, then the chunks are written.
    let c = chunk(t, "ds1", "doc2", 0, "other model", &[0.5; 8]);
    index
        .upsert(t, std::slice::from_ref(&c))
        .await
        .expect("upsert");
    let reqs = taken(&log);
    assert_eq!(
        reqs.iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect::<Vec<_>>(),
        vec![
            "GET /lambdarag-chunks-0123abcd/_mapping",
            "PUT /lambdarag-chunks-0123abcd/_mapping",
            "POST /lambdarag-chunks-0123abcd/_bulk?refresh=true",
        ]
    );
    assert!(created.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(
        reqs[1].json(),
        json!({"properties": {"vector_8": index_body(&BTreeSet::from([8]))["mappings"]["properties"]["vector_8"]}})
    );
    assert_eq!(reqs[2].ndjson()[1]["vector_8"], json!(vec![0.5f32; 8]));
}

#[tokio::test]
async fn an_existing_index_is_read_not_recreated_and_bulk_errors_fail() {
    let (url, log) = stub(|r| match (r.method.as_str(), r.path.as_str()) {
        ("GET", p) if p.ends_with("/_mapping") => (
            200,
            json!({"lambdarag-chunks-t1": {"mappings": {"properties": {"vector_4": {"type": "knn_vector"}, "content": {"type": "text"}}}}}),
        ),
        ("POST", p) if p.contains("/_bulk") => (
            200,
            json!({"errors": true, "items": [
                {"index": {"_id": "a", "status": 201}},
                {"index": {"_id": "b", "status": 400, "error": {"type": "mapper_parsing_exception", "reason": "bad"}}}
            ]}),
        ),
        _ => (500, json!({})),
    })
    .await;
    let index = OpenSearchIndex::new(&url).expect("client");
    let err = index
        .upsert(
            "t1",
            &[chunk("t1", "d", "doc", 0, "x", &[1.0, 0.0, 0.0, 0.0])],
        )
        .await
        .expect_err("a failed bulk item fails the upsert");
    assert!(
        err.to_string().contains("1 of 2 chunks failed")
            && err.to_string().contains("mapper_parsing_exception"),
        "{err}"
    );
    let reqs = taken(&log);
    assert_eq!(
        reqs.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(),
        vec!["GET", "POST"],
        "no index creation when the mapping already has the vector field"
    );
    assert!(
        index
            .upsert("t2", &[chunk("t1", "d", "doc", 0, "x", &[])])
            .await
            .is_err(),
        "a chunk of another tenant is refused before any request"
    );
    assert!(taken(&log).is_empty());
}

#[tokio::test]
async fn listing_and_deletes_send_the_expected_queries() {
    let c = chunk("t1", "ds1", "doc1", 3, "alpha", &[]);
    let c2 = c.clone();
    let (url, log) = stub(move |r| match (r.method.as_str(), r.path.as_str()) {
        ("POST", p) if p.ends_with("/_search") => (200, hits(vec![hit(&c2, 0.0)])),
        ("POST", p) if p.contains("/_delete_by_query") => {
            (200, json!({"deleted": 3, "failures": []}))
        }
        ("GET", p) if p.contains("/_doc/") && p.ends_with("missing") => {
            (404, json!({"_id": "missing", "found": false}))
        }
        ("GET", p) if p.contains("/_doc/") => (
            200,
            json!({"_id": c2.id, "found": true, "_source": source(&c2)}),
        ),
        _ => (500, json!({})),
    })
    .await;
    let index = OpenSearchIndex::new(&url)
        .expect("client")
        .with_index_prefix("stage-");
    let doc_filters = json!([
        {"term": {"tenant_id": "t1"}},
        {"term": {"dataset_id": "ds1"}},
        {"term": {"document_id": "doc1"}}
    ]);

    let (page, total) = index
        .list_document(
            "t1",
            "ds1",
            "doc1",
            &ChunkListQuery {
                keywords: Some("Alpha  beta".into()),
                page: 3,
                page_size: 10,
            },
        )
        .await
        .expect("list");
    assert_eq!((page, total), (vec![c.clone()], 1));
    let reqs = taken(&log);
    assert_eq!(reqs[0].path, "/stage-t1/_search");
    assert_eq!(
        reqs[0].json(),
        json!({
            "from": 20,
            "size": 10,
            "track_total_hits": true,
            "sort": [{"position": "asc"}, {"chunk_id": "asc"}],
            "_source": {"excludes": ["vector_*"]},
            "query": {"bool": {
                "filter": doc_filters,
                "must": [{"match": {"content": "Alpha beta"}}]
            }}
        })
    );

    index
        .list_document(
            "t1",
            "ds1",
            "doc1",
            &ChunkListQuery {
                keywords: Some(" ".into()),
                page: 1,
                page_size: 0,
            },
        )
        .await
        .expect("list all");
    let reqs = taken(&log);
    assert_eq!(
        reqs[0].json(),
        json!({
            "size": 1000,
            "track_total_hits": true,
            "sort": [{"position": "asc"}, {"chunk_id": "asc"}],
            "_source": {"excludes": ["vector_*"]},
            "query": {"bool": {"filter": doc_filters}}
        }),
        "page_size 0 scans everything with search_after; blank keywords filter nothing"
    );

    assert_eq!(
        index
            .delete_document("t1", "ds1", "doc1", Some(7))
            .await
            .expect("delete"),
        3
    );
    let reqs = taken(&log);
    assert_eq!(
        reqs[0].path,
        "/stage-t1/_delete_by_query?refresh=true&conflicts=proceed"
    );
    let mut with_gen = doc_filters.as_array().expect("array").clone();
    with_gen.push(json!({"term": {"generation": 7}}));
    assert_eq!(
        reqs[0].json(),
        json!({"query": {"bool": {"filter": with_gen}}})
    );

    index
        .delete_chunks("t1", "ds1", "doc1", &["c1".into(), "c2".into()])
        .await
        .expect("delete chunks");
    let mut with_ids = doc_filters.as_array().expect("array").clone();
    with_ids.push(json!({"ids": {"values": ["c1", "c2"]}}));
    assert_eq!(
        taken(&log)[0].json(),
        json!({"query": {"bool": {"filter": with_ids}}})
    );
    assert_eq!(
        index
            .delete_chunks("t1", "ds1", "doc1", &[])
            .await
            .expect("none"),
        0
    );
    assert!(taken(&log).is_empty(), "no ids, no request");

    index
        .delete_dataset("t1", "ds1")
        .await
        .expect("delete dataset");
    assert_eq!(
        taken(&log)[0].json(),
        json!({"query": {"bool": {"filter": [
            {"term": {"tenant_id": "t1"}},
            {"term": {"dataset_id": "ds1"}}
        ]}}})
    );

    assert_eq!(
        index.get("t1", "ds1", &c.id).await.expect("get"),
        Some(c.clone())
    );
    assert_eq!(
        index.get("t1", "other-ds", &c.id).await.expect("get"),
        None,
        "get is scoped by dataset"
    );
    assert_eq!(index.get("t1", "ds1", "missing").await.expect("get"), None);
    let _ = index.get("t1", "ds1", "a/b c").await;
    let reqs = taken(&log);
    assert_eq!(
        reqs.last().map(|r| r.path.as_str()),
        Some("/stage-t1/_doc/a%2Fb%20c")
    );
}

#[tokio::test]
async fn a_missing_index_deletes_nothing_and_errors_name_the_request() {
    let (url, _log) = stub(|r| match r.path.as_str() {
        p if p.starts_with("/lambdarag-chunks-gone/") => index_missing(),
        _ => (
            503,
            json!({"error": {"type": "cluster_block_exception", "reason": "read-only"}}),
        ),
    })
    .await;
    let index = OpenSearchIndex::new(&url).expect("client");
    assert_eq!(
        index
            .delete_document("gone", "d", "x", None)
            .await
            .expect("delete"),
        0
    );
    index
        .delete_dataset("gone", "d")
        .await
        .expect("delete dataset");
    let err = index
        .delete_document("busy", "d", "x", None)
        .await
        .expect_err("a 503 is an error");
    assert!(
        err.to_string()
            .contains("_delete_by_query answered 503: cluster_block_exception: read-only"),
        "{err}"
    );
}

/// A shard that is not started yet (an index another function has just created) answers
/// 503 "all shards failed" for a moment: the request is sent again and goes through.
#[tokio::test]
async fn a_busy_reply_is_retried() {
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = calls.clone();
    let (url, log) = stub(move |r| {
        if r.path.contains("/_delete_by_query")
            && seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0
        {
            return (
                503,
                json!({"error": {"type": "search_phase_execution_exception", "reason": "all shards failed"}}),
            );
        }
        (200, json!({"deleted": 2}))
    })
    .await;
    let index = OpenSearchIndex::new(&url).expect("client");
    assert_eq!(
        index
            .delete_document("t1", "d", "x", None)
            .await
            .expect("retried"),
        2
    );
    let deletes = taken(&log)
        .iter()
        .filter(|r| r.path.contains("/_delete_by_query"))
        .count();
    assert_eq!(deletes, 2, "one 503, then the retry");
}

/// A failed search says "all shards failed" at the top; the error carries the root cause.
#[tokio::test]
async fn a_failed_search_names_its_root_cause() {
    let (url, _log) = stub(|r| match (r.method.as_str(), r.path.as_str()) {
        ("POST", p) if p.ends_with("/_search") => (
            500,
            json!({"error": {
                "root_cause": [{"type": "too_many_nested_clauses", "reason": "Query contains too many nested clauses"}],
                "type": "search_phase_execution_exception",
                "reason": "all shards failed"
            }, "status": 500}),
        ),
        _ => (500, json!({})),
    })
    .await;
    let index = OpenSearchIndex::new(&url).expect("client");
    let req = SearchRequest {
        dataset_ids: vec!["d".into()],
        document_ids: None,
        text: "hello".into(),
        vector: None,
        top_k: 5,
    };
    let err = index
        .search("t", &req)
        .await
        .expect_err("a 500 is an error");
    assert!(
        err.to_string().contains(
            "_search answered 500: search_phase_execution_exception: all shards failed \
             (too_many_nested_clauses: Query contains too many nested clauses)"
        ),
        "{err}"
    );
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(b))
}

#[tokio::test]
async fn requests_are_signed_with_sigv4_when_configured() {
    let (url, log) = stub(|_| (200, json!({"deleted": 0}))).await;
    let creds = SharedCredentialsProvider::new(Credentials::new(
        "AKIDEXAMPLE",
        "secret",
        Some("session-token".into()),
        None,
        "test",
    ));
    for service in ["es", "aoss"] {
        let index = OpenSearchIndex::new(&url)
            .expect("client")
            .with_signer(SigV4Signer::new(creds.clone(), "eu-west-1", service));
        index.delete_dataset("t1", "ds1").await.expect("delete");
        let reqs = taken(&log);
        let r = &reqs[0];
        let auth = r.header("authorization").expect("authorization");
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
                && auth.contains(&format!("/eu-west-1/{service}/aws4_request"))
                && auth.contains("SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token")
                && auth.contains("Signature="),
            "{auth}"
        );
        assert_eq!(
            r.header("x-amz-content-sha256"),
            Some(sha256_hex(&r.body).as_str()),
            "the payload hash (required by OpenSearch Serverless)"
        );
        assert_eq!(r.header("x-amz-security-token"), Some("session-token"));
        assert!(r.header("x-amz-date").is_some());
    }
}
