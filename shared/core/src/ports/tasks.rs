//! Dataset-wide tasks (RAPTOR now, GraphRAG later): upstream's `task` rows for work that
//! spans a whole dataset, and which task is the dataset's current one per type (upstream
//! keeps that as `raptor_task_id` / `graphrag_task_id` on the knowledgebase row).
//!
//! Rows are written whole, keyed by tenant + id, so a key-value adapter (DynamoDB)
//! implements the port with plain puts and gets. Moving a dataset's current task is a
//! compare-and-set, so two concurrent "run" requests cannot both start a task.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::contract::error::StoreError;
use crate::contract::time::rfc1123;

/// `task_type` of a RAPTOR task.
pub const TASK_RAPTOR: &str = "raptor";
/// `task_type` of a GraphRAG task.
pub const TASK_GRAPHRAG: &str = "graphrag";

/// A dataset task, under upstream's column names (the `task` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetTask {
    pub id: String,
    pub tenant_id: String,
    pub dataset_id: String,
    /// Upstream names a sample document of the dataset here.
    pub doc_id: String,
    /// `raptor` or `graphrag`.
    pub task_type: String,
    pub from_page: i64,
    pub to_page: i64,
    pub priority: i64,
    /// When a worker began it (epoch ms); None until then.
    pub begin_at: Option<i64>,
    /// Seconds.
    pub process_duration: f64,
    /// 0…1 while running, 1 done, -1 failed.
    pub progress: f64,
    /// One `HH:MM:SS text` line per step.
    pub progress_msg: String,
    pub retry_count: i64,
    pub digest: String,
    /// The chunks the task wrote, space-separated (upstream's format).
    pub chunk_ids: String,
    pub create_time: i64,
    pub update_time: i64,
}

impl DatasetTask {
    /// Finished, one way or the other (upstream's `progress in [-1, 1]`).
    pub fn finished(&self) -> bool {
        self.progress <= -1.0 || self.progress >= 1.0
    }

    /// The row as the trace routes return it (upstream's `task.to_dict()`).
    pub fn to_api(&self) -> Value {
        json!({
            "id": self.id,
            "doc_id": self.doc_id,
            "from_page": self.from_page,
            "to_page": self.to_page,
            "task_type": self.task_type,
            "priority": self.priority,
            "begin_at": self.begin_at.map(rfc1123),
            "process_duration": self.process_duration,
            "progress": self.progress,
            "progress_msg": self.progress_msg,
            "retry_count": self.retry_count,
            "digest": self.digest,
            "chunk_ids": self.chunk_ids,
            "create_time": self.create_time,
            "create_date": rfc1123(self.create_time),
            "update_time": self.update_time,
            "update_date": rfc1123(self.update_time),
        })
    }
}

/// A tenant's dataset tasks and each dataset's current task per type.
#[async_trait]
pub trait DatasetTaskStore: Send + Sync {
    /// `Conflict` if the tenant already has this id.
    async fn insert_task(&self, task: &DatasetTask) -> Result<(), StoreError>;
    async fn get_task(&self, tenant_id: &str, id: &str) -> Result<Option<DatasetTask>, StoreError>;
    /// Replace a task row (matched by tenant and id); `NotFound` if it is gone, so a
    /// deleted task is never resurrected by a late worker.
    async fn update_task(&self, task: &DatasetTask) -> Result<(), StoreError>;
    /// True if it existed.
    async fn delete_task(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError>;
    /// The dataset's current task of this type, if one was ever recorded.
    async fn current_task(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        task_type: &str,
    ) -> Result<Option<String>, StoreError>;
    /// Make `task_id` the dataset's current task of this type if the current one is still
    /// `expected` (None: no task recorded yet). Returns whether it was set.
    async fn swap_current_task(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        task_type: &str,
        expected: Option<&str>,
        task_id: &str,
    ) -> Result<bool, StoreError>;
}
