//! A1–A4 and v0.27's `GET /agents/{id}`: list, create, update, delete and read canvases.

use serde_json::{json, Map, Value};

use super::runtime::validate_dsl;
use super::{canvas_json, int_arg, is_v027, json_result, refused, result, AGENT_CANVAS};
use crate::contract::envelope::{ApiError, RetCode};
use crate::contract::http::first;
use crate::contract::ids::new_id;
use crate::contract::pyfmt::truthy;
use crate::contract::time::now_ms;
use crate::domain::ClientGeneration;
use crate::ports::agent::AgentCanvas;
use crate::state::AppState;

/// A1 (pinned: a bare list; `id`/`title` misses are 102) and v0.27's list
/// (`{canvas, total}`), chosen by the key's generation.
pub async fn list(
    state: &AppState,
    tenant_id: &str,
    generation: ClientGeneration,
    pairs: &[(String, String)],
) -> Result<Value, ApiError> {
    // v0.27's facet answers before any other query key is read (no client of the pinned
    // generation sends `type=filter`).
    if first(pairs, "type") == Some("filter") {
        return list_facets(state, tenant_id).await;
    }
    let page = int_arg(pairs, "page", 1)?.max(1);
    let page_size = int_arg(pairs, "page_size", 30)?;
    // v0.27 orders by creation by default; the pinned list by the last update.
    let orderby = first(pairs, "orderby").unwrap_or(if is_v027(generation) {
        "create_time"
    } else {
        "update_time"
    });
    let desc_default = is_v027(generation);
    let desc = match first(pairs, "desc") {
        Some(v) => matches!(v, "True" | "true" | "1"),
        None => desc_default,
    };
    let mut all = state.agents.list_agents(tenant_id).await?;
    let filters = if is_v027(generation) {
        V027Filters::of(tenant_id, pairs)?
    } else {
        V027Filters::default()
    };
    all.retain(|a| filters.keeps(a));
    let id = first(pairs, "id").filter(|s| !s.is_empty());
    let title = first(pairs, "title").filter(|s| !s.is_empty());
    if !is_v027(generation) && (id.is_some() || title.is_some()) {
        all.retain(|a| id.is_none_or(|i| a.id == i) && title.is_none_or(|t| a.title == t));
        if all.is_empty() {
            return Err(ApiError::data("The agent doesn't exist."));
        }
    }
    if let Some(k) = first(pairs, "keywords").filter(|s| !s.is_empty()) {
        let k = k.to_lowercase();
        all.retain(|a| a.title.to_lowercase().contains(&k));
    }
    // v0.27 without category, type or tag filters merges agents with other listed kinds
    // and orders the merge by the last update, whatever `orderby` says.
    let orderby = if is_v027(generation) && filters.merged() {
        "update_time"
    } else {
        orderby
    };
    all.sort_by(|a, b| {
        let ord = match orderby {
            "create_time" => a.create_time.cmp(&b.create_time),
            "title" => a.title.cmp(&b.title),
            _ => a.update_time.cmp(&b.update_time),
        };
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
        .map(canvas_json)
        .collect();
    Ok(if is_v027(generation) {
        let items: Vec<Value> = if filters.merged() {
            items
                .into_iter()
                .map(|mut v| {
                    v["type"] = json!("agent");
                    v
                })
                .collect()
        } else {
            items
        };
        json_result(json!({"canvas": items, "total": total}))
    } else {
        result(Value::Array(items))
    })
}

/// v0.27's `GET /agents?type=filter`: the owners and canvas categories of the agents the
/// caller can see, each with its count, and the total. A key sees its own tenant's agents
/// only, so there is one owner at most. Entries are `{id, label, count}` like the dataset
/// facet's (the category's label is its id).
async fn list_facets(state: &AppState, tenant_id: &str) -> Result<Value, ApiError> {
    let all = state.agents.list_agents(tenant_id).await?;
    let owners = crate::services::datasets::v027::owner_facet(state, tenant_id, all.len()).await?;
    let mut categories: Vec<(String, usize)> = Vec::new();
    for a in &all {
        match categories.iter_mut().find(|(c, _)| *c == a.canvas_category) {
            Some((_, n)) => *n += 1,
            None => categories.push((a.canvas_category.clone(), 1)),
        }
    }
    categories.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let categories: Vec<Value> = categories
        .into_iter()
        .map(|(c, n)| json!({"id": c, "label": c, "count": n}))
        .collect();
    Ok(json_result(json!({
        "filter": {"owner": owners, "canvas_category": categories},
        "total": all.len(),
    })))
}

/// v0.27's list filters (the pinned list has none of these and shows agent canvases).
#[derive(Debug, Default)]
struct V027Filters {
    /// `canvas_category` (comma-separated); empty: agent canvases.
    categories: Vec<String>,
    canvas_type: Option<String>,
    /// `tags` (comma-separated). Agents here carry no tags (upstream's tag editing is not
    /// served), so any tag filter matches nothing.
    tags: Vec<String>,
}

impl V027Filters {
    fn of(tenant_id: &str, pairs: &[(String, String)]) -> Result<Self, ApiError> {
        let csv = |key: &str| -> Vec<String> {
            first(pairs, key)
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let owner_ids = csv("owner_ids");
        if owner_ids.len() > crate::contract::http::MAX_LIST_IDS {
            return Err(ApiError::argument(format!(
                "owner_ids must contain at most {} IDs",
                crate::contract::http::MAX_LIST_IDS
            )));
        }
        // A key's tenant joins no other tenant: only its own id may be asked for.
        if owner_ids.iter().any(|o| o != tenant_id) {
            return Err(refused(
                RetCode::OperatingError,
                "Only authorized owner_ids can be queried.",
            ));
        }
        Ok(V027Filters {
            categories: csv("canvas_category"),
            canvas_type: first(pairs, "canvas_type")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            tags: csv("tags"),
        })
    }

    /// No category, type or tag filter: upstream's merged listing.
    fn merged(&self) -> bool {
        self.categories.is_empty() && self.canvas_type.is_none() && self.tags.is_empty()
    }

    fn keeps(&self, a: &AgentCanvas) -> bool {
        let category = if self.categories.is_empty() {
            a.canvas_category == AGENT_CANVAS
        } else {
            self.categories.contains(&a.canvas_category)
        };
        category
            && self
                .canvas_type
                .as_ref()
                .is_none_or(|t| a.canvas_type.as_ref() == Some(t))
            && self.tags.is_empty()
    }
}

/// v0.27's `GET /agents/{id}`: the row and its `last_publish_time` (we do not publish
/// versions: null).
pub async fn get_one(state: &AppState, tenant_id: &str, id: &str) -> Result<Value, ApiError> {
    let Some(a) = state.agents.get_agent(tenant_id, id).await? else {
        return Err(ApiError::data("canvas not found.").with_data(json!(false)));
    };
    let mut v = canvas_json(&a);
    v["last_publish_time"] = Value::Null;
    Ok(json_result(v))
}

/// The DSL of a body: an object, or JSON text holding one.
fn dsl_of(v: &Value) -> Result<Value, ApiError> {
    let dsl = match v {
        Value::String(s) => serde_json::from_str::<Value>(s).map_err(|e| {
            refused(
                RetCode::ArgumentError,
                format!("The DSL is not valid JSON: {e}"),
            )
        })?,
        other => other.clone(),
    };
    validate_dsl(&dsl).map_err(|e| refused(RetCode::ArgumentError, e.to_string()))?;
    Ok(dsl)
}

fn text_field(req: &Map<String, Value>, key: &str) -> Option<String> {
    match req.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(crate::contract::pyfmt::py_str(other)),
    }
}

async fn title_taken(
    state: &AppState,
    tenant_id: &str,
    title: &str,
    except: Option<&str>,
) -> Result<bool, ApiError> {
    Ok(state
        .agents
        .list_agents(tenant_id)
        .await?
        .iter()
        .any(|a| a.title == title && Some(a.id.as_str()) != except))
}

/// A2. Pinned replies `true` (the id is not returned); v0.27 returns the row.
pub async fn create(
    state: &AppState,
    tenant_id: &str,
    generation: ClientGeneration,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let dsl_value = match req.get("dsl") {
        Some(v) if truthy(v) => v,
        _ => return Err(refused(RetCode::ArgumentError, "No DSL data in request.")),
    };
    let title = match req.get("title") {
        Some(v) if truthy(v) => crate::contract::pyfmt::py_str(v).trim().to_string(),
        _ => return Err(refused(RetCode::ArgumentError, "No title in request.")),
    };
    if title.is_empty() {
        return Err(refused(RetCode::ArgumentError, "No title in request."));
    }
    let dsl = dsl_of(dsl_value)?;
    if title_taken(state, tenant_id, &title, None).await? {
        return Err(if is_v027(generation) {
            ApiError::data(format!("{title} already exists."))
        } else {
            ApiError::data(format!("Agent with title {title} already exists."))
        });
    }
    let now = now_ms();
    let agent = AgentCanvas {
        id: new_id(),
        tenant_id: tenant_id.to_string(),
        title,
        description: text_field(req, "description"),
        avatar: text_field(req, "avatar"),
        canvas_type: text_field(req, "canvas_type"),
        canvas_category: AGENT_CANVAS.into(),
        permission: text_field(req, "permission")
            .filter(|p| p == "team")
            .unwrap_or_else(|| "me".into()),
        dsl,
        create_time: now,
        update_time: now,
    };
    state.agents.insert_agent(&agent).await?;
    Ok(if is_v027(generation) {
        json_result(canvas_json(&agent))
    } else {
        json_result(json!(true))
    })
}

fn not_owner(generation: ClientGeneration, deleting: bool) -> ApiError {
    let message = match (is_v027(generation), deleting) {
        (false, _) => "Only owner of canvas authorized for this operation.",
        (true, false) => "Make sure you have permission to access the agent.",
        (true, true) => "Only the owner of the agent is authorized for this operation.",
    };
    refused(RetCode::OperatingError, message)
}

/// A3. Null values are ignored. Pinned: `true`, and upstream's quirk of a `dsl` without
/// `title` (applied, then `KeyError('title')`); v0.27: `{update_time}`.
pub async fn update(
    state: &AppState,
    tenant_id: &str,
    generation: ClientGeneration,
    id: &str,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let Some(mut agent) = state.agents.get_agent(tenant_id, id).await? else {
        return Err(not_owner(generation, false));
    };
    if let Some(v) = req.get("dsl").filter(|v| !v.is_null()) {
        agent.dsl = dsl_of(v)?;
    }
    if let Some(title) = text_field(req, "title") {
        let title = title.trim().to_string();
        if title.is_empty() {
            return Err(refused(RetCode::ArgumentError, "No title in request."));
        }
        if title_taken(state, tenant_id, &title, Some(id)).await? {
            return Err(ApiError::data(format!("{title} already exists.")));
        }
        agent.title = title;
    }
    if let Some(d) = text_field(req, "description") {
        agent.description = Some(d);
    }
    if let Some(a) = text_field(req, "avatar") {
        agent.avatar = Some(a);
    }
    if let Some(t) = text_field(req, "canvas_type") {
        agent.canvas_type = Some(t);
    }
    if let Some(p) = text_field(req, "permission").filter(|p| p == "me" || p == "team") {
        agent.permission = p;
    }
    agent.update_time = now_ms();
    state.agents.update_agent(&agent).await?;
    if is_v027(generation) {
        return Ok(json_result(json!({"update_time": agent.update_time})));
    }
    if req.get("dsl").is_some_and(|v| !v.is_null()) && !req.contains_key("title") {
        return Err(ApiError::exception("KeyError('title')"));
    }
    Ok(json_result(json!(true)))
}

/// A4. The agent's sessions stay, as upstream leaves them.
pub async fn delete(
    state: &AppState,
    tenant_id: &str,
    generation: ClientGeneration,
    id: &str,
) -> Result<Value, ApiError> {
    if !state.agents.delete_agent(tenant_id, id).await? {
        return Err(not_owner(generation, true));
    }
    Ok(json_result(json!(true)))
}
