//! Speed (and output stability) of the built-in embedder.
//!
//! ```text
//! scripts/fetch-model.sh
//! cargo run --release -p lambdarag-models --example embed_bench -- [N]
//! cargo run --release -p lambdarag-models --example embed_bench -- --passages 512 [--batch 32] [--threads 2] [--words 39]
//! cargo run --release -p lambdarag-models --example embed_bench -- --query 300 [--concurrency 2]
//! cargo run --release -p lambdarag-models --example embed_bench -- --dump vectors.json
//! cargo run --release -p lambdarag-models --example embed_bench -- --check vectors.json
//! ```
//!
//! - `N` / `--passages N`: N distinct passages of `--words` words (default 39, ~45 tokens;
//!   250 gives 256-token texts) in one `embed` call (batches of `--batch`, default 32; on up
//!   to `--threads` threads, default all CPUs); reports chunks/s and CPU-ms per chunk.
//! - `--query N` (default 300): N distinct ~15-word queries, one `embed` call each, from
//!   `--concurrency` callers at once (default 1); reports QPS, p50/p99 latency and CPU-ms
//!   per query.
//! - `--dump FILE` / `--check FILE`: write the vectors of a fixed set of texts (queries,
//!   passages, edge cases) as JSON, or compare against such a file and print the largest
//!   absolute difference and the lowest cosine (exit code 1 above 1e-4 in f32, below a
//!   cosine of 0.98 in int8) — to prove a speed change kept the outputs. Dump with
//!   `LAMBDARAG_EMBED_PRECISION=f32`: int8 is the default where the CPU has AVX-512 VNNI.
//!
//! CPU time is the whole process's (`/proc/self/stat`), so it counts every thread's work;
//! on a loaded box it is a steadier figure than wall time.
//! Reads the model from `$LAMBDARAG_MODEL_DIR/all-MiniLM-L6-v2` or `./data/models/...`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lambdarag::ports::Embedder;
use lambdarag_models::{BuiltinEmbedder, Precision};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

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

/// A distinct ~15-word query (seeds far from the passages').
fn query(i: usize) -> String {
    let mut q = passage(1_000_000 + i, 15);
    q.pop();
    q.push('?');
    q
}

/// CPU time (user + system) used so far by the whole process, exited threads included
/// (`/proc/self/stat`, in clock ticks of 10 ms: measure runs of seconds). Zero off Linux.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may contain spaces) in parentheses; utime and
    // stime are fields 14 and 15 of the line, 12 and 13 after ")".
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[idx]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Args {
    mode: Mode,
    batch: usize,
    concurrency: usize,
    threads: Option<usize>,
    words: usize,
}

enum Mode {
    Passages(usize),
    Query(usize),
    Dump(PathBuf),
    Check(PathBuf),
}

fn parse_args() -> Result<Args, BoxError> {
    let mut args = Args {
        mode: Mode::Passages(512),
        batch: 32,
        concurrency: 1,
        threads: None,
        words: 39,
    };
    let mut it = std::env::args().skip(1).peekable();
    let number = |v: Option<String>, what: &str| -> Result<usize, BoxError> {
        v.ok_or_else(|| format!("{what} needs a number"))?
            .parse::<usize>()
            .map_err(|e| format!("{what}: {e}").into())
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--passages" => args.mode = Mode::Passages(number(it.next(), "--passages")?),
            "--query" => {
                let n = match it.peek() {
                    Some(v) if !v.starts_with("--") => number(it.next(), "--query")?,
                    _ => 300,
                };
                args.mode = Mode::Query(n);
            }
            "--batch" => args.batch = number(it.next(), "--batch")?.max(1),
            "--concurrency" => args.concurrency = number(it.next(), "--concurrency")?.max(1),
            "--threads" => args.threads = Some(number(it.next(), "--threads")?),
            "--words" => args.words = number(it.next(), "--words")?.max(1),
            "--dump" => args.mode = Mode::Dump(it.next().ok_or("--dump needs a file")?.into()),
            "--check" => args.mode = Mode::Check(it.next().ok_or("--check needs a file")?.into()),
            n => args.mode = Mode::Passages(n.parse().map_err(|e| format!("{n}: {e}"))?),
        }
    }
    Ok(args)
}

/// Texts whose vectors `--dump`/`--check` compare: short and long, batched together.
fn check_texts() -> Vec<String> {
    let mut texts: Vec<String> = vec![
        "This is an example sentence".into(),
        "".into(),
        "short".into(),
        "Ünïcödé façade — naïve café, 東京 and emoji 🚀!".into(),
        "retrieval augmented generation pipeline ".repeat(120),
    ];
    texts.extend((0..40).map(query));
    texts.extend((0..40).map(|i| passage(i, 39)));
    texts.extend((0..8).map(|i| passage(5000 + i, 1 + i * 25)));
    texts
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = parse_args()?;
    let data_dir = std::env::var_os("LAMBDARAG_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("data"));
    let mut embedder = BuiltinEmbedder::new(Some(data_dir)).with_batch_size(args.batch);
    if let Some(threads) = args.threads {
        embedder = embedder.with_threads(threads);
    }
    let embedder = Arc::new(embedder);

    let started = Instant::now();
    let dir = embedder.preload().await?;
    println!(
        "model: {} (loaded in {} ms); {embedder:?}",
        dir.display(),
        started.elapsed().as_millis(),
    );

    match args.mode {
        Mode::Passages(n) => passages(&embedder, &dir, n, args.batch, args.words).await,
        Mode::Query(n) => queries(&embedder, &dir, n, args.concurrency).await,
        Mode::Dump(file) => {
            let vectors = embedder.embed(&check_texts()).await?;
            std::fs::write(&file, serde_json::to_string(&vectors)?)?;
            println!("wrote {} vectors to {}", vectors.len(), file.display());
            Ok(())
        }
        Mode::Check(file) => {
            let want: Vec<Vec<f32>> = serde_json::from_str(&std::fs::read_to_string(&file)?)?;
            let texts = check_texts();
            // Both all at once (batched, padded) and one at a time.
            let batched = embedder.embed(&texts).await?;
            let mut single = Vec::with_capacity(texts.len());
            for t in &texts {
                single.extend(embedder.embed(std::slice::from_ref(t)).await?);
            }
            let (mut worst, mut lowest) = (0.0f32, 1.0f32);
            for (name, got) in [("batched", &batched), ("one by one", &single)] {
                if got.len() != want.len() {
                    return Err(
                        format!("{name}: {} vectors, want {}", got.len(), want.len()).into(),
                    );
                }
                let diff = got
                    .iter()
                    .zip(&want)
                    .flat_map(|(g, w)| g.iter().zip(w).map(|(a, b)| (a - b).abs()))
                    .fold(0.0f32, f32::max);
                // Both are unit vectors, so the dot product is the cosine.
                let cosine = got
                    .iter()
                    .zip(&want)
                    .map(|(g, w)| g.iter().zip(w).map(|(a, b)| a * b).sum::<f32>())
                    .fold(1.0f32, f32::min);
                println!(
                    "{name}: max |got - reference| = {diff:e}, min cosine {cosine:.6} over {} \
                     texts",
                    got.len()
                );
                worst = worst.max(diff);
                lowest = lowest.min(cosine);
            }
            // f32 promises the reference's values; int8 only their directions.
            match embedder.loaded_precision() {
                Some(Precision::Int8) if lowest < 0.98 => {
                    return Err(format!("int8: a cosine of {lowest} (limit 0.98)").into());
                }
                Some(Precision::F32) if worst >= 1e-4 => {
                    return Err(format!("outputs moved by {worst:e} (limit 1e-4)").into());
                }
                _ => {}
            }
            Ok(())
        }
    }
}

async fn passages(
    embedder: &BuiltinEmbedder,
    dir: &std::path::Path,
    n: usize,
    batch: usize,
    words: usize,
) -> Result<(), BoxError> {
    // 39 words ≈ 45 tokens with [CLS]/[SEP] for this vocabulary; 250 words hit the 256 cap.
    let texts: Vec<String> = (0..n).map(|i| passage(i, words)).collect();
    println!(
        "passages: {n}, mean {:.1} tokens each, batch {batch}",
        mean_tokens(dir, &texts)?
    );

    // Warm up (allocator, thread pool).
    embedder.embed(&texts[..texts.len().min(batch)]).await?;

    let cpu0 = cpu_time();
    let started = Instant::now();
    let vectors = embedder.embed(&texts).await?;
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_time().saturating_sub(cpu0);
    assert_eq!(vectors.len(), n);
    println!(
        "embedded {n} passages in {secs:.2} s: {:.1} chunks/s, {:.2} ms/chunk, {:.2} CPU-ms/chunk \
         ({:.2} cores busy)",
        n as f64 / secs,
        secs * 1000.0 / n.max(1) as f64,
        ms(cpu) / n.max(1) as f64,
        cpu.as_secs_f64() / secs
    );
    Ok(())
}

/// Mean token count of `texts` as the embedder sees them ([CLS] and [SEP] included).
fn mean_tokens(dir: &std::path::Path, texts: &[String]) -> Result<f64, BoxError> {
    let mut tokenizer = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json"))?;
    // The shipped tokenizer.json pads and truncates at 128; the embedder does not pad and
    // truncates at 256.
    tokenizer.with_padding(None);
    tokenizer.with_truncation(Some(tokenizers::TruncationParams {
        max_length: 256,
        ..Default::default()
    }))?;
    let tokens: usize = texts
        .iter()
        .map(|t| {
            tokenizer
                .encode_fast(t.as_str(), true)
                .map(|e| e.get_ids().len())
        })
        .sum::<Result<usize, _>>()?;
    Ok(tokens as f64 / texts.len().max(1) as f64)
}

async fn queries(
    embedder: &Arc<BuiltinEmbedder>,
    dir: &std::path::Path,
    n: usize,
    concurrency: usize,
) -> Result<(), BoxError> {
    let texts: Arc<Vec<String>> = Arc::new((0..n).map(query).collect());
    let tokens = mean_tokens(dir, &texts)?;
    // Warm up with texts that are not measured.
    for i in 0..20 {
        embedder.embed(&[query(2_000_000 + i)]).await?;
    }

    let cpu0 = cpu_time();
    let started = Instant::now();
    let mut callers = Vec::with_capacity(concurrency);
    for c in 0..concurrency {
        let embedder = Arc::clone(embedder);
        let texts = Arc::clone(&texts);
        callers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for text in texts.iter().skip(c).step_by(concurrency) {
                let t = Instant::now();
                let v = embedder.embed(std::slice::from_ref(text)).await?;
                latencies.push(t.elapsed());
                assert_eq!(v.len(), 1);
            }
            Ok::<_, lambdarag::ports::ModelError>(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(n);
    for c in callers {
        latencies.extend(c.await??);
    }
    let wall = started.elapsed();
    let cpu = cpu_time().saturating_sub(cpu0);
    latencies.sort();
    let mean = latencies.iter().sum::<Duration>() / latencies.len().max(1) as u32;
    println!(
        "queries: {n} distinct, 15 words ({tokens:.1} tokens) each, one per call, \
         {concurrency} concurrent caller(s)\n\
         {:.1} QPS; latency p50 {:.2} ms, p99 {:.2} ms, mean {:.2} ms, max {:.2} ms; \
         {:.2} CPU-ms/query ({:.2} cores busy)",
        n as f64 / wall.as_secs_f64(),
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        ms(mean),
        ms(percentile(&latencies, 1.0)),
        ms(cpu) / n.max(1) as f64,
        cpu.as_secs_f64() / wall.as_secs_f64()
    );
    Ok(())
}
