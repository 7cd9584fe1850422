//! Agent: an LLM that may search datasets (Retrieval tools) before it answers.
//!
//! The chat-model port has no native function calling, so tools go through a prompt
//! protocol: the model either writes one line `TOOL_CALL {"name": …, "arguments": {"query":
//! …}}` or its final answer; each call's results go back to it as a user message, for at
//! most `max_rounds` rounds, after which it is told to answer. The built-in extractive
//! answerer cannot follow instructions: with it, every tool searches once for the user
//! prompt and the answer is extracted from what they found.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::llm::BUILTIN_NOTE;
use super::llm::{answer, ask, context_for, context_of, gen_options, is_builtin, render_prompt};
use super::retrieval::retrieve;
use super::{p_bool, p_str, p_usize, Component};
use crate::ports::chat::{ChatMessage, GenOptions};
use crate::services::agents::runtime::dsl::Node;
use crate::services::agents::runtime::engine::{Step, StepResult, Turn};
use crate::services::agents::runtime::refs::to_text;

pub(crate) struct Agent;

/// The line prefix of a tool call.
const TOOL_CALL: &str = "TOOL_CALL";

struct Tool {
    name: String,
    description: String,
    params: Map<String, Value>,
}

fn tools(params: &Map<String, Value>) -> Vec<Tool> {
    let mut out: Vec<Tool> = Vec::new();
    for key in ["tools", "llm_enabled_tools"] {
        let Some(list) = params.get(key).and_then(Value::as_array) else {
            continue;
        };
        for t in list {
            if t.get("component_name").and_then(Value::as_str) != Some("Retrieval") {
                continue;
            }
            let tparams = t
                .get("params")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let base = t
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.trim().is_empty())
                .unwrap_or("Retrieval")
                .to_string();
            let mut name = base.clone();
            let mut n = 2;
            while out.iter().any(|o| o.name == name) {
                name = format!("{base}_{n}");
                n += 1;
            }
            out.push(Tool {
                name,
                description: p_str(&tparams, "description").to_string(),
                params: tparams,
            });
        }
    }
    out
}

fn protocol(tools: &[Tool]) -> String {
    let mut s = String::from("You can search these knowledge bases before answering:\n");
    for t in tools {
        let about = if t.description.trim().is_empty() {
            "searches a knowledge base"
        } else {
            t.description.trim()
        };
        s.push_str(&format!("- {}: {about}\n", t.name));
    }
    s.push_str(&format!(
        "\nTo search, reply with exactly one line and nothing else:\n\
         {TOOL_CALL} {{\"name\": \"<tool name>\", \"arguments\": {{\"query\": \"<what to search for>\"}}}}\n\
         The results come back numbered [ID:n]. When you can answer, reply with the answer \
         only, without a {TOOL_CALL} line, citing passages as [ID:n]."
    ));
    s
}

/// A tool call in a reply: the tool name and its query.
fn parse_call(reply: &str) -> Option<Result<(String, String), String>> {
    let line = reply
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(TOOL_CALL))?;
    let body = line[TOOL_CALL.len()..].trim();
    let parsed: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => return Some(Err(format!("the tool call is not valid JSON: {e}"))),
    };
    let name = parsed.get("name").map(to_text).unwrap_or_default();
    let query = match parsed.get("arguments") {
        Some(Value::Object(a)) => a.get("query").map(to_text).unwrap_or_default(),
        Some(other) => to_text(other),
        None => String::new(),
    };
    Some(Ok((name, query)))
}

fn without_calls(reply: &str) -> String {
    reply
        .lines()
        .filter(|l| !l.trim().starts_with(TOOL_CALL))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

#[async_trait]
impl Component for Agent {
    async fn run(&self, node: &Node, turn: &mut Turn<'_>) -> StepResult {
        let tools = tools(&node.params);
        if tools.is_empty() {
            return answer(node, turn).await;
        }
        let params = &node.params;
        let llm_id = p_str(params, "llm_id");
        let prompt = render_prompt(params, turn);
        let mut opts = gen_options(params);
        let cite = p_bool(params, "cite", true);
        let mut used: Vec<Value> = Vec::new();

        let mut messages = vec![ChatMessage::system(
            format!("{}\n\n{}", prompt.system, protocol(&tools))
                .trim()
                .to_string(),
        )];
        messages.extend(turn.history_messages(p_usize(params, "message_history_window_size", 12)));
        messages.extend(prompt.user.iter().cloned());
        let max_rounds = p_usize(params, "max_rounds", 5).max(1);

        let mut builtin = is_builtin(llm_id);
        let mut content = None;
        let mut round = 0;
        while !builtin && content.is_none() && round < max_rounds {
            round += 1;
            let (model, reply) = ask(turn, llm_id, &messages, &opts).await?;
            if is_builtin(&model) {
                builtin = true;
                break;
            }
            match parse_call(&reply) {
                None => content = Some(reply),
                Some(call) => {
                    let feedback = match call {
                        Err(e) => e,
                        Ok((name, query)) => {
                            let tool = tools.iter().find(|t| t.name == name).unwrap_or(&tools[0]);
                            let query = if query.trim().is_empty() {
                                turn.query.clone()
                            } else {
                                query
                            };
                            let found = retrieve(&tool.params, &query, &node.id, turn).await?;
                            used.push(json!({"name": tool.name, "arguments": {"query": query},
                                             "results": found.formalized}));
                            format!(
                                "Results of {} for \"{query}\":\n{}",
                                tool.name, found.formalized
                            )
                        }
                    };
                    messages.push(ChatMessage::assistant(reply));
                    messages.push(ChatMessage::user(feedback));
                }
            }
        }

        let (_, from_chunks) = context_for(&prompt.refs, turn);
        let has_chunks = from_chunks || !used.is_empty();
        let content = if builtin {
            let question = prompt
                .user
                .last()
                .map(|m| m.content.clone())
                .unwrap_or_default();
            for tool in &tools {
                let found = retrieve(&tool.params, &question, &node.id, turn).await?;
                used.push(json!({"name": tool.name, "arguments": {"query": question},
                                 "results": found.formalized}));
            }
            let opts = GenOptions {
                context: context_of(&turn.chunks),
                cite: cite && !turn.chunks.is_empty(),
                ..opts.clone()
            };
            let asked = if turn.query.trim().is_empty() {
                question
            } else {
                turn.query.clone()
            };
            ask(turn, llm_id, &[ChatMessage::user(asked)], &opts)
                .await?
                .1
        } else {
            match content {
                Some(c) => c,
                None => {
                    messages.push(ChatMessage::user(format!(
                        "Answer now from the results above, without a {TOOL_CALL} line."
                    )));
                    if has_chunks {
                        opts.context = context_of(&turn.chunks);
                        opts.cite = cite;
                    }
                    without_calls(&ask(turn, llm_id, &messages, &opts).await?.1)
                }
            }
        };
        let mut inputs = Map::new();
        inputs.insert("llm_id".into(), json!(llm_id));
        inputs.insert("sys_prompt".into(), json!(prompt.system));
        let user: Vec<&str> = prompt.user.iter().map(|m| m.content.as_str()).collect();
        inputs.insert("prompts".into(), json!(user));
        let mut outputs = Map::new();
        outputs.insert("content".into(), json!(content));
        outputs.insert("use_tools".into(), Value::Array(used));
        if builtin {
            outputs.insert("_note".into(), json!(BUILTIN_NOTE));
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
    use crate::services::agents::runtime::testkit::{node, turn, FakeEnv};

    fn agent(llm: &str, rounds: u64) -> Node {
        node(
            "Agent:A",
            "Agent",
            json!({"llm_id": llm, "sys_prompt": "You answer questions.", "max_rounds": rounds,
                   "prompts": [{"role": "user", "content": "The user query is {sys.query}"}],
                   "tools": [{"component_name": "Retrieval", "name": "docs",
                              "params": {"kb_ids": ["kb1"], "description": "Rust docs", "top_n": 3}}]}),
        )
    }

    #[test]
    fn parses_tool_calls() {
        let r =
            "Let me look.\nTOOL_CALL {\"name\": \"docs\", \"arguments\": {\"query\": \"rust\"}}";
        assert_eq!(parse_call(r), Some(Ok(("docs".into(), "rust".into()))));
        assert!(matches!(parse_call("TOOL_CALL {oops"), Some(Err(_))));
        assert_eq!(parse_call("Just an answer."), None);
        assert_eq!(without_calls("a\nTOOL_CALL {}\nb"), "a\nb");
    }

    #[tokio::test]
    async fn calls_the_tool_then_answers() {
        let env = FakeEnv::scripted(&[
            "TOOL_CALL {\"name\": \"docs\", \"arguments\": {\"query\": \"rust language\"}}",
            "Rust is a systems language [ID:0].",
        ]);
        let canvas = Canvas::default();
        let (mut t, _rx) = turn(&env, &canvas);
        let step = Agent.run(&agent("m@X", 5), &mut t).await.unwrap();
        assert_eq!(
            step.outputs["content"],
            json!("Rust is a systems language [ID:0].")
        );
        let used = step.outputs["use_tools"].as_array().unwrap();
        assert_eq!(used.len(), 1);
        assert_eq!(used[0]["name"], json!("docs"));
        assert_eq!(used[0]["arguments"]["query"], json!("rust language"));
        assert!(used[0]["results"].as_str().unwrap().contains("[ID:0]"));
        let call = &env.retrieval_calls()[0];
        assert_eq!((call.question.as_str(), call.top_n), ("rust language", 3));
        assert_eq!(t.chunks.len(), 2);
        let gens = env.generation_calls();
        assert!(gens[0].1[0].content.contains("- docs: Rust docs"));
        assert!(gens[1]
            .1
            .last()
            .unwrap()
            .content
            .starts_with("Results of docs"));
    }

    #[tokio::test]
    async fn rounds_are_bounded_then_an_answer_is_forced() {
        let call = "TOOL_CALL {\"name\": \"docs\", \"arguments\": {\"query\": \"again\"}}";
        let env = FakeEnv::scripted(&[call, call, "Final.\nTOOL_CALL {}"]);
        let canvas = Canvas::default();
        let (mut t, _rx) = turn(&env, &canvas);
        let step = Agent.run(&agent("m@X", 2), &mut t).await.unwrap();
        assert_eq!(step.outputs["content"], json!("Final."));
        assert_eq!(env.retrieval_calls().len(), 2);
        assert_eq!(env.generation_calls().len(), 3);
        assert!(env.generation_calls()[2].2.cite);
    }

    #[tokio::test]
    async fn builtin_searches_every_tool_once_and_extracts() {
        let env = FakeEnv::builtin();
        let canvas = Canvas::default();
        let (mut t, _rx) = turn(&env, &canvas);
        let step = Agent.run(&agent("", 5), &mut t).await.unwrap();
        assert_eq!(
            env.retrieval_calls()[0].question,
            "The user query is what is rust"
        );
        let content = step.outputs["content"].as_str().unwrap();
        assert!(
            content.contains("Rust is a systems programming language. [ID:0]"),
            "{content}"
        );
        assert_eq!(step.outputs["_note"], json!(BUILTIN_NOTE));
        assert_eq!(step.outputs["use_tools"].as_array().unwrap().len(), 1);
    }
}
