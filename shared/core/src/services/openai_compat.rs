//! The OpenAI-compatible chat route (contract O1, frames of 8.2):
//! `POST /chats_openai/{chat_id}/chat/completions`.
//!
//! The answer comes from the same turn machinery as S5 (`completion`), without a session:
//! the conversation is the request's `messages`.
//!
//! Divergence (documented): upstream reads `reference` and `metadata_condition` only from a
//! literal `extra_body` object inside the JSON body. The official OpenAI Python client
//! flattens its `extra_body=` argument into top-level keys, so lambdarag reads both: the
//! literal object first, then the top-level keys.

use axum::body::Bytes;
use futures_util::StreamExt;
use serde_json::{json, Map, Value};

use crate::contract::envelope::ApiError;
use crate::contract::pyfmt::py_str;
use crate::contract::pyfmt::truthy;
use crate::ports::chat::FrameStream;
use crate::services::answer::prompt::conversation;
use crate::services::answer::sse::{spawn_frames, FrameSink};
use crate::services::answer::{
    collect_answer, Chunker, Piece, TokenCounter, Transcript, TurnPlan, MIN_FRAME_TOKENS,
};
use crate::services::completion::{plan_turn, TurnOptions};
use crate::services::retrieval::document_metadata::{self, MetadataRequest};
use crate::state::AppState;

/// Upstream's `validate_request("model", "messages")`, which runs before authentication: a
/// body that is not a JSON object counts as `{}`.
pub fn check_required(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    let req: Map<String, Value> = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let missing: Vec<&str> = ["model", "messages"]
        .into_iter()
        .filter(|k| req.get(*k).is_none_or(Value::is_null))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::argument(format!(
            "required argument are missing: {}; ",
            missing.join(",")
        ))
        .with_data(Value::Null));
    }
    Ok(req)
}

/// What the route replies with.
pub enum OpenAiReply {
    Stream(FrameStream),
    /// A bare JSON body (no envelope), as OpenAI clients expect.
    Json(Value),
}

/// A validated O1 request.
#[derive(Debug)]
struct OpenAiRequest {
    model: Value,
    stream: bool,
    need_reference: bool,
    /// Tokens of every input message (reported as `reasoning_tokens`, as upstream does).
    context_tokens: usize,
    /// The last user message.
    prompt: String,
    history: Vec<Value>,
    metadata_condition: Option<Value>,
    reference_metadata: Option<MetadataRequest>,
}

/// Add `document_metadata` to each reference chunk (their documents looked up in one read).
async fn add_document_metadata(
    state: &AppState,
    tenant_id: &str,
    chunks: &mut [Value],
    wanted: &MetadataRequest,
) -> Result<(), ApiError> {
    let distinct = |key: &str| -> Vec<String> {
        let mut v: Vec<String> = chunks
            .iter()
            .filter_map(|c| c.get(key).and_then(Value::as_str))
            .map(str::to_string)
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let (ids, dataset_ids) = (distinct("document_id"), distinct("dataset_id"));
    if ids.is_empty() {
        return Ok(());
    }
    let docs = state
        .docs
        .get_documents(tenant_id, &dataset_ids, &ids)
        .await?;
    let by_id: std::collections::HashMap<String, crate::domain::Document> =
        docs.into_iter().map(|d| (d.id.clone(), d)).collect();
    wanted.attach(chunks, &by_id);
    Ok(())
}

/// Which route a request came by: the pinned `/chats_openai/…` or v0.27's `/openai/…`
/// (`stream` defaults to false, `model` other than `"model"` picks the tenant model, and
/// the generation parameters apply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenAiRoute {
    Pinned,
    V027,
}

fn parse(req: &Map<String, Value>, count: TokenCounter) -> Result<OpenAiRequest, ApiError> {
    let extra = req.get("extra_body").filter(|v| truthy(v));
    let extra = match extra {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(ApiError::data("extra_body must be an object.")),
    };
    // The literal object first, then the keys the OpenAI client flattens to the top level.
    let pick = |key: &str| extra.get(key).or_else(|| req.get(key)).cloned();
    let need_reference = pick("reference").is_some_and(|v| truthy(&v));
    let messages: Vec<Value> = match req.get("messages") {
        Some(Value::Array(a)) if !a.is_empty() => a.iter().cloned().map(text_content).collect(),
        _ => return Err(ApiError::data("You have to provide messages.")),
    };
    let last = messages.last().cloned().unwrap_or(Value::Null);
    if last.get("role").and_then(Value::as_str) != Some("user") {
        return Err(ApiError::data(
            "The last content of this conversation is not from user.",
        ));
    }
    let content_of = |m: &Value| match m.get("content") {
        None | Some(Value::Null) => String::new(),
        Some(v) => py_str(v),
    };
    Ok(OpenAiRequest {
        model: req.get("model").cloned().unwrap_or(Value::Null),
        stream: req.get("stream").is_none_or(truthy),
        need_reference,
        context_tokens: messages.iter().map(|m| count(&content_of(m))).sum(),
        prompt: content_of(&last),
        metadata_condition: pick("metadata_condition").filter(truthy),
        reference_metadata: document_metadata::parse(pick("reference_metadata").as_ref())?,
        history: messages,
    })
}

/// A message whose `content` is an array of content parts (what OpenAI clients send, and
/// v0.27 reads) with its text parts joined by newlines; other parts (images) are dropped.
pub(crate) fn text_content(mut message: Value) -> Value {
    if let Some(Value::Array(parts)) = message.get("content") {
        let text: Vec<&str> = parts
            .iter()
            .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect();
        message["content"] = json!(text.join("\n"));
    }
    message
}

/// O1: answer the conversation with the chat's settings.
pub async fn chat_completion(
    state: &AppState,
    tenant_id: &str,
    chat_id: &str,
    req: &Map<String, Value>,
    count: TokenCounter,
) -> Result<OpenAiReply, ApiError> {
    chat_completion_on(state, tenant_id, chat_id, req, count, OpenAiRoute::Pinned).await
}

/// O1 or v0.27's `/openai/{chat_id}/chat/completions`.
pub async fn chat_completion_on(
    state: &AppState,
    tenant_id: &str,
    chat_id: &str,
    req: &Map<String, Value>,
    count: TokenCounter,
    route: OpenAiRoute,
) -> Result<OpenAiReply, ApiError> {
    let mut parsed = parse(req, count)?;
    let Some(mut chat) = state.chats.get_chat(tenant_id, chat_id).await? else {
        return Err(match route {
            OpenAiRoute::Pinned => ApiError::data(format!("You don't own the chat {chat_id}")),
            OpenAiRoute::V027 => crate::services::chats::no_authorization(),
        });
    };
    let mut model_echo = json!("model");
    if route == OpenAiRoute::V027 {
        parsed.stream = req.get("stream").is_some_and(truthy);
        let requested = parsed.model.as_str().unwrap_or("model").to_string();
        if requested != "model" {
            let tenant = state
                .meta
                .get_tenant(tenant_id)
                .await?
                .ok_or_else(|| ApiError::data("Tenant not found!"))?;
            if crate::domain::models::verify_model(
                &tenant,
                &requested,
                crate::domain::ModelType::Chat,
            )
            .is_err()
            {
                return Err(ApiError::argument(format!(
                    "`llm_id` {requested} doesn't exist"
                )));
            }
            chat.llm_id = requested;
        }
        for k in [
            "temperature",
            "top_p",
            "frequency_penalty",
            "presence_penalty",
            "max_tokens",
        ] {
            if let Some(v) = req.get(k).filter(|v| !v.is_null()) {
                chat.llm_setting.insert(k.into(), v.clone());
            }
        }
        model_echo = json!(chat.llm_id);
        parsed.model = model_echo.clone();
    }
    if parsed
        .metadata_condition
        .as_ref()
        .is_some_and(|m| !m.is_object())
    {
        return Err(ApiError::data("metadata_condition must be an object."));
    }
    let options = TurnOptions {
        metadata_condition: parsed.metadata_condition.clone(),
        quote: Some(parsed.need_reference),
        ..Default::default()
    };
    let history = conversation(&parsed.history);
    let mut plan = plan_turn(state, tenant_id, &chat, history, &options).await;
    if let (Some(wanted), Ok(p)) = (&parsed.reference_metadata, plan.as_mut()) {
        if let Some(reference) = p.reference.as_mut() {
            add_document_metadata(state, tenant_id, &mut reference.chunks, wanted).await?;
        }
    }
    let run = OpenAiRun {
        id: format!("chatcmpl-{chat_id}"),
        created: chrono::Utc::now().timestamp(),
        req: parsed,
        count,
        model_echo,
    };
    if run.req.stream {
        return Ok(OpenAiReply::Stream(spawn_frames(move |sink| {
            run.stream_into(plan, sink)
        })));
    }
    let (content, reference) = match &plan {
        Ok(p) => match collect_answer(p).await {
            Ok(t) => (visible(&t), reference_list(p)),
            Err(msg) => (format!("**ERROR**: {msg}"), json!([])),
        },
        Err(msg) => (format!("**ERROR**: {msg}"), json!([])),
    };
    Ok(OpenAiReply::Json(run.completion(&content, reference)))
}

/// The answer text clients see (reasoning in `<think>` tags only if there was any).
fn visible(t: &Transcript) -> String {
    if t.reasoning.is_empty() {
        t.answer.clone()
    } else {
        t.stored.clone()
    }
}

fn reference_list(plan: &TurnPlan) -> Value {
    json!(plan
        .reference
        .as_ref()
        .map(|r| r.chunks.clone())
        .unwrap_or_default())
}

struct OpenAiRun {
    id: String,
    created: i64,
    req: OpenAiRequest,
    count: TokenCounter,
    /// `model` of stream frames: literally `"model"` on the pinned route.
    model_echo: Value,
}

impl OpenAiRun {
    fn chunk(&self, content: Value, reasoning: Value) -> Value {
        json!({
            "id": self.id,
            "choices": [{
                "delta": {
                    "content": content,
                    "role": "assistant",
                    "function_call": null,
                    "tool_calls": null,
                    "reasoning_content": reasoning,
                },
                "finish_reason": null,
                "index": 0,
                "logprobs": null,
            }],
            "created": self.created,
            "model": self.model_echo,
            "object": "chat.completion.chunk",
            "system_fingerprint": "",
            "usage": null,
        })
    }

    fn final_chunk(
        &self,
        answer: &str,
        completion_tokens: usize,
        reference: Option<Value>,
    ) -> Value {
        let mut v = self.chunk(Value::Null, Value::Null);
        let prompt_tokens = (self.count)(&self.req.prompt);
        v["choices"][0]["finish_reason"] = json!("stop");
        v["usage"] = json!({
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        });
        if let Some(r) = reference {
            v["choices"][0]["delta"]["reference"] = r;
            v["choices"][0]["delta"]["final_content"] = json!(answer);
        }
        v
    }

    fn completion(&self, content: &str, reference: Value) -> Value {
        let prompt_tokens = (self.count)(&self.req.prompt);
        let completion_tokens = (self.count)(content);
        let mut message = json!({"role": "assistant", "content": content});
        if self.req.need_reference {
            message["reference"] = reference;
        }
        json!({
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.req.model,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "completion_tokens_details": {
                    "reasoning_tokens": self.req.context_tokens,
                    "accepted_prediction_tokens": completion_tokens,
                    "rejected_prediction_tokens": 0,
                },
            },
            "choices": [{
                "message": message,
                "logprobs": null,
                "finish_reason": "stop",
                "index": 0,
            }],
        })
    }

    async fn stream_into(self, plan: Result<TurnPlan, String>, sink: FrameSink) {
        let mut t = Transcript::default();
        let mut completion_tokens = 0usize;
        let mut reference = Value::Array(vec![]);
        match plan {
            Err(msg) => {
                let frame = self.chunk(json!(format!("**ERROR**: {msg}")), Value::Null);
                if !sink.send(&frame).await {
                    return;
                }
            }
            Ok(plan) => {
                reference = reference_list(&plan);
                if !self
                    .stream_answer(&plan, &sink, &mut t, &mut completion_tokens)
                    .await
                {
                    return;
                }
            }
        }
        let final_reference = self.req.need_reference.then_some(reference);
        let last = self.final_chunk(&visible(&t), completion_tokens, final_reference);
        if sink.send(&last).await {
            sink.send_raw("data:[DONE]\n\n").await;
        }
    }

    /// Stream the answer's frames; false if the client went away.
    async fn stream_answer(
        &self,
        plan: &TurnPlan,
        sink: &FrameSink,
        t: &mut Transcript,
        completion_tokens: &mut usize,
    ) -> bool {
        if let Some(answer) = &plan.empty_answer {
            t.answer = answer.clone();
            t.stored = answer.clone();
            *completion_tokens = (self.count)(answer);
            return sink.send(&self.chunk(json!(answer), Value::Null)).await;
        }
        let mut stream = match plan.model.stream(&plan.messages, &plan.opts).await {
            Ok(s) => s,
            Err(e) => {
                let frame = self.chunk(json!(format!("**ERROR**: {e}")), Value::Null);
                return sink.send(&frame).await;
            }
        };
        let mut chunker = Chunker::new(self.count, MIN_FRAME_TOKENS);
        loop {
            let (pieces, ended, failed) = match stream.next().await {
                Some(Ok(d)) => (chunker.push(&d), false, None),
                Some(Err(e)) => (chunker.finish(), true, Some(e.to_string())),
                None => (chunker.finish(), true, None),
            };
            for p in &pieces {
                t.add(p);
                let frame = match p {
                    Piece::Text(s) => {
                        *completion_tokens += (self.count)(s);
                        self.chunk(json!(s), Value::Null)
                    }
                    Piece::Reasoning(s) => {
                        *completion_tokens += (self.count)(s);
                        self.chunk(Value::Null, json!(s))
                    }
                    Piece::StartThink | Piece::EndThink => continue,
                };
                if !sink.send(&frame).await {
                    return false;
                }
            }
            if let Some(msg) = failed {
                let frame = self.chunk(json!(format!("**ERROR**: {msg}")), Value::Null);
                return sink.send(&frame).await;
            }
            if ended {
                return true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::answer::estimate_tokens;

    #[test]
    fn required_arguments_come_first() {
        let e = check_required(&Bytes::from_static(b"not json")).unwrap_err();
        assert_eq!(e.code, 101);
        assert_eq!(e.message, "required argument are missing: model,messages; ");
        assert_eq!(e.body()["data"], Value::Null);
        let e = check_required(&Bytes::from_static(br#"{"model": "m", "messages": null}"#))
            .unwrap_err();
        assert_eq!(e.message, "required argument are missing: messages; ");
        assert!(check_required(&Bytes::from_static(br#"{"model": "m", "messages": []}"#)).is_ok());
    }

    #[test]
    fn reference_flag_from_literal_or_flattened_extra_body() {
        let m = |v: Value| v.as_object().cloned().unwrap_or_default();
        let msgs =
            json!([{"role": "system", "content": "s"}, {"role": "user", "content": "hello world"}]);
        let r = parse(
            &m(json!({"model": "x", "messages": msgs, "extra_body": {"reference": true}})),
            estimate_tokens,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(r.need_reference);
        assert!(r.stream);
        let r = parse(&m(json!({"model": "x", "messages": msgs, "reference": true, "stream": false, "metadata_condition": {"conditions": []}})), estimate_tokens)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(r.need_reference, "the OpenAI client's flattened key counts");
        assert!(!r.stream);
        assert!(r.metadata_condition.is_some());
        assert_eq!(r.prompt, "hello world");
        let e = |v: Value| {
            parse(&m(v), estimate_tokens)
                .err()
                .map(|e| e.message)
                .unwrap_or_default()
        };
        assert_eq!(
            e(json!({"messages": msgs, "extra_body": "x"})),
            "extra_body must be an object."
        );
        assert_eq!(e(json!({"messages": []})), "You have to provide messages.");
        let parts = json!([{"role": "user", "content": [
            {"type": "text", "text": "first"},
            {"type": "image_url", "image_url": {"url": "data:,"}},
            {"type": "text", "text": "second"}]}]);
        let r = parse(
            &m(json!({"model": "x", "messages": parts})),
            estimate_tokens,
        )
        .unwrap();
        assert_eq!(
            r.prompt, "first\nsecond",
            "text parts joined, other parts dropped"
        );
        assert_eq!(r.history[0]["content"], json!("first\nsecond"));
        let msgs = json!([{"role": "user", "content": "q"}]);
        let rm = |v: Value| {
            parse(
                &m(
                    json!({"model": "x", "messages": msgs, "extra_body": {"reference_metadata": v}}),
                ),
                estimate_tokens,
            )
        };
        assert_eq!(
            rm(json!({"include": true, "fields": ["a"]}))
                .unwrap()
                .reference_metadata,
            Some(MetadataRequest {
                fields: Some(vec!["a".into()])
            })
        );
        assert_eq!(
            rm(json!({"include": false, "fields": ["a"]}))
                .unwrap()
                .reference_metadata,
            None
        );
        assert_eq!(
            rm(json!({"include": true})).unwrap().reference_metadata,
            Some(MetadataRequest { fields: None })
        );
        assert_eq!(
            rm(json!("yes")).unwrap_err().message,
            "reference_metadata must be an object."
        );
        assert_eq!(
            rm(json!({"include": true, "fields": "a"}))
                .unwrap_err()
                .message,
            "reference_metadata.fields must be an array."
        );
        assert_eq!(
            e(json!({"messages": [{"role": "assistant", "content": "a"}]})),
            "The last content of this conversation is not from user."
        );
    }
}
