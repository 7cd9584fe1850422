//! POST /searches/{id}/completion(s): answer a question with a search app's saved
//! configuration, streamed as `/sessions/ask` streams (contract 8.1's "ask" frames).
//!
//! Nothing here retrieves, prompts or streams: the app's `search_config` becomes a
//! transient chat and `services::completion::ask_frames` answers it, the path every chat
//! completion takes.

use serde_json::{json, Map, Value};

use super::{no_authorization, require_keys, STATUS_VALID};
use crate::contract::envelope::ApiError;
use crate::contract::pyfmt::{py_str, truthy};
use crate::contract::time::now_ms;
use crate::ports::chat::{Chat, FrameStream, STATUS_VALID as CHAT_LIVE};
use crate::services::answer::TokenCounter;
use crate::services::chats::fill_prompt_defaults;
use crate::services::completion::{ask_frames, TurnOptions};
use crate::state::AppState;

/// Chunks handed to the model (upstream's `async_ask` asks retrieval for a page of 12).
const ANSWER_CHUNKS: i64 = 12;

fn ids(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().filter(|x| truthy(x)).map(py_str).collect(),
        _ => Vec::new(),
    }
}

fn number(config: &Map<String, Value>, key: &str, default: f64) -> f64 {
    config.get(key).and_then(Value::as_f64).unwrap_or(default)
}

/// The transient chat a search app answers with: its datasets, thresholds and rerank model,
/// `chat_id` as the model (empty: the tenant's default), upstream's ask settings otherwise
/// (default prompt, quoting on, no empty-response short cut, temperature 0.1 unless the
/// app's `llm_setting` says otherwise).
pub fn answering_chat(
    tenant_id: &str,
    default_llm: &str,
    config: &Map<String, Value>,
    kb_ids: Vec<String>,
) -> Chat {
    let mut prompt_config = Map::new();
    fill_prompt_defaults(&mut prompt_config);
    prompt_config.insert("empty_response".into(), Value::Null);
    // The app's `use_kg` reaches retrieval the way a chat's does.
    if let Some(kg) = config.get("use_kg") {
        prompt_config.insert("use_kg".into(), kg.clone());
    }
    let mut llm_setting = Map::new();
    llm_setting.insert("temperature".into(), json!(0.1));
    if let Some(Value::Object(given)) = config.get("llm_setting") {
        llm_setting.extend(given.clone());
    }
    let llm_id = match config.get("chat_id") {
        Some(v) if truthy(v) => py_str(v),
        _ => default_llm.to_string(),
    };
    let now = now_ms();
    Chat {
        id: String::new(),
        tenant_id: tenant_id.to_string(),
        name: String::new(),
        description: None,
        icon: None,
        language: "English".into(),
        llm_id,
        llm_setting,
        prompt_type: "simple".into(),
        prompt_config,
        // Applied as a chat's is (`metadata_filter::from_saved_filter`).
        meta_data_filter: config
            .get("meta_data_filter")
            .cloned()
            .unwrap_or_else(|| json!({})),
        // `async_ask`'s fallbacks when the config lacks a key.
        similarity_threshold: number(config, "similarity_threshold", 0.1),
        vector_similarity_weight: number(config, "vector_similarity_weight", 0.3),
        top_n: ANSWER_CHUNKS,
        top_k: config
            .get("top_k")
            .and_then(Value::as_i64)
            .filter(|k| *k > 0)
            .unwrap_or(1024),
        do_refer: "1".into(),
        rerank_id: config
            .get("rerank_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        kb_ids,
        status: CHAT_LIVE.into(),
        create_time: now,
        update_time: now,
    }
}

/// Checks, then the frames. Errors before streaming are envelopes (upstream's order:
/// question present, the app is the caller's, the app exists, datasets given and owned).
pub async fn completion(
    state: &AppState,
    tenant_id: &str,
    search_id: &str,
    req: &Map<String, Value>,
    count_tokens: TokenCounter,
) -> Result<FrameStream, ApiError> {
    require_keys(req, &["question"])?;
    let app = match state.searches.get_search(tenant_id, search_id).await? {
        Some(app) => app,
        None => return Err(no_authorization()),
    };
    if app.status != STATUS_VALID {
        return Err(ApiError::data(format!("Cannot find search {search_id}")));
    }
    let config = &app.search_config;
    let mut kb_ids = ids(config.get("kb_ids"));
    if kb_ids.is_empty() {
        kb_ids = ids(req.get("kb_ids"));
    }
    if kb_ids.is_empty() {
        return Err(ApiError::data("`kb_ids` is required."));
    }
    for id in &kb_ids {
        if state.meta.get_dataset(tenant_id, id).await?.is_none() {
            return Err(ApiError::data(format!("You don't own the dataset {id}")));
        }
    }
    let tenant = state
        .meta
        .get_tenant(tenant_id)
        .await?
        .ok_or_else(|| ApiError::data("Tenant not found!"))?;
    let chat = answering_chat(tenant_id, &tenant.llm_id, config, kb_ids);
    let options = TurnOptions {
        doc_ids: Some(ids(config.get("doc_ids"))).filter(|d| !d.is_empty()),
        ..TurnOptions::default()
    };
    let question = py_str(&req["question"]);
    Ok(ask_frames(state, tenant_id, &chat, question, &options, count_tokens).await)
}
