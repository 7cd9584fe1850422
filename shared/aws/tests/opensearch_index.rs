//! `OpenSearchIndex`: exact request tests against a small stub server, and against a real
//! cluster whenever `OPENSEARCH_URL` is set (unsigned, e.g. the single node that
//! `eval "$(tests/aws/opensearch.sh start)"` runs) the shared chunk-index conformance
//! suite plus the few things only a real engine refuses (the `real_cluster_*` tests).
//! Without `OPENSEARCH_URL` those are skipped, unless `LAMBDARAG_REQUIRE_OPENSEARCH` is set
//! (CI): then they fail, as they do when the URL does not answer.
//!
//! The stub records every request (method, path with query, headers, body) and answers
//! from a function of the request, so concurrent requests (search runs its text and k-NN
//! queries together) get the right reply in any order.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::Router;
use serde_json::{json, Value};
use sha2::Digest;

use lambdarag::contract::ids::new_id;
use lambdarag::domain::ChunkRecord;
use lambdarag::ports::conformance_index::sample_chunk;
use lambdarag::ports::{ChunkHit, ChunkIndex, ChunkListQuery, SearchRequest};
use lambdarag_aws::opensearch::{index_body, SigV4Signer};
use lambdarag_aws::OpenSearchIndex;

#[derive(Debug, Clone)]
struct Req {
    method: String,
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Req {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    fn ndjson(&self) -> Vec<Value> {
        String::from_utf8_lossy(&self.body)
            .lines()
            .map(|l| serde_json::from_str(l).expect("an NDJSON line"))
            .collect()
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

type Responder = Arc<dyn Fn(&Req) -> (u16, Value) + Send + Sync>;

#[derive(Clone)]
struct Stub {
    log: Arc<Mutex<Vec<Req>>>,
    respond: Responder,
}

async fn record(
    State(stub): State<Stub>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let req = Req {
        method: method.to_string(),
        path: uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers,
        body: body.to_vec(),
    };
    let (status, reply) = (stub.respond)(&req);
    stub.log.lock().expect("log").push(req);
    (
        StatusCode::from_u16(status).expect("status"),
        [("content-type", "application/json")],
        reply.to_string(),
    )
}

/// A stub cluster; returns its base URL and the request log.
async fn stub(
    respond: impl Fn(&Req) -> (u16, Value) + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<Req>>>) {
    let log = Arc::new(Mutex::new(vec![]));
    let state = Stub {
        log: log.clone(),
        respond: Arc::new(respond),
    };
    let app = Router::new().fallback(record).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    (format!("http://{addr}"), log)
}

fn taken(log: &Arc<Mutex<Vec<Req>>>) -> Vec<Req> {
    std::mem::take(&mut *log.lock().expect("log"))
}

fn index_missing() -> (u16, Value) {
    (
        404,
        json!({"error": {"type": "index_not_found_exception", "reason": "no such index"}, "status": 404}),
    )
}

fn chunk(t: &str, ds: &str, doc: &str, pos: i64, content: &str, vector: &[f32]) -> ChunkRecord {
    let mut c = sample_chunk(t, ds, doc, pos, content);
    c.vector = vector.to_vec();
    c.create_time = 1_700_000_000_000;
    c
}

/// What a chunk looks like in `_source`.
fn source(c: &ChunkRecord) -> Value {
    let mut v = json!({
        "tenant_id": c.tenant_id,
        "dataset_id": c.dataset_id,
        "document_id": c.document_id,
        "document_name": c.document_name,
        "content": c.content,
        "important_keywords": c.important_keywords,
        "questions": c.questions,
        "available": c.available,
        "positions": c.positions,
        "image_id": c.image_id,
        "doc_type": c.doc_type,
        "position": c.position,
        "token_count": c.token_count,
        "create_time": c.create_time,
        "generation": c.generation,
        "chunk_id": c.id,
    });
    if !c.vector.is_empty() {
        v[format!("vector_{}", c.vector.len())] = json!(c.vector);
    }
    v
}

fn hit(c: &ChunkRecord, score: f64) -> Value {
    let mut src = source(c);
    if let Some(m) = src.as_object_mut() {
        m.retain(|k, _| !k.starts_with("vector_"));
    }
    json!({"_index": "x", "_id": c.id, "_score": score, "_source": src})
}

fn hits(list: Vec<Value>) -> Value {
    json!({"hits": {"total": {"value": list.len(), "relation": "eq"}, "hits": list}})
}

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
async fn hybrid_search_unions_and_completes_both_scores() {
    let (t, ds, doc) = ("t1", "ds1", "doc1");
    let fox = chunk(t, ds, doc, 0, "the quick brown fox", &[1.0, 0.0, 0.0, 0.0]);
    let dog = chunk(t, ds, doc, 1, "a lazy dog", &[0.0, 1.0, 0.0, 0.0]);
    let both = chunk(t, ds, doc, 2, "fox and dog", &[0.6, 0.8, 0.0, 0.0]);
    let (fox2, dog2, both2) = (fox.clone(), dog.clone(), both.clone());
    let (url, log) = stub(move |r| {
        let body = r.json();
        match (r.method.as_str(), r.path.as_str()) {
            ("GET", p) if p.ends_with("/_mapping") => (
                200,
                json!({"lambdarag-chunks-t1": {"mappings": {"properties": {"vector_4": {"type": "knn_vector"}}}}}),
            ),
            ("POST", "/lambdarag-chunks-t1/_search") => {
                if body["query"].get("knn").is_some() {
                    // k-NN: (1 + cos) / 2
                    (200, hits(vec![hit(&dog2, 1.0), hit(&both2, 0.9)]))
                } else if body["query"].get("ids").is_some() {
                    let mut src = source(&fox2);
                    src.as_object_mut().expect("obj").retain(|k, _| k == "vector_4");
                    (200, hits(vec![json!({"_id": fox2.id, "_score": 1.0, "_source": src})]))
                } else if body["_source"] == json!(false) {
                    (200, hits(vec![json!({"_id": dog2.id, "_score": 0.5})]))
                } else {
                    (200, hits(vec![hit(&fox2, 2.0), hit(&both2, 1.5)]))
                }
            }
            _ => (500, json!({})),
        }
    })
    .await;
    let index = OpenSearchIndex::new(&url).expect("client");
    let req = SearchRequest {
        dataset_ids: vec![ds.into(), "ds2".into()],
        document_ids: Some(vec![doc.into()]),
        text: "fox fox dog".into(),
        vector: Some(vec![0.0, 1.0, 0.0, 0.0]),
        top_k: 2,
    };
    let found = index.search(t, &req).await.expect("search");
    let scores: Vec<(String, f32, f32)> = found
        .iter()
        .map(|h| (h.chunk.content.clone(), h.term_score, h.vector_score))
        .collect();
    assert_eq!(
        scores,
        vec![
            ("the quick brown fox".to_string(), 2.0, 0.0),
            ("fox and dog".to_string(), 1.5, 0.8),
            ("a lazy dog".to_string(), 0.5, 1.0),
        ],
        "text hits keep their BM25, k-NN scores turn back into cosines, and each \
         candidate's missing score is fetched"
    );
    assert!(found.iter().all(|h| h.chunk.vector.is_empty()));

    let reqs = taken(&log);
    let searches: Vec<Value> = reqs
        .iter()
        .filter(|r| r.path == "/lambdarag-chunks-t1/_search")
        .map(Req::json)
        .collect();
    assert_eq!(searches.len(), 4, "text, k-NN, then the two completions");
    let filters = json!([
        {"term": {"tenant_id": "t1"}},
        {"terms": {"dataset_id": ["ds1", "ds2"]}},
        {"terms": {"document_id": ["doc1"]}}
    ]);
    let text_fields = json!([
        "important_keywords^30",
        "questions^20",
        "document_name^2",
        "content^2"
    ]);
    assert!(
        searches.contains(&json!({
            "size": 2,
            "_source": {"excludes": ["vector_*"]},
            "query": {"bool": {
                "must": [{"multi_match": {"query": "fox dog", "type": "best_fields", "fields": text_fields}}],
                "filter": filters
            }}
        })),
        "the BM25 query (query words deduplicated): {searches:#?}"
    );
    assert!(
        searches.contains(&json!({
            "size": 2,
            "_source": {"excludes": ["vector_*"]},
            "query": {"knn": {"vector_4": {
                "vector": [0.0, 1.0, 0.0, 0.0],
                "k": 2,
                "filter": {"bool": {"filter": filters}}
            }}}
        })),
        "the k-NN query with the same filters: {searches:#?}"
    );
    let mut ids_filters = filters.as_array().expect("array").clone();
    ids_filters.push(json!({"ids": {"values": [dog.id]}}));
    assert!(
        searches.contains(&json!({
            "size": 1,
            "_source": false,
            "query": {"bool": {
                "must": [{"multi_match": {"query": "fox dog", "type": "best_fields", "fields": text_fields}}],
                "filter": ids_filters
            }}
        })),
        "the BM25 score of the vector-only hit: {searches:#?}"
    );
    assert!(
        searches.contains(&json!({
            "size": 1,
            "_source": {"includes": ["vector_4"]},
            "query": {"ids": {"values": [fox.id]}}
        })),
        "the stored vector of the text-only hit: {searches:#?}"
    );
}

/// `_source` of a `search_hits` hit: the id fields only.
fn id_hit(c: &ChunkRecord, score: f64) -> Value {
    json!({"_id": c.id, "_score": score, "_source": {"dataset_id": c.dataset_id, "document_id": c.document_id}})
}

#[tokio::test]
async fn search_hits_filters_unavailable_chunks_and_reads_only_ids() {
    let (t, ds, doc) = ("t1", "ds1", "doc1");
    let fox = chunk(t, ds, doc, 0, "the quick brown fox", &[1.0, 0.0, 0.0, 0.0]);
    let dog = chunk(t, ds, doc, 1, "a lazy dog", &[0.0, 1.0, 0.0, 0.0]);
    let both = chunk(t, ds, "doc2", 2, "fox and dog", &[0.6, 0.8, 0.0, 0.0]);
    let (fox2, dog2, both2) = (fox.clone(), dog.clone(), both.clone());
    let (url, log) = stub(move |r| {
        let body = r.json();
        match (r.method.as_str(), r.path.as_str()) {
            ("GET", p) if p.ends_with("/_mapping") => (
                200,
                json!({"lambdarag-chunks-t1": {"mappings": {"properties": {"vector_4": {"type": "knn_vector"}}}}}),
            ),
            ("POST", "/lambdarag-chunks-t1/_search") => {
                // What the query asks of `_source`: the ids, or (search) whole records.
                let h = if body["_source"].get("includes").is_some() {
                    id_hit
                } else {
                    hit
                };
                if body["query"].get("knn").is_some() {
                    (200, hits(vec![h(&dog2, 1.0), h(&both2, 0.9)]))
                } else if body["query"].get("ids").is_some() {
                    let mut src = source(&fox2);
                    src.as_object_mut().expect("obj").retain(|k, _| k == "vector_4");
                    (200, hits(vec![json!({"_id": fox2.id, "_score": 1.0, "_source": src})]))
                } else if body["_source"] == json!(false) {
                    (200, hits(vec![json!({"_id": dog2.id, "_score": 0.5})]))
                } else {
                    (200, hits(vec![h(&fox2, 2.0), h(&both2, 1.5)]))
                }
            }
            _ => (500, json!({})),
        }
    })
    .await;
    let index = OpenSearchIndex::new(&url).expect("client");
    let req = SearchRequest {
        dataset_ids: vec![ds.into()],
        document_ids: None,
        text: "fox dog".into(),
        vector: Some(vec![0.0, 1.0, 0.0, 0.0]),
        top_k: 2,
    };
    let found = index.search_hits(t, &req).await.expect("search_hits");
    assert_eq!(
        found,
        vec![
            ChunkHit {
                chunk_id: fox.id.as_str().into(),
                dataset_id: ds.into(),
                document_id: doc.into(),
                term_score: 2.0,
                vector_score: 0.0,
            },
            ChunkHit {
                chunk_id: both.id.as_str().into(),
                dataset_id: ds.into(),
                document_id: "doc2".into(),
                term_score: 1.5,
                vector_score: 0.8,
            },
            ChunkHit {
                chunk_id: dog.id.as_str().into(),
                dataset_id: ds.into(),
                document_id: doc.into(),
                term_score: 0.5,
                vector_score: 1.0,
            },
        ],
        "ids from _id and the id fields, both scores completed as search does"
    );

    let reqs = taken(&log);
    let searches: Vec<Value> = reqs
        .iter()
        .filter(|r| r.path == "/lambdarag-chunks-t1/_search")
        .map(Req::json)
        .collect();
    assert_eq!(searches.len(), 4, "text, k-NN, then the two completions");
    let filters = json!([
        {"term": {"tenant_id": "t1"}},
        {"terms": {"dataset_id": ["ds1"]}},
        {"term": {"available": true}}
    ]);
    let ids_only = json!({"includes": ["dataset_id", "document_id"]});
    let text_fields = json!([
        "important_keywords^30",
        "questions^20",
        "document_name^2",
        "content^2"
    ]);
    assert!(
        searches.contains(&json!({
            "size": 2,
            "_source": ids_only,
            "query": {"bool": {
                "must": [{"multi_match": {"query": "fox dog", "type": "best_fields", "fields": text_fields}}],
                "filter": filters
            }}
        })),
        "the BM25 query, unavailable chunks filtered, only the ids read: {searches:#?}"
    );
    assert!(
        searches.contains(&json!({
            "size": 2,
            "_source": ids_only,
            "query": {"knn": {"vector_4": {
                "vector": [0.0, 1.0, 0.0, 0.0],
                "k": 2,
                "filter": {"bool": {"filter": filters}}
            }}}
        })),
        "the k-NN query with the same filters: {searches:#?}"
    );
    let mut ids_filters = filters.as_array().expect("array").clone();
    ids_filters.push(json!({"ids": {"values": [dog.id]}}));
    assert!(
        searches.contains(&json!({
            "size": 1,
            "_source": false,
            "query": {"bool": {
                "must": [{"multi_match": {"query": "fox dog", "type": "best_fields", "fields": text_fields}}],
                "filter": ids_filters
            }}
        })),
        "the BM25 score of the vector-only hit: {searches:#?}"
    );
    assert!(
        searches.contains(&json!({
            "size": 1,
            "_source": {"includes": ["vector_4"]},
            "query": {"ids": {"values": [fox.id]}}
        })),
        "the stored vector of the text-only hit: {searches:#?}"
    );

    // The same request through `search` filters nothing and reads whole records.
    let _ = index.search(t, &req).await.expect("search");
    let reqs = taken(&log);
    assert!(
        reqs.iter()
            .map(Req::json)
            .filter(|b| b.get("size") == Some(&json!(2)))
            .all(|b| b["_source"] == json!({"excludes": ["vector_*"]})
                && !b.to_string().contains("available")),
        "search is unchanged"
    );
}

#[tokio::test]
async fn get_chunks_is_one_mget_in_the_order_asked() {
    let a = chunk("t1", "ds1", "doc1", 0, "alpha", &[]);
    let b = chunk("t1", "ds1", "doc1", 1, "bravo", &[]);
    let elsewhere = chunk("t1", "ds2", "doc1", 0, "charlie", &[]);
    let (a2, b2, e2) = (a.clone(), b.clone(), elsewhere.clone());
    let (url, log) = stub(move |r| match (r.method.as_str(), r.path.as_str()) {
        ("POST", p) if p.starts_with("/lambdarag-chunks-gone/") => index_missing(),
        ("POST", p) if p.starts_with("/lambdarag-chunks-t1/_mget") => {
            let doc = |c: &ChunkRecord| {
                json!({"_index": "lambdarag-chunks-t1", "_id": c.id, "found": true, "_source": source(c)})
            };
            (
                200,
                json!({"docs": [
                    doc(&b2),
                    {"_index": "lambdarag-chunks-t1", "_id": "missing", "found": false},
                    doc(&a2),
                    doc(&e2),
                ]}),
            )
        }
        _ => (500, json!({})),
    })
    .await;
    let index = OpenSearchIndex::new(&url).expect("client");
    let pair = |c: &ChunkRecord| (c.dataset_id.clone(), c.id.clone());
    let asked = vec![
        pair(&a),
        ("ds1".to_string(), "missing".to_string()),
        ("ds1".to_string(), elsewhere.id.clone()),
        pair(&b),
        pair(&a),
    ];
    let got = index.get_chunks("t1", &asked).await.expect("get_chunks");
    assert_eq!(
        got,
        vec![a.clone(), b.clone(), a.clone()],
        "in the order asked; missing ids and a chunk of another dataset left out"
    );
    let reqs = taken(&log);
    assert_eq!(
        reqs.iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect::<Vec<_>>(),
        vec!["POST /lambdarag-chunks-t1/_mget?_source_excludes=vector_*"]
    );
    let mut want_ids = vec![
        a.id.clone(),
        b.id.clone(),
        elsewhere.id.clone(),
        "missing".into(),
    ];
    want_ids.sort();
    assert_eq!(
        reqs[0].json(),
        json!({"ids": want_ids}),
        "each id once, in one request"
    );

    assert!(index.get_chunks("t1", &[]).await.expect("none").is_empty());
    assert!(taken(&log).is_empty(), "no ids, no request");
    assert!(
        index
            .get_chunks("gone", &asked)
            .await
            .expect("a missing index")
            .is_empty(),
        "a tenant without an index has no chunks"
    );
}

#[tokio::test]
async fn search_edge_cases_send_nothing_or_skip_missing_parts() {
    let (url, log) = stub(|r| match (r.method.as_str(), r.path.as_str()) {
        ("GET", p) if p.ends_with("/_mapping") => index_missing(),
        ("POST", p) if p.ends_with("/_search") => index_missing(),
        _ => (500, json!({})),
    })
    .await;
    let index = OpenSearchIndex::new(&url).expect("client");
    let base = SearchRequest {
        dataset_ids: vec!["d".into()],
        document_ids: None,
        text: "hello".into(),
        vector: None,
        top_k: 5,
    };
    for req in [
        SearchRequest {
            top_k: 0,
            ..base.clone()
        },
        SearchRequest {
            dataset_ids: vec![],
            ..base.clone()
        },
        SearchRequest {
            document_ids: Some(vec![]),
            ..base.clone()
        },
        SearchRequest {
            text: "   ".into(),
            ..base.clone()
        },
    ] {
        assert!(index.search("t", &req).await.expect("search").is_empty());
    }
    assert!(taken(&log).is_empty(), "nothing to search sends nothing");
    let req = SearchRequest {
        vector: Some(vec![1.0, 0.0]),
        ..base.clone()
    };
    assert!(
        index.search("t", &req).await.expect("search").is_empty(),
        "a tenant without an index finds nothing"
    );
    let reqs = taken(&log);
    assert_eq!(
        reqs.iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect::<Vec<_>>(),
        vec![
            "GET /lambdarag-chunks-t/_mapping",
            "POST /lambdarag-chunks-t/_search"
        ],
        "no k-NN query without a vector field of the query's size"
    );
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

/// The real cluster from `OPENSEARCH_URL` (e.g. started by `tests/aws/opensearch.sh`),
/// checked to answer, or `None`: the test is skipped with a message. A URL that is set but
/// does not answer fails the test, and so does a missing one when
/// `LAMBDARAG_REQUIRE_OPENSEARCH` is set (CI), as `LAMBDARAG_REQUIRE_MOTO` does for moto.
async fn real_cluster(test: &str) -> Option<String> {
    let required = std::env::var("LAMBDARAG_REQUIRE_OPENSEARCH")
        .map(|v| !v.is_empty() && v != "0")
        .unwrap_or(false);
    let Some(url) = std::env::var("OPENSEARCH_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        assert!(
            !required,
            "LAMBDARAG_REQUIRE_OPENSEARCH is set but OPENSEARCH_URL is not: start a node with \
             `eval \"$(tests/aws/opensearch.sh start)\"`"
        );
        eprintln!(
            "SKIPPED {test}: OPENSEARCH_URL is not set (start a node with \
             tests/aws/opensearch.sh, or point it at an OpenSearch 2.x cluster with k-NN)"
        );
        return None;
    };
    let url = url.trim_end_matches('/').to_string();
    let health = reqwest::Client::new()
        .get(format!("{url}/_cluster/health"))
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await;
    match health {
        Ok(r) if r.status().is_success() => Some(url),
        Ok(r) => panic!(
            "OPENSEARCH_URL={url} answers /_cluster/health with {}",
            r.status()
        ),
        Err(e) => panic!(
            "OPENSEARCH_URL={url} does not answer: {e} (start a node with \
             `eval \"$(tests/aws/opensearch.sh start)\"`)"
        ),
    }
}

/// An index client on the real cluster with a prefix of its own (tests run in parallel
/// against one cluster, and others may use it too), and the prefix.
fn real_index(url: &str) -> (OpenSearchIndex, String) {
    let prefix = format!("lambdarag-test-{}-", &new_id()[..12]);
    let index = OpenSearchIndex::new(url)
        .expect("client")
        .with_index_prefix(prefix.clone());
    (index, prefix)
}

/// Best-effort clean-up of a test's indices.
async fn drop_indices(url: &str, prefix: &str) {
    let _ = reqwest::Client::new()
        .delete(format!("{url}/{prefix}*"))
        .send()
        .await;
}

/// The shared suite against a real cluster, when one is configured.
#[tokio::test]
async fn opensearch_index_passes_the_conformance_suite() {
    let Some(url) = real_cluster("opensearch_index_passes_the_conformance_suite").await else {
        return;
    };
    let (index, prefix) = real_index(&url);
    lambdarag::ports::conformance_index::run_all(&index).await;
    drop_indices(&url, &prefix).await;
}

fn search_req(ds: &str, text: &str, vector: Option<&[f32]>) -> SearchRequest {
    SearchRequest {
        dataset_ids: vec![ds.to_string()],
        document_ids: None,
        text: text.into(),
        vector: vector.map(<[f32]>::to_vec),
        top_k: 10,
    }
}

/// What the real engine refuses that a stub never would: a query that analyses into more
/// than 1024 clauses (four text fields per token). A long question in Chinese or Japanese
/// is one whitespace "word" of one token per character; hyphens and long runs of letters
/// split words too.
#[tokio::test]
async fn real_cluster_accepts_long_queries_in_any_script() {
    let Some(url) = real_cluster("real_cluster_accepts_long_queries_in_any_script").await else {
        return;
    };
    let (index, prefix) = real_index(&url);
    let (t, ds, doc) = (new_id(), new_id(), new_id());
    let han: Vec<char> = (0..1000u32)
        .filter_map(|i| char::from_u32(0x4e00 + i))
        .collect();
    let cjk: String = han.iter().collect();
    let first: String = han[..10].iter().collect();
    let c = chunk(&t, &ds, &doc, 0, &first, &[]);
    index
        .upsert(&t, std::slice::from_ref(&c))
        .await
        .expect("upsert");
    let hyphenated: String = (0..300).map(|i| format!("w{i}-x{i}-y{i}-z{i} ")).collect();
    let long_run = "abcdefghij".repeat(30_000);
    let mut mixed = String::new();
    for i in 0..400 {
        let three: String = han[i % 300..i % 300 + 3].iter().collect();
        mixed.push_str(&format!("{three}ひらがなカタカナ{i}🙂"));
        mixed.push(' ');
    }
    for (name, text) in [
        ("1000 CJK characters", cjk.as_str()),
        ("300 hyphenated words", hyphenated.as_str()),
        ("one 300k-letter word", long_run.as_str()),
        ("mixed scripts and emoji", mixed.as_str()),
    ] {
        let hits = index
            .search(&t, &search_req(&ds, text, None))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        if name == "1000 CJK characters" {
            assert!(
                hits.iter()
                    .any(|h| h.chunk.id == c.id && h.term_score > 0.0),
                "{name}: the chunk with the first characters is found"
            );
        }
        index
            .search_hits(&t, &search_req(&ds, text, None))
            .await
            .unwrap_or_else(|e| panic!("{name}: search_hits: {e}"));
        let q = ChunkListQuery {
            keywords: Some(text.into()),
            page: 1,
            page_size: 10,
        };
        index
            .list_document(&t, &ds, &doc, &q)
            .await
            .unwrap_or_else(|e| panic!("{name}: list_document: {e}"));
    }
    drop_indices(&url, &prefix).await;
}

/// The k-NN plugin refuses an all-zero vector for cosine similarity, which would fail the
/// whole batch; such a chunk is stored without a vector (its cosine with anything is 0).
#[tokio::test]
async fn real_cluster_stores_a_zero_vector_chunk_without_its_vector() {
    let Some(url) =
        real_cluster("real_cluster_stores_a_zero_vector_chunk_without_its_vector").await
    else {
        return;
    };
    let (index, prefix) = real_index(&url);
    let (t, ds, doc) = (new_id(), new_id(), new_id());
    let zero = chunk(&t, &ds, &doc, 0, "zero vector here", &[0.0; 4]);
    let unit = chunk(&t, &ds, &doc, 1, "unit vector here", &[1.0, 0.0, 0.0, 0.0]);
    index
        .upsert(&t, &[zero.clone(), unit.clone()])
        .await
        .expect("a zero vector does not fail the batch");
    let got = index.get(&t, &ds, &zero.id).await.expect("get");
    assert_eq!(got.map(|c| c.content), Some(zero.content.clone()));
    let hits = index
        .search(&t, &search_req(&ds, "vector", Some(&[1.0, 0.0, 0.0, 0.0])))
        .await
        .expect("search");
    let z = hits
        .iter()
        .find(|h| h.chunk.id == zero.id)
        .expect("text hit");
    assert_eq!(z.vector_score, 0.0, "a zero vector's cosine is 0");
    let u = hits
        .iter()
        .find(|h| h.chunk.id == unit.id)
        .expect("both hit");
    assert!((u.vector_score - 1.0).abs() < 1e-4);
    drop_indices(&url, &prefix).await;
}

/// An index made by a write without vectors gets its vector fields later, also from
/// another client whose cache has not seen them; concurrent first writes of one tenant
/// (two functions) create the index once and lose nothing.
#[tokio::test]
async fn real_cluster_adds_vector_fields_later_and_survives_concurrent_creation() {
    let Some(url) =
        real_cluster("real_cluster_adds_vector_fields_later_and_survives_concurrent_creation")
            .await
    else {
        return;
    };
    let (index, prefix) = real_index(&url);
    let other = OpenSearchIndex::new(&url)
        .expect("client")
        .with_index_prefix(prefix.clone());
    let (t, ds, doc) = (new_id(), new_id(), new_id());
    let plain = chunk(&t, &ds, &doc, 0, "no vector yet", &[]);
    index.upsert(&t, &[plain]).await.expect("upsert");
    let four = chunk(&t, &ds, &doc, 1, "four dims", &[0.0, 1.0, 0.0, 0.0]);
    index
        .upsert(&t, std::slice::from_ref(&four))
        .await
        .expect("upsert 4");
    let eight = chunk(&t, &ds, &doc, 2, "eight dims", &[0.5; 8]);
    other
        .upsert(&t, std::slice::from_ref(&eight))
        .await
        .expect("upsert 8");
    for (q, want) in [(vec![0.0, 1.0, 0.0, 0.0], &four), (vec![0.5; 8], &eight)] {
        let hits = index
            .search(&t, &search_req(&ds, "", Some(&q)))
            .await
            .expect("search");
        assert_eq!(
            hits.iter().map(|h| h.chunk.id.clone()).collect::<Vec<_>>(),
            vec![want.id.clone()],
            "vectors of {} dimensions are searchable",
            q.len()
        );
    }

    let t2 = new_id();
    let a: Vec<ChunkRecord> = (0..20)
        .map(|i| chunk(&t2, &ds, &doc, i, "from a", &[1.0, 0.0, 0.0, 0.0]))
        .collect();
    let b: Vec<ChunkRecord> = (20..40)
        .map(|i| chunk(&t2, &ds, &doc, i, "from b", &[0.0, 0.0, 1.0]))
        .collect();
    let (ra, rb) = tokio::join!(index.upsert(&t2, &a), other.upsert(&t2, &b));
    ra.expect("first writer");
    rb.expect("second writer");
    let (_, total) = index
        .list_document(
            &t2,
            &ds,
            &doc,
            &ChunkListQuery {
                keywords: None,
                page: 1,
                page_size: 0,
            },
        )
        .await
        .expect("list");
    assert_eq!(total, 40, "both writers' chunks are there");
    drop_indices(&url, &prefix).await;
}
