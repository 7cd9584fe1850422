//! Search apps (v0.27's `/searches`): a saved retrieval configuration a tenant answers
//! questions with. Records are written whole, keyed by tenant + id, so a key-value adapter
//! (DynamoDB) implements the port with plain puts, gets and one partition query.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::contract::error::StoreError;

/// A search app, under upstream's column names (the `search` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchApp {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub description: String,
    pub avatar: Option<String>,
    /// Upstream records the creating user; a key's tenant is its user here.
    pub created_by: String,
    /// `kb_ids`, `similarity_threshold`, `vector_similarity_weight`, `top_k`, `rerank_id`,
    /// `chat_id` (the answering model), `llm_setting`, `summary`, ... as the client sent
    /// them, over upstream's defaults.
    pub search_config: Map<String, Value>,
    /// `"1"` live (upstream's StatusEnum); a delete removes the record.
    pub status: String,
    pub create_time: i64,
    pub update_time: i64,
}

/// A tenant's search apps.
///
/// Names are not unique in the store: upstream makes a created name unique by suffixing
/// `(1)`, `(2)` ... (the service does that), and refuses renames onto a taken name.
#[async_trait]
pub trait SearchStore: Send + Sync {
    /// `Conflict` if the tenant already has this id.
    async fn insert_search(&self, app: &SearchApp) -> Result<(), StoreError>;
    async fn get_search(&self, tenant_id: &str, id: &str) -> Result<Option<SearchApp>, StoreError>;
    /// Every search app of the tenant, in no particular order (a tenant's apps are few; the
    /// service filters, orders and pages).
    async fn list_searches(&self, tenant_id: &str) -> Result<Vec<SearchApp>, StoreError>;
    /// Replace a search app (matched by tenant and id); `NotFound` if it is gone.
    async fn update_search(&self, app: &SearchApp) -> Result<(), StoreError>;
    /// True if it existed.
    async fn delete_search(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError>;
}
