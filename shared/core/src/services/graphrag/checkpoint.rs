//! What a GraphRAG run keeps between worker invocations (see `services::task_checkpoint`):
//! the chat model's extractions so far. Merging and everything after it is redone from
//! them, which costs seconds; the extraction is the part that takes minutes.

use serde::{Deserialize, Serialize};

use super::graph::Extraction;

/// The folder of GraphRAG checkpoints under the dataset (beside the graph).
pub const FOLDER: &str = "graph";

/// Extraction results of a run's first `done` batches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Extracted {
    /// `digest` of the batches these results belong to: if the dataset changed in between,
    /// the run starts its extraction over rather than mixing two versions of it.
    pub batches_digest: String,
    /// Batches answered (each either in `found` or counted in `unreadable`).
    pub done: usize,
    pub unreadable: usize,
    /// (document id, what its batch yielded)
    pub found: Vec<(String, Extraction)>,
}

/// A digest of the (document id, text) batches, in order.
pub fn digest(batches: &[(String, String)]) -> String {
    crate::services::task_checkpoint::digest(
        batches
            .iter()
            .flat_map(|(doc, text)| [doc.as_str(), text.as_str()]),
    )
}
