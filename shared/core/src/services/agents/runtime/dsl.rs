//! The canvas as data: checking a DSL before it is stored, resetting a session's copy, and
//! reading the components into a form the engine walks.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::{DslError, SUPPORTED_COMPONENTS};

/// The only tool an Agent may use.
const SUPPORTED_TOOL: &str = "Retrieval";

/// One component of a canvas, read once per turn.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub id: String,
    /// The component kind (`Retrieval`, `LLM`, ...).
    pub kind: String,
    /// The display name: the graph node's name, else the id.
    pub label: String,
    pub params: Map<String, Value>,
    pub downstream: Vec<String>,
    pub parent_id: Option<String>,
}

/// The components of a canvas, in their stored order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Canvas {
    pub nodes: Vec<Node>,
    index: HashMap<String, usize>,
}

impl Canvas {
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.index.get(id).and_then(|i| self.nodes.get(*i))
    }

    pub fn begin(&self) -> Option<&Node> {
        self.nodes.iter().find(|n| n.kind == "Begin")
    }

    /// Read a canvas that `validate_dsl` accepted.
    pub fn read(dsl: &Value) -> Result<Canvas, DslError> {
        validate_dsl(dsl)?;
        let labels = graph_labels(dsl);
        let mut canvas = Canvas::default();
        let components = dsl
            .get("components")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for (id, cpn) in components {
            let obj = cpn.get("obj").cloned().unwrap_or(Value::Null);
            let kind = obj
                .get("component_name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let params = obj
                .get("params")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let label = labels.get(&id).cloned().unwrap_or_else(|| id.clone());
            canvas.index.insert(id.clone(), canvas.nodes.len());
            canvas.nodes.push(Node {
                label,
                kind,
                params,
                downstream: id_list(cpn.get("downstream")),
                parent_id: cpn
                    .get("parent_id")
                    .and_then(Value::as_str)
                    .filter(|p| !p.is_empty())
                    .map(str::to_string),
                id,
            });
        }
        Ok(canvas)
    }
}

/// `graph.nodes[*].data.name` by node id: the names the canvas editor shows.
fn graph_labels(dsl: &Value) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let nodes = dsl
        .pointer("/graph/nodes")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for n in nodes {
        let id = n.get("id").and_then(Value::as_str);
        let name = n.pointer("/data/name").and_then(Value::as_str);
        if let (Some(id), Some(name)) = (id, name) {
            if !name.is_empty() {
                out.insert(id.to_string(), name.to_string());
            }
        }
    }
    out
}

fn id_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn invalid(msg: impl Into<String>) -> DslError {
    DslError::Invalid(msg.into())
}

/// See [`super::validate_dsl`].
pub fn validate_dsl(dsl: &Value) -> Result<(), DslError> {
    let root = dsl
        .as_object()
        .ok_or_else(|| invalid("The agent DSL must be a JSON object."))?;
    let components = root
        .get("components")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid("The agent DSL must have a `components` object."))?;
    let mut unsupported: Vec<(String, String)> = Vec::new();
    let mut begins = Vec::new();
    for (id, cpn) in components {
        let cpn = cpn
            .as_object()
            .ok_or_else(|| invalid(format!("Component `{id}` must be a JSON object.")))?;
        let obj = cpn
            .get("obj")
            .and_then(Value::as_object)
            .ok_or_else(|| invalid(format!("Component `{id}` has no `obj` object.")))?;
        let name = obj
            .get("component_name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| invalid(format!("Component `{id}` has no `obj.component_name`.")))?;
        let params = match obj.get("params") {
            None | Some(Value::Null) => None,
            Some(Value::Object(p)) => Some(p),
            Some(_) => {
                return Err(invalid(format!(
                    "Component `{id}`: `obj.params` must be an object."
                )))
            }
        };
        for key in ["downstream", "upstream"] {
            match cpn.get(key) {
                None | Some(Value::Null) => {}
                Some(Value::Array(ids)) => {
                    for other in ids {
                        let other = other.as_str().ok_or_else(|| {
                            invalid(format!(
                                "Component `{id}`: `{key}` must list component ids."
                            ))
                        })?;
                        if !components.contains_key(other) {
                            return Err(invalid(format!(
                                "Component `{id}`: `{key}` names `{other}`, which is not a component of this canvas."
                            )));
                        }
                    }
                }
                Some(_) => {
                    return Err(invalid(format!(
                        "Component `{id}`: `{key}` must be a list of component ids."
                    )))
                }
            }
        }
        if let Some(parent) = cpn.get("parent_id").and_then(Value::as_str) {
            if !parent.is_empty() && !components.contains_key(parent) {
                return Err(invalid(format!(
                    "Component `{id}`: `parent_id` names `{parent}`, which is not a component of this canvas."
                )));
            }
        }
        if name == "Begin" {
            begins.push(id.clone());
        }
        if !SUPPORTED_COMPONENTS.contains(&name) {
            unsupported.push((id.clone(), name.to_string()));
        }
        if let Some(params) = params {
            check_tools(id, name, params, &mut unsupported)?;
        }
    }
    if !unsupported.is_empty() {
        let mut names: Vec<&str> = Vec::new();
        let mut ids: Vec<&str> = Vec::new();
        for (id, name) in &unsupported {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
            ids.push(id);
        }
        return Err(DslError::Unsupported {
            component_id: ids.join(", "),
            component_name: names.join("`, `"),
            supported: SUPPORTED_COMPONENTS.join(", "),
        });
    }
    match begins.len() {
        1 => Ok(()),
        0 => Err(invalid("The agent DSL has no `Begin` component.")),
        _ => Err(invalid(format!(
            "The agent DSL has more than one `Begin` component: {}.",
            begins.join(", ")
        ))),
    }
}

/// An Agent's tools (`tools`, older canvases `llm_enabled_tools`) and MCP servers.
fn check_tools(
    id: &str,
    name: &str,
    params: &Map<String, Value>,
    unsupported: &mut Vec<(String, String)>,
) -> Result<(), DslError> {
    for key in ["tools", "llm_enabled_tools"] {
        let tools = match params.get(key) {
            None | Some(Value::Null) => continue,
            Some(Value::Array(t)) => t,
            Some(_) => {
                return Err(invalid(format!(
                    "Component `{id}`: `{key}` must be a list of tools."
                )))
            }
        };
        for tool in tools {
            let tool_name = tool
                .get("component_name")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    invalid(format!(
                        "Component `{id}`: every entry of `{key}` needs a `component_name`."
                    ))
                })?;
            if name != "Agent" || tool_name != SUPPORTED_TOOL {
                unsupported.push((id.to_string(), tool_name.to_string()));
            }
        }
    }
    if params
        .get("mcp")
        .and_then(Value::as_array)
        .is_some_and(|m| !m.is_empty())
    {
        unsupported.push((id.to_string(), "MCP".to_string()));
    }
    Ok(())
}

/// See [`super::reset_for_session`].
pub fn reset_for_session(dsl: &Value) -> Value {
    let mut out = dsl.clone();
    let Some(root) = out.as_object_mut() else {
        return out;
    };
    for key in ["history", "path", "messages", "retrieval"] {
        root.insert(key.to_string(), json!([]));
    }
    let reference = match root.get("reference") {
        Some(Value::Array(_)) => json!([]),
        _ => json!({}),
    };
    root.insert("reference".to_string(), reference);
    let mut globals = root
        .get("globals")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    globals.insert("sys.query".into(), json!(""));
    globals.insert("sys.user_id".into(), json!(""));
    globals.insert("sys.conversation_turns".into(), json!(0));
    globals.insert("sys.files".into(), json!([]));
    root.insert("globals".to_string(), Value::Object(globals));
    out
}

/// See [`super::prologue`].
pub fn prologue(dsl: &Value) -> Option<String> {
    let components = dsl.get("components")?.as_object()?;
    let params = components.values().find_map(|c| {
        let obj = c.get("obj")?;
        (obj.get("component_name")?.as_str()? == "Begin").then(|| obj.get("params"))?
    })?;
    if params.get("enablePrologue").and_then(Value::as_bool) == Some(false) {
        return None;
    }
    params
        .get("prologue")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A contract sample canvas, read from beside the checkout (upstream's data stays out
    /// of the repository); `None` when it is not there.
    fn sample(name: &str) -> Option<Value> {
        let path = format!(
            "{}/../../../shared/reference/agent-dsl/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("skipped: {path} is not there");
            return None;
        };
        let v: Value = serde_json::from_str(&text).unwrap();
        Some(match v.get("dsl") {
            Some(dsl) if name.starts_with("template-") => dsl.clone(),
            _ => v,
        })
    }

    #[test]
    fn every_sample_is_accepted_or_refused_by_name() {
        let dir = format!(
            "{}/../../../shared/reference/agent-dsl",
            env!("CARGO_MANIFEST_DIR")
        );
        // The contract samples live beside the checkout, not in it.
        let Ok(entries) = std::fs::read_dir(&dir) else {
            eprintln!("skipped: {dir} is not there");
            return;
        };
        let mut seen = 0;
        for entry in entries {
            let name = entry.unwrap().file_name().to_string_lossy().to_string();
            if !name.ends_with(".json") {
                continue;
            }
            seen += 1;
            let res = validate_dsl(&sample(&name).unwrap());
            let refused: &[&str] = match name.as_str() {
                "example-categorize_and_agent_with_tavily.json"
                | "example-tavily_and_generate.json"
                | "example-iteration.json" => &["TavilySearch"],
                "example-exesql.json" => &["ExeSQL", "Answer"],
                _ => &[],
            };
            if refused.is_empty() {
                assert_eq!(res, Ok(()), "{name}");
            } else {
                let err = res.expect_err(&name);
                assert!(matches!(err, DslError::Unsupported { .. }), "{name}");
                for r in refused {
                    assert!(err.to_string().contains(r), "{name}: {err}");
                }
            }
        }
        assert_eq!(seen, 9);
    }

    #[test]
    fn bad_shapes_name_the_component() {
        let cases = [
            (json!([]), "JSON object"),
            (json!({}), "`components`"),
            (json!({"components": {"x": {}}}), "`x`"),
            (
                json!({"components": {"x": {"obj": {"params": {}}}}}),
                "`x` has no `obj.component_name`",
            ),
            (
                json!({"components": {"x": {"obj": {"component_name": "Begin", "params": 3}}}}),
                "`x`: `obj.params`",
            ),
            (
                json!({"components": {"begin": {"obj": {"component_name": "Begin"}, "downstream": ["nope"]}}}),
                "`nope`",
            ),
            (
                json!({"components": {"m": {"obj": {"component_name": "Message"}}}}),
                "no `Begin`",
            ),
            (
                json!({"components": {"a": {"obj": {"component_name": "Begin"}}, "b": {"obj": {"component_name": "Begin"}}}}),
                "more than one",
            ),
        ];
        for (dsl, needle) in cases {
            let err = validate_dsl(&dsl).unwrap_err();
            assert!(matches!(err, DslError::Invalid(_)), "{dsl}");
            assert!(err.to_string().contains(needle), "{err} lacks {needle}");
        }
    }

    #[test]
    fn agent_tools_other_than_retrieval_are_refused() {
        let dsl = json!({"components": {
            "begin": {"obj": {"component_name": "Begin"}, "downstream": ["a"]},
            "a": {"obj": {"component_name": "Agent", "params": {"tools": [
                {"component_name": "Retrieval", "params": {}},
                {"component_name": "Wikipedia", "params": {}}
            ]}}}
        }});
        match validate_dsl(&dsl) {
            Err(DslError::Unsupported {
                component_id,
                component_name,
                ..
            }) => {
                assert_eq!(component_id, "a");
                assert_eq!(component_name, "Wikipedia");
            }
            other => panic!("{other:?}"),
        }
        let ok = json!({"components": {
            "begin": {"obj": {"component_name": "Begin"}, "downstream": ["a"]},
            "a": {"obj": {"component_name": "Agent", "params": {"tools": [
                {"component_name": "Retrieval", "params": {"kb_ids": ["k"]}}
            ]}}}
        }});
        assert_eq!(validate_dsl(&ok), Ok(()));
    }

    #[test]
    fn reset_clears_run_state_and_keeps_other_globals() {
        let Some(mut dsl) = sample("template-customer_service.json") else {
            return;
        };
        dsl["history"] = json!([["user", "hi"]]);
        dsl["path"] = json!(["begin"]);
        dsl["retrieval"] = json!([{"chunks": [1]}]);
        dsl["globals"]["sys.query"] = json!("hi");
        dsl["globals"]["sys.conversation_turns"] = json!(3);
        dsl["globals"]["env.x"] = json!("keep");
        let r = reset_for_session(&dsl);
        assert_eq!(r["history"], json!([]));
        assert_eq!(r["path"], json!([]));
        assert_eq!(r["retrieval"], json!([]));
        assert_eq!(r["messages"], json!([]));
        assert_eq!(r["globals"]["sys.query"], json!(""));
        assert_eq!(r["globals"]["sys.conversation_turns"], json!(0));
        assert_eq!(r["globals"]["sys.files"], json!([]));
        assert_eq!(r["globals"]["env.x"], json!("keep"));
        assert_eq!(r["components"], dsl["components"]);
    }

    #[test]
    fn prologue_unless_disabled() {
        let (Some(dsl), Some(generate), Some(docs_qa)) = (
            sample("template-customer_service.json"),
            sample("example-retrieval_and_generate.json"),
            sample("template-technical_docs_qa.json"),
        ) else {
            return;
        };
        assert!(prologue(&dsl).unwrap().starts_with("Hi! I'm an official"));
        assert_eq!(prologue(&generate).as_deref(), Some("Hi there!"));
        let mut off = dsl.clone();
        off["components"]["begin"]["obj"]["params"]["enablePrologue"] = json!(false);
        assert_eq!(prologue(&off), None);
        assert_eq!(prologue(&docs_qa), None);
    }

    #[test]
    fn canvas_reads_labels_and_parents() {
        let Some(kb) = sample("template-choose_your_knowledge_base_workflow.json") else {
            return;
        };
        let c = Canvas::read(&kb).unwrap();
        assert_eq!(c.begin().unwrap().id, "begin");
        assert_eq!(c.node("begin").unwrap().label, "begin");
        assert!(c.node("Retrieval:RudeCyclesKneel").is_some());
    }
}
