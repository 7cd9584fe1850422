//! Test helpers: a fake world (canned retrieval, an echoing, scripted, failing or built-in
//! model) and small constructors.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use super::dsl::{Canvas, Node};
use super::engine::{Turn, MAX_STEPS};
use super::{AgentEnv, AgentEvent, RetrievalCall, RetrievalOutput};
use crate::ports::chat::{iter_stream, ChatDelta, ChatMessage, DeltaStream, GenOptions};
use crate::ports::ModelError;

pub(crate) enum Model {
    /// Answers `echo: <last user message>`.
    Echo,
    /// Answers the scripted replies in order, then echoes.
    Scripted(Mutex<VecDeque<String>>),
    /// `extractive-answerer@Builtin`: answers with the context, `[ID:n]`-cited.
    Builtin,
    /// Refuses to start.
    Fail,
}

pub(crate) struct FakeEnv {
    pub model: Model,
    /// Returned by every retrieval with at least one dataset.
    pub chunks: Vec<Value>,
    pub fail_retrieval: bool,
    pub retrievals: Mutex<Vec<RetrievalCall>>,
    pub generations: Mutex<Vec<(String, Vec<ChatMessage>, GenOptions)>>,
}

impl FakeEnv {
    fn with(model: Model) -> Self {
        FakeEnv {
            model,
            chunks: vec![
                chunk("c1", "rust.md", "Rust is a systems programming language."),
                chunk("c2", "go.md", "Go has a garbage collector."),
            ],
            fail_retrieval: false,
            retrievals: Mutex::new(Vec::new()),
            generations: Mutex::new(Vec::new()),
        }
    }
    pub fn echo() -> Self {
        Self::with(Model::Echo)
    }
    pub fn scripted(replies: &[&str]) -> Self {
        Self::with(Model::Scripted(Mutex::new(
            replies.iter().map(|r| r.to_string()).collect(),
        )))
    }
    pub fn builtin() -> Self {
        Self::with(Model::Builtin)
    }
    pub fn failing() -> Self {
        Self::with(Model::Fail)
    }
    pub fn retrieval_calls(&self) -> Vec<RetrievalCall> {
        self.retrievals.lock().unwrap().clone()
    }
    pub fn generation_calls(&self) -> Vec<(String, Vec<ChatMessage>, GenOptions)> {
        self.generations.lock().unwrap().clone()
    }
}

#[async_trait]
impl AgentEnv for FakeEnv {
    async fn retrieve(&self, call: &RetrievalCall) -> Result<RetrievalOutput, String> {
        self.retrievals.lock().unwrap().push(call.clone());
        if self.fail_retrieval {
            return Err("the search index is down".into());
        }
        if call.dataset_ids.is_empty() {
            return Ok(RetrievalOutput::default());
        }
        Ok(RetrievalOutput {
            chunks: self.chunks.clone(),
            doc_aggs: vec![],
        })
    }

    async fn generate(
        &self,
        llm_id: &str,
        messages: &[ChatMessage],
        opts: &GenOptions,
    ) -> Result<(String, DeltaStream), String> {
        self.generations.lock().unwrap().push((
            llm_id.to_string(),
            messages.to_vec(),
            opts.clone(),
        ));
        let last_user = messages
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .map(|m| m.content.clone())
            .unwrap_or_default();
        let (id, text) = match &self.model {
            Model::Fail => return Err("model unreachable".into()),
            Model::Echo => (llm_id.to_string(), format!("echo: {last_user}")),
            Model::Scripted(q) => {
                let next = q.lock().unwrap().pop_front();
                (
                    llm_id.to_string(),
                    next.unwrap_or_else(|| format!("echo: {last_user}")),
                )
            }
            Model::Builtin => {
                let parts: Vec<String> = opts
                    .context
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        if opts.cite {
                            format!("{} [ID:{i}]", c.content)
                        } else {
                            c.content.clone()
                        }
                    })
                    .collect();
                let text = if parts.is_empty() {
                    "Nothing relevant was found.".to_string()
                } else {
                    parts.join(" ")
                };
                ("extractive-answerer@Builtin".to_string(), text)
            }
        };
        // Two pieces, to exercise collecting a stream.
        let mid = text
            .char_indices()
            .nth(text.chars().count() / 2)
            .map_or(0, |(i, _)| i);
        let items: Vec<Result<ChatDelta, ModelError>> = vec![
            Ok(ChatDelta::text(&text[..mid])),
            Ok(ChatDelta::text(&text[mid..])),
        ];
        Ok((id, iter_stream(items)))
    }
}

pub(crate) fn chunk(id: &str, doc: &str, content: &str) -> Value {
    json!({
        "id": id, "content": content, "document_id": format!("doc-{doc}"),
        "document_name": doc, "dataset_id": "kb1", "similarity": 0.9
    })
}

pub(crate) fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

pub(crate) fn node(id: &str, kind: &str, params: Value) -> Node {
    Node {
        id: id.into(),
        kind: kind.into(),
        label: id.into(),
        params: obj(params),
        downstream: vec![],
        parent_id: None,
    }
}

pub(crate) fn turn<'a>(
    env: &'a FakeEnv,
    canvas: &'a Canvas,
) -> (Turn<'a>, mpsc::Receiver<AgentEvent>) {
    let (tx, rx) = mpsc::channel(1000);
    let mut t = Turn::new(env, canvas, tx, MAX_STEPS);
    t.query = "what is rust".into();
    t.vars
        .globals
        .insert("sys.query".into(), json!("what is rust"));
    (t, rx)
}

/// Every event sent so far.
pub(crate) fn drain(rx: &mut mpsc::Receiver<AgentEvent>) -> Vec<AgentEvent> {
    let mut out = Vec::new();
    while let Ok(e) = rx.try_recv() {
        out.push(e);
    }
    out
}

/// A canvas from `(id, kind, params, downstream)` rows; `begin` must be among them.
pub(crate) fn dsl(rows: &[(&str, &str, Value, &[&str])]) -> Value {
    let mut components = Map::new();
    for (id, kind, params, down) in rows {
        components.insert(
            id.to_string(),
            json!({"obj": {"component_name": kind, "params": params}, "downstream": down, "upstream": []}),
        );
    }
    json!({
        "components": components,
        "history": [], "path": [], "retrieval": {"chunks": [], "doc_aggs": []},
        "globals": {"sys.query": "", "sys.user_id": "", "sys.conversation_turns": 0, "sys.files": []}
    })
}
