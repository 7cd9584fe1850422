//! Group commit for the index's one tantivy writer.
//!
//! An upsert is acknowledged only once committed (durable and visible), and a tantivy
//! commit (a new segment, its fsyncs, a reader reload) costs the same for one document's
//! chunks as for a hundred documents'. So an upsert adds its documents, then hands the
//! lock to every writer queued behind it (`parking_lot`'s fair hand-off), which add theirs,
//! and the first of them to get the lock back commits for all; the others find their
//! ticket settled and return. With one writer at a time nothing changes; with several
//! parse workers the commits are shared.
//!
//! Commits are also spaced: one that would follow the last by less than [`COMMIT_SPACING`]
//! waits out the rest with the lock released, so a bulk ingestion's many small documents
//! share commits (each a segment: its files, fsyncs and later merges) instead of each
//! making one. A lone upsert after a quiet spell commits at once.
//!
//! The vector entries of an upsert change only after the commit that made its chunks
//! durable, in the order the chunks were added, by whoever committed. A failed commit (or
//! an add that failed and rolled the writer back) fails every upsert it carried.

use std::time::{Duration, Instant};

use tantivy::IndexWriter;

use super::Vectors;
use lambdarag::StoreError;

/// A change to the in-memory vectors, applied once its chunks are committed.
pub(super) type VectorChange = Box<dyn FnOnce(&mut Vectors) + Send>;

/// The least time between two commits (measured on the mixed-format ingestion benchmark;
/// see docs/benchmarks.md).
pub(super) const COMMIT_SPACING: Duration = Duration::from_millis(20);

/// Tickets of failed commits kept for their callers (each reads its own right away).
const LOST_KEPT: usize = 64;

pub(super) struct Writer {
    pub writer: IndexWriter,
    /// Vector changes of added, uncommitted upserts, in add order.
    pending: Vec<VectorChange>,
    /// Tickets handed out (one per upsert added).
    added: u64,
    /// Every ticket up to this one was committed or lost.
    settled: u64,
    /// Ranges of tickets lost to a rollback.
    lost: Vec<(u64, u64)>,
    /// When the last commit ended.
    last_commit: Option<Instant>,
}

impl Writer {
    pub fn new(writer: IndexWriter) -> Self {
        Writer {
            writer,
            pending: Vec::new(),
            added: 0,
            settled: 0,
            lost: Vec::new(),
            last_commit: None,
        }
    }

    /// How long a commit now should wait to keep [`COMMIT_SPACING`] from the last one.
    pub fn spacing_wait(&self) -> Option<Duration> {
        let since = self.last_commit?.elapsed();
        (since < COMMIT_SPACING).then(|| COMMIT_SPACING - since)
    }

    /// Record an upsert whose documents were just added; its ticket.
    pub fn added(&mut self, change: VectorChange) -> u64 {
        self.pending.push(change);
        self.added += 1;
        self.added
    }

    /// What became of a ticket: None while no commit has covered it yet.
    pub fn outcome(&self, ticket: u64) -> Option<Result<(), StoreError>> {
        if ticket > self.settled {
            return None;
        }
        if self
            .lost
            .iter()
            .any(|(from, to)| (*from..=*to).contains(&ticket))
        {
            return Some(Err(StoreError::Backend(
                "the index commit that carried these chunks failed; nothing was written".into(),
            )));
        }
        Some(Ok(()))
    }

    /// Commit everything added; on success the pending vector changes, in order, are
    /// returned for the caller to apply. On failure the writer is rolled back.
    pub fn commit(&mut self) -> Result<Vec<VectorChange>, tantivy::TantivyError> {
        let upto = self.added;
        if let Err(e) = self.writer.commit() {
            self.roll_back();
            return Err(e);
        }
        self.settled = upto;
        self.last_commit = Some(Instant::now());
        Ok(std::mem::take(&mut self.pending))
    }

    /// Drop everything uncommitted, failing the upserts it belonged to.
    pub fn roll_back(&mut self) {
        let _ = self.writer.rollback();
        self.pending.clear();
        if self.added > self.settled {
            self.lost.push((self.settled + 1, self.added));
            if self.lost.len() > LOST_KEPT {
                self.lost.remove(0);
            }
        }
        self.settled = self.added;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::schema::{Schema, STRING};
    use tantivy::{doc, Index};

    fn writer() -> (Writer, tantivy::schema::Field) {
        let mut b = Schema::builder();
        let f = b.add_text_field("id", STRING);
        let index = Index::create_in_ram(b.build());
        let w = index
            .writer_with_num_threads(1, 15_000_000)
            .expect("writer");
        (Writer::new(w), f)
    }

    fn counting(n: &std::sync::Arc<std::sync::atomic::AtomicUsize>) -> VectorChange {
        let n = n.clone();
        Box::new(move |_| {
            n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        })
    }

    #[test]
    fn one_commit_settles_every_ticket_added_before_it() {
        let (mut w, f) = writer();
        let applied = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        w.writer.add_document(doc!(f => "a")).expect("add");
        let first = w.added(counting(&applied));
        w.writer.add_document(doc!(f => "b")).expect("add");
        let second = w.added(counting(&applied));
        assert!(w.outcome(first).is_none() && w.outcome(second).is_none());
        let changes = w.commit().expect("commit");
        assert_eq!(changes.len(), 2);
        for c in changes {
            c(&mut Vectors::new());
        }
        assert_eq!(applied.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert!(matches!(w.outcome(first), Some(Ok(()))));
        assert!(matches!(w.outcome(second), Some(Ok(()))));
    }

    #[test]
    fn a_commit_soon_after_another_waits_out_the_spacing() {
        let (mut w, f) = writer();
        assert_eq!(w.spacing_wait(), None, "the first commit does not wait");
        w.writer.add_document(doc!(f => "a")).expect("add");
        w.added(Box::new(|_| {}));
        w.commit().expect("commit");
        let wait = w.spacing_wait().expect("right after a commit");
        assert!(wait <= COMMIT_SPACING);
        std::thread::sleep(COMMIT_SPACING);
        assert_eq!(
            w.spacing_wait(),
            None,
            "after a quiet spell it commits at once"
        );
    }

    #[test]
    fn a_rollback_fails_the_tickets_it_dropped_and_only_those() {
        let (mut w, f) = writer();
        w.writer.add_document(doc!(f => "a")).expect("add");
        let kept = w.added(Box::new(|_| {}));
        w.commit().expect("commit");
        w.writer.add_document(doc!(f => "b")).expect("add");
        let dropped = w.added(Box::new(|_| {}));
        w.roll_back();
        assert!(matches!(w.outcome(kept), Some(Ok(()))));
        assert!(matches!(w.outcome(dropped), Some(Err(_))));
        // The writer goes on: a later upsert commits.
        w.writer.add_document(doc!(f => "c")).expect("add");
        let later = w.added(Box::new(|_| {}));
        assert!(w.commit().expect("commit").len() == 1);
        assert!(matches!(w.outcome(later), Some(Ok(()))));
    }
}
