use super::*;

fn q(pairs: &[(&str, i64)]) -> Qrels {
    pairs.iter().map(|(d, g)| (d.to_string(), *g)).collect()
}

fn r(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn ndcg_perfect_and_missing() {
    let rel = q(&[("a", 1)]);
    assert!(close(ndcg_at_k(&r(&["a", "b"]), &rel, 10), 1.0));
    assert!(close(ndcg_at_k(&r(&["b", "c"]), &rel, 10), 0.0));
    assert!(close(ndcg_at_k(&[], &rel, 10), 0.0));
    // No relevant document judged: 0, not NaN.
    assert!(close(ndcg_at_k(&r(&["a"]), &q(&[("a", 0)]), 10), 0.0));
}

#[test]
fn ndcg_hand_computed() {
    // One relevant doc at rank 2: (1/log2 3) / (1/log2 2) = 0.630930.
    let rel = q(&[("a", 1)]);
    assert!(close(
        ndcg_at_k(&r(&["x", "a"]), &rel, 10),
        1.0 / 3f64.log2()
    ));
    // Two relevant, found at ranks 1 and 3:
    // DCG = 1 + 1/log2 4 = 1.5; IDCG = 1 + 1/log2 3 = 1.630930 → 0.919721.
    let rel = q(&[("a", 1), ("b", 1)]);
    let got = ndcg_at_k(&r(&["a", "x", "b"]), &rel, 10);
    assert!(close(got, 1.5 / (1.0 + 1.0 / 3f64.log2())));
    assert!((got - 0.919721).abs() < 1e-6);
    // Graded: a=2, b=1, ranked b, a. DCG = 1 + 2/log2 3 = 2.261860;
    // IDCG = 2 + 1/log2 3 = 2.630930 → 0.859719 (linear gain, as trec_eval).
    let rel = q(&[("a", 2), ("b", 1)]);
    let got = ndcg_at_k(&r(&["b", "a"]), &rel, 10);
    assert!((got - 0.859719).abs() < 1e-6, "{got}");
}

#[test]
fn ndcg_cuts_at_k_and_ignores_repeats() {
    let rel = q(&[("a", 1)]);
    let mut ranked: Vec<String> = (0..10).map(|i| format!("x{i}")).collect();
    ranked.push("a".into()); // rank 11
    assert!(close(ndcg_at_k(&ranked, &rel, 10), 0.0));
    // A repeat does not push the relevant document down, nor count twice.
    assert!(close(
        ndcg_at_k(&r(&["x", "x", "a"]), &rel, 10),
        1.0 / 3f64.log2()
    ));
    assert!(close(ndcg_at_k(&r(&["a", "a"]), &rel, 10), 1.0));
}

#[test]
fn recall_hand_computed() {
    let rel = q(&[("a", 1), ("b", 1), ("c", 0)]);
    assert!(close(recall_at_k(&r(&["a", "z", "b"]), &rel, 100), 1.0));
    assert!(close(recall_at_k(&r(&["a", "c"]), &rel, 100), 0.5));
    assert!(close(recall_at_k(&r(&["a", "z", "b"]), &rel, 2), 0.5));
    assert!(close(recall_at_k(&r(&["a", "a", "b"]), &rel, 2), 1.0));
    assert!(close(recall_at_k(&r(&["a"]), &q(&[]), 100), 0.0));
}

#[test]
fn quality_averages_over_judged_queries() {
    let qrels: HashMap<String, Qrels> = [
        ("q1".to_string(), q(&[("a", 1)])),
        ("q2".to_string(), q(&[("b", 1)])),
    ]
    .into_iter()
    .collect();
    // q1 perfect, q2 has no run at all.
    let runs: HashMap<String, Vec<String>> = [("q1".to_string(), r(&["a"]))].into();
    let (n, rec) = quality(&runs, &qrels);
    assert!(close(n, 0.5));
    assert!(close(rec, 0.5));
}

#[test]
fn paired_delta_hand_computed() {
    let m = |v: &[(&str, f64)]| -> HashMap<String, f64> {
        v.iter().map(|(q, x)| (q.to_string(), *x)).collect()
    };
    // Differences 0.2, 0.0, 0.1: mean 0.1, sample sd 0.1, SE 0.1/√3.
    let a = m(&[("q1", 0.5), ("q2", 0.5), ("q3", 0.5)]);
    let b = m(&[("q1", 0.7), ("q2", 0.5), ("q3", 0.6)]);
    let (d, se) = paired_delta(&a, &b);
    assert!(close(d, 0.1));
    assert!((se - 0.1 / 3f64.sqrt()).abs() < 1e-9);
}

#[test]
fn percentiles_nearest_rank() {
    let v: Vec<f64> = (1..=100).map(f64::from).collect();
    assert!(close(percentile(&v, 0.5), 50.0));
    assert!(close(percentile(&v, 0.99), 99.0));
    assert!(close(percentile(&v, 1.0), 100.0));
    assert!(close(percentile(&[7.0], 0.99), 7.0));
    assert!(percentile(&[], 0.5).is_nan());
}

#[test]
fn min_max_and_rrf_ranks() {
    assert_eq!(min_max(&[2.0, 4.0, 3.0]), vec![0.0, 1.0, 0.5]);
    assert_eq!(min_max(&[1.0, 1.0]), vec![0.0, 0.0]);
    assert_eq!(ranks(&[0.5, 0.0, 0.9]), vec![Some(2), None, Some(1)]);
}

fn cand(id: &str, term: f32, vector: f32) -> ScoredChunk {
    let chunk: lambdarag::domain::ChunkRecord = serde_json::from_value(json!({
        "id": id, "tenant_id": "t", "dataset_id": "d", "document_id": id,
        "document_name": format!("{id}.txt"), "content": "", "important_keywords": [],
        "questions": [], "available": true, "positions": [], "image_id": "",
        "doc_type": "", "position": 0, "token_count": 0, "create_time": 0,
        "generation": 1, "vector": []
    }))
    .unwrap();
    ScoredChunk {
        chunk,
        term_score: term,
        vector_score: vector,
    }
}

#[test]
fn fusions_hand_computed() {
    // BM25 10, 5, 0; cosine 0.2, 0.6, 0.4.
    let c = vec![
        cand("a", 10.0, 0.2),
        cand("b", 5.0, 0.6),
        cand("c", 0.0, 0.4),
    ];
    let got = |how| -> Vec<f32> {
        fuse(&c, 0.5, how)
            .into_iter()
            .map(|s| s.unwrap_or(f32::NAN))
            .collect()
    };
    let near = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6);
    // current: 0.5·(1, 0.5, 0) + 0.5·(0.2, 0.6, 0.4)
    assert!(near(&got(Fusion::Current), &[0.6, 0.55, 0.2]));
    // min-max: 0.5·(1, 0.5, 0) + 0.5·(0, 1, 0.5)
    assert!(near(&got(Fusion::MinMax), &[0.5, 0.75, 0.25]));
    // BM25/max + cosine/max: 0.5·(1, 0.5, 0) + 0.5·(1/3, 1, 2/3)
    assert!(near(
        &got(Fusion::MaxBoth),
        &[0.5 + 0.5 / 3.0, 0.75, 1.0 / 3.0]
    ));
    // top-1 of each: a (BM25) and b (vector) kept, c dropped; over {a, b} both
    // scores min-max to (1, 0) and (0, 1).
    let top1 = fuse(&c, 0.5, Fusion::MinMaxTop(1));
    assert_eq!(top1, vec![Some(0.5), Some(0.5), None]);
    // top-1 lists with missing = 0: a gets 0.5·1 + 0, b gets 0 + 0.5·1.
    let zero = fuse(&c, 0.5, Fusion::MinMaxTopZero(1));
    assert_eq!(zero, vec![Some(0.5), Some(0.5), None]);
    // RRF: a = 0.5/61 + 0.5/63, b = 0.5/62 + 0.5/61, c = 0 + 0.5/62.
    let rrf = got(Fusion::Rrf);
    assert!(near(
        &rrf,
        &[0.5 / 61.0 + 0.5 / 63.0, 0.5 / 62.0 + 0.5 / 61.0, 0.5 / 62.0]
    ));
    assert_eq!(order_by(&c, &fuse(&c, 0.5, Fusion::MinMax)), vec![1, 0, 2]);
}

#[test]
fn title_names_fit_the_limit() {
    assert_eq!(title_name("A/B test", "7"), "A B test.txt");
    assert_eq!(title_name("  ", "7"), "7.txt");
    let long = "é".repeat(300);
    let n = title_name(&long, "7");
    assert!(n.len() <= 255 && n.ends_with(".txt"));
}
