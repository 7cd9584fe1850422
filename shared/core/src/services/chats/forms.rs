//! A chat as the API shows it: the create/update form and the list form (with raw
//! knowledgebase rows), and the `prompt` object split into stored columns and config.

use super::*;

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

pub(super) fn llm_to_api(chat: &Chat) -> Value {
    let mut llm = chat.llm_setting.clone();
    llm.insert("model_name".into(), json!(chat.llm_id));
    Value::Object(llm)
}

pub(super) fn common_fields(chat: &Chat) -> Map<String, Value> {
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
    v027_fields(&mut m, chat);
    m
}

/// The v0.27 chat fields (what ragflow-sdk 0.26's `Chat` reads), under their own names
/// beside the pinned ones: replies carry both vocabularies. `vector_similarity_weight` is
/// the stored value (v0.27 dropped the inversion the pinned `keywords_similarity_weight`
/// shows).
pub fn v027_fields(m: &mut Map<String, Value>, chat: &Chat) {
    m.insert("icon".into(), json!(chat.icon));
    m.insert("llm_id".into(), json!(chat.llm_id));
    m.insert(
        "llm_setting".into(),
        Value::Object(chat.llm_setting.clone()),
    );
    m.insert(
        "prompt_config".into(),
        Value::Object(chat.prompt_config.clone()),
    );
    m.insert(
        "similarity_threshold".into(),
        json!(chat.similarity_threshold),
    );
    m.insert(
        "vector_similarity_weight".into(),
        json!(chat.vector_similarity_weight),
    );
    m.insert("top_n".into(), json!(chat.top_n));
    m.insert("top_k".into(), json!(chat.top_k));
    m.insert("rerank_id".into(), json!(chat.rerank_id));
}

pub(super) fn times(m: &mut Map<String, Value>, chat: &Chat) {
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
    // v0.27's `dataset_ids`: the linked datasets that still exist.
    let live: Vec<Value> = rows.iter().filter_map(|r| r.get("id").cloned()).collect();
    m.insert("dataset_ids".into(), Value::Array(live));
    m.insert("datasets".into(), Value::Array(rows));
    times(&mut m, chat);
    Ok(Value::Object(m))
}
