//! Chat sessions (contract S1–S4): create, update, list and delete, with upstream's
//! messages. Completions (S5–S7) live in `completion`.

use serde_json::{json, Map, Value};

use crate::contract::batch::{batch_result_with_misses, dedupe_ids, BatchOutcome};
use crate::contract::envelope::ApiError;
use crate::contract::error::StoreError;
use crate::contract::http::first;
use crate::contract::ids::new_id;
use crate::contract::pyfmt::py_str;
use crate::contract::pyfmt::truthy;
use crate::contract::time::{now_ms, rfc1123};
use crate::ports::chat::{Chat, Session, SessionListQuery};
use crate::services::chats::{id_items, list_params};
use crate::state::AppState;

pub const DEFAULT_SESSION_NAME: &str = "New session";

/// Seconds since the epoch as a float (`time.time()`), the `created_at` of messages.
pub fn now_seconds() -> f64 {
    now_ms() as f64 / 1000.0
}

/// The session object (S1 shape): `chat_id` instead of upstream's `dialog_id`, `messages`
/// instead of `message`, no `reference`.
pub fn to_api(s: &Session) -> Value {
    json!({
        "id": s.id,
        "chat_id": s.chat_id,
        "name": s.name,
        "messages": s.messages,
        "user_id": s.user_id,
        "create_time": s.create_time,
        "create_date": rfc1123(s.create_time),
        "update_time": s.update_time,
        "update_date": rfc1123(s.update_time),
    })
}

/// A chunk of a stored reference as the session list shows it (seven keys).
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

/// The session as the list shows it (S3): message `prompt`s stripped, and each answer after
/// the opening message carrying its turn's reference chunks.
///
/// Divergence: the contract notes that upstream pairs the opening (prologue) message with
/// the first stored reference, shifting every answer's references by one turn; lambdarag
/// pairs each answer with its own turn's reference and leaves the prologue without one.
pub fn to_list_api(s: &Session) -> Value {
    let mut messages: Vec<Value> = s.messages.clone();
    for m in &mut messages {
        if let Some(o) = m.as_object_mut() {
            o.remove("prompt");
        }
    }
    if !s.reference.is_empty() {
        let mut turn = 0usize;
        for (i, m) in messages.iter_mut().enumerate() {
            let is_user = m.get("role").and_then(Value::as_str) == Some("user");
            if i == 0 || is_user {
                continue;
            }
            let chunks: Vec<Value> = s
                .reference
                .get(turn)
                .and_then(|r| r.get("chunks"))
                .and_then(Value::as_array)
                .map(|a| a.iter().map(listed_chunk).collect())
                .unwrap_or_default();
            turn += 1;
            if let Some(o) = m.as_object_mut() {
                o.insert("reference".into(), Value::Array(chunks));
            }
        }
    }
    let mut v = to_api(s);
    if let Some(o) = v.as_object_mut() {
        o.insert("messages".into(), Value::Array(messages));
    }
    v
}

/// The opening message of a new session: the chat's prologue.
pub fn prologue_message(chat: &Chat, with_time: bool) -> Value {
    let content = chat
        .prompt_config
        .get("prologue")
        .cloned()
        .unwrap_or(Value::Null);
    let mut m = Map::new();
    m.insert("role".into(), json!("assistant"));
    m.insert("content".into(), content);
    if with_time {
        m.insert("created_at".into(), json!(now_seconds()));
    }
    Value::Object(m)
}

/// A fresh session of a chat (not yet stored).
pub fn new_session(chat: &Chat, name: String, user_id: String, with_time: bool) -> Session {
    let now = now_ms();
    Session {
        id: new_id(),
        tenant_id: chat.tenant_id.clone(),
        chat_id: chat.id.clone(),
        name,
        user_id,
        messages: vec![prologue_message(chat, with_time)],
        reference: vec![],
        create_time: now,
        update_time: now,
    }
}

/// S1: create a session with the chat's prologue.
pub async fn create(
    state: &AppState,
    tenant_id: &str,
    chat_id: &str,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let Some(chat) = state.chats.get_chat(tenant_id, chat_id).await? else {
        return Err(ApiError::data("You do not own the assistant."));
    };
    let name = match req.get("name") {
        None => DEFAULT_SESSION_NAME.to_string(),
        Some(v) if !truthy(v) => return Err(ApiError::data("`name` can not be empty.")),
        Some(v) => py_str(v),
    };
    let user_id = match req.get("user_id") {
        None | Some(Value::Null) => String::new(),
        Some(v) => py_str(v),
    };
    let session = new_session(&chat, name, user_id, false);
    if let Err(e) = state.chats.insert_session(&session).await {
        tracing::error!(error = %e, "session insert failed");
        return Err(ApiError::data("Fail to create a session!"));
    }
    Ok(to_api(&session))
}

/// S2: rename a session or change its `user_id`.
pub async fn update(
    state: &AppState,
    tenant_id: &str,
    chat_id: &str,
    session_id: &str,
    req: &Map<String, Value>,
) -> Result<(), ApiError> {
    // Upstream looks the session up before checking the chat's owner; with tenant-scoped
    // ports a session of another tenant's chat is simply not found.
    let Some(mut session) = state
        .chats
        .get_session(tenant_id, chat_id, session_id)
        .await?
    else {
        return Err(ApiError::data("Session does not exist"));
    };
    if state.chats.get_chat(tenant_id, chat_id).await?.is_none() {
        return Err(ApiError::data("You do not own the session"));
    }
    if req.contains_key("message") || req.contains_key("messages") {
        return Err(ApiError::data("`message` can not be change"));
    }
    if req.contains_key("reference") {
        return Err(ApiError::data("`reference` can not be change"));
    }
    if let Some(v) = req.get("name") {
        if !truthy(v) {
            return Err(ApiError::data("`name` can not be empty."));
        }
        session.name = py_str(v);
    }
    if let Some(v) = req.get("user_id") {
        session.user_id = match v {
            Value::Null => String::new(),
            other => py_str(other),
        };
    }
    for key in req.keys() {
        // `dialog_id` is what upstream itself adds (= the path's chat id); `chat_id` and
        // `id` naming this very session are harmless.
        let harmless = match key.as_str() {
            "name" | "user_id" => true,
            "dialog_id" | "chat_id" => req.get(key).map(py_str).as_deref() == Some(chat_id),
            "id" => req.get(key).map(py_str).as_deref() == Some(session_id),
            _ => false,
        };
        if !harmless {
            return Err(ApiError::exception(format!(
                "ValueError(\"'{key}' is not a field a session update can change\")"
            )));
        }
    }
    session.update_time = now_ms();
    match state.chats.update_session(&session).await {
        Ok(()) => Ok(()),
        Err(StoreError::NotFound(_)) => Err(ApiError::data("Session updates error")),
        Err(e) => Err(e.into()),
    }
}

/// S3: list a chat's sessions.
pub async fn list(
    state: &AppState,
    tenant_id: &str,
    chat_id: &str,
    pairs: &[(String, String)],
) -> Result<Value, ApiError> {
    if state.chats.get_chat(tenant_id, chat_id).await?.is_none() {
        return Err(ApiError::data(format!(
            "You don't own the assistant {chat_id}."
        )));
    }
    let (page, page_size, orderby, desc) = list_params(pairs, "Conversation")?;
    let nonempty = |k: &str| {
        first(pairs, k)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let query = SessionListQuery {
        id: nonempty("id"),
        name: nonempty("name"),
        user_id: nonempty("user_id"),
        page,
        page_size,
        orderby,
        desc,
    };
    let sessions = state
        .chats
        .list_sessions(tenant_id, chat_id, &query)
        .await?;
    Ok(Value::Array(sessions.iter().map(to_list_api).collect()))
}

/// S4: delete sessions (`ids` absent, null or empty = all of the chat's sessions).
pub async fn delete(
    state: &AppState,
    tenant_id: &str,
    chat_id: &str,
    req: &Map<String, Value>,
) -> Result<BatchOutcome, ApiError> {
    if state.chats.get_chat(tenant_id, chat_id).await?.is_none() {
        return Err(ApiError::data("You don't own the chat"));
    }
    let list = match req.get("ids").filter(|v| truthy(v)) {
        None => state
            .chats
            .list_sessions(tenant_id, chat_id, &SessionListQuery::all())
            .await?
            .into_iter()
            .map(|s| s.id)
            .collect(),
        Some(v) => id_items(v)?,
    };
    let (ids, dup_errors) = dedupe_ids(&list, "session");
    let mut errors = Vec::new();
    let mut success = 0u64;
    for id in &ids {
        if state.chats.delete_session(tenant_id, chat_id, id).await? {
            success += 1;
        } else {
            errors.push(format!("The chat doesn't own the session {id}"));
        }
    }
    batch_result_with_misses(success, errors, dup_errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_form_pairs_answers_with_their_turns() {
        let s = Session {
            id: "s".into(),
            tenant_id: "t".into(),
            chat_id: "c".into(),
            name: "n".into(),
            user_id: String::new(),
            messages: vec![
                json!({"role": "assistant", "content": "Hi"}),
                json!({"role": "user", "content": "q1", "id": "1"}),
                json!({"role": "assistant", "content": "a1", "id": "1", "prompt": "debug"}),
                json!({"role": "user", "content": "q2", "id": "2"}),
                json!({"role": "assistant", "content": "a2", "id": "2"}),
            ],
            reference: vec![
                json!({"chunks": [{"id": "x", "content": "cx", "document_id": "d", "document_name": "d.txt", "dataset_id": "k", "image_id": "", "positions": [], "similarity": 0.5}]}),
                json!({"chunks": []}),
            ],
            create_time: 0,
            update_time: 0,
        };
        let v = to_list_api(&s);
        let m = &v["messages"];
        assert!(
            m[0].get("reference").is_none(),
            "the prologue has no reference"
        );
        assert!(m[1].get("reference").is_none());
        assert_eq!(m[2]["reference"][0]["id"], "x");
        assert_eq!(m[2]["reference"][0]["document_name"], "d.txt");
        assert!(m[2]["reference"][0].get("similarity").is_none());
        assert!(m[2].get("prompt").is_none(), "prompt is stripped");
        assert_eq!(m[4]["reference"], json!([]));
        assert_eq!(v["chat_id"], "c");
        assert!(v.get("reference").is_none());
    }
}
