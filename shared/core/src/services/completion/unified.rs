//! v0.27's POST /chat/completions (delta §2.7): the chat id in the body, a question or an
//! OpenAI-style `messages` list, and an answer even without a session (a new session is
//! made and answered in the same call). Built on the S5 turn machinery.

use serde_json::{Map, Value};

use super::{answer_planned, parse_completion, FrameStyle, PlannedTurn, TokenCounter, TurnAnswer};
use crate::contract::envelope::ApiError;
use crate::contract::pyfmt::{py_str, truthy};
use crate::contract::time::now_ms;
use crate::domain::models::verify_model;
use crate::domain::ModelType;
use crate::ports::chat::{Chat, ChatMessage, STATUS_VALID};
use crate::services::answer::prompt::conversation;
use crate::services::chats::{default_llm_setting, no_authorization};
use crate::services::sessions::{new_session, DEFAULT_SESSION_NAME};
use crate::state::AppState;

/// The question of a request: `question`, else the last message of a checked `messages`
/// list (which must end with the user's turn).
pub fn question_of(req: &Map<String, Value>) -> Result<(String, Option<Vec<Value>>), ApiError> {
    if let Some(q) = req.get("question").filter(|v| !v.is_null()) {
        return Ok((py_str(q), None));
    }
    let Some(raw) = req.get("messages") else {
        return Err(ApiError::argument(
            "required argument are missing: messages",
        ));
    };
    let list = match raw {
        Value::Array(a) if !a.is_empty() => a,
        _ => return Err(ApiError::argument("`messages` must be a non-empty list.")),
    };
    for m in list {
        let Some(o) = m.as_object() else {
            return Err(ApiError::argument(
                "Every item in `messages` must be an object.",
            ));
        };
        if !o.contains_key("role") || !o.contains_key("content") {
            return Err(ApiError::argument(
                "Every item in `messages` must include `role` and `content`.",
            ));
        }
    }
    let role = |m: &Value| m.get("role").and_then(Value::as_str).map(str::to_string);
    if !list.iter().any(|m| role(m).as_deref() == Some("user")) {
        return Err(ApiError::argument(
            "`messages` must contain a user message.",
        ));
    }
    let last = list.last().cloned().unwrap_or(Value::Null);
    if role(&last).as_deref() != Some("user") {
        return Err(ApiError::argument("The last message must be from user."));
    }
    let content = last.get("content").map(py_str).unwrap_or_default();
    Ok((content, Some(list.clone())))
}

/// The chat a request without `chat_id` runs on: the tenant's default model, no datasets,
/// no prologue, a plain system prompt.
fn default_chat(tenant_id: &str, llm_id: String) -> Chat {
    let now = now_ms();
    let mut prompt_config = Map::new();
    prompt_config.insert("system".into(), Value::String(String::new()));
    prompt_config.insert("prologue".into(), Value::String(String::new()));
    prompt_config.insert("parameters".into(), Value::Array(vec![]));
    Chat {
        id: String::new(),
        tenant_id: tenant_id.to_string(),
        name: String::new(),
        description: None,
        icon: None,
        language: "English".into(),
        llm_id,
        llm_setting: default_llm_setting(),
        prompt_type: "simple".into(),
        prompt_config,
        meta_data_filter: Value::Object(Map::new()),
        similarity_threshold: 0.1,
        vector_similarity_weight: 0.3,
        top_n: 6,
        top_k: 1024,
        do_refer: "1".into(),
        rerank_id: String::new(),
        kb_ids: vec![],
        status: STATUS_VALID.into(),
        create_time: now,
        update_time: now,
    }
}

fn flag(req: &Map<String, Value>, key: &str, alias: &str, default: bool) -> bool {
    req.get(key)
        .or_else(|| req.get(alias))
        .map_or(default, truthy)
}

/// Per-request model settings: `llm_id` (a chat model of the tenant) replaces the chat's
/// model, the generation parameters are merged into its `llm_setting`, for this turn only.
async fn apply_overrides(
    state: &AppState,
    tenant_id: &str,
    chat: &mut Chat,
    req: &Map<String, Value>,
) -> Result<(), ApiError> {
    if let Some(model) = req.get("llm_id").filter(|v| truthy(v)).map(py_str) {
        let tenant = state
            .meta
            .get_tenant(tenant_id)
            .await?
            .ok_or_else(|| ApiError::data("Tenant not found!"))?;
        if verify_model(&tenant, &model, ModelType::Chat).is_err() {
            return Err(ApiError::data(format!(
                "Cannot use specified model {model}."
            )));
        }
        chat.llm_id = model;
    }
    for k in GENERATION_KEYS {
        if let Some(v) = req.get(*k).filter(|v| !v.is_null()) {
            chat.llm_setting.insert((*k).to_string(), v.clone());
        }
    }
    Ok(())
}

const GENERATION_KEYS: &[&str] = &[
    "temperature",
    "top_p",
    "frequency_penalty",
    "presence_penalty",
    "max_tokens",
];

/// POST /chat/completions.
pub async fn answer(
    state: &AppState,
    tenant_id: &str,
    req: &Map<String, Value>,
    count_tokens: TokenCounter,
) -> Result<TurnAnswer, ApiError> {
    let chat_id = req.get("chat_id").filter(|v| truthy(v)).map(py_str);
    let session_id = req
        .get("session_id")
        .or_else(|| req.get("conversation_id"))
        .filter(|v| truthy(v))
        .map(py_str);
    let pass_all = flag(req, "pass_all_history_messages", "pass_all_history", false);
    let store = flag(req, "store_history_messages", "store_history", true);
    if !store && !pass_all {
        return Err(ApiError::data(
            "`pass_all_history_messages` must be true when `store_history_messages` is false.",
        ));
    }
    if session_id.is_some() && chat_id.is_none() {
        return Err(ApiError::data(
            "`chat_id` is required when `session_id` is provided.",
        ));
    }
    let (question, messages) = question_of(req)?;
    // The S5 passthrough keys (`doc_ids`, `kb_ids`, `quote`, `metadata_condition`, prompt
    // variables) mean the same here.
    let parsed = parse_completion(req)?;
    let mut options = parsed.options;
    // S5 applies a filter only in a session turn; here every request is a turn.
    options.metadata_condition = req.get("metadata_condition").filter(|v| truthy(v)).cloned();
    for k in GENERATION_KEYS.iter().chain(&["llm_id"]) {
        options.variables.remove(*k);
    }
    for k in [
        "chat_id",
        "conversation_id",
        "messages",
        "legacy",
        "pass_all_history_messages",
        "pass_all_history",
        "store_history_messages",
        "store_history",
    ] {
        options.variables.remove(k);
    }
    let stream = req.get("stream").is_none_or(truthy);
    let (chat, session) = match &chat_id {
        None => {
            let tenant = state
                .meta
                .get_tenant(tenant_id)
                .await?
                .ok_or_else(|| ApiError::data("Tenant not found!"))?;
            (default_chat(tenant_id, tenant.llm_id), None)
        }
        Some(cid) => {
            let chat = state
                .chats
                .get_chat(tenant_id, cid)
                .await?
                .ok_or_else(no_authorization)?;
            let session = match &session_id {
                Some(sid) => state
                    .chats
                    .get_session(tenant_id, cid, sid)
                    .await?
                    .ok_or_else(|| ApiError::data("Session not found!"))?,
                None => {
                    let s = new_session(&chat, DEFAULT_SESSION_NAME.into(), String::new(), true);
                    if store {
                        state.chats.insert_session(&s).await?;
                    }
                    s
                }
            };
            (chat, Some(session))
        }
    };
    let mut chat = chat;
    apply_overrides(state, tenant_id, &mut chat, req).await?;
    let mut history = match (&messages, pass_all) {
        (Some(list), true) => conversation(list),
        _ => session
            .as_ref()
            .map(|s| conversation(&s.messages))
            .unwrap_or_default(),
    };
    if !(pass_all && messages.is_some()) {
        history.push(ChatMessage::user(question.clone()));
    }
    let target = match (&session, store) {
        (Some(s), true) => Some((chat.id.clone(), s.id.clone())),
        _ => None,
    };
    let turn = PlannedTurn {
        chat,
        history,
        question,
        stream,
        options,
        target,
        style: FrameStyle::Unified,
    };
    let legacy = req.get("legacy").is_some_and(truthy);
    Ok(
        match answer_planned(state, tenant_id, turn, count_tokens).await? {
            TurnAnswer::Stream(frames) if legacy => {
                TurnAnswer::Stream(super::legacy_frames(frames))
            }
            other => other,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(v: Value) -> Result<String, String> {
        question_of(v.as_object().unwrap_or(&Map::new()))
            .map(|(q, _)| q)
            .map_err(|e| e.message)
    }

    #[test]
    fn question_or_messages() {
        assert_eq!(q(json!({"question": "hi"})), Ok("hi".into()));
        assert_eq!(
            q(json!({"messages": [{"role": "user", "content": "a"}]})),
            Ok("a".into())
        );
        assert_eq!(
            q(json!({})),
            Err("required argument are missing: messages".into())
        );
        assert_eq!(
            q(json!({"messages": []})),
            Err("`messages` must be a non-empty list.".into())
        );
        assert_eq!(
            q(json!({"messages": [1]})),
            Err("Every item in `messages` must be an object.".into())
        );
        assert_eq!(
            q(json!({"messages": [{"role": "user"}]})),
            Err("Every item in `messages` must include `role` and `content`.".into())
        );
        assert_eq!(
            q(json!({"messages": [{"role": "assistant", "content": "x"}]})),
            Err("`messages` must contain a user message.".into())
        );
        assert_eq!(
            q(
                json!({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]})
            ),
            Err("The last message must be from user.".into())
        );
    }
}
