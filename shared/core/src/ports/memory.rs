//! Memories and their messages (contract M1–M12): the records and the `MemoryStore` port.
//!
//! A memory belongs to one tenant; its messages are addressed by `(memory_id, message_id)`
//! where `message_id` is an integer the store hands out per memory (upstream's ids are
//! integers too). Every method takes the tenant, so one tenant can never read, change or
//! delete another's memory or messages, whatever ids it guesses.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::contract::error::StoreError;

/// The memory types and their bits (upstream stores `memory_type` as a bitmask).
pub const MEMORY_TYPES: [(&str, u32); 4] = [
    ("raw", 1),
    ("semantic", 2),
    ("episodic", 4),
    ("procedural", 8),
];

/// The bit of a memory type name; `None` for an unknown name.
pub fn memory_type_bit(name: &str) -> Option<u32> {
    MEMORY_TYPES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| *b)
}

/// The names of the bits set in `mask`, in the fixed order raw, semantic, episodic,
/// procedural (how upstream renders `memory_type`).
pub fn memory_type_names(mask: u32) -> Vec<String> {
    MEMORY_TYPES
        .iter()
        .filter(|(_, b)| mask & b != 0)
        .map(|(n, _)| n.to_string())
        .collect()
}

/// A memory: where an agent's conversation turns are kept, embedded and searched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub avatar: Option<String>,
    /// Bitmask of `MEMORY_TYPES`.
    pub memory_type: u32,
    pub storage_type: String,
    pub embd_id: String,
    pub llm_id: String,
    pub permissions: String,
    pub description: Option<String>,
    /// Bytes the messages may take before FIFO forgetting removes the oldest.
    pub memory_size: i64,
    pub forgetting_policy: String,
    pub temperature: f64,
    pub system_prompt: String,
    pub user_prompt: Option<String>,
    pub create_time: i64,
    pub update_time: i64,
}

impl Memory {
    /// Names are unique per tenant case-insensitively (upstream's collation).
    pub fn name_key(name: &str) -> String {
        name.to_lowercase()
    }
}

/// A listing of a tenant's memories (M4). The reference semantics are `apply`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MemoryListQuery {
    /// Any of these type bits (0 = no filter).
    pub memory_type: u32,
    pub storage_type: Option<String>,
    /// Name contains (case-insensitive).
    pub keywords: Option<String>,
    /// Only these ids (v0.27 `ids`).
    pub ids: Option<Vec<String>>,
    /// 1-based.
    pub page: u64,
    /// 0 = no limit.
    pub page_size: u64,
}

impl MemoryListQuery {
    pub fn matches(&self, m: &Memory) -> bool {
        (self.memory_type == 0 || m.memory_type & self.memory_type != 0)
            && self
                .storage_type
                .as_deref()
                .is_none_or(|s| m.storage_type == s)
            && self
                .keywords
                .as_deref()
                .is_none_or(|k| m.name.to_lowercase().contains(&k.to_lowercase()))
            && self.ids.as_ref().is_none_or(|ids| ids.contains(&m.id))
    }

    /// Filter, order by `update_time` descending (ties: id descending), then page; returns
    /// the page and the count before paging.
    pub fn apply(&self, mut all: Vec<Memory>) -> (Vec<Memory>, u64) {
        all.retain(|m| self.matches(m));
        all.sort_by(|a, b| {
            b.update_time
                .cmp(&a.update_time)
                .then_with(|| b.id.cmp(&a.id))
        });
        let total = all.len() as u64;
        if self.page_size == 0 {
            return (all, total);
        }
        let skip = self
            .page
            .max(1)
            .saturating_sub(1)
            .saturating_mul(self.page_size);
        let page = all
            .into_iter()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .take(usize::try_from(self.page_size).unwrap_or(usize::MAX))
            .collect();
        (page, total)
    }
}

/// The extraction task of a raw message (upstream's task row, keyed by the message).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct MessageTask {
    pub id: String,
    /// 0..1 while running, 1 when done, -1 when failed.
    pub progress: f64,
    pub progress_msg: String,
}

/// One stored message: a raw turn (`message_type` `raw`, `source_id` 0) or what was
/// extracted from one (`source_id` = the raw message's id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryMessage {
    pub tenant_id: String,
    pub memory_id: String,
    pub message_id: i64,
    pub message_type: String,
    pub source_id: i64,
    pub user_id: String,
    pub agent_id: String,
    pub session_id: String,
    pub content: String,
    pub content_embed: Vec<f32>,
    /// `YYYY-MM-DD HH:MM:SS`.
    pub valid_at: String,
    pub invalid_at: Option<String>,
    /// Set when the message was forgotten (M8): hidden from search and recent messages, and
    /// the first to go when the memory is full.
    pub forget_at: Option<String>,
    /// Disabled messages (M9) are not searched.
    pub status: bool,
    /// Bytes the message counts against `memory_size`.
    pub size: i64,
    /// Epoch ms of storage (FIFO order among equal `valid_at`).
    pub create_time: i64,
    #[serde(default)]
    pub task: Option<MessageTask>,
}

/// A partial update of one message; `None` fields are left as they are.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MessagePatch {
    pub status: Option<bool>,
    pub forget_at: Option<String>,
    pub task: Option<MessageTask>,
}

impl MessagePatch {
    pub fn apply_to(&self, m: &mut MemoryMessage) {
        if let Some(s) = self.status {
            m.status = s;
        }
        if let Some(f) = &self.forget_at {
            m.forget_at = Some(f.clone());
        }
        if let Some(t) = &self.task {
            m.task = Some(t.clone());
        }
    }
}

/// Memories and messages of a tenant.
#[async_trait]
pub trait MemoryStore: Send + Sync {
    /// `Conflict` if the tenant already has a memory of this name (case-insensitively) or
    /// this id.
    async fn insert_memory(&self, memory: &Memory) -> Result<(), StoreError>;
    async fn get_memory(&self, tenant_id: &str, id: &str) -> Result<Option<Memory>, StoreError>;
    async fn find_memory_by_name(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<Option<Memory>, StoreError>;
    /// One page and the total before paging (`MemoryListQuery::apply` semantics).
    async fn list_memories(
        &self,
        tenant_id: &str,
        query: &MemoryListQuery,
    ) -> Result<(Vec<Memory>, u64), StoreError>;
    /// Replace a memory (matched by tenant and id). `Conflict` if a rename hits a name the
    /// tenant uses; `NotFound` if it is gone.
    async fn update_memory(&self, memory: &Memory) -> Result<(), StoreError>;
    /// Delete a memory and all its messages; true if it existed.
    async fn delete_memory(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError>;
    /// Reserve `count` new message ids of a memory; returns the first (the others follow
    /// it). Ids increase and are never handed out twice, even after deletes. `NotFound`
    /// if the memory does not exist.
    async fn reserve_message_ids(
        &self,
        tenant_id: &str,
        memory_id: &str,
        count: u64,
    ) -> Result<i64, StoreError>;
    /// Store messages (insert or replace by id).
    async fn put_messages(
        &self,
        tenant_id: &str,
        memory_id: &str,
        messages: &[MemoryMessage],
    ) -> Result<(), StoreError>;
    async fn get_message(
        &self,
        tenant_id: &str,
        memory_id: &str,
        message_id: i64,
    ) -> Result<Option<MemoryMessage>, StoreError>;
    /// Every message of a memory, in `message_id` order.
    async fn list_messages(
        &self,
        tenant_id: &str,
        memory_id: &str,
    ) -> Result<Vec<MemoryMessage>, StoreError>;
    /// Apply a patch atomically; false if the message does not exist.
    async fn patch_message(
        &self,
        tenant_id: &str,
        memory_id: &str,
        message_id: i64,
        patch: &MessagePatch,
    ) -> Result<bool, StoreError>;
    /// Delete messages; returns how many existed.
    async fn delete_messages(
        &self,
        tenant_id: &str,
        memory_id: &str,
        message_ids: &[i64],
    ) -> Result<u64, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_bits_round_trip_in_upstream_order() {
        let mask = memory_type_bit("procedural").unwrap_or(0) | memory_type_bit("raw").unwrap_or(0);
        assert_eq!(memory_type_names(mask), vec!["raw", "procedural"]);
        assert_eq!(memory_type_bit("nope"), None);
        assert!(memory_type_names(0).is_empty());
    }
}
