//! The built-in embedder against known values. Needs the weights (`scripts/fetch-model.sh`);
//! skipped with a message when they are absent, unless `LAMBDARAG_REQUIRE_MODEL=1`.
#![cfg(feature = "builtin")]

use std::path::PathBuf;
use std::sync::Arc;

use lambdarag::domain::models::{default_chat_id, default_embedding_id};
use lambdarag::domain::Tenant;
use lambdarag::ports::{Embedder, EmbedderRegistry, ModelError};
use lambdarag_models::{
    BuiltinEmbedder, ModelRegistry, Precision, BUILTIN_DIMENSION, MODEL_DIR_ENV,
};

/// The workspace's `data/` (where `scripts/fetch-model.sh` puts the model by default).
fn workspace_data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data")
}

fn model_dir() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(d) = std::env::var_os(MODEL_DIR_ENV) {
        candidates.push(PathBuf::from(d).join("all-MiniLM-L6-v2"));
    }
    candidates.push(workspace_data_dir().join("models/all-MiniLM-L6-v2"));
    let found = candidates
        .iter()
        .find(|d| d.join("model.safetensors").is_file())
        .cloned();
    if found.is_none() {
        if std::env::var("LAMBDARAG_REQUIRE_MODEL").as_deref() == Ok("1") {
            panic!("LAMBDARAG_REQUIRE_MODEL=1 but the model is not in {candidates:?}; run scripts/fetch-model.sh");
        }
        eprintln!(
            "SKIPPED: all-MiniLM-L6-v2 weights not found in {candidates:?}; run scripts/fetch-model.sh"
        );
    }
    found
}

fn embedder() -> Option<BuiltinEmbedder> {
    model_dir().map(BuiltinEmbedder::from_dir)
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn strings(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn matches_the_reference_vector() {
    let Some(e) = embedder() else { return };
    // f32 promises sentence-transformers' values; int8 (below) their direction.
    let e = e.with_precision(Precision::F32);
    let v = e
        .embed(&strings(&["This is an example sentence"]))
        .await
        .unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].len(), BUILTIN_DIMENSION);
    let reference = [
        0.06766, 0.06350, 0.04871, 0.07930, 0.03745, 0.00265, 0.03938, -0.00710,
    ];
    for (i, (got, want)) in v[0].iter().zip(reference).enumerate() {
        assert!(
            (got - want).abs() < 1e-4,
            "dim {i}: got {got}, want {want} (first 8: {:?})",
            &v[0][..8]
        );
    }
    let norm: f32 = v[0].iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
    assert_eq!(e.model_id(), "all-MiniLM-L6-v2@Builtin");
}

#[tokio::test]
async fn int8_points_where_f32_does() {
    let Some(dir) = model_dir() else { return };
    let texts = strings(&[
        "This is an example sentence",
        "",
        "How do I reset my password?",
        "The quarterly report shows revenue growth in European markets while costs \
         remained stable, and the board approved the dividend.",
    ]);
    let exact = BuiltinEmbedder::from_dir(&dir).with_precision(Precision::F32);
    let int8 = BuiltinEmbedder::from_dir(&dir).with_precision(Precision::Int8);
    let (want, got) = (
        exact.embed(&texts).await.unwrap(),
        int8.embed(&texts).await.unwrap(),
    );
    // On a CPU without AVX-512 VNNI this is f32 against f32, which holds too.
    eprintln!("int8 ran as {:?}", int8.loaded_precision());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        let c = cosine(g, w);
        eprintln!("text {i}: cosine(int8, f32) = {c:.5}");
        assert!(c > 0.98, "text {i}: cosine {c}");
        let norm: f32 = g.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
    }
}

#[tokio::test]
async fn similar_meanings_are_close_and_unrelated_far() {
    let Some(e) = embedder() else { return };
    let v = e
        .embed(&strings(&[
            "The cat sits on the mat.",
            "A cat is sitting on a rug.",
            "Quarterly revenue grew by twelve percent.",
            "How do I reset my password?",
            "I forgot my password and need to change it.",
            "The volcano erupted, covering the village in ash.",
        ]))
        .await
        .unwrap();
    let paraphrases = [(0, 1), (3, 4)];
    let unrelated = [(0, 2), (0, 3), (2, 5), (1, 4), (3, 5), (2, 4)];
    for (a, b) in paraphrases {
        let c = cosine(&v[a], &v[b]);
        eprintln!("paraphrases {a},{b}: {c:.3}");
        assert!(c > 0.6, "paraphrases {a},{b}: cosine {c}");
    }
    for (a, b) in unrelated {
        let c = cosine(&v[a], &v[b]);
        eprintln!("unrelated {a},{b}: {c:.3}");
        assert!(c < 0.3, "unrelated {a},{b}: cosine {c}");
    }
}

#[tokio::test]
async fn batched_equals_one_by_one() {
    let Some(e) = embedder() else { return };
    // Batch size 3 with mixed lengths: several padded batches, reordered by length.
    let e = e.with_batch_size(3);
    let long = "retrieval augmented generation pipeline ".repeat(120); // > 256 tokens
    let texts = strings(&[
        "short",
        "A somewhat longer sentence about embedding models and padding masks.",
        "",
        long.as_str(),
        "Rust is a systems programming language.",
        "one two",
        "The quick brown fox jumps over the lazy dog, again and again, until it tires.",
    ]);
    let batched = e.embed(&texts).await.unwrap();
    assert_eq!(batched.len(), texts.len());
    for (i, text) in texts.iter().enumerate() {
        let single = e.embed(std::slice::from_ref(text)).await.unwrap();
        let max_diff = single[0]
            .iter()
            .zip(&batched[i])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        eprintln!("text {i}: max |batched - single| = {max_diff:e}");
        assert!(max_diff < 1e-4, "text {i}: batched differs by {max_diff}");
    }
    assert!(e.embed(&[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn registry_finds_the_model_under_the_data_dir() {
    if model_dir().is_none() {
        return;
    }
    let registry = ModelRegistry::new(Some(workspace_data_dir()));
    let tenant = Tenant {
        id: "t".into(),
        name: "t".into(),
        embd_id: default_embedding_id(),
        llm_id: default_chat_id(),
        tts_id: String::new(),
        asr_id: String::new(),
        providers: vec![],
        create_time: 0,
    };
    let e: Arc<dyn Embedder> = registry
        .embedder(&tenant, "all-MiniLM-L6-v2@Builtin")
        .unwrap();
    let v = e.embed(&strings(&["hello world"])).await.unwrap();
    assert_eq!(v[0].len(), BUILTIN_DIMENSION);
    assert!(registry.builtin().find_model_dir().is_some());
}

#[tokio::test]
async fn missing_weights_say_how_to_fetch_them() {
    let e = BuiltinEmbedder::from_dir("/nonexistent/lambdarag-model-dir");
    match e.embed(&strings(&["x"])).await {
        Err(ModelError::Unavailable(id, why)) => {
            assert_eq!(id, "all-MiniLM-L6-v2@Builtin");
            assert!(why.contains("scripts/fetch-model.sh"), "{why}");
            assert!(why.contains("/nonexistent/lambdarag-model-dir"), "{why}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}
