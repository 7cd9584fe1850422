//! `lambdarag eval beir`: retrieval quality and speed on a BEIR-layout collection, measured
//! through the product's own path.
//!
//! Every corpus entry becomes a small `.txt` document (title on the first line, then the
//! text), uploaded with `documents::upload` into a dataset whose chunk method is `one`
//! (one chunk per document) and parsed by the real pipeline workers (built-in embedder).
//! Each query then runs through `retrieval::retrieve`, so the product's fusion
//! `(1−w)·BM25/maxBM25 + w·cosine` is what is measured, at page_size 100 and threshold 0:
//! BM25 only (w = 0: no query embedding), vector only (w = 1) and hybrid at each given w.
//!
//! Besides the product's numbers it reports (a) component timings (query embedding, the
//! index's BM25 top-10 and candidate searches, the per-request document listing, the model
//! alone on document-sized texts), each with the CPU time it used, and (b) alternative
//! fusions computed over exactly the candidates the index returns for the hybrid request,
//! with paired per-query differences against the product's fusion, so a change to
//! `retrieval::rank` can be judged before it is made. Nothing here changes the product's
//! scoring. `docs/benchmarks.md` has the commands and the measured figures.

mod corpus;
mod fusion;
mod http;
mod ingest;
mod metrics;
#[cfg(test)]
mod tests;
mod timing;

use corpus::*;
use fusion::*;
use http::*;
use ingest::*;
use metrics::*;
use timing::*;

use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use clap::{Args, Subcommand, ValueEnum};
use lambdarag::domain::{Dataset, Document, RunStatus};
use lambdarag::ports::{ScoredChunk, SearchRequest};
use lambdarag::services::documents::UploadFile;
use lambdarag::services::retrieval::{self, RetrievalRequest};
use lambdarag::AppState;
use serde_json::{json, Value};

use crate::bench::{self, BenchResult};

#[derive(Subcommand)]
pub enum EvalCmd {
    /// Evaluate retrieval on a BEIR-layout folder (corpus.jsonl, queries.jsonl,
    /// qrels/<split>.tsv): nDCG@10, Recall@100, QPS and latency per fusion mode.
    Beir(BeirArgs),
}

#[derive(Args, Clone)]
pub struct BeirArgs {
    /// The collection folder (e.g. .../scifact).
    pub dir: PathBuf,
    /// Vector weights of the hybrid runs (BM25-only and vector-only always run).
    #[arg(long, value_delimiter = ',', default_value = "0.3")]
    pub weights: Vec<f32>,
    /// Ingest only the first N corpus entries (qrels are restricted to them; queries left
    /// without a relevant document are dropped).
    #[arg(long)]
    pub limit_docs: Option<usize>,
    /// Evaluate only the first N queries.
    #[arg(long)]
    pub limit_queries: Option<usize>,
    /// The qrels split: qrels/<split>.tsv.
    #[arg(long, default_value = "test")]
    pub queries: String,
    /// Concurrent clients for the timed runs (each runs queries back to back).
    #[arg(long, default_value_t = 1)]
    pub concurrency: usize,
    /// `top_k` of the retrieval request: candidates per retriever (API default 1024).
    #[arg(long, default_value_t = 1024)]
    pub top_k: usize,
    /// `page_size` of the retrieval request (hits scored per query).
    #[arg(long, default_value_t = 100)]
    pub page_size: usize,
    /// Parse workers for the ingestion (as `serve --workers`).
    #[arg(long, default_value_t = 32)]
    pub workers: usize,
    /// How each document is named: `id` (`<_id>.txt`) or `title` (the title, so the
    /// index's title field, boosted 10×, holds it).
    #[arg(long, value_enum, default_value = "id")]
    pub doc_name: DocName,
    /// `filename_embd_weight` of the dataset: how much of the document name's embedding is
    /// mixed into each chunk vector (unset: the pipeline default, 0.1).
    #[arg(long)]
    pub title_weight: Option<f64>,
    /// Also time the embedding model alone on the first N corpus texts, in batches of 32
    /// (0: skip).
    #[arg(long, default_value_t = 256)]
    pub embed_sample: usize,
    /// Also run BM25 and hybrid through the HTTP API (`POST /api/v1/retrieval` on a
    /// loopback port, at the API's defaults), with `--concurrency` clients.
    #[arg(long)]
    pub http: bool,
    /// Passes over the queries for each HTTP run (the timed runs are otherwise short).
    #[arg(long, default_value_t = 5)]
    pub http_rounds: usize,
    /// Skip the alternative-fusion prototypes.
    #[arg(long)]
    pub no_prototypes: bool,
    /// Print one JSON object instead of the tables.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Debug)]
pub enum DocName {
    Id,
    Title,
}

// ---------------------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------------------

pub async fn run(cmd: EvalCmd, data_dir: Option<PathBuf>) -> BenchResult {
    match cmd {
        EvalCmd::Beir(args) => beir(args, data_dir).await,
    }
}

fn label_for(w: f32) -> String {
    if w <= 0.0 {
        "BM25 only".into()
    } else if w >= 1.0 {
        "vector only".into()
    } else {
        "hybrid".into()
    }
}

async fn beir(args: BeirArgs, data_dir: Option<PathBuf>) -> BenchResult {
    let coll = load_collection(&args)?;
    eprintln!(
        "{}: {} documents, {} judged queries ({} split)",
        coll.name,
        coll.corpus.len(),
        coll.queries.len(),
        args.queries
    );
    if coll.queries.is_empty() {
        return Err("no judged queries to evaluate".into());
    }
    let machine = bench::machine();
    let dep = bench::open_deployment(data_dir, true).await?;
    eprintln!("data dir: {}", dep.dir.display());
    let tenant = bench::tenant_named(&dep.state, "eval").await?;
    let (dataset, ing) = ingest(&dep, &tenant.id, &coll, &args).await?;
    let (peak_after_ingest, _) = bench::memory_kb();

    let docs: Vec<Document> = bench::all_documents(&dep.state, &tenant.id, &dataset.id).await?;
    let docs_len = docs.len();
    let corpus_of: HashMap<String, String> = docs
        .iter()
        .filter_map(|d| {
            let id = d.meta_fields["corpus_id"].as_str()?;
            Some((d.id.clone(), id.to_string()))
        })
        .collect();
    let datasets =
        retrieval::load_datasets(&dep.state, &tenant.id, std::slice::from_ref(&dataset.id)).await?;
    let ctx = Arc::new(Ctx {
        state: dep.state.clone(),
        tenant_id: tenant.id.clone(),
        datasets,
        queries: coll.queries.clone(),
        corpus_of,
        page_size: args.page_size,
        top_k: args.top_k,
    });

    // The product's modes.
    let mut weights: Vec<f32> = vec![0.0, 1.0];
    for &w in &args.weights {
        if !weights.iter().any(|x| (x - w).abs() < 1e-6) {
            weights.push(w.clamp(0.0, 1.0));
        }
    }
    let mut modes = Vec::new();
    for &w in &weights {
        eprintln!("running {} (w = {w})", label_for(w));
        let (runs, timing) = run_mode(ctx.clone(), w, args.concurrency).await?;
        let (ndcg, recall) = quality(&runs, &coll.qrels);
        modes.push((w, ndcg, recall, timing));
    }
    // Through HTTP at the API's defaults: BM25 only, then hybrid (weight left to the API).
    let mut http_modes = Vec::new();
    if args.http {
        let target = Arc::new(start(&ctx).await?);
        for (label, weight) in [("BM25 only", Some(0.0)), ("hybrid (w 0.3)", None)] {
            eprintln!("running {label} through HTTP");
            let (runs, timing) = run_http_mode(
                ctx.clone(),
                target.clone(),
                weight,
                args.concurrency,
                args.http_rounds,
            )
            .await?;
            let (ndcg, _) = quality(&runs, &coll.qrels);
            http_modes.push((label, ndcg, timing));
        }
    }
    let (peak_after_modes, _) = bench::memory_kb();

    // Components, sequential.
    eprintln!("timing components");
    let embedder = dep
        .state
        .embedders
        .embedder(&tenant, &dataset.embedding_model)?;
    let (qvecs, t_embed) = time_each(&ctx.queries, |i| {
        let (e, q) = (embedder.clone(), ctx.queries[i].1.clone());
        async move {
            let mut v = e.embed(std::slice::from_ref(&q)).await?;
            Ok(v.pop().unwrap_or_default())
        }
    })
    .await?;
    let search = |i: usize, vector: Option<Vec<f32>>, top_k: usize| {
        let ctx = ctx.clone();
        async move {
            let req = SearchRequest {
                dataset_ids: ctx.datasets.iter().map(|d| d.id.clone()).collect(),
                document_ids: None,
                text: ctx.queries[i].1.clone(),
                vector,
                top_k,
            };
            Ok(ctx.state.index.search(&ctx.tenant_id, &req).await?)
        }
    };
    let (_, t_bm25_10) = time_each(&ctx.queries, |i| search(i, None, 10)).await?;
    let hybrid_top_k = args.top_k.max(args.page_size).max(1);
    let (_, t_bm25_k) = time_each(&ctx.queries, |i| search(i, None, hybrid_top_k)).await?;
    let (n_cands, t_hybrid_idx) = time_each(&ctx.queries, |i| {
        let found = search(i, Some(qvecs[i].clone()), hybrid_top_k);
        async move { Ok(found.await?.len()) }
    })
    .await?;
    // What `retrieve` asks the index for: id-level candidates, no records.
    let hits = |i: usize, vector: Option<Vec<f32>>, top_k: usize| {
        let ctx = ctx.clone();
        async move {
            let req = SearchRequest {
                dataset_ids: ctx.datasets.iter().map(|d| d.id.clone()).collect(),
                document_ids: None,
                text: ctx.queries[i].1.clone(),
                vector,
                top_k,
            };
            Ok(ctx
                .state
                .index
                .search_hits(&ctx.tenant_id, &req)
                .await?
                .len())
        }
    };
    let (_, t_hits_bm25_10) = time_each(&ctx.queries, |i| hits(i, None, 10)).await?;
    let (_, t_hits_hybrid) = time_each(&ctx.queries, |i| {
        hits(i, Some(qvecs[i].clone()), hybrid_top_k)
    })
    .await?;
    // What `retrieve` read from the metadata store on every request before it fetched only
    // its window's documents (still what a metadata filter costs): every document.
    let (_, t_list_docs) = time_each(&ctx.queries, |_| {
        let ctx = ctx.clone();
        async move {
            let mut n = 0;
            for d in &ctx.datasets {
                n += bench::all_documents(&ctx.state, &ctx.tenant_id, &d.id)
                    .await?
                    .len();
            }
            Ok(n)
        }
    })
    .await?;

    // Prototype fusions over the hybrid candidates (searched again, untimed, one query at
    // a time so no candidate list is kept); each is compared, query by query, with the
    // first row (the product's fusion at the first weight).
    let mut protos = Vec::new();
    if !args.no_prototypes {
        let docs_by_id: HashMap<String, Document> =
            docs.into_iter().map(|d| (d.id.clone(), d)).collect();
        let mut ws = args.weights.clone();
        for extra in [0.5f32, 0.7] {
            if !ws.iter().any(|x| (x - extra).abs() < 1e-6) {
                ws.push(extra);
            }
        }
        let mut grid: Vec<(Fusion, f32)> = Vec::new();
        for how in [
            Fusion::Current,
            Fusion::MaxBoth,
            Fusion::MinMax,
            Fusion::MinMaxTop(args.page_size),
            Fusion::MinMaxTopZero(args.page_size),
            Fusion::Rrf,
        ] {
            grid.extend(ws.iter().map(|&w| (how, w)));
        }
        // Per grid point: query id → (nDCG@10, Recall@100).
        let mut scores: Vec<HashMap<String, (f64, f64)>> = vec![HashMap::new(); grid.len()];
        let empty = Qrels::new();
        for (i, (qid, q)) in ctx.queries.iter().enumerate() {
            let cands = search(i, Some(qvecs[i].clone()), hybrid_top_k).await?;
            let rel = coll.qrels.get(qid).unwrap_or(&empty);
            for (g, &(how, w)) in grid.iter().enumerate() {
                let ranked = if how == Fusion::Current {
                    // Through the product's own `rank`, as a cross-check.
                    let r = retrieval::rank(cands.clone(), &docs_by_id, &ctx.request(q, w));
                    ctx.ranked(r.hits.iter().map(|h| &h.scored))
                } else {
                    let fused = fuse(&cands, w, how);
                    let order = order_by(&cands, &fused);
                    ctx.ranked(order.iter().take(args.page_size).map(|&j| &cands[j]))
                };
                scores[g].insert(
                    qid.clone(),
                    (ndcg_at_k(&ranked, rel, 10), recall_at_k(&ranked, rel, 100)),
                );
            }
        }
        let ndcg_of = |m: &HashMap<String, (f64, f64)>| -> HashMap<String, f64> {
            m.iter().map(|(q, s)| (q.clone(), s.0)).collect()
        };
        let baseline = scores.first().map(ndcg_of).unwrap_or_default();
        let n = ctx.queries.len().max(1) as f64;
        for (&(how, w), m) in grid.iter().zip(&scores) {
            let ndcg = m.values().map(|s| s.0).sum::<f64>() / n;
            let recall = m.values().map(|s| s.1).sum::<f64>() / n;
            let (delta, se) = paired_delta(&baseline, &ndcg_of(m));
            protos.push((how, w, ndcg, recall, delta, se));
        }
    }
    let (peak_before_sample, _) = bench::memory_kb();
    // The model alone on document-sized texts (what ingestion embeds), batches of 32.
    let sample: Vec<String> = coll
        .corpus
        .iter()
        .take(args.embed_sample)
        .map(|d| format!("{}\n{}", d.title, d.text))
        .collect();
    let embed_docs = if sample.is_empty() {
        None
    } else {
        let began = Instant::now();
        for batch in sample.chunks(32) {
            embedder.embed(batch).await?;
        }
        Some(sample.len() as f64 / began.elapsed().as_secs_f64().max(1e-9))
    };
    let (peak_kb, _) = bench::memory_kb();
    let mean_cands = n_cands.iter().sum::<usize>() as f64 / n_cands.len().max(1) as f64;

    let ingest_json = ing.parse.as_ref().map(|p| {
        let s = p.wall.as_secs_f64().max(1e-9);
        json!({
            "upload_s": ing.upload_s,
            "parse_wall_s": s,
            "parse_cpu_s": p.cpu_s,
            "documents": p.done,
            "chunks": p.chunks,
            "tokens": p.tokens,
            "documents_per_s": p.done as f64 / s,
            "chunks_per_s": p.chunks as f64 / s,
            "workers": args.workers,
        })
    });
    let report = json!({
        "collection": coll.name,
        "machine": machine,
        "documents": coll.corpus.len(),
        "queries": coll.queries.len(),
        "split": args.queries,
        "doc_name": format!("{:?}", args.doc_name).to_lowercase(),
        "title_weight": args.title_weight,
        "top_k": args.top_k,
        "page_size": args.page_size,
        "concurrency": args.concurrency,
        "embedding_model": dataset.embedding_model,
        "ingest": ingest_json,
        "ingest_reused": ing.reused,
        "modes": modes.iter().map(|(w, n, r, t)| json!({
            "mode": label_for(*w), "weight": w, "ndcg_at_10": n, "recall_at_100": r,
            "timing": t.json(),
        })).collect::<Vec<_>>(),
        "http_modes": http_modes.iter().map(|(label, n, t)| json!({
            "mode": label, "ndcg_at_10": n, "timing": t.json(),
            "request": "question and dataset_ids only (API defaults: page_size 30, similarity_threshold 0.2, top_k 1024, vector_similarity_weight 0.3); BM25 sends vector_similarity_weight 0",
        })).collect::<Vec<_>>(),
        "components": {
            "query_embedding": t_embed.json(),
            "document_embedding_per_s": embed_docs,
            "document_embedding_sample": sample.len(),
            "index_bm25_top10": t_bm25_10.json(),
            "index_bm25_candidates": t_bm25_k.json(),
            "index_hybrid_candidates": t_hybrid_idx.json(),
            "list_all_documents": t_list_docs.json(),
            "index_hits_bm25_top10": t_hits_bm25_10.json(),
            "index_hits_hybrid_candidates": t_hits_hybrid.json(),
            "hybrid_top_k": hybrid_top_k,
            "mean_hybrid_candidates": mean_cands,
        },
        "prototypes": protos.iter().map(|(h, w, n, r, d, se)| json!({
            "fusion": h.label(), "weight": w, "ndcg_at_10": n, "recall_at_100": r,
            "ndcg_delta_vs_first": d, "ndcg_delta_se": se,
        })).collect::<Vec<_>>(),
        "peak_rss_mb_after_ingest": peak_after_ingest.map(|k| k as f64 / 1024.0),
        "peak_rss_mb_after_modes": peak_after_modes.map(|k| k as f64 / 1024.0),
        "peak_rss_mb_before_embedding_sample": peak_before_sample.map(|k| k as f64 / 1024.0),
        "peak_rss_mb": peak_kb.map(|k| k as f64 / 1024.0),
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }

    println!(
        "lambdarag eval beir — {} ({} docs, {} {} queries); {}",
        coll.name,
        coll.corpus.len(),
        coll.queries.len(),
        args.queries,
        dataset.embedding_model
    );
    println!(
        "machine: {} ({} cores, load average {} at start); retrieve(): page_size {}, top_k {}, threshold 0, {} client(s)",
        report["machine"]["cpu"].as_str().unwrap_or("?"),
        report["machine"]["cores"],
        report["machine"]["load_average_1m"],
        args.page_size,
        args.top_k,
        args.concurrency
    );
    if let Some(p) = &ing.parse {
        let s = p.wall.as_secs_f64().max(1e-9);
        println!(
            "ingest: upload {:.1}s; parse+embed+index {:.1}s ({:.0} CPU-s) with {} workers = {:.1} docs/s, {:.1} chunks/s ({} chunks, {} tokens)",
            ing.upload_s,
            s,
            p.cpu_s.unwrap_or(f64::NAN),
            args.workers,
            p.done as f64 / s,
            p.chunks as f64 / s,
            p.chunks,
            p.tokens
        );
    } else {
        println!("ingest: reused the dataset already in the data dir");
    }
    println!();
    println!("| mode | w | nDCG@10 | Recall@100 | QPS | p50 ms | p99 ms | CPU ms/query |");
    println!("|---|---|---|---|---|---|---|---|");
    for (w, n, r, t) in &modes {
        println!(
            "| {} | {w:.2} | {n:.4} | {r:.4} | {:.1} | {:.2} | {:.2} | {:.2} |",
            label_for(*w),
            t.qps(),
            t.p(0.5),
            t.p(0.99),
            t.cpu_ms_per_query().unwrap_or(f64::NAN)
        );
    }
    if !http_modes.is_empty() {
        println!();
        println!(
            "through HTTP (POST /api/v1/retrieval on loopback, API defaults: page_size 30, threshold 0.2, top_k 1024; {} client(s), {} passes; CPU includes the clients):",
            args.concurrency, args.http_rounds
        );
        println!("| mode | nDCG@10 | QPS | p50 ms | p99 ms | CPU ms/query |");
        println!("|---|---|---|---|---|---|");
        for (label, n, t) in &http_modes {
            println!(
                "| {label} | {n:.4} | {:.1} | {:.2} | {:.2} | {:.2} |",
                t.qps(),
                t.p(0.5),
                t.p(0.99),
                t.cpu_ms_per_query().unwrap_or(f64::NAN)
            );
        }
    }
    println!();
    println!("components (sequential, 1 client):");
    println!("| step | QPS | p50 ms | p99 ms | CPU ms/query |");
    println!("|---|---|---|---|---|");
    for (name, t) in [
        ("query embedding (built-in model)".to_string(), &t_embed),
        ("index.search BM25 top-10".to_string(), &t_bm25_10),
        (
            format!("index.search BM25 candidates (top_k {hybrid_top_k})"),
            &t_bm25_k,
        ),
        (
            format!(
                "index.search hybrid candidates (top_k {hybrid_top_k}, ~{mean_cands:.0}/query)"
            ),
            &t_hybrid_idx,
        ),
        (
            "index.search_hits BM25 top-10 (ids only)".to_string(),
            &t_hits_bm25_10,
        ),
        (
            format!("index.search_hits hybrid candidates (top_k {hybrid_top_k}, ids only), as retrieve() does"),
            &t_hits_hybrid,
        ),
        (
            format!("list every document of the dataset ({docs_len}), as a metadata filter does"),
            &t_list_docs,
        ),
    ] {
        println!(
            "| {name} | {:.1} | {:.2} | {:.2} | {:.2} |",
            t.qps(),
            t.p(0.5),
            t.p(0.99),
            t.cpu_ms_per_query().unwrap_or(f64::NAN)
        );
    }
    if let Some(per_s) = embed_docs {
        println!(
            "| embedding model alone, {} corpus texts in batches of 32 | {per_s:.1} texts/s | | | |",
            sample.len()
        );
    }
    if !protos.is_empty() {
        println!();
        println!("fusion prototypes over the same hybrid candidates (quality only; Δ = paired");
        println!("per-query difference in nDCG@10 against the first row, ± one standard error):");
        println!("| fusion | w | nDCG@10 | Recall@100 | Δ nDCG@10 |");
        println!("|---|---|---|---|---|");
        for (h, w, n, r, d, se) in &protos {
            println!(
                "| {} | {w:.2} | {n:.4} | {r:.4} | {d:+.4} ± {se:.4} |",
                h.label()
            );
        }
    }
    println!();
    let mb = |k: &str| report[k].as_f64().unwrap_or(f64::NAN);
    print!(
        "peak RSS (VmHWM): {:.0} MB after ingest, {:.0} MB after the retrieve() runs, {:.0} MB after components and prototypes",
        mb("peak_rss_mb_after_ingest"),
        mb("peak_rss_mb_after_modes"),
        mb("peak_rss_mb_before_embedding_sample"),
    );
    if embed_docs.is_some() {
        print!(
            ", {:.0} MB after the batch-32 embedding sample",
            mb("peak_rss_mb")
        );
    }
    println!();
    Ok(())
}
