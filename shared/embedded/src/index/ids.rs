//! Each segment's chunk ids by doc id, read once per segment by a tantivy warmer, so
//! ranking never reads a stored record.

use super::*;

/// What a candidate is, without its record.
pub(super) struct ChunkIds {
    pub(super) chunk_id: Arc<str>,
    pub(super) dataset_id: Arc<str>,
    pub(super) document_id: Arc<str>,
}

/// A segment's chunks by segment-local doc id; `None` for a doc deleted when the segment
/// was read (it never matches again) or with an unreadable record.
pub(super) type SegmentIds = Arc<Vec<Option<ChunkIds>>>;

/// The ids of every chunk of the live segments, so a search names its candidates without a
/// doc-store read (a block decompression and a JSON parse each) per candidate.
///
/// A tantivy `Warmer`: each new searcher is warmed before it is published, which reads the
/// segments it has not seen yet (after a commit, the new small segment; after a merge, the
/// merged one) in one sequential pass, and entries are dropped once no live searcher uses
/// their segment. Segments are immutable (a delete only marks docs dead), so an entry is
/// never stale. The alternative, the ids as fast fields, would change the schema, which
/// `Index::open_or_create` refuses for existing indexes without a migration.
pub(super) struct IdCache {
    pub(super) f: Fields,
    pub(super) segments: RwLock<HashMap<SegmentId, SegmentIds>>,
    /// Set at open only: that first warm collects the vectors too, so open reads the store
    /// once, not twice.
    pub(super) collect: Mutex<Option<Vectors>>,
}

/// One sequential pass over a segment's store: each live chunk's ids, and its vector when
/// `vectors` is given.
fn read_segment(
    segment: &SegmentReader,
    f: Fields,
    mut vectors: Option<&mut Vectors>,
) -> Result<Vec<Option<ChunkIds>>, StoreError> {
    let store = segment
        .get_store_reader(64)
        .map_err(|e| StoreError::Backend(format!("tantivy doc store: {e}")))?;
    let alive = segment.alive_bitset();
    let mut ids = Vec::with_capacity(segment.max_doc() as usize);
    // Dead docs too (no alive filter), so a doc's position in the pass is its doc id.
    for (doc_id, doc) in (0..).zip(store.iter::<TantivyDocument>(None)) {
        let doc = doc.map_err(tv)?;
        if alive.is_some_and(|a| !a.is_alive(doc_id)) {
            ids.push(None);
            continue;
        }
        let json = doc
            .get_first(f.record)
            .and_then(|v| v.as_str())
            .unwrap_or("");
        // One unreadable record costs that chunk its place in search (and its vector), not
        // the whole index its ability to open.
        let meta: EntryMeta = match serde_json::from_str(json) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "skipping an unreadable chunk record");
                ids.push(None);
                continue;
            }
        };
        if let Some(vectors) = vectors.as_deref_mut() {
            let unit = doc
                .get_first(f.vector)
                .and_then(|v| v.as_bytes())
                .and_then(|b| unit(&vector_from_bytes(b)));
            if let Some(unit) = unit {
                let filters = VecMeta {
                    dataset_id: meta.dataset_id.clone(),
                    document_id: meta.document_id.clone(),
                    generation: meta.generation,
                    available: meta.available,
                };
                vectors
                    .entry(meta.tenant_id)
                    .or_default()
                    .insert(meta.id.clone(), filters, unit);
            }
        }
        ids.push(Some(ChunkIds {
            chunk_id: meta.id.into(),
            dataset_id: meta.dataset_id.into(),
            document_id: meta.document_id.into(),
        }));
    }
    Ok(ids)
}

impl IdCache {
    fn cached(&self, segment: SegmentId) -> Option<SegmentIds> {
        self.segments.read().ok()?.get(&segment).cloned()
    }

    /// The ids of each of the searcher's segments, by segment ordinal. Normally all warmed;
    /// a segment whose warm failed is read here (and the error, if it persists, returned).
    pub(super) fn of(&self, searcher: &Searcher) -> Result<Vec<SegmentIds>, StoreError> {
        searcher
            .segment_readers()
            .iter()
            .map(|segment| match self.cached(segment.segment_id()) {
                Some(ids) => Ok(ids),
                None => self.fill(segment),
            })
            .collect()
    }

    fn fill(&self, segment: &SegmentReader) -> Result<SegmentIds, StoreError> {
        let ids = Arc::new(read_segment(segment, self.f, None)?);
        self.segments
            .write()
            .map_err(|_| poisoned())?
            .insert(segment.segment_id(), ids.clone());
        Ok(ids)
    }
}

impl Warmer for IdCache {
    fn warm(&self, searcher: &Searcher) -> tantivy::Result<()> {
        let mut collect = self
            .collect
            .lock()
            .map_err(|_| tantivy::TantivyError::InternalError("id cache lock poisoned".into()))?;
        for segment in searcher.segment_readers() {
            let Some(vectors) = collect.as_mut() else {
                if self.cached(segment.segment_id()).is_some() {
                    continue;
                }
                // Failing the warm would fail the commit that reloads the reader after its
                // data is durable; search reads the segment itself instead.
                if let Err(e) = self.fill(segment) {
                    tracing::warn!(error = %e, "could not read a new segment's chunk ids");
                }
                continue;
            };
            // At open an unreadable store fails the open, as it always has.
            let ids = read_segment(segment, self.f, Some(vectors))
                .map_err(|e| tantivy::TantivyError::InternalError(e.to_string()))?;
            if let Ok(mut segments) = self.segments.write() {
                segments.insert(segment.segment_id(), Arc::new(ids));
            }
        }
        Ok(())
    }

    fn garbage_collect(&self, live_generations: &[&SearcherGeneration]) {
        let live: HashSet<SegmentId> = live_generations
            .iter()
            .flat_map(|g| g.segments().keys().copied())
            .collect();
        if let Ok(mut segments) = self.segments.write() {
            segments.retain(|id, _| live.contains(id));
        }
    }
}
