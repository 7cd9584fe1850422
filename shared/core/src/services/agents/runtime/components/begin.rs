//! Begin: where a turn starts. Outputs the declared input variables.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::Component;
use crate::services::agents::runtime::dsl::Node;
use crate::services::agents::runtime::engine::{Step, StepResult, Turn};
use crate::services::agents::runtime::refs::is_empty;

pub(crate) struct Begin;

/// A given input: `{type, value}` or the bare value.
fn given_value(v: &Value) -> Value {
    match v {
        Value::Object(o) if o.contains_key("value") => o.get("value").cloned().unwrap_or_default(),
        other => other.clone(),
    }
}

#[async_trait]
impl Component for Begin {
    async fn run(&self, node: &Node, turn: &mut Turn<'_>) -> StepResult {
        let declared = node
            .params
            .get("inputs")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut outputs = Map::new();
        for (name, spec) in &declared {
            let given = turn.inputs.get(name).map(given_value);
            let value = match given {
                Some(v) if !v.is_null() => {
                    turn.remembered_inputs.insert(name.clone(), v.clone());
                    v
                }
                _ => {
                    let default = spec.get("value").cloned().unwrap_or_default();
                    let optional = spec.get("optional").and_then(Value::as_bool) == Some(true);
                    if is_empty(&default) && !optional {
                        return Err(format!("the input `{name}` is required"));
                    }
                    default
                }
            };
            outputs.insert(name.clone(), value);
        }
        // Inputs the canvas does not declare are passed on as given.
        for (name, v) in &turn.inputs {
            if !outputs.contains_key(name) {
                outputs.insert(name.clone(), given_value(v));
            }
        }
        Ok(Step {
            inputs: turn.inputs.clone(),
            outputs,
            next: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::agents::runtime::testkit::{node, obj, turn, FakeEnv};
    use serde_json::json;

    #[tokio::test]
    async fn declared_inputs_given_defaulted_or_missing() {
        let env = FakeEnv::echo();
        let canvas = crate::services::agents::runtime::dsl::Canvas::default();
        let (mut t, _rx) = turn(&env, &canvas);
        t.inputs = obj(json!({"kb": {"type": "line", "value": "k1"}, "extra": 3}));
        let n = node(
            "begin",
            "Begin",
            json!({"inputs": {
                "kb": {"type": "line", "optional": false},
                "lang": {"type": "line", "value": "English"},
                "opt": {"type": "line", "optional": true}
            }}),
        );
        let step = Begin.run(&n, &mut t).await.unwrap();
        assert_eq!(step.outputs["kb"], json!("k1"));
        assert_eq!(step.outputs["lang"], json!("English"));
        assert_eq!(step.outputs["opt"], Value::Null);
        assert_eq!(step.outputs["extra"], json!(3));
        assert_eq!(t.remembered_inputs["kb"], json!("k1"));

        t.inputs = obj(json!({"lang": "French"}));
        let err = Begin.run(&n, &mut t).await.unwrap_err();
        assert!(err.contains("`kb`"), "{err}");
    }
}
