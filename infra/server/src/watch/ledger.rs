//! The watched folder's durable record of what it ingested: one row per file, keyed by
//! (watched directory, path under it), with the file's size and mtime when ingested and how
//! far the ingestion got (`claimed` → `created` → `queued`, or `skipped`), so a restart
//! neither duplicates a document nor loses one half-made. The embedded counterpart of the
//! S3 ingestion's marker items in DynamoDB.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension};

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("watch ledger: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("watch ledger: the connection is poisoned")]
    Poisoned,
    #[error("watch ledger: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// How far a file's ingestion got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// An attempt started at `claimed_at`; its document may exist without being recorded.
    Claimed,
    /// The document exists; its parse may not be queued yet.
    Created,
    /// Done: the parse is queued (the document's own state tells the rest).
    Queued,
    /// The file can never become a document (the reason is kept); retried only if it changes.
    Skipped,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Claimed => "claimed",
            Stage::Created => "created",
            Stage::Queued => "queued",
            Stage::Skipped => "skipped",
        }
    }
    fn parse(s: &str) -> Stage {
        match s {
            "created" => Stage::Created,
            "queued" => Stage::Queued,
            "skipped" => Stage::Skipped,
            _ => Stage::Claimed,
        }
    }
}

/// A file's identity for change detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    pub size: u64,
    pub mtime_ns: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub fingerprint: Fingerprint,
    pub stage: Stage,
    pub dataset_id: Option<String>,
    pub document_id: Option<String>,
    /// The document of the file's previous version, deleted when this version is ingested.
    pub replaces: Option<String>,
    pub claimed_at: i64,
    pub reason: Option<String>,
}

#[derive(Clone)]
pub struct Ledger {
    conn: Arc<Mutex<Connection>>,
    dir: String,
}

impl Ledger {
    /// Open (or create) the ledger file for the watched directory `dir`.
    pub fn open(file: &Path, dir: &str) -> Result<Self, LedgerError> {
        let conn = Connection::open(file)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=FULL;
             CREATE TABLE IF NOT EXISTS watched_files (
                 dir TEXT NOT NULL,
                 path TEXT NOT NULL,
                 size INTEGER NOT NULL,
                 mtime_ns INTEGER NOT NULL,
                 stage TEXT NOT NULL,
                 dataset_id TEXT,
                 document_id TEXT,
                 replaces TEXT,
                 claimed_at INTEGER NOT NULL,
                 reason TEXT,
                 PRIMARY KEY (dir, path)
             );",
        )?;
        Ok(Ledger {
            conn: Arc::new(Mutex::new(conn)),
            dir: dir.to_string(),
        })
    }

    /// Run `f` on the connection off the async threads (SQLite blocks on fsync).
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection, &str) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, LedgerError> {
        let conn = self.conn.clone();
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || {
            let c = conn.lock().map_err(|_| LedgerError::Poisoned)?;
            Ok(f(&c, &dir)?)
        })
        .await?
    }

    pub async fn get(&self, path: &str) -> Result<Option<Record>, LedgerError> {
        let path = path.to_string();
        self.with(move |c, dir| {
            c.query_row(
                "SELECT size, mtime_ns, stage, dataset_id, document_id, replaces, claimed_at, reason
                 FROM watched_files WHERE dir = ?1 AND path = ?2",
                params![dir, path],
                |r| {
                    Ok(Record {
                        fingerprint: Fingerprint {
                            size: r.get::<_, i64>(0)? as u64,
                            mtime_ns: r.get(1)?,
                        },
                        stage: Stage::parse(&r.get::<_, String>(2)?),
                        dataset_id: r.get(3)?,
                        document_id: r.get(4)?,
                        replaces: r.get(5)?,
                        claimed_at: r.get(6)?,
                        reason: r.get(7)?,
                    })
                },
            )
            .optional()
        })
        .await
    }

    /// Write a file's whole record.
    pub async fn put(&self, path: &str, rec: &Record) -> Result<(), LedgerError> {
        let path = path.to_string();
        let rec = rec.clone();
        self.with(move |c, dir| {
            c.execute(
                "INSERT INTO watched_files
                     (dir, path, size, mtime_ns, stage, dataset_id, document_id, replaces, claimed_at, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (dir, path) DO UPDATE SET
                     size = excluded.size, mtime_ns = excluded.mtime_ns, stage = excluded.stage,
                     dataset_id = excluded.dataset_id, document_id = excluded.document_id,
                     replaces = excluded.replaces, claimed_at = excluded.claimed_at,
                     reason = excluded.reason",
                params![
                    dir,
                    path,
                    rec.fingerprint.size as i64,
                    rec.fingerprint.mtime_ns,
                    rec.stage.as_str(),
                    rec.dataset_id,
                    rec.document_id,
                    rec.replaces,
                    rec.claimed_at,
                    rec.reason
                ],
            )
            .map(|_| ())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_survive_reopening_and_are_per_directory() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("watch.sqlite3");
        let rec = Record {
            fingerprint: Fingerprint {
                size: 5,
                mtime_ns: 42,
            },
            stage: Stage::Created,
            dataset_id: Some("ds".into()),
            document_id: Some("doc".into()),
            replaces: None,
            claimed_at: 7,
            reason: None,
        };
        {
            let l = Ledger::open(&file, "/a").expect("open");
            l.put("kb/x.txt", &rec).await.expect("put");
            let mut next = rec.clone();
            next.stage = Stage::Queued;
            l.put("kb/x.txt", &next).await.expect("update");
        }
        let l = Ledger::open(&file, "/a").expect("reopen");
        let got = l.get("kb/x.txt").await.expect("get").expect("present");
        assert_eq!(got.stage, Stage::Queued);
        assert_eq!(got.document_id.as_deref(), Some("doc"));
        let other = Ledger::open(&file, "/b").expect("open b");
        assert_eq!(other.get("kb/x.txt").await.expect("get"), None);
    }
}
