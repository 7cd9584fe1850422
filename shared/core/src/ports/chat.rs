//! Chat assistants, their sessions, and the chat-model port.
//!
//! Two ports live here:
//! - [`ChatStore`]: chats (upstream: dialogs) and sessions (upstream: conversations) of a
//!   tenant. Every method takes the tenant; records are written whole, keyed by tenant + id,
//!   so a key-value adapter (DynamoDB) implements it with plain puts and gets.
//! - [`ChatModel`] / [`ChatModelRegistry`]: a streaming chat model, resolved per tenant from
//!   a `model@factory` id.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::contract::error::StoreError;
use crate::domain::Tenant;
use crate::ports::ModelError;

// ---------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------

/// `status` of a live chat; a soft-deleted chat has `"0"`.
pub const STATUS_VALID: &str = "1";
pub const STATUS_DELETED: &str = "0";

/// A chat assistant (upstream: a dialog row), under upstream's column names so the API
/// renderings (create form, list form) are a rename away.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chat {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub description: Option<String>,
    /// The avatar (`avatar` in the API).
    pub icon: Option<String>,
    pub language: String,
    /// `model@factory` (`llm.model_name` in the API).
    pub llm_id: String,
    /// Generation settings as the client sent them (`llm` in the API, minus `model_name`).
    pub llm_setting: Map<String, Value>,
    pub prompt_type: String,
    /// Upstream's prompt_config: `system`, `prologue`, `parameters`, `empty_response`,
    /// `quote`, `tts`, `refine_multiturn` and any extra keys the client sent.
    pub prompt_config: Map<String, Value>,
    pub meta_data_filter: Value,
    pub similarity_threshold: f64,
    /// What the API calls `keywords_similarity_weight` is stored here as sent; the API
    /// reports `1 − stored` (an upstream quirk kept on purpose).
    pub vector_similarity_weight: f64,
    pub top_n: i64,
    pub top_k: i64,
    /// `"1"` cite sources, `"0"` not.
    pub do_refer: String,
    pub rerank_id: String,
    /// Linked datasets.
    pub kb_ids: Vec<String>,
    /// `"1"` live, `"0"` soft-deleted.
    pub status: String,
    pub create_time: i64,
    pub update_time: i64,
}

impl Chat {
    /// The case-insensitive key a chat name is unique under, among a tenant's live chats.
    pub fn name_key(name: &str) -> String {
        name.to_lowercase()
    }

    pub fn is_live(&self) -> bool {
        self.status == STATUS_VALID
    }
}

/// A chat session (upstream: a conversation). Messages and per-turn references are kept as
/// the API shows them (JSON objects), in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    pub tenant_id: String,
    pub chat_id: String,
    pub name: String,
    pub user_id: String,
    /// `{role, content[, id][, created_at]}` objects; the first is the chat's prologue.
    pub messages: Vec<Value>,
    /// One `{total?, chunks, doc_aggs}` object per answered turn.
    pub reference: Vec<Value>,
    pub create_time: i64,
    pub update_time: i64,
}

/// Columns chats and sessions can be listed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOrder {
    CreateTime,
    UpdateTime,
    Name,
    Id,
}

impl ListOrder {
    pub fn parse(column: &str) -> Option<Self> {
        match column {
            "create_time" => Some(ListOrder::CreateTime),
            "update_time" => Some(ListOrder::UpdateTime),
            "name" => Some(ListOrder::Name),
            "id" => Some(ListOrder::Id),
            _ => None,
        }
    }
}

/// The page window of a listing: 1-based `page` (0 counts as 1) and `page_size` (0 = an
/// empty page, as upstream's paginate gives).
fn page_window<T>(all: Vec<T>, page: u64, page_size: u64) -> Vec<T> {
    if page_size == 0 {
        return Vec::new();
    }
    let start = page.max(1).saturating_sub(1).saturating_mul(page_size);
    all.into_iter()
        .skip(usize::try_from(start).unwrap_or(usize::MAX))
        .take(usize::try_from(page_size).unwrap_or(usize::MAX))
        .collect()
}

fn ordered<T>(
    all: &mut [T],
    order: ListOrder,
    desc: bool,
    key: impl Fn(&T) -> (i64, i64, &str, &str),
) {
    all.sort_by(|a, b| {
        let (ac, au, an, ai) = key(a);
        let (bc, bu, bn, bi) = key(b);
        let ord = match order {
            ListOrder::CreateTime => ac.cmp(&bc),
            ListOrder::UpdateTime => au.cmp(&bu),
            ListOrder::Name => an.cmp(bn),
            ListOrder::Id => std::cmp::Ordering::Equal,
        }
        .then_with(|| ai.cmp(bi));
        if desc {
            ord.reverse()
        } else {
            ord
        }
    });
}

/// A chat listing (CH4), already validated. Only live chats are listed.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatListQuery {
    pub id: Option<String>,
    /// Matched case-insensitively.
    pub name: Option<String>,
    pub page: u64,
    pub page_size: u64,
    pub orderby: ListOrder,
    pub desc: bool,
}

impl Default for ChatListQuery {
    fn default() -> Self {
        ChatListQuery {
            id: None,
            name: None,
            page: 1,
            page_size: 30,
            orderby: ListOrder::CreateTime,
            desc: true,
        }
    }
}

impl ChatListQuery {
    /// Every live chat of a tenant, newest first.
    pub fn all() -> Self {
        ChatListQuery {
            page_size: u64::MAX,
            ..Default::default()
        }
    }

    pub fn matches(&self, c: &Chat) -> bool {
        c.is_live()
            && self.id.as_ref().is_none_or(|id| &c.id == id)
            && self
                .name
                .as_ref()
                .is_none_or(|n| Chat::name_key(&c.name) == Chat::name_key(n))
    }

    /// Filter, order and page in memory: the reference semantics every adapter follows
    /// (ties broken by id, in the same direction).
    pub fn apply(&self, mut all: Vec<Chat>) -> Vec<Chat> {
        all.retain(|c| self.matches(c));
        ordered(&mut all, self.orderby, self.desc, |c| {
            (c.create_time, c.update_time, c.name.as_str(), c.id.as_str())
        });
        page_window(all, self.page, self.page_size)
    }
}

/// A session listing (S3), already validated.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionListQuery {
    pub id: Option<String>,
    /// Matched case-insensitively.
    pub name: Option<String>,
    pub user_id: Option<String>,
    pub page: u64,
    pub page_size: u64,
    pub orderby: ListOrder,
    pub desc: bool,
}

impl Default for SessionListQuery {
    fn default() -> Self {
        SessionListQuery {
            id: None,
            name: None,
            user_id: None,
            page: 1,
            page_size: 30,
            orderby: ListOrder::CreateTime,
            desc: true,
        }
    }
}

impl SessionListQuery {
    /// Every session of a chat.
    pub fn all() -> Self {
        SessionListQuery {
            page_size: u64::MAX,
            ..Default::default()
        }
    }

    pub fn matches(&self, s: &Session) -> bool {
        self.id.as_ref().is_none_or(|id| &s.id == id)
            && self
                .name
                .as_ref()
                .is_none_or(|n| s.name.to_lowercase() == n.to_lowercase())
            && self.user_id.as_ref().is_none_or(|u| &s.user_id == u)
    }

    /// Filter, order and page in memory (reference semantics, as for chats).
    pub fn apply(&self, mut all: Vec<Session>) -> Vec<Session> {
        all.retain(|s| self.matches(s));
        ordered(&mut all, self.orderby, self.desc, |s| {
            (s.create_time, s.update_time, s.name.as_str(), s.id.as_str())
        });
        page_window(all, self.page, self.page_size)
    }
}

/// Chats and sessions of a tenant.
///
/// Chats: names are unique among a tenant's *live* chats, case-insensitively, enforced by
/// the store (`Conflict`) so two concurrent creates cannot both win. `get_chat`,
/// `find_chat_by_name` and `list_chats` see live chats only; `delete_chat` is a soft delete
/// (status `"0"`) that frees the name.
///
/// Sessions belong to one chat of the tenant; every method takes tenant and chat.
#[async_trait]
pub trait ChatStore: Send + Sync {
    /// `Conflict` if the id exists or a live chat of the tenant has the name.
    async fn insert_chat(&self, chat: &Chat) -> Result<(), StoreError>;
    /// A live chat.
    async fn get_chat(&self, tenant_id: &str, id: &str) -> Result<Option<Chat>, StoreError>;
    /// A live chat by name, case-insensitively.
    async fn find_chat_by_name(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<Option<Chat>, StoreError>;
    /// One page of live chats (`ChatListQuery::apply` semantics).
    async fn list_chats(
        &self,
        tenant_id: &str,
        query: &ChatListQuery,
    ) -> Result<Vec<Chat>, StoreError>;
    /// Replace a live chat (matched by tenant and id). `Conflict` if the name is another live
    /// chat's; `NotFound` if the chat is gone or deleted.
    async fn update_chat(&self, chat: &Chat) -> Result<(), StoreError>;
    /// Soft delete; true if a live chat was deleted.
    async fn delete_chat(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError>;

    /// `Conflict` if the id exists.
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError>;
    async fn get_session(
        &self,
        tenant_id: &str,
        chat_id: &str,
        id: &str,
    ) -> Result<Option<Session>, StoreError>;
    /// One page (`SessionListQuery::apply` semantics).
    async fn list_sessions(
        &self,
        tenant_id: &str,
        chat_id: &str,
        query: &SessionListQuery,
    ) -> Result<Vec<Session>, StoreError>;
    /// Replace a session (matched by tenant, chat and id); `NotFound` if it is gone.
    async fn update_session(&self, session: &Session) -> Result<(), StoreError>;
    /// Hard delete; true if it existed.
    async fn delete_session(
        &self,
        tenant_id: &str,
        chat_id: &str,
        id: &str,
    ) -> Result<bool, StoreError>;
}

// ---------------------------------------------------------------------------------------
// The chat-model port
// ---------------------------------------------------------------------------------------

/// One message of a conversation sent to a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: &str, content: impl Into<String>) -> Self {
        ChatMessage {
            role: role.to_string(),
            content: content.into(),
        }
    }
    pub fn system(content: impl Into<String>) -> Self {
        Self::new("system", content)
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self::new("user", content)
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new("assistant", content)
    }
}

/// What a generation is for. Providers ignore it (the messages say it all); the built-in
/// answerer, which cannot read instructions, uses it to pick its behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Purpose {
    /// Answer the last user message from `GenOptions::context`.
    #[default]
    Answer,
    /// Suggest related search questions, one `N. text` line each.
    RelatedQuestions,
    /// A few comma-separated search keywords for the last user message.
    Keywords,
    /// The last user message translated into the languages the system message names.
    Translate,
    /// A markdown outline of `GenOptions::context` about the last user message: one `#`
    /// heading for the topic, `##` headings for its branches, `-` items under them.
    MindMap,
    /// A JSON metadata filter for the last user message over the keys and values the
    /// system message lists.
    MetadataFilter,
}

/// A retrieved chunk handed to the model, in reference order (`[ID:n]` = index n).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContextChunk {
    pub content: String,
    pub document_name: String,
}

/// Generation settings; `None` leaves the provider's default.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GenOptions {
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub max_tokens: Option<u64>,
    pub presence_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
    pub purpose: Purpose,
    /// The retrieved chunks (also formatted into the system prompt for providers).
    pub context: Vec<ContextChunk>,
    /// Whether the answer should cite chunks as `[ID:n]`.
    pub cite: bool,
}

/// Token usage as a provider reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

/// A piece of a streamed answer: content text and/or reasoning ("thinking") text, and, on
/// the last piece of providers that report it, the usage.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatDelta {
    pub content: String,
    pub reasoning: Option<String>,
    pub usage: Option<Usage>,
}

impl ChatDelta {
    pub fn text(content: impl Into<String>) -> Self {
        ChatDelta {
            content: content.into(),
            ..Default::default()
        }
    }
    pub fn reasoning(text: impl Into<String>) -> Self {
        ChatDelta {
            reasoning: Some(text.into()),
            ..Default::default()
        }
    }
}

/// A model's answer as it is generated. An `Err` item ends the answer.
pub type DeltaStream = Pin<Box<dyn Stream<Item = Result<ChatDelta, ModelError>> + Send>>;

/// A response body as a stream of byte frames (SSE), for `axum::body::Body::from_stream`.
pub type FrameStream = Pin<Box<dyn Stream<Item = Result<bytes::Bytes, Infallible>> + Send>>;

/// A stream fed by a channel: a producer task sends, the consumer reads. When the consumer
/// drops the stream the producer's next `send` fails, which is its signal to stop.
pub fn channel_stream<T: Send + 'static>(
    rx: tokio::sync::mpsc::Receiver<T>,
) -> Pin<Box<dyn Stream<Item = T> + Send>> {
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

/// A stream of items already at hand.
pub fn iter_stream(items: Vec<Result<ChatDelta, ModelError>>) -> DeltaStream {
    Box::pin(futures_util::stream::iter(items))
}

/// A chat model: answers a conversation as a stream of deltas.
#[async_trait]
pub trait ChatModel: Send + Sync {
    /// `model@factory`.
    fn model_id(&self) -> &str;
    /// Start generating. Errors before the first delta (provider unreachable, refused the
    /// request) are returned here; later failures arrive as an `Err` item in the stream.
    async fn stream(
        &self,
        messages: &[ChatMessage],
        opts: &GenOptions,
    ) -> Result<DeltaStream, ModelError>;
}

/// Resolves a tenant's chat-model id (`model@factory`) to a callable model: the built-in
/// extractive answerer or a provider the tenant configured.
pub trait ChatModelRegistry: Send + Sync {
    fn chat_model(&self, tenant: &Tenant, model_id: &str)
        -> Result<Arc<dyn ChatModel>, ModelError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(id: &str, name: &str, t: i64, status: &str) -> Chat {
        Chat {
            id: id.into(),
            tenant_id: "t".into(),
            name: name.into(),
            description: None,
            icon: None,
            language: "English".into(),
            llm_id: "m@Builtin".into(),
            llm_setting: Map::new(),
            prompt_type: "simple".into(),
            prompt_config: Map::new(),
            meta_data_filter: Value::Null,
            similarity_threshold: 0.2,
            vector_similarity_weight: 0.3,
            top_n: 6,
            top_k: 1024,
            do_refer: "1".into(),
            rerank_id: String::new(),
            kb_ids: vec![],
            status: status.into(),
            create_time: t,
            update_time: t,
        }
    }

    #[test]
    fn chat_listing_reference_semantics() {
        let all = vec![
            chat("a", "One", 1, "1"),
            chat("b", "two", 2, "1"),
            chat("c", "Three", 3, "0"),
            chat("d", "four", 2, "1"),
        ];
        let ids = |v: Vec<Chat>| v.into_iter().map(|c| c.id).collect::<Vec<_>>();
        assert_eq!(
            ids(ChatListQuery::default().apply(all.clone())),
            ["d", "b", "a"]
        );
        let asc = ChatListQuery {
            desc: false,
            ..Default::default()
        };
        assert_eq!(ids(asc.apply(all.clone())), ["a", "b", "d"]);
        let by_name = ChatListQuery {
            name: Some("TWO".into()),
            ..Default::default()
        };
        assert_eq!(ids(by_name.apply(all.clone())), ["b"]);
        let page2 = ChatListQuery {
            page: 2,
            page_size: 2,
            ..Default::default()
        };
        assert_eq!(ids(page2.apply(all.clone())), ["a"]);
        let page0 = ChatListQuery {
            page: 0,
            page_size: 1,
            ..Default::default()
        };
        assert_eq!(ids(page0.apply(all.clone())), ["d"]);
        let empty = ChatListQuery {
            page_size: 0,
            ..Default::default()
        };
        assert!(empty.apply(all).is_empty());
    }
}
