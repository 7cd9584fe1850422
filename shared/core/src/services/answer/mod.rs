//! Answering with a chat model, shared by every route that answers (chat and session
//! completions, `/sessions/ask`, the OpenAI-compatible endpoint, and later search apps and
//! agents): a turn's plan (messages, options, references), the model's deltas buffered into
//! pieces, and the transcript that is stored. What to retrieve and which prompt to fill is
//! the caller's: see `services::completion`.

pub mod default_model;
pub mod mind_map;
pub mod prompt;
pub mod sse;

use std::sync::Arc;

use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::ports::chat::{ChatDelta, ChatMessage, ChatModel, GenOptions};
use crate::ports::ModelError;

/// Frames are sent once the buffered text reaches this many tokens (upstream's rule).
pub const MIN_FRAME_TOKENS: usize = 16;
/// Counts tokens (cl100k in the deployments; any estimate in tests).
pub type TokenCounter = fn(&str) -> usize;

/// A rough token estimate: words and punctuation marks, at least a quarter of the chars.
pub fn estimate_tokens(text: &str) -> usize {
    let pieces = text
        .split(|c: char| c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(|w| 1 + w.chars().filter(|c| c.is_ascii_punctuation()).count())
        .sum::<usize>();
    pieces.max(text.chars().count().div_ceil(4))
}

// ---------------------------------------------------------------------------------------
// Buffering deltas into frames
// ---------------------------------------------------------------------------------------

/// A piece of the answer ready to be framed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Reasoning(String),
    StartThink,
    EndThink,
}

/// Buffers model deltas until at least `min_tokens` tokens are pending, and marks where
/// reasoning ("thinking") starts and ends.
pub struct Chunker {
    count: TokenCounter,
    min_tokens: usize,
    buf: String,
    thinking: bool,
}

impl Chunker {
    pub fn new(count: TokenCounter, min_tokens: usize) -> Self {
        Chunker {
            count,
            min_tokens,
            buf: String::new(),
            thinking: false,
        }
    }

    fn flush_into(&mut self, out: &mut Vec<Piece>) {
        if self.buf.is_empty() {
            return;
        }
        let text = std::mem::take(&mut self.buf);
        out.push(if self.thinking {
            Piece::Reasoning(text)
        } else {
            Piece::Text(text)
        });
    }

    pub fn push(&mut self, d: &ChatDelta) -> Vec<Piece> {
        let mut out = Vec::new();
        if let Some(r) = d.reasoning.as_deref().filter(|r| !r.is_empty()) {
            if !self.thinking {
                self.flush_into(&mut out);
                out.push(Piece::StartThink);
                self.thinking = true;
            }
            self.buf.push_str(r);
        }
        if !d.content.is_empty() {
            if self.thinking {
                self.flush_into(&mut out);
                out.push(Piece::EndThink);
                self.thinking = false;
            }
            self.buf.push_str(&d.content);
        }
        if (self.count)(&self.buf) >= self.min_tokens {
            self.flush_into(&mut out);
        }
        out
    }

    pub fn finish(&mut self) -> Vec<Piece> {
        let mut out = Vec::new();
        self.flush_into(&mut out);
        if self.thinking {
            out.push(Piece::EndThink);
            self.thinking = false;
        }
        out
    }
}

/// The answer accumulated so far: the visible text and the stored form (reasoning wrapped
/// in `<think>` tags, as upstream stores it).
#[derive(Debug, Default, Clone)]
pub struct Transcript {
    pub answer: String,
    pub reasoning: String,
    pub stored: String,
}

impl Transcript {
    pub fn add(&mut self, p: &Piece) {
        match p {
            Piece::Text(t) => {
                self.answer.push_str(t);
                self.stored.push_str(t);
            }
            Piece::Reasoning(t) => {
                self.reasoning.push_str(t);
                self.stored.push_str(t);
            }
            Piece::StartThink => self.stored.push_str("<think>"),
            Piece::EndThink => self.stored.push_str("</think>"),
        }
    }
}

/// The references of a turn, as the final frame shows them.
#[derive(Debug, Clone, Default)]
pub struct TurnReference {
    pub total: usize,
    /// `chunks_format` objects (contract 6.4), in citation order (`[ID:n]` = index n).
    pub chunks: Vec<Value>,
    /// `[{doc_name, doc_id, count}]`.
    pub doc_aggs: Vec<Value>,
}

impl TurnReference {
    pub fn to_api(&self) -> Value {
        json!({"total": self.total, "chunks": self.chunks, "doc_aggs": self.doc_aggs})
    }
}

/// Everything a turn needs once planning succeeded.
#[derive(Clone)]
pub struct TurnPlan {
    pub model: Arc<dyn ChatModel>,
    pub messages: Vec<ChatMessage>,
    pub opts: GenOptions,
    /// `None` for a chat without datasets (answers with no final frame, like upstream).
    pub reference: Option<TurnReference>,
    /// Debug text of the prompt (the final frame's `prompt`).
    pub prompt: String,
    /// Set when nothing was retrieved and the chat has an `empty_response`: the answer,
    /// with no model call.
    pub empty_answer: Option<String>,
    pub quote: bool,
}

pub(crate) fn model_error(e: &ModelError) -> String {
    e.to_string()
}

/// Run a plan to the end without streaming: the transcript, or the error message.
pub async fn collect_answer(plan: &TurnPlan) -> Result<Transcript, String> {
    let mut t = Transcript::default();
    if let Some(a) = &plan.empty_answer {
        t.answer = a.clone();
        t.stored = a.clone();
        return Ok(t);
    }
    let mut stream = plan
        .model
        .stream(&plan.messages, &plan.opts)
        .await
        .map_err(|e| model_error(&e))?;
    let mut chunker = Chunker::new(|_| usize::MAX, 0);
    while let Some(d) = stream.next().await {
        let d = d.map_err(|e| model_error(&e))?;
        for p in chunker.push(&d) {
            t.add(&p);
        }
    }
    for p in chunker.finish() {
        t.add(&p);
    }
    Ok(t)
}

#[cfg(test)]
mod tests;
