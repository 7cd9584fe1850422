//! A5–A7 and v0.27's single-session routes: agent sessions.

use serde_json::{json, Map, Value};

use super::runtime::{prologue, reset_for_session};
use super::{int_arg, is_v027, json_result, refused, result, session_json};
use crate::contract::batch::{batch_result_with_misses, dedupe_ids, BatchOutcome};
use crate::contract::envelope::{ApiError, RetCode};
use crate::contract::http::first;
use crate::contract::ids::new_id;
use crate::contract::pyfmt::py_str;
use crate::contract::time::now_ms;
use crate::domain::ClientGeneration;
use crate::ports::agent::{AgentCanvas, AgentSession};
use crate::state::AppState;

/// A new session of `agent` for `user_id`: the canvas reset, the prologue as the first
/// message.
pub fn new_session(agent: &AgentCanvas, user_id: &str, name: Option<String>) -> AgentSession {
    let now = now_ms();
    let dsl = reset_for_session(&agent.dsl);
    let opening = prologue(&dsl).unwrap_or_default();
    AgentSession {
        id: new_id(),
        tenant_id: agent.tenant_id.clone(),
        agent_id: agent.id.clone(),
        user_id: user_id.to_string(),
        name,
        messages: vec![json!({"role": "assistant", "content": opening})],
        reference: Vec::new(),
        dsl,
        tokens: 0,
        duration: 0.0,
        round: 0,
        thumb_up: 0,
        errors: None,
        create_time: now,
        update_time: now,
    }
}

fn no_access(generation: ClientGeneration) -> ApiError {
    if is_v027(generation) {
        ApiError::new(
            RetCode::OperatingError,
            "Make sure you have permission to access the agent.",
        )
        .with_data(json!(false))
    } else {
        ApiError::data("Agent not found.")
    }
}

/// A5. `user_id` from the query (pinned) or the body (v0.27), else the tenant.
pub async fn create_session(
    state: &AppState,
    tenant_id: &str,
    generation: ClientGeneration,
    agent_id: &str,
    pairs: &[(String, String)],
    body: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let Some(agent) = state.agents.get_agent(tenant_id, agent_id).await? else {
        return Err(no_access(generation));
    };
    let user_id = first(pairs, "user_id")
        .map(str::to_string)
        .or_else(|| body.get("user_id").filter(|v| !v.is_null()).map(py_str))
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| tenant_id.to_string());
    let name = body.get("name").filter(|v| !v.is_null()).map(py_str);
    let session = new_session(&agent, &user_id, name);
    state.agents.insert_agent_session(&session).await?;
    Ok(result(json!({
        "id": session.id,
        "agent_id": session.agent_id,
        "user_id": session.user_id,
        "name": session.name,
        "message": session.messages,
        "source": "agent",
        "dsl": session.dsl,
        "create_time": session.create_time,
        "update_time": session.update_time,
    })))
}

/// A6: `[]` when none; v0.27 adds a top-level `total`.
pub async fn list_sessions(
    state: &AppState,
    tenant_id: &str,
    generation: ClientGeneration,
    agent_id: &str,
    pairs: &[(String, String)],
) -> Result<Value, ApiError> {
    if state.agents.get_agent(tenant_id, agent_id).await?.is_none() {
        return Err(ApiError::data(format!(
            "You don't own the agent {agent_id}."
        )));
    }
    let page = int_arg(pairs, "page", 1)?.max(1);
    let page_size = int_arg(pairs, "page_size", 30)?;
    let orderby = first(pairs, "orderby").unwrap_or("update_time");
    let desc = !matches!(first(pairs, "desc"), Some("False" | "false"));
    let include_dsl = !matches!(first(pairs, "dsl"), Some("False" | "false"));
    let mut all = state
        .agents
        .list_agent_sessions(tenant_id, agent_id)
        .await?;
    if let Some(id) = first(pairs, "id").filter(|s| !s.is_empty()) {
        all.retain(|s| s.id == id);
    }
    if let Some(u) = first(pairs, "user_id").filter(|s| !s.is_empty()) {
        all.retain(|s| s.user_id == u);
    }
    all.sort_by(|a, b| {
        let ord = match orderby {
            "create_time" => a.create_time.cmp(&b.create_time),
            _ => a.update_time.cmp(&b.update_time),
        }
        .then_with(|| a.create_time.cmp(&b.create_time));
        if desc {
            ord.reverse()
        } else {
            ord
        }
    });
    let total = all.len();
    let start = (page - 1).saturating_mul(page_size);
    let items: Vec<Value> = all
        .iter()
        .skip(start)
        .take(page_size)
        .map(|s| session_json(s, include_dsl))
        .collect();
    let mut reply = result(Value::Array(items));
    if is_v027(generation) {
        reply["message"] = json!("success");
        reply["total"] = json!(total);
    }
    Ok(reply)
}

/// A7. Pinned rules without `delete_all` (null/absent ids delete every session); v0.27's
/// with it (no ids and `delete_all` not true: nothing).
pub async fn delete_sessions(
    state: &AppState,
    tenant_id: &str,
    agent_id: &str,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    if state.agents.get_agent(tenant_id, agent_id).await?.is_none() {
        return Err(ApiError::data(format!(
            "You don't own the agent {agent_id}"
        )));
    }
    let ids: Option<Vec<String>> = match req.get("ids") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => Some(a.iter().map(py_str).collect()),
        Some(other) => Some(vec![py_str(other)]),
    };
    let v027 = req.contains_key("delete_all");
    let delete_all = req.get("delete_all").and_then(Value::as_bool) == Some(true);
    let sessions = state
        .agents
        .list_agent_sessions(tenant_id, agent_id)
        .await?;
    let ids = match ids {
        Some(ids) if !ids.is_empty() => ids,
        _ if v027 && !delete_all => return Ok(json!({"code": 0})),
        _ => {
            if sessions.is_empty() && !v027 {
                return Err(ApiError::data(format!("Agent {agent_id} has no sessions")));
            }
            let all: Vec<String> = sessions.iter().map(|s| s.id.clone()).collect();
            state
                .agents
                .delete_agent_sessions(tenant_id, agent_id, &all)
                .await?;
            return Ok(json!({"code": 0}));
        }
    };
    if sessions.is_empty() && !v027 {
        return Err(ApiError::data(format!("Agent {agent_id} has no sessions")));
    }
    let (unique, dups) = dedupe_ids(&ids, "session");
    let mut misses = Vec::new();
    let mut present = Vec::new();
    for id in unique {
        if sessions.iter().any(|s| s.id == id) {
            present.push(id);
        } else {
            misses.push(format!("The agent doesn't own the session {id}"));
        }
    }
    let deleted = state
        .agents
        .delete_agent_sessions(tenant_id, agent_id, &present)
        .await?;
    match batch_result_with_misses(deleted as u64, misses, dups)? {
        BatchOutcome::Done => Ok(json!({"code": 0})),
        BatchOutcome::Partial {
            success_count,
            errors,
        } => Ok(result(
            json!({"success_count": success_count, "errors": errors}),
        )),
    }
}

/// v0.27's `GET /agents/{aid}/sessions/{sid}`: the session row.
pub async fn get_session(
    state: &AppState,
    tenant_id: &str,
    agent_id: &str,
    session_id: &str,
) -> Result<Value, ApiError> {
    if state.agents.get_agent(tenant_id, agent_id).await?.is_none() {
        return Err(refused(
            RetCode::OperatingError,
            "Make sure you have permission to access the agent.",
        ));
    }
    match state
        .agents
        .get_agent_session(tenant_id, agent_id, session_id)
        .await?
    {
        Some(s) => Ok(json_result(session_json(&s, true))),
        None => Err(ApiError::data("Session not found!").with_data(json!(false))),
    }
}

/// v0.27's `DELETE /agents/{aid}/sessions/{sid}`: the number deleted.
pub async fn delete_session(
    state: &AppState,
    tenant_id: &str,
    agent_id: &str,
    session_id: &str,
) -> Result<Value, ApiError> {
    if state.agents.get_agent(tenant_id, agent_id).await?.is_none() {
        return Err(refused(
            RetCode::OperatingError,
            "Make sure you have permission to access the agent.",
        ));
    }
    let n = state
        .agents
        .delete_agent_sessions(tenant_id, agent_id, &[session_id.to_string()])
        .await?;
    if n == 0 {
        return Err(ApiError::data("Session not found!").with_data(json!(false)));
    }
    Ok(json_result(json!(n)))
}
