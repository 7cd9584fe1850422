//! S6: POST /sessions/ask, a question over datasets with the tenant's default chat model.

use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::{error_body, plan_turn, FrameStyle, TurnOptions, TurnRun};
use crate::contract::envelope::ApiError;
use crate::contract::pyfmt::{py_str, truthy};
use crate::contract::time::now_ms;
use crate::ports::chat::{Chat, ChatMessage, FrameStream, STATUS_VALID};
use crate::services::answer::sse::{spawn_frames, sse_frame};
use crate::services::answer::TokenCounter;
use crate::services::chats::fill_prompt_defaults;
use crate::state::AppState;

// ---------------------------------------------------------------------------------------

/// S6: answer a question over datasets with the tenant's default chat model (always SSE).
pub async fn ask(
    state: &AppState,
    tenant_id: &str,
    req: &Map<String, Value>,
    count_tokens: TokenCounter,
) -> Result<FrameStream, ApiError> {
    let Some(question) = req.get("question").filter(|v| truthy(v)).map(py_str) else {
        return Err(ApiError::data("`question` is required."));
    };
    // Upstream tests truth first: `[]`, `""`, `0`, `{}` and `false` are all "required".
    let ids = match req.get("dataset_ids") {
        Some(v) if !truthy(v) => return Err(ApiError::data("`dataset_ids` is required.")),
        None => return Err(ApiError::data("`dataset_ids` is required.")),
        Some(Value::Array(a)) => a.iter().map(py_str).collect::<Vec<_>>(),
        Some(_) => return Err(ApiError::data("`dataset_ids` should be a list.")),
    };
    for id in &ids {
        if state.meta.get_dataset(tenant_id, id).await?.is_none() {
            return Err(ApiError::data(format!("You don't own the dataset {id}.")));
        }
        if state.docs.dataset_stats(tenant_id, id).await?.chunk_count == 0 {
            return Err(ApiError::data(format!(
                "The dataset {id} doesn't own parsed file"
            )));
        }
    }
    let tenant = state
        .meta
        .get_tenant(tenant_id)
        .await?
        .ok_or_else(|| ApiError::data("Tenant not found!"))?;
    let now = now_ms();
    let mut prompt_config = Map::new();
    fill_prompt_defaults(&mut prompt_config);
    prompt_config.insert("empty_response".into(), Value::Null);
    let chat = Chat {
        id: String::new(),
        tenant_id: tenant_id.to_string(),
        name: String::new(),
        description: None,
        icon: None,
        language: "English".into(),
        llm_id: tenant.llm_id.clone(),
        llm_setting: crate::services::chats::default_llm_setting(),
        prompt_type: "simple".into(),
        prompt_config,
        meta_data_filter: json!({}),
        similarity_threshold: 0.1,
        vector_similarity_weight: 0.3,
        top_n: 12,
        top_k: 1024,
        do_refer: "1".into(),
        rerank_id: String::new(),
        kb_ids: ids,
        status: STATUS_VALID.into(),
        create_time: now,
        update_time: now,
    };
    Ok(ask_frames(
        state,
        tenant_id,
        &chat,
        question,
        &TurnOptions::default(),
        count_tokens,
    )
    .await)
}

/// The frames of a dataset-only question (S6's "ask" variant of 8.1) answered by `chat`, a
/// transient chat that carries the retrieval settings: `/sessions/ask` builds it from the
/// request, a search app's completion from its `search_config` (its `doc_ids` in `topts`). Planning failures become
/// the error frame plus the terminator, as upstream streams them.
pub async fn ask_frames(
    state: &AppState,
    tenant_id: &str,
    chat: &Chat,
    question: String,
    topts: &TurnOptions,
    count_tokens: TokenCounter,
) -> FrameStream {
    let history = vec![ChatMessage::user(question.clone())];
    let plan = plan_turn(state, tenant_id, chat, history, topts).await;
    let plan = match plan {
        Ok(p) => p,
        Err(msg) => {
            let frames: Vec<Result<Bytes, std::convert::Infallible>> = vec![
                Ok(sse_frame(&error_body(&msg))),
                Ok(sse_frame(&json!({"code": 0, "message": "", "data": true}))),
            ];
            return Box::pin(futures_util::stream::iter(frames));
        }
    };
    let run = TurnRun {
        state: state.clone(),
        tenant_id: tenant_id.to_string(),
        session: None,
        message_id: None,
        question,
        plan,
        count_tokens,
        style: FrameStyle::Ask,
    };
    spawn_frames(move |sink| run.stream_into(sink))
}
