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
    /// Parse workers for the ingestion.
    #[arg(long, default_value_t = 2)]
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
// Metrics (trec_eval / pytrec_eval definitions, as BEIR reports them)
// ---------------------------------------------------------------------------------------

/// Relevance grades of one query: corpus id → grade (> 0 is relevant).
pub type Qrels = HashMap<String, i64>;

/// nDCG@k with linear gain (trec_eval's `ndcg_cut`): Σ rel_i / log2(i + 1) over the first
/// k ranks, divided by the same sum over the ideal ordering of the judged grades. A
/// document ranked twice counts once (its first rank).
pub fn ndcg_at_k(ranked: &[String], qrels: &Qrels, k: usize) -> f64 {
    let mut seen = HashSet::new();
    let dcg: f64 = ranked
        .iter()
        .filter(|d| seen.insert(d.as_str()))
        .take(k)
        .enumerate()
        .map(|(i, d)| qrels.get(d).copied().unwrap_or(0).max(0) as f64 / ((i + 2) as f64).log2())
        .sum();
    let mut ideal: Vec<i64> = qrels.values().copied().filter(|&g| g > 0).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, &g)| g as f64 / ((i + 2) as f64).log2())
        .sum();
    if idcg > 0.0 {
        dcg / idcg
    } else {
        0.0
    }
}

/// Recall@k: the share of the relevant documents found in the first k (distinct) ranks.
pub fn recall_at_k(ranked: &[String], qrels: &Qrels, k: usize) -> f64 {
    let relevant: HashSet<&str> = qrels
        .iter()
        .filter(|(_, &g)| g > 0)
        .map(|(d, _)| d.as_str())
        .collect();
    if relevant.is_empty() {
        return 0.0;
    }
    let mut seen = HashSet::new();
    let found = ranked
        .iter()
        .filter(|d| seen.insert(d.as_str()))
        .take(k)
        .filter(|d| relevant.contains(d.as_str()))
        .count();
    found as f64 / relevant.len() as f64
}

/// Nearest-rank percentile of ascending values (p in [0, 1]).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Mean nDCG@10 and Recall@100 over the judged queries (a query without a run scores 0).
fn quality(runs: &HashMap<String, Vec<String>>, qrels: &HashMap<String, Qrels>) -> (f64, f64) {
    if qrels.is_empty() {
        return (0.0, 0.0);
    }
    let empty = Vec::new();
    let (mut n, mut r) = (0.0, 0.0);
    for (qid, rel) in qrels {
        let ranked = runs.get(qid).unwrap_or(&empty);
        n += ndcg_at_k(ranked, rel, 10);
        r += recall_at_k(ranked, rel, 100);
    }
    (n / qrels.len() as f64, r / qrels.len() as f64)
}

/// Mean of the per-query differences `b − a` and its standard error (paired).
pub fn paired_delta(a: &HashMap<String, f64>, b: &HashMap<String, f64>) -> (f64, f64) {
    let d: Vec<f64> = a
        .iter()
        .map(|(q, x)| b.get(q).copied().unwrap_or(0.0) - x)
        .collect();
    let n = d.len() as f64;
    if d.len() < 2 {
        return (d.first().copied().unwrap_or(0.0), f64::NAN);
    }
    let mean = d.iter().sum::<f64>() / n;
    let var = d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

// ---------------------------------------------------------------------------------------
// Loading a BEIR collection
// ---------------------------------------------------------------------------------------

struct CorpusDoc {
    id: String,
    title: String,
    text: String,
}

struct Collection {
    name: String,
    corpus: Vec<CorpusDoc>,
    /// (query id, text), in file order, only judged ones.
    queries: Vec<(String, String)>,
    qrels: HashMap<String, Qrels>,
}

fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn read_jsonl(path: &Path, mut each: impl FnMut(Value) -> BenchResult) -> BenchResult {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(&line)
            .map_err(|e| format!("{} line {}: {e}", path.display(), i + 1))?;
        each(v)?;
    }
    Ok(())
}

fn load_collection(args: &BeirArgs) -> BenchResult<Collection> {
    let dir = &args.dir;
    let mut corpus = Vec::new();
    read_jsonl(&dir.join("corpus.jsonl"), |v| {
        let id = id_of(&v["_id"]).ok_or("corpus entry without `_id`")?;
        let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
        corpus.push(CorpusDoc {
            id,
            title: s("title"),
            text: s("text"),
        });
        Ok(())
    })?;
    if let Some(n) = args.limit_docs {
        corpus.truncate(n);
    }
    let in_corpus: HashSet<&str> = corpus.iter().map(|d| d.id.as_str()).collect();

    let qrels_path = dir.join("qrels").join(format!("{}.tsv", args.queries));
    let text = std::fs::read_to_string(&qrels_path)
        .map_err(|e| format!("{}: {e}", qrels_path.display()))?;
    let mut qrels: HashMap<String, Qrels> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let cols: Vec<&str> = line.trim_end_matches('\r').split('\t').collect();
        if cols.len() < 3 || (i == 0 && cols[2].trim().parse::<i64>().is_err()) {
            continue; // header or blank
        }
        let grade: i64 = cols[2]
            .trim()
            .parse()
            .map_err(|_| format!("{} line {}: bad score", qrels_path.display(), i + 1))?;
        if grade > 0 && in_corpus.contains(cols[1]) {
            qrels
                .entry(cols[0].to_string())
                .or_default()
                .insert(cols[1].to_string(), grade);
        }
    }

    let mut queries = Vec::new();
    read_jsonl(&dir.join("queries.jsonl"), |v| {
        let id = id_of(&v["_id"]).ok_or("query without `_id`")?;
        if qrels.contains_key(&id) {
            queries.push((id, v["text"].as_str().unwrap_or("").to_string()));
        }
        Ok(())
    })?;
    if let Some(n) = args.limit_queries {
        queries.truncate(n);
    }
    let kept: HashSet<&str> = queries.iter().map(|(q, _)| q.as_str()).collect();
    qrels.retain(|q, _| kept.contains(q.as_str()));
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "beir".into());
    Ok(Collection {
        name,
        corpus,
        queries,
        qrels,
    })
}

// ---------------------------------------------------------------------------------------
// Ingestion
// ---------------------------------------------------------------------------------------

/// A document name from a title: path separators and control characters replaced, cut to
/// fit the 255-byte name limit with its `.txt`.
fn title_name(title: &str, id: &str) -> String {
    let clean: String = title
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                ' '
            } else {
                c
            }
        })
        .collect();
    let clean = clean.trim();
    if clean.is_empty() {
        return format!("{id}.txt");
    }
    let mut cut = clean.len().min(200);
    while !clean.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}.txt", clean[..cut].trim_end())
}

struct Ingest {
    reused: bool,
    upload_s: f64,
    parse: Option<bench::ParseRun>,
}

async fn ingest(
    dep: &bench::Deployment,
    tenant_id: &str,
    coll: &Collection,
    args: &BeirArgs,
) -> BenchResult<(Dataset, Ingest)> {
    let tw = args
        .title_weight
        .map_or_else(|| "default".to_string(), |w| w.to_string());
    let ds_name = format!(
        "beir-{}-{:?}-tw{}-n{}",
        coll.name,
        args.doc_name,
        tw,
        coll.corpus.len()
    )
    .to_lowercase();
    if let Some(ds) = dep
        .state
        .meta
        .find_dataset_by_name(tenant_id, &ds_name)
        .await?
    {
        let docs = bench::all_documents(&dep.state, tenant_id, &ds.id).await?;
        let done = docs.iter().filter(|d| d.run == RunStatus::Done).count();
        if done == coll.corpus.len() {
            eprintln!("reusing dataset {ds_name} ({done} documents parsed)");
            return Ok((
                ds,
                Ingest {
                    reused: true,
                    upload_s: 0.0,
                    parse: None,
                },
            ));
        }
        return Err(format!(
            "dataset {ds_name} exists in {} with {done}/{} documents parsed; use a fresh --data-dir",
            dep.dir.display(),
            coll.corpus.len()
        )
        .into());
    }
    let mut dataset = bench::create_dataset(&dep.state, tenant_id, &ds_name, "one").await?;
    if let (Some(w), Value::Object(pc)) = (args.title_weight, &mut dataset.parser_config) {
        pc.insert("filename_embd_weight".into(), json!(w));
        dep.state.meta.update_dataset(&dataset).await?;
    }
    let files: Vec<UploadFile> = coll
        .corpus
        .iter()
        .map(|d| {
            let name = match args.doc_name {
                DocName::Id => format!("{}.txt", d.id),
                DocName::Title => title_name(&d.title, &d.id),
            };
            let body = if d.title.trim().is_empty() {
                d.text.clone()
            } else {
                format!("{}\n{}", d.title, d.text)
            };
            UploadFile {
                name,
                bytes: Bytes::from(body),
            }
        })
        .collect();
    let total = files.len();
    eprintln!("uploading {total} documents into dataset {ds_name}");
    let began = Instant::now();
    let docs = bench::upload_all(&dep.state, tenant_id, &dataset, files, |i| {
        if i % 1000 == 0 {
            eprintln!("  uploaded {i}/{total}");
        }
    })
    .await?;
    // Record each document's corpus id, whatever its name.
    for (doc, entry) in docs.iter().zip(&coll.corpus) {
        let mut d = doc.clone();
        d.meta_fields = json!({"corpus_id": entry.id});
        dep.state.docs.update_document(&d).await?;
    }
    let upload_s = began.elapsed().as_secs_f64();
    eprintln!("parsing {total} documents with {} workers", args.workers);
    let ids: Vec<String> = docs.iter().map(|d| d.id.clone()).collect();
    let run = bench::parse_all(dep, tenant_id, &dataset.id, &ids, args.workers).await?;
    if !run.failed.is_empty() {
        for (n, m) in run.failed.iter().take(5) {
            eprintln!("  FAILED {n}: {m}");
        }
        return Err(format!("{} documents failed to parse", run.failed.len()).into());
    }
    Ok((
        dataset,
        Ingest {
            reused: false,
            upload_s,
            parse: Some(run),
        },
    ))
}

// ---------------------------------------------------------------------------------------
// Timed retrieval runs
// ---------------------------------------------------------------------------------------

struct Ctx {
    state: AppState,
    tenant_id: String,
    datasets: Vec<Dataset>,
    queries: Vec<(String, String)>,
    /// document id → corpus id.
    corpus_of: HashMap<String, String>,
    page_size: usize,
    top_k: usize,
}

impl Ctx {
    fn request(&self, question: &str, w: f32) -> RetrievalRequest {
        RetrievalRequest {
            dataset_ids: self.datasets.iter().map(|d| d.id.clone()).collect(),
            question: question.to_string(),
            page: 1,
            page_size: self.page_size,
            similarity_threshold: 0.0,
            vector_similarity_weight: w,
            top_k: self.top_k,
            highlight: false,
            ..Default::default()
        }
    }

    /// Hits → distinct corpus ids, best first.
    fn ranked<'a>(&self, chunks: impl Iterator<Item = &'a ScoredChunk>) -> Vec<String> {
        let mut seen = HashSet::new();
        chunks
            .filter_map(|c| self.corpus_of.get(&c.chunk.document_id))
            .filter(|id| seen.insert(id.as_str()))
            .cloned()
            .collect()
    }
}

/// Latencies (ms) and throughput of one timed pass.
#[derive(Default)]
struct Timing {
    lat_ms: Vec<f64>,
    wall_s: f64,
    /// CPU time (user + system) this process used meanwhile, all threads.
    cpu_s: Option<f64>,
}

impl Timing {
    fn qps(&self) -> f64 {
        self.lat_ms.len() as f64 / self.wall_s.max(1e-9)
    }
    fn p(&self, p: f64) -> f64 {
        let mut v = self.lat_ms.clone();
        v.sort_by(f64::total_cmp);
        percentile(&v, p)
    }
    fn cpu_ms_per_query(&self) -> Option<f64> {
        self.cpu_s
            .map(|c| c * 1e3 / self.lat_ms.len().max(1) as f64)
    }
    fn json(&self) -> Value {
        json!({
            "queries": self.lat_ms.len(),
            "cpu_ms_per_query": self.cpu_ms_per_query(),
            "qps": self.qps(),
            "p50_ms": self.p(0.5),
            "p99_ms": self.p(0.99),
            "mean_ms": self.lat_ms.iter().sum::<f64>() / self.lat_ms.len().max(1) as f64,
        })
    }
}

/// Run every query through `retrieval::retrieve` at weight `w` with `concurrency` clients.
async fn run_mode(
    ctx: Arc<Ctx>,
    w: f32,
    concurrency: usize,
) -> BenchResult<(HashMap<String, Vec<String>>, Timing)> {
    // Warm-up (untimed): caches, the model's first calls, the allocator.
    for (_, q) in ctx.queries.iter().take(10) {
        retrieval::retrieve(
            &ctx.state,
            &ctx.tenant_id,
            &ctx.datasets,
            &ctx.request(q, w),
        )
        .await?;
    }
    let next = Arc::new(AtomicUsize::new(0));
    let cpu0 = bench::cpu_seconds();
    let began = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (ctx, next) = (ctx.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut out: Vec<(String, Vec<String>, f64)> = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((qid, q)) = ctx.queries.get(i) else {
                    break;
                };
                let t0 = Instant::now();
                let r = retrieval::retrieve(
                    &ctx.state,
                    &ctx.tenant_id,
                    &ctx.datasets,
                    &ctx.request(q, w),
                )
                .await
                .map_err(|e| e.message)?;
                let ms = t0.elapsed().as_secs_f64() * 1e3;
                out.push((
                    qid.clone(),
                    ctx.ranked(r.hits.iter().map(|h| &h.scored)),
                    ms,
                ));
            }
            Ok::<_, String>(out)
        }));
    }
    let mut runs = HashMap::new();
    let mut timing = Timing::default();
    for t in tasks {
        for (qid, ranked, ms) in t.await?? {
            runs.insert(qid, ranked);
            timing.lat_ms.push(ms);
        }
    }
    timing.wall_s = began.elapsed().as_secs_f64();
    timing.cpu_s = cpu0.zip(bench::cpu_seconds()).map(|(a, b)| b - a);
    Ok((runs, timing))
}

/// Time an async step over every query, sequentially.
async fn time_each<F, Fut, T>(
    queries: &[(String, String)],
    mut f: F,
) -> BenchResult<(Vec<T>, Timing)>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = BenchResult<T>>,
{
    for i in 0..queries.len().min(10) {
        f(i).await?;
    }
    let mut out = Vec::with_capacity(queries.len());
    let mut timing = Timing::default();
    let cpu0 = bench::cpu_seconds();
    let began = Instant::now();
    for i in 0..queries.len() {
        let t0 = Instant::now();
        out.push(f(i).await?);
        timing.lat_ms.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    timing.wall_s = began.elapsed().as_secs_f64();
    timing.cpu_s = cpu0.zip(bench::cpu_seconds()).map(|(a, b)| b - a);
    Ok((out, timing))
}

// ---------------------------------------------------------------------------------------
// Alternative fusions (prototypes; the product's `retrieval::rank` is not changed)
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fusion {
    /// The product's: (1−w)·BM25/max + w·cosine (run through `retrieval::rank` itself).
    Current,
    /// Both scores divided by their maximum over the candidates.
    MaxBoth,
    /// Both scores min-max normalised over all candidates, then (1−w)·bm25 + w·vec.
    MinMax,
    /// Min-max over the union of each retriever's top n only (the rest are dropped).
    MinMaxTop(usize),
    /// Each retriever's top n min-max normalised on its own; a candidate outside a
    /// retriever's top n gets 0 from it (the usual "two result lists" hybrid).
    MinMaxTopZero(usize),
    /// Weighted reciprocal rank fusion: (1−w)/(60 + rank_bm25) + w/(60 + rank_vec).
    Rrf,
}

impl Fusion {
    fn label(self) -> String {
        match self {
            Fusion::Current => "current: BM25/max + raw cosine".into(),
            Fusion::MaxBoth => "BM25/max + cosine/max".into(),
            Fusion::MinMax => "min-max both, all candidates".into(),
            Fusion::MinMaxTop(n) => format!("min-max both, top-{n} of each"),
            Fusion::MinMaxTopZero(n) => format!("min-max per top-{n} list, missing = 0"),
            Fusion::Rrf => "weighted RRF (k=60)".into(),
        }
    }
}

const RRF_K: f32 = 60.0;

/// Fused scores of candidates (same order as given); `None` for a candidate the fusion
/// leaves out.
pub fn fuse(cands: &[ScoredChunk], w: f32, how: Fusion) -> Vec<Option<f32>> {
    let term: Vec<f32> = cands.iter().map(|c| c.term_score).collect();
    let vec: Vec<f32> = cands.iter().map(|c| c.vector_score).collect();
    let mix = |t: &[f32], v: &[f32]| -> Vec<Option<f32>> {
        t.iter()
            .zip(v)
            .map(|(&t, &v)| Some((1.0 - w) * t + w * v))
            .collect()
    };
    match how {
        Fusion::Current => mix(&max_norm(&term), &vec),
        Fusion::MaxBoth => mix(&max_norm(&term), &max_norm(&vec)),
        Fusion::MinMax => mix(&min_max(&term), &min_max(&vec)),
        Fusion::MinMaxTop(n) => {
            let keep = top_union(&term, &vec, n);
            let pick = |xs: &[f32]| -> Vec<f32> {
                xs.iter()
                    .zip(&keep)
                    .filter(|(_, &k)| k)
                    .map(|(&x, _)| x)
                    .collect()
            };
            let (t, v) = (min_max(&pick(&term)), min_max(&pick(&vec)));
            let mut fused = mix(&t, &v).into_iter();
            keep.iter()
                .map(|&k| if k { fused.next().flatten() } else { None })
                .collect()
        }
        Fusion::MinMaxTopZero(n) => {
            let list = |xs: &[f32]| -> Vec<f32> {
                let r = ranks(xs);
                let inside: Vec<f32> = xs
                    .iter()
                    .zip(&r)
                    .filter(|(_, r)| r.is_some_and(|r| r <= n))
                    .map(|(&x, _)| x)
                    .collect();
                let min = inside.iter().copied().fold(f32::INFINITY, f32::min);
                let max = inside.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                xs.iter()
                    .zip(&r)
                    .map(|(&x, r)| match r {
                        Some(r) if *r <= n && max > min => (x - min) / (max - min),
                        Some(r) if *r <= n => 1.0,
                        _ => 0.0,
                    })
                    .collect()
            };
            let keep = top_union(&term, &vec, n);
            let fused = mix(&list(&term), &list(&vec));
            fused
                .into_iter()
                .zip(keep)
                .map(|(f, k)| if k { f } else { None })
                .collect()
        }
        Fusion::Rrf => {
            let (rt, rv) = (ranks(&term), ranks(&vec));
            rt.iter()
                .zip(&rv)
                .map(|(a, b)| {
                    let part = |r: &Option<usize>| r.map_or(0.0, |r| 1.0 / (RRF_K + r as f32));
                    Some((1.0 - w) * part(a) + w * part(b))
                })
                .collect()
        }
    }
}

/// x / max (0 when the maximum is not positive).
pub fn max_norm(xs: &[f32]) -> Vec<f32> {
    let max = xs.iter().copied().fold(0.0f32, f32::max);
    xs.iter()
        .map(|&x| if max > 0.0 { x / max } else { 0.0 })
        .collect()
}

/// (x − min)/(max − min); all zeros when the values are all equal.
pub fn min_max(xs: &[f32]) -> Vec<f32> {
    let min = xs.iter().copied().fold(f32::INFINITY, f32::min);
    let max = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let span = max - min;
    xs.iter()
        .map(|&x| if span > 0.0 { (x - min) / span } else { 0.0 })
        .collect()
}

/// Which candidates are among the top n by either score (scores ≤ 0 never count).
fn top_union(a: &[f32], b: &[f32], n: usize) -> Vec<bool> {
    let mut keep = vec![false; a.len()];
    for xs in [a, b] {
        for (i, r) in ranks(xs).into_iter().enumerate() {
            if r.is_some_and(|r| r <= n) {
                keep[i] = true;
            }
        }
    }
    keep
}

/// 1-based rank of each value by descending score; None for scores ≤ 0 (not retrieved
/// by that retriever).
fn ranks(xs: &[f32]) -> Vec<Option<usize>> {
    let mut order: Vec<usize> = (0..xs.len()).filter(|&i| xs[i] > 0.0).collect();
    order.sort_by(|&a, &b| xs[b].total_cmp(&xs[a]));
    let mut out = vec![None; xs.len()];
    for (r, i) in order.into_iter().enumerate() {
        out[i] = Some(r + 1);
    }
    out
}

/// Candidates a fusion kept, ordered by its score (ties: chunk id, as `rank`).
fn order_by(cands: &[ScoredChunk], scores: &[Option<f32>]) -> Vec<usize> {
    let mut idx: Vec<(usize, f32)> = scores
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.map(|s| (i, s)))
        .collect();
    idx.sort_by(|&(a, sa), &(b, sb)| {
        sb.total_cmp(&sa)
            .then_with(|| cands[a].chunk.id.cmp(&cands[b].chunk.id))
    });
    idx.into_iter().map(|(i, _)| i).collect()
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

#[cfg(test)]
mod tests {
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
}
