use super::*;
use crate::domain::{ChunkRecord, RunStatus};
use serde_json::json;

fn doc(id: &str, status: &str) -> Document {
    Document {
        id: id.into(),
        tenant_id: "t".into(),
        dataset_id: "d".into(),
        name: format!("{id}.txt"),
        location: String::new(),
        size: 0,
        suffix: "txt".into(),
        doc_type: "doc".into(),
        chunk_method: "naive".into(),
        pipeline_id: None,
        parser_config: json!({}),
        source_type: "local".into(),
        created_by: "t".into(),
        thumbnail: None,
        token_count: 0,
        chunk_count: 0,
        progress: 1.0,
        progress_msg: String::new(),
        process_begin_at: None,
        process_duration: 0.0,
        meta_fields: json!({}),
        run: RunStatus::Done,
        status: status.into(),
        create_time: 0,
        update_time: 0,
        generation: 1,
    }
}

fn cand(id: &str, doc: &str, term: f32, vector: f32) -> ScoredChunk {
    ScoredChunk {
        chunk: ChunkRecord {
            id: id.into(),
            tenant_id: "t".into(),
            dataset_id: "d".into(),
            document_id: doc.into(),
            document_name: format!("{doc}.txt"),
            content: "solar panels convert light".into(),
            important_keywords: vec![],
            questions: vec![],
            available: true,
            positions: vec![],
            image_id: String::new(),
            doc_type: String::new(),
            tag_kwd: vec![],
            tag_feas: Default::default(),
            raptor_kwd: String::new(),
            position: 0,
            token_count: 4,
            create_time: 0,
            generation: 1,
            vector: vec![],
        },
        term_score: term,
        vector_score: vector,
    }
}

#[test]
fn fuses_thresholds_pages_and_aggregates() {
    let docs: HashMap<String, Document> = [doc("a", "1"), doc("b", "1"), doc("off", "0")]
        .into_iter()
        .map(|d| (d.id.clone(), d))
        .collect();
    let req = RetrievalRequest {
        question: "solar".into(),
        page_size: 2,
        highlight: true,
        ..Default::default()
    };
    let r = rank(
        vec![
            cand("c1", "a", 10.0, 0.9),
            cand("c2", "a", 5.0, 0.1),
            cand("c3", "b", 0.0, 0.2),
            cand("c4", "off", 10.0, 1.0),
        ],
        &docs,
        &req,
    );
    // c1: 0.7*1 + 0.3*0.9 = 0.97; c2: 0.7*0.5 + 0.03 = 0.38; c3: 0.06 < 0.2; c4 disabled.
    assert_eq!(r.total, 2);
    assert_eq!(r.hits[0].scored.chunk.id, "c1");
    assert!((r.hits[0].similarity - 0.97).abs() < 1e-5);
    assert!((r.hits[1].term_similarity - 0.5).abs() < 1e-6);
    assert_eq!(r.doc_aggs, vec![("a".into(), "a.txt".into(), 2)]);
    assert_eq!(
        r.hits[0].highlight.as_deref(),
        Some("<em>solar</em> panels convert light")
    );
    let v = serde_json::to_value(reply_for(&r, &req)).expect("reply");
    assert_eq!(v["chunks"][0]["document_keyword"], "a.txt");
    assert_eq!(v["doc_aggs"][0]["count"], 2);
}

#[test]
fn window_follows_upstream_paging() {
    // page_size 30: R = max(30, 3·30) = 90, three pages per window.
    assert_eq!(
        Window::of(1, 30),
        Window {
            size: 90,
            start: 0,
            page_offset: 0
        }
    );
    assert_eq!(Window::of(3, 30).page_offset, 60);
    let w4 = Window::of(4, 30);
    assert_eq!((w4.start, w4.page_offset), (90, 0));
    // page_size 4: R = 64, sixteen pages per window.
    let w5 = Window::of(5, 4);
    assert_eq!((w5.size, w5.start, w5.page_offset), (64, 0, 16));
    let w17 = Window::of(17, 4);
    assert_eq!((w17.start, w17.page_offset), (64, 0));
    // Large pages: the window is the page.
    let big = Window::of(2, 100);
    assert_eq!((big.size, big.start, big.page_offset), (100, 100, 0));
    // Degenerate sizes never divide by zero.
    assert_eq!(Window::of(0, 0).size, 30);
    assert_eq!(Window::of(1, 1).size, 64);
}

#[test]
fn total_counts_the_window_only() {
    let docs: HashMap<String, Document> = [doc("a", "1")]
        .into_iter()
        .map(|d| (d.id.clone(), d))
        .collect();
    // 100 candidates, all passing; page_size 10 → window of 70.
    let cands: Vec<ScoredChunk> = (0..100)
        .map(|i| cand(&format!("c{i:03}"), "a", 100.0 - i as f32, 0.5))
        .collect();
    let req = RetrievalRequest {
        question: "solar".into(),
        page_size: 10,
        similarity_threshold: 0.0,
        ..Default::default()
    };
    let r = rank(cands.clone(), &docs, &req);
    assert_eq!(r.total, 70);
    assert_eq!(r.hits.len(), 10);
    assert_eq!(r.hits[0].scored.chunk.id, "c000");
    // Page 8 is the first page of the second window.
    let r8 = rank(cands, &docs, &RetrievalRequest { page: 8, ..req });
    assert_eq!(r8.total, 30);
    assert_eq!(r8.hits[0].scored.chunk.id, "c070");
    assert_eq!(r8.documents.len(), 1);
}

#[test]
fn validation_messages() {
    let m = |v: Value| v.as_object().cloned().unwrap_or_default();
    assert_eq!(
        validate(&m(json!({}))).unwrap_err().message,
        "`dataset_ids` is required."
    );
    assert_eq!(
        validate(&m(json!({"dataset_ids": "x"})))
            .unwrap_err()
            .message,
        "`dataset_ids` should be a list"
    );
    assert_eq!(
        validate(&m(json!({"dataset_ids": ["x"]})))
            .unwrap_err()
            .message,
        "`question` is required."
    );
    let r = validate(&m(json!({"dataset_ids": ["x"], "question": "q", "rerank_id": null, "cross_languages": null, "metadata_condition": null, "highlight": false}))).unwrap();
    assert!(r.highlight, "JSON false keeps highlighting on, as upstream");
    let r = validate(&m(
        json!({"dataset_ids": ["x"], "question": "q", "highlight": "false"}),
    ))
    .unwrap();
    assert!(!r.highlight);
    assert!(!r.keyword);
    for (v, want) in [
        (json!(true), true),
        (json!("yes"), true),
        (json!(1), true),
        (json!(0), false),
        (json!(""), false),
        (json!(null), false),
    ] {
        let r = validate(&m(
            json!({"dataset_ids": ["x"], "question": "q", "keyword": v}),
        ))
        .unwrap();
        assert_eq!(r.keyword, want, "keyword {v}");
    }
}
