//! Search apps on the SQLite metadata store: one row per app, the record as JSON.

use async_trait::async_trait;
use lambdarag::ports::search::{SearchApp, SearchStore};
use lambdarag::StoreError;

use crate::sqlite::SqliteStore;
use crate::sqlite_records::RecordTable;

/// Created by `SqliteStore::init` (`IF NOT EXISTS`: older data dirs gain the table).
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS search_apps (
    tenant_id   TEXT NOT NULL,
    id          TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
"#;

const SEARCH_APPS: RecordTable = RecordTable {
    table: "search_apps",
    what: "search app",
};

#[async_trait]
impl SearchStore for SqliteStore {
    async fn insert_search(&self, app: &SearchApp) -> Result<(), StoreError> {
        SEARCH_APPS.insert(self, &app.tenant_id, &app.id, app).await
    }

    async fn get_search(&self, tenant_id: &str, id: &str) -> Result<Option<SearchApp>, StoreError> {
        SEARCH_APPS.get(self, tenant_id, id).await
    }

    async fn list_searches(&self, tenant_id: &str) -> Result<Vec<SearchApp>, StoreError> {
        SEARCH_APPS.list(self, tenant_id).await
    }

    async fn update_search(&self, app: &SearchApp) -> Result<(), StoreError> {
        SEARCH_APPS.update(self, &app.tenant_id, &app.id, app).await
    }

    async fn delete_search(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        SEARCH_APPS.delete(self, tenant_id, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_store_passes_the_search_conformance_suite() {
        let store = SqliteStore::in_memory().expect("sqlite");
        lambdarag::ports::conformance_search::run_all(&store).await;
    }

    #[tokio::test]
    async fn search_apps_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("meta.sqlite3");
        let app = lambdarag::ports::conformance_search::sample_search("t", "kept");
        SqliteStore::open(&path)
            .expect("open")
            .insert_search(&app)
            .await
            .expect("insert");
        let again = SqliteStore::open(&path).expect("reopen");
        assert_eq!(
            again.get_search("t", &app.id).await.expect("get"),
            Some(app)
        );
    }
}
