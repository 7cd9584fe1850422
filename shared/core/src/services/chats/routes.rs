//! CH1–CH4: create, update, soft delete and list.

use super::*;

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
    let v027 = take_v027(req, &tenant)?;

    let now = now_ms();
    let mut chat = Chat {
        id: new_id(),
        tenant_id: tenant_id.to_string(),
        name: String::new(),
        description: match req.get("description") {
            None => Some(DEFAULT_DESCRIPTION.to_string()),
            Some(v) => opt_string(v),
        },
        // `avatar` (pinned) or `icon` (v0.27); `avatar` wins when both are sent.
        icon: match req.get("avatar").or_else(|| req.get("icon")) {
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
    // Both vocabularies: the v0.27 values first, the pinned `llm` / `prompt` over them.
    let mut model: Option<String> = v027.model.clone();
    if let Some(setting) = &v027.setting {
        chat.llm_setting = setting.clone();
    }
    if let Some((m, setting)) = llm {
        if let Some(m) = m {
            model = m;
        }
        match &v027.setting {
            Some(_) => chat.llm_setting.extend(setting),
            None => chat.llm_setting = setting,
        }
    }
    apply_columns(&mut chat, &top_level_columns(req))?;
    let mut config = v027.config.clone().unwrap_or_default();
    if let Some(split) = &prompt {
        apply_columns(&mut chat, &split.columns)?;
        config.extend(split.config.clone());
    }
    chat.prompt_config = config;
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
pub(super) const UPDATABLE: &[&str] = &[
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

/// How an update behaves: the pinned PUT (CH2) or v0.27's PATCH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateMode {
    /// Omitting `dataset_ids` unlinks every dataset (upstream quirk); unknown keys fail.
    Put,
    /// Datasets change only when `dataset_ids` is sent; unknown keys are dropped; a chat
    /// the caller cannot see is 109 `no authorization`.
    Patch,
}

/// CH2: update a chat. Omitting `dataset_ids` unlinks every dataset (upstream quirk).
pub async fn update(
    state: &AppState,
    tenant_id: &str,
    chat_id: &str,
    req: &Map<String, Value>,
) -> Result<(), ApiError> {
    update_chat(state, tenant_id, chat_id, req, UpdateMode::Put)
        .await
        .map(|_| ())
}

/// Update a chat (PUT or PATCH); returns the stored chat. `prompt_config` / `llm_setting`
/// and the pinned `prompt` / `llm` are merged into the stored ones (v0.27 first, pinned
/// over it).
pub async fn update_chat(
    state: &AppState,
    tenant_id: &str,
    chat_id: &str,
    req: &Map<String, Value>,
    mode: UpdateMode,
) -> Result<Chat, ApiError> {
    let Some(mut chat) = state.chats.get_chat(tenant_id, chat_id).await? else {
        return Err(match mode {
            UpdateMode::Put => ApiError::data("You do not own the chat"),
            UpdateMode::Patch => no_authorization(),
        });
    };
    let ids = match (mode, req.get("dataset_ids")) {
        (UpdateMode::Patch, None) => chat.kb_ids.clone(),
        (_, v) => dataset_id_list(v)?,
    };
    check_datasets(state, tenant_id, &ids).await?;
    let tenant = tenant_of(state, tenant_id).await?;
    let llm = take_llm(req, &tenant)?;
    let prompt = take_prompt(req)?;
    let v027 = take_v027(req, &tenant)?;

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
    let config_patches = [
        v027.config.clone(),
        prompt.as_ref().map(|p| p.config.clone()),
    ];
    if config_patches.iter().any(Option::is_some) {
        for patch in config_patches.into_iter().flatten() {
            chat.prompt_config.extend(patch);
        }
        check_parameters(&chat.prompt_config)?;
    }
    let setting_patches = [v027.setting.clone(), llm.as_ref().map(|(_, s)| s.clone())];
    for patch in setting_patches.into_iter().flatten() {
        chat.llm_setting.extend(patch);
    }
    if let Some((Some(model), _)) = &llm {
        chat.llm_id = model.clone().unwrap_or_else(|| tenant.llm_id.clone());
    } else if let Some(id) = &v027.model {
        chat.llm_id = id.clone();
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
    for key in req.keys().filter(|_| mode == UpdateMode::Put) {
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
        Ok(()) => Ok(chat),
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
    batch_result_with_misses(success, errors, dup_errors)
}

// ---------------------------------------------------------------------------------------
// CH4 list
// ---------------------------------------------------------------------------------------

pub(super) fn py_int_param(v: &str) -> Result<i64, ApiError> {
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
