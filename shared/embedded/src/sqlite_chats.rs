//! Chats and sessions on the SQLite metadata store. As for the other tables, the record is
//! kept as JSON beside the columns that are filtered, ordered or must be unique.
//!
//! Chat names are unique among a tenant's *live* chats: a partial unique index
//! (`WHERE status = '1'`) lets a soft-deleted chat keep its row while freeing its name.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use lambdarag::contract::time::now_ms;
use lambdarag::ports::chat::{
    Chat, ChatListQuery, ChatStore, ListOrder, Session, SessionListQuery, STATUS_DELETED,
    STATUS_VALID,
};
use lambdarag::StoreError;

use crate::sqlite::{backend, decode, is_unique_violation, SqliteStore};

/// The chat tables, created by `SqliteStore::init` with the rest of the schema.
/// `CREATE ... IF NOT EXISTS` throughout, so opening a data dir made before chats existed
/// adds them, and reopening is a no-op.
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS chats (
    tenant_id   TEXT NOT NULL,
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    status      TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX IF NOT EXISTS chats_live_name
    ON chats (tenant_id, name_key) WHERE status = '1';
CREATE TABLE IF NOT EXISTS chat_sessions (
    tenant_id   TEXT NOT NULL,
    chat_id     TEXT NOT NULL,
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, chat_id, id)
);
CREATE INDEX IF NOT EXISTS chat_sessions_by_create_time
    ON chat_sessions (tenant_id, chat_id, create_time);
"#;

fn chat_conflict(e: rusqlite::Error, chat: &Chat) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict(format!(
            "chat name '{}' or id {} is already used by tenant {}",
            chat.name, chat.id, chat.tenant_id
        ))
    } else {
        backend(e)
    }
}

fn order_sql(order: ListOrder, desc: bool) -> String {
    let dir = if desc { "DESC" } else { "ASC" };
    let column = match order {
        ListOrder::CreateTime => "create_time",
        ListOrder::UpdateTime => "update_time",
        ListOrder::Name => "name",
        ListOrder::Id => "id",
    };
    // Ties broken by id in the same direction, as `ChatListQuery::apply` does; `name`
    // compares with the BINARY collation (UTF-8 bytes), like Rust's `str` ordering.
    format!("ORDER BY {column} {dir}, id {dir}")
}

/// LIMIT / OFFSET of a 1-based page (page 0 counts as page 1).
fn limit_offset(page: u64, page_size: u64) -> (i64, i64) {
    let limit = i64::try_from(page_size).unwrap_or(i64::MAX);
    let offset = page.max(1).saturating_sub(1).saturating_mul(page_size);
    (limit, i64::try_from(offset).unwrap_or(i64::MAX))
}

fn collect<T: serde::de::DeserializeOwned>(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = c.prepare(sql).map_err(backend)?;
    let rows = stmt
        .query_map(params, |r| r.get::<_, String>(0))
        .map_err(backend)?;
    rows.map(|r| r.map_err(backend).and_then(decode)).collect()
}

#[async_trait]
impl ChatStore for SqliteStore {
    async fn insert_chat(&self, chat: &Chat) -> Result<(), StoreError> {
        let body = serde_json::to_string(chat)?;
        let c0 = chat.clone();
        self.with(move |c| {
            c.execute(
                "INSERT INTO chats (tenant_id, id, name, name_key, status, create_time,
                     update_time, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    c0.tenant_id,
                    c0.id,
                    c0.name,
                    Chat::name_key(&c0.name),
                    c0.status,
                    c0.create_time,
                    c0.update_time,
                    body
                ],
            )
            .map(|_| ())
            .map_err(|e| chat_conflict(e, &c0))
        })
        .await
    }

    async fn get_chat(&self, tenant_id: &str, id: &str) -> Result<Option<Chat>, StoreError> {
        let (t, id) = (tenant_id.to_string(), id.to_string());
        self.with(move |c| {
            let body: Option<String> = c
                .query_row(
                    "SELECT body FROM chats WHERE tenant_id = ?1 AND id = ?2 AND status = ?3",
                    params![t, id, STATUS_VALID],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            body.map(decode).transpose()
        })
        .await
    }

    async fn find_chat_by_name(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<Option<Chat>, StoreError> {
        let (t, key) = (tenant_id.to_string(), Chat::name_key(name));
        self.with(move |c| {
            let body: Option<String> = c
                .query_row(
                    "SELECT body FROM chats
                     WHERE tenant_id = ?1 AND name_key = ?2 AND status = ?3",
                    params![t, key, STATUS_VALID],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            body.map(decode).transpose()
        })
        .await
    }

    async fn list_chats(
        &self,
        tenant_id: &str,
        query: &ChatListQuery,
    ) -> Result<Vec<Chat>, StoreError> {
        if query.page_size == 0 {
            return Ok(Vec::new());
        }
        let (t, q) = (tenant_id.to_string(), query.clone());
        self.with(move |c| {
            let (limit, offset) = limit_offset(q.page, q.page_size);
            let sql = format!(
                "SELECT body FROM chats
                 WHERE tenant_id = ?1 AND status = ?2
                   AND (?3 IS NULL OR id = ?3)
                   AND (?4 IS NULL OR name_key = ?4)
                 {} LIMIT ?5 OFFSET ?6",
                order_sql(q.orderby, q.desc)
            );
            collect(
                c,
                &sql,
                params![
                    t,
                    STATUS_VALID,
                    q.id,
                    q.name.as_deref().map(Chat::name_key),
                    limit,
                    offset
                ],
            )
        })
        .await
    }

    async fn update_chat(&self, chat: &Chat) -> Result<(), StoreError> {
        let body = serde_json::to_string(chat)?;
        let c0 = chat.clone();
        self.with(move |c| {
            let n = c
                .execute(
                    "UPDATE chats SET name = ?3, name_key = ?4, status = ?5, create_time = ?6,
                         update_time = ?7, body = ?8
                     WHERE tenant_id = ?1 AND id = ?2 AND status = ?9",
                    params![
                        c0.tenant_id,
                        c0.id,
                        c0.name,
                        Chat::name_key(&c0.name),
                        c0.status,
                        c0.create_time,
                        c0.update_time,
                        body,
                        STATUS_VALID
                    ],
                )
                .map_err(|e| chat_conflict(e, &c0))?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("chat {}", c0.id)));
            }
            Ok(())
        })
        .await
    }

    async fn delete_chat(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        let (t, id) = (tenant_id.to_string(), id.to_string());
        let now = now_ms();
        self.with(move |c| {
            c.execute(
                "UPDATE chats SET status = ?3, update_time = ?4,
                     body = json_set(body, '$.status', ?3, '$.update_time', ?4)
                 WHERE tenant_id = ?1 AND id = ?2 AND status = ?5",
                params![t, id, STATUS_DELETED, now, STATUS_VALID],
            )
            .map(|n| n > 0)
            .map_err(backend)
        })
        .await
    }

    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        let body = serde_json::to_string(session)?;
        let s = session.clone();
        self.with(move |c| {
            c.execute(
                "INSERT INTO chat_sessions (tenant_id, chat_id, id, name, name_key, user_id,
                     create_time, update_time, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    s.tenant_id,
                    s.chat_id,
                    s.id,
                    s.name,
                    s.name.to_lowercase(),
                    s.user_id,
                    s.create_time,
                    s.update_time,
                    body
                ],
            )
            .map(|_| ())
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict(format!("session {} exists", s.id))
                } else {
                    backend(e)
                }
            })
        })
        .await
    }

    async fn get_session(
        &self,
        tenant_id: &str,
        chat_id: &str,
        id: &str,
    ) -> Result<Option<Session>, StoreError> {
        let (t, chat, id) = (tenant_id.to_string(), chat_id.to_string(), id.to_string());
        self.with(move |c| {
            let body: Option<String> = c
                .query_row(
                    "SELECT body FROM chat_sessions
                     WHERE tenant_id = ?1 AND chat_id = ?2 AND id = ?3",
                    params![t, chat, id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            body.map(decode).transpose()
        })
        .await
    }

    async fn list_sessions(
        &self,
        tenant_id: &str,
        chat_id: &str,
        query: &SessionListQuery,
    ) -> Result<Vec<Session>, StoreError> {
        if query.page_size == 0 {
            return Ok(Vec::new());
        }
        let (t, chat, q) = (tenant_id.to_string(), chat_id.to_string(), query.clone());
        self.with(move |c| {
            let (limit, offset) = limit_offset(q.page, q.page_size);
            let sql = format!(
                "SELECT body FROM chat_sessions
                 WHERE tenant_id = ?1 AND chat_id = ?2
                   AND (?3 IS NULL OR id = ?3)
                   AND (?4 IS NULL OR name_key = ?4)
                   AND (?5 IS NULL OR user_id = ?5)
                 {} LIMIT ?6 OFFSET ?7",
                order_sql(q.orderby, q.desc)
            );
            collect(
                c,
                &sql,
                params![
                    t,
                    chat,
                    q.id,
                    q.name.as_deref().map(str::to_lowercase),
                    q.user_id,
                    limit,
                    offset
                ],
            )
        })
        .await
    }

    async fn update_session(&self, session: &Session) -> Result<(), StoreError> {
        let body = serde_json::to_string(session)?;
        let s = session.clone();
        self.with(move |c| {
            let n = c
                .execute(
                    "UPDATE chat_sessions SET name = ?4, name_key = ?5, user_id = ?6,
                         create_time = ?7, update_time = ?8, body = ?9
                     WHERE tenant_id = ?1 AND chat_id = ?2 AND id = ?3",
                    params![
                        s.tenant_id,
                        s.chat_id,
                        s.id,
                        s.name,
                        s.name.to_lowercase(),
                        s.user_id,
                        s.create_time,
                        s.update_time,
                        body
                    ],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("session {}", s.id)));
            }
            Ok(())
        })
        .await
    }

    async fn delete_session(
        &self,
        tenant_id: &str,
        chat_id: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let (t, chat, id) = (tenant_id.to_string(), chat_id.to_string(), id.to_string());
        self.with(move |c| {
            c.execute(
                "DELETE FROM chat_sessions WHERE tenant_id = ?1 AND chat_id = ?2 AND id = ?3",
                params![t, chat, id],
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
        lambdarag::ports::conformance_chats::run_all(&store).await;
    }

    #[tokio::test]
    async fn conformance_on_disk_and_survives_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("meta.sqlite3");
        let chat = lambdarag::ports::conformance_chats::sample_chat("t", "kept");
        {
            let store = SqliteStore::open(&path).expect("open");
            lambdarag::ports::conformance_chats::run_all(&store).await;
            store.insert_chat(&chat).await.expect("insert");
        }
        let store = SqliteStore::open(&path).expect("reopen");
        assert_eq!(
            store.get_chat("t", &chat.id).await.expect("get"),
            Some(chat)
        );
    }

    /// A data dir written before chats existed has no chat tables: opening it adds them.
    #[tokio::test]
    async fn opening_a_data_dir_from_before_chats_creates_the_tables() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("meta.sqlite3");
        {
            let c = Connection::open(&path).expect("raw open");
            c.execute_batch(crate::sqlite_docs::SCHEMA)
                .expect("old schema");
        }
        let store = SqliteStore::open(&path).expect("open");
        let chat = lambdarag::ports::conformance_chats::sample_chat("t", "first");
        store.insert_chat(&chat).await.expect("insert");
        assert_eq!(
            store.get_chat("t", &chat.id).await.expect("get"),
            Some(chat)
        );
    }
}
