//! Chat assistants (contract CH1–CH4): create, update, soft delete and list, with
//! upstream's field mapping, defaults, validation order and messages.
//!
//! The API's `prompt` object is stored split in two, as upstream stores it: retrieval
//! settings become columns (`similarity_threshold`, `vector_similarity_weight`, `top_n`,
//! `top_k`, `rerank_id`) and the rest is the prompt config under upstream's own key names
//! (`system`, `prologue`, `parameters`, `quote`, ...). `keywords_similarity_weight` is stored
//! as the vector weight *without* inversion and reported back as `1 − stored`: an upstream
//! quirk clients observe (a default SDK chat reads back 0.3), kept on purpose.

mod checks;
mod forms;
mod routes;
#[cfg(test)]
mod tests;
mod v027;

use checks::*;
pub use checks::{check_parameters, fill_prompt_defaults};
pub use checks::{take_v027, V027Keys};
pub use forms::v027_fields;
pub use forms::{
    dataset_row, prompt_to_api, split_prompt, to_create_form, to_list_form, PromptSplit,
};
pub use routes::{create, delete, id_items, list, list_params, update, update_chat, UpdateMode};
pub use v027::{
    delete_all_chats, delete_all_flag, delete_one, get_one, list_v027, patch, v027_batch_reply,
    V027Deleted,
};

/// v0.27's reply for a chat (or session) the caller cannot see.
pub fn no_authorization() -> ApiError {
    ApiError::new(RetCode::AuthenticationError, "no authorization").with_data(json!(false))
}

use serde_json::{json, Map, Value};

use crate::contract::batch::{batch_result_with_misses, dedupe_ids, BatchOutcome};
use crate::contract::envelope::{ApiError, RetCode};
use crate::contract::error::StoreError;
use crate::contract::http::first;
use crate::contract::ids::new_id;
use crate::contract::pyfmt::{py_str, py_str_repr, py_type_name, truthy};
use crate::contract::time::{now_ms, rfc1123};
use crate::domain::models::{split_model_id, verify_model};
use crate::domain::{Dataset, ModelType, Tenant};
use crate::ports::chat::{Chat, ChatListQuery, ListOrder, STATUS_VALID};
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
