//! Where a long GraphRAG extraction stands. One chat-model call per batch of text can add
//! up to more than a worker invocation may run (a Lambda stops at 15 minutes), so before
//! its deadline a run saves what it extracted and continues in a fresh queue message; a
//! transient failure saves it too, so the retry resumes instead of starting over.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::graph::Extraction;
use crate::state::AppState;
use crate::StoreError;

/// Extraction results of a run's first `done` batches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// `digest` of the batches these results belong to: if the dataset changed in between,
    /// the run starts its extraction over rather than mixing two versions of it.
    pub batches_digest: String,
    /// Batches answered (each either in `found` or counted in `unreadable`).
    pub done: usize,
    pub unreadable: usize,
    /// (document id, what its batch yielded)
    pub found: Vec<(String, Extraction)>,
}

fn key(dataset_id: &str, task_id: &str) -> String {
    // Under the dataset's graph folder, so deleting the graph or the dataset removes it.
    format!("{dataset_id}/graph/partial/{task_id}.json")
}

/// A digest of the (document id, text) batches, in order.
pub fn digest(batches: &[(String, String)]) -> String {
    let mut h = xxhash_rust::xxh64::Xxh64::new(0);
    for (doc, text) in batches {
        h.update(doc.as_bytes());
        h.update(&[0]);
        h.update(text.as_bytes());
        h.update(&[0]);
    }
    format!("{:016x}-{}", h.digest(), batches.len())
}

/// The run's checkpoint if one was saved for these batches; an unreadable one counts as
/// none (the extraction is repeated, never guessed).
pub async fn load(
    state: &AppState,
    tenant: &str,
    dataset_id: &str,
    task_id: &str,
    batches_digest: &str,
) -> Result<Option<Checkpoint>, StoreError> {
    let Some(bytes) = state.blobs.get(tenant, &key(dataset_id, task_id)).await? else {
        return Ok(None);
    };
    Ok(serde_json::from_slice::<Checkpoint>(&bytes)
        .ok()
        .filter(|c| c.batches_digest == batches_digest))
}

/// Replace the run's checkpoint (one put: a crash leaves the previous one whole).
pub async fn save(
    state: &AppState,
    tenant: &str,
    dataset_id: &str,
    task_id: &str,
    checkpoint: &Checkpoint,
) -> Result<(), StoreError> {
    let body = serde_json::to_vec(checkpoint)
        .map_err(|e| StoreError::Backend(format!("checkpoint: {e}")))?;
    state
        .blobs
        .put(tenant, &key(dataset_id, task_id), Bytes::from(body))
        .await
}

/// Drop the run's checkpoint once its graph is saved (a leftover only costs space, and
/// the graph's DELETE or the dataset's removes it).
pub async fn clear(state: &AppState, tenant: &str, dataset_id: &str, task_id: &str) {
    if let Err(e) = state.blobs.delete(tenant, &key(dataset_id, task_id)).await {
        tracing::warn!(dataset_id, task_id, error = %e, "could not remove a GraphRAG checkpoint");
    }
}
