//! The components, one module each, found by name through [`registry`]. A new component is
//! a new module plus one line here.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::dsl::Node;
use super::engine::{StepResult, Turn};

mod agent;
mod aggregator;
mod begin;
mod categorize;
mod iteration;
mod llm;
mod message;
mod retrieval;
mod switch;

/// One kind of component.
#[async_trait]
pub(crate) trait Component: Send + Sync {
    /// Run `node` in `turn`: read its params and the variables, produce outputs.
    async fn run(&self, node: &Node, turn: &mut Turn<'_>) -> StepResult;
}

/// The component that runs `kind` (a `component_name`).
pub(crate) fn registry(kind: &str) -> Option<&'static dyn Component> {
    Some(match kind {
        "Begin" => &begin::Begin,
        "Retrieval" => &retrieval::Retrieval,
        "LLM" => &llm::Llm,
        "Agent" => &agent::Agent,
        "Message" => &message::Message,
        "Categorize" => &categorize::Categorize,
        "Switch" => &switch::Switch,
        "VariableAggregator" => &aggregator::VariableAggregator,
        "Iteration" => &iteration::Iteration,
        "IterationItem" => &iteration::IterationItem,
        _ => return None,
    })
}

// Reading params -------------------------------------------------------------------------

pub(crate) fn p_str<'p>(params: &'p Map<String, Value>, key: &str) -> &'p str {
    params.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// A number param; upstream's forms sometimes store numbers as strings.
pub(crate) fn p_f64(params: &Map<String, Value>, key: &str) -> Option<f64> {
    match params.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn p_usize(params: &Map<String, Value>, key: &str, default: usize) -> usize {
    p_f64(params, key)
        .filter(|n| n.is_finite() && *n >= 0.0)
        .map(|n| n as usize)
        .unwrap_or(default)
}

pub(crate) fn p_bool(params: &Map<String, Value>, key: &str, default: bool) -> bool {
    match params.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => matches!(s.as_str(), "true" | "1" | "yes"),
        Some(Value::Number(n)) => n.as_f64().is_some_and(|n| n != 0.0),
        _ => default,
    }
}

/// The ids in a list param (`to`, `end_cpn_ids`).
pub(crate) fn p_ids(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Lowercase word terms of a text (CJK characters count as terms of their own).
pub(crate) fn terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in text.chars() {
        if is_cjk(ch) {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            out.push(ch.to_string());
        } else if ch.is_alphanumeric() {
            cur.extend(ch.to_lowercase());
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn is_cjk(ch: char) -> bool {
    matches!(ch as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF)
}
