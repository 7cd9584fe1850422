//! Tables that keep one JSON record per `(tenant_id, id)` in a `body` column (search apps,
//! agent canvases, dataset tasks): their inserts, reads, listings, updates and deletes are
//! the same statements over another table name.

use rusqlite::{params, OptionalExtension};
use serde::de::DeserializeOwned;
use serde::Serialize;

use lambdarag::StoreError;

use crate::sqlite::{backend, decode, is_unique_violation, SqliteStore};

/// A `(tenant_id, id, body)` table; `what` names its records in error messages.
#[derive(Clone, Copy)]
pub(crate) struct RecordTable {
    pub table: &'static str,
    pub what: &'static str,
}

impl RecordTable {
    /// `Conflict` if the tenant already has this id.
    pub async fn insert<R: Serialize>(
        self,
        store: &SqliteStore,
        tenant_id: &str,
        id: &str,
        record: &R,
    ) -> Result<(), StoreError> {
        let body = serde_json::to_string(record)?;
        let (t, id) = (tenant_id.to_string(), id.to_string());
        store
            .with(move |c| {
                let sql = format!(
                    "INSERT INTO {} (tenant_id, id, body) VALUES (?1, ?2, ?3)",
                    self.table
                );
                c.execute(&sql, params![t, id, body])
                    .map(|_| ())
                    .map_err(|e| {
                        if is_unique_violation(&e) {
                            StoreError::Conflict(format!("{} {id} exists", self.what))
                        } else {
                            backend(e)
                        }
                    })
            })
            .await
    }

    pub async fn get<R: DeserializeOwned + Send + 'static>(
        self,
        store: &SqliteStore,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<R>, StoreError> {
        let (t, id) = (tenant_id.to_string(), id.to_string());
        store
            .with(move |c| {
                let sql = format!(
                    "SELECT body FROM {} WHERE tenant_id = ?1 AND id = ?2",
                    self.table
                );
                let body: Option<String> = c
                    .query_row(&sql, params![t, id], |r| r.get(0))
                    .optional()
                    .map_err(backend)?;
                body.map(decode).transpose()
            })
            .await
    }

    /// Every record of the tenant, in no particular order.
    pub async fn list<R: DeserializeOwned + Send + 'static>(
        self,
        store: &SqliteStore,
        tenant_id: &str,
    ) -> Result<Vec<R>, StoreError> {
        let t = tenant_id.to_string();
        store
            .with(move |c| {
                let sql = format!("SELECT body FROM {} WHERE tenant_id = ?1", self.table);
                let mut stmt = c.prepare(&sql).map_err(backend)?;
                let rows = stmt
                    .query_map(params![t], |r| r.get::<_, String>(0))
                    .map_err(backend)?;
                rows.map(|r| r.map_err(backend).and_then(decode)).collect()
            })
            .await
    }

    /// Replace a record; `NotFound` if it is gone.
    pub async fn update<R: Serialize>(
        self,
        store: &SqliteStore,
        tenant_id: &str,
        id: &str,
        record: &R,
    ) -> Result<(), StoreError> {
        let body = serde_json::to_string(record)?;
        let (t, id) = (tenant_id.to_string(), id.to_string());
        store
            .with(move |c| {
                let sql = format!(
                    "UPDATE {} SET body = ?3 WHERE tenant_id = ?1 AND id = ?2",
                    self.table
                );
                let n = c.execute(&sql, params![t, id, body]).map_err(backend)?;
                if n == 0 {
                    return Err(StoreError::NotFound(format!("{} {id}", self.what)));
                }
                Ok(())
            })
            .await
    }

    /// True if it existed.
    pub async fn delete(
        self,
        store: &SqliteStore,
        tenant_id: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let (t, id) = (tenant_id.to_string(), id.to_string());
        store
            .with(move |c| {
                let sql = format!(
                    "DELETE FROM {} WHERE tenant_id = ?1 AND id = ?2",
                    self.table
                );
                c.execute(&sql, params![t, id])
                    .map(|n| n > 0)
                    .map_err(backend)
            })
            .await
    }
}
