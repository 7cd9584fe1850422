//! Switch: the first condition that holds chooses the branch; otherwise `end_cpn_ids`.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::{p_ids, Component};
use crate::services::agents::runtime::dsl::Node;
use crate::services::agents::runtime::engine::{Step, StepResult, Turn};
use crate::services::agents::runtime::refs::{is_empty, to_text};

pub(crate) struct Switch;

/// Whether `value` (what the reference read) stands in `operator` to `expected`.
pub(crate) fn holds(value: &Value, operator: &str, expected: &str) -> bool {
    let text = to_text(value);
    let (low, want) = (text.to_lowercase(), expected.to_lowercase());
    let numbers = || {
        Some((
            text.trim().parse::<f64>().ok()?,
            expected.trim().parse::<f64>().ok()?,
        ))
    };
    let order = |f: fn(f64, f64) -> bool, g: fn(&str, &str) -> bool| match numbers() {
        Some((a, b)) => f(a, b),
        None => g(text.as_str(), expected),
    };
    match operator {
        // The text operators ignore case, as upstream's do.
        "contains" => low.contains(&want),
        "not contains" => !low.contains(&want),
        "start with" => low.starts_with(&want),
        "end with" => low.ends_with(&want),
        "empty" => is_empty(value),
        "not empty" => !is_empty(value),
        "=" => order(|a, b| a == b, |a, b| a == b),
        "≠" | "!=" => order(|a, b| a != b, |a, b| a != b),
        ">" => order(|a, b| a > b, |a, b| a > b),
        "<" => order(|a, b| a < b, |a, b| a < b),
        "≥" | ">=" => order(|a, b| a >= b, |a, b| a >= b),
        "≤" | "<=" => order(|a, b| a <= b, |a, b| a <= b),
        _ => false,
    }
}

#[async_trait]
impl Component for Switch {
    async fn run(&self, node: &Node, turn: &mut Turn<'_>) -> StepResult {
        let conditions = node
            .params
            .get("conditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut inputs = Map::new();
        let mut chosen: Option<Vec<String>> = None;
        for (i, cond) in conditions.iter().enumerate() {
            let any = cond.get("logical_operator").and_then(Value::as_str) == Some("or");
            let items = cond
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut results = Vec::new();
            for item in &items {
                let r = item
                    .get("cpn_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let value = turn.vars.param(r);
                let op = item
                    .get("operator")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let expected = item.get("value").map(to_text).unwrap_or_default();
                inputs.insert(r.to_string(), value.clone());
                results.push(holds(&value, op, &expected));
            }
            let ok = !results.is_empty()
                && if any {
                    results.iter().any(|b| *b)
                } else {
                    results.iter().all(|b| *b)
                };
            if ok {
                inputs.insert("matched_condition".into(), json!(i));
                chosen = Some(p_ids(cond.get("to")));
                break;
            }
        }
        let next = chosen.unwrap_or_else(|| p_ids(node.params.get("end_cpn_ids")));
        // `next` names the chosen components as the canvas shows them, `_next` by id.
        let names: Vec<&str> = next
            .iter()
            .map(|id| {
                turn.canvas
                    .node(id)
                    .map_or(id.as_str(), |n| n.label.as_str())
            })
            .collect();
        let mut outputs = Map::new();
        outputs.insert("next".into(), json!(names));
        outputs.insert("_next".into(), json!(next));
        Ok(Step {
            inputs,
            outputs,
            next: Some(next),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::agents::runtime::dsl::Canvas;
    use crate::services::agents::runtime::testkit::{node, obj, turn, FakeEnv};

    #[test]
    fn operators() {
        let s = json!("hello world");
        assert!(holds(&s, "contains", "lo w"));
        assert!(holds(&s, "contains", "WORLD"));
        assert!(holds(&json!("Hello"), "start with", "he"));
        assert!(holds(&s, "not contains", "bye"));
        assert!(holds(&s, "start with", "hell"));
        assert!(holds(&s, "end with", "world"));
        assert!(holds(&json!(""), "empty", ""));
        assert!(holds(&json!([1]), "not empty", ""));
        assert!(holds(&json!(10), ">", "9"));
        assert!(!holds(&json!("10"), "<", "9"));
        assert!(holds(&json!("b"), ">", "a"));
        assert!(holds(&json!(3), "≥", "3.0"));
        assert!(holds(&json!(3), "≤", "3"));
        assert!(holds(&json!(3), "=", "3.0"));
        assert!(holds(&json!("a"), "≠", "b"));
        assert!(!holds(&s, "unknown-op", ""));
    }

    #[tokio::test]
    async fn first_matching_condition_else_end() {
        let env = FakeEnv::echo();
        let canvas = Canvas::default();
        let (mut t, _rx) = turn(&env, &canvas);
        t.vars.ids.insert("begin".into());
        t.vars.outputs.insert("begin".into(), obj(json!({"n": 5})));
        let n = node(
            "sw",
            "Switch",
            json!({"conditions": [
                {"logical_operator": "and", "items": [
                    {"cpn_id": "sys.query", "operator": "contains", "value": "rust"},
                    {"cpn_id": "begin@n", "operator": ">", "value": "7"}], "to": ["a"]},
                {"logical_operator": "or", "items": [
                    {"cpn_id": "sys.query", "operator": "start with", "value": "zzz"},
                    {"cpn_id": "begin@n", "operator": "=", "value": "5"}], "to": ["b"]}
            ], "end_cpn_ids": ["c"]}),
        );
        let step = Switch.run(&n, &mut t).await.unwrap();
        assert_eq!(step.next, Some(vec!["b".to_string()]));
        assert_eq!(step.outputs["next"], json!(["b"]));
        t.vars.outputs.insert("begin".into(), obj(json!({"n": 1})));
        let step = Switch.run(&n, &mut t).await.unwrap();
        assert_eq!(step.next, Some(vec!["c".to_string()]));
    }
}
