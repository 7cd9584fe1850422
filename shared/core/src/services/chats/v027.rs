//! The chat routes and rules ragflow-sdk 0.26 (RAGFlow v0.27) uses beside the pinned ones:
//! GET / PATCH / DELETE `/chats/{chat_id}`, `delete_all` on DELETE `/chats`, and the
//! `{"chats", "total"}` list shape.

use super::*;

/// GET /chats/{chat_id}: the chat in list form (both vocabularies).
pub async fn get_one(state: &AppState, tenant_id: &str, chat_id: &str) -> Result<Value, ApiError> {
    // Tenant-scoped stores cannot tell "another tenant's" from "no such chat"; both answer
    // 109 so a chat id never reveals whether it exists elsewhere.
    let Some(chat) = state.chats.get_chat(tenant_id, chat_id).await? else {
        return Err(no_authorization());
    };
    to_list_form(state, &chat).await
}

/// PATCH /chats/{chat_id}: merge-style update; returns the chat.
pub async fn patch(
    state: &AppState,
    tenant_id: &str,
    chat_id: &str,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let chat = update_chat(state, tenant_id, chat_id, req, UpdateMode::Patch).await?;
    to_list_form(state, &chat).await
}

/// DELETE /chats/{chat_id}: soft delete.
pub async fn delete_one(state: &AppState, tenant_id: &str, chat_id: &str) -> Result<(), ApiError> {
    if state.chats.delete_chat(tenant_id, chat_id).await? {
        Ok(())
    } else {
        Err(no_authorization())
    }
}

/// What a v0.27 batch delete replies (`data` of a `{"code":0,"message":…}` envelope).
#[derive(Debug, Clone, PartialEq)]
pub struct V027Deleted {
    pub message: String,
    pub data: Value,
}

/// `delete_all` is honoured only as JSON `true` (v0.27 tests identity, not truth).
pub fn delete_all_flag(req: &Map<String, Value>) -> bool {
    req.get("delete_all") == Some(&Value::Bool(true))
}

/// DELETE /chats when the body has `delete_all` (v0.27 rules, §2.9): no ids and no
/// `delete_all:true` deletes nothing; `delete_all:true` deletes every chat; unknown ids are
/// errors (`Chat({id}) not found.`), partial success is reported in the message.
pub async fn delete_all_chats(
    state: &AppState,
    tenant_id: &str,
    req: &Map<String, Value>,
) -> Result<V027Deleted, ApiError> {
    let list: Vec<String> = if delete_all_flag(req) {
        state
            .chats
            .list_chats(tenant_id, &ChatListQuery::all())
            .await?
            .into_iter()
            .map(|c| c.id)
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
    let (ids, mut errors) = dedupe_ids(&list, "chat");
    let mut success = 0u64;
    for id in &ids {
        if state.chats.delete_chat(tenant_id, id).await? {
            success += 1;
        } else {
            errors.push(format!("Chat({id}) not found."));
        }
    }
    v027_batch_reply(success, errors, "chats", json!({"success_count": success}))
}

/// The v0.27 ending of a batch delete: all failed → 102 joined by `"; "`; some failed →
/// success with `Partially deleted {n} {kind} with {m} errors`; none failed → `ok`.
pub fn v027_batch_reply(
    success: u64,
    errors: Vec<String>,
    kind: &str,
    ok: Value,
) -> Result<V027Deleted, ApiError> {
    if errors.is_empty() {
        return Ok(V027Deleted {
            message: "success".into(),
            data: ok,
        });
    }
    if success == 0 {
        return Err(ApiError::data(errors.join("; ")));
    }
    Ok(V027Deleted {
        message: format!(
            "Partially deleted {success} {kind} with {} errors",
            errors.len()
        ),
        data: json!({"success_count": success, "errors": errors}),
    })
}

/// GET /chats for a v0.27 client: `{"chats": [...], "total": n}` (total before paging).
pub async fn list_v027(
    state: &AppState,
    tenant_id: &str,
    pairs: &[(String, String)],
) -> Result<Value, ApiError> {
    let id = first(pairs, "id")
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let name = first(pairs, "name")
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let (page, page_size, orderby, desc) = list_params(pairs, "Dialog")?;
    // `keywords`: a name substring, ignored when `id` or `name` is given (v0.27).
    let keywords = first(pairs, "keywords")
        .filter(|s| !s.is_empty() && id.is_none() && name.is_none())
        .map(str::to_lowercase);
    let all = ChatListQuery {
        id,
        name,
        orderby,
        desc,
        ..ChatListQuery::all()
    };
    let mut chats = state.chats.list_chats(tenant_id, &all).await?;
    if let Some(k) = &keywords {
        chats.retain(|c| c.name.to_lowercase().contains(k.as_str()));
    }
    let total = chats.len();
    let start = usize::try_from(page.max(1).saturating_sub(1).saturating_mul(page_size))
        .unwrap_or(usize::MAX);
    let take = usize::try_from(page_size).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for c in chats.iter().skip(start).take(take) {
        out.push(to_list_form(state, c).await?);
    }
    Ok(json!({"chats": out, "total": total}))
}
