//! Embedded adapters of lambdarag's ports: everything in one process, durable on disk
//! under one data directory.

pub mod sqlite;

use std::path::Path;
use std::sync::Arc;

use lambdarag::AppState;

pub use sqlite::SqliteStore;

/// Open (creating if needed) the embedded deployment rooted at `data_dir`.
pub fn open(data_dir: &Path) -> Result<AppState, lambdarag::StoreError> {
    std::fs::create_dir_all(data_dir).map_err(lambdarag::StoreError::backend)?;
    let meta = SqliteStore::open(&data_dir.join("lambdarag.sqlite3"))?;
    Ok(AppState::new(Arc::new(meta)))
}
