//! Checks shared by create and update: value coercions that fail like upstream, dataset
//! ownership, model existence, the prompt's parameters.

use super::*;

// ---------------------------------------------------------------------------------------
// Value coercions with upstream-like failures
// ---------------------------------------------------------------------------------------

pub(super) fn float_of(key: &str, v: &Value) -> Result<f64, ApiError> {
    match v {
        Value::Number(n) => Ok(n.as_f64().unwrap_or(0.0)),
        Value::Bool(b) => Ok(if *b { 1.0 } else { 0.0 }),
        Value::String(s) => s.trim().parse::<f64>().map_err(|_| {
            ApiError::exception(format!(
                "ValueError(\"could not convert string to float: {}\")",
                py_str_repr(s)
            ))
        }),
        other => Err(ApiError::exception(format!(
            "TypeError(\"`{key}` must be a number, not '{}'\")",
            py_type_name(other)
        ))),
    }
}

pub(super) fn int_of(key: &str, v: &Value) -> Result<i64, ApiError> {
    match v {
        Value::Number(n) => Ok(n
            .as_i64()
            .unwrap_or_else(|| n.as_f64().unwrap_or(0.0) as i64)),
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::String(s) => s.trim().parse::<i64>().map_err(|_| {
            ApiError::exception(format!(
                "ValueError(\"invalid literal for int() with base 10: {}\")",
                py_str_repr(s)
            ))
        }),
        other => Err(ApiError::exception(format!(
            "TypeError(\"`{key}` must be an integer, not '{}'\")",
            py_type_name(other)
        ))),
    }
}

pub(super) fn opt_string(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        other => Some(py_str(other)),
    }
}

/// `do_refer` / `show_quotation`: booleans become upstream's `"1"` / `"0"`.
pub(super) fn refer_flag(v: &Value) -> String {
    match v {
        Value::Bool(true) => "1".into(),
        Value::Bool(false) => "0".into(),
        other => py_str(other),
    }
}

pub(super) fn not_an_object(key: &str, v: &Value) -> ApiError {
    ApiError::exception(format!(
        "AttributeError(\"`{key}` must be an object, not '{}'\")",
        py_type_name(v)
    ))
}

// ---------------------------------------------------------------------------------------
// Shared checks
// ---------------------------------------------------------------------------------------

/// `dataset_ids` as upstream iterates it: a list (falsy items dropped), or, quirk kept, a
/// string iterated per character; null counts as none.
pub(super) fn dataset_id_list(v: Option<&Value>) -> Result<Vec<String>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(a)) => Ok(a.iter().filter(|x| truthy(x)).map(py_str).collect()),
        Some(Value::String(s)) => Ok(s.chars().map(|c| c.to_string()).collect()),
        Some(other) => Err(ApiError::exception(format!(
            "TypeError(\"'{}' object is not iterable\")",
            py_type_name(other)
        ))),
    }
}

/// Datasets a chat may link: owned by the tenant, with parsed chunks, one embedding model.
pub(super) async fn check_datasets(
    state: &AppState,
    tenant_id: &str,
    ids: &[String],
) -> Result<(), ApiError> {
    let mut models: Vec<String> = Vec::new();
    for id in ids {
        let Some(d) = state.meta.get_dataset(tenant_id, id).await? else {
            return Err(ApiError::data(format!("You don't own the dataset {id}")));
        };
        let stats = state.docs.dataset_stats(tenant_id, id).await?;
        if stats.chunk_count == 0 {
            return Err(ApiError::data(format!(
                "The dataset {id} doesn't own parsed file"
            )));
        }
        let model = split_model_id(&d.embedding_model).0.to_string();
        if !models.contains(&model) {
            models.push(model);
        }
    }
    if models.len() > 1 {
        return Err(ApiError::new(
            RetCode::AuthenticationError,
            "Datasets use different embedding models.\"",
        ));
    }
    Ok(())
}

/// Whether a tenant may use `model_id` as a chat model (upstream's tenant-LLM lookup).
pub(super) fn chat_model_exists(tenant: &Tenant, model_id: &str) -> bool {
    verify_model(tenant, model_id, ModelType::Chat).is_ok()
}

pub(super) fn rerank_exists(tenant: &Tenant, name: &str) -> bool {
    if BUILTIN_RERANK_NAMES.contains(&name) {
        return true;
    }
    tenant.providers.iter().any(|p| {
        p.models.iter().any(|m| {
            m.model_type == ModelType::Rerank
                && (m.name == name || format!("{}@{}", m.name, p.factory) == name)
        })
    })
}

/// The `llm` object of a request: `(model id if given and not null, remaining settings)`.
/// `Ok(None)` when `llm` is absent or empty (upstream ignores a falsy `llm`).
#[allow(clippy::type_complexity)]
pub(super) fn take_llm(
    req: &Map<String, Value>,
    tenant: &Tenant,
) -> Result<Option<(Option<Option<String>>, Map<String, Value>)>, ApiError> {
    let Some(v) = req.get("llm") else {
        return Ok(None);
    };
    if !truthy(v) {
        return Ok(None);
    }
    let Value::Object(llm) = v else {
        return Err(not_an_object("llm", v));
    };
    let mut llm = llm.clone();
    let mut model = None;
    if let Some(name) = llm.remove("model_name") {
        if name.is_null() {
            model = Some(None);
        } else {
            llm.remove("model_type");
            let id = py_str(&name);
            if !chat_model_exists(tenant, &id) {
                return Err(ApiError::data(format!("`model_name` {id} doesn't exist")));
            }
            model = Some(Some(id));
        }
    }
    Ok(Some((model, llm)))
}

/// The `prompt` object of a request, split; `Ok(None)` when absent or empty.
pub(super) fn take_prompt(req: &Map<String, Value>) -> Result<Option<PromptSplit>, ApiError> {
    let Some(v) = req.get("prompt") else {
        return Ok(None);
    };
    if !truthy(v) {
        return Ok(None);
    }
    let Value::Object(p) = v else {
        return Err(not_an_object("prompt", v));
    };
    Ok(Some(split_prompt(p)))
}

/// Every non-optional prompt variable must appear as `{key}` in the system prompt.
pub fn check_parameters(config: &Map<String, Value>) -> Result<(), ApiError> {
    let system = config.get("system").map(py_str).unwrap_or_default();
    let params = match config.get("parameters") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(ApiError::exception(format!(
                "TypeError(\"`variables` must be a list, not '{}'\")",
                py_type_name(other)
            )))
        }
    };
    for p in params {
        let Some(obj) = p.as_object() else {
            return Err(ApiError::exception(format!(
                "TypeError(\"each variable must be an object, not '{}'\")",
                py_type_name(p)
            )));
        };
        if obj.get("optional").is_some_and(truthy) {
            continue;
        }
        let key = obj.get("key").map(py_str).unwrap_or_default();
        if !system.contains(&format!("{{{key}}}")) {
            return Err(ApiError::data(format!("Parameter '{key}' is not used")));
        }
    }
    Ok(())
}

/// Fill upstream's prompt defaults: a key that is absent gets its default; `system` also
/// when it is empty.
pub fn fill_prompt_defaults(config: &mut Map<String, Value>) {
    for key in DEFAULTED_PROMPT_KEYS {
        let missing = match config.get(*key) {
            None => true,
            Some(v) => *key == "system" && !truthy(v),
        };
        if missing {
            config.insert((*key).to_string(), default_prompt_value(key));
        }
    }
}

/// Apply retrieval column values (from the prompt or top-level keys) to a chat.
pub(super) fn apply_columns(chat: &mut Chat, columns: &Map<String, Value>) -> Result<(), ApiError> {
    for (k, v) in columns {
        match k.as_str() {
            "similarity_threshold" => chat.similarity_threshold = float_of(k, v)?,
            "vector_similarity_weight" => chat.vector_similarity_weight = float_of(k, v)?,
            "top_n" => chat.top_n = int_of(k, v)?,
            "top_k" => chat.top_k = int_of(k, v)?,
            "rerank_id" => chat.rerank_id = opt_string(v).unwrap_or_default(),
            _ => {}
        }
    }
    Ok(())
}

pub(super) async fn tenant_of(state: &AppState, tenant_id: &str) -> Result<Tenant, ApiError> {
    state
        .meta
        .get_tenant(tenant_id)
        .await?
        .ok_or_else(|| ApiError::data("Tenant not found!"))
}

/// Retrieval columns given at the top level of a request (upstream saves any column key).
pub(super) fn top_level_columns(req: &Map<String, Value>) -> Map<String, Value> {
    COLUMN_KEYS
        .iter()
        .filter_map(|k| req.get(*k).map(|v| ((*k).to_string(), v.clone())))
        .collect()
}

/// The v0.27 request vocabulary of a chat (`llm_id`, `llm_setting`, `prompt_config`), read
/// beside the pinned `llm` / `prompt` objects. When one request sends both, the v0.27 value
/// is the base and the pinned object is applied over it key by key (pinned wins).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct V027Keys {
    pub model: Option<String>,
    pub setting: Option<Map<String, Value>>,
    pub config: Option<Map<String, Value>>,
}

fn object_or_absent(
    req: &Map<String, Value>,
    key: &str,
) -> Result<Option<Map<String, Value>>, ApiError> {
    match req.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m.clone())),
        Some(_) => Err(ApiError::data(format!("`{key}` should be an object."))),
    }
}

/// Read (and check) the v0.27 keys, with v0.27's messages.
pub fn take_v027(req: &Map<String, Value>, tenant: &Tenant) -> Result<V027Keys, ApiError> {
    let model = match req.get("llm_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => {
            if !chat_model_exists(tenant, s) {
                return Err(ApiError::data(format!("`llm_id` {s} doesn't exist")));
            }
            Some(s.clone())
        }
        Some(_) => return Err(ApiError::data("`llm_id` must be a string")),
    };
    Ok(V027Keys {
        model,
        setting: object_or_absent(req, "llm_setting")?,
        config: object_or_absent(req, "prompt_config")?,
    })
}
