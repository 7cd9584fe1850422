//! The queued extraction of a raw message (a `MemoryTask`), run by the same workers as
//! parsing: ask the memory's chat model for semantic / episodic / procedural memories,
//! embed them and store them beside the raw message. Progress is written to the raw
//! message's `task`, which M6 shows.
//!
//! A repeat is harmless: a task whose message already finished (or went) is stale, and a
//! run replaces whatever an interrupted earlier run of the same message stored.

use futures_util::StreamExt;
use serde_json::Value;

use super::extract_types;
use super::messages::{make_room, message_size, now_text};
use super::prompts;
use crate::contract::time::now_ms;
use crate::domain::models::{split_model_id, BUILTIN_FACTORY};
use crate::domain::MemoryTask;
use crate::ports::chat::{ChatMessage, GenOptions};
use crate::ports::memory::{Memory, MemoryMessage, MessagePatch, MessageTask};
use crate::ports::ModelError;
use crate::state::AppState;
use crate::StoreError;

/// How an extraction task ended, and so what the queue should do with it.
#[derive(Debug, Clone, PartialEq)]
pub enum ExtractOutcome {
    /// Stored this many extracted messages.
    Done(usize),
    /// The memory or message is gone, or the task already ended: nothing to do.
    Stale,
    /// A permanent failure, recorded in the message's task.
    Failed(String),
    /// A transient failure (storage, provider): try again later.
    Retry(String),
}

struct Run<'a> {
    state: &'a AppState,
    task: &'a MemoryTask,
    log: String,
}

impl Run<'_> {
    async fn note(&mut self, progress: f64, msg: &str) -> Result<(), StoreError> {
        self.log.push_str(&format!("\n{} {msg}", now_text()));
        let patch = MessagePatch {
            task: Some(MessageTask {
                id: self.task.task_id.clone(),
                progress,
                progress_msg: self.log.clone(),
            }),
            ..Default::default()
        };
        self.state
            .memories
            .patch_message(
                &self.task.tenant_id,
                &self.task.memory_id,
                self.task.message_id,
                &patch,
            )
            .await
            .map(|_| ())
    }

    async fn fail(&mut self, msg: String) -> ExtractOutcome {
        match self.note(-1.0, &msg).await {
            Ok(()) => ExtractOutcome::Failed(msg),
            Err(e) => ExtractOutcome::Retry(e.to_string()),
        }
    }
}

macro_rules! retry_on_err {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return ExtractOutcome::Retry(e.to_string()),
        }
    };
}

/// `2026-01-31T09:30:00Z` (or any ISO 8601 prefix) as `2026-01-31 09:30:00`; `None` when
/// it does not look like a date.
pub fn plain_time(iso: &str) -> Option<String> {
    let s = iso.trim().replace('T', " ");
    let s = s.trim_end_matches('Z');
    let head: String = s.chars().take(19).collect();
    let ok = head.len() >= 10
        && head.as_bytes()[4] == b'-'
        && head.as_bytes()[7] == b'-'
        && head[..4].chars().all(|c| c.is_ascii_digit());
    if !ok {
        return None;
    }
    Some(if head.len() == 10 {
        format!("{head} 00:00:00")
    } else {
        head
    })
}

/// One extracted memory from the model's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    pub message_type: String,
    pub content: String,
    pub valid_at: String,
    pub invalid_at: Option<String>,
}

/// The JSON object of a model's answer (code fences and chatter around it tolerated),
/// reduced to the memory's kinds; `None` when there is no such object.
pub fn parse_answer(
    answer: &str,
    kinds: &[&str],
    conversation_time: &str,
) -> Option<Vec<Extracted>> {
    let start = answer.find('{')?;
    let end = answer.rfind('}')?;
    let obj: Value = serde_json::from_str(answer.get(start..=end)?).ok()?;
    let obj = obj.as_object()?;
    let mut out = Vec::new();
    for kind in kinds {
        let Some(Value::Array(items)) = obj.get(*kind) else {
            continue;
        };
        for item in items {
            let (content, valid, invalid) = match item {
                Value::String(s) => (s.clone(), None, None),
                Value::Object(o) => (
                    o.get("content")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    o.get("valid_at")
                        .and_then(Value::as_str)
                        .and_then(plain_time),
                    o.get("invalid_at")
                        .and_then(Value::as_str)
                        .and_then(plain_time),
                ),
                _ => continue,
            };
            if content.trim().is_empty() {
                continue;
            }
            out.push(Extracted {
                message_type: kind.to_string(),
                content: content.trim().to_string(),
                valid_at: valid.unwrap_or_else(|| conversation_time.to_string()),
                invalid_at: invalid,
            });
        }
    }
    Some(out)
}

/// Why a memory's chat model cannot extract, if it cannot.
pub fn cannot_extract(llm_id: &str) -> Option<String> {
    (split_model_id(llm_id).1 == Some(BUILTIN_FACTORY)).then(|| {
        format!(
            "Cannot extract memories: the memory's chat model '{llm_id}' is lambdarag's \
             built-in extractive answerer, which only quotes retrieved text and cannot \
             extract. Set the memory's llm_id to a chat model of a configured provider; \
             the raw message is stored and searchable."
        )
    })
}

/// Process one extraction task. Never panics; the outcome says whether to ack it.
pub async fn run(state: &AppState, task: &MemoryTask) -> ExtractOutcome {
    let memory = match state
        .memories
        .get_memory(&task.tenant_id, &task.memory_id)
        .await
    {
        Ok(Some(m)) => m,
        Ok(None) => return ExtractOutcome::Stale,
        Err(e) => return ExtractOutcome::Retry(e.to_string()),
    };
    let raw = match state
        .memories
        .get_message(&task.tenant_id, &task.memory_id, task.message_id)
        .await
    {
        Ok(Some(m)) => m,
        Ok(None) => return ExtractOutcome::Stale,
        Err(e) => return ExtractOutcome::Retry(e.to_string()),
    };
    let finished = raw
        .task
        .as_ref()
        .is_none_or(|t| t.id != task.task_id || t.progress >= 1.0 || t.progress < 0.0);
    if finished {
        return ExtractOutcome::Stale;
    }
    let mut run = Run {
        state,
        task,
        log: raw
            .task
            .as_ref()
            .map(|t| t.progress_msg.clone())
            .unwrap_or_default(),
    };
    let kinds = extract_types(memory.memory_type);
    if kinds.is_empty() {
        retry_on_err!(run.note(1.0, "Raw memory: nothing to extract.").await);
        return ExtractOutcome::Done(0);
    }
    if let Some(why) = cannot_extract(&memory.llm_id) {
        return run.fail(why).await;
    }
    let tenant = match state.meta.get_tenant(&task.tenant_id).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            return run
                .fail("The memory's tenant no longer exists.".into())
                .await
        }
        Err(e) => return ExtractOutcome::Retry(e.to_string()),
    };
    let model = match state.chat_models.chat_model(&tenant, &memory.llm_id) {
        Ok(m) => m,
        Err(e) => return run.fail(format!("Cannot extract memories: {e}")).await,
    };
    retry_on_err!(run.note(0.15, "Prepared prompts and LLM.").await);
    let answer = match ask(model.as_ref(), &memory, &raw).await {
        Ok(a) => a,
        Err(ModelError::Unavailable(m, why)) => {
            return run
                .fail(format!(
                    "Cannot extract memories: model {m} is not available: {why}"
                ))
                .await
        }
        Err(e) => return ExtractOutcome::Retry(e.to_string()),
    };
    let Some(found) = parse_answer(&answer, &kinds, &raw.valid_at) else {
        return run
            .fail("The chat model's answer was not the JSON object the prompt asks for.".into())
            .await;
    };
    retry_on_err!(
        run.note(0.35, "Got the extraction result from the LLM.")
            .await
    );
    if found.is_empty() {
        retry_on_err!(
            run.note(1.0, "No memory extracted from the raw message.")
                .await
        );
        return ExtractOutcome::Done(0);
    }
    retry_on_err!(
        run.note(
            0.5,
            &format!("Extracted {} messages from the raw dialogue.", found.len())
        )
        .await
    );
    match store(state, &tenant, &memory, &raw, &found).await {
        Ok(()) => {}
        Err(StoreStep::Retry(e)) => return ExtractOutcome::Retry(e),
        Err(StoreStep::Fail(e)) => return run.fail(e).await,
    }
    retry_on_err!(
        run.note(
            1.0,
            &format!("Saved {} messages to the memory.", found.len())
        )
        .await
    );
    ExtractOutcome::Done(found.len())
}

async fn ask(
    model: &dyn crate::ports::chat::ChatModel,
    memory: &Memory,
    raw: &MemoryMessage,
) -> Result<String, ModelError> {
    let system = if memory.system_prompt.trim().is_empty() {
        prompts::system_prompt(memory.memory_type)
    } else {
        memory.system_prompt.clone()
    };
    let mut messages = vec![ChatMessage::system(system)];
    if let Some(u) = memory
        .user_prompt
        .as_deref()
        .filter(|u| !u.trim().is_empty())
    {
        messages.push(ChatMessage::user(u));
    }
    messages.push(ChatMessage::user(prompts::user_prompt(
        &raw.content,
        &raw.valid_at,
        &now_text(),
    )));
    let opts = GenOptions {
        temperature: Some(memory.temperature),
        ..Default::default()
    };
    let mut stream = model.stream(&messages, &opts).await?;
    let mut answer = String::new();
    while let Some(d) = stream.next().await {
        answer.push_str(&d?.content);
    }
    Ok(answer)
}

enum StoreStep {
    Retry(String),
    Fail(String),
}

/// Embed and store the extracted messages, replacing an earlier run's.
async fn store(
    state: &AppState,
    tenant: &crate::domain::Tenant,
    memory: &Memory,
    raw: &MemoryMessage,
    found: &[Extracted],
) -> Result<(), StoreStep> {
    let retry = |e: StoreError| StoreStep::Retry(e.to_string());
    let texts: Vec<String> = found.iter().map(|f| f.content.clone()).collect();
    let embedder = state
        .embedders
        .embedder(tenant, &memory.embd_id)
        .map_err(|e| StoreStep::Fail(e.to_string()))?;
    let vectors = embedder.embed(&texts).await.map_err(|e| match e {
        ModelError::Unavailable(..) => StoreStep::Fail(e.to_string()),
        other => StoreStep::Retry(other.to_string()),
    })?;
    if vectors.len() != texts.len() {
        return Err(StoreStep::Fail(
            "the embedding model returned too few vectors".into(),
        ));
    }
    let existing = state
        .memories
        .list_messages(&memory.tenant_id, &memory.id)
        .await
        .map_err(retry)?;
    let earlier: Vec<i64> = existing
        .iter()
        .filter(|m| m.source_id == raw.message_id && m.message_type != "raw")
        .map(|m| m.message_id)
        .collect();
    state
        .memories
        .delete_messages(&memory.tenant_id, &memory.id, &earlier)
        .await
        .map_err(retry)?;
    let sizes: Vec<i64> = found
        .iter()
        .zip(&vectors)
        .map(|(f, v)| message_size(&f.content, v.len()))
        .collect();
    make_room(state, memory, sizes.iter().sum())
        .await
        .map_err(StoreStep::Fail)?;
    let first = state
        .memories
        .reserve_message_ids(&memory.tenant_id, &memory.id, found.len() as u64)
        .await
        .map_err(retry)?;
    let msgs: Vec<MemoryMessage> = found
        .iter()
        .zip(vectors)
        .zip(sizes)
        .enumerate()
        .map(|(i, ((f, v), size))| MemoryMessage {
            tenant_id: memory.tenant_id.clone(),
            memory_id: memory.id.clone(),
            message_id: first + i as i64,
            message_type: f.message_type.clone(),
            source_id: raw.message_id,
            user_id: raw.user_id.clone(),
            agent_id: raw.agent_id.clone(),
            session_id: raw.session_id.clone(),
            content: f.content.clone(),
            content_embed: v,
            valid_at: f.valid_at.clone(),
            invalid_at: f.invalid_at.clone(),
            forget_at: None,
            status: true,
            size,
            create_time: now_ms(),
            task: None,
        })
        .collect();
    state
        .memories
        .put_messages(&memory.tenant_id, &memory.id, &msgs)
        .await
        .map_err(retry)
}

/// After the last attempt: end the task as failed with the reason.
pub async fn give_up(state: &AppState, task: &MemoryTask, reason: &str) {
    let msg = state
        .memories
        .get_message(&task.tenant_id, &task.memory_id, task.message_id)
        .await
        .ok()
        .flatten();
    let Some(msg) = msg else { return };
    let log = msg.task.map(|t| t.progress_msg).unwrap_or_default();
    let patch = MessagePatch {
        task: Some(MessageTask {
            id: task.task_id.clone(),
            progress: -1.0,
            progress_msg: format!("{log}\n{} Giving up: {reason}", now_text()),
        }),
        ..Default::default()
    };
    let _ = state
        .memories
        .patch_message(&task.tenant_id, &task.memory_id, task.message_id, &patch)
        .await;
}
