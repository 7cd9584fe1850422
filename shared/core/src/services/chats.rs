//! Chat assistants (contract CH1–CH4): create, update, soft delete and list, with
//! upstream's field mapping, defaults, validation order and messages.
//!
//! The API's `prompt` object is stored split in two, as upstream stores it: retrieval
//! settings become columns (`similarity_threshold`, `vector_similarity_weight`, `top_n`,
//! `top_k`, `rerank_id`) and the rest is the prompt config under upstream's own key names
//! (`system`, `prologue`, `parameters`, `quote`, ...). `keywords_similarity_weight` is stored
//! as the vector weight *without* inversion and reported back as `1 − stored`: an upstream
//! quirk clients observe (a default SDK chat reads back 0.3), kept on purpose.

use serde_json::{json, Map, Value};

use crate::contract::envelope::{ApiError, RetCode};
use crate::contract::error::StoreError;
use crate::contract::http::first;
use crate::contract::ids::new_id;
use crate::contract::pyfmt::{py_str, py_str_repr, py_type_name, truthy};
use crate::contract::time::{now_ms, rfc1123};
use crate::domain::models::{split_model_id, verify_model};
use crate::domain::{Dataset, ModelType, Tenant};
use crate::ports::chat::{Chat, ChatListQuery, ListOrder, STATUS_VALID};
use crate::contract::batch::{batch_result, dedupe_ids, BatchOutcome};
use crate::state::AppState;

/// API prompt key → stored key (upstream's `key_mapping`, read right to left).
const PROMPT_KEYS: &[(&str, &str)] = &[
    ("variables", "parameters"),
    ("opener", "prologue"),
    ("show_quote", "quote"),
    ("prompt", "system"),
    ("rerank_model", "rerank_id"),
    ("keywords_similarity_weight", "vector_similarity_weight"),
];

/// Stored prompt keys that are chat columns rather than prompt config.
const COLUMN_KEYS: &[&str] = &[
    "similarity_threshold",
    "vector_similarity_weight",
    "top_n",
    "rerank_id",
    "top_k",
];

/// Rerank models upstream accepts without a tenant model of that name.
pub const BUILTIN_RERANK_NAMES: &[&str] = &[
    "BAAI/bge-reranker-v2-m3",
    "maidalun1020/bce-reranker-base_v1",
];

pub const DEFAULT_DESCRIPTION: &str = "A helpful Assistant";
pub const DEFAULT_PROLOGUE: &str = "Hi! I'm your assistant. What can I do for you?";
pub const DEFAULT_EMPTY_RESPONSE: &str =
    "Sorry! No relevant content was found in the knowledge base!";
/// lambdarag's default system prompt (its own wording); `{knowledge}` is where the retrieved
/// chunks go.
pub const DEFAULT_SYSTEM_PROMPT: &str = "You are a knowledgeable assistant. Answer the user's \
question from the knowledge base below, in detail, taking the chat history into account. If \
nothing in the knowledge base is relevant, say plainly that the knowledge base does not \
contain the answer.\n\nKnowledge base:\n{knowledge}\n\nEnd of knowledge base.";

/// The generation settings a chat gets when `llm` is not given.
pub fn default_llm_setting() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("temperature".into(), json!(0.1));
    m.insert("top_p".into(), json!(0.3));
    m.insert("frequency_penalty".into(), json!(0.7));
    m.insert("presence_penalty".into(), json!(0.4));
    m.insert("max_tokens".into(), json!(512));
    m
}

fn default_prompt_value(key: &str) -> Value {
    match key {
        "system" => json!(DEFAULT_SYSTEM_PROMPT),
        "prologue" => json!(DEFAULT_PROLOGUE),
        "parameters" => json!([{"key": "knowledge", "optional": false}]),
        "empty_response" => json!(DEFAULT_EMPTY_RESPONSE),
        "quote" => json!(true),
        "tts" => json!(false),
        "refine_multiturn" => json!(true),
        _ => Value::Null,
    }
}

const DEFAULTED_PROMPT_KEYS: &[&str] = &[
    "system",
    "prologue",
    "parameters",
    "empty_response",
    "quote",
    "tts",
    "refine_multiturn",
];

/// An API `prompt` split as upstream stores it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PromptSplit {
    /// Prompt config under stored key names (`system`, `prologue`, ...), extra keys kept.
    pub config: Map<String, Value>,
    /// Column values (`similarity_threshold`, `vector_similarity_weight`, `top_n`,
    /// `rerank_id`, `top_k`) present in the prompt.
    pub columns: Map<String, Value>,
}

/// API prompt → stored prompt config + columns. `keywords_similarity_weight` becomes
/// `vector_similarity_weight` with its value unchanged.
pub fn split_prompt(prompt: &Map<String, Value>) -> PromptSplit {
    let mut renamed = prompt.clone();
    for (api, stored) in PROMPT_KEYS {
        if let Some(v) = renamed.remove(*api) {
            renamed.insert((*stored).to_string(), v);
        }
    }
    let mut columns = Map::new();
    for key in COLUMN_KEYS {
        if let Some(v) = renamed.remove(*key) {
            columns.insert((*key).to_string(), v);
        }
    }
    PromptSplit {
        config: renamed,
        columns,
    }
}

/// Stored chat → the API's `prompt` object: config keys renamed back, plus the retrieval
/// columns, with `keywords_similarity_weight = 1 − vector_similarity_weight`.
pub fn prompt_to_api(chat: &Chat) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in &chat.prompt_config {
        let api = PROMPT_KEYS
            .iter()
            .find(|(_, stored)| stored == k)
            .map_or(k.as_str(), |(api, _)| api);
        out.insert(api.to_string(), v.clone());
    }
    out.insert(
        "similarity_threshold".into(),
        json!(chat.similarity_threshold),
    );
    out.insert(
        "keywords_similarity_weight".into(),
        json!(1.0 - chat.vector_similarity_weight),
    );
    out.insert("top_n".into(), json!(chat.top_n));
    out.insert("rerank_model".into(), json!(chat.rerank_id));
    out
}

fn llm_to_api(chat: &Chat) -> Value {
    let mut llm = chat.llm_setting.clone();
    llm.insert("model_name".into(), json!(chat.llm_id));
    Value::Object(llm)
}

fn common_fields(chat: &Chat) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(chat.id));
    m.insert("tenant_id".into(), json!(chat.tenant_id));
    m.insert("name".into(), json!(chat.name));
    m.insert("description".into(), json!(chat.description));
    m.insert("avatar".into(), json!(chat.icon));
    m.insert("language".into(), json!(chat.language));
    m.insert("llm".into(), llm_to_api(chat));
    m.insert("prompt_type".into(), json!(chat.prompt_type));
    m.insert("prompt".into(), Value::Object(prompt_to_api(chat)));
    m.insert("meta_data_filter".into(), chat.meta_data_filter.clone());
    m.insert("do_refer".into(), json!(chat.do_refer));
    m.insert("status".into(), json!(chat.status));
    m
}

fn times(m: &mut Map<String, Value>, chat: &Chat) {
    m.insert("create_time".into(), json!(chat.create_time));
    m.insert("create_date".into(), json!(rfc1123(chat.create_time)));
    m.insert("update_time".into(), json!(chat.update_time));
    m.insert("update_date".into(), json!(rfc1123(chat.update_time)));
}

/// The chat object as create returns it: `dataset_ids` echoes the request, no `top_k`.
pub fn to_create_form(chat: &Chat, dataset_ids_echo: Value) -> Value {
    let mut m = common_fields(chat);
    m.insert("dataset_ids".into(), dataset_ids_echo);
    times(&mut m, chat);
    Value::Object(m)
}

/// A dataset as a raw upstream knowledgebase row (the chat list shows these): upstream's
/// column names (`embd_id`, `doc_num`, `chunk_num`, `parser_id`) with the aggregates filled.
pub async fn dataset_row(state: &AppState, d: &Dataset) -> Result<Value, ApiError> {
    let stats = state.docs.dataset_stats(&d.tenant_id, &d.id).await?;
    let mut d = d.clone();
    d.document_count = stats.document_count;
    d.chunk_count = stats.chunk_count;
    d.token_num = stats.token_num;
    let api = d.to_api();
    let Value::Object(fields) = api else {
        return Ok(api);
    };
    let renamed = fields
        .into_iter()
        .map(|(k, v)| {
            let k = match k.as_str() {
                "embedding_model" => "embd_id".to_string(),
                "document_count" => "doc_num".to_string(),
                "chunk_count" => "chunk_num".to_string(),
                "chunk_method" => "parser_id".to_string(),
                _ => k,
            };
            (k, v)
        })
        .collect();
    Ok(Value::Object(renamed))
}

/// The chat object as the list shows it: `datasets` (raw rows of the linked datasets that
/// still exist) instead of `dataset_ids`, plus `top_k`.
pub async fn to_list_form(state: &AppState, chat: &Chat) -> Result<Value, ApiError> {
    let mut m = common_fields(chat);
    let mut rows = Vec::with_capacity(chat.kb_ids.len());
    for id in &chat.kb_ids {
        match state.meta.get_dataset(&chat.tenant_id, id).await? {
            Some(d) => rows.push(dataset_row(state, &d).await?),
            None => {
                tracing::warn!(chat = %chat.id, dataset = %id, "linked dataset no longer exists")
            }
        }
    }
    m.insert("datasets".into(), Value::Array(rows));
    m.insert("top_k".into(), json!(chat.top_k));
    times(&mut m, chat);
    Ok(Value::Object(m))
}

// ---------------------------------------------------------------------------------------
// Value coercions with upstream-like failures
// ---------------------------------------------------------------------------------------

fn float_of(key: &str, v: &Value) -> Result<f64, ApiError> {
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

fn int_of(key: &str, v: &Value) -> Result<i64, ApiError> {
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

fn opt_string(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        other => Some(py_str(other)),
    }
}

/// `do_refer` / `show_quotation`: booleans become upstream's `"1"` / `"0"`.
fn refer_flag(v: &Value) -> String {
    match v {
        Value::Bool(true) => "1".into(),
        Value::Bool(false) => "0".into(),
        other => py_str(other),
    }
}

fn not_an_object(key: &str, v: &Value) -> ApiError {
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
fn dataset_id_list(v: Option<&Value>) -> Result<Vec<String>, ApiError> {
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
async fn check_datasets(state: &AppState, tenant_id: &str, ids: &[String]) -> Result<(), ApiError> {
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
fn chat_model_exists(tenant: &Tenant, model_id: &str) -> bool {
    verify_model(tenant, model_id, ModelType::Chat).is_ok()
}

fn rerank_exists(tenant: &Tenant, name: &str) -> bool {
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
fn take_llm(
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
fn take_prompt(req: &Map<String, Value>) -> Result<Option<PromptSplit>, ApiError> {
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
fn apply_columns(chat: &mut Chat, columns: &Map<String, Value>) -> Result<(), ApiError> {
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

async fn tenant_of(state: &AppState, tenant_id: &str) -> Result<Tenant, ApiError> {
    state
        .meta
        .get_tenant(tenant_id)
        .await?
        .ok_or_else(|| ApiError::data("Tenant not found!"))
}

/// Retrieval columns given at the top level of a request (upstream saves any column key).
fn top_level_columns(req: &Map<String, Value>) -> Map<String, Value> {
    COLUMN_KEYS
        .iter()
        .filter_map(|k| req.get(*k).map(|v| ((*k).to_string(), v.clone())))
        .collect()
}

// ---------------------------------------------------------------------------------------
// CH1 create
// ---------------------------------------------------------------------------------------

/// CH1: create a chat; returns the create-form object.
pub async fn create(
    state: &AppState,
    tenant_id: &str,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let ids = dataset_id_list(req.get("dataset_ids"))?;
    check_datasets(state, tenant_id, &ids).await?;
    let tenant = tenant_of(state, tenant_id).await?;
    let llm = take_llm(req, &tenant)?;
    let prompt = take_prompt(req)?;

    let now = now_ms();
    let mut chat = Chat {
        id: new_id(),
        tenant_id: tenant_id.to_string(),
        name: String::new(),
        description: match req.get("description") {
            None => Some(DEFAULT_DESCRIPTION.to_string()),
            Some(v) => opt_string(v),
        },
        icon: match req.get("avatar") {
            None => Some(String::new()),
            Some(v) => opt_string(v),
        },
        language: req
            .get("language")
            .and_then(Value::as_str)
            .unwrap_or("English")
            .to_string(),
        llm_id: String::new(),
        llm_setting: default_llm_setting(),
        prompt_type: req
            .get("prompt_type")
            .and_then(Value::as_str)
            .unwrap_or("simple")
            .to_string(),
        prompt_config: Map::new(),
        meta_data_filter: req
            .get("meta_data_filter")
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or_else(|| json!({})),
        similarity_threshold: 0.2,
        vector_similarity_weight: 0.3,
        top_n: 6,
        top_k: 1024,
        do_refer: req.get("do_refer").map_or_else(|| "1".into(), refer_flag),
        rerank_id: String::new(),
        kb_ids: ids,
        status: STATUS_VALID.to_string(),
        create_time: now,
        update_time: now,
    };
    let mut model: Option<String> = None;
    if let Some((m, setting)) = llm {
        model = m.flatten();
        chat.llm_setting = setting;
    }
    apply_columns(&mut chat, &top_level_columns(req))?;
    if let Some(split) = &prompt {
        apply_columns(&mut chat, &split.columns)?;
        chat.prompt_config = split.config.clone();
    }
    if !chat.rerank_id.is_empty() && !rerank_exists(&tenant, &chat.rerank_id) {
        return Err(ApiError::data(format!(
            "`rerank_model` {} doesn't exist",
            chat.rerank_id
        )));
    }
    chat.llm_id = model
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| tenant.llm_id.clone());
    let name = req.get("name").filter(|v| truthy(v)).map(py_str);
    let Some(name) = name else {
        return Err(ApiError::data("`name` is required."));
    };
    chat.name = name;
    if state
        .chats
        .find_chat_by_name(tenant_id, &chat.name)
        .await?
        .is_some()
    {
        return Err(ApiError::data("Duplicated chat name in creating chat."));
    }
    if req.get("tenant_id").is_some_and(truthy) {
        return Err(ApiError::data("`tenant_id` must not be provided."));
    }
    fill_prompt_defaults(&mut chat.prompt_config);
    check_parameters(&chat.prompt_config)?;
    match state.chats.insert_chat(&chat).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::data("Duplicated chat name in creating chat."))
        }
        Err(e) => {
            tracing::error!(error = %e, "chat insert failed");
            return Err(ApiError::data("Fail to new a chat!"));
        }
    }
    let echo = req.get("dataset_ids").cloned().unwrap_or_else(|| json!([]));
    Ok(to_create_form(&chat, echo))
}

// ---------------------------------------------------------------------------------------
// CH2 update
// ---------------------------------------------------------------------------------------

/// Request keys an update may carry (upstream: the keys its ORM knows, after renaming).
const UPDATABLE: &[&str] = &[
    "name",
    "avatar",
    "icon",
    "description",
    "language",
    "dataset_ids",
    "kb_ids",
    "llm",
    "llm_id",
    "llm_setting",
    "prompt",
    "prompt_config",
    "show_quotation",
    "do_refer",
    "prompt_type",
    "meta_data_filter",
    "similarity_threshold",
    "vector_similarity_weight",
    "top_n",
    "top_k",
    "rerank_id",
    "status",
];

/// CH2: update a chat. Omitting `dataset_ids` unlinks every dataset (upstream quirk).
pub async fn update(
    state: &AppState,
    tenant_id: &str,
    chat_id: &str,
    req: &Map<String, Value>,
) -> Result<(), ApiError> {
    let Some(mut chat) = state.chats.get_chat(tenant_id, chat_id).await? else {
        return Err(ApiError::data("You do not own the chat"));
    };
    let ids = dataset_id_list(req.get("dataset_ids"))?;
    check_datasets(state, tenant_id, &ids).await?;
    let tenant = tenant_of(state, tenant_id).await?;
    let llm = take_llm(req, &tenant)?;
    let prompt = take_prompt(req)?;

    // The retrieval columns: top-level keys, then the ones inside `prompt`.
    let mut columns = top_level_columns(req);
    if let Some(split) = &prompt {
        columns.extend(split.columns.clone());
    }
    if let Some(r) = columns.get("rerank_id").filter(|v| truthy(v)) {
        let r = py_str(r);
        if !rerank_exists(&tenant, &r) {
            return Err(ApiError::data(format!("`rerank_model` {r} doesn't exist")));
        }
    }
    if let Some(name) = req.get("name") {
        if !truthy(name) {
            return Err(ApiError::data("`name` cannot be empty."));
        }
        let name = py_str(name);
        if Chat::name_key(&name) != Chat::name_key(&chat.name)
            && state
                .chats
                .find_chat_by_name(tenant_id, &name)
                .await?
                .is_some()
        {
            return Err(ApiError::data("Duplicated chat name in updating chat."));
        }
        chat.name = name;
    }
    // Prompt config: the request's (from `prompt`, or a raw `prompt_config`) merged into the
    // stored one key by key, then re-checked.
    let config_patch = match (&prompt, req.get("prompt_config")) {
        (Some(split), _) => Some(split.config.clone()),
        (None, Some(Value::Object(raw))) => Some(raw.clone()),
        (None, Some(other)) if truthy(other) => return Err(not_an_object("prompt_config", other)),
        _ => None,
    };
    if let Some(patch) = config_patch {
        chat.prompt_config.extend(patch);
        check_parameters(&chat.prompt_config)?;
    }
    let setting_patch = match (&llm, req.get("llm_setting")) {
        (Some((_, setting)), _) => Some(setting.clone()),
        (None, Some(Value::Object(raw))) => Some(raw.clone()),
        (None, Some(other)) if truthy(other) => return Err(not_an_object("llm_setting", other)),
        _ => None,
    };
    if let Some(patch) = setting_patch {
        chat.llm_setting.extend(patch);
    }
    if let Some((Some(model), _)) = &llm {
        chat.llm_id = model.clone().unwrap_or_else(|| tenant.llm_id.clone());
    } else if let Some(v) = req.get("llm_id").filter(|v| truthy(v)) {
        let id = py_str(v);
        if !chat_model_exists(&tenant, &id) {
            return Err(ApiError::data(format!("`model_name` {id} doesn't exist")));
        }
        chat.llm_id = id;
    }
    apply_columns(&mut chat, &columns)?;
    if let Some(v) = req.get("avatar").or_else(|| req.get("icon")) {
        chat.icon = opt_string(v);
    }
    if let Some(v) = req.get("description") {
        chat.description = opt_string(v);
    }
    if let Some(v) = req.get("language") {
        chat.language = py_str(v);
    }
    if let Some(v) = req.get("prompt_type") {
        chat.prompt_type = py_str(v);
    }
    if let Some(v) = req.get("meta_data_filter") {
        chat.meta_data_filter = v.clone();
    }
    if let Some(v) = req.get("show_quotation").or_else(|| req.get("do_refer")) {
        chat.do_refer = refer_flag(v);
    }
    if let Some(v) = req.get("status") {
        chat.status = py_str(v);
    }
    chat.kb_ids = ids;
    // Keys upstream's ORM would not know make its update fail (an unconsumed empty `llm` or
    // `prompt` included); the intended behaviour, kept: nothing is written.
    for key in req.keys() {
        let consumed = match key.as_str() {
            "llm" => llm.is_some(),
            "prompt" => prompt.is_some(),
            k => UPDATABLE.contains(&k),
        };
        if !consumed {
            return Err(ApiError::exception(format!(
                "ValueError(\"'{key}' is not a field a chat update can change\")"
            )));
        }
    }
    chat.update_time = now_ms();
    match state.chats.update_chat(&chat).await {
        Ok(()) => Ok(()),
        Err(StoreError::NotFound(_)) => Err(ApiError::data("Chat not found!")),
        Err(StoreError::Conflict(_)) => {
            Err(ApiError::data("Duplicated chat name in updating chat."))
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------
// CH3 delete
// ---------------------------------------------------------------------------------------

/// An `ids` value as upstream iterates it (a string per character, quirk kept).
pub fn id_items(v: &Value) -> Result<Vec<String>, ApiError> {
    match v {
        Value::Array(a) => Ok(a.iter().map(py_str).collect()),
        Value::String(s) => Ok(s.chars().map(|c| c.to_string()).collect()),
        other => Err(ApiError::exception(format!(
            "TypeError(\"'{}' object is not iterable\")",
            py_type_name(other)
        ))),
    }
}

/// CH3: soft-delete chats (`ids` absent, null or empty = all of the tenant's chats).
pub async fn delete(
    state: &AppState,
    tenant_id: &str,
    req: &Map<String, Value>,
) -> Result<BatchOutcome, ApiError> {
    let requested = req.get("ids").filter(|v| truthy(v));
    let list = match requested {
        None => state
            .chats
            .list_chats(tenant_id, &ChatListQuery::all())
            .await?
            .into_iter()
            .map(|c| c.id)
            .collect(),
        Some(v) => id_items(v)?,
    };
    let (ids, dup_errors) = dedupe_ids(&list, "assistant");
    let mut errors = Vec::new();
    let mut success = 0u64;
    for id in &ids {
        if state.chats.delete_chat(tenant_id, id).await? {
            success += 1;
        } else {
            errors.push(format!("Assistant({id}) not found."));
        }
    }
    if !errors.is_empty() {
        if success > 0 {
            return Ok(BatchOutcome::Partial {
                success_count: success,
                errors,
            });
        }
        return Err(ApiError::data(errors.join("; ")));
    }
    batch_result(success, dup_errors)
}

// ---------------------------------------------------------------------------------------
// CH4 list
// ---------------------------------------------------------------------------------------

fn py_int_param(v: &str) -> Result<i64, ApiError> {
    v.trim().parse::<i64>().map_err(|_| {
        ApiError::exception(format!(
            "ValueError(\"invalid literal for int() with base 10: {}\")",
            py_str_repr(v)
        ))
    })
}

/// Parse the shared list parameters of chats and sessions (5.2): `page`, `page_size`,
/// `orderby` (a column; `table` names the upstream model in the error), `desc` (false only
/// for exactly `False`/`false`).
pub fn list_params(
    pairs: &[(String, String)],
    table: &str,
) -> Result<(u64, u64, ListOrder, bool), ApiError> {
    let page = match first(pairs, "page") {
        Some(v) => py_int_param(v)?.max(1) as u64,
        None => 1,
    };
    let page_size = match first(pairs, "page_size") {
        Some(v) => py_int_param(v)?.max(0) as u64,
        None => 30,
    };
    let orderby = match first(pairs, "orderby") {
        None => ListOrder::CreateTime,
        Some(v) => ListOrder::parse(v).ok_or_else(|| {
            ApiError::exception(format!(
                "AttributeError(\"type object '{table}' has no attribute '{v}'\")"
            ))
        })?,
    };
    let desc = !matches!(first(pairs, "desc"), Some("False") | Some("false"));
    Ok((page, page_size, orderby, desc))
}

/// CH4: list chats (list form).
pub async fn list(
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
    if id.is_some() || name.is_some() {
        let probe = ChatListQuery {
            id: id.clone(),
            name: name.clone(),
            page_size: 1,
            ..Default::default()
        };
        if state.chats.list_chats(tenant_id, &probe).await?.is_empty() {
            return Err(ApiError::data("The chat doesn't exist"));
        }
    }
    let (page, page_size, orderby, desc) = list_params(pairs, "Dialog")?;
    let query = ChatListQuery {
        id,
        name,
        page,
        page_size,
        orderby,
        desc,
    };
    let chats = state.chats.list_chats(tenant_id, &query).await?;
    let mut out = Vec::with_capacity(chats.len());
    for c in &chats {
        out.push(to_list_form(state, c).await?);
    }
    Ok(Value::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn sdk_default_prompt_maps_to_columns_and_config() {
        let sdk_prompt = obj(json!({
            "similarity_threshold": 0.2,
            "keywords_similarity_weight": 0.7,
            "top_n": 8,
            "top_k": 1024,
            "variables": [{"key": "knowledge", "optional": true}],
            "rerank_model": "",
            "empty_response": null,
            "opener": "Hi! I'm your assistant. What can I do for you?",
            "show_quote": true,
            "prompt": "Use {knowledge}",
            "custom": "kept"
        }));
        let split = split_prompt(&sdk_prompt);
        assert_eq!(
            split.columns,
            obj(
                json!({"similarity_threshold": 0.2, "vector_similarity_weight": 0.7, "top_n": 8, "rerank_id": "", "top_k": 1024})
            )
        );
        assert_eq!(split.config["system"], "Use {knowledge}");
        assert_eq!(
            split.config["parameters"],
            json!([{"key": "knowledge", "optional": true}])
        );
        assert_eq!(split.config["quote"], true);
        assert_eq!(split.config["custom"], "kept");
        assert!(split.config["empty_response"].is_null());
        assert!(!split.config.contains_key("opener"));
    }

    fn chat_with(vsw: f64, config: Map<String, Value>) -> Chat {
        Chat {
            id: "c".into(),
            tenant_id: "t".into(),
            name: "n".into(),
            description: None,
            icon: None,
            language: "English".into(),
            llm_id: "m@F".into(),
            llm_setting: default_llm_setting(),
            prompt_type: "simple".into(),
            prompt_config: config,
            meta_data_filter: json!({}),
            similarity_threshold: 0.2,
            vector_similarity_weight: vsw,
            top_n: 8,
            top_k: 1024,
            do_refer: "1".into(),
            rerank_id: String::new(),
            kb_ids: vec![],
            status: "1".into(),
            create_time: 0,
            update_time: 0,
        }
    }

    #[test]
    fn weight_is_reported_inverted() {
        let c = chat_with(
            0.7,
            obj(json!({"system": "s", "prologue": "p", "quote": true})),
        );
        let p = prompt_to_api(&c);
        let w = p["keywords_similarity_weight"].as_f64().unwrap_or(-1.0);
        assert!((w - 0.3).abs() < 1e-9, "1 − stored, not the stored value");
        assert_eq!(p["prompt"], "s");
        assert_eq!(p["opener"], "p");
        assert_eq!(p["show_quote"], true);
        assert_eq!(p["top_n"], 8);
        assert_eq!(p["rerank_model"], "");
        let form = to_create_form(&c, json!(["d"]));
        assert_eq!(form["llm"]["model_name"], "m@F");
        assert_eq!(form["dataset_ids"], json!(["d"]));
        assert!(form.get("top_k").is_none(), "the create form has no top_k");
        assert_eq!(form["avatar"], Value::Null);
    }

    #[test]
    fn defaults_and_parameter_check() {
        let mut cfg = obj(json!({"system": "", "empty_response": null}));
        fill_prompt_defaults(&mut cfg);
        assert_eq!(
            cfg["system"], DEFAULT_SYSTEM_PROMPT,
            "an empty system gets the default"
        );
        assert!(
            cfg["empty_response"].is_null(),
            "a present key keeps its value"
        );
        assert_eq!(cfg["prologue"], DEFAULT_PROLOGUE);
        assert_eq!(cfg["refine_multiturn"], true);
        assert!(check_parameters(&cfg).is_ok());
        let bad = obj(
            json!({"system": "no var", "parameters": [{"key": "knowledge", "optional": false}]}),
        );
        assert_eq!(
            check_parameters(&bad).unwrap_err().message,
            "Parameter 'knowledge' is not used"
        );
        let optional = obj(
            json!({"system": "no var", "parameters": [{"key": "knowledge", "optional": true}]}),
        );
        assert!(check_parameters(&optional).is_ok());
    }

    #[test]
    fn dataset_ids_iterate_like_python() {
        assert_eq!(
            dataset_id_list(Some(&json!(["a", "", null, "b"]))).unwrap(),
            ["a", "b"]
        );
        assert_eq!(dataset_id_list(Some(&json!("ab"))).unwrap(), ["a", "b"]);
        assert!(dataset_id_list(Some(&json!(null))).unwrap().is_empty());
        assert_eq!(dataset_id_list(Some(&json!(1))).unwrap_err().code, 100);
    }

    #[test]
    fn list_parameters() {
        let p = |q: &str| crate::contract::http::query_pairs(Some(q));
        assert_eq!(
            list_params(&p(""), "Dialog").unwrap(),
            (1, 30, ListOrder::CreateTime, true)
        );
        assert_eq!(
            list_params(
                &p("page=0&page_size=2&orderby=update_time&desc=False"),
                "Dialog"
            )
            .unwrap(),
            (1, 2, ListOrder::UpdateTime, false)
        );
        assert!(list_params(&p("desc=no"), "Dialog").unwrap().3);
        assert_eq!(
            list_params(&p("page=a"), "Dialog").unwrap_err().message,
            "ValueError(\"invalid literal for int() with base 10: 'a'\")"
        );
        assert_eq!(
            list_params(&p("orderby=nope"), "Dialog")
                .unwrap_err()
                .message,
            "AttributeError(\"type object 'Dialog' has no attribute 'nope'\")"
        );
    }
}
