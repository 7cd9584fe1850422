//! `lambdarag bench scale`: retrieval latency, memory and index size as the collection
//! grows (5k, 50k, 100k+ chunks by default).
//!
//! How the collection is built (so it grows in seconds, not hours): the texts are a
//! BEIR corpus's (SciFact), copied as often as the size needs, each copy marked with a
//! word of its own so no two chunks are equal; the vectors are pseudo-random unit
//! vectors (384 dims, seeded), written with the chunks through the index port's `upsert`,
//! one document row per 100 chunks. Queries are the collection's test queries, embedded
//! once by the built-in model. Scores against random vectors mean nothing, but the cost
//! does not depend on them: the vector side is an exact scan of every vector in scope, the
//! text side real BM25 over postings that grow with the copies.
//!
//! At each size it reports, one client, sequential: the index alone (`search_hits`) for
//! BM25 (top_k 1024) and hybrid (top_k 1024, the query vector given), and the whole
//! `retrieve()` at the API's defaults (hybrid, page 30, threshold 0.2, the query embedded
//! per request); then RSS and the index folder's size.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use lambdarag::domain::RunStatus;
use lambdarag::ports::conformance_docs::sample_document;
use lambdarag::ports::conformance_index::sample_chunk;
use lambdarag::ports::SearchRequest;
use lambdarag::services::retrieval::{self, RetrievalRequest};
use serde_json::{json, Value};

use super::*;

#[derive(Args)]
pub struct ScaleArgs {
    /// A BEIR-layout folder (corpus.jsonl, queries.jsonl); its texts and queries are used.
    pub dir: PathBuf,
    /// Collection sizes in chunks, ascending.
    #[arg(long, value_delimiter = ',', default_value = "5000,50000,100000")]
    pub sizes: Vec<usize>,
    /// Queries timed at each size (the first N of queries.jsonl).
    #[arg(long, default_value_t = 200)]
    pub queries: usize,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

const DIMS: usize = 384;
const CHUNKS_PER_DOCUMENT: usize = 100;
const UPSERT_BATCH: usize = 4096;

/// A seeded unit vector (xorshift; the values only need to be spread, not good).
fn pseudo_vector(seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v: Vec<f32> = (0..DIMS)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect();
    let norm = v.iter().map(|a| a * a).sum::<f32>().sqrt().max(1e-6);
    v.iter_mut().for_each(|a| *a /= norm);
    v
}

fn read_jsonl(path: &std::path::Path) -> BenchResult<Vec<Value>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?)
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Latencies (ms) of `f` over the queries, after 10 untimed calls.
async fn time_queries<F, Fut>(n: usize, mut f: F) -> BenchResult<Value>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = BenchResult<usize>>,
{
    for i in 0..n.min(10) {
        f(i).await?;
    }
    let mut lat = Vec::with_capacity(n);
    let mut found = 0usize;
    let cpu0 = cpu_seconds();
    let began = Instant::now();
    for i in 0..n {
        let t0 = Instant::now();
        found += f(i).await?;
        lat.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    let wall = began.elapsed().as_secs_f64();
    let cpu = cpu0
        .zip(cpu_seconds())
        .map(|(a, b)| (b - a) * 1e3 / n.max(1) as f64);
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p).round() as usize)
            .copied()
    };
    Ok(json!({
        "qps": n as f64 / wall.max(1e-9),
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "cpu_ms_per_query": cpu,
        "mean_results": found as f64 / n.max(1) as f64,
    }))
}

pub async fn scale(args: ScaleArgs, data_dir: Option<PathBuf>) -> BenchResult {
    let corpus = read_jsonl(&args.dir.join("corpus.jsonl"))?;
    let texts: Vec<String> = corpus
        .iter()
        .map(|d| {
            format!(
                "{}\n{}",
                d["title"].as_str().unwrap_or_default(),
                d["text"].as_str().unwrap_or_default()
            )
        })
        .collect();
    if texts.is_empty() {
        return Err("the corpus is empty".into());
    }
    let questions: Vec<String> = read_jsonl(&args.dir.join("queries.jsonl"))?
        .iter()
        .filter_map(|q| q["text"].as_str().map(str::to_string))
        .take(args.queries.max(1))
        .collect();
    let mut sizes = args.sizes.clone();
    sizes.sort_unstable();
    sizes.dedup();

    let machine = machine();
    let dep = open_deployment(data_dir, true).await?;
    let state = &dep.state;
    let tenant = tenant_named(state, "scale").await?;
    let dataset = create_dataset(state, &tenant.id, &format!("scale-{}", now_id()), "one").await?;
    let embedder = state
        .embedders
        .embedder(&tenant, &dataset.embedding_model)?;
    let query_vectors = embedder.embed(&questions).await?;
    let datasets = retrieval::load_datasets(state, &tenant.id, std::slice::from_ref(&dataset.id))
        .await
        .map_err(|e| e.message)?;

    let mut rows = Vec::new();
    let mut built = 0usize;
    let mut document_id = String::new();
    for &size in &sizes {
        let began = Instant::now();
        while built < size {
            let end = size.min(built + UPSERT_BATCH);
            let mut batch = Vec::with_capacity(end - built);
            for i in built..end {
                if i % CHUNKS_PER_DOCUMENT == 0 {
                    let mut doc =
                        sample_document(&tenant.id, &dataset.id, &format!("part-{i}.txt"));
                    doc.run = RunStatus::Done;
                    doc.meta_fields = json!({});
                    state.docs.insert_document(&doc).await?;
                    document_id = doc.id;
                }
                let text = &texts[i % texts.len()];
                let content = format!("{text} copy{}", i / texts.len());
                let mut c = sample_chunk(&tenant.id, &dataset.id, &document_id, i as i64, &content);
                c.document_name = format!("part-{}.txt", i - i % CHUNKS_PER_DOCUMENT);
                c.vector = pseudo_vector(i as u64);
                batch.push(c);
            }
            state.index.upsert(&tenant.id, &batch).await?;
            built = end;
        }
        let build_s = began.elapsed().as_secs_f64();
        eprintln!("{size} chunks indexed ({build_s:.1}s); timing");

        let n = questions.len();
        let request = |i: usize, vector: Option<Vec<f32>>| SearchRequest {
            dataset_ids: vec![dataset.id.clone()],
            document_ids: None,
            text: questions[i].clone(),
            vector,
            top_k: 1024,
        };
        let tenant_id = tenant.id.as_str();
        let bm25 = time_queries(n, |i| {
            let req = request(i, None);
            async move { Ok(state.index.search_hits(tenant_id, &req).await?.len()) }
        })
        .await?;
        let hybrid = time_queries(n, |i| {
            let req = request(i, query_vectors.get(i).cloned());
            async move { Ok(state.index.search_hits(tenant_id, &req).await?.len()) }
        })
        .await?;
        let full = time_queries(n, |i| {
            let req = RetrievalRequest {
                dataset_ids: vec![dataset.id.clone()],
                question: questions[i].clone(),
                page: 1,
                page_size: 30,
                similarity_threshold: 0.2,
                vector_similarity_weight: 0.3,
                top_k: 1024,
                highlight: true,
                ..Default::default()
            };
            let datasets = &datasets;
            async move {
                let r = retrieval::retrieve(state, tenant_id, datasets, &req)
                    .await
                    .map_err(|e| e.message)?;
                Ok(r.hits.len())
            }
        })
        .await?;
        let (peak_kb, rss_kb) = memory_kb();
        rows.push(json!({
            "chunks": size,
            "build_s": build_s,
            "index_bm25_top_k_1024": bm25,
            "index_hybrid_top_k_1024": hybrid,
            "retrieve_hybrid_api_defaults": full,
            "rss_mb": rss_kb.map(|k| k as f64 / 1024.0),
            "peak_rss_mb": peak_kb.map(|k| k as f64 / 1024.0),
            "index_mb": dir_bytes(&dep.dir.join("index")) as f64 / 1e6,
        }));
    }
    let report = json!({"machine": machine, "queries": questions.len(), "sizes": rows});
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "lambdarag bench scale — {} queries, one client; machine: {} ({} cores)",
        questions.len(),
        report["machine"]["cpu"].as_str().unwrap_or("?"),
        report["machine"]["cores"]
    );
    println!("| chunks | index BM25 p50 / p99 ms | index hybrid p50 / p99 ms | retrieve() hybrid p50 / p99 ms (QPS) | RSS MB | index MB |");
    println!("|---|---|---|---|---|---|");
    let ms = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    for r in &rows {
        let (b, h, f) = (
            &r["index_bm25_top_k_1024"],
            &r["index_hybrid_top_k_1024"],
            &r["retrieve_hybrid_api_defaults"],
        );
        println!(
            "| {} | {:.2} / {:.2} | {:.2} / {:.2} | {:.2} / {:.2} ({:.0}) | {:.0} | {:.0} |",
            r["chunks"],
            ms(&b["p50_ms"]),
            ms(&b["p99_ms"]),
            ms(&h["p50_ms"]),
            ms(&h["p99_ms"]),
            ms(&f["p50_ms"]),
            ms(&f["p99_ms"]),
            ms(&f["qps"]),
            ms(&r["rss_mb"]),
            ms(&r["index_mb"]),
        );
    }
    Ok(())
}

/// A short unique suffix for the dataset name (several runs can share a data dir).
fn now_id() -> String {
    format!(
        "{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    )
}
