//! Search apps (RAGFlow v0.27's `/searches`, delta §1.10): a saved retrieval configuration
//! plus an answer. CRUD here; the completion (`completion.rs`) answers through the same
//! path as chats (`services::completion::ask_frames`).
//!
//! Replies follow upstream's builders: successes are `get_json_result` (`{code:0,
//! message:"success", data}`), validation errors `get_data_error_result` (102, no data),
//! access failures `get_json_result` with `data:false`.

mod completion;
mod listing;

pub use completion::completion;
pub use listing::list;

use serde_json::{json, Map, Value};

use crate::contract::envelope::{ApiError, RetCode};
use crate::contract::ids::new_id;
use crate::contract::time::{now_ms, plain_datetime};
use crate::ports::search::SearchApp;
use crate::state::AppState;

/// Upstream's name limit (bytes of UTF-8), `DATASET_NAME_LIMIT`.
pub const NAME_LIMIT: usize = 255;
pub const STATUS_VALID: &str = "1";

/// `search_config` of a new app: upstream's column default (`db_models.Search`).
pub fn default_search_config() -> Map<String, Value> {
    let v = json!({
        "kb_ids": [],
        "doc_ids": [],
        "similarity_threshold": 0.2,
        "vector_similarity_weight": 0.3,
        "use_kg": false,
        "rerank_id": "",
        "top_k": 1024,
        "summary": false,
        "chat_id": "",
        "llm_setting": {},
        "chat_setting_cross_languages": [],
        "highlight": false,
        "keyword": false,
        "web_search": false,
        "related_search": false,
        "query_mindmap": false,
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// `validate_request(...)`: keys absent from the body → J 101 (data null).
pub fn require_keys(req: &Map<String, Value>, keys: &[&str]) -> Result<(), ApiError> {
    let missing: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| !req.contains_key(*k))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(ApiError::argument(format!(
        "required argument are missing: {}; ",
        missing.join(",")
    ))
    .with_data(Value::Null))
}

/// The `search_config` of the app a request's `search_id` names, for the routes that borrow
/// one (`/chat/recommendation`, `/chat/mindmap`); empty when the key is absent or the app is
/// not the caller's live app (upstream reads any tenant's app by id).
pub async fn saved_config(
    state: &AppState,
    tenant_id: &str,
    req: &Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    let Some(id) = req
        .get("search_id")
        .filter(|v| crate::contract::pyfmt::truthy(v))
        .map(crate::contract::pyfmt::py_str)
    else {
        return Ok(Map::new());
    };
    Ok(match state.searches.get_search(tenant_id, &id).await? {
        Some(app) if app.status == STATUS_VALID => app.search_config,
        _ => Map::new(),
    })
}

/// 109 `No authorization.` (`data:false`): upstream's `accessible4deletion` failed (the
/// app is not the caller's, or does not exist).
pub fn no_authorization() -> ApiError {
    ApiError::new(RetCode::AuthenticationError, "No authorization.").with_data(json!(false))
}

/// The name checks create and update share; `trailing` is create's final period (update's
/// length message has none upstream).
fn checked_name(v: &Value, trailing: &str) -> Result<String, ApiError> {
    let Some(name) = v.as_str() else {
        return Err(ApiError::data("Search name must be string."));
    };
    if name.trim().is_empty() {
        return Err(ApiError::data("Search name can't be empty."));
    }
    if name.len() > NAME_LIMIT {
        return Err(ApiError::data(format!(
            "Search name length is {} which is large than {NAME_LIMIT}{trailing}",
            name.chars().count()
        )));
    }
    Ok(name.trim().to_string())
}

fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// `stem(n)` + suffix for a taken name, as upstream's `duplicate_name` counts: `a` → `a(1)`,
/// `a(1)` → `a(2)`; a file-like suffix (`.x`) stays at the end.
pub fn next_name(name: &str) -> String {
    let (stem, suffix) = match name.rfind('.') {
        // PurePath's suffix: from the last dot, unless it starts or ends the name.
        Some(i) if i > 0 && i + 1 < name.len() => name.split_at(i),
        _ => (name, ""),
    };
    let (main, counter) = split_counter(stem);
    format!("{main}({}){suffix}", counter.map_or(1, |c| c + 1))
}

fn split_counter(stem: &str) -> (&str, Option<u64>) {
    if let Some(body) = stem.strip_suffix(')') {
        if let Some(open) = body.rfind('(') {
            let digits = &body[open + 1..];
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                if let Ok(n) = digits.parse() {
                    return (body[..open].trim_end(), Some(n));
                }
            }
        }
    }
    (stem, None)
}

/// A name none of `taken` has (case-insensitively), suffixing as upstream does.
pub fn unique_name(name: &str, taken: &[String]) -> String {
    let taken: std::collections::HashSet<String> = taken.iter().map(|n| name_key(n)).collect();
    let mut candidate = name.to_string();
    // Bounded like upstream's MAX_RETRIES; a tenant never has that many twins.
    for _ in 0..1000 {
        if !taken.contains(&name_key(&candidate)) {
            break;
        }
        candidate = next_name(&candidate);
    }
    candidate
}

/// POST /searches: `data:{"search_id"}`.
pub async fn create(
    state: &AppState,
    tenant_id: &str,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    require_keys(req, &["name"])?;
    let name = checked_name(&req["name"], ".")?;
    let tenant_exists = state.meta.get_tenant(tenant_id).await?.is_some();
    if !tenant_exists {
        return Err(ApiError::data("Authorized identity."));
    }
    let mut search_config = default_search_config();
    match req.get("search_config") {
        None | Some(Value::Null) => {}
        Some(Value::Object(given)) => search_config.extend(given.clone()),
        Some(_) => return Err(ApiError::data("search_config must be a JSON object")),
    }
    let taken: Vec<String> = state
        .searches
        .list_searches(tenant_id)
        .await?
        .into_iter()
        .map(|a| a.name)
        .collect();
    let now = now_ms();
    let app = SearchApp {
        id: new_id(),
        tenant_id: tenant_id.to_string(),
        name: unique_name(&name, &taken),
        description: req
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        avatar: req
            .get("avatar")
            .and_then(Value::as_str)
            .map(str::to_string),
        created_by: tenant_id.to_string(),
        search_config,
        status: STATUS_VALID.into(),
        create_time: now,
        update_time: now,
    };
    state.searches.insert_search(&app).await?;
    Ok(json!({"search_id": app.id}))
}

/// The tenant's name (upstream joins the owning user's `nickname`).
async fn nickname(state: &AppState, tenant_id: &str) -> Result<String, ApiError> {
    Ok(state
        .meta
        .get_tenant(tenant_id)
        .await?
        .map(|t| t.name)
        .unwrap_or_default())
}

/// GET /searches/{id}: `get_detail`'s fields (plus `create_time`, which the v0.27 reference
/// shows).
pub async fn get(state: &AppState, tenant_id: &str, id: &str) -> Result<Value, ApiError> {
    let Some(app) = state.searches.get_search(tenant_id, id).await? else {
        return Err(ApiError::new(
            RetCode::OperatingError,
            "Has no permission for this operation.",
        )
        .with_data(json!(false)));
    };
    if app.status != STATUS_VALID {
        return Err(ApiError::data("Can't find this Search App!"));
    }
    Ok(json!({
        "id": app.id,
        "avatar": app.avatar,
        "tenant_id": app.tenant_id,
        "name": app.name,
        "description": app.description,
        "created_by": app.created_by,
        "search_config": app.search_config,
        "create_time": app.create_time,
        "update_time": app.update_time,
        "nickname": nickname(state, tenant_id).await?,
        "tenant_avatar": null,
    }))
}

/// The whole row (`to_dict()`), as PUT replies with it.
pub fn row(app: &SearchApp) -> Value {
    json!({
        "id": app.id,
        "avatar": app.avatar,
        "tenant_id": app.tenant_id,
        "name": app.name,
        "description": app.description,
        "created_by": app.created_by,
        "search_config": app.search_config,
        "status": app.status,
        "create_time": app.create_time,
        "create_date": plain_datetime(app.create_time),
        "update_time": app.update_time,
        "update_date": plain_datetime(app.update_time),
    })
}

/// The caller's live app, or 109.
async fn owned(state: &AppState, tenant_id: &str, id: &str) -> Result<SearchApp, ApiError> {
    match state.searches.get_search(tenant_id, id).await? {
        Some(app) if app.status == STATUS_VALID => Ok(app),
        _ => Err(no_authorization()),
    }
}

/// PUT /searches/{id}: rename and merge `search_config`; replies with the updated row.
pub async fn update(
    state: &AppState,
    tenant_id: &str,
    id: &str,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    require_keys(req, &["name", "search_config"])?;
    let name = checked_name(&req["name"], "")?;
    let mut app = owned(state, tenant_id, id).await?;
    if name_key(&name) != name_key(&app.name) {
        let taken = state
            .searches
            .list_searches(tenant_id)
            .await?
            .into_iter()
            .any(|other| other.id != app.id && name_key(&other.name) == name_key(&name));
        if taken {
            return Err(ApiError::data("Duplicated search name."));
        }
    }
    let Value::Object(given) = &req["search_config"] else {
        return Err(ApiError::data("search_config must be a JSON object"));
    };
    app.search_config.extend(given.clone());
    app.name = name;
    if let Some(d) = req.get("description") {
        app.description = d.as_str().unwrap_or_default().to_string();
    }
    if let Some(a) = req.get("avatar") {
        app.avatar = a.as_str().map(str::to_string);
    }
    app.update_time = now_ms();
    state.searches.update_search(&app).await?;
    Ok(row(&app))
}

/// DELETE /searches/{id}: `data:true`.
pub async fn delete(state: &AppState, tenant_id: &str, id: &str) -> Result<Value, ApiError> {
    owned(state, tenant_id, id).await?;
    if !state.searches.delete_search(tenant_id, id).await? {
        return Err(ApiError::data(format!("Failed to delete search App {id}")));
    }
    Ok(json!(true))
}

#[cfg(test)]
mod tests;
