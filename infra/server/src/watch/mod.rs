//! `lambdarag serve --watch-dir DIR`: the embedded counterpart of the AWS deployment's S3
//! ingestion. A file put under `DIR/<dataset name or id>/` becomes a document of that
//! dataset (of the watching tenant) and is parsed, the way an object under
//! `datasets/{dataset_id}/` in the bucket does: the same name rules, dataset/name split,
//! orphan adoption and parse-once logic (`lambdarag::services::source`), the same upload and parse
//! operations (`lambdarag::services::documents`).
//!
//! The folder is polled (every `--watch-interval-ms`): a file is taken once its size and
//! mtime are the same on two polls in a row (still being written otherwise). What was
//! ingested is recorded durably (`ledger`), keyed by path with the size and mtime, so a
//! restart ingests nothing twice. A changed file (other size or mtime) is a new version: it
//! replaces the file's earlier document (deleted, then the new bytes uploaded and parsed).
//! Deleting a file from the folder leaves its document alone.

mod ledger;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};

use bytes::Bytes;
use clap::Args;
use tokio::sync::watch;

use lambdarag::contract::time::now_ms;
use lambdarag::domain::Dataset;
use lambdarag::services::datasets::{self, DatasetFields};
use lambdarag::services::documents::{self, UploadFile};
use lambdarag::services::source::{
    check_filename, find_orphan, queue_parse_once, split_dataset_path,
};
use lambdarag::{ApiError, AppState};
pub use ledger::{Fingerprint, Ledger, LedgerError, Record, Stage};

#[derive(Args, Clone)]
pub struct WatchArgs {
    /// Watch this folder: files under DIR/<dataset name or id>/ become parsed documents of
    /// that dataset (created by name if missing).
    #[arg(long, env = "LAMBDARAG_WATCH_DIR")]
    pub watch_dir: Option<PathBuf>,
    /// The tenant the watched folder belongs to (default: the only tenant).
    #[arg(long, env = "LAMBDARAG_WATCH_TENANT")]
    pub watch_tenant: Option<String>,
    /// How often the watched folder is scanned, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub watch_interval_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("{0}")]
    Api(String),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

impl From<ApiError> for WatchError {
    fn from(e: ApiError) -> Self {
        WatchError::Api(e.message)
    }
}

impl From<lambdarag::StoreError> for WatchError {
    fn from(e: lambdarag::StoreError) -> Self {
        WatchError::Api(e.to_string())
    }
}

/// The watcher's settings, resolved at start-up.
pub struct Watcher {
    state: AppState,
    ledger: Ledger,
    root: PathBuf,
    tenant_id: String,
    interval: Duration,
}

/// How long a file whose ingestion failed waits before the next attempt.
const RETRY_AFTER: Duration = Duration::from_secs(30);

/// Largest file taken from the folder (the upload route's limit).
const MAX_FILE_BYTES: usize = 1 << 30;

impl Watcher {
    pub fn new(
        state: AppState,
        ledger_file: &Path,
        root: &Path,
        tenant_id: String,
        interval: Duration,
    ) -> Result<Self, WatchError> {
        std::fs::create_dir_all(root).map_err(|e| WatchError::Io(root.display().to_string(), e))?;
        let root = root
            .canonicalize()
            .map_err(|e| WatchError::Io(root.display().to_string(), e))?;
        let ledger = Ledger::open(ledger_file, &root.to_string_lossy())?;
        Ok(Watcher {
            state,
            ledger,
            root,
            tenant_id,
            interval,
        })
    }

    /// Scan until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!(dir = %self.root.display(), tenant = %self.tenant_id, "watching a folder for new files");
        // A file's fingerprint on the previous scan (taken when unchanged since), and the
        // fingerprint each file was last handled at (skips the ledger on every scan).
        let mut last_seen: HashMap<String, Fingerprint> = HashMap::new();
        let mut handled: HashMap<String, Fingerprint> = HashMap::new();
        // Files whose last attempt failed wait a while before the next one (no log flood).
        let mut retry_at: HashMap<String, Instant> = HashMap::new();
        loop {
            let files = match scan(&self.root) {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!(dir = %self.root.display(), error = %e, "cannot scan the watched folder");
                    Vec::new()
                }
            };
            let mut now_seen = HashMap::with_capacity(files.len());
            for (rel, fp) in files {
                now_seen.insert(rel.clone(), fp);
                let stable = last_seen.get(&rel) == Some(&fp);
                let waiting = retry_at.get(&rel).is_some_and(|t| Instant::now() < *t);
                if !stable || handled.get(&rel) == Some(&fp) || fp.size == 0 || waiting {
                    // Still being written, already handled, empty (maybe still to come), or
                    // failed a moment ago.
                    continue;
                }
                match self.handle(&rel, fp).await {
                    Ok(()) => {
                        retry_at.remove(&rel);
                        handled.insert(rel, fp);
                    }
                    // Left unhandled: tried again a little later.
                    Err(e) => {
                        tracing::warn!(file = %rel, error = %e, "watched file not ingested yet; will retry");
                        retry_at.insert(rel, Instant::now() + RETRY_AFTER);
                    }
                }
                if *stop.borrow() {
                    return;
                }
            }
            last_seen = now_seen;
            tokio::select! {
                _ = tokio::time::sleep(self.interval) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                return;
            }
        }
    }

    /// Bring one stable file to `queued` (or `skipped`), resuming a half-done attempt.
    async fn handle(&self, rel: &str, fp: Fingerprint) -> Result<(), WatchError> {
        let previous = self.ledger.get(rel).await?;
        let mut rec = match previous {
            Some(r) if r.fingerprint == fp => {
                if matches!(r.stage, Stage::Queued | Stage::Skipped) {
                    return Ok(());
                }
                r
            }
            // New, or a new version: claim it, remembering the document it replaces.
            prev => {
                let replaces = prev.and_then(|p| match (p.stage, p.document_id) {
                    (Stage::Skipped, _) => None,
                    (_, Some(doc)) => p.dataset_id.map(|ds| format!("{ds}/{doc}")),
                    _ => p.replaces,
                });
                let rec = Record {
                    fingerprint: fp,
                    stage: Stage::Claimed,
                    dataset_id: None,
                    document_id: None,
                    replaces,
                    claimed_at: now_ms(),
                    reason: None,
                };
                self.ledger.put(rel, &rec).await?;
                rec
            }
        };
        let Some((dataset_key, filename)) = split_dataset_path(rel) else {
            return self
                .skip(
                    rel,
                    rec,
                    "files go in a folder named after their dataset".into(),
                )
                .await;
        };
        if let Err(e) = check_filename(&filename) {
            return self.skip(rel, rec, e.message).await;
        }
        let dataset = self.dataset(&dataset_key).await?;

        if rec.stage == Stage::Claimed {
            if let Some(old) = rec.replaces.clone() {
                if let Some((ds, doc)) = old.split_once('/') {
                    documents::remove_document(&self.state, &self.tenant_id, ds, doc).await?;
                    tracing::info!(file = %rel, replaced = %doc, "a changed file replaces its document");
                }
            }
            let doc_id = match find_orphan(
                &self.state,
                &self.tenant_id,
                &dataset.id,
                &filename,
                fp.size as i64,
                rec.claimed_at,
            )
            .await?
            {
                // An attempt that died after creating the document: adopt it.
                Some(doc) => doc.id,
                None => {
                    let bytes = tokio::fs::read(self.root.join(rel))
                        .await
                        .map_err(|e| WatchError::Io(rel.to_string(), e))?;
                    if bytes.len() as u64 != fp.size {
                        return Err(WatchError::Api("the file changed while read".into()));
                    }
                    let file = UploadFile {
                        name: filename.clone(),
                        bytes: Bytes::from(bytes),
                    };
                    let docs = documents::upload(
                        &self.state,
                        &self.tenant_id,
                        &dataset,
                        vec![file],
                        MAX_FILE_BYTES,
                    )
                    .await?;
                    let Some(doc) = docs.into_iter().next() else {
                        return Err(WatchError::Api("the upload created no document".into()));
                    };
                    doc.id
                }
            };
            rec.stage = Stage::Created;
            rec.dataset_id = Some(dataset.id.clone());
            rec.document_id = Some(doc_id);
            self.ledger.put(rel, &rec).await?;
        }
        if rec.stage == Stage::Created {
            let (Some(ds), Some(doc)) = (&rec.dataset_id, &rec.document_id) else {
                return Err(WatchError::Api(
                    "a created record without its document".into(),
                ));
            };
            queue_parse_once(&self.state, &self.tenant_id, ds, doc).await?;
            rec.stage = Stage::Queued;
            self.ledger.put(rel, &rec).await?;
            tracing::info!(file = %rel, document = %doc, dataset = %ds, "watched file ingested; parse queued");
        }
        Ok(())
    }

    async fn skip(&self, rel: &str, mut rec: Record, reason: String) -> Result<(), WatchError> {
        tracing::warn!(file = %rel, %reason, "watched file skipped");
        rec.stage = Stage::Skipped;
        rec.reason = Some(reason);
        self.ledger.put(rel, &rec).await?;
        Ok(())
    }

    /// The dataset a top-level folder names: by id, else by name, else a new dataset of
    /// that name (dropping files into a new folder is enough to start a dataset).
    async fn dataset(&self, key: &str) -> Result<Dataset, WatchError> {
        let meta = &self.state.meta;
        if let Some(d) = meta.get_dataset(&self.tenant_id, key).await? {
            return Ok(d);
        }
        if let Some(d) = meta.find_dataset_by_name(&self.tenant_id, key).await? {
            return Ok(d);
        }
        let fields = DatasetFields {
            name: Some(key.to_string()),
            ..Default::default()
        };
        let d = datasets::create(&self.state, &self.tenant_id, fields).await?;
        tracing::info!(dataset = %d.name, id = %d.id, "created a dataset for a watched folder");
        Ok(d)
    }
}

/// Every non-hidden regular file under `root`, as (`/`-separated relative path,
/// fingerprint). Hidden files (`.name`, e.g. editors' temporaries) and directories are
/// skipped, so writing `.x.tmp` and renaming it into place is a safe way to drop a file.
pub fn scan(root: &Path) -> Result<Vec<(String, Fingerprint)>, walkdir::Error> {
    let mut out = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0 || !e.file_name().to_str().is_none_or(|n| n.starts_with('.'))
        });
    for entry in walker {
        let entry = entry?;
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        let Some(rel) = entry
            .path()
            .strip_prefix(root)
            .ok()
            .and_then(|p| p.to_str())
            .map(|p| p.replace('\\', "/"))
        else {
            continue;
        };
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0);
        out.push((
            rel,
            Fingerprint {
                size: meta.len(),
                mtime_ns,
            },
        ));
    }
    Ok(out)
}

/// The tenant the folder belongs to: the one named, or the only one.
pub async fn resolve_tenant(state: &AppState, named: Option<&str>) -> Result<String, String> {
    if let Some(id) = named {
        return match state.meta.get_tenant(id).await {
            Ok(Some(t)) => Ok(t.id),
            Ok(None) => Err(format!("--watch-tenant {id}: no such tenant")),
            Err(e) => Err(e.to_string()),
        };
    }
    let all = state.meta.list_tenants().await.map_err(|e| e.to_string())?;
    match all.as_slice() {
        [t] => Ok(t.id.clone()),
        [] => Err("--watch-dir needs a tenant: run `lambdarag key create` first".into()),
        _ => Err("several tenants exist: pass --watch-tenant <id> for the watched folder".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_skip_hidden_files_and_give_relative_paths() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        std::fs::create_dir_all(root.join("kb/sub")).expect("mkdir");
        std::fs::create_dir_all(root.join(".trash")).expect("mkdir");
        std::fs::write(root.join("kb/a.txt"), "a").expect("write");
        std::fs::write(root.join("kb/sub/b.txt"), "bb").expect("write");
        std::fs::write(root.join("kb/.a.txt.swp"), "x").expect("write");
        std::fs::write(root.join(".trash/c.txt"), "x").expect("write");
        let found: Vec<(String, u64)> = scan(root)
            .expect("scan")
            .into_iter()
            .map(|(p, fp)| (p, fp.size))
            .collect();
        assert_eq!(
            found,
            vec![("kb/a.txt".to_string(), 1), ("kb/sub/b.txt".to_string(), 2)]
        );
        // The dataset/name split is the S3 staging key's.
        assert_eq!(
            split_dataset_path("kb/sub/b.txt"),
            Some(("kb".into(), "b.txt".into()))
        );
    }
}
