//! The metadata store on SQLite. Records are stored as JSON beside the columns that are
//! queried or must be unique, so the domain struct stays the single definition of a record.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use lambdarag::domain::{
    ApiKeyRecord, ClientGeneration, Dataset, DatasetListQuery, DatasetOrder, Tenant,
};
use lambdarag::ports::{ApiKeyStore, DatasetStore, TenantStore};
use lambdarag::StoreError;

#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

const SCHEMA: &str = r#"
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;
CREATE TABLE IF NOT EXISTS tenants (
    id          TEXT PRIMARY KEY,
    body        TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    hash        TEXT PRIMARY KEY,
    key_id      TEXT NOT NULL,
    tenant_id   TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS api_keys_tenant ON api_keys (tenant_id, key_id);
CREATE TABLE IF NOT EXISTS datasets (
    tenant_id   TEXT NOT NULL,
    id          TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name_key)
);
"#;

pub(crate) fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::backend(e)
}

pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation
    )
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(backend)?;
        Self::init(conn)
    }

    /// A private in-memory store (tests).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory().map_err(backend)?)
    }

    fn init(mut conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(backend)?;
        conn.execute_batch(SCHEMA).map_err(backend)?;
        crate::sqlite_docs::migrate(&mut conn)?;
        conn.execute_batch(crate::sqlite_docs::SCHEMA)
            .map_err(backend)?;
        conn.execute_batch(crate::sqlite_chats::SCHEMA)
            .map_err(backend)?;
        conn.execute_batch(crate::sqlite_memories::SCHEMA)
            .map_err(backend)?;
        conn.execute_batch(crate::sqlite_files::SCHEMA)
            .map_err(backend)?;
        conn.execute_batch(crate::sqlite_searches::SCHEMA)
            .map_err(backend)?;
        conn.execute_batch(crate::sqlite_agents::SCHEMA)
            .map_err(backend)?;
        conn.execute_batch(crate::sqlite_tasks::SCHEMA)
            .map_err(backend)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// A read of a few rows by key, run on the calling thread when the connection is free,
    /// else as [`Self::with`] runs it. Such a read takes tens of microseconds (in WAL mode a
    /// reader never waits for a writer, in this process or another), less than handing it
    /// to the blocking pool and back costs: every API request authenticates, and a
    /// retrieval also reads its datasets and documents this way (docs/benchmarks.md,
    /// "Fifth round").
    pub(crate) async fn with_lookup<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        if let Ok(mut conn) = self.conn.try_lock() {
            return f(&mut conn);
        }
        self.with(f).await
    }

    /// Run blocking SQLite work off the async threads.
    pub(crate) async fn with<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Backend("sqlite connection lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("sqlite task failed: {e}")))?
    }
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(body: String) -> Result<T, StoreError> {
    Ok(serde_json::from_str(&body)?)
}

#[async_trait]
impl TenantStore for SqliteStore {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let body = serde_json::to_string(tenant)?;
        let id = tenant.id.clone();
        self.with(move |c| {
            c.execute(
                "INSERT INTO tenants (id, body) VALUES (?1, ?2)",
                params![id, body],
            )
            .map(|_| ())
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict(format!("tenant {id} exists"))
                } else {
                    backend(e)
                }
            })
        })
        .await
    }

    async fn get_tenant(&self, tenant_id: &str) -> Result<Option<Tenant>, StoreError> {
        let id = tenant_id.to_string();
        self.with_lookup(move |c| {
            let body: Option<String> = c
                .query_row("SELECT body FROM tenants WHERE id = ?1", [id], |r| r.get(0))
                .optional()
                .map_err(backend)?;
            body.map(decode).transpose()
        })
        .await
    }

    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let body = serde_json::to_string(tenant)?;
        let id = tenant.id.clone();
        self.with(move |c| {
            let n = c
                .execute(
                    "UPDATE tenants SET body = ?2 WHERE id = ?1",
                    params![id, body],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("tenant {id}")));
            }
            Ok(())
        })
        .await
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        self.with(|c| {
            let mut stmt = c
                .prepare("SELECT body FROM tenants ORDER BY rowid")
                .map_err(backend)?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(backend)?;
            rows.map(|r| r.map_err(backend).and_then(decode)).collect()
        })
        .await
    }
}

#[async_trait]
impl ApiKeyStore for SqliteStore {
    async fn add_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let body = serde_json::to_string(key)?;
        let k = key.clone();
        self.with(move |c| {
            c.execute(
                "INSERT INTO api_keys (hash, key_id, tenant_id, body) VALUES (?1, ?2, ?3, ?4)",
                params![k.hash, k.key_id, k.tenant_id, body],
            )
            .map(|_| ())
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict("api key exists".into())
                } else {
                    backend(e)
                }
            })
        })
        .await
    }

    async fn tenant_for_key_hash(&self, hash: &str) -> Result<Option<String>, StoreError> {
        let hash = hash.to_string();
        self.with_lookup(move |c| {
            c.query_row(
                "SELECT tenant_id FROM api_keys WHERE hash = ?1",
                [hash],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn key_for_hash(&self, hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let hash = hash.to_string();
        let body: Option<String> = self
            .with(move |c| {
                c.query_row("SELECT body FROM api_keys WHERE hash = ?1", [hash], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(backend)
            })
            .await?;
        body.map(decode).transpose()
    }

    async fn set_key_generation(
        &self,
        tenant_id: &str,
        key_id: &str,
        generation: ClientGeneration,
    ) -> Result<bool, StoreError> {
        let (t, k) = (tenant_id.to_string(), key_id.to_string());
        self.with_lookup(move |c| {
            let tx = c.transaction().map_err(backend)?;
            let body: Option<String> = tx
                .query_row(
                    "SELECT body FROM api_keys WHERE tenant_id = ?1 AND key_id = ?2",
                    params![t, k],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            let Some(body) = body else {
                return Ok(false);
            };
            let mut rec: ApiKeyRecord = decode(body)?;
            rec.generation = generation;
            let body = serde_json::to_string(&rec)?;
            tx.execute(
                "UPDATE api_keys SET body = ?3 WHERE tenant_id = ?1 AND key_id = ?2",
                params![t, k, body],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(true)
        })
        .await
    }

    async fn list_keys(&self, tenant_id: &str) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let t = tenant_id.to_string();
        self.with(move |c| {
            let mut stmt = c
                .prepare("SELECT body FROM api_keys WHERE tenant_id = ?1 ORDER BY rowid")
                .map_err(backend)?;
            let rows = stmt
                .query_map([t], |r| r.get::<_, String>(0))
                .map_err(backend)?;
            rows.map(|r| r.map_err(backend).and_then(decode)).collect()
        })
        .await
    }

    async fn revoke_key(&self, tenant_id: &str, key_id: &str) -> Result<bool, StoreError> {
        let (t, k) = (tenant_id.to_string(), key_id.to_string());
        self.with(move |c| {
            c.execute(
                "DELETE FROM api_keys WHERE tenant_id = ?1 AND key_id = ?2",
                params![t, k],
            )
            .map(|n| n > 0)
            .map_err(backend)
        })
        .await
    }
}

fn conflict_or_backend(e: rusqlite::Error, what: &str) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict(what.to_string())
    } else {
        backend(e)
    }
}

#[async_trait]
impl DatasetStore for SqliteStore {
    async fn insert_dataset(&self, dataset: &Dataset) -> Result<(), StoreError> {
        let body = serde_json::to_string(dataset)?;
        let d = dataset.clone();
        self.with(move |c| {
            c.execute(
                "INSERT INTO datasets (tenant_id, id, name_key, create_time, update_time, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    d.tenant_id,
                    d.id,
                    Dataset::name_key(&d.name),
                    d.create_time,
                    d.update_time,
                    body
                ],
            )
            .map(|_| ())
            .map_err(|e| conflict_or_backend(e, "dataset name or id taken"))
        })
        .await
    }

    async fn get_dataset(&self, tenant_id: &str, id: &str) -> Result<Option<Dataset>, StoreError> {
        let (t, id) = (tenant_id.to_string(), id.to_string());
        self.with_lookup(move |c| {
            let body: Option<String> = c
                .query_row(
                    "SELECT body FROM datasets WHERE tenant_id = ?1 AND id = ?2",
                    params![t, id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            body.map(decode).transpose()
        })
        .await
    }

    async fn find_dataset_by_name(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<Option<Dataset>, StoreError> {
        let (t, key) = (tenant_id.to_string(), Dataset::name_key(name));
        self.with(move |c| {
            let body: Option<String> = c
                .query_row(
                    "SELECT body FROM datasets WHERE tenant_id = ?1 AND name_key = ?2",
                    params![t, key],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            body.map(decode).transpose()
        })
        .await
    }

    async fn list_datasets(
        &self,
        tenant_id: &str,
        query: &DatasetListQuery,
    ) -> Result<(Vec<Dataset>, u64), StoreError> {
        let t = tenant_id.to_string();
        let q = query.clone();
        self.with(move |c| {
            let column = match q.orderby {
                DatasetOrder::CreateTime => "create_time",
                DatasetOrder::UpdateTime => "update_time",
            };
            let dir = if q.desc { "DESC" } else { "ASC" };
            let filter =
                "tenant_id = ?1 AND (?2 IS NULL OR id = ?2) AND (?3 IS NULL OR name_key = ?3)";
            let name_key = q.name.as_deref().map(Dataset::name_key);
            let total: i64 = c
                .query_row(
                    &format!("SELECT COUNT(*) FROM datasets WHERE {filter}"),
                    params![t, q.id, name_key],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            let limit = i64::try_from(q.page_size).unwrap_or(i64::MAX);
            let offset = i64::try_from(q.page.saturating_sub(1).saturating_mul(q.page_size))
                .unwrap_or(i64::MAX);
            let sql = format!(
                "SELECT body FROM datasets WHERE {filter}
                 ORDER BY {column} {dir}, id {dir} LIMIT ?4 OFFSET ?5"
            );
            let mut stmt = c.prepare(&sql).map_err(backend)?;
            let rows = stmt
                .query_map(params![t, q.id, name_key, limit, offset], |r| {
                    r.get::<_, String>(0)
                })
                .map_err(backend)?;
            let page: Result<Vec<Dataset>, StoreError> =
                rows.map(|r| r.map_err(backend).and_then(decode)).collect();
            Ok((page?, total as u64))
        })
        .await
    }

    async fn update_dataset(&self, dataset: &Dataset) -> Result<(), StoreError> {
        let body = serde_json::to_string(dataset)?;
        let d = dataset.clone();
        self.with(move |c| {
            let n = c
                .execute(
                    "UPDATE datasets SET name_key = ?3, update_time = ?4, body = ?5
                     WHERE tenant_id = ?1 AND id = ?2",
                    params![
                        d.tenant_id,
                        d.id,
                        Dataset::name_key(&d.name),
                        d.update_time,
                        body
                    ],
                )
                .map_err(|e| conflict_or_backend(e, "dataset name taken"))?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("dataset {}", d.id)));
            }
            Ok(())
        })
        .await
    }

    async fn delete_dataset(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        let (t, id) = (tenant_id.to_string(), id.to_string());
        self.with(move |c| {
            c.execute(
                "DELETE FROM datasets WHERE tenant_id = ?1 AND id = ?2",
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
    async fn conformance_in_memory() {
        let store = SqliteStore::in_memory().expect("open");
        lambdarag::ports::conformance::run_all(&store).await;
    }

    #[tokio::test]
    async fn conformance_on_disk_and_survives_reopen() {
        let dir = std::env::temp_dir().join(format!(
            "lambdarag-sqlite-{}",
            lambdarag::contract::ids::new_id()
        ));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("meta.sqlite3");
        {
            let store = SqliteStore::open(&path).expect("open");
            lambdarag::ports::conformance::run_all(&store).await;
        }
        let store = SqliteStore::open(&path).expect("reopen");
        assert!(!store.list_tenants().await.expect("list").is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
