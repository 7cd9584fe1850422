//! End-to-end turns over sample canvases and small built ones.

use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::engine::run_turn_limited;
use super::testkit::{drain, dsl, FakeEnv};
use super::*;

/// A contract sample canvas (beside the checkout, not in it: upstream's data stays out of
/// the repository). `None` when the samples are not there; the tests over our own
/// canvases below, and the Python suite, cover the same components.
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
    let canvas = v.get("dsl").cloned().unwrap_or(v);
    Some(reset_for_session(&canvas))
}

fn ask(q: &str) -> RunInput {
    RunInput {
        query: q.into(),
        user_id: "u1".into(),
        ..Default::default()
    }
}

async fn run(canvas: &mut Value, input: RunInput, env: &FakeEnv) -> (RunOutcome, Vec<AgentEvent>) {
    let (tx, mut rx) = mpsc::channel(1000);
    let outcome = run_turn(canvas, input, env, tx).await;
    (outcome, drain(&mut rx))
}

fn finished(events: &[AgentEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::NodeFinished(r) => Some(r.component_id.clone()),
            _ => None,
        })
        .collect()
}

fn path(canvas: &Value) -> Vec<String> {
    serde_json::from_value(canvas["path"].clone()).unwrap()
}

#[tokio::test]
async fn retrieval_llm_message_in_order_with_reference() {
    let Some(mut canvas) = sample("example-retrieval_and_generate.json") else {
        return;
    };
    let env = FakeEnv::builtin();
    let (outcome, events) = run(&mut canvas, ask("what is rust"), &env).await;
    assert_eq!(outcome.error, None);
    // Node records, then the message pieces, its end, and the Message's own record.
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            AgentEvent::NodeFinished(_) => "node",
            AgentEvent::Message { .. } => "piece",
            AgentEvent::MessageEnd { .. } => "end",
        })
        .collect();
    assert_eq!(&kinds[..3], ["node", "node", "node"]);
    assert!(kinds[3..kinds.len() - 2].iter().all(|k| *k == "piece"));
    assert!(kinds.len() > 6, "the text streams in several pieces");
    assert_eq!(&kinds[kinds.len() - 2..], ["end", "node"]);
    assert_eq!(
        finished(&events),
        ["begin", "retrieval:0", "generate:0", "message:0"]
    );
    let AgentEvent::NodeFinished(r) = &events[1] else {
        panic!()
    };
    assert_eq!(r.component_type, "Retrieval");
    assert!(r.error.is_none() && r.elapsed_time >= 0.0);
    assert_eq!(r.inputs["query"], json!("what is rust"));
    assert_eq!(env.retrieval_calls()[0].top_n, 6);

    let streamed: String = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Message { content } => Some(content.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(streamed, outcome.content);
    assert!(outcome
        .content
        .contains("Rust is a systems programming language. [ID:0]"));
    let AgentEvent::MessageEnd { reference } = &events[events.len() - 2] else {
        panic!()
    };
    assert_eq!(reference["chunks"]["0"]["id"], json!("c1"));
    assert_eq!(reference["chunks"]["1"]["id"], json!("c2"));
    assert_eq!(reference["doc_aggs"]["rust.md"]["count"], json!(1));
    assert_eq!(&outcome.reference, reference);

    let AgentEvent::NodeFinished(llm) = &events[2] else {
        panic!()
    };
    assert_eq!(
        llm.outputs["_note"],
        json!("answered extractively by the built-in model")
    );

    // Run state.
    assert_eq!(
        path(&canvas),
        ["begin", "retrieval:0", "generate:0", "message:0"]
    );
    assert_eq!(
        canvas["history"],
        json!([["user", "what is rust"], ["assistant", outcome.content]])
    );
    assert_eq!(canvas["retrieval"].as_array().unwrap().len(), 1);
    assert_eq!(
        canvas["retrieval"][0]["chunks"].as_array().unwrap().len(),
        2
    );
    assert_eq!(canvas["globals"]["sys.user_id"], json!("u1"));
}

#[tokio::test]
async fn run_state_advances_across_turns() {
    let Some(mut canvas) = sample("example-retrieval_and_generate.json") else {
        return;
    };
    let env = FakeEnv::echo();
    let (first, _) = run(&mut canvas, ask("first question"), &env).await;
    let (second, _) = run(&mut canvas, ask("second question"), &env).await;
    assert!(first.error.is_none() && second.error.is_none());
    assert_eq!(canvas["globals"]["sys.conversation_turns"], json!(2));
    assert_eq!(canvas["globals"]["sys.query"], json!("second question"));
    assert_eq!(canvas["history"].as_array().unwrap().len(), 4);
    assert_eq!(canvas["history"][2], json!(["user", "second question"]));
    assert_eq!(canvas["retrieval"].as_array().unwrap().len(), 2);
    assert_eq!(path(&canvas).len(), 8);
    // The second turn's model saw the first turn as history.
    let (_, messages, _) = env.generation_calls().pop().unwrap();
    assert!(messages
        .iter()
        .any(|m| m.role == "assistant" && m.content == first.content));
    assert_eq!(messages.last().unwrap().content, "second question");
    // A new session starts clean.
    let fresh = reset_for_session(&canvas);
    assert_eq!(fresh["globals"]["sys.conversation_turns"], json!(0));
    assert_eq!(fresh["history"], json!([]));
}

#[tokio::test]
async fn categorize_routes_to_one_branch() {
    let Some(mut canvas) = sample("example-retrieval_categorize_and_generate.json") else {
        return;
    };
    let env = FakeEnv::scripted(&["others"]);
    let (outcome, events) = run(&mut canvas, ask("tell me a joke"), &env).await;
    assert_eq!(finished(&events), ["begin", "categorize:0", "message:0"]);
    assert_eq!(outcome.content, "Sorry, I don't know. I'm an AI bot.");
    assert_eq!(outcome.reference, json!({}));

    let Some(mut canvas) = sample("example-retrieval_categorize_and_generate.json") else {
        return;
    };
    let env = FakeEnv::scripted(&["product_related", "It works like this."]);
    let (outcome, events) = run(&mut canvas, ask("how does the product work"), &env).await;
    assert_eq!(
        finished(&events),
        [
            "begin",
            "categorize:0",
            "retrieval:0",
            "generate:0",
            "message:1"
        ]
    );
    assert_eq!(outcome.content, "It works like this.");
    assert_eq!(outcome.reference["chunks"]["0"]["id"], json!("c1"));
}

#[tokio::test]
async fn customer_service_template_with_the_builtin_model() {
    let Some(mut canvas) = sample("template-customer_service.json") else {
        return;
    };
    canvas["components"]["Retrieval:ShyPumasJoke"]["obj"]["params"]["kb_ids"] = json!(["kb1"]);
    let env = FakeEnv::builtin();
    let (outcome, events) = run(&mut canvas, ask("how to install it onto the wall"), &env).await;
    assert_eq!(outcome.error, None);
    assert_eq!(
        finished(&events),
        [
            "begin",
            "Categorize:DullFriendsThank",
            "Retrieval:ShyPumasJoke",
            "Agent:KhakiSunsJudge",
            "VariableAggregator:FuzzyBerriesFlow",
            "Message:DryBusesCarry"
        ]
    );
    assert!(outcome.content.contains("[ID:0]"), "{}", outcome.content);
    let AgentEvent::NodeFinished(cat) = &events[1] else {
        panic!()
    };
    assert_eq!(cat.outputs["category_name"], json!("4. product related"));
    assert_eq!(cat.component_name, "Categorize");
    let AgentEvent::NodeFinished(search) = &events[2] else {
        panic!()
    };
    assert_eq!(search.component_name, "Search product info");
}

#[tokio::test]
async fn switch_routes_by_condition() {
    let rows: &[(&str, &str, Value, &[&str])] = &[
        ("begin", "Begin", json!({}), &["sw"]),
        (
            "sw",
            "Switch",
            json!({"conditions": [{"logical_operator": "and", "to": ["yes"], "items": [
                {"cpn_id": "sys.query", "operator": "contains", "value": "refund"}]}],
                "end_cpn_ids": ["no"]}),
            &["yes", "no"],
        ),
        (
            "yes",
            "Message",
            json!({"content": ["Refunds take 3 days."]}),
            &[],
        ),
        (
            "no",
            "Message",
            json!({"content": ["Ask me about refunds."]}),
            &[],
        ),
    ];
    let env = FakeEnv::echo();
    let mut canvas = dsl(rows);
    let (outcome, events) = run(&mut canvas, ask("I want a refund"), &env).await;
    assert_eq!(finished(&events), ["begin", "sw", "yes"]);
    assert_eq!(outcome.content, "Refunds take 3 days.");
    let (outcome, _) = run(&mut canvas, ask("hello"), &env).await;
    assert_eq!(outcome.content, "Ask me about refunds.");
}

#[tokio::test]
async fn agent_with_a_retrieval_tool() {
    let Some(mut canvas) = sample("template-technical_docs_qa.json") else {
        return;
    };
    canvas["components"]["Agent:StalePandasDream"]["obj"]["params"]["tools"][0]["params"]
        ["kb_ids"] = json!(["kb1"]);
    let env = FakeEnv::scripted(&[
        "TOOL_CALL {\"name\": \"Retrieval\", \"arguments\": {\"query\": \"rust\"}}",
        "Rust is a systems language [ID:0].",
    ]);
    let (outcome, events) = run(&mut canvas.clone(), ask("what is rust"), &env).await;
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.content, "Rust is a systems language [ID:0].");
    assert_eq!(outcome.reference["chunks"]["0"]["id"], json!("c1"));
    let AgentEvent::NodeFinished(agent) = &events[1] else {
        panic!()
    };
    assert_eq!(
        agent.outputs["use_tools"][0]["arguments"]["query"],
        json!("rust")
    );

    let env = FakeEnv::builtin();
    let (outcome, _) = run(&mut canvas, ask("what is rust"), &env).await;
    assert!(outcome.content.contains("[ID:0]"), "{}", outcome.content);
    assert_eq!(env.retrieval_calls().len(), 1);
}

#[tokio::test]
async fn iteration_collects_outputs_per_item() {
    let rows: &[(&str, &str, Value, &[&str])] = &[
        (
            "begin",
            "Begin",
            json!({"inputs": {"topics": {"type": "line"}}}),
            &["it"],
        ),
        (
            "it",
            "Iteration",
            json!({"items_ref": "begin@topics", "delimiter": ";",
                   "outputs": {"answers": {"ref": "llm@content"}, "n": {"ref": "item@index"}}}),
            &["msg"],
        ),
        ("item", "IterationItem", json!({}), &["llm"]),
        (
            "llm",
            "LLM",
            json!({"llm_id": "m@X", "prompts": [{"role": "user", "content": "about {item@item}"}]}),
            &["item"],
        ),
        ("msg", "Message", json!({"content": ["{it@answers}"]}), &[]),
    ];
    let mut canvas = dsl(rows);
    canvas["components"]["item"]["parent_id"] = json!("it");
    canvas["components"]["llm"]["parent_id"] = json!("it");
    let env = FakeEnv::echo();
    let mut input = ask("go");
    input.inputs = testkit::obj(json!({"topics": "cats; dogs"}));
    let (outcome, events) = run(&mut canvas, input, &env).await;
    assert_eq!(outcome.error, None);
    assert_eq!(
        outcome.content,
        r#"["echo: about cats","echo: about dogs"]"#
    );
    assert_eq!(
        finished(&events),
        ["begin", "item", "llm", "item", "llm", "it", "msg"]
    );
    let AgentEvent::NodeFinished(it) = &events[5] else {
        panic!()
    };
    assert_eq!(it.outputs["n"], json!([0, 1]));
    // The given input is kept for later turns.
    assert_eq!(
        canvas["components"]["begin"]["obj"]["params"]["inputs"]["topics"]["value"],
        json!("cats; dogs")
    );
}

#[tokio::test]
async fn a_failing_component_stops_the_run() {
    let Some(mut canvas) = sample("example-retrieval_and_generate.json") else {
        return;
    };
    let env = FakeEnv::failing();
    let (outcome, events) = run(&mut canvas, ask("q"), &env).await;
    assert_eq!(finished(&events), ["begin", "retrieval:0", "generate:0"]);
    let AgentEvent::NodeFinished(llm) = &events[2] else {
        panic!()
    };
    assert!(llm.error.as_deref().unwrap().contains("unreachable"));
    let err = outcome.error.unwrap();
    assert!(
        err.contains("generate:0") && err.contains("unreachable"),
        "{err}"
    );
    assert_eq!(outcome.content, "");
    assert_eq!(canvas["history"][0], json!(["user", "q"]));

    // A required Begin input that is missing fails the Begin.
    let Some(mut canvas) = sample("template-choose_your_knowledge_base_workflow.json") else {
        return;
    };
    let (outcome, _) = run(&mut canvas, ask("q"), &FakeEnv::echo()).await;
    assert!(outcome.error.unwrap().contains("`knowledge base`"));
}

#[tokio::test]
async fn cycles_run_each_component_once_and_walks_are_bounded() {
    let rows: &[(&str, &str, Value, &[&str])] = &[
        ("begin", "Begin", json!({}), &["a"]),
        ("a", "Message", json!({"content": ["A"]}), &["b"]),
        ("b", "Message", json!({"content": ["B"]}), &["a"]),
    ];
    let env = FakeEnv::echo();
    let mut canvas = dsl(rows);
    let (outcome, events) = run(&mut canvas, ask("q"), &env).await;
    assert_eq!(outcome.content, "AB");
    assert_eq!(finished(&events), ["begin", "a", "b"]);

    let (tx, _rx) = mpsc::channel(100);
    let outcome = run_turn_limited(&mut canvas, ask("q"), &env, tx, 2).await;
    assert_eq!(
        outcome.error.as_deref(),
        Some("the canvas did not finish within 2 steps")
    );
}

#[tokio::test]
async fn a_closed_channel_does_not_stop_the_turn() {
    let Some(mut canvas) = sample("example-retrieval_and_generate.json") else {
        return;
    };
    let env = FakeEnv::echo();
    let (tx, rx) = mpsc::channel(1);
    drop(rx);
    let outcome = run_turn(&mut canvas, ask("what is rust"), &env, tx).await;
    assert_eq!(outcome.error, None);
    assert!(outcome.content.starts_with("echo: "));
    assert_eq!(path(&canvas).len(), 4);
}

#[tokio::test]
async fn refused_canvases_do_not_run() {
    let Some(mut canvas) = sample("example-tavily_and_generate.json") else {
        return;
    };
    let (outcome, events) = run(&mut canvas, ask("q"), &FakeEnv::echo()).await;
    assert!(outcome.error.unwrap().contains("TavilySearch"));
    assert!(events.is_empty());
}
