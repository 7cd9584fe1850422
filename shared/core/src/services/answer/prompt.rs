//! The prompt of a turn: the knowledge passages, the system prompt's variables, the
//! citation instructions, the history that fits, and the generation options of a chat.

use serde_json::{Map, Value};

use crate::contract::pyfmt::{py_str, truthy};
use crate::ports::chat::{Chat, ChatMessage, ContextChunk, GenOptions};

/// The retrieved chunks as the system prompt's `{knowledge}`: each passage with its ID (the
/// number `[ID:n]` cites) and document name.
pub fn format_knowledge(chunks: &[ContextChunk]) -> String {
    chunks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                "[ID:{i}] (from \"{}\")\n{}",
                c.document_name,
                c.content.trim()
            )
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Appended to the system prompt when answers should cite (lambdarag's own wording).
pub const CITATION_INSTRUCTIONS: &str = "\n\nCite your sources: right after a sentence that \
uses a passage of the knowledge base, write the passage's marker, e.g. [ID:0] or [ID:2][ID:5]. \
Use only the markers shown in the knowledge base, never invent one, and do not cite \
passages you did not use.";

/// Fill the prompt variables of a system prompt: `{knowledge}` with the formatted chunks,
/// others with the request's values, a blank when an optional one is missing. A missing
/// required variable is an error (upstream: `Miss parameter: …`).
pub fn fill_system_prompt(
    config: &Map<String, Value>,
    knowledge: &str,
    variables: &Map<String, Value>,
) -> Result<String, String> {
    let mut system = config.get("system").map(py_str).unwrap_or_default();
    let params = config
        .get("parameters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut has_knowledge = false;
    for p in &params {
        let key = p.get("key").map(py_str).unwrap_or_default();
        let optional = p.get("optional").is_some_and(truthy);
        let marker = format!("{{{key}}}");
        if key == "knowledge" {
            has_knowledge = true;
            system = system.replace(&marker, knowledge);
            continue;
        }
        match variables.get(&key) {
            Some(v) => system = system.replace(&marker, &py_str(v)),
            None if optional => system = system.replace(&marker, " "),
            None => return Err(format!("Miss parameter: {key}")),
        }
    }
    if !has_knowledge {
        system = system.replace("{knowledge}", knowledge);
    }
    Ok(system)
}

/// Keep the newest messages that fit the budget; the last (the question) always stays.
pub fn fit_history(messages: Vec<ChatMessage>, budget_chars: usize) -> Vec<ChatMessage> {
    let mut kept = Vec::new();
    let mut used = 0usize;
    for (i, m) in messages.into_iter().rev().enumerate() {
        let len = m.content.chars().count();
        if i > 0 && used + len > budget_chars {
            break;
        }
        used += len;
        kept.push(m);
    }
    kept.reverse();
    kept
}

/// Conversation messages as the model sees them: system messages and the assistant
/// messages before the first user message dropped (upstream's rule).
pub fn conversation(messages: &[Value]) -> Vec<ChatMessage> {
    let mut out: Vec<ChatMessage> = Vec::new();
    for m in messages {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        if role == "system" {
            continue;
        }
        if role == "assistant" && out.is_empty() {
            continue;
        }
        let content = match m.get("content") {
            None | Some(Value::Null) => String::new(),
            Some(v) => py_str(v),
        };
        out.push(ChatMessage::new(role, content));
    }
    out
}

fn setting_f64(s: &Map<String, Value>, key: &str) -> Option<f64> {
    s.get(key).and_then(Value::as_f64)
}

/// Generation options from a chat's stored `llm` settings.
pub fn gen_options(chat: &Chat) -> GenOptions {
    setting_options(&chat.llm_setting)
}

/// Generation options from an `llm_setting` object (a chat's, or a search app's).
pub fn setting_options(s: &Map<String, Value>) -> GenOptions {
    GenOptions {
        temperature: setting_f64(s, "temperature"),
        top_p: setting_f64(s, "top_p"),
        max_tokens: s
            .get("max_tokens")
            .and_then(Value::as_f64)
            .filter(|n| *n >= 1.0)
            .map(|n| n as u64),
        presence_penalty: setting_f64(s, "presence_penalty"),
        frequency_penalty: setting_f64(s, "frequency_penalty"),
        ..Default::default()
    }
}
