//! The agent runtime: reads a canvas DSL, runs one turn of it component by component, and
//! reports what happens as `AgentEvent`s. One code path for every deployment: the outside
//! world (retrieval, chat models) comes in through `AgentEnv`.
//!
//! The DSL is upstream's (see `../shared/reference/agent-dsl/README.md`): `components` maps
//! an id to `{obj: {component_name, params}, downstream, upstream}`; `globals` holds the
//! `sys.*` values; `history`, `path` and `retrieval` are run state kept in the session's
//! copy of the canvas.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::ports::chat::{ChatMessage, DeltaStream, GenOptions};

mod components;
mod dsl;
mod engine;
mod refs;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

/// Component names the runtime runs. Anything else is refused when a canvas is stored.
pub const SUPPORTED_COMPONENTS: &[&str] = &[
    "Begin",
    "Retrieval",
    "LLM",
    "Agent",
    "Message",
    "Categorize",
    "Switch",
    "VariableAggregator",
    "Iteration",
    "IterationItem",
];

/// Why a DSL cannot be stored or run. `Display` is the message the client sees.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DslError {
    #[error("{0}")]
    Invalid(String),
    /// A component (or an Agent tool) the runtime does not run.
    #[error("Component `{component_name}` ({component_id}) is not supported by lambdarag; supported components: {supported}.")]
    Unsupported {
        component_id: String,
        component_name: String,
        supported: String,
    },
}

/// Check a canvas before it is stored: the shape, every component known, references to
/// existing components, exactly one Begin, Agent tools limited to Retrieval. Callers pass
/// the canvas itself, not a template's wrapper. When several components are unsupported,
/// `Unsupported` names them all (ids and names joined).
pub fn validate_dsl(dsl: &Value) -> Result<(), DslError> {
    dsl::validate_dsl(dsl)
}

/// The canvas a new session starts from: run state (history, path, retrieval, messages,
/// reference) cleared, `globals` back to their initial values.
pub fn reset_for_session(dsl: &Value) -> Value {
    dsl::reset_for_session(dsl)
}

/// The Begin component's prologue, if it has one and it is enabled.
pub fn prologue(dsl: &Value) -> Option<String> {
    dsl::prologue(dsl)
}

/// What the client asked in one turn.
#[derive(Debug, Clone, Default)]
pub struct RunInput {
    pub query: String,
    /// Begin's input variables, `{name: {type, value}}` or `{name: value}`.
    pub inputs: Map<String, Value>,
    pub user_id: String,
    pub files: Vec<Value>,
}

/// A retrieval a Retrieval component (or the Agent's retrieval tool) asks for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RetrievalCall {
    pub dataset_ids: Vec<String>,
    pub question: String,
    pub top_n: usize,
    pub top_k: usize,
    pub similarity_threshold: f32,
    /// Weight of the keyword score (upstream's `keywords_similarity_weight`).
    pub keywords_similarity_weight: f32,
    pub rerank_id: Option<String>,
    pub use_kg: bool,
}

/// What a retrieval found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RetrievalOutput {
    /// `chunks_format` objects: id, content, document_id, document_name, dataset_id,
    /// image_id, positions, url, similarity, vector_similarity, term_similarity, doc_type.
    pub chunks: Vec<Value>,
    /// `{doc_name, doc_id, count}` objects.
    pub doc_aggs: Vec<Value>,
}

/// The world the runtime runs in.
#[async_trait]
pub trait AgentEnv: Send + Sync {
    async fn retrieve(&self, call: &RetrievalCall) -> Result<RetrievalOutput, String>;
    /// Start a generation with `llm_id` (empty: the tenant's default chat model). Returns
    /// the model id actually used (`…@Builtin` is the extractive answerer, which answers
    /// from `opts.context` only) and its stream.
    async fn generate(
        &self,
        llm_id: &str,
        messages: &[ChatMessage],
        opts: &GenOptions,
    ) -> Result<(String, DeltaStream), String>;
}

/// A finished component, as upstream's `node_finished` event data reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRecord {
    pub component_id: String,
    /// The component's display name (upstream: the graph node's label, else the id).
    pub component_name: String,
    pub component_type: String,
    pub inputs: Value,
    pub outputs: Value,
    pub error: Option<String>,
    /// Seconds.
    pub elapsed_time: f64,
    /// Seconds since the run started (upstream: a monotonic clock).
    pub created_at: f64,
}

/// What a turn reports while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentEvent {
    /// A piece of a Message component's text.
    Message {
        content: String,
    },
    /// A Message component finished; `reference` is `{"chunks": {"0": chunk, ...},
    /// "doc_aggs": {name: {doc_name, doc_id, count}}}` or `{}`.
    MessageEnd {
        reference: Value,
    },
    NodeFinished(NodeRecord),
}

/// How a turn ended.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunOutcome {
    /// Every Message text of the turn, concatenated.
    pub content: String,
    /// The merged reference of the turn (shape as in `MessageEnd`), `{}` when none.
    pub reference: Value,
    /// Set when a component failed and the run stopped.
    pub error: Option<String>,
}

/// Run one turn of the canvas `dsl` (the session's copy, whose run state this advances)
/// for `input`, sending events as they happen. A closed `events` channel (the client went
/// away) does not stop the turn: the session still records it.
///
/// Components run from Begin along `downstream` (Categorize and Switch choose among theirs),
/// each at most once per turn (Iteration children once per item); a walk runs at most
/// 200 components. A failing component stops the turn: its `NodeFinished` and the outcome
/// carry the error. The turn's query and answer join `history`, the components run join
/// `path`, and its chunks join `retrieval`.
pub async fn run_turn(
    dsl: &mut Value,
    input: RunInput,
    env: &dyn AgentEnv,
    events: tokio::sync::mpsc::Sender<AgentEvent>,
) -> RunOutcome {
    engine::run_turn_limited(dsl, input, env, events, engine::MAX_STEPS).await
}
