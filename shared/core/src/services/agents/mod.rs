//! Agents (contract 7.9, v0.27's `/agents*`, delta §1.7 and §2.10): canvases, their
//! sessions and completions.
//!
//! Where the two generations answer one path differently (the list shape, what create
//! and update return, some messages), the caller's API-key generation picks the reply, as
//! for `GET /chats` (delta §4.1 C2). Canvases are validated when stored: a component the
//! runtime does not run is refused by name.

mod canvases;
mod completion;
mod env;
pub mod runtime;
mod sessions;

pub use canvases::{create, delete, get_one, list, update};
pub use completion::{
    agent_completion, openai_completion, unified_completion, AgentReply, CompletionStyle,
};
pub use sessions::{create_session, delete_session, delete_sessions, get_session, list_sessions};

use serde_json::{json, Value};

use crate::contract::envelope::{ApiError, RetCode};
use crate::contract::time::rfc1123;
use crate::domain::ClientGeneration;
use crate::ports::agent::{AgentCanvas, AgentSession};

/// Upstream's category for agent canvases (its other category, dataflow, is not served).
pub const AGENT_CANVAS: &str = "agent_canvas";

/// `{"code":0,"data":X}` (`get_result`).
pub fn result(data: Value) -> Value {
    json!({"code": 0, "data": data})
}

/// `{"code":0,"message":"success","data":X}` (`get_json_result`).
pub fn json_result(data: Value) -> Value {
    json!({"code": 0, "message": "success", "data": data})
}

fn is_v027(generation: ClientGeneration) -> bool {
    generation == ClientGeneration::V027
}

/// A canvas as both generations list it (upstream's `user_canvas` row).
pub fn canvas_json(a: &AgentCanvas) -> Value {
    json!({
        "id": a.id,
        "avatar": a.avatar,
        "user_id": a.tenant_id,
        "title": a.title,
        "permission": a.permission,
        "description": a.description,
        "canvas_type": a.canvas_type,
        "canvas_category": a.canvas_category,
        "dsl": a.dsl,
        "create_time": a.create_time,
        "create_date": rfc1123(a.create_time),
        "update_time": a.update_time,
        "update_date": rfc1123(a.update_time),
    })
}

/// A chunk of a stored reference, in the shape session listings show.
fn listed_chunk(c: &Value) -> Value {
    let pick = |a: &str, b: &str| {
        c.get(a)
            .or_else(|| c.get(b))
            .cloned()
            .unwrap_or(Value::Null)
    };
    json!({
        "id": pick("chunk_id", "id"),
        "content": pick("content_with_weight", "content"),
        "document_id": pick("doc_id", "document_id"),
        "document_name": pick("docnm_kwd", "document_name"),
        "dataset_id": pick("kb_id", "dataset_id"),
        "image_id": pick("image_id", "img_id"),
        "positions": pick("positions", "position_int"),
    })
}

/// A session as listings show it: `messages`, the agent id, and each assistant answer
/// after the prologue with the chunks of its reference.
pub fn session_json(s: &AgentSession, include_dsl: bool) -> Value {
    let mut messages = s.messages.clone();
    let mut answer = 0;
    for (i, m) in messages.iter_mut().enumerate() {
        if i == 0 || m.get("role").and_then(Value::as_str) == Some("user") {
            continue;
        }
        let chunks: Vec<Value> = s
            .reference
            .get(answer)
            .and_then(|r| r.get("chunks"))
            .map(|c| match c {
                Value::Array(a) => a.iter().map(listed_chunk).collect(),
                Value::Object(o) => o.values().map(listed_chunk).collect(),
                _ => Vec::new(),
            })
            .unwrap_or_default();
        if let Some(obj) = m.as_object_mut() {
            obj.insert("reference".into(), Value::Array(chunks));
        }
        answer += 1;
    }
    let mut v = json!({
        "id": s.id,
        "agent_id": s.agent_id,
        "user_id": s.user_id,
        "name": s.name,
        "messages": messages,
        "tokens": s.tokens,
        "source": "agent",
        "duration": s.duration,
        "round": s.round,
        "thumb_up": s.thumb_up,
        "errors": s.errors,
        "create_time": s.create_time,
        "create_date": rfc1123(s.create_time),
        "update_time": s.update_time,
        "update_date": rfc1123(s.update_time),
    });
    if include_dsl {
        v["dsl"] = s.dsl.clone();
    }
    v
}

/// A paging query value read as Python's `int()` reads it (negative values count as 0).
fn int_arg(pairs: &[(String, String)], key: &str, default: usize) -> Result<usize, ApiError> {
    match crate::contract::http::first(pairs, key) {
        None => Ok(default),
        Some(v) => crate::services::documents::py_int(v).map(|n| n.max(0) as usize),
    }
}

/// A refusal with `data:false`, as upstream's `get_json_result` writes them.
fn refused(code: RetCode, message: impl Into<String>) -> ApiError {
    ApiError::new(code, message).with_data(json!(false))
}
