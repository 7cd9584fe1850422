//! Search apps on the SQLite metadata store: one row per app, the record as JSON.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};

use lambdarag::ports::search::{SearchApp, SearchStore};
use lambdarag::StoreError;

use crate::sqlite::{backend, decode, is_unique_violation, SqliteStore};

/// Created by `SqliteStore::init` (`IF NOT EXISTS`: older data dirs gain the table).
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS search_apps (
    tenant_id   TEXT NOT NULL,
    id          TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
"#;

#[async_trait]
impl SearchStore for SqliteStore {
    async fn insert_search(&self, app: &SearchApp) -> Result<(), StoreError> {
        let body = serde_json::to_string(app)?;
        let (t, id) = (app.tenant_id.clone(), app.id.clone());
        self.with(move |c| {
            c.execute(
                "INSERT INTO search_apps (tenant_id, id, body) VALUES (?1, ?2, ?3)",
                params![t, id, body],
            )
            .map(|_| ())
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict(format!("search app {id} exists"))
                } else {
                    backend(e)
                }
            })
        })
        .await
    }

    async fn get_search(&self, tenant_id: &str, id: &str) -> Result<Option<SearchApp>, StoreError> {
        let (t, id) = (tenant_id.to_string(), id.to_string());
        self.with(move |c| {
            let body: Option<String> = c
                .query_row(
                    "SELECT body FROM search_apps WHERE tenant_id = ?1 AND id = ?2",
                    params![t, id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            body.map(decode).transpose()
        })
        .await
    }

    async fn list_searches(&self, tenant_id: &str) -> Result<Vec<SearchApp>, StoreError> {
        let t = tenant_id.to_string();
        self.with(move |c| {
            let mut stmt = c
                .prepare("SELECT body FROM search_apps WHERE tenant_id = ?1")
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![t], |r| r.get::<_, String>(0))
                .map_err(backend)?;
            rows.map(|r| r.map_err(backend).and_then(decode)).collect()
        })
        .await
    }

    async fn update_search(&self, app: &SearchApp) -> Result<(), StoreError> {
        let body = serde_json::to_string(app)?;
        let (t, id) = (app.tenant_id.clone(), app.id.clone());
        self.with(move |c| {
            let n = c
                .execute(
                    "UPDATE search_apps SET body = ?3 WHERE tenant_id = ?1 AND id = ?2",
                    params![t, id, body],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("search app {id}")));
            }
            Ok(())
        })
        .await
    }

    async fn delete_search(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        let (t, id) = (tenant_id.to_string(), id.to_string());
        self.with(move |c| {
            c.execute(
                "DELETE FROM search_apps WHERE tenant_id = ?1 AND id = ?2",
                params![t, id],
            )
            .map(|n| n > 0)
            .map_err(backend)
        })
        .await
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
