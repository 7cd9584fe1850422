//! Dataset tasks on the SQLite metadata store: one row per task (the record as JSON) and
//! one row per (dataset, task type) naming the current task.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};

use lambdarag::ports::tasks::{DatasetTask, DatasetTaskStore};
use lambdarag::StoreError;

use crate::sqlite::{backend, SqliteStore};
use crate::sqlite_records::RecordTable;

/// Created by `SqliteStore::init` (`IF NOT EXISTS`: older data dirs gain the tables).
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS dataset_tasks (
    tenant_id   TEXT NOT NULL,
    id          TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE IF NOT EXISTS dataset_current_tasks (
    tenant_id   TEXT NOT NULL,
    dataset_id  TEXT NOT NULL,
    task_type   TEXT NOT NULL,
    task_id     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, dataset_id, task_type)
);
"#;

const DATASET_TASKS: RecordTable = RecordTable {
    table: "dataset_tasks",
    what: "task",
};

#[async_trait]
impl DatasetTaskStore for SqliteStore {
    async fn insert_task(&self, task: &DatasetTask) -> Result<(), StoreError> {
        DATASET_TASKS
            .insert(self, &task.tenant_id, &task.id, task)
            .await
    }

    async fn get_task(&self, tenant_id: &str, id: &str) -> Result<Option<DatasetTask>, StoreError> {
        DATASET_TASKS.get(self, tenant_id, id).await
    }

    async fn update_task(&self, task: &DatasetTask) -> Result<(), StoreError> {
        DATASET_TASKS
            .update(self, &task.tenant_id, &task.id, task)
            .await
    }

    async fn delete_task(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        DATASET_TASKS.delete(self, tenant_id, id).await
    }

    async fn current_task(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        task_type: &str,
    ) -> Result<Option<String>, StoreError> {
        let (t, ds, ty) = (
            tenant_id.to_string(),
            dataset_id.to_string(),
            task_type.to_string(),
        );
        self.with(move |c| {
            c.query_row(
                "SELECT task_id FROM dataset_current_tasks \
                 WHERE tenant_id = ?1 AND dataset_id = ?2 AND task_type = ?3",
                params![t, ds, ty],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn swap_current_task(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        task_type: &str,
        expected: Option<&str>,
        task_id: &str,
    ) -> Result<bool, StoreError> {
        let (t, ds, ty) = (
            tenant_id.to_string(),
            dataset_id.to_string(),
            task_type.to_string(),
        );
        let (expected, id) = (expected.map(str::to_string), task_id.to_string());
        self.with(move |c| {
            // One statement each way, so the check and the write cannot be split.
            let n = match expected {
                None => c.execute(
                    "INSERT INTO dataset_current_tasks (tenant_id, dataset_id, task_type, task_id) \
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                    params![t, ds, ty, id],
                ),
                Some(e) => c.execute(
                    "UPDATE dataset_current_tasks SET task_id = ?4 \
                     WHERE tenant_id = ?1 AND dataset_id = ?2 AND task_type = ?3 AND task_id = ?5",
                    params![t, ds, ty, id, e],
                ),
            }
            .map_err(backend)?;
            Ok(n == 1)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_store_passes_the_task_conformance_suite() {
        let store = SqliteStore::in_memory().expect("sqlite");
        lambdarag::ports::conformance_tasks::run_all(&store).await;
    }

    #[tokio::test]
    async fn tasks_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("meta.sqlite3");
        let task = lambdarag::ports::conformance_tasks::sample_task("t", "ds");
        let store = SqliteStore::open(&path).expect("open");
        store.insert_task(&task).await.expect("insert");
        assert!(store
            .swap_current_task("t", "ds", "raptor", None, &task.id)
            .await
            .expect("swap"));
        drop(store);
        let again = SqliteStore::open(&path).expect("reopen");
        assert_eq!(
            again.get_task("t", &task.id).await.expect("get"),
            Some(task.clone())
        );
        assert_eq!(
            again
                .current_task("t", "ds", "raptor")
                .await
                .expect("current"),
            Some(task.id)
        );
    }
}
