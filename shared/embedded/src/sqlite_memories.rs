//! Memories and their messages on the SQLite metadata store. The record is kept as JSON
//! beside the columns that are keyed, filtered or unique, as for the other tables.
//!
//! `next_message_id` on the memory row hands out message ids; it only grows, so an id is
//! never reused after its message is deleted. Every statement names the tenant.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use lambdarag::ports::memory::{Memory, MemoryListQuery, MemoryMessage, MemoryStore, MessagePatch};
use lambdarag::StoreError;

use crate::sqlite::{backend, decode, is_unique_violation, SqliteStore};

/// Created by `SqliteStore::init`; `IF NOT EXISTS`, so older data dirs gain the tables.
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS memories (
    tenant_id       TEXT NOT NULL,
    id              TEXT NOT NULL,
    name_key        TEXT NOT NULL,
    next_message_id INTEGER NOT NULL DEFAULT 1,
    body            TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name_key)
);
CREATE TABLE IF NOT EXISTS memory_messages (
    tenant_id  TEXT NOT NULL,
    memory_id  TEXT NOT NULL,
    message_id INTEGER NOT NULL,
    body       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, memory_id, message_id)
);
"#;

fn memory_conflict(e: rusqlite::Error, m: &Memory) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict(format!(
            "memory name '{}' or id {} is already used by tenant {}",
            m.name, m.id, m.tenant_id
        ))
    } else {
        backend(e)
    }
}

fn bodies(c: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<Vec<String>, StoreError> {
    let mut stmt = c.prepare(sql).map_err(backend)?;
    let rows = stmt
        .query_map(p, |r| r.get::<_, String>(0))
        .map_err(backend)?;
    rows.map(|r| r.map_err(backend)).collect()
}

fn message_body(
    c: &Connection,
    tenant_id: &str,
    memory_id: &str,
    message_id: i64,
) -> Result<Option<String>, StoreError> {
    c.query_row(
        "SELECT body FROM memory_messages
         WHERE tenant_id = ?1 AND memory_id = ?2 AND message_id = ?3",
        params![tenant_id, memory_id, message_id],
        |r| r.get(0),
    )
    .optional()
    .map_err(backend)
}

#[async_trait]
impl MemoryStore for SqliteStore {
    async fn insert_memory(&self, memory: &Memory) -> Result<(), StoreError> {
        let body = serde_json::to_string(memory)?;
        let m = memory.clone();
        self.with(move |c| {
            c.execute(
                "INSERT INTO memories (tenant_id, id, name_key, body) VALUES (?1, ?2, ?3, ?4)",
                params![m.tenant_id, m.id, Memory::name_key(&m.name), body],
            )
            .map(|_| ())
            .map_err(|e| memory_conflict(e, &m))
        })
        .await
    }

    async fn get_memory(&self, tenant_id: &str, id: &str) -> Result<Option<Memory>, StoreError> {
        let (t, id) = (tenant_id.to_string(), id.to_string());
        self.with(move |c| {
            let body: Option<String> = c
                .query_row(
                    "SELECT body FROM memories WHERE tenant_id = ?1 AND id = ?2",
                    params![t, id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            body.map(decode).transpose()
        })
        .await
    }

    async fn find_memory_by_name(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<Option<Memory>, StoreError> {
        let (t, key) = (tenant_id.to_string(), Memory::name_key(name));
        self.with(move |c| {
            let body: Option<String> = c
                .query_row(
                    "SELECT body FROM memories WHERE tenant_id = ?1 AND name_key = ?2",
                    params![t, key],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            body.map(decode).transpose()
        })
        .await
    }

    async fn list_memories(
        &self,
        tenant_id: &str,
        query: &MemoryListQuery,
    ) -> Result<(Vec<Memory>, u64), StoreError> {
        let (t, q) = (tenant_id.to_string(), query.clone());
        self.with(move |c| {
            // A tenant has few memories: filter and page with the reference semantics.
            let all = bodies(c, "SELECT body FROM memories WHERE tenant_id = ?1", [&t])?
                .into_iter()
                .map(decode)
                .collect::<Result<Vec<Memory>, _>>()?;
            Ok(q.apply(all))
        })
        .await
    }

    async fn update_memory(&self, memory: &Memory) -> Result<(), StoreError> {
        let body = serde_json::to_string(memory)?;
        let m = memory.clone();
        self.with(move |c| {
            let n = c
                .execute(
                    "UPDATE memories SET name_key = ?3, body = ?4 WHERE tenant_id = ?1 AND id = ?2",
                    params![m.tenant_id, m.id, Memory::name_key(&m.name), body],
                )
                .map_err(|e| memory_conflict(e, &m))?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("memory {}", m.id)));
            }
            Ok(())
        })
        .await
    }

    async fn delete_memory(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        let (t, id) = (tenant_id.to_string(), id.to_string());
        self.with(move |c| {
            let tx = c.transaction().map_err(backend)?;
            let n = tx
                .execute(
                    "DELETE FROM memories WHERE tenant_id = ?1 AND id = ?2",
                    params![t, id],
                )
                .map_err(backend)?;
            tx.execute(
                "DELETE FROM memory_messages WHERE tenant_id = ?1 AND memory_id = ?2",
                params![t, id],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(n > 0)
        })
        .await
    }

    async fn reserve_message_ids(
        &self,
        tenant_id: &str,
        memory_id: &str,
        count: u64,
    ) -> Result<i64, StoreError> {
        let (t, id) = (tenant_id.to_string(), memory_id.to_string());
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        self.with(move |c| {
            let first: Option<i64> = c
                .query_row(
                    "UPDATE memories SET next_message_id = next_message_id + ?3
                     WHERE tenant_id = ?1 AND id = ?2
                     RETURNING next_message_id - ?3",
                    params![t, id, count],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            first.ok_or_else(|| StoreError::NotFound(format!("memory {id}")))
        })
        .await
    }

    async fn put_messages(
        &self,
        tenant_id: &str,
        memory_id: &str,
        messages: &[MemoryMessage],
    ) -> Result<(), StoreError> {
        let rows = messages
            .iter()
            .map(|m| Ok((m.message_id, serde_json::to_string(m)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let (t, mid) = (tenant_id.to_string(), memory_id.to_string());
        self.with(move |c| {
            let tx = c.transaction().map_err(backend)?;
            for (id, body) in rows {
                tx.execute(
                    "INSERT OR REPLACE INTO memory_messages (tenant_id, memory_id, message_id, body)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![t, mid, id, body],
                )
                .map_err(backend)?;
            }
            tx.commit().map_err(backend)
        })
        .await
    }

    async fn get_message(
        &self,
        tenant_id: &str,
        memory_id: &str,
        message_id: i64,
    ) -> Result<Option<MemoryMessage>, StoreError> {
        let (t, mid) = (tenant_id.to_string(), memory_id.to_string());
        self.with(move |c| {
            message_body(c, &t, &mid, message_id)?
                .map(decode)
                .transpose()
        })
        .await
    }

    async fn list_messages(
        &self,
        tenant_id: &str,
        memory_id: &str,
    ) -> Result<Vec<MemoryMessage>, StoreError> {
        let (t, mid) = (tenant_id.to_string(), memory_id.to_string());
        self.with(move |c| {
            bodies(
                c,
                "SELECT body FROM memory_messages WHERE tenant_id = ?1 AND memory_id = ?2
                 ORDER BY message_id",
                params![t, mid],
            )?
            .into_iter()
            .map(decode)
            .collect()
        })
        .await
    }

    async fn patch_message(
        &self,
        tenant_id: &str,
        memory_id: &str,
        message_id: i64,
        patch: &MessagePatch,
    ) -> Result<bool, StoreError> {
        let (t, mid, patch) = (tenant_id.to_string(), memory_id.to_string(), patch.clone());
        // Read and write under the one connection lock: no other writer comes between.
        self.with(move |c| {
            let Some(body) = message_body(c, &t, &mid, message_id)? else {
                return Ok(false);
            };
            let mut msg: MemoryMessage = decode(body)?;
            patch.apply_to(&mut msg);
            c.execute(
                "UPDATE memory_messages SET body = ?4
                 WHERE tenant_id = ?1 AND memory_id = ?2 AND message_id = ?3",
                params![t, mid, message_id, serde_json::to_string(&msg)?],
            )
            .map_err(backend)?;
            Ok(true)
        })
        .await
    }

    async fn delete_messages(
        &self,
        tenant_id: &str,
        memory_id: &str,
        message_ids: &[i64],
    ) -> Result<u64, StoreError> {
        let (t, mid, ids) = (
            tenant_id.to_string(),
            memory_id.to_string(),
            message_ids.to_vec(),
        );
        self.with(move |c| {
            let tx = c.transaction().map_err(backend)?;
            let mut n = 0u64;
            for id in ids {
                n += tx
                    .execute(
                        "DELETE FROM memory_messages
                         WHERE tenant_id = ?1 AND memory_id = ?2 AND message_id = ?3",
                        params![t, mid, id],
                    )
                    .map_err(backend)? as u64;
            }
            tx.commit().map_err(backend)?;
            Ok(n)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_store_passes_the_memory_conformance_suite() {
        let store = SqliteStore::in_memory().expect("store");
        lambdarag::ports::conformance_memories::run_all(&store).await;
    }

    #[tokio::test]
    async fn memories_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("meta.sqlite3");
        let m = lambdarag::ports::conformance_memories::sample_memory("t", "kept");
        {
            let store = SqliteStore::open(&path).expect("open");
            store.insert_memory(&m).await.expect("insert");
            store
                .reserve_message_ids("t", &m.id, 5)
                .await
                .expect("reserve");
        }
        let store = SqliteStore::open(&path).expect("reopen");
        assert_eq!(
            store.get_memory("t", &m.id).await.expect("get"),
            Some(m.clone())
        );
        assert_eq!(
            store
                .reserve_message_ids("t", &m.id, 1)
                .await
                .expect("reserve"),
            6,
            "the id counter is durable"
        );
    }
}
