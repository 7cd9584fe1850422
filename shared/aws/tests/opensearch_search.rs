//! `OpenSearchIndex` searches: the exact requests hybrid search, id-only search and mget
//! send to a stub cluster (`opensearch_support`), and how their replies are read.

mod opensearch_support;

use serde_json::{json, Value};

use lambdarag::domain::ChunkRecord;
use lambdarag::ports::{ChunkHit, ChunkIndex, SearchRequest};
use lambdarag_aws::OpenSearchIndex;
use opensearch_support::*;

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
