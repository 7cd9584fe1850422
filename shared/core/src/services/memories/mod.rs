//! Memories (contract M1–M6) and their messages (M7–M12, `messages`).
//!
//! Replies use upstream's `get_json_result` with the quirk of these routes: a success
//! carries `"message": true` (a boolean), except add-message, whose message is a string.
//! Every memory id is looked up in the caller's tenant, so another tenant's memory answers
//! exactly as a missing one (upstream forgot this check: see docs/divergences.md).

pub mod extract;
pub mod messages;
pub mod prompts;
pub mod search;

#[cfg(test)]
mod tests;

use serde_json::{json, Map, Value};

use crate::contract::envelope::{ApiError, RetCode};
use crate::contract::http::first;
use crate::contract::ids::new_id;
use crate::contract::pyfmt::{py_repr, py_str};
use crate::contract::time::{now_ms, rfc1123};
use crate::domain::ClientGeneration;
use crate::ports::memory::{
    memory_type_bit, memory_type_names, Memory, MemoryListQuery, MEMORY_TYPES,
};
use crate::services::datasets::next_duplicate_name;
use crate::state::AppState;
use crate::StoreError;

/// Longest memory name, in characters.
pub const NAME_LIMIT: usize = 128;
/// Default and largest `memory_size`, in bytes.
pub const DEFAULT_MEMORY_SIZE: i64 = 5 * 1024 * 1024;
pub const MEMORY_SIZE_LIMIT: i64 = 10 * 1024 * 1024;
/// Largest `page_size` / `top_n` / `limit` a v0.27 request may ask for.
pub const V027_PAGE_LIMIT: i64 = 100;

/// `{"code":0,"message":true,"data":X}`: these routes' success reply.
pub fn ok_true(data: Value) -> Value {
    json!({"code": 0, "message": true, "data": data})
}

/// A `get_json_result` error: `{"code":C,"message":M,"data":null}`.
pub fn json_error(code: RetCode, message: impl Into<String>) -> ApiError {
    ApiError::new(code, message).with_data(Value::Null)
}

/// 404 `Memory '{id}' not found.`
pub fn memory_not_found(id: &str) -> ApiError {
    json_error(RetCode::NotFound, format!("Memory '{id}' not found."))
}

/// Upstream's `validate_request(...)`: names missing or null, in order.
pub fn require(req: &Map<String, Value>, names: &[&str]) -> Result<(), ApiError> {
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| req.get(*n).is_none_or(Value::is_null))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(json_error(
        RetCode::ArgumentError,
        format!("required argument are missing: {}; ", missing.join(",")),
    ))
}

/// Python's `repr(set(values))` for the message of an unsupported memory type (sorted, so
/// the text is stable where Python's order is not).
fn py_set(values: &[Value]) -> String {
    let mut items: Vec<String> = values.iter().map(py_repr).collect();
    items.sort();
    items.dedup();
    format!("{{{}}}", items.join(", "))
}

/// The bitmask of a `memory_type` list; 101 with upstream's messages otherwise.
pub fn parse_memory_types(v: &Value) -> Result<u32, ApiError> {
    let Value::Array(items) = v else {
        return Err(ApiError::argument("Memory type must be a list."));
    };
    let bad: Vec<Value> = items
        .iter()
        .filter(|i| i.as_str().and_then(memory_type_bit).is_none())
        .cloned()
        .collect();
    if !bad.is_empty() {
        return Err(ApiError::argument(format!(
            "Memory type '{}' is not supported.",
            py_set(&bad)
        )));
    }
    Ok(items
        .iter()
        .filter_map(|i| i.as_str().and_then(memory_type_bit))
        .fold(0, |acc, b| acc | b))
}

/// A checked memory name: stripped, 1–128 characters.
pub fn parse_name(v: &Value) -> Result<String, ApiError> {
    let Some(s) = v.as_str() else {
        return Err(ApiError::argument("Memory name must be a string."));
    };
    let name = s.trim();
    if name.is_empty() {
        return Err(ApiError::argument(
            "Memory name cannot be empty or whitespace.",
        ));
    }
    if name.chars().count() > NAME_LIMIT {
        return Err(ApiError::argument(format!(
            "Memory name '{name}' exceeds limit of {NAME_LIMIT}."
        )));
    }
    Ok(name.to_string())
}

/// The memory object of M1/M2/M5 (`format_ret_data_from_memory`).
pub fn memory_json(m: &Memory, owner_name: Option<&str>, with_update: bool) -> Value {
    let (update_time, update_date) = if with_update {
        (json!(m.update_time), json!(rfc1123(m.update_time)))
    } else {
        (Value::Null, Value::Null)
    };
    json!({
        "id": m.id,
        "name": m.name,
        "avatar": m.avatar,
        "tenant_id": m.tenant_id,
        "owner_name": owner_name,
        "memory_type": memory_type_names(m.memory_type),
        "storage_type": m.storage_type,
        "embd_id": m.embd_id,
        "llm_id": m.llm_id,
        "permissions": m.permissions,
        "description": m.description,
        "memory_size": m.memory_size,
        "forgetting_policy": m.forgetting_policy,
        "temperature": m.temperature,
        "system_prompt": m.system_prompt,
        "user_prompt": m.user_prompt,
        "create_time": m.create_time,
        "create_date": rfc1123(m.create_time),
        "update_time": update_time,
        "update_date": update_date,
    })
}

/// A memory of the caller's tenant, or 404.
pub async fn owned(state: &AppState, tenant_id: &str, id: &str) -> Result<Memory, ApiError> {
    state
        .memories
        .get_memory(tenant_id, id)
        .await?
        .ok_or_else(|| memory_not_found(id))
}

/// Store a new or renamed memory under a free name (`name(n)` on a clash), as upstream's
/// `duplicate_name` does; the store's uniqueness rule settles races.
async fn store_with_free_name(
    state: &AppState,
    mut memory: Memory,
    insert: bool,
) -> Result<Memory, ApiError> {
    for _ in 0..64 {
        while let Some(other) = state
            .memories
            .find_memory_by_name(&memory.tenant_id, &memory.name)
            .await?
        {
            if other.id == memory.id {
                break;
            }
            memory.name = next_duplicate_name(&memory.name);
        }
        if memory.name.chars().count() > NAME_LIMIT {
            return Err(json_error(
                RetCode::ServerError,
                format!("Memory name {} exceeds limit of {NAME_LIMIT}.", memory.name),
            ));
        }
        let written = if insert {
            state.memories.insert_memory(&memory).await
        } else {
            state.memories.update_memory(&memory).await
        };
        match written {
            Ok(()) => return Ok(memory),
            Err(StoreError::Conflict(_)) => continue,
            Err(StoreError::NotFound(_)) => return Err(memory_not_found(&memory.id)),
            Err(e) => return Err(e.into()),
        }
    }
    Err(json_error(
        RetCode::ServerError,
        "Could not create new memory.",
    ))
}

/// M1: create a memory.
pub async fn create(
    state: &AppState,
    tenant_id: &str,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    require(req, &["name", "memory_type", "embd_id", "llm_id"])?;
    let name = parse_name(&req["name"])?;
    let memory_type = parse_memory_types(&req["memory_type"])?;
    let embd_id = py_str(&req["embd_id"]);
    let llm_id = py_str(&req["llm_id"]);
    let now = now_ms();
    let memory = Memory {
        id: new_id(),
        tenant_id: tenant_id.to_string(),
        name,
        avatar: None,
        memory_type,
        storage_type: "table".into(),
        embd_id,
        llm_id,
        permissions: "me".into(),
        description: None,
        memory_size: DEFAULT_MEMORY_SIZE,
        forgetting_policy: "FIFO".into(),
        temperature: 0.5,
        system_prompt: prompts::system_prompt(memory_type),
        user_prompt: None,
        create_time: now,
        update_time: now,
    };
    let memory = store_with_free_name(state, memory, true).await?;
    Ok(ok_true(memory_json(&memory, None, true)))
}

fn float_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

/// M2: update a memory's settings.
pub async fn update(
    state: &AppState,
    tenant_id: &str,
    id: &str,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    // The checks run before the lookup, as upstream's do.
    let name = req.get("name").map(parse_name).transpose()?;
    let truthy = |k: &str| req.get(k).filter(|v| crate::contract::pyfmt::truthy(v));
    let permissions = match truthy("permissions") {
        Some(p) if p == "me" || p == "team" => Some(py_str(p)),
        Some(p) => {
            return Err(ApiError::argument(format!(
                "Unknown permission '{}'.",
                py_str(p)
            )))
        }
        None => None,
    };
    let llm_id = truthy("llm_id").map(py_str);
    let embd_id = truthy("embd_id").map(py_str);
    let memory_type = truthy("memory_type").map(parse_memory_types).transpose()?;
    // `memory_size: 0` is out of range too (upstream skips a falsy 0 silently).
    let memory_size = match req.get("memory_size").filter(|v| !v.is_null()) {
        Some(v) => match float_of(v).filter(|f| f.fract() == 0.0).map(|f| f as i64) {
            Some(n) if n > 0 && n <= MEMORY_SIZE_LIMIT => Some(n),
            _ => {
                return Err(ApiError::argument(format!(
                    "Memory size should be in range (0, {MEMORY_SIZE_LIMIT}] Bytes."
                )))
            }
        },
        None => None,
    };
    let forgetting_policy = match truthy("forgetting_policy") {
        Some(p) if p == "FIFO" => Some("FIFO".to_string()),
        Some(p) => {
            return Err(ApiError::argument(format!(
                "Forgetting policy '{}' is not supported.",
                py_str(p)
            )))
        }
        None => None,
    };
    let temperature = match req.get("temperature") {
        Some(v) => match float_of(v) {
            Some(t) if (0.0..=1.0).contains(&t) => Some(t),
            _ => return Err(ApiError::argument("Temperature should be in range [0, 1].")),
        },
        None => None,
    };
    let text = |k: &str| {
        req.get(k).map(|v| {
            v.as_str()
                .map(str::to_string)
                .or_else(|| (!v.is_null()).then(|| py_str(v)))
        })
    };

    let current = owned(state, tenant_id, id).await?;
    let mut next = current.clone();
    if let Some(n) = name {
        next.name = n;
    }
    if let Some(p) = permissions {
        next.permissions = p;
    }
    if let Some(l) = llm_id {
        next.llm_id = l;
    }
    if let Some(e) = embd_id {
        next.embd_id = e;
    }
    if let Some(t) = memory_type {
        next.memory_type = t;
    }
    if let Some(s) = memory_size {
        next.memory_size = s;
    }
    if let Some(p) = forgetting_policy {
        next.forgetting_policy = p;
    }
    if let Some(t) = temperature {
        next.temperature = t;
    }
    if let Some(a) = text("avatar") {
        next.avatar = a;
    }
    if let Some(d) = text("description") {
        next.description = d;
    }
    if let Some(s) = text("system_prompt") {
        next.system_prompt = s.unwrap_or_default();
    }
    if let Some(u) = text("user_prompt") {
        next.user_prompt = u;
    }
    if next == current {
        return Ok(ok_true(memory_json(&current, None, true)));
    }
    let mut locked = Vec::new();
    if next.embd_id != current.embd_id {
        locked.push("'embd_id'");
    }
    if next.memory_type != current.memory_type {
        locked.push("'memory_type'");
    }
    if !locked.is_empty()
        && !state
            .memories
            .list_messages(tenant_id, id)
            .await?
            .is_empty()
    {
        return Err(ApiError::argument(format!(
            "Can't update [{}] when memory isn't empty.",
            locked.join(", ")
        )));
    }
    // A prompt still at the old types' default follows the new types.
    if next.memory_type != current.memory_type
        && next.system_prompt == current.system_prompt
        && prompts::is_default(&current.system_prompt, current.memory_type)
    {
        next.system_prompt = prompts::system_prompt(next.memory_type);
    }
    next.update_time = now_ms();
    let stored = store_with_free_name(state, next, false).await?;
    Ok(ok_true(memory_json(&stored, None, true)))
}

/// M3: delete a memory and its messages. A missing one is the pinned
/// `{"code":404,"message":true,"data":null}`.
pub async fn delete(state: &AppState, tenant_id: &str, id: &str) -> Result<Value, ApiError> {
    if state.memories.delete_memory(tenant_id, id).await? {
        Ok(ok_true(Value::Null))
    } else {
        Ok(json!({"code": 404, "message": true, "data": null}))
    }
}

/// The values of a repeatable, comma-splittable query key.
pub fn list_arg(pairs: &[(String, String)], key: &str) -> Vec<String> {
    let values: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .collect();
    if values.len() == 1 && values[0].contains(',') {
        return values[0].split(',').map(str::to_string).collect();
    }
    values
}

/// Python's `int(value)` for a query value, or upstream's leaked message.
pub fn int_arg(pairs: &[(String, String)], key: &str, default: i64) -> Result<i64, String> {
    match first(pairs, key) {
        None => Ok(default),
        Some(v) => v.trim().parse::<i64>().map_err(|_| {
            format!(
                "invalid literal for int() with base 10: {}",
                crate::contract::pyfmt::py_str_repr(v)
            )
        }),
    }
}

/// Whether a GET /memories request is recognisably RAGFlow v0.27's: a v0.27 key, or one
/// of the filters only v0.27 has.
fn is_v027_list(generation: ClientGeneration, pairs: &[(String, String)]) -> bool {
    generation == ClientGeneration::V027
        || pairs.iter().any(|(k, _)| k == "owner_ids" || k == "ids")
}

/// M4: list the caller's memories.
pub async fn list(
    state: &AppState,
    tenant_id: &str,
    generation: ClientGeneration,
    pairs: &[(String, String)],
) -> Result<Value, ApiError> {
    let v027 = is_v027_list(generation, pairs);
    let server_error = |m: String| json_error(RetCode::ServerError, m);
    let page = int_arg(pairs, "page", 1).map_err(server_error)?;
    // Pinned default 50; v0.27's is 30 (a true conflict: the pinned one wins unless the
    // request is v0.27's).
    let page_size =
        int_arg(pairs, "page_size", if v027 { 30 } else { 50 }).map_err(server_error)?;
    if v027 && page_size > V027_PAGE_LIMIT {
        return Err(ApiError::argument(
            "page_size must be less than or equal to 100",
        ));
    }
    let non_empty = |key: &str| -> Vec<String> {
        list_arg(pairs, key)
            .into_iter()
            .filter(|v| !v.trim().is_empty())
            .collect()
    };
    let ids = non_empty("ids");
    if ids.len() > 100 {
        return Err(ApiError::argument("ids must contain at most 100 IDs"));
    }
    let owners: Vec<String> = non_empty("tenant_id")
        .into_iter()
        .chain(non_empty("owner_ids"))
        .collect();
    if owners.len() > 100 {
        return Err(ApiError::argument("owner_ids must contain at most 100 IDs"));
    }
    // Only the caller's own memories are ever listed: naming other tenants lists nothing.
    if !owners.is_empty() && !owners.iter().any(|o| o == tenant_id) {
        return Ok(ok_true(json!({"memory_list": [], "total_count": 0})));
    }
    let memory_type = list_arg(pairs, "memory_type")
        .iter()
        .filter_map(|t| memory_type_bit(t.trim()))
        .fold(0, |acc, b| acc | b);
    let query = MemoryListQuery {
        memory_type,
        storage_type: first(pairs, "storage_type")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        keywords: first(pairs, "keywords")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        ids: (!ids.is_empty()).then_some(ids),
        page: u64::try_from(page.max(1)).unwrap_or(1),
        page_size: u64::try_from(page_size.max(0)).unwrap_or(0),
    };
    let query = if page_size <= 0 {
        // `paginate(page, 0)` in peewee means no limit.
        MemoryListQuery {
            page_size: 0,
            ..query
        }
    } else {
        query
    };
    let owner = state
        .meta
        .get_tenant(tenant_id)
        .await?
        .map(|t| t.name)
        .unwrap_or_default();
    let (items, total) = state.memories.list_memories(tenant_id, &query).await?;
    let list: Vec<Value> = items
        .iter()
        .map(|m| {
            json!({
                "id": m.id,
                "name": m.name,
                "avatar": m.avatar,
                "tenant_id": m.tenant_id,
                "owner_name": owner,
                "memory_type": memory_type_names(m.memory_type),
                "storage_type": m.storage_type,
                "permissions": m.permissions,
                "description": m.description,
                "create_time": m.create_time,
                "create_date": rfc1123(m.create_time),
            })
        })
        .collect();
    Ok(ok_true(json!({"memory_list": list, "total_count": total})))
}

/// M5: a memory's configuration, with its owner's name.
pub async fn config(state: &AppState, tenant_id: &str, id: &str) -> Result<Value, ApiError> {
    let memory = owned(state, tenant_id, id).await?;
    let owner = state.meta.get_tenant(tenant_id).await?.map(|t| t.name);
    Ok(ok_true(memory_json(&memory, owner.as_deref(), false)))
}

/// Names of the extractable types of a memory (all but `raw`).
pub fn extract_types(mask: u32) -> Vec<&'static str> {
    MEMORY_TYPES
        .iter()
        .filter(|(n, b)| *n != "raw" && mask & b != 0)
        .map(|(n, _)| *n)
        .collect()
}
