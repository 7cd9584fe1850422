//! The session routes ragflow-sdk 0.26 (RAGFlow v0.27) uses beside the pinned S1–S4: GET and
//! PATCH one session, `delete_all` on DELETE, deleting one question/answer pair and message
//! feedback. Their errors are v0.27's: a chat the caller cannot see is 109
//! `no authorization`, a missing session 102 `Session not found!`.

use serde_json::{json, Map, Value};

use crate::contract::envelope::ApiError;
use crate::contract::error::StoreError;
use crate::contract::pyfmt::{py_str, truthy};
use crate::contract::time::now_ms;
use crate::ports::chat::{Chat, Session, SessionListQuery};
use crate::services::chats::V027Deleted;
use crate::services::chats::{delete_all_flag, id_items, no_authorization, v027_batch_reply};
use crate::services::sessions::to_api;
use crate::state::AppState;

async fn chat_of(state: &AppState, tenant_id: &str, chat_id: &str) -> Result<Chat, ApiError> {
    state
        .chats
        .get_chat(tenant_id, chat_id)
        .await?
        .ok_or_else(no_authorization)
}

async fn session_of(
    state: &AppState,
    tenant_id: &str,
    chat_id: &str,
    session_id: &str,
) -> Result<(Chat, Session), ApiError> {
    let chat = chat_of(state, tenant_id, chat_id).await?;
    // Sessions are stored under their chat: one of another chat is simply not found here.
    let session = state
        .chats
        .get_session(tenant_id, chat_id, session_id)
        .await?
        .ok_or_else(|| ApiError::data("Session not found!"))?;
    Ok((chat, session))
}

/// The v0.27 session object: the pinned one plus the raw per-turn `reference` list.
pub fn to_v027_api(s: &Session) -> Value {
    let mut v = to_api(s);
    if let Some(o) = v.as_object_mut() {
        o.insert("reference".into(), Value::Array(s.reference.clone()));
    }
    v
}

/// GET /chats/{chat_id}/sessions/{session_id}: the session plus `avatar` (the chat's icon).
pub async fn get_one(
    state: &AppState,
    tenant_id: &str,
    chat_id: &str,
    session_id: &str,
) -> Result<Value, ApiError> {
    let (chat, session) = session_of(state, tenant_id, chat_id, session_id).await?;
    let mut v = to_v027_api(&session);
    if let Some(o) = v.as_object_mut() {
        o.insert("avatar".into(), json!(chat.icon.unwrap_or_default()));
    }
    Ok(v)
}

/// PATCH /chats/{chat_id}/sessions/{session_id}: rename (v0.27 ignores `id`, `dialog_id`,
/// `chat_id`, `user_id`; other unknown keys are dropped too rather than failing the write).
pub async fn patch(
    state: &AppState,
    tenant_id: &str,
    chat_id: &str,
    session_id: &str,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let (_, mut session) = session_of(state, tenant_id, chat_id, session_id).await?;
    if req.contains_key("message") || req.contains_key("messages") {
        return Err(ApiError::data("`messages` cannot be changed"));
    }
    if req.contains_key("reference") {
        return Err(ApiError::data("`reference` cannot be changed"));
    }
    if let Some(v) = req.get("name") {
        let name = if truthy(v) {
            py_str(v).trim().to_string()
        } else {
            String::new()
        };
        if name.is_empty() {
            return Err(ApiError::data("`name` can not be empty"));
        }
        session.name = name.chars().take(255).collect();
    }
    session.update_time = now_ms();
    match state.chats.update_session(&session).await {
        Ok(()) => Ok(to_v027_api(&session)),
        Err(StoreError::NotFound(_)) => Err(ApiError::data("Fail to update a session!")),
        Err(e) => Err(e.into()),
    }
}

/// DELETE /chats/{chat_id}/sessions with `delete_all` in the body (v0.27 rules, §2.9).
pub async fn delete_v027(
    state: &AppState,
    tenant_id: &str,
    chat_id: &str,
    req: &Map<String, Value>,
) -> Result<V027Deleted, ApiError> {
    chat_of(state, tenant_id, chat_id).await?;
    let list: Vec<String> = if delete_all_flag(req) {
        state
            .chats
            .list_sessions(tenant_id, chat_id, &SessionListQuery::all())
            .await?
            .into_iter()
            .map(|s| s.id)
            .collect()
    } else {
        match req.get("ids").filter(|v| truthy(v)) {
            None => {
                return Ok(V027Deleted {
                    message: "success".into(),
                    data: json!({}),
                })
            }
            Some(v) => id_items(v)?,
        }
    };
    let (ids, mut errors) = crate::contract::batch::dedupe_ids(&list, "session");
    let mut success = 0u64;
    for id in &ids {
        if state.chats.delete_session(tenant_id, chat_id, id).await? {
            success += 1;
        } else {
            errors.push(format!("The chat doesn't own the session {id}"));
        }
    }
    v027_batch_reply(success, errors, "sessions", json!(true))
}

/// The index in `reference` of the turn whose answer is `messages[answer_index]`: answers
/// after the opening prologue are numbered in order.
fn turn_of(messages: &[Value], answer_index: usize) -> usize {
    messages
        .iter()
        .take(answer_index)
        .enumerate()
        .filter(|(i, m)| *i > 0 && m.get("role").and_then(Value::as_str) == Some("assistant"))
        .count()
}

fn has_id(m: &Value, id: &str) -> bool {
    m.get("id").map(py_str).as_deref() == Some(id)
}

/// Remove the question and answer of one turn (both carry `msg_id`) and its reference.
pub fn remove_turn(session: &mut Session, msg_id: &str) -> bool {
    let Some(answer) = session.messages.iter().position(|m| {
        has_id(m, msg_id) && m.get("role").and_then(Value::as_str) == Some("assistant")
    }) else {
        return false;
    };
    let turn = turn_of(&session.messages, answer);
    if turn < session.reference.len() {
        session.reference.remove(turn);
    }
    session.messages.retain(|m| !has_id(m, msg_id));
    true
}

/// DELETE /chats/{cid}/sessions/{sid}/messages/{msg_id}: drop one turn; returns the session.
pub async fn delete_message(
    state: &AppState,
    tenant_id: &str,
    chat_id: &str,
    session_id: &str,
    msg_id: &str,
) -> Result<Value, ApiError> {
    let (_, mut session) = session_of(state, tenant_id, chat_id, session_id).await?;
    if !remove_turn(&mut session, msg_id) {
        return Err(ApiError::data(format!("Message {msg_id} not found!")));
    }
    session.update_time = now_ms();
    state.chats.update_session(&session).await?;
    Ok(to_v027_api(&session))
}

/// Record feedback on the answer `msg_id`: `thumbup` true clears any earlier feedback text.
pub fn apply_feedback(
    session: &mut Session,
    msg_id: &str,
    thumbup: bool,
    feedback: Option<String>,
) -> bool {
    let Some(m) = session
        .messages
        .iter_mut()
        .find(|m| has_id(m, msg_id) && m.get("role").and_then(Value::as_str) == Some("assistant"))
    else {
        return false;
    };
    let Some(o) = m.as_object_mut() else {
        return false;
    };
    o.insert("thumbup".into(), json!(thumbup));
    if thumbup {
        o.remove("feedback");
    } else if let Some(f) = feedback.filter(|f| !f.is_empty()) {
        o.insert("feedback".into(), json!(f));
    }
    true
}

/// PUT /chats/{cid}/sessions/{sid}/messages/{msg_id}/feedback: `thumbup*` (bool),
/// `feedback` (text); returns the session.
pub async fn feedback(
    state: &AppState,
    tenant_id: &str,
    chat_id: &str,
    session_id: &str,
    msg_id: &str,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let Some(Value::Bool(thumbup)) = req.get("thumbup") else {
        return Err(ApiError::data("thumbup must be a boolean"));
    };
    let feedback = match req.get("feedback") {
        None | Some(Value::Null) => None,
        Some(v) => Some(py_str(v)),
    };
    let (_, mut session) = session_of(state, tenant_id, chat_id, session_id).await?;
    if !apply_feedback(&mut session, msg_id, *thumbup, feedback) {
        return Err(ApiError::data(format!("Message {msg_id} not found!")));
    }
    session.update_time = now_ms();
    state.chats.update_session(&session).await?;
    Ok(to_v027_api(&session))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session {
            id: "s".into(),
            tenant_id: "t".into(),
            chat_id: "c".into(),
            name: "n".into(),
            user_id: String::new(),
            messages: vec![
                json!({"role": "assistant", "content": "Hi"}),
                json!({"role": "user", "content": "q1", "id": "1"}),
                json!({"role": "assistant", "content": "a1", "id": "1"}),
                json!({"role": "user", "content": "q2", "id": "2"}),
                json!({"role": "assistant", "content": "a2", "id": "2"}),
            ],
            reference: vec![json!({"chunks": ["r1"]}), json!({"chunks": ["r2"]})],
            create_time: 0,
            update_time: 0,
        }
    }

    #[test]
    fn removing_a_turn_drops_its_pair_and_its_reference() {
        let mut s = session();
        assert!(remove_turn(&mut s, "2"));
        assert_eq!(s.messages.len(), 3);
        assert_eq!(s.reference, vec![json!({"chunks": ["r1"]})]);
        let mut s = session();
        assert!(remove_turn(&mut s, "1"));
        assert_eq!(s.messages[1]["content"], "q2");
        assert_eq!(s.reference, vec![json!({"chunks": ["r2"]})]);
        assert!(!remove_turn(&mut s, "9"));
    }

    #[test]
    fn feedback_marks_the_answer() {
        let mut s = session();
        assert!(apply_feedback(&mut s, "1", false, Some("wrong".into())));
        assert_eq!(s.messages[2]["thumbup"], false);
        assert_eq!(s.messages[2]["feedback"], "wrong");
        assert!(
            s.messages[1].get("thumbup").is_none(),
            "the question is untouched"
        );
        assert!(apply_feedback(&mut s, "1", true, None));
        assert_eq!(s.messages[2]["thumbup"], true);
        assert!(s.messages[2].get("feedback").is_none());
        assert!(!apply_feedback(&mut s, "nope", true, None));
    }
}
