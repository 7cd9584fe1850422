//! Where a long dataset task (GraphRAG, RAPTOR) stands. A run can need more time than one
//! worker invocation may take (a Lambda stops at 15 minutes), so before the invocation's
//! deadline it saves its progress here and queues itself again (`TaskOutcome::Continue`);
//! a transient failure saves it too, so the retry resumes instead of starting over.
//!
//! One JSON document per run in the blob store, replaced with a single put (a crash leaves
//! the previous one whole), under `{dataset}/{folder}/partial/`: deleting the dataset (or,
//! for GraphRAG, its graph) removes it.

use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::state::AppState;
use crate::StoreError;

/// A run's checkpoint location.
pub struct Checkpoint<'a> {
    pub state: &'a AppState,
    pub tenant: &'a str,
    key: String,
}

impl<'a> Checkpoint<'a> {
    /// `folder`: the task kind's folder under the dataset (`graph`, `raptor`).
    pub fn new(
        state: &'a AppState,
        tenant: &'a str,
        dataset_id: &str,
        folder: &str,
        task_id: &str,
    ) -> Self {
        Checkpoint {
            state,
            tenant,
            key: format!("{}{task_id}.json", folder_of(dataset_id, folder)),
        }
    }

    /// The saved progress if any and if it is still `fits` the run's input; an unreadable
    /// one counts as none (the work is repeated, never guessed).
    pub async fn load<T: DeserializeOwned>(
        &self,
        fits: impl Fn(&T) -> bool,
    ) -> Result<Option<T>, StoreError> {
        let Some(bytes) = self.state.blobs.get(self.tenant, &self.key).await? else {
            return Ok(None);
        };
        Ok(serde_json::from_slice::<T>(&bytes).ok().filter(|t| fits(t)))
    }

    pub async fn save<T: Serialize>(&self, progress: &T) -> Result<(), StoreError> {
        let body = serde_json::to_vec(progress)
            .map_err(|e| StoreError::Backend(format!("checkpoint: {e}")))?;
        self.state
            .blobs
            .put(self.tenant, &self.key, Bytes::from(body))
            .await
    }

    /// Drop it once the run's result is saved (a leftover only costs space).
    pub async fn clear(&self) {
        if let Err(e) = self.state.blobs.delete(self.tenant, &self.key).await {
            tracing::warn!(key = %self.key, error = %e, "could not remove a task checkpoint");
        }
    }
}

/// The blob prefix of a task kind's checkpoints in a dataset.
pub fn folder_of(dataset_id: &str, folder: &str) -> String {
    format!("{dataset_id}/{folder}/partial/")
}

/// A digest of a run's input, so a checkpoint is only used for the input it was made from.
pub fn digest<'s>(parts: impl IntoIterator<Item = &'s str>) -> String {
    let mut h = xxhash_rust::xxh64::Xxh64::new(0);
    let mut n = 0usize;
    for p in parts {
        h.update(p.as_bytes());
        h.update(&[0]);
        n += 1;
    }
    format!("{:016x}-{n}", h.digest())
}

/// Time left before the deadline (None: no deadline).
pub fn time_left(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

/// Whether to hand the rest of a run to a fresh invocation: only after doing some work in
/// this one (so every invocation makes progress) and with less than `margin` left.
pub fn should_pause(deadline: Option<Instant>, worked: bool, margin: Duration) -> bool {
    worked && time_left(deadline).is_some_and(|left| left < margin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_tell_inputs_apart() {
        assert_eq!(digest(["a", "b"]), digest(["a", "b"]));
        assert_ne!(digest(["a", "b"]), digest(["ab"]));
        assert_ne!(digest(["a", "b"]), digest(["b", "a"]));
        assert!(digest(["a", "b"]).ends_with("-2"));
    }

    #[test]
    fn a_pause_needs_work_done_and_little_time_left() {
        let m = Duration::from_secs(60);
        assert!(!should_pause(None, true, m), "no deadline, no pause");
        let soon = Some(Instant::now() + Duration::from_secs(10));
        assert!(should_pause(soon, true, m));
        assert!(!should_pause(soon, false, m), "nothing done yet: go on");
        let later = Some(Instant::now() + Duration::from_secs(600));
        assert!(!should_pause(later, true, m));
    }
}
