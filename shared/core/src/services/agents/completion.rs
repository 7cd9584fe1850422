//! A8 (`/agents/{id}/completions`, contract 8.4), v0.27's `/agents/chat/completions` and
//! the OpenAI-compatible agent route (8.3): one turn of an agent session, streamed or
//! collected.
//!
//! The turn runs in its own task: a client that hangs up mid-stream does not stop it, and
//! the session records the turn either way.

use std::time::Instant;

use bytes::Bytes;
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use super::env::StateEnv;
use super::runtime::{run_turn, AgentEvent, NodeRecord, RunInput, RunOutcome};
use super::sessions::new_session;
use super::{refused, result};
use crate::contract::envelope::{ApiError, RetCode};
use crate::contract::ids::new_id;
use crate::contract::pyfmt::{py_str, truthy};
use crate::contract::time::now_ms;
use crate::ports::agent::{AgentCanvas, AgentSession};
use crate::ports::chat::{channel_stream, FrameStream};
use crate::services::answer::estimate_tokens;
use crate::state::AppState;

/// Which route's checks and frames a completion uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompletionStyle {
    /// A8: `data:{event...}` frames, engine assertions as code 100.
    Pinned,
    /// v0.27's unified route: the same frames, v0.27's messages.
    Unified,
}

/// What an agent route replies with.
pub enum AgentReply {
    /// An envelope.
    Json(Value),
    /// A bare JSON body (OpenAI clients).
    Bare(Value),
    Stream(FrameStream),
}

fn secs() -> i64 {
    now_ms() / 1000
}

fn node_json(n: &NodeRecord) -> Value {
    json!({
        "inputs": n.inputs,
        "outputs": n.outputs,
        "component_id": n.component_id,
        "component_name": n.component_name,
        "component_type": n.component_type,
        "error": n.error,
        "elapsed_time": n.elapsed_time,
        "created_at": n.created_at,
    })
}

/// A turn about to run: the session (already stored), and the ids its frames carry.
struct Turn {
    state: AppState,
    session: AgentSession,
    question: String,
    input: RunInput,
    message_id: String,
}

impl Turn {
    /// Run in a task of its own; events arrive on the receiver, the outcome (after the
    /// session was saved) from the handle.
    fn spawn(
        self,
    ) -> (
        mpsc::Receiver<AgentEvent>,
        tokio::task::JoinHandle<RunOutcome>,
    ) {
        let (tx, rx) = mpsc::channel(64);
        let handle = tokio::spawn(async move {
            let Turn {
                state,
                mut session,
                question,
                input,
                message_id,
                ..
            } = self;
            let env = StateEnv {
                state: state.clone(),
                tenant_id: session.tenant_id.clone(),
            };
            let started = Instant::now();
            let mut dsl = session.dsl.clone();
            let outcome = run_turn(&mut dsl, input, &env, tx).await;
            let answer = match (&outcome.error, outcome.content.is_empty()) {
                (Some(e), true) => format!("**ERROR**: {e}"),
                _ => outcome.content.clone(),
            };
            session
                .messages
                .push(json!({"role": "user", "content": question, "id": message_id}));
            session.messages.push(json!({
                "role": "assistant", "content": answer, "id": message_id, "created_at": secs(),
            }));
            session.reference.push(outcome.reference.clone());
            trim_run_state(&mut dsl);
            session.dsl = dsl;
            session.round += 1;
            session.duration += started.elapsed().as_secs_f64();
            session.tokens += (estimate_tokens(&question) + estimate_tokens(&answer)) as i64;
            session.errors = outcome.error.clone();
            if session.name.is_none() {
                session.name = Some(question.chars().take(255).collect());
            }
            session.update_time = now_ms();
            if let Err(e) = state.agents.update_agent_session(&session).await {
                tracing::warn!(error = %e, session = %session.id, "could not save the agent turn");
            }
            outcome
        });
        (rx, handle)
    }
}

/// Run state the canvas keeps per turn, bounded: the runtime reads a window of history
/// (`message_history_window_size`), and the session's messages keep the full transcript,
/// so older entries only grow the stored item (DynamoDB caps one at 400 KB).
const KEPT_HISTORY: usize = 100;
const KEPT_TURNS: usize = 10;

fn trim_run_state(dsl: &mut Value) {
    for (key, keep) in [
        ("history", KEPT_HISTORY),
        ("retrieval", KEPT_TURNS),
        ("path", KEPT_HISTORY),
    ] {
        if let Some(Value::Array(a)) = dsl.get_mut(key) {
            if a.len() > keep {
                a.drain(..a.len() - keep);
            }
        }
    }
}

/// The question of a body: `question`, else `query`.
fn question_of(req: &Map<String, Value>) -> String {
    req.get("question")
        .or_else(|| req.get("query"))
        .filter(|v| !v.is_null())
        .map(py_str)
        .unwrap_or_default()
}

fn inputs_of(req: &Map<String, Value>) -> Map<String, Value> {
    match req.get("inputs") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    }
}

/// The agent and the session of a turn: the given session, or a new one stored now.
async fn open_turn(
    state: &AppState,
    agent: &AgentCanvas,
    session_id: Option<String>,
    user_id: Option<String>,
    session_missing: impl Fn() -> ApiError,
) -> Result<AgentSession, ApiError> {
    match session_id {
        Some(id) => state
            .agents
            .get_agent_session(&agent.tenant_id, &agent.id, &id)
            .await?
            .ok_or_else(session_missing),
        None => {
            let user = user_id.unwrap_or_else(|| agent.tenant_id.clone());
            let session = new_session(agent, &user, None);
            state.agents.insert_agent_session(&session).await?;
            Ok(session)
        }
    }
}

fn event_frame(event: &str, turn: &TurnIds, data: Value) -> Value {
    json!({
        "event": event,
        "message_id": turn.message_id,
        "created_at": secs(),
        "task_id": turn.task_id,
        "data": data,
        "session_id": turn.session_id,
    })
}

#[derive(Clone)]
struct TurnIds {
    message_id: String,
    task_id: String,
    session_id: String,
}

fn sse(v: &Value) -> Bytes {
    Bytes::from(format!("data:{v}\n\n"))
}

/// A8 and the unified route without `openai-compatible`.
pub async fn agent_completion(
    state: &AppState,
    tenant_id: &str,
    agent_id: &str,
    req: &Map<String, Value>,
    style: CompletionStyle,
) -> Result<AgentReply, ApiError> {
    let stream_default = style == CompletionStyle::Pinned;
    let stream = req.get("stream").map_or(stream_default, truthy);
    let return_trace = req.get("return_trace").is_some_and(truthy);
    let agent = match state.agents.get_agent(tenant_id, agent_id).await? {
        Some(a) => a,
        None if style == CompletionStyle::Pinned => {
            return Err(ApiError::exception("AssertionError('Agent not found.')"))
        }
        None => return Err(ApiError::data("canvas not found.").with_data(json!(false))),
    };
    let session_id = req.get("session_id").filter(|v| truthy(v)).map(py_str);
    let user_id = req.get("user_id").filter(|v| truthy(v)).map(py_str);
    let missing = || match style {
        CompletionStyle::Pinned => ApiError::exception("AssertionError('Session not found!')"),
        CompletionStyle::Unified => ApiError::data("Session not found!").with_data(json!(false)),
    };
    // Upstream's stream just ends (an empty body) when the engine's assertion fails; the
    // envelope says why, in both modes.
    let session = open_turn(state, &agent, session_id, user_id, missing).await?;
    let question = question_of(req);
    let ids = TurnIds {
        message_id: new_id(),
        task_id: new_id(),
        session_id: session.id.clone(),
    };
    let turn = Turn {
        state: state.clone(),
        input: RunInput {
            query: question.clone(),
            inputs: inputs_of(req),
            user_id: session.user_id.clone(),
            files: match req.get("files") {
                Some(Value::Array(a)) => a.clone(),
                _ => Vec::new(),
            },
        },
        session,
        question,
        message_id: ids.message_id.clone(),
    };
    let (mut events, handle) = turn.spawn();
    if stream {
        let (tx, rx) = mpsc::channel::<Result<Bytes, std::convert::Infallible>>(64);
        tokio::spawn(async move {
            let mut trace: Vec<Value> = Vec::new();
            let mut sent_message = false;
            while let Some(ev) = events.recv().await {
                let frame = match ev {
                    AgentEvent::Message { content } => {
                        sent_message = true;
                        event_frame("message", &ids, json!({"content": content}))
                    }
                    AgentEvent::MessageEnd { reference } => {
                        event_frame("message_end", &ids, json!({"reference": reference}))
                    }
                    AgentEvent::NodeFinished(n) => {
                        let mut data = node_json(&n);
                        if return_trace {
                            trace.push(
                                json!({"component_id": n.component_id, "trace": [data.clone()]}),
                            );
                            data["trace"] = Value::Array(trace.clone());
                        }
                        event_frame("node_finished", &ids, data)
                    }
                };
                // A closed receiver means the client left; the turn goes on regardless.
                let _ = tx.send(Ok(sse(&frame))).await;
            }
            if let Ok(outcome) = handle.await {
                if let (Some(e), false) = (&outcome.error, sent_message) {
                    let frame = event_frame(
                        "message",
                        &ids,
                        json!({"content": format!("**ERROR**: {e}")}),
                    );
                    let _ = tx.send(Ok(sse(&frame))).await;
                }
            }
            let _ = tx.send(Ok(Bytes::from_static(b"data:[DONE]\n\n"))).await;
        });
        return Ok(AgentReply::Stream(channel_stream(rx)));
    }
    let mut trace: Vec<Value> = Vec::new();
    let mut last_node: Option<NodeRecord> = None;
    while let Some(ev) = events.recv().await {
        if let AgentEvent::NodeFinished(n) = ev {
            if return_trace {
                trace.push(json!({"component_id": n.component_id, "trace": [node_json(&n)]}));
            }
            last_node = Some(n);
        }
    }
    let outcome = handle
        .await
        .map_err(|e| ApiError::exception(format!("RuntimeError('{e}')")))?;
    if let (Some(e), true) = (&outcome.error, outcome.content.is_empty()) {
        return Ok(AgentReply::Json(result(json!(format!("**ERROR**: {e}")))));
    }
    let mut data = last_node
        .as_ref()
        .map(node_json)
        .unwrap_or_else(|| json!({}));
    data["content"] = json!(outcome.content);
    data["reference"] = outcome.reference.clone();
    if return_trace {
        data["trace"] = Value::Array(trace);
    }
    let final_event = event_frame("workflow_finished", &ids, data);
    Ok(AgentReply::Json(result(final_event)))
}

/// v0.27's `POST /agents/chat/completions`: `agent_id` in the body; `openai-compatible`
/// answers as the OpenAI route does.
pub async fn unified_completion(
    state: &AppState,
    tenant_id: &str,
    req: &Map<String, Value>,
) -> Result<AgentReply, ApiError> {
    let Some(agent_id) = req.get("agent_id").filter(|v| truthy(v)).map(py_str) else {
        return Err(refused(RetCode::ArgumentError, "`agent_id` is required."));
    };
    if req.get("openai-compatible").is_some_and(truthy) {
        return openai_completion(state, tenant_id, &agent_id, req).await;
    }
    agent_completion(state, tenant_id, &agent_id, req, CompletionStyle::Unified).await
}

/// 8.3: `/agents_openai/{agent_id}/chat/completions` (`model` and `messages` checked by
/// the caller before authentication, as upstream's decorator order does).
pub async fn openai_completion(
    state: &AppState,
    tenant_id: &str,
    agent_id: &str,
    req: &Map<String, Value>,
) -> Result<AgentReply, ApiError> {
    let messages: Vec<Value> = match req.get("messages") {
        Some(Value::Array(a)) => a
            .iter()
            .cloned()
            .map(crate::services::openai_compat::text_content)
            .collect(),
        _ => Vec::new(),
    };
    if messages.is_empty() {
        return Err(ApiError::data("You must provide at least one message."));
    }
    let Some(agent) = state.agents.get_agent(tenant_id, agent_id).await? else {
        return Err(ApiError::data(format!(
            "You don't own the agent {agent_id}"
        )));
    };
    let role = |m: &Value| {
        m.get("role")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let content = |m: &Value| m.get("content").map(py_str).unwrap_or_default();
    let useful: Vec<&Value> = messages
        .iter()
        .filter(|m| matches!(role(m).as_str(), "user" | "assistant"))
        .collect();
    let prompt_tokens: usize = useful.iter().map(|m| estimate_tokens(&content(m))).sum();
    let model = req.get("model").cloned().unwrap_or(Value::Null);
    if useful.is_empty() {
        let text = "No valid messages found (user or assistant).";
        return Ok(AgentReply::Bare(openai_body(
            agent_id,
            &model,
            text,
            None,
            prompt_tokens,
        )));
    }
    let question = messages
        .iter()
        .rev()
        .find(|m| role(m) == "user")
        .map(content)
        .unwrap_or_default();
    let stream = req.get("stream").is_some_and(truthy);
    let session_id = req
        .get("session_id")
        .or_else(|| req.get("id"))
        .or_else(|| req.get("metadata").and_then(|m| m.get("id")))
        .filter(|v| truthy(v))
        .map(py_str);
    let session = open_turn(state, &agent, session_id, None, || {
        ApiError::data("Session not found!")
    })
    .await?;
    let session_id = session.id.clone();
    let turn = Turn {
        state: state.clone(),
        input: RunInput {
            query: question.clone(),
            inputs: Map::new(),
            user_id: session.user_id.clone(),
            files: Vec::new(),
        },
        session,
        question,
        message_id: new_id(),
    };
    let (mut events, handle) = turn.spawn();
    if stream {
        let agent_id = agent_id.to_string();
        let (tx, rx) = mpsc::channel::<Result<Bytes, std::convert::Infallible>>(64);
        tokio::spawn(async move {
            let chunk = |delta: Value, finish: Value| {
                json!({
                    "id": session_id, "object": "chat.completion.chunk", "model": agent_id,
                    "choices": [{"delta": delta, "finish_reason": finish, "index": 0}],
                })
            };
            let frame = |v: Value| Ok(Bytes::from(format!("data: {v}\n\n")));
            while let Some(ev) = events.recv().await {
                let v = match ev {
                    AgentEvent::Message { content } => {
                        chunk(json!({"content": content}), Value::Null)
                    }
                    AgentEvent::MessageEnd { reference } => {
                        let mut delta = json!({"content": ""});
                        if reference.as_object().is_some_and(|r| !r.is_empty()) {
                            delta["reference"] = reference;
                        }
                        chunk(delta, Value::Null)
                    }
                    AgentEvent::NodeFinished(_) => continue,
                };
                let _ = tx.send(frame(v)).await;
            }
            if let Ok(RunOutcome { error: Some(e), .. }) = handle.await {
                let v = chunk(json!({"content": format!("**ERROR**: {e}")}), json!("stop"));
                let _ = tx.send(frame(v)).await;
            }
            let _ = tx.send(Ok(Bytes::from_static(b"data: [DONE]\n\n"))).await;
        });
        return Ok(AgentReply::Stream(channel_stream(rx)));
    }
    while events.recv().await.is_some() {}
    let outcome = handle
        .await
        .map_err(|e| ApiError::exception(format!("RuntimeError('{e}')")))?;
    let text = match (&outcome.error, outcome.content.is_empty()) {
        (Some(e), true) => format!("**ERROR**: {e}"),
        _ => outcome.content.clone(),
    };
    let reference =
        Some(outcome.reference).filter(|r| r.as_object().is_some_and(|o| !o.is_empty()));
    let mut body = openai_body(&session_id, &model, &text, reference, 0);
    body["model"] = json!(agent_id);
    Ok(AgentReply::Bare(body))
}

/// 8.3's non-stream body: `created` and `param` null, token counts 0 (as upstream reports
/// them for agents), except the no-valid-message reply which counts.
fn openai_body(
    id: &str,
    model: &Value,
    content: &str,
    reference: Option<Value>,
    prompt_tokens: usize,
) -> Value {
    let completion_tokens = if prompt_tokens > 0 {
        estimate_tokens(content)
    } else {
        0
    };
    let mut message = json!({"role": "assistant", "content": content});
    if let Some(r) = reference {
        message["reference"] = r;
    }
    json!({
        "id": id,
        "object": "chat.completion",
        "created": null,
        "model": model,
        "param": null,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "choices": [{
            "message": message,
            "logprobs": null,
            "finish_reason": "stop",
            "index": 0,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_state_is_trimmed_to_its_recent_end() {
        let mut dsl = json!({
            "history": (0..150).collect::<Vec<_>>(),
            "retrieval": (0..12).collect::<Vec<_>>(),
            "path": ["begin"],
        });
        trim_run_state(&mut dsl);
        assert_eq!(dsl["history"].as_array().map(Vec::len), Some(KEPT_HISTORY));
        assert_eq!(dsl["history"][0], json!(50));
        assert_eq!(dsl["retrieval"], json!((2..12).collect::<Vec<_>>()));
        assert_eq!(dsl["path"], json!(["begin"]));
    }
}
