//! `lambdarag bench ingest`: ingest a folder through the real embedded path and report
//! throughput and memory.
//!
//! The path measured is the product's: a tenant and a dataset are created, every file goes
//! through `documents::upload`, then `documents::parse` enqueues the tasks on the durable
//! SQLite queue and in-process `pipeline::run_worker` tasks drain it (parse, chunk, embed,
//! index into tantivy). With `--no-embed` the embedding model is replaced by a constant
//! embedder that costs nothing, so what remains is parse + chunk + index.
//!
//! The helpers here (a fresh deployment, upload + parse + drain) are shared with `eval`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use clap::{Args, Subcommand};
use lambdarag::domain::{Dataset, Document, DocumentListQuery, RunStatus, Tenant};
use lambdarag::ports::{Embedder, EmbedderRegistry, ModelError, PollingQueue as _};
use lambdarag::services::documents::{self, UploadFile};
use lambdarag::AppState;
use serde_json::{json, Map, Value};

mod scale;

pub type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Subcommand)]
pub enum BenchCmd {
    /// Ingest every file of a folder through the real upload → parse → chunk → embed →
    /// index path, on a fresh data directory, and report throughput and peak memory.
    Ingest(IngestArgs),
    /// Retrieval latency, RSS and index size as the collection grows (5k, 50k, 100k
    /// chunks by default), on a collection built from a BEIR corpus's texts.
    Scale(scale::ScaleArgs),
}

#[derive(Args)]
pub struct IngestArgs {
    /// Folder whose files (recursively; hidden files skipped) are ingested.
    pub folder: PathBuf,
    /// Replace the embedding model by a zero-cost constant embedder: measures parse, chunk
    /// and index only.
    #[arg(long)]
    pub no_embed: bool,
    /// Parse workers (tasks polling the queue), as `serve --workers` (same default).
    #[arg(long, default_value_t = 32)]
    pub workers: usize,
    /// Chunk method of the dataset (`naive`, `one`, `manual`, ...).
    #[arg(long, default_value = "naive")]
    pub chunk_method: String,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// The data directory to use: the global `--data-dir` only when it was given on the
/// command line. Its default (`./data`) and `LAMBDARAG_DATA_DIR` are deliberately ignored,
/// so a benchmark never writes into a real deployment's data by accident.
pub fn explicit_data_dir(command: clap::Command, parsed: &Path) -> Option<PathBuf> {
    let matches = command.try_get_matches_from(std::env::args_os()).ok()?;
    (matches.value_source("data_dir") == Some(clap::parser::ValueSource::CommandLine))
        .then(|| parsed.to_path_buf())
}

// ---------------------------------------------------------------------------------------
// The deployment under test
// ---------------------------------------------------------------------------------------

/// A zero-cost embedder: every text maps to the same unit vector (384 dimensions, as the
/// built-in model), so ingestion measures everything but the model.
pub struct ConstEmbedder;

const CONST_DIM: usize = 384;

#[async_trait]
impl Embedder for ConstEmbedder {
    fn model_id(&self) -> &str {
        "constant@bench"
    }
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        let x = 1.0 / (CONST_DIM as f32).sqrt();
        Ok(texts.iter().map(|_| vec![x; CONST_DIM]).collect())
    }
}

struct ConstRegistry;

impl EmbedderRegistry for ConstRegistry {
    fn embedder(&self, _: &Tenant, _: &str) -> Result<Arc<dyn Embedder>, ModelError> {
        Ok(Arc::new(ConstEmbedder))
    }
}

/// An opened embedded deployment (and the temporary folder holding it, if any).
pub struct Deployment {
    pub state: AppState,
    pub queue: Arc<lambdarag_embedded::SqliteQueue>,
    pub dir: PathBuf,
    /// Load time of the embedding model, when it was preloaded.
    pub model_load: Option<Duration>,
    _tmp: Option<tempfile::TempDir>,
}

/// Open the embedded deployment at `dir`, or in a fresh temporary folder. With `embed`
/// the built-in model is loaded before returning (so no measurement includes its load).
pub async fn open_deployment(dir: Option<PathBuf>, embed: bool) -> BenchResult<Deployment> {
    let (dir, tmp) = match dir {
        Some(d) => (d, None),
        None => {
            let t = tempfile::Builder::new()
                .prefix("lambdarag-bench-")
                .tempdir()?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    let embedded = lambdarag_embedded::open(&dir)?;
    let (state, model_load) = if embed {
        let registry = lambdarag_models::ModelRegistry::new(Some(dir.clone()));
        let began = Instant::now();
        let from = registry.builtin().preload().await?;
        let took = began.elapsed();
        eprintln!(
            "embedding model loaded from {} in {:.2}s",
            from.display(),
            took.as_secs_f64()
        );
        let registry = Arc::new(registry);
        (
            embedded
                .state
                .with_embedders(registry.clone())
                .with_rerankers(registry),
            Some(took),
        )
    } else {
        (embedded.state.with_embedders(Arc::new(ConstRegistry)), None)
    };
    Ok(Deployment {
        state,
        queue: embedded.queue,
        dir,
        model_load,
        _tmp: tmp,
    })
}

/// The tenant named `name`, created if missing.
pub async fn tenant_named(state: &AppState, name: &str) -> BenchResult<Tenant> {
    if let Some(t) = state
        .meta
        .list_tenants()
        .await?
        .into_iter()
        .find(|t| t.name == name)
    {
        return Ok(t);
    }
    Ok(lambdarag::services::auth::create_tenant(state.meta.as_ref(), name).await?)
}

/// Create a dataset through the same validation and creation code as `POST /datasets`.
pub async fn create_dataset(
    state: &AppState,
    tenant_id: &str,
    name: &str,
    chunk_method: &str,
) -> BenchResult<Dataset> {
    let mut body = Map::new();
    body.insert("name".into(), json!(name));
    body.insert("chunk_method".into(), json!(chunk_method));
    let fields = lambdarag::services::datasets::validate_create(&body)?;
    Ok(lambdarag::services::datasets::create(state, tenant_id, fields).await?)
}

/// Every document of a dataset.
pub async fn all_documents(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
) -> BenchResult<Vec<Document>> {
    Ok(state
        .docs
        .list_documents(tenant_id, dataset_id, &DocumentListQuery::all())
        .await?
        .0)
}

/// Upload files one by one through `documents::upload` (so one refused file does not
/// hide the others), returning the created documents in input order.
pub async fn upload_all(
    state: &AppState,
    tenant_id: &str,
    dataset: &Dataset,
    files: Vec<UploadFile>,
    mut after_each: impl FnMut(usize),
) -> BenchResult<Vec<Document>> {
    let mut out = Vec::with_capacity(files.len());
    for (i, f) in files.into_iter().enumerate() {
        let name = f.name.clone();
        let mut docs = documents::upload(
            state,
            tenant_id,
            dataset,
            vec![f],
            fn_documents::MAX_FILE_BYTES,
        )
        .await
        .map_err(|e| format!("upload of {name} failed: {}", e.message))?;
        let doc = docs
            .pop()
            .ok_or_else(|| format!("upload of {name} returned no document"))?;
        out.push(doc);
        after_each(i + 1);
    }
    Ok(out)
}

/// How parsing a set of documents went.
pub struct ParseRun {
    pub wall: Duration,
    /// CPU seconds (user + system, all threads) the process used meanwhile.
    pub cpu_s: Option<f64>,
    pub done: usize,
    pub failed: Vec<(String, String)>,
    pub chunks: i64,
    pub tokens: i64,
}

/// Start `workers` pipeline workers, enqueue every document through `documents::parse`
/// (in batches, as a client would), and wait until the queue is drained.
pub async fn parse_all(
    dep: &Deployment,
    tenant_id: &str,
    dataset_id: &str,
    doc_ids: &[String],
    workers: usize,
) -> BenchResult<ParseRun> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let cpu0 = cpu_seconds();
    let began = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..workers.max(1) {
        handles.push(tokio::spawn(lambdarag_ingest::pipeline::run_worker(
            dep.state.clone(),
            dep.queue.clone(),
            lambdarag_ingest::pipeline::PipelineConfig::default(),
            Duration::from_secs(600),
            stop_rx.clone(),
        )));
    }
    for batch in doc_ids.chunks(256) {
        let mut req = Map::new();
        req.insert("document_ids".into(), json!(batch));
        documents::parse(&dep.state, tenant_id, dataset_id, &req)
            .await
            .map_err(|e| format!("parse request failed: {}", e.message))?;
    }
    let total = doc_ids.len() as u64;
    let mut last_report = Instant::now();
    loop {
        let pending = dep.queue.pending().await?;
        if pending == 0 {
            break;
        }
        if last_report.elapsed() >= Duration::from_secs(10) {
            last_report = Instant::now();
            eprintln!(
                "  parsing: {}/{} documents done, {:.0}s",
                total.saturating_sub(pending),
                total,
                began.elapsed().as_secs_f64()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let wall = began.elapsed();
    let cpu_s = cpu0.zip(cpu_seconds()).map(|(a, b)| b - a);
    let _ = stop_tx.send(true);
    for h in handles {
        let _ = tokio::time::timeout(Duration::from_secs(30), h).await;
    }
    let wanted: std::collections::HashSet<&str> = doc_ids.iter().map(String::as_str).collect();
    let docs = all_documents(&dep.state, tenant_id, dataset_id).await?;
    let mut run = ParseRun {
        wall,
        cpu_s,
        done: 0,
        failed: vec![],
        chunks: 0,
        tokens: 0,
    };
    for d in docs.iter().filter(|d| wanted.contains(d.id.as_str())) {
        match d.run {
            RunStatus::Done => {
                run.done += 1;
                run.chunks += d.chunk_count;
                run.tokens += d.token_count;
            }
            _ => {
                let why = d.progress_msg.lines().last().unwrap_or("").to_string();
                run.failed.push((d.name.clone(), why));
            }
        }
    }
    Ok(run)
}

/// Peak and current resident set size of this process, in kB (`VmHWM`, `VmRSS`).
pub fn memory_kb() -> (Option<u64>, Option<u64>) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return (None, None);
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// CPU time (user + system, all threads) this process has used, in seconds, from
/// `/proc/self/stat` (clock ticks, assumed 100 per second as on every Linux default).
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the `(comm)`, which may itself hold spaces: state is field 3, utime 14,
    // stime 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some((ticks(11)? + ticks(12)?) as f64 / 100.0)
}

/// The 1-minute load average, for the record (other work on the machine skews timings).
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// CPU model and core count, for the record.
pub fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|r| r.trim_start_matches([' ', '\t', ':']).trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    json!({"cpu": cpu, "cores": cores, "load_average_1m": load_average()})
}

// ---------------------------------------------------------------------------------------
// bench ingest
// ---------------------------------------------------------------------------------------

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<Vec<_>, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = e.path();
        let kind = e.file_type()?;
        if kind.is_dir() {
            collect_files(&path, out)?;
        } else if kind.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

pub async fn run(cmd: BenchCmd, data_dir: Option<PathBuf>) -> BenchResult {
    match cmd {
        BenchCmd::Ingest(args) => ingest(args, data_dir).await,
        BenchCmd::Scale(args) => scale::scale(args, data_dir).await,
    }
}

async fn ingest(args: IngestArgs, data_dir: Option<PathBuf>) -> BenchResult {
    let mut paths = Vec::new();
    collect_files(&args.folder, &mut paths)
        .map_err(|e| format!("cannot read {}: {e}", args.folder.display()))?;
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut input_bytes = 0u64;
    for p in paths {
        let name = p
            .strip_prefix(&args.folder)
            .unwrap_or(&p)
            .to_string_lossy()
            .replace('/', "_");
        if documents::file_type(&name) == "other" {
            skipped.push(name);
            continue;
        }
        let bytes = std::fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        input_bytes += bytes.len() as u64;
        files.push(UploadFile {
            name,
            bytes: Bytes::from(bytes),
        });
    }
    if files.is_empty() {
        return Err(format!("no ingestible files under {}", args.folder.display()).into());
    }
    let n_files = files.len();

    let machine = machine();
    let dep = open_deployment(data_dir, !args.no_embed).await?;
    eprintln!("data dir: {}", dep.dir.display());
    let tenant = tenant_named(&dep.state, "bench").await?;
    let ds_name = format!("bench-ingest-{}", lambdarag::contract::ids::new_id());
    let dataset = create_dataset(&dep.state, &tenant.id, &ds_name, &args.chunk_method).await?;

    let began = Instant::now();
    let docs = upload_all(&dep.state, &tenant.id, &dataset, files, |_| {}).await?;
    let upload = began.elapsed();
    let ids: Vec<String> = docs.iter().map(|d| d.id.clone()).collect();
    let run = parse_all(&dep, &tenant.id, &dataset.id, &ids, args.workers).await?;
    let (peak_kb, rss_kb) = memory_kb();

    let secs = run.wall.as_secs_f64().max(1e-9);
    let mb = input_bytes as f64 / 1e6;
    let embedder = if args.no_embed {
        "none (constant vectors)".to_string()
    } else {
        dataset.embedding_model.clone()
    };
    let report = json!({
        "folder": args.folder.display().to_string(),
        "machine": machine,
        "workers": args.workers,
        "chunk_method": args.chunk_method,
        "embedder": embedder,
        "model_load_s": dep.model_load.map(|d| d.as_secs_f64()),
        "files": n_files,
        "skipped_unsupported": skipped,
        "input_mb": mb,
        "upload_s": upload.as_secs_f64(),
        "parse_wall_s": secs,
        "parse_cpu_s": run.cpu_s,
        "documents_done": run.done,
        "documents_failed": run.failed.len(),
        "failures": run.failed.iter().map(|(n, m)| json!({"name": n, "message": m})).collect::<Vec<_>>(),
        "chunks": run.chunks,
        "tokens": run.tokens,
        "documents_per_s": run.done as f64 / secs,
        "mb_per_s": mb / secs,
        "chunks_per_s": run.chunks as f64 / secs,
        "tokens_per_s": run.tokens as f64 / secs,
        "peak_rss_mb": peak_kb.map(|k| k as f64 / 1024.0),
        "rss_end_mb": rss_kb.map(|k| k as f64 / 1024.0),
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let f = |k: &str| report[k].as_f64().unwrap_or(f64::NAN);
    println!(
        "lambdarag bench ingest — {} ({} files, {:.2} MB)",
        args.folder.display(),
        n_files,
        mb
    );
    println!(
        "machine: {} ({} cores, load average {} at start); workers {}; chunk method {}; embedder {}",
        report["machine"]["cpu"].as_str().unwrap_or("?"),
        report["machine"]["cores"],
        report["machine"]["load_average_1m"],
        args.workers,
        args.chunk_method,
        embedder
    );
    println!();
    println!("| metric | value |");
    println!("|---|---|");
    println!(
        "| upload (documents::upload) | {:.2} s |",
        upload.as_secs_f64()
    );
    println!("| parse+chunk+embed+index wall | {secs:.2} s |");
    if let Some(cpu) = run.cpu_s {
        println!(
            "| CPU used meanwhile (user+sys) | {cpu:.2} s = {:.1} ms/document |",
            cpu * 1e3 / run.done.max(1) as f64
        );
    }
    println!(
        "| documents done / failed | {} / {} |",
        run.done,
        run.failed.len()
    );
    println!("| documents/s | {:.1} |", f("documents_per_s"));
    println!("| MB/s | {:.3} |", f("mb_per_s"));
    println!("| chunks | {} |", run.chunks);
    println!("| chunks/s | {:.1} |", f("chunks_per_s"));
    println!("| tokens (cl100k) | {} |", run.tokens);
    println!("| tokens/s | {:.0} |", f("tokens_per_s"));
    println!("| peak RSS (VmHWM) | {:.0} MB |", f("peak_rss_mb"));
    if let Some(load) = dep.model_load {
        println!(
            "| model load (not in the wall time) | {:.2} s |",
            load.as_secs_f64()
        );
    }
    if !skipped.is_empty() {
        println!("\nskipped (unsupported type): {}", skipped.join(", "));
    }
    for (name, why) in &run.failed {
        println!("FAILED {name}: {why}");
    }
    Ok(())
}
