//! The file manager's tree and file→document links on the SQLite metadata store. As for
//! the other tables, the record is kept as JSON beside the columns that are filtered or
//! must be unique.
//!
//! Names are unique per folder through a unique index on `(tenant_id, parent_id, name)`;
//! the root (its own parent) is left out of it and has its own unique index per tenant,
//! so concurrent first uses agree on one root.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};

use lambdarag::ports::files::{FileLink, FileRecord, FileStore};
use lambdarag::StoreError;

use crate::sqlite::{backend, decode, is_unique_violation, SqliteStore};

/// Created by `SqliteStore::init` with the rest of the schema; `IF NOT EXISTS` throughout,
/// so a data dir made before files existed gains the tables on open.
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS files (
    tenant_id   TEXT NOT NULL,
    id          TEXT NOT NULL,
    parent_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    is_root     INTEGER NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX IF NOT EXISTS files_name
    ON files (tenant_id, parent_id, name) WHERE is_root = 0;
CREATE UNIQUE INDEX IF NOT EXISTS files_root
    ON files (tenant_id) WHERE is_root = 1;
CREATE TABLE IF NOT EXISTS file_links (
    tenant_id   TEXT NOT NULL,
    file_id     TEXT NOT NULL,
    document_id TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, file_id, document_id)
);
"#;

fn conflict(e: rusqlite::Error, what: String) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict(what)
    } else {
        backend(e)
    }
}

fn one(
    c: &rusqlite::Connection,
    sql: &str,
    p: impl rusqlite::Params,
) -> Result<Option<FileRecord>, StoreError> {
    c.query_row(sql, p, |r| r.get::<_, String>(0))
        .optional()
        .map_err(backend)?
        .map(decode)
        .transpose()
}

fn many<T: serde::de::DeserializeOwned>(
    c: &rusqlite::Connection,
    sql: &str,
    p: impl rusqlite::Params,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = c.prepare(sql).map_err(backend)?;
    let rows = stmt
        .query_map(p, |r| r.get::<_, String>(0))
        .map_err(backend)?;
    rows.map(|r| r.map_err(backend).and_then(decode)).collect()
}

#[async_trait]
impl FileStore for SqliteStore {
    async fn ensure_root(&self, candidate: &FileRecord) -> Result<FileRecord, StoreError> {
        let body = serde_json::to_string(candidate)?;
        let f = candidate.clone();
        self.with(move |c| {
            // The root index makes a second root a no-op; then read whichever won.
            c.execute(
                "INSERT OR IGNORE INTO files (tenant_id, id, parent_id, name, is_root, body)
                 VALUES (?1, ?2, ?3, ?4, 1, ?5)",
                params![f.tenant_id, f.id, f.parent_id, f.name, body],
            )
            .map_err(backend)?;
            one(
                c,
                "SELECT body FROM files WHERE tenant_id = ?1 AND is_root = 1",
                params![f.tenant_id],
            )?
            .ok_or_else(|| StoreError::Backend(format!("no root for tenant {}", f.tenant_id)))
        })
        .await
    }

    async fn insert_file(&self, file: &FileRecord) -> Result<(), StoreError> {
        let body = serde_json::to_string(file)?;
        let f = file.clone();
        self.with(move |c| {
            c.execute(
                "INSERT INTO files (tenant_id, id, parent_id, name, is_root, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    f.tenant_id,
                    f.id,
                    f.parent_id,
                    f.name,
                    i64::from(f.is_root()),
                    body
                ],
            )
            .map(|_| ())
            .map_err(|e| {
                conflict(
                    e,
                    format!("file {} or name '{}' in {}", f.id, f.name, f.parent_id),
                )
            })
        })
        .await
    }

    async fn get_file(&self, tenant_id: &str, id: &str) -> Result<Option<FileRecord>, StoreError> {
        let (t, id) = (tenant_id.to_string(), id.to_string());
        self.with(move |c| {
            one(
                c,
                "SELECT body FROM files WHERE tenant_id = ?1 AND id = ?2",
                params![t, id],
            )
        })
        .await
    }

    async fn find_child(
        &self,
        tenant_id: &str,
        parent_id: &str,
        name: &str,
    ) -> Result<Option<FileRecord>, StoreError> {
        let (t, p, n) = (
            tenant_id.to_string(),
            parent_id.to_string(),
            name.to_string(),
        );
        self.with(move |c| {
            one(
                c,
                "SELECT body FROM files
                 WHERE tenant_id = ?1 AND parent_id = ?2 AND name = ?3 AND is_root = 0",
                params![t, p, n],
            )
        })
        .await
    }

    async fn list_children(
        &self,
        tenant_id: &str,
        parent_id: &str,
    ) -> Result<Vec<FileRecord>, StoreError> {
        let (t, p) = (tenant_id.to_string(), parent_id.to_string());
        self.with(move |c| {
            many(
                c,
                "SELECT body FROM files WHERE tenant_id = ?1 AND parent_id = ?2 AND is_root = 0",
                params![t, p],
            )
        })
        .await
    }

    async fn update_file(&self, file: &FileRecord) -> Result<(), StoreError> {
        let body = serde_json::to_string(file)?;
        let f = file.clone();
        self.with(move |c| {
            let n = c
                .execute(
                    "UPDATE files SET parent_id = ?3, name = ?4, body = ?5
                     WHERE tenant_id = ?1 AND id = ?2",
                    params![f.tenant_id, f.id, f.parent_id, f.name, body],
                )
                .map_err(|e| conflict(e, format!("name '{}' in {}", f.name, f.parent_id)))?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("file {}", f.id)));
            }
            Ok(())
        })
        .await
    }

    async fn delete_file(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        let (t, id) = (tenant_id.to_string(), id.to_string());
        self.with(move |c| {
            c.execute(
                "DELETE FROM files WHERE tenant_id = ?1 AND id = ?2",
                params![t, id],
            )
            .map(|n| n > 0)
            .map_err(backend)
        })
        .await
    }

    async fn insert_link(&self, link: &FileLink) -> Result<(), StoreError> {
        let body = serde_json::to_string(link)?;
        let l = link.clone();
        self.with(move |c| {
            c.execute(
                "INSERT INTO file_links (tenant_id, file_id, document_id, body)
                 VALUES (?1, ?2, ?3, ?4)",
                params![l.tenant_id, l.file_id, l.document_id, body],
            )
            .map(|_| ())
            .map_err(|e| {
                conflict(
                    e,
                    format!("file {} is already linked to {}", l.file_id, l.document_id),
                )
            })
        })
        .await
    }

    async fn links_of_file(
        &self,
        tenant_id: &str,
        file_id: &str,
    ) -> Result<Vec<FileLink>, StoreError> {
        let (t, f) = (tenant_id.to_string(), file_id.to_string());
        self.with(move |c| {
            many(
                c,
                "SELECT body FROM file_links WHERE tenant_id = ?1 AND file_id = ?2",
                params![t, f],
            )
        })
        .await
    }

    async fn delete_link(
        &self,
        tenant_id: &str,
        file_id: &str,
        document_id: &str,
    ) -> Result<bool, StoreError> {
        let (t, f, d) = (
            tenant_id.to_string(),
            file_id.to_string(),
            document_id.to_string(),
        );
        self.with(move |c| {
            c.execute(
                "DELETE FROM file_links WHERE tenant_id = ?1 AND file_id = ?2 AND document_id = ?3",
                params![t, f, d],
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
        let store = SqliteStore::in_memory().expect("store");
        lambdarag::ports::conformance_files::run_all(&store).await;
    }

    #[tokio::test]
    async fn conformance_on_disk_and_survives_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("meta.sqlite3");
        let root = lambdarag::ports::conformance_files::sample_root("t");
        {
            let store = SqliteStore::open(&path).expect("open");
            lambdarag::ports::conformance_files::run_all(&store).await;
            store.ensure_root(&root).await.expect("root");
        }
        let store = SqliteStore::open(&path).expect("reopen");
        assert_eq!(
            store.get_file("t", &root.id).await.expect("get"),
            Some(root)
        );
    }
}
