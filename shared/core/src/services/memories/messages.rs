//! Messages of memories (contract M6–M12): add (store, embed, forget FIFO, queue the
//! extraction), list, forget, enable/disable, search, recent, content.

use serde_json::{json, Map, Value};

use super::{
    extract_types, int_arg, json_error, list_arg, ok_true, owned, require, V027_PAGE_LIMIT,
};
use crate::contract::envelope::{ApiError, RetCode};
use crate::contract::http::first;
use crate::contract::ids::new_id;
use crate::contract::pyfmt::{py_repr, py_str, py_str_repr};
use crate::contract::time::{now_ms, plain_datetime};
use crate::domain::{MemoryTask, QueuedTask, Tenant};
use crate::ports::memory::{Memory, MemoryMessage, MessagePatch, MessageTask};
use crate::services::memories::search;
use crate::state::AppState;

/// Largest content of one message, in bytes: a message is one item of the AWS metadata
/// table, whose items hold at most 400 KB with the vector.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Bytes a message counts against `memory_size`: its text plus 8 bytes per vector
/// dimension (the accounting upstream documents).
pub fn message_size(content: &str, dims: usize) -> i64 {
    i64::try_from(content.len() + 8 * dims).unwrap_or(i64::MAX)
}

/// `YYYY-MM-DD HH:MM:SS` of now (UTC).
pub fn now_text() -> String {
    plain_datetime(now_ms())
}

/// A message as listings render it (no content, no vector).
fn message_fields(m: &MemoryMessage) -> Map<String, Value> {
    let v = json!({
        "message_id": m.message_id,
        "message_type": m.message_type,
        "source_id": m.source_id,
        "memory_id": m.memory_id,
        "user_id": m.user_id,
        "agent_id": m.agent_id,
        "session_id": m.session_id,
        "valid_at": m.valid_at,
        "invalid_at": m.invalid_at,
        "forget_at": m.forget_at,
        "status": m.status,
    });
    v.as_object().cloned().unwrap_or_default()
}

fn with_content(m: &MemoryMessage) -> Value {
    let mut f = message_fields(m);
    f.insert("content".into(), json!(m.content));
    Value::Object(f)
}

/// Newest first by `valid_at`, then by id.
fn newest_first(a: &MemoryMessage, b: &MemoryMessage) -> std::cmp::Ordering {
    b.valid_at
        .cmp(&a.valid_at)
        .then_with(|| b.message_id.cmp(&a.message_id))
}

/// M6: a memory's raw messages (newest first), each with what was extracted from it.
pub async fn list_of_memory(
    state: &AppState,
    tenant_id: &str,
    memory_id: &str,
    pairs: &[(String, String)],
) -> Result<Value, ApiError> {
    let agent_ids = list_arg(pairs, "agent_id");
    let session = first(pairs, "keywords").unwrap_or("").trim().to_string();
    let leak = |m: String| ApiError::exception(format!("ValueError(\"{m}\")"));
    let page = int_arg(pairs, "page", 1).map_err(leak)?;
    let page_size = int_arg(pairs, "page_size", 50).map_err(leak)?;
    let memory = owned(state, tenant_id, memory_id).await?;
    let all = state.memories.list_messages(tenant_id, &memory.id).await?;
    let mut raw: Vec<&MemoryMessage> = all
        .iter()
        .filter(|m| m.message_type == "raw")
        .filter(|m| agent_ids.is_empty() || agent_ids.contains(&m.agent_id))
        .filter(|m| session.is_empty() || m.session_id == session)
        .collect();
    raw.sort_by(|a, b| newest_first(a, b));
    let total = raw.len();
    let size = usize::try_from(page_size.max(0)).unwrap_or(0);
    let skip = usize::try_from(page.max(1) - 1)
        .unwrap_or(0)
        .saturating_mul(size);
    let page: Vec<&MemoryMessage> = if size == 0 {
        raw
    } else {
        raw.into_iter().skip(skip).take(size).collect()
    };
    let list: Vec<Value> =
        page.iter()
            .map(|m| {
                let mut extracted: Vec<&MemoryMessage> = all
                    .iter()
                    .filter(|x| x.source_id == m.message_id && x.message_type != "raw")
                    .collect();
                extracted.sort_by(|a, b| newest_first(a, b));
                let extract: Vec<Value> = extracted
                    .iter()
                    .map(|x| {
                        let mut f = message_fields(x);
                        f.insert("agent_name".into(), json!("Unknown"));
                        Value::Object(f)
                    })
                    .collect();
                let mut f = message_fields(m);
                // Agents are not a lambdarag resource: no name to show.
                f.insert("agent_name".into(), json!("Unknown"));
                f.insert(
                "task".into(),
                m.task.as_ref().map_or(json!({}), |t| {
                    json!({"id": t.id, "progress": t.progress, "progress_msg": t.progress_msg})
                }),
            );
                f.insert("extract".into(), Value::Array(extract));
                Value::Object(f)
            })
            .collect();
    Ok(ok_true(json!({
        "messages": {"message_list": list, "total_count": total},
        "storage_type": memory.storage_type,
    })))
}

/// Memory ids of a body's `memory_id`: a list, or one id (comma-splittable).
fn body_memory_ids(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().map(py_str).collect(),
        Value::String(s) => s.split(',').map(str::to_string).collect(),
        other => vec![py_str(other)],
    }
}

/// M7: add one conversation turn to memories.
pub async fn add(
    state: &AppState,
    tenant_id: &str,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    require(
        req,
        &[
            "memory_id",
            "agent_id",
            "session_id",
            "user_input",
            "agent_response",
        ],
    )?;
    let ids = body_memory_ids(&req["memory_id"]);
    let turn = Turn {
        user_id: req
            .get("user_id")
            .filter(|v| !v.is_null())
            .map(py_str)
            .unwrap_or_default(),
        agent_id: py_str(&req["agent_id"]),
        session_id: py_str(&req["session_id"]),
        content: format!(
            "User Input: {}\nAgent Response: {}",
            py_str(&req["user_input"]),
            py_str(&req["agent_response"])
        ),
    };
    let tenant = state
        .meta
        .get_tenant(tenant_id)
        .await?
        .ok_or_else(|| json_error(RetCode::ServerError, "Tenant not found!"))?;
    let mut not_found = Vec::new();
    let mut failed = Vec::new();
    for id in &ids {
        let Some(memory) = state.memories.get_memory(tenant_id, id).await? else {
            not_found.push(json!(id));
            continue;
        };
        if let Err(msg) = save_raw(state, &tenant, &memory, &turn).await {
            failed.push(format!("Memory {id} failed. Detail: {msg}"));
        }
    }
    let mut error = String::new();
    if !not_found.is_empty() {
        error = format!("Memory {} not found.", py_repr(&Value::Array(not_found)));
    }
    error.push_str(&failed.concat());
    if !error.is_empty() {
        return Err(json_error(
            RetCode::ServerError,
            format!("Some messages failed to add. Detail:{error}"),
        ));
    }
    Ok(json!({"code": 0, "message": "All add to task.", "data": null}))
}

struct Turn {
    user_id: String,
    agent_id: String,
    session_id: String,
    content: String,
}

/// Store one raw message in a memory: embed it, make room (FIFO), write it, queue its
/// extraction. The error text becomes the `Detail:` of the reply.
async fn save_raw(
    state: &AppState,
    tenant: &Tenant,
    memory: &Memory,
    turn: &Turn,
) -> Result<(), String> {
    if turn.content.len() > MAX_MESSAGE_BYTES {
        return Err(format!(
            "the message is {} bytes; one message may hold at most {MAX_MESSAGE_BYTES}.",
            turn.content.len()
        ));
    }
    let vector = embed(state, tenant, &memory.embd_id, &turn.content).await?;
    let size = message_size(&turn.content, vector.len());
    if size > memory.memory_size {
        return Err(format!(
            "the message takes {size} bytes, more than the memory's size of {} bytes.",
            memory.memory_size
        ));
    }
    make_room(state, memory, size).await?;
    let store_err = |e: crate::StoreError| {
        tracing::error!(error = %e, memory = %memory.id, "memory store failed");
        "Failed to insert message into memory.".to_string()
    };
    let message_id = state
        .memories
        .reserve_message_ids(&memory.tenant_id, &memory.id, 1)
        .await
        .map_err(store_err)?;
    let extract = !extract_types(memory.memory_type).is_empty();
    let task = MessageTask {
        id: new_id(),
        progress: if extract { 0.0 } else { 1.0 },
        progress_msg: if extract {
            format!("{} Queued for extraction.", now_text())
        } else {
            format!("{} Raw memory: nothing to extract.", now_text())
        },
    };
    let msg = MemoryMessage {
        tenant_id: memory.tenant_id.clone(),
        memory_id: memory.id.clone(),
        message_id,
        message_type: "raw".into(),
        source_id: 0,
        user_id: turn.user_id.clone(),
        agent_id: turn.agent_id.clone(),
        session_id: turn.session_id.clone(),
        content: turn.content.clone(),
        content_embed: vector,
        valid_at: now_text(),
        invalid_at: None,
        forget_at: None,
        status: true,
        size,
        create_time: now_ms(),
        task: Some(task.clone()),
    };
    state
        .memories
        .put_messages(&memory.tenant_id, &memory.id, std::slice::from_ref(&msg))
        .await
        .map_err(store_err)?;
    if !extract {
        return Ok(());
    }
    let queued = QueuedTask::Memory(MemoryTask {
        task_id: task.id.clone(),
        tenant_id: memory.tenant_id.clone(),
        memory_id: memory.id.clone(),
        message_id,
    });
    if let Err(e) = state.queue.enqueue_task(&queued).await {
        tracing::error!(error = %e, memory = %memory.id, "could not queue a memory extraction");
        let failed = MessagePatch {
            task: Some(MessageTask {
                progress: -1.0,
                progress_msg: format!("{} Could not queue the extraction.", now_text()),
                ..task
            }),
            ..Default::default()
        };
        let _ = state
            .memories
            .patch_message(&memory.tenant_id, &memory.id, message_id, &failed)
            .await;
        return Err("Can't access the task queue.".into());
    }
    Ok(())
}

/// One text's vector with the memory's embedding model.
pub async fn embed(
    state: &AppState,
    tenant: &Tenant,
    model_id: &str,
    text: &str,
) -> Result<Vec<f32>, String> {
    let model = state
        .embedders
        .embedder(tenant, model_id)
        .map_err(|e| e.to_string())?;
    model
        .embed(&[text.to_string()])
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .next()
        .ok_or_else(|| format!("the embedding model {model_id} returned no vector"))
}

/// FIFO forgetting: delete messages until `incoming` more bytes fit in the memory —
/// forgotten messages first (oldest `forget_at` first), then the oldest by `valid_at`.
pub async fn make_room(state: &AppState, memory: &Memory, incoming: i64) -> Result<(), String> {
    let store_err = |e: crate::StoreError| {
        tracing::error!(error = %e, memory = %memory.id, "memory store failed");
        "Failed to insert message into memory.".to_string()
    };
    let mut all = state
        .memories
        .list_messages(&memory.tenant_id, &memory.id)
        .await
        .map_err(store_err)?;
    let used: i64 = all.iter().map(|m| m.size).sum();
    let mut to_free = used + incoming - memory.memory_size;
    if to_free <= 0 {
        return Ok(());
    }
    if memory.forgetting_policy != "FIFO" {
        return Err("Memory size reached limit and cannot decide which to delete.".into());
    }
    all.sort_by(|a, b| {
        let key = |m: &MemoryMessage| {
            (
                m.forget_at.is_none(),
                m.forget_at.clone().unwrap_or_default(),
                m.valid_at.clone(),
                m.message_id,
            )
        };
        key(a).cmp(&key(b))
    });
    let mut ids = Vec::new();
    for m in &all {
        if to_free <= 0 {
            break;
        }
        to_free -= m.size;
        ids.push(m.message_id);
    }
    state
        .memories
        .delete_messages(&memory.tenant_id, &memory.id, &ids)
        .await
        .map_err(store_err)?;
    tracing::info!(memory = %memory.id, forgotten = ids.len(), "memory full: forgot the oldest messages");
    Ok(())
}

/// A path's `{memory_id}:{message_id}` pair, split at the last colon.
pub fn split_pair(pair: &str) -> (String, String) {
    match pair.rsplit_once(':') {
        Some((m, id)) => (m.to_string(), id.to_string()),
        None => (pair.to_string(), String::new()),
    }
}

fn message_id_of(raw: &str) -> Option<i64> {
    raw.trim().parse().ok()
}

/// M8: forget a message (it stays listed, but is no longer searched or recalled, and is
/// the first to go when the memory fills up).
pub async fn forget(state: &AppState, tenant_id: &str, pair: &str) -> Result<Value, ApiError> {
    let (memory_id, raw_id) = split_pair(pair);
    let memory = owned(state, tenant_id, &memory_id).await?;
    let patch = MessagePatch {
        forget_at: Some(now_text()),
        ..Default::default()
    };
    let done = match message_id_of(&raw_id) {
        Some(id) => {
            state
                .memories
                .patch_message(tenant_id, &memory.id, id, &patch)
                .await?
        }
        None => false,
    };
    if !done {
        return Err(json_error(
            RetCode::ServerError,
            format!("Failed to forget message '{raw_id}' in memory '{memory_id}'."),
        ));
    }
    Ok(ok_true(Value::Null))
}

/// M9: enable or disable a message (disabled ones are not searched).
pub async fn set_status(
    state: &AppState,
    tenant_id: &str,
    pair: &str,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    require(req, &["status"])?;
    let Some(status) = req["status"].as_bool() else {
        return Err(ApiError::argument("Status must be a boolean."));
    };
    let (memory_id, raw_id) = split_pair(pair);
    let memory = owned(state, tenant_id, &memory_id).await?;
    let patch = MessagePatch {
        status: Some(status),
        ..Default::default()
    };
    let done = match message_id_of(&raw_id) {
        Some(id) => {
            state
                .memories
                .patch_message(tenant_id, &memory.id, id, &patch)
                .await?
        }
        None => false,
    };
    if !done {
        return Err(json_error(
            RetCode::ServerError,
            format!("Failed to set status for message '{raw_id}' in memory '{memory_id}'."),
        ));
    }
    Ok(ok_true(Value::Null))
}

/// M12: one message with its content and vector.
pub async fn content(state: &AppState, tenant_id: &str, pair: &str) -> Result<Value, ApiError> {
    let (memory_id, raw_id) = split_pair(pair);
    let memory = owned(state, tenant_id, &memory_id).await?;
    let found = match message_id_of(&raw_id) {
        Some(id) => {
            state
                .memories
                .get_message(tenant_id, &memory.id, id)
                .await?
        }
        None => None,
    };
    let Some(m) = found else {
        return Err(json_error(
            RetCode::NotFound,
            format!("Message '{raw_id}' in memory '{memory_id}' not found."),
        ));
    };
    let mut f = message_fields(&m);
    f.insert(
        "id".into(),
        json!(format!("{}_{}", m.memory_id, m.message_id)),
    );
    f.insert("content".into(), json!(m.content));
    f.insert("content_embed".into(), json!(m.content_embed));
    f.insert("zone_id".into(), json!(0));
    Ok(ok_true(Value::Object(f)))
}

/// The caller's memories among `ids` (others' and unknown ids are skipped).
async fn owned_memories(
    state: &AppState,
    tenant_id: &str,
    ids: &[String],
) -> Result<Vec<Memory>, ApiError> {
    let mut out: Vec<Memory> = Vec::new();
    for id in ids {
        if out.iter().any(|m| &m.id == id) {
            continue;
        }
        if let Some(m) = state.memories.get_memory(tenant_id, id).await? {
            out.push(m);
        }
    }
    Ok(out)
}

fn float_arg(pairs: &[(String, String)], key: &str, default: f32) -> Result<f32, ApiError> {
    match first(pairs, key) {
        None => Ok(default),
        Some(v) => v.trim().parse::<f32>().map_err(|_| {
            ApiError::exception(format!(
                "ValueError(\"could not convert string to float: {}\")",
                py_str_repr(v)
            ))
        }),
    }
}

fn filter_arg(pairs: &[(String, String)], key: &str) -> Option<String> {
    first(pairs, key)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// M10: hybrid search over the enabled, unforgotten messages of the caller's memories.
pub async fn search(
    state: &AppState,
    tenant_id: &str,
    pairs: &[(String, String)],
) -> Result<Value, ApiError> {
    let empty: Vec<&str> = ["memory_id", "query"]
        .into_iter()
        .filter(|k| first(pairs, k).is_none_or(str::is_empty))
        .collect();
    if !empty.is_empty() {
        return Err(ApiError::argument(format!(
            "{} can't be empty.",
            empty.join(", ")
        )));
    }
    let ids = list_arg(pairs, "memory_id");
    let query = first(pairs, "query").unwrap_or("").trim().to_string();
    let threshold = float_arg(pairs, "similarity_threshold", 0.2)?;
    let weight = float_arg(pairs, "keywords_similarity_weight", 0.7)?;
    let leak = |m: String| ApiError::exception(format!("ValueError(\"{m}\")"));
    let top_n = int_arg(pairs, "top_n", 5).map_err(leak)?;
    if top_n > V027_PAGE_LIMIT {
        return Err(ApiError::argument(
            "page_size must be less than or equal to 100",
        ));
    }
    let (agent, session, user) = (
        filter_arg(pairs, "agent_id"),
        filter_arg(pairs, "session_id"),
        filter_arg(pairs, "user_id"),
    );
    let memories = owned_memories(state, tenant_id, &ids).await?;
    if memories.is_empty() || top_n <= 0 {
        return Ok(ok_true(json!([])));
    }
    let tenant = state
        .meta
        .get_tenant(tenant_id)
        .await?
        .ok_or_else(|| json_error(RetCode::ServerError, "Tenant not found!"))?;
    let mut candidates: Vec<MemoryMessage> = Vec::new();
    let mut query_vectors: Vec<(String, Vec<f32>)> = Vec::new();
    for memory in &memories {
        if !query_vectors.iter().any(|(m, _)| m == &memory.embd_id) {
            // A model that cannot embed leaves the keyword half of the score.
            let v = embed(state, &tenant, &memory.embd_id, &query)
                .await
                .unwrap_or_default();
            query_vectors.push((memory.embd_id.clone(), v));
        }
        let msgs = state.memories.list_messages(tenant_id, &memory.id).await?;
        candidates.extend(msgs.into_iter().filter(|m| {
            m.status
                && m.forget_at.is_none()
                && agent.as_ref().is_none_or(|a| &m.agent_id == a)
                && session.as_ref().is_none_or(|s| &m.session_id == s)
                && user.as_ref().is_none_or(|u| &m.user_id == u)
        }));
    }
    let texts: Vec<&str> = candidates.iter().map(|m| m.content.as_str()).collect();
    let term = search::term_similarities(&query, &texts);
    let vector: Vec<f32> = candidates
        .iter()
        .map(|m| {
            let embd = memories
                .iter()
                .find(|x| x.id == m.memory_id)
                .map(|x| x.embd_id.as_str())
                .unwrap_or("");
            let q = query_vectors
                .iter()
                .find(|(id, _)| id == embd)
                .map(|(_, v)| v.as_slice())
                .unwrap_or(&[]);
            search::cosine(q, &m.content_embed)
        })
        .collect();
    let ranked = search::rank(
        &term,
        &vector,
        weight.clamp(0.0, 1.0),
        threshold,
        usize::try_from(top_n).unwrap_or(0),
    );
    let out: Vec<Value> = ranked
        .into_iter()
        .map(|(i, _)| with_content(&candidates[i]))
        .collect();
    Ok(ok_true(Value::Array(out)))
}

/// M11: the most recent unforgotten messages of the caller's memories.
pub async fn recent(
    state: &AppState,
    tenant_id: &str,
    pairs: &[(String, String)],
) -> Result<Value, ApiError> {
    let ids: Vec<String> = list_arg(pairs, "memory_id")
        .into_iter()
        .filter(|i| !i.is_empty())
        .collect();
    let leak = |m: String| ApiError::exception(format!("ValueError(\"{m}\")"));
    let limit = int_arg(pairs, "limit", 10).map_err(leak)?;
    if ids.is_empty() {
        return Err(ApiError::argument("memory_ids is required."));
    }
    if limit > V027_PAGE_LIMIT {
        return Err(ApiError::argument(
            "page_size must be less than or equal to 100",
        ));
    }
    let (agent, session) = (
        filter_arg(pairs, "agent_id"),
        filter_arg(pairs, "session_id"),
    );
    let mut msgs = Vec::new();
    for memory in owned_memories(state, tenant_id, &ids).await? {
        msgs.extend(
            state
                .memories
                .list_messages(tenant_id, &memory.id)
                .await?
                .into_iter()
                .filter(|m| {
                    m.forget_at.is_none()
                        && agent.as_ref().is_none_or(|a| &m.agent_id == a)
                        && session.as_ref().is_none_or(|s| &m.session_id == s)
                }),
        );
    }
    msgs.sort_by(newest_first);
    msgs.truncate(usize::try_from(limit.max(0)).unwrap_or(0));
    Ok(ok_true(Value::Array(
        msgs.iter().map(with_content).collect(),
    )))
}
