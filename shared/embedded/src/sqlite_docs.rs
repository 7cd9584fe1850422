//! Documents on the SQLite metadata store. Like the other tables, the record is kept as JSON
//! beside the columns that are filtered, ordered, summed or must be unique; a write keeps
//! both in step in one statement.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};

use lambdarag::contract::time::now_ms;
use lambdarag::domain::{Document, DocumentListQuery, DocumentOrder, ProgressUpdate, RunStatus};
use lambdarag::ports::{DatasetStats, DocumentStore};
use lambdarag::StoreError;

use crate::sqlite::{backend, decode, is_unique_violation, SqliteStore};

/// Run by `SqliteStore::init` with the rest of the schema.
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS documents (
    tenant_id   TEXT NOT NULL,
    dataset_id  TEXT NOT NULL,
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    suffix      TEXT NOT NULL,
    run         TEXT NOT NULL,
    size        INTEGER NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    generation  INTEGER NOT NULL,
    chunk_count INTEGER NOT NULL,
    token_count INTEGER NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, dataset_id, id),
    UNIQUE (tenant_id, dataset_id, name)
);
CREATE INDEX IF NOT EXISTS documents_by_create_time
    ON documents (tenant_id, dataset_id, create_time);
CREATE INDEX IF NOT EXISTS documents_by_name_key
    ON documents (tenant_id, dataset_id, name_key);
"#;

/// The constraint of data dirs written before exact-case names: `migrate` replaces it.
const CASE_INSENSITIVE_UNIQUE: &str = "UNIQUE (tenant_id, dataset_id, name_key)";

/// Run by `SqliteStore::init` before `SCHEMA`: a documents table that still makes names
/// unique case-insensitively is rebuilt, in one transaction, with the exact-name constraint
/// (rows and columns unchanged).
pub(crate) fn migrate(conn: &mut rusqlite::Connection) -> Result<(), StoreError> {
    let sql: Option<String> = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'documents'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(backend)?;
    if !sql.is_some_and(|s| s.contains(CASE_INSENSITIVE_UNIQUE)) {
        return Ok(());
    }
    let tx = conn.transaction().map_err(backend)?;
    tx.execute_batch(
        "ALTER TABLE documents RENAME TO documents_case_insensitive;
         DROP INDEX IF EXISTS documents_by_create_time;",
    )
    .map_err(backend)?;
    tx.execute_batch(SCHEMA).map_err(backend)?;
    tx.execute_batch(
        "INSERT INTO documents SELECT * FROM documents_case_insensitive;
         DROP TABLE documents_case_insensitive;",
    )
    .map_err(backend)?;
    tx.commit().map_err(backend)
}

/// The lowercased name: what case-insensitive lookups (uploads avoiding case twins) match.
fn name_key(name: &str) -> String {
    name.to_lowercase()
}

fn to_i64(v: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Backend(format!("{what} {v} is out of range")))
}

/// What a row stores beside the plain fields: the record, its name key, the generation.
struct Row {
    body: String,
    name_key: String,
    generation: i64,
}

impl Row {
    fn of(d: &Document) -> Result<Self, StoreError> {
        Ok(Row {
            body: serde_json::to_string(d)?,
            name_key: name_key(&d.name),
            generation: to_i64(d.generation, "generation")?,
        })
    }
}

fn name_taken(e: rusqlite::Error, d: &Document) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict(format!(
            "document name '{}' or id {} is already used in dataset {}",
            d.name, d.id, d.dataset_id
        ))
    } else {
        backend(e)
    }
}

/// `?n` bound to a JSON array, as a set the SQL can test membership in.
fn json_list<T: AsRef<str>>(items: &[T]) -> String {
    serde_json::Value::from(items.iter().map(|s| s.as_ref()).collect::<Vec<_>>()).to_string()
}

#[async_trait]
impl DocumentStore for SqliteStore {
    async fn insert_document(&self, doc: &Document) -> Result<(), StoreError> {
        let row = Row::of(doc)?;
        let d = doc.clone();
        self.with(move |c| {
            c.execute(
                "INSERT INTO documents (tenant_id, dataset_id, id, name, name_key, suffix, run,
                     size, create_time, update_time, generation, chunk_count, token_count, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    d.tenant_id,
                    d.dataset_id,
                    d.id,
                    d.name,
                    row.name_key,
                    d.suffix,
                    d.run.digit(),
                    d.size,
                    d.create_time,
                    d.update_time,
                    row.generation,
                    d.chunk_count,
                    d.token_count,
                    row.body
                ],
            )
            .map(|_| ())
            .map_err(|e| name_taken(e, &d))
        })
        .await
    }

    async fn get_document(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        doc_id: &str,
    ) -> Result<Option<Document>, StoreError> {
        let (t, ds, id) = (
            tenant_id.to_string(),
            dataset_id.to_string(),
            doc_id.to_string(),
        );
        self.with(move |c| {
            let body: Option<String> = c
                .query_row(
                    "SELECT body FROM documents WHERE tenant_id = ?1 AND dataset_id = ?2 AND id = ?3",
                    params![t, ds, id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            body.map(decode).transpose()
        })
        .await
    }

    async fn find_document_by_name(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        name: &str,
    ) -> Result<Option<Document>, StoreError> {
        let (t, ds, key, exact) = (
            tenant_id.to_string(),
            dataset_id.to_string(),
            name_key(name),
            name.to_string(),
        );
        self.with(move |c| {
            let body: Option<String> = c
                .query_row(
                    "SELECT body FROM documents
                     WHERE tenant_id = ?1 AND dataset_id = ?2 AND name_key = ?3
                     ORDER BY name = ?4 DESC, create_time LIMIT 1",
                    params![t, ds, key, exact],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            body.map(decode).transpose()
        })
        .await
    }

    async fn list_documents(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        query: &DocumentListQuery,
    ) -> Result<(Vec<Document>, u64), StoreError> {
        let (t, ds, q) = (tenant_id.to_string(), dataset_id.to_string(), query.clone());
        self.with(move |c| {
            // One filter with fixed parameters: an absent filter binds NULL (or an empty
            // JSON list) and drops out. `keywords` compares the lower-cased name with
            // `instr`, not LIKE, so `%` and `_` in it are plain characters, exactly as
            // `DocumentListQuery::matches` does.
            let filter = "tenant_id = ?1 AND dataset_id = ?2
                AND (?3 IS NULL OR id = ?3)
                AND (?4 IS NULL OR name = ?4)
                AND (?5 IS NULL OR instr(name_key, ?5) > 0)
                AND (json_array_length(?6) = 0 OR suffix IN (SELECT value FROM json_each(?6)))
                AND (json_array_length(?7) = 0 OR run IN (SELECT value FROM json_each(?7)))
                AND (?8 IS NULL OR id IN (SELECT value FROM json_each(?8)))
                AND (?9 IS NULL OR create_time >= ?9)
                AND (?10 IS NULL OR create_time <= ?10)";
            let keywords = q.keywords.as_deref().map(str::to_lowercase);
            let suffixes = json_list(&q.suffixes);
            let runs = json_list(&q.runs.iter().map(|r| r.digit()).collect::<Vec<_>>());
            let only_ids = q.only_ids.as_deref().map(json_list);
            let total: i64 = c
                .query_row(
                    &format!("SELECT COUNT(*) FROM documents WHERE {filter}"),
                    params![
                        t,
                        ds,
                        q.id,
                        q.name,
                        keywords,
                        suffixes,
                        runs,
                        only_ids,
                        q.create_time_from,
                        q.create_time_to
                    ],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            // Same order as `DocumentListQuery::apply`: the column, then id, both one way.
            // `name` compares with SQLite's BINARY collation, i.e. UTF-8 bytes, as Rust's
            // `str` ordering does.
            let column = match q.orderby.unwrap_or(DocumentOrder::CreateTime) {
                DocumentOrder::CreateTime => "create_time",
                DocumentOrder::UpdateTime => "update_time",
                DocumentOrder::Name => "name",
                DocumentOrder::Size => "size",
            };
            let dir = if q.desc { "DESC" } else { "ASC" };
            let (limit, offset) = if q.page_size == 0 {
                (-1, 0)
            } else {
                (
                    i64::try_from(q.page_size).unwrap_or(i64::MAX),
                    i64::try_from(q.page.saturating_sub(1).saturating_mul(q.page_size))
                        .unwrap_or(i64::MAX),
                )
            };
            let sql = format!(
                "SELECT body FROM documents WHERE {filter}
                 ORDER BY {column} {dir}, id {dir} LIMIT ?11 OFFSET ?12"
            );
            let mut stmt = c.prepare(&sql).map_err(backend)?;
            let rows = stmt
                .query_map(
                    params![
                        t,
                        ds,
                        q.id,
                        q.name,
                        keywords,
                        suffixes,
                        runs,
                        only_ids,
                        q.create_time_from,
                        q.create_time_to,
                        limit,
                        offset
                    ],
                    |r| r.get::<_, String>(0),
                )
                .map_err(backend)?;
            let page: Result<Vec<Document>, StoreError> =
                rows.map(|r| r.map_err(backend).and_then(decode)).collect();
            Ok((page?, u64::try_from(total).unwrap_or(0)))
        })
        .await
    }

    async fn get_documents(
        &self,
        tenant_id: &str,
        dataset_ids: &[String],
        ids: &[String],
    ) -> Result<Vec<Document>, StoreError> {
        if ids.is_empty() || dataset_ids.is_empty() {
            return Ok(Vec::new());
        }
        let (t, datasets, wanted) = (
            tenant_id.to_string(),
            json_list(dataset_ids),
            json_list(ids),
        );
        self.with_lookup(move |c| {
            // Both lists bind as one JSON parameter each, so any number of ids fits in one
            // statement (no chunking against SQLite's variable limit) and the plan is still
            // a primary-key lookup per (dataset, id) pair. `IN` tests membership, so a
            // duplicated id yields its row once.
            let mut stmt = c
                .prepare_cached(
                    "SELECT body FROM documents
                     WHERE tenant_id = ?1
                       AND dataset_id IN (SELECT value FROM json_each(?2))
                       AND id IN (SELECT value FROM json_each(?3))",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![t, datasets, wanted], |r| r.get::<_, String>(0))
                .map_err(backend)?;
            rows.map(|r| r.map_err(backend).and_then(decode)).collect()
        })
        .await
    }

    async fn update_document(&self, doc: &Document) -> Result<(), StoreError> {
        let row = Row::of(doc)?;
        let d = doc.clone();
        self.with(move |c| {
            let n = c
                .execute(
                    "UPDATE documents SET name = ?4, name_key = ?5, suffix = ?6, run = ?7,
                         size = ?8, create_time = ?9, update_time = ?10, generation = ?11,
                         chunk_count = ?12, token_count = ?13, body = ?14
                     WHERE tenant_id = ?1 AND dataset_id = ?2 AND id = ?3",
                    params![
                        d.tenant_id,
                        d.dataset_id,
                        d.id,
                        d.name,
                        row.name_key,
                        d.suffix,
                        d.run.digit(),
                        d.size,
                        d.create_time,
                        d.update_time,
                        row.generation,
                        d.chunk_count,
                        d.token_count,
                        row.body
                    ],
                )
                .map_err(|e| name_taken(e, &d))?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("document {}", d.id)));
            }
            Ok(())
        })
        .await
    }

    async fn apply_progress(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        doc_id: &str,
        generation: u64,
        update: &ProgressUpdate,
    ) -> Result<bool, StoreError> {
        let (t, ds, id) = (
            tenant_id.to_string(),
            dataset_id.to_string(),
            doc_id.to_string(),
        );
        let generation = to_i64(generation, "generation")?;
        let u = update.clone();
        let run: Option<&'static str> = u.run.map(RunStatus::digit);
        let now = now_ms();
        self.with(move |c| {
            // One UPDATE guarded by the generation, so a stale worker can never land a write
            // between a check and a put. Each field is set only when the update carries it;
            // JSON reals are written with 17 significant digits, so floats round-trip.
            let n = c
                .execute(
                    "UPDATE documents SET
                         run = COALESCE(?5, run),
                         chunk_count = COALESCE(?10, chunk_count),
                         token_count = COALESCE(?11, token_count),
                         update_time = max(update_time, ?12),
                         body = json_set(body,
                             '$.run', COALESCE(?5, body ->> '$.run'),
                             '$.progress', COALESCE(?6, body ->> '$.progress'),
                             '$.progress_msg', CASE
                                 WHEN ?7 IS NULL THEN body ->> '$.progress_msg'
                                 WHEN COALESCE(body ->> '$.progress_msg', '') = '' THEN ?7
                                 ELSE (body ->> '$.progress_msg') || char(10) || ?7 END,
                             '$.process_begin_at', COALESCE(?8, body ->> '$.process_begin_at'),
                             '$.process_duration', COALESCE(?9, body ->> '$.process_duration'),
                             '$.chunk_count', COALESCE(?10, body ->> '$.chunk_count'),
                             '$.token_count', COALESCE(?11, body ->> '$.token_count'),
                             '$.update_time', max(update_time, ?12))
                     WHERE tenant_id = ?1 AND dataset_id = ?2 AND id = ?3 AND generation = ?4
                       AND (run IS NOT ?13 OR (?5 IS NULL AND ?6 IS NULL))",
                    params![
                        t,
                        ds,
                        id,
                        generation,
                        run,
                        u.progress,
                        u.append_msg,
                        u.process_begin_at,
                        u.process_duration,
                        u.chunk_count,
                        u.token_count,
                        now,
                        RunStatus::Done.digit()
                    ],
                )
                .map_err(backend)?;
            if n > 0 {
                return Ok(true);
            }
            // Nothing written: either the generation moved on (not applied) or it is DONE,
            // which later updates leave as it is (applied, see the port).
            c.query_row(
                "SELECT EXISTS(SELECT 1 FROM documents
                     WHERE tenant_id = ?1 AND dataset_id = ?2 AND id = ?3 AND generation = ?4)",
                params![t, ds, id, generation],
                |r| r.get::<_, bool>(0),
            )
            .map_err(backend)
        })
        .await
    }

    async fn delete_document(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        doc_id: &str,
    ) -> Result<bool, StoreError> {
        let (t, ds, id) = (
            tenant_id.to_string(),
            dataset_id.to_string(),
            doc_id.to_string(),
        );
        self.with(move |c| {
            c.execute(
                "DELETE FROM documents WHERE tenant_id = ?1 AND dataset_id = ?2 AND id = ?3",
                params![t, ds, id],
            )
            .map(|n| n > 0)
            .map_err(backend)
        })
        .await
    }

    async fn dataset_stats(
        &self,
        tenant_id: &str,
        dataset_id: &str,
    ) -> Result<DatasetStats, StoreError> {
        let (t, ds) = (tenant_id.to_string(), dataset_id.to_string());
        self.with(move |c| {
            c.query_row(
                "SELECT COUNT(*), COALESCE(SUM(chunk_count), 0), COALESCE(SUM(token_count), 0)
                 FROM documents WHERE tenant_id = ?1 AND dataset_id = ?2",
                params![t, ds],
                |r| {
                    Ok(DatasetStats {
                        document_count: r.get(0)?,
                        chunk_count: r.get(1)?,
                        token_num: r.get(2)?,
                    })
                },
            )
            .map_err(backend)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambdarag::ports::conformance_docs::sample_document;

    /// A data dir written before exact-case names keeps its documents and gains the rule.
    #[tokio::test]
    async fn old_case_insensitive_table_is_migrated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("meta.sqlite");
        let doc = sample_document("t", "ds", "Report.pdf");
        {
            let conn = rusqlite::Connection::open(&path).expect("open");
            conn.execute_batch(&SCHEMA.replace(
                "UNIQUE (tenant_id, dataset_id, name)",
                CASE_INSENSITIVE_UNIQUE,
            ))
            .expect("old schema");
            let row = Row::of(&doc).expect("row");
            conn.execute(
                "INSERT INTO documents VALUES (?1, ?2, ?3, ?4, ?5, 'pdf', '0', 1, 1, 1, ?6, 0, 0, ?7)",
                params![doc.tenant_id, doc.dataset_id, doc.id, doc.name, row.name_key, row.generation, row.body],
            )
            .expect("old row");
        }
        let store = SqliteStore::open(&path).expect("migrated open");
        let found = store
            .find_document_by_name("t", "ds", "report.PDF")
            .await
            .expect("find");
        assert_eq!(found.map(|d| d.id), Some(doc.id.clone()), "rows survive");
        store
            .insert_document(&sample_document("t", "ds", "REPORT.pdf"))
            .await
            .expect("a case twin is allowed after the migration");
        let exact = store
            .insert_document(&sample_document("t", "ds", "Report.pdf"))
            .await;
        assert!(matches!(exact, Err(StoreError::Conflict(_))), "{exact:?}");
        drop(store);
        SqliteStore::open(&path).expect("a second open finds nothing to migrate");
    }
}
