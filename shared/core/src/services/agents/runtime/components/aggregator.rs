//! VariableAggregator: each group takes the first of its variables that has a value (the
//! branch that actually ran).

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::Component;
use crate::services::agents::runtime::dsl::Node;
use crate::services::agents::runtime::engine::{Step, StepResult, Turn};
use crate::services::agents::runtime::refs::is_empty;

pub(crate) struct VariableAggregator;

#[async_trait]
impl Component for VariableAggregator {
    async fn run(&self, node: &Node, turn: &mut Turn<'_>) -> StepResult {
        let groups = node
            .params
            .get("groups")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut inputs = Map::new();
        let mut outputs = Map::new();
        for g in &groups {
            let Some(name) = g.get("group_name").and_then(Value::as_str) else {
                continue;
            };
            let refs: Vec<&str> = g
                .get("variables")
                .and_then(Value::as_array)
                .map(|vs| {
                    vs.iter()
                        .filter_map(|v| v.get("value").and_then(Value::as_str).or(v.as_str()))
                        .collect()
                })
                .unwrap_or_default();
            let value = refs
                .iter()
                .map(|r| turn.vars.param(r))
                .find(|v| !is_empty(v))
                .unwrap_or(Value::Null);
            inputs.insert(name.to_string(), json!(refs));
            outputs.insert(name.to_string(), value);
        }
        Ok(Step {
            inputs,
            outputs,
            next: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::agents::runtime::dsl::Canvas;
    use crate::services::agents::runtime::testkit::{node, obj, turn, FakeEnv};

    #[tokio::test]
    async fn first_non_empty_variable_per_group() {
        let env = FakeEnv::echo();
        let canvas = Canvas::default();
        let (mut t, _rx) = turn(&env, &canvas);
        for id in ["A:1", "A:2"] {
            t.vars.ids.insert(id.into());
        }
        t.vars
            .outputs
            .insert("A:2".into(), obj(json!({"content": "from two"})));
        let n = node(
            "va",
            "VariableAggregator",
            json!({"groups": [
                {"group_name": "LLM_Response", "type": "string",
                 "variables": [{"value": "A:1@content"}, {"value": "A:2@content"}]},
                {"group_name": "none", "variables": [{"value": "A:1@content"}]}
            ]}),
        );
        let step = VariableAggregator.run(&n, &mut t).await.unwrap();
        assert_eq!(step.outputs["LLM_Response"], json!("from two"));
        assert_eq!(step.outputs["none"], Value::Null);
    }
}
