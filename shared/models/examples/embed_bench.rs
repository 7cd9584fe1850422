//! Throughput of the built-in embedder on ~45-token passages, batches of 32.
//!
//! ```text
//! scripts/fetch-model.sh
//! cargo run --release -p lambdarag-models --example embed_bench -- [N]
//! ```
//! Reads the model from `$LAMBDARAG_MODEL_DIR/all-MiniLM-L6-v2` or `./data/models/...`.

use std::path::PathBuf;
use std::time::Instant;

use lambdarag::ports::Embedder;
use lambdarag_models::BuiltinEmbedder;

const WORDS: &[&str] = &[
    "the",
    "index",
    "stores",
    "each",
    "chunk",
    "with",
    "its",
    "vector",
    "and",
    "text",
    "so",
    "retrieval",
    "can",
    "combine",
    "keyword",
    "scores",
    "semantic",
    "similarity",
    "when",
    "answering",
    "questions",
    "about",
    "uploaded",
    "documents",
    "parser",
    "splits",
    "pages",
    "into",
    "passages",
    "of",
    "roughly",
    "equal",
    "length",
    "before",
    "embedding",
    "them",
    "tenants",
    "datasets",
    "are",
    "isolated",
    "by",
    "design",
    "every",
    "request",
    "carries",
    "an",
    "api",
    "key",
    "that",
    "maps",
    "to",
    "one",
    "tenant",
    "quarterly",
    "report",
    "shows",
    "revenue",
    "growth",
    "in",
    "european",
    "markets",
    "while",
    "costs",
    "remained",
    "stable",
];

/// A deterministic pseudo-random passage of `words` words.
fn passage(seed: usize, words: usize) -> String {
    let mut x = (seed as u64).wrapping_mul(2862933555777941757) ^ 0x9e37_79b9_7f4a_7c15;
    let mut out = Vec::with_capacity(words);
    for _ in 0..words {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        out.push(WORDS[(x >> 33) as usize % WORDS.len()]);
    }
    let mut s = out.join(" ");
    s.push('.');
    s
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let n: usize = match std::env::args().nth(1) {
        Some(a) => a.parse()?,
        None => 512,
    };
    let data_dir = std::env::var_os("LAMBDARAG_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("data"));
    let embedder = BuiltinEmbedder::new(Some(data_dir)).with_batch_size(32);

    let started = Instant::now();
    let dir = embedder.preload().await?;
    println!(
        "model: {} (loaded in {} ms)",
        dir.display(),
        started.elapsed().as_millis()
    );

    // 39 words ≈ 45 tokens with [CLS]/[SEP] for this vocabulary.
    let texts: Vec<String> = (0..n).map(|i| passage(i, 39)).collect();
    let mut tokenizer = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json"))?;
    // The shipped tokenizer.json pads to 128: count real tokens only.
    tokenizer.with_padding(None);
    let tokens: usize = texts
        .iter()
        .map(|t| {
            tokenizer
                .encode_fast(t.as_str(), true)
                .map(|e| e.get_ids().len())
        })
        .sum::<Result<usize, _>>()?;
    println!(
        "passages: {n}, mean {:.1} tokens each, batch 32, threads: {}",
        tokens as f64 / n.max(1) as f64,
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into())
    );

    // Warm up (allocator, thread pool).
    embedder.embed(&texts[..texts.len().min(32)]).await?;

    let started = Instant::now();
    let vectors = embedder.embed(&texts).await?;
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(vectors.len(), n);
    println!(
        "embedded {n} passages in {secs:.2} s: {:.1} chunks/s, {:.2} ms/chunk",
        n as f64 / secs,
        secs * 1000.0 / n.max(1) as f64
    );
    Ok(())
}
