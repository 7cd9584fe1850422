//! Embedded adapters of lambdarag's ports: everything in one process, durable on disk
//! under one data directory.

pub mod blobs;
pub mod index;
pub mod queue;
pub mod sqlite;
mod sqlite_agents;
mod sqlite_chats;
mod sqlite_docs;
mod sqlite_files;
mod sqlite_memories;
mod sqlite_records;
mod sqlite_searches;
mod sqlite_tasks;

use std::path::Path;
use std::sync::Arc;

use lambdarag::AppState;

pub use blobs::FolderBlobStore;
pub use index::TantivyIndex;
pub use queue::SqliteQueue;
pub use sqlite::SqliteStore;

/// The embedded deployment: the ports as handlers see them, plus the queue handle the
/// in-process workers poll.
pub struct Embedded {
    pub state: AppState,
    pub queue: Arc<SqliteQueue>,
}

fn metadata(data_dir: &Path) -> Result<SqliteStore, lambdarag::StoreError> {
    std::fs::create_dir_all(data_dir).map_err(lambdarag::StoreError::backend)?;
    SqliteStore::open(&data_dir.join("lambdarag.sqlite3"))
}

/// Open only the metadata store (tenants, keys, datasets, documents). Safe next to a
/// running server: SQLite serialises the writers. The CLI uses this.
pub fn open_metadata(data_dir: &Path) -> Result<AppState, lambdarag::StoreError> {
    let meta = Arc::new(metadata(data_dir)?);
    Ok(AppState::new(meta.clone())
        .with_docs(meta.clone())
        .with_memories(meta.clone())
        .with_files(meta.clone())
        .with_searches(meta.clone())
        .with_agents(meta.clone())
        .with_tasks(meta.clone())
        .with_chats(meta))
}

/// Open (creating if needed) the whole embedded deployment rooted at `data_dir`. The chunk
/// index takes a writer lock, so one process serves a data dir at a time.
pub fn open(data_dir: &Path) -> Result<Embedded, lambdarag::StoreError> {
    let meta = Arc::new(metadata(data_dir)?);
    let blobs = Arc::new(FolderBlobStore::open(&data_dir.join("blobs"))?);
    let queue = Arc::new(SqliteQueue::open(&data_dir.join("queue.sqlite3"))?);
    let index = Arc::new(TantivyIndex::open(&data_dir.join("index"))?);
    let state = AppState::new(meta.clone())
        .with_docs(meta.clone())
        .with_memories(meta.clone())
        .with_files(meta.clone())
        .with_searches(meta.clone())
        .with_agents(meta.clone())
        .with_tasks(meta.clone())
        .with_chats(meta)
        .with_blobs(blobs)
        .with_queue(queue.clone())
        .with_index(index);
    Ok(Embedded { state, queue })
}
