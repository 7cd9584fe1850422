//! Agents: canvases (a DSL graph of components, upstream's `user_canvas` table) and their
//! sessions (upstream's `api_4_conversation` rows with `source: "agent"`).
//!
//! Records are written whole, keyed by tenant + id, so a key-value adapter (DynamoDB)
//! implements the port with plain puts, gets and one partition query. Every read names the
//! tenant: another tenant's ids are simply not found.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::contract::error::StoreError;

/// An agent canvas, under upstream's column names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentCanvas {
    pub id: String,
    /// The owning tenant (upstream's `user_id`: a key's tenant is its user here).
    pub tenant_id: String,
    pub title: String,
    pub description: Option<String>,
    pub avatar: Option<String>,
    /// v0.27's `canvas_type` (free text upstream; the SDK 0.26 sends it on create).
    pub canvas_type: Option<String>,
    /// `agent_canvas` (upstream also has `dataflow_canvas`, which we do not serve).
    pub canvas_category: String,
    /// `me` or `team`.
    pub permission: String,
    /// The canvas as the client stored it (components, globals, graph, history, path, ...).
    pub dsl: Value,
    pub create_time: i64,
    pub update_time: i64,
}

/// One conversation with an agent. The session carries its own copy of the canvas (`dsl`),
/// whose run state (history, globals, path) a turn advances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentSession {
    pub id: String,
    pub tenant_id: String,
    pub agent_id: String,
    /// Who the session is for: the `user_id` the client gave, else the tenant id.
    pub user_id: String,
    /// v0.27 names sessions (after the first question, or the `name` the client gave).
    pub name: Option<String>,
    /// `{role, content, id?, created_at?}` objects, the prologue first.
    pub messages: Vec<Value>,
    /// One reference object per assistant answer after the prologue.
    pub reference: Vec<Value>,
    pub dsl: Value,
    pub tokens: i64,
    pub duration: f64,
    pub round: i64,
    pub thumb_up: i64,
    pub errors: Option<String>,
    pub create_time: i64,
    pub update_time: i64,
}

/// A tenant's agents and their sessions.
///
/// Titles are not unique in the store: the service refuses duplicates (upstream checks
/// before inserting). Lists come back in no particular order; the service filters, orders
/// and pages (a tenant's agents and an agent's sessions are few enough to read whole).
#[async_trait]
pub trait AgentStore: Send + Sync {
    /// `Conflict` if the tenant already has this id.
    async fn insert_agent(&self, agent: &AgentCanvas) -> Result<(), StoreError>;
    async fn get_agent(&self, tenant_id: &str, id: &str)
        -> Result<Option<AgentCanvas>, StoreError>;
    async fn list_agents(&self, tenant_id: &str) -> Result<Vec<AgentCanvas>, StoreError>;
    /// Replace an agent (matched by tenant and id); `NotFound` if it is gone.
    async fn update_agent(&self, agent: &AgentCanvas) -> Result<(), StoreError>;
    /// True if it existed. The agent's sessions stay (upstream keeps them too).
    async fn delete_agent(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError>;

    /// `Conflict` if this agent already has this session id.
    async fn insert_agent_session(&self, session: &AgentSession) -> Result<(), StoreError>;
    /// The session if it belongs to this tenant and this agent.
    async fn get_agent_session(
        &self,
        tenant_id: &str,
        agent_id: &str,
        id: &str,
    ) -> Result<Option<AgentSession>, StoreError>;
    /// Every session of one agent of the tenant.
    async fn list_agent_sessions(
        &self,
        tenant_id: &str,
        agent_id: &str,
    ) -> Result<Vec<AgentSession>, StoreError>;
    /// Replace a session (matched by tenant, agent and id); `NotFound` if it is gone.
    async fn update_agent_session(&self, session: &AgentSession) -> Result<(), StoreError>;
    /// Delete these sessions of the agent; returns how many existed.
    async fn delete_agent_sessions(
        &self,
        tenant_id: &str,
        agent_id: &str,
        ids: &[String],
    ) -> Result<usize, StoreError>;
}
