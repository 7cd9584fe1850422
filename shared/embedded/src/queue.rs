//! The durable parse-task queue of the embedded mode: one SQLite table, SQS-like semantics.
//!
//! It lives in its own SQLite file (`<data_dir>/queue.sqlite3`), not in the metadata
//! database: the worker's receive/extend/ack traffic then never waits on SQLite's single
//! writer lock behind metadata writes (and vice versa), and no port offers a transaction
//! spanning a document and its task that sharing the file could serve.
//!
//! A receive hides a row until `visible_at` and gives it a fresh random receipt; ack and
//! extend match that receipt, so a consumer whose lease lapsed (and was handed to another)
//! gets `NotFound` instead of touching the new holder's lease. A task leased by a process
//! that died simply becomes visible again when its time is up.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use lambdarag::domain::QueuedTask;
use lambdarag::ports::{Lease, PollingQueue, TaskQueue};
use lambdarag::StoreError;

use crate::sqlite::backend;

const SCHEMA: &str = r#"
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS tasks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    body        TEXT NOT NULL,
    visible_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    receipt     TEXT,
    enqueued_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_visible ON tasks (visible_at, id);
CREATE UNIQUE INDEX IF NOT EXISTS tasks_receipt ON tasks (receipt);
"#;

#[derive(Clone)]
pub struct SqliteQueue {
    conn: Arc<Mutex<Connection>>,
}

/// Wall-clock epoch milliseconds: visibility deadlines must mean the same after a restart.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn new_receipt() -> String {
    format!("{:032x}", rand::random::<u128>())
}

impl SqliteQueue {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::init(Connection::open(path).map_err(backend)?)
    }

    /// A private in-memory queue (tests).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory().map_err(backend)?)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(Duration::from_secs(5)).map_err(backend)?;
        conn.execute_batch(SCHEMA).map_err(backend)?;
        Ok(SqliteQueue {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Run blocking SQLite work off the async threads.
    async fn with<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Backend("queue connection lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("queue task failed: {e}")))?
    }
}

#[async_trait]
impl TaskQueue for SqliteQueue {
    /// A count of the queue's rows: the queue database answers.
    async fn health(&self) -> Result<(), StoreError> {
        PollingQueue::pending(self).await.map(|_| ())
    }

    async fn enqueue_task(&self, task: &QueuedTask) -> Result<(), StoreError> {
        let body = serde_json::to_string(task)?;
        self.with(move |c| {
            let now = now_ms();
            c.execute(
                "INSERT INTO tasks (body, visible_at, enqueued_at) VALUES (?1, ?2, ?2)",
                params![body, now],
            )
            .map(|_| ())
            .map_err(backend)
        })
        .await
    }
}

#[async_trait]
impl PollingQueue for SqliteQueue {
    async fn receive(&self, visibility: Duration) -> Result<Option<Lease>, StoreError> {
        let hide = ms(visibility);
        self.with(move |c| {
            let now = now_ms();
            let receipt = new_receipt();
            // Pick and lease in one statement, so two receivers (even in two processes
            // sharing the file) can never get the same lease.
            let row: Option<(String, i64)> = c
                .query_row(
                    "UPDATE tasks
                     SET receipt = ?1, visible_at = ?2 + ?3, attempts = attempts + 1
                     WHERE id = (SELECT id FROM tasks WHERE visible_at <= ?2
                                 ORDER BY id LIMIT 1)
                     RETURNING body, attempts",
                    params![receipt, now, hide],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(backend)?;
            let Some((body, attempts)) = row else {
                return Ok(None);
            };
            Ok(Some(Lease {
                task: serde_json::from_str(&body)?,
                receipt,
                attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            }))
        })
        .await
    }

    async fn ack(&self, receipt: &str) -> Result<(), StoreError> {
        let receipt = receipt.to_string();
        self.with(move |c| {
            let n = c
                .execute("DELETE FROM tasks WHERE receipt = ?1", [&receipt])
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::NotFound(
                    "no task holds this receipt (acked, or its lease lapsed and moved on)".into(),
                ));
            }
            Ok(())
        })
        .await
    }

    async fn extend(&self, receipt: &str, visibility: Duration) -> Result<(), StoreError> {
        let (receipt, hide) = (receipt.to_string(), ms(visibility));
        self.with(move |c| {
            let n = c
                .execute(
                    "UPDATE tasks SET visible_at = ?2 + ?3 WHERE receipt = ?1",
                    params![receipt, now_ms(), hide],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::NotFound(
                    "no task holds this receipt (acked, or its lease lapsed and moved on)".into(),
                ));
            }
            Ok(())
        })
        .await
    }

    async fn pending(&self) -> Result<u64, StoreError> {
        self.with(|c| {
            let n: i64 = c
                .query_row("SELECT COUNT(*) FROM tasks", [], |r| r.get(0))
                .map_err(backend)?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }
}
