//! Running one turn: the walk along `downstream`, the turn's shared state (variables,
//! retrieved chunks, Message texts) and the run state written back into the canvas.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use super::components::registry;
use super::dsl::{Canvas, Node};
use super::refs::Vars;
use super::{AgentEnv, AgentEvent, NodeRecord, RunInput, RunOutcome};
use crate::ports::chat::ChatMessage;

/// Components one walk (the canvas, or one item of an Iteration) may run.
pub(crate) const MAX_STEPS: usize = 200;

/// What a component did.
#[derive(Debug, Clone, Default)]
pub(crate) struct Step {
    /// What it read, for the `node_finished` record.
    pub inputs: Map<String, Value>,
    pub outputs: Map<String, Value>,
    /// The components to go on with, when the component chooses (Categorize, Switch);
    /// `None` follows `downstream`.
    pub next: Option<Vec<String>>,
}

/// A component failure: the message and what the component had read.
pub(crate) type StepResult = Result<Step, String>;

/// The state of a turn while it runs.
pub(crate) struct Turn<'a> {
    pub env: &'a dyn AgentEnv,
    pub canvas: &'a Canvas,
    events: mpsc::Sender<AgentEvent>,
    pub vars: Vars,
    pub query: String,
    pub inputs: Map<String, Value>,
    /// `(role, text)` of earlier turns.
    pub history: Vec<(String, String)>,
    /// Chunks retrieved this turn, in reference order.
    pub chunks: Vec<Value>,
    /// Every Message text so far.
    pub content: String,
    pub path: Vec<String>,
    /// Begin input values given this turn, kept in the canvas for later turns.
    pub remembered_inputs: Map<String, Value>,
    /// Which components retrieved which chunks (indices into `chunks`).
    pub chunk_sources: HashMap<String, Vec<usize>>,
    /// The item (and its index) of the innermost running Iteration.
    pub current_item: Option<(Value, usize)>,
    started: Instant,
    max_steps: usize,
}

type WalkFuture<'b> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'b>>;

impl<'a> Turn<'a> {
    pub fn new(
        env: &'a dyn AgentEnv,
        canvas: &'a Canvas,
        events: mpsc::Sender<AgentEvent>,
        max_steps: usize,
    ) -> Self {
        let vars = Vars {
            ids: canvas.nodes.iter().map(|n| n.id.clone()).collect(),
            ..Default::default()
        };
        Turn {
            env,
            canvas,
            events,
            vars,
            query: String::new(),
            inputs: Map::new(),
            history: Vec::new(),
            chunks: Vec::new(),
            content: String::new(),
            path: Vec::new(),
            remembered_inputs: Map::new(),
            chunk_sources: HashMap::new(),
            current_item: None,
            started: Instant::now(),
            max_steps,
        }
    }

    /// Send an event; a client that went away does not stop the turn.
    pub async fn emit(&self, event: AgentEvent) {
        let _ = self.events.send(event).await;
    }

    /// Add retrieved chunks to the turn's reference (a chunk seen before keeps its place).
    /// Returns each chunk's index in the reference.
    pub fn add_chunks(&mut self, chunks: &[Value]) -> Vec<usize> {
        let mut out = Vec::with_capacity(chunks.len());
        for c in chunks {
            let id = chunk_id(c);
            let known = id.as_ref().and_then(|id| {
                self.chunks
                    .iter()
                    .position(|k| chunk_id(k).as_ref() == Some(id))
            });
            match known {
                Some(i) => out.push(i),
                None => {
                    out.push(self.chunks.len());
                    self.chunks.push(c.clone());
                }
            }
        }
        out
    }

    /// The turn's reference as events and the outcome report it: `{}` without chunks.
    pub fn reference(&self) -> Value {
        if self.chunks.is_empty() {
            return json!({});
        }
        let mut chunks = Map::new();
        for (i, c) in self.chunks.iter().enumerate() {
            chunks.insert(i.to_string(), c.clone());
        }
        json!({"chunks": chunks, "doc_aggs": Value::Object(doc_aggs(&self.chunks))})
    }

    /// The last `window` messages of earlier turns.
    pub fn history_messages(&self, window: usize) -> Vec<ChatMessage> {
        let skip = self.history.len().saturating_sub(window);
        self.history
            .iter()
            .skip(skip)
            .map(|(role, text)| ChatMessage::new(role, text.clone()))
            .collect()
    }

    /// Run the components reachable from `start` whose `parent_id` is `scope` (the
    /// canvas: `None`; an Iteration's children: its id), each at most once.
    pub fn walk<'b>(&'b mut self, start: &'b str, scope: Option<&'b str>) -> WalkFuture<'b> {
        Box::pin(async move {
            let mut queue: VecDeque<String> = VecDeque::from([start.to_string()]);
            let mut ran: HashSet<String> = HashSet::new();
            let mut steps = 0usize;
            while let Some(id) = queue.pop_front() {
                if ran.contains(&id) {
                    continue;
                }
                let canvas = self.canvas;
                let Some(node) = canvas.node(&id) else {
                    continue;
                };
                if node.parent_id.as_deref() != scope {
                    continue;
                }
                steps += 1;
                if steps > self.max_steps {
                    return Err(format!(
                        "the canvas did not finish within {} steps",
                        self.max_steps
                    ));
                }
                ran.insert(id.clone());
                let next = self.run_node(node).await?;
                queue.extend(next);
            }
            Ok(())
        })
    }

    /// Run one component, record it and report it. Returns where to go next.
    async fn run_node(&mut self, node: &Node) -> Result<Vec<String>, String> {
        let t0 = Instant::now();
        let result = match registry(&node.kind) {
            Some(component) => component.run(node, self).await,
            None => Err(format!(
                "component `{}` is not supported by lambdarag",
                node.kind
            )),
        };
        let elapsed = t0.elapsed().as_secs_f64();
        self.path.push(node.id.clone());
        let (inputs, outputs, error, next) = match result {
            Ok(step) => {
                let next = step.next.clone().unwrap_or_else(|| node.downstream.clone());
                (step.inputs, step.outputs, None, next)
            }
            Err(e) => (Map::new(), Map::new(), Some(e), Vec::new()),
        };
        self.vars.outputs.insert(node.id.clone(), outputs.clone());
        let record = NodeRecord {
            component_id: node.id.clone(),
            component_name: node.label.clone(),
            component_type: node.kind.clone(),
            inputs: Value::Object(inputs),
            outputs: Value::Object(outputs),
            error: error.clone(),
            elapsed_time: elapsed,
            created_at: self.started.elapsed().as_secs_f64(),
        };
        self.emit(AgentEvent::NodeFinished(record)).await;
        match error {
            Some(e) => Err(format!("{} ({}): {e}", node.label, node.id)),
            None => Ok(next),
        }
    }
}

fn chunk_id(c: &Value) -> Option<String> {
    c.get("id")
        .or_else(|| c.get("chunk_id"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn str_field<'v>(c: &'v Value, keys: &[&str]) -> &'v str {
    keys.iter()
        .find_map(|k| c.get(*k).and_then(Value::as_str))
        .unwrap_or_default()
}

/// `{doc_name: {doc_name, doc_id, count}}` over chunks, in first-seen order.
pub(crate) fn doc_aggs(chunks: &[Value]) -> Map<String, Value> {
    let mut out = Map::new();
    for c in chunks {
        let name = str_field(c, &["document_name", "docnm_kwd", "doc_name"]);
        let id = str_field(c, &["document_id", "doc_id"]);
        let entry = out
            .entry(name.to_string())
            .or_insert_with(|| json!({"doc_name": name, "doc_id": id, "count": 0}));
        let count = entry.get("count").and_then(Value::as_u64).unwrap_or(0) + 1;
        entry["count"] = json!(count);
    }
    out
}

/// See [`super::run_turn`]; `max_steps` bounds each walk.
pub(crate) async fn run_turn_limited(
    dsl: &mut Value,
    input: RunInput,
    env: &dyn AgentEnv,
    events: mpsc::Sender<AgentEvent>,
    max_steps: usize,
) -> RunOutcome {
    let canvas = match Canvas::read(dsl) {
        Ok(c) => c,
        Err(e) => {
            return RunOutcome {
                content: String::new(),
                reference: json!({}),
                error: Some(e.to_string()),
            }
        }
    };
    let mut globals = dsl
        .get("globals")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let turns = globals
        .get("sys.conversation_turns")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    globals.insert("sys.query".into(), json!(input.query));
    globals.insert("sys.user_id".into(), json!(input.user_id));
    globals.insert("sys.conversation_turns".into(), json!(turns + 1));
    globals.insert("sys.files".into(), Value::Array(input.files.clone()));

    let mut turn = Turn::new(env, &canvas, events, max_steps);
    turn.vars.globals = globals.clone();
    turn.query = input.query.clone();
    turn.inputs = input.inputs;
    turn.history = read_history(dsl);

    let result = match canvas.begin() {
        Some(begin) => turn.walk(&begin.id, None).await,
        None => Err("the canvas has no Begin component".to_string()),
    };

    let reference = turn.reference();
    let outcome = RunOutcome {
        content: turn.content.clone(),
        reference: reference.clone(),
        error: result.err(),
    };
    write_back(dsl, &turn, globals, &input.query, &canvas);
    outcome
}

fn read_history(dsl: &Value) -> Vec<(String, String)> {
    dsl.get("history")
        .and_then(Value::as_array)
        .map(|h| {
            h.iter()
                .filter_map(|m| {
                    let m = m.as_array()?;
                    let role = m.first()?.as_str()?;
                    let text = m.get(1).map(super::refs::to_text).unwrap_or_default();
                    Some((role.to_string(), text))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The run state a turn leaves in the session's canvas.
fn write_back(dsl: &mut Value, turn: &Turn<'_>, globals: Map<String, Value>, q: &str, c: &Canvas) {
    let Some(root) = dsl.as_object_mut() else {
        return;
    };
    root.insert("globals".into(), Value::Object(globals));
    push_all(root, "path", turn.path.iter().map(|p| json!(p)));
    push_all(
        root,
        "history",
        [json!(["user", q]), json!(["assistant", turn.content])],
    );
    let turn_ref = json!({
        "chunks": turn.chunks,
        "doc_aggs": doc_aggs(&turn.chunks).into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
    });
    push_all(root, "retrieval", [turn_ref]);
    if turn.remembered_inputs.is_empty() {
        return;
    }
    let Some(begin) = c.begin() else {
        return;
    };
    let declared = root
        .get_mut("components")
        .and_then(|cs| cs.get_mut(&begin.id))
        .and_then(|b| b.pointer_mut("/obj/params/inputs"))
        .and_then(Value::as_object_mut);
    if let Some(declared) = declared {
        for (name, value) in &turn.remembered_inputs {
            if let Some(Value::Object(spec)) = declared.get_mut(name) {
                spec.insert("value".into(), value.clone());
            }
        }
    }
}

/// Append to a run-state list, turning a non-list (upstream's initial
/// `{"chunks": [], "doc_aggs": []}`) into one.
fn push_all(root: &mut Map<String, Value>, key: &str, items: impl IntoIterator<Item = Value>) {
    let entry = root.entry(key.to_string()).or_insert_with(|| json!([]));
    if !entry.is_array() {
        *entry = json!([]);
    }
    if let Value::Array(list) = entry {
        list.extend(items);
    }
}
