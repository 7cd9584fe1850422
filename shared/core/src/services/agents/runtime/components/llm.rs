//! LLM: prompts a chat model with the canvas's variables filled in.

use async_trait::async_trait;
use futures_util::StreamExt;
use serde_json::{json, Map, Value};

use super::{p_bool, p_f64, p_str, p_usize, Component};
use crate::ports::chat::{ChatMessage, ContextChunk, DeltaStream, GenOptions};
use crate::services::agents::runtime::dsl::Node;
use crate::services::agents::runtime::engine::{Step, StepResult, Turn};
use crate::services::agents::runtime::refs::to_text;

pub(crate) struct Llm;

/// Said in the outputs when the built-in extractive answerer wrote the answer.
pub(crate) const BUILTIN_NOTE: &str = "answered extractively by the built-in model";

pub(crate) fn is_builtin(model_id: &str) -> bool {
    model_id.ends_with("@Builtin")
}

/// Generation settings from a component's params.
pub(crate) fn gen_options(params: &Map<String, Value>) -> GenOptions {
    GenOptions {
        temperature: p_f64(params, "temperature"),
        top_p: p_f64(params, "top_p"),
        max_tokens: p_f64(params, "max_tokens")
            .filter(|n| *n > 0.0)
            .map(|n| n as u64),
        presence_penalty: p_f64(params, "presence_penalty"),
        frequency_penalty: p_f64(params, "frequency_penalty"),
        ..Default::default()
    }
}

/// The whole answer of a stream.
pub(crate) async fn collect(mut stream: DeltaStream) -> Result<String, String> {
    let mut out = String::new();
    while let Some(piece) = stream.next().await {
        out.push_str(&piece.map_err(|e| e.to_string())?.content);
    }
    Ok(out)
}

/// Generate and collect; returns the model id used and the text.
pub(crate) async fn ask(
    turn: &Turn<'_>,
    llm_id: &str,
    messages: &[ChatMessage],
    opts: &GenOptions,
) -> Result<(String, String), String> {
    let (model, stream) = turn.env.generate(llm_id, messages, opts).await?;
    Ok((model.clone(), collect(stream).await?))
}

/// Context chunks for the turn's chunks, in reference order.
pub(crate) fn context_of(chunks: &[Value]) -> Vec<ContextChunk> {
    chunks
        .iter()
        .map(|c| ContextChunk {
            content: c.get("content").map(to_text).unwrap_or_default(),
            document_name: c
                .get("document_name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        })
        .collect()
}

/// The rendered prompt of an LLM-like component.
pub(crate) struct Prompt {
    pub system: String,
    pub user: Vec<ChatMessage>,
    /// Every reference the prompt read.
    pub refs: Vec<String>,
}

pub(crate) fn render_prompt(params: &Map<String, Value>, turn: &Turn<'_>) -> Prompt {
    let (system, mut refs) = turn.vars.render(p_str(params, "sys_prompt"));
    let mut user = Vec::new();
    let prompts = params
        .get("prompts")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for p in &prompts {
        let role = p.get("role").and_then(Value::as_str).unwrap_or("user");
        let content = p.get("content").and_then(Value::as_str).unwrap_or_default();
        if content.trim().is_empty() {
            continue;
        }
        let (text, r) = turn.vars.render(content);
        refs.extend(r);
        user.push(ChatMessage::new(role, text));
    }
    if user.is_empty() {
        let (text, r) = turn.vars.render("{sys.query}");
        refs.extend(r);
        user.push(ChatMessage::user(text));
    }
    Prompt { system, user, refs }
}

/// What the model may answer from: every chunk of the turn when the prompt reads a
/// component that retrieved some, else the text the prompt's references brought in.
pub(crate) fn context_for(refs: &[String], turn: &Turn<'_>) -> (Vec<ContextChunk>, bool) {
    let reads_chunks = refs.iter().any(|r| {
        r.split_once('@')
            .is_some_and(|(id, _)| turn.chunk_sources.get(id).is_some_and(|c| !c.is_empty()))
    });
    if reads_chunks {
        return (context_of(&turn.chunks), true);
    }
    let text: Vec<String> = refs
        .iter()
        .filter(|r| r.as_str() != "sys.query")
        .map(|r| to_text(&turn.vars.get(r)))
        .filter(|t| !t.trim().is_empty())
        .collect();
    if text.is_empty() {
        return (Vec::new(), false);
    }
    let chunk = ContextChunk {
        content: text.join("\n\n"),
        document_name: "inputs".into(),
    };
    (vec![chunk], false)
}

/// Answer with a chat model: the shared body of LLM and of an Agent without tools.
pub(crate) async fn answer(node: &Node, turn: &mut Turn<'_>) -> StepResult {
    let params = &node.params;
    let llm_id = p_str(params, "llm_id");
    let prompt = render_prompt(params, turn);
    let window = p_usize(params, "message_history_window_size", 12);
    let mut messages = Vec::new();
    if !prompt.system.trim().is_empty() {
        messages.push(ChatMessage::system(prompt.system.clone()));
    }
    messages.extend(turn.history_messages(window));
    messages.extend(prompt.user.iter().cloned());
    let (context, from_chunks) = context_for(&prompt.refs, turn);
    let mut opts = gen_options(params);
    opts.cite = from_chunks && p_bool(params, "cite", true);
    opts.context = context;
    let (mut model, mut content) = ask(turn, llm_id, &messages, &opts).await?;
    if is_builtin(&model) && !turn.query.trim().is_empty() {
        // The extractive answerer matches the question's words against the context; the
        // rendered prompt also carries the context itself, so ask it the user's question.
        let question = [ChatMessage::user(turn.query.clone())];
        (model, content) = ask(turn, llm_id, &question, &opts).await?;
    }
    let mut inputs = Map::new();
    inputs.insert("llm_id".into(), json!(llm_id));
    inputs.insert("sys_prompt".into(), json!(prompt.system));
    inputs.insert(
        "prompts".into(),
        json!(prompt
            .user
            .iter()
            .map(|m| json!({"role": m.role, "content": m.content}))
            .collect::<Vec<_>>()),
    );
    let mut outputs = Map::new();
    outputs.insert("content".into(), json!(content));
    if is_builtin(&model) {
        outputs.insert("_note".into(), json!(BUILTIN_NOTE));
    }
    Ok(Step {
        inputs,
        outputs,
        next: None,
    })
}

#[async_trait]
impl Component for Llm {
    async fn run(&self, node: &Node, turn: &mut Turn<'_>) -> StepResult {
        answer(node, turn).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::agents::runtime::dsl::Canvas;
    use crate::services::agents::runtime::testkit::{chunk, node, obj, turn, FakeEnv};

    fn with_retrieval(t: &mut Turn<'_>) {
        t.vars.ids.insert("retrieval:0".into());
        t.vars.outputs.insert(
            "retrieval:0".into(),
            obj(json!({"formalized_content": "[ID:0] (document: a.md)\nalpha"})),
        );
        let places = t.add_chunks(&[chunk("c1", "a.md", "alpha")]);
        t.chunk_sources.insert("retrieval:0".into(), places);
    }

    #[tokio::test]
    async fn renders_prompts_and_passes_settings_and_chunks() {
        let env = FakeEnv::echo();
        let canvas = Canvas::default();
        let (mut t, _rx) = turn(&env, &canvas);
        with_retrieval(&mut t);
        t.history = vec![
            ("user".into(), "hi".into()),
            ("assistant".into(), "hello".into()),
        ];
        let n = node(
            "generate:0",
            "LLM",
            json!({"llm_id": "m@X", "sys_prompt": "KB:\n{retrieval:0@formalized_content}",
                   "temperature": 0.2, "max_tokens": 99, "message_history_window_size": 1}),
        );
        let step = Llm.run(&n, &mut t).await.unwrap();
        assert_eq!(step.outputs["content"], json!("echo: what is rust"));
        assert!(step.outputs.get("_note").is_none());
        let (id, messages, opts) = env.generation_calls().remove(0);
        assert_eq!(id, "m@X");
        assert_eq!(messages[0].content, "KB:\n[ID:0] (document: a.md)\nalpha");
        assert_eq!(messages[1], ChatMessage::assistant("hello"));
        assert_eq!(messages[2], ChatMessage::user("what is rust"));
        assert_eq!(opts.temperature, Some(0.2));
        assert_eq!(opts.max_tokens, Some(99));
        assert!(opts.cite);
        assert_eq!(opts.context.len(), 1);
        assert_eq!(opts.context[0].content, "alpha");
    }

    #[tokio::test]
    async fn builtin_answers_from_inputs_and_says_so() {
        let env = FakeEnv::builtin();
        let canvas = Canvas::default();
        let (mut t, _rx) = turn(&env, &canvas);
        t.vars.ids.insert("Agent:X".into());
        t.vars
            .outputs
            .insert("Agent:X".into(), obj(json!({"content": "Rust is fast."})));
        let n = node(
            "l",
            "LLM",
            json!({"prompts": [{"role": "user", "content": "Polish: {Agent:X@content}"}]}),
        );
        let step = Llm.run(&n, &mut t).await.unwrap();
        assert_eq!(step.outputs["content"], json!("Rust is fast."));
        assert_eq!(step.outputs["_note"], json!(BUILTIN_NOTE));
        let calls = env.generation_calls();
        assert_eq!(calls.last().unwrap().1, [ChatMessage::user("what is rust")]);
        assert!(!calls[0].2.cite);
    }

    #[tokio::test]
    async fn model_errors_fail_the_component() {
        let env = FakeEnv::failing();
        let canvas = Canvas::default();
        let (mut t, _rx) = turn(&env, &canvas);
        let err = Llm
            .run(&node("l", "LLM", json!({})), &mut t)
            .await
            .unwrap_err();
        assert!(err.contains("unreachable"));
    }
}
