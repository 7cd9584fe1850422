//! Iteration runs its child components (those whose `parent_id` is its id, starting at the
//! IterationItem child) once per item of a list, and collects the children's outputs into
//! lists. IterationItem hands out the current item.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::{p_str, Component};
use crate::services::agents::runtime::dsl::Node;
use crate::services::agents::runtime::engine::{Step, StepResult, Turn};

pub(crate) struct Iteration;
pub(crate) struct IterationItem;

/// Items one Iteration may run.
pub(crate) const MAX_ITEMS: usize = 100;

/// The list to iterate: a list as it is, a JSON list in text, or text split on `delimiter`.
fn items_of(value: Value, delimiter: &str) -> Vec<Value> {
    match value {
        Value::Array(a) => a,
        Value::Null => Vec::new(),
        Value::String(s) => {
            if let Ok(Value::Array(a)) = serde_json::from_str::<Value>(s.trim()) {
                return a;
            }
            let delimiter = if delimiter.is_empty() { "," } else { delimiter };
            s.split(delimiter)
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| json!(p))
                .collect()
        }
        other => vec![other],
    }
}

#[async_trait]
impl Component for Iteration {
    async fn run(&self, node: &Node, turn: &mut Turn<'_>) -> StepResult {
        let params = &node.params;
        let source = p_str(params, "items_ref");
        let items = items_of(turn.vars.param(source), p_str(params, "delimiter"));
        if items.len() > MAX_ITEMS {
            return Err(format!(
                "the iteration has {} items; at most {MAX_ITEMS} are run",
                items.len()
            ));
        }
        let start = turn
            .canvas
            .nodes
            .iter()
            .find(|n| n.kind == "IterationItem" && n.parent_id.as_deref() == Some(&node.id))
            .map(|n| n.id.clone())
            .ok_or_else(|| "the iteration has no IterationItem child".to_string())?;
        let declared: Vec<(String, String)> = params
            .get("outputs")
            .and_then(Value::as_object)
            .map(|o| {
                o.iter()
                    .filter_map(|(name, spec)| {
                        let r = spec.get("ref").and_then(Value::as_str).or(spec.as_str())?;
                        Some((name.clone(), r.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut collected: Vec<Vec<Value>> = vec![Vec::new(); declared.len()];
        let outer = turn.current_item.take();
        let mut result = Ok(());
        for (i, item) in items.iter().enumerate() {
            turn.current_item = Some((item.clone(), i));
            result = turn.walk(&start, Some(&node.id)).await;
            if result.is_err() {
                break;
            }
            for ((_, r), list) in declared.iter().zip(collected.iter_mut()) {
                list.push(turn.vars.param(r));
            }
        }
        turn.current_item = outer;
        result?;
        let mut inputs = Map::new();
        inputs.insert("items".into(), Value::Array(items));
        let mut outputs = Map::new();
        for ((name, _), list) in declared.into_iter().zip(collected) {
            outputs.insert(name, Value::Array(list));
        }
        Ok(Step {
            inputs,
            outputs,
            next: None,
        })
    }
}

#[async_trait]
impl Component for IterationItem {
    async fn run(&self, _node: &Node, turn: &mut Turn<'_>) -> StepResult {
        let (item, index) = turn
            .current_item
            .clone()
            .ok_or_else(|| "IterationItem runs only inside an Iteration".to_string())?;
        let mut outputs = Map::new();
        outputs.insert("item".into(), item);
        outputs.insert("index".into(), json!(index));
        Ok(Step {
            inputs: Map::new(),
            outputs,
            next: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_from_lists_json_and_delimited_text() {
        assert_eq!(items_of(json!(["a", 1]), ","), [json!("a"), json!(1)]);
        assert_eq!(
            items_of(json!("[\"x\", \"y\"]"), ","),
            [json!("x"), json!("y")]
        );
        assert_eq!(
            items_of(json!("a, b,,c"), ""),
            [json!("a"), json!("b"), json!("c")]
        );
        assert_eq!(items_of(json!("a;b"), ";"), [json!("a"), json!("b")]);
        assert!(items_of(Value::Null, ",").is_empty());
    }
}
