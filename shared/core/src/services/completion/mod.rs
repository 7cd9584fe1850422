//! Chat completions (contract S5–S7 and the machinery O1 shares): retrieval over a chat's
//! datasets, the prompt (the chat's system prompt with `{knowledge}` filled, the session's
//! history, the question), the model's answer as real token deltas, and the SSE frames of
//! section 8.1.
//!
//! A turn is planned first ([`plan_turn`]): everything that can fail before the model
//! speaks. Streaming then runs in a task that writes frames into a channel the response
//! body reads, so a client that goes away stops the model (the next send fails) and a
//! finished turn is stored in the session.

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{json, Map, Value};

use crate::contract::envelope::{ApiError, RetCode};
use crate::contract::pyfmt::py_str;
use crate::contract::pyfmt::truthy;
use crate::contract::time::now_ms;
use crate::ports::chat::{Chat, ChatMessage, FrameStream, Purpose, Session};
use crate::services::answer::prompt::{
    conversation, fill_system_prompt, fit_history, format_knowledge, gen_options,
    CITATION_INSTRUCTIONS,
};
use crate::services::answer::sse::{spawn_frames, sse_frame, FrameSink};
use crate::services::answer::{
    collect_answer, model_error, Chunker, Piece, TokenCounter, Transcript, TurnPlan, TurnReference,
    MIN_FRAME_TOKENS,
};
use crate::services::chats::fill_prompt_defaults;
use crate::services::retrieval::{self, Hit, RetrievalRequest};
use crate::services::saved_filter::{self, SavedScope};
use crate::services::sessions::{new_session, now_seconds, DEFAULT_SESSION_NAME};
use crate::state::AppState;

/// The chat's rerank model, if it should rerank: a configured tenant model does. The two
/// names upstream serves locally (`chats::BUILTIN_RERANK_NAMES`) are accepted on chats
/// without a tenant model, and lambdarag has no local reranker, so those rank as if none
/// were set (logged) rather than failing every turn.
pub(crate) async fn chat_reranker(
    state: &AppState,
    tenant_id: &str,
    rerank_id: &str,
) -> Option<String> {
    if rerank_id.is_empty() {
        return None;
    }
    if crate::services::chats::BUILTIN_RERANK_NAMES.contains(&rerank_id) {
        let tenant = state.meta.get_tenant(tenant_id).await.ok().flatten()?;
        if let Err(e) = state.rerankers.reranker(&tenant, rerank_id) {
            tracing::warn!(rerank_id, error = %e, "chat rerank model not served here; ranking without it");
            return None;
        }
    }
    Some(rerank_id.to_string())
}

/// History kept for the model, newest first, in characters (the question always stays).
const HISTORY_CHAR_BUDGET: usize = 32_000;
/// Per-turn options from the request (S5 passthrough kwargs, O1's extra_body).
#[derive(Debug, Clone, Default)]
pub struct TurnOptions {
    /// Extra datasets for this turn (`kb_ids`).
    pub kb_ids: Vec<String>,
    /// Restrict retrieval to these documents (`doc_ids`, a comma-separated string).
    pub doc_ids: Option<Vec<String>>,
    pub metadata_condition: Option<Value>,
    /// Overrides the chat's `quote`.
    pub quote: Option<bool>,
    /// Values of the chat's prompt variables.
    pub variables: Map<String, Value>,
}

/// `chunks_format` (contract 6.4) of a retrieval hit.
pub fn chunk_format(h: &Hit) -> Value {
    let c = &h.scored.chunk;
    json!({
        "id": c.id,
        "content": c.content,
        "document_id": c.document_id,
        "document_name": h.document_name,
        "dataset_id": c.dataset_id,
        "image_id": c.image_id,
        "positions": c.positions,
        "url": null,
        "similarity": h.similarity,
        "vector_similarity": h.scored.vector_score,
        "term_similarity": h.term_similarity,
        "doc_type": if c.doc_type.is_empty() { Value::Null } else { json!(c.doc_type) },
    })
}

/// Plan one turn of a chat. `history` holds the conversation so far with the question
/// last. Errors are messages for the error frame.
pub async fn plan_turn(
    state: &AppState,
    tenant_id: &str,
    chat: &Chat,
    history: Vec<ChatMessage>,
    topts: &TurnOptions,
) -> Result<TurnPlan, String> {
    let tenant = state
        .meta
        .get_tenant(tenant_id)
        .await
        .map_err(|e| ApiError::from(e).message)?
        .ok_or_else(|| "Tenant not found!".to_string())?;
    let model = state
        .chat_models
        .chat_model(&tenant, &chat.llm_id)
        .map_err(|e| model_error(&e))?;
    let mut config = chat.prompt_config.clone();
    fill_prompt_defaults(&mut config);
    let quote = topts
        .quote
        .unwrap_or_else(|| config.get("quote").is_none_or(truthy));
    let question = history
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map(|m| m.content.clone())
        .unwrap_or_default();

    let mut kb_ids = chat.kb_ids.clone();
    for id in &topts.kb_ids {
        if !kb_ids.contains(id) {
            kb_ids.push(id.clone());
        }
    }
    let uses_knowledge = config
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|ps| {
            ps.iter()
                .any(|p| p.get("key").and_then(Value::as_str) == Some("knowledge"))
        });
    let mut reference = None;
    let mut context = Vec::new();
    if !kb_ids.is_empty() {
        let mut r = TurnReference::default();
        if uses_knowledge {
            // Datasets deleted since the chat was made are skipped.
            let mut live = Vec::new();
            for id in &kb_ids {
                if state
                    .meta
                    .get_dataset(tenant_id, id)
                    .await
                    .map_err(|e| ApiError::from(e).message)?
                    .is_some()
                {
                    live.push(id.clone());
                }
            }
            if !live.is_empty() {
                let datasets = retrieval::load_datasets(state, tenant_id, &live)
                    .await
                    .map_err(|e| e.message)?;
                // The turn's own condition or documents first; else the chat's saved filter.
                let mut metadata_condition = topts.metadata_condition.clone();
                let mut document_ids = topts.doc_ids.clone();
                if metadata_condition.is_none() && document_ids.is_none() {
                    let saved = &chat.meta_data_filter;
                    match saved_filter::resolve(state, tenant_id, &model, saved, &live, &question)
                        .await
                    {
                        SavedScope::Condition(c) => metadata_condition = Some(c),
                        SavedScope::Documents(ids) => document_ids = Some(ids),
                        SavedScope::Unrestricted => {}
                    }
                }
                let req = RetrievalRequest {
                    dataset_ids: live,
                    document_ids: if metadata_condition.is_some() {
                        None
                    } else {
                        document_ids
                    },
                    question: question.clone(),
                    page: 1,
                    page_size: usize::try_from(chat.top_n.max(0)).unwrap_or(0),
                    similarity_threshold: chat.similarity_threshold as f32,
                    vector_similarity_weight: (chat.vector_similarity_weight as f32)
                        .clamp(0.0, 1.0),
                    top_k: usize::try_from(chat.top_k.max(1)).unwrap_or(1024),
                    highlight: false,
                    metadata_condition,
                    rerank_id: chat_reranker(state, tenant_id, &chat.rerank_id).await,
                    keyword: false,
                    cross_languages: Vec::new(),
                    document_metadata: None,
                    use_kg: config.get("use_kg").is_some_and(truthy),
                };
                let found = retrieval::retrieve(state, tenant_id, &datasets, &req)
                    .await
                    .map_err(|e| e.message)?;
                r.total = found.total;
                r.chunks = found.hits.iter().map(chunk_format).collect();
                r.doc_aggs = found
                    .doc_aggs
                    .iter()
                    .map(|(id, name, n)| json!({"doc_name": name, "doc_id": id, "count": n}))
                    .collect();
                context = retrieval::context_of(&found.hits);
            }
        }
        reference = Some(r);
    }
    let knowledge = format_knowledge(&context);
    let mut system = fill_system_prompt(&config, &knowledge, &topts.variables)?;
    if quote && !context.is_empty() {
        system.push_str(CITATION_INSTRUCTIONS);
    }
    let prompt = format!("{system}\n\n### Query:\n{question}");
    let empty_answer = match (&reference, config.get("empty_response")) {
        (Some(_), Some(v)) if context.is_empty() && truthy(v) => Some(py_str(v)),
        _ => None,
    };
    let mut messages = vec![ChatMessage::system(system)];
    messages.extend(fit_history(history, HISTORY_CHAR_BUDGET));
    let mut opts = gen_options(chat);
    opts.purpose = Purpose::Answer;
    opts.context = context;
    opts.cite = quote;
    Ok(TurnPlan {
        model,
        messages,
        opts,
        reference,
        prompt,
        empty_answer,
        quote,
    })
}

// ---------------------------------------------------------------------------------------
// S5: POST /chats/{chat_id}/completions
// ---------------------------------------------------------------------------------------

/// A validated S5 request.
#[derive(Debug, Clone)]
pub struct CompletionRequest {
    pub question: Option<String>,
    pub stream: bool,
    pub session_id: Option<String>,
    pub user_id: String,
    pub options: TurnOptions,
}

fn comma_ids(v: &Value) -> Option<Vec<String>> {
    let ids: Vec<String> = match v {
        Value::String(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Value::Array(a) => a.iter().filter(|x| truthy(x)).map(py_str).collect(),
        _ => return None,
    };
    (!ids.is_empty()).then_some(ids)
}

/// Keys of an S5 body that are not prompt variables.
const COMPLETION_KEYS: &[&str] = &[
    "question",
    "stream",
    "session_id",
    "user_id",
    "metadata_condition",
    "doc_ids",
    "kb_ids",
    "quote",
    "name",
];

/// Parse an S5 body (upstream: no body counts as `{"question": ""}`; without a session the
/// question is discarded).
pub fn parse_completion(req: &Map<String, Value>) -> Result<CompletionRequest, ApiError> {
    let session_id = req.get("session_id").filter(|v| truthy(v)).map(py_str);
    let question = if req.is_empty() || session_id.is_none() {
        Some(String::new())
    } else {
        req.get("question").map(|v| match v {
            Value::Null => String::new(),
            other => py_str(other),
        })
    };
    let metadata_condition = req.get("metadata_condition").filter(|v| truthy(v)).cloned();
    if metadata_condition.as_ref().is_some_and(|m| !m.is_object()) {
        return Err(ApiError::data("metadata_condition must be an object."));
    }
    let kb_ids = match req.get("kb_ids") {
        Some(Value::Array(a)) => a.iter().filter(|x| truthy(x)).map(py_str).collect(),
        _ => vec![],
    };
    let variables = req
        .iter()
        .filter(|(k, _)| !COMPLETION_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(CompletionRequest {
        stream: req.get("stream").is_none_or(truthy),
        user_id: match req.get("user_id") {
            None | Some(Value::Null) => String::new(),
            Some(v) => py_str(v),
        },
        options: TurnOptions {
            kb_ids,
            doc_ids: req.get("doc_ids").and_then(comma_ids),
            // Applied only when there is a question (upstream).
            metadata_condition: metadata_condition
                .filter(|_| question.as_deref().is_some_and(|q| !q.is_empty())),
            quote: req.get("quote").and_then(Value::as_bool),
            variables,
        },
        question,
        session_id,
    })
}

/// How an S5 request resolved before any answering.
pub enum Completion {
    /// No session: a new one was made; reply with its prologue only.
    Prologue { session: Session, stream: bool },
    /// A turn in an existing session.
    Turn(Box<TurnRequest>),
}

/// A turn to answer in an existing session.
pub struct TurnRequest {
    pub chat: Chat,
    pub session: Session,
    pub question: String,
    pub stream: bool,
    pub options: TurnOptions,
}

/// S5 checks: the chat and session must be the tenant's.
pub async fn start_completion(
    state: &AppState,
    tenant_id: &str,
    chat_id: &str,
    req: &Map<String, Value>,
) -> Result<Completion, ApiError> {
    let parsed = parse_completion(req);
    let Some(chat) = state.chats.get_chat(tenant_id, chat_id).await? else {
        return Err(ApiError::data(format!("You don't own the chat {chat_id}")));
    };
    let session = match req.get("session_id").filter(|v| truthy(v)).map(py_str) {
        None => None,
        Some(sid) => match state.chats.get_session(tenant_id, chat_id, &sid).await? {
            Some(s) => Some(s),
            None => return Err(ApiError::data(format!("You don't own the session {sid}"))),
        },
    };
    let parsed = parsed?;
    let Some(session) = session else {
        let session = new_session(
            &chat,
            DEFAULT_SESSION_NAME.to_string(),
            parsed.user_id.clone(),
            true,
        );
        state.chats.insert_session(&session).await?;
        return Ok(Completion::Prologue {
            session,
            stream: parsed.stream,
        });
    };
    let Some(question) = parsed.question else {
        return Err(ApiError::exception(
            "TypeError(\"async_completion() missing 1 required positional argument: 'question'\")",
        ));
    };
    Ok(Completion::Turn(Box::new(TurnRequest {
        chat,
        session,
        question,
        stream: parsed.stream,
        options: parsed.options,
    })))
}

/// The prologue reply of a session-less S5 request (`data` object).
pub fn prologue_answer(session: &Session) -> Value {
    let answer = session
        .messages
        .first()
        .and_then(|m| m.get("content"))
        .cloned()
        .unwrap_or(Value::Null);
    json!({
        "answer": answer,
        "reference": {},
        "audio_binary": null,
        "id": null,
        "session_id": session.id,
    })
}

/// The two frames of a session-less streamed S5 request.
pub fn prologue_frames(session: &Session) -> FrameStream {
    let frames: Vec<Result<Bytes, std::convert::Infallible>> = vec![
        Ok(sse_frame(
            &json!({"code": 0, "message": "", "data": prologue_answer(session)}),
        )),
        Ok(sse_frame(&json!({"code": 0, "message": "", "data": true}))),
    ];
    Box::pin(futures_util::stream::iter(frames))
}

/// The frame/reply of a failed turn (contract 8.1's error frame).
pub fn error_body(message: &str) -> Value {
    json!({
        "code": RetCode::ServerError.as_i64(),
        "message": message,
        "data": {"answer": format!("**ERROR**: {message}"), "reference": []},
    })
}

/// Which frames a turn writes: the session variant (S5) or the dataset-only ask (S6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameStyle {
    /// S5: no `message` key in answer frames; `id` and `session_id` on each.
    Session,
    /// S6: `{"code":0,"message":"",...}` frames, no ids.
    Ask,
    /// v0.27's POST /chat/completions: `{"code":0,"message":"",...}` frames with `id`,
    /// `session_id` and `chat_id`.
    Unified,
}

/// Everything the turn task owns.
pub struct TurnRun {
    pub state: AppState,
    pub tenant_id: String,
    /// The session to store the turn in (S5); None for S6.
    pub session: Option<(String, String)>,
    pub message_id: Option<String>,
    pub question: String,
    pub plan: TurnPlan,
    pub count_tokens: TokenCounter,
    pub style: FrameStyle,
}

impl TurnRun {
    fn envelope(&self, data: Value) -> Value {
        match self.style {
            FrameStyle::Session => json!({"code": 0, "data": data}),
            FrameStyle::Ask | FrameStyle::Unified => {
                json!({"code": 0, "message": "", "data": data})
            }
        }
    }

    fn ids(&self, m: &mut Map<String, Value>) {
        if self.style != FrameStyle::Ask {
            m.insert("id".into(), json!(self.message_id));
            m.insert(
                "session_id".into(),
                json!(self.session.as_ref().map(|(_, s)| s.clone())),
            );
        }
        if self.style == FrameStyle::Unified {
            m.insert(
                "chat_id".into(),
                json!(self.session.as_ref().map(|(c, _)| c.clone())),
            );
        }
    }

    fn delta_frame(&self, answer: &str, flag: Option<&str>) -> Value {
        let mut m = Map::new();
        m.insert("answer".into(), json!(answer));
        m.insert("reference".into(), json!({"chunks": []}));
        m.insert("audio_binary".into(), Value::Null);
        m.insert("final".into(), json!(false));
        if let Some(f) = flag {
            m.insert(f.into(), json!(true));
        }
        if self.plan.reference.is_none() {
            // Chats without datasets: every frame carries these (upstream's solo chat).
            m.insert("prompt".into(), json!(""));
            m.insert("created_at".into(), json!(now_seconds()));
        }
        self.ids(&mut m);
        self.envelope(Value::Object(m))
    }

    fn final_reference(&self) -> Value {
        match &self.plan.reference {
            Some(r) if self.plan.quote => r.to_api(),
            _ => json!({}),
        }
    }

    fn final_frame(&self, answer: &str) -> Value {
        let mut m = Map::new();
        m.insert("answer".into(), json!(answer));
        m.insert("reference".into(), self.final_reference());
        m.insert("prompt".into(), json!(self.plan.prompt));
        m.insert("created_at".into(), json!(now_seconds()));
        m.insert("final".into(), json!(true));
        m.insert("audio_binary".into(), Value::Null);
        self.ids(&mut m);
        self.envelope(Value::Object(m))
    }

    fn terminator(&self) -> Value {
        self.envelope(json!(true))
    }

    /// The non-streamed answer object (S5 with a session).
    pub fn answer_object(&self, t: &Transcript) -> Value {
        let mut m = Map::new();
        m.insert(
            "answer".into(),
            json!(if t.reasoning.is_empty() {
                t.answer.clone()
            } else {
                t.stored.clone()
            }),
        );
        m.insert("reference".into(), self.final_reference());
        m.insert("prompt".into(), json!(self.plan.prompt));
        m.insert("created_at".into(), json!(now_seconds()));
        m.insert("audio_binary".into(), Value::Null);
        self.ids(&mut m);
        Value::Object(m)
    }

    /// Store the finished turn: the question and the answer (same message id) and the
    /// turn's reference. The session is re-read so concurrent renames are kept.
    pub async fn store(&self, t: &Transcript) {
        let (Some((chat_id, session_id)), Some(mid)) = (&self.session, &self.message_id) else {
            return;
        };
        let result = async {
            let Some(mut s) = self
                .state
                .chats
                .get_session(&self.tenant_id, chat_id, session_id)
                .await?
            else {
                return Ok(());
            };
            s.messages
                .push(json!({"role": "user", "content": self.question, "id": mid}));
            s.messages.push(json!({
                "role": "assistant",
                "content": t.stored,
                "created_at": now_seconds(),
                "id": mid,
            }));
            let reference = match &self.plan.reference {
                Some(r) if self.plan.quote => r.to_api(),
                _ => json!({"chunks": [], "doc_aggs": []}),
            };
            s.reference.push(reference);
            s.update_time = now_ms();
            self.state.chats.update_session(&s).await
        }
        .await;
        if let Err(e) = result {
            tracing::error!(error = %e, session = %session_id, "could not store the chat turn");
        }
    }

    /// Stream the turn as 8.1 frames into `sink`, then store it.
    pub async fn stream_into(self, sink: FrameSink) {
        if let Some(answer) = self.plan.empty_answer.clone() {
            let t = Transcript {
                answer: answer.clone(),
                stored: answer.clone(),
                ..Default::default()
            };
            if !sink.send(&self.final_frame(&answer)).await {
                return;
            }
            self.store(&t).await;
            sink.send(&self.terminator()).await;
            return;
        }
        let mut stream = match self
            .plan
            .model
            .stream(&self.plan.messages, &self.plan.opts)
            .await
        {
            Ok(s) => s,
            Err(e) => {
                sink.send(&error_body(&model_error(&e))).await;
                sink.send(&self.terminator()).await;
                return;
            }
        };
        let mut chunker = Chunker::new(self.count_tokens, MIN_FRAME_TOKENS);
        let mut t = Transcript::default();
        while let Some(item) = stream.next().await {
            let d = match item {
                Ok(d) => d,
                Err(e) => {
                    sink.send(&error_body(&model_error(&e))).await;
                    sink.send(&self.terminator()).await;
                    return;
                }
            };
            for p in chunker.push(&d) {
                t.add(&p);
                if !sink.send(&self.piece_frame(&p)).await {
                    return;
                }
            }
        }
        for p in chunker.finish() {
            t.add(&p);
            if !sink.send(&self.piece_frame(&p)).await {
                return;
            }
        }
        if self.plan.reference.is_some()
            && !t.stored.is_empty()
            && !sink.send(&self.final_frame("")).await
        {
            return;
        }
        self.store(&t).await;
        sink.send(&self.terminator()).await;
    }

    fn piece_frame(&self, p: &Piece) -> Value {
        match p {
            Piece::Text(s) | Piece::Reasoning(s) => self.delta_frame(s, None),
            Piece::StartThink => self.delta_frame("", Some("start_to_think")),
            Piece::EndThink => self.delta_frame("", Some("end_to_think")),
        }
    }
}

/// Answer an S5 turn: a streamed body, or the reply envelope.
pub async fn answer_turn(
    state: &AppState,
    tenant_id: &str,
    turn: Box<TurnRequest>,
    count_tokens: TokenCounter,
) -> Result<TurnAnswer, ApiError> {
    let TurnRequest {
        chat,
        session,
        question,
        stream,
        options,
    } = *turn;
    let mut history = conversation(&session.messages);
    history.push(ChatMessage::user(question.clone()));
    let target = Some((chat.id.clone(), session.id.clone()));
    let style = FrameStyle::Session;
    let turn = PlannedTurn {
        chat,
        history,
        question,
        stream,
        options,
        target,
        style,
    };
    answer_planned(state, tenant_id, turn, count_tokens).await
}

/// A turn ready to plan: the conversation for the model, where to store it (chat id,
/// session id; none = not stored) and how to frame it.
pub struct PlannedTurn {
    pub chat: Chat,
    pub history: Vec<ChatMessage>,
    pub question: String,
    pub stream: bool,
    pub options: TurnOptions,
    pub target: Option<(String, String)>,
    pub style: FrameStyle,
}

/// Plan and answer a turn (S5 or v0.27's unified completion).
pub async fn answer_planned(
    state: &AppState,
    tenant_id: &str,
    turn: PlannedTurn,
    count_tokens: TokenCounter,
) -> Result<TurnAnswer, ApiError> {
    let PlannedTurn {
        chat,
        history,
        question,
        stream,
        options,
        target,
        style,
    } = turn;
    let message_id = uuid::Uuid::new_v4().to_string();
    let planned = plan_turn(state, tenant_id, &chat, history, &options).await;
    let terminator = match style {
        FrameStyle::Session => json!({"code": 0, "data": true}),
        _ => json!({"code": 0, "message": "", "data": true}),
    };
    let plan = match planned {
        Ok(p) => p,
        Err(msg) if stream => {
            let body = error_body(&msg);
            let frames: Vec<Result<Bytes, std::convert::Infallible>> =
                vec![Ok(sse_frame(&body)), Ok(sse_frame(&terminator))];
            return Ok(TurnAnswer::Stream(Box::pin(futures_util::stream::iter(
                frames,
            ))));
        }
        Err(msg) => return Ok(TurnAnswer::Json(error_body(&msg))),
    };
    let run = TurnRun {
        state: state.clone(),
        tenant_id: tenant_id.to_string(),
        session: target,
        message_id: Some(message_id),
        question,
        plan,
        count_tokens,
        style,
    };
    if stream {
        return Ok(TurnAnswer::Stream(spawn_frames(move |sink| {
            run.stream_into(sink)
        })));
    }
    match collect_answer(&run.plan).await {
        Ok(t) => {
            run.store(&t).await;
            let answer = run.answer_object(&t);
            Ok(TurnAnswer::Json(match style {
                FrameStyle::Unified => json!({"code": 0, "message": "success", "data": answer}),
                _ => json!({"code": 0, "data": answer}),
            }))
        }
        Err(msg) => Ok(TurnAnswer::Json(error_body(&msg))),
    }
}

/// What a turn replies with.
pub enum TurnAnswer {
    Stream(FrameStream),
    /// A complete JSON body (success envelope or error object).
    Json(Value),
}

mod ask;
mod legacy;
pub use ask::{ask, ask_frames};
pub use legacy::legacy_frames;

#[cfg(test)]
mod tests;
pub mod unified;
