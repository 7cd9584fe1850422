//! The chunk index of the embedded mode: tantivy for BM25 plus a brute-force vector index
//! held in memory, both durable under one folder (`<data_dir>/index/`).
//!
//! One tantivy index serves every tenant. `tenant_id`, `dataset_id`, `document_id` and
//! `chunk_id` are raw (untokenized) fields and every query carries the tenant as a `Must`
//! clause, so no request can reach another tenant's chunks. A chunk is keyed by
//! `uid = tenant + U+001F + chunk id`, so two tenants' chunks never replace each other even
//! if their ids collide.
//!
//! Vectors are stored in the same tantivy document as raw little-endian `f32` bytes, so a
//! chunk's text and vector are committed together (no second store to drift from the
//! first); at open they are read back into memory (tenant → chunk id → unit vector) and a
//! search scans the tenant's vectors. Exact cosine, no approximate index: fine to a few
//! hundred thousand chunks per tenant, see `candidates` and `vectors.rs`.
//!
//! Retrieval ranks thousands of candidates and returns a page of them, so `search_hits`
//! reads no record: a candidate's ids come from an in-memory table per segment (`IdCache`,
//! filled by one sequential read of each new segment's store as tantivy warms a new
//! searcher), and `get_chunks` reads the records of the page only.
//!
//! Writes go through the one `IndexWriter` tantivy allows, behind a mutex, and each call
//! returns only once its writes are committed and the reader reloaded, so a write is
//! visible to the next read and durable once acknowledged. A commit (a new small segment
//! and its fsyncs) is shared by the upserts that queue up while one runs (`writer`: group
//! commit); callers batch a document's chunks into one upsert, and tantivy's merge policy
//! folds the small segments in the background.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::str::CharIndices;
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use serde::Deserialize;
use tantivy::collector::{Count, DocSetCollector, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::index::SegmentId;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, EnableScoring, Occur, Query,
    Scorer, TermQuery, TermSetQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, INDEXED, STORED,
    STRING,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, Stemmer, StopWordFilter, TextAnalyzer, Token,
    TokenStream, Tokenizer,
};
use tantivy::{
    DocAddress, DocSet, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher,
    SearcherGeneration, SegmentReader, TantivyDocument, Term, Warmer, TERMINATED,
};

use lambdarag::domain::ChunkRecord;
use lambdarag::ports::{ChunkHit, ChunkIndex, ChunkListQuery, ScoredChunk, SearchRequest};
use lambdarag::StoreError;
use tantivy::schema::document::{
    DeserializeError, DocumentDeserialize, DocumentDeserializer, OwnedValue,
};

mod analysis;
mod ids;
mod search;
#[cfg(test)]
mod tests;
mod vectors;
mod writer;

use analysis::*;
use ids::*;
use vectors::{dot, TenantVectors, VecMeta, Vectors};
use writer::Writer;

/// The analyzer name the text fields are indexed with.
const TOKENIZER: &str = "lambdarag_text";
/// Term-only searches of an index up to this many chunks, with a question up to this
/// long, run on the calling thread.
const INLINE_TERM_SEARCH_DOCS: u64 = 10_000;
const INLINE_TERM_SEARCH_QUESTION_BYTES: usize = 512;
/// Record reads up to this many chunks run on the calling thread (a default page is 30).
const INLINE_RECORD_READS: usize = 32;
/// Indexing memory budget of the single writer thread (tantivy's minimum is 15 MB).
const WRITER_HEAP_BYTES: usize = 64 * 1024 * 1024;
/// Query words beyond this many are ignored: a pasted essay must not build a huge query.
const MAX_QUERY_TERMS: usize = 128;
/// Field boosts. Keywords and questions follow RAGFlow's full-text query
/// (`important_kwd^30`, `question_tks^20`); the title (the document name) weighs as much as
/// the content, not RAGFlow's `title_tks^10`: measured on SciFact with documents named by
/// their titles, a title boost of 10 cost BM25 0.13 nDCG@10 (0.5569 vs 0.6885 at 2) and
/// the hybrid 0.11, because a query word in a short title field already scores high under
/// BM25's length normalisation, so sharing one title word outranked answering the query.
/// Upstream's final ranking weights a title word only 2x a content word anyway
/// (docs/benchmarks.md, "Title handling"). Fields combine as a dis-max per word (the best
/// field counts, as Elasticsearch's `best_fields`), words add up.
const BOOST_KEYWORDS: f32 = 30.0;
const BOOST_QUESTIONS: f32 = 20.0;
const BOOST_TITLE: f32 = 2.0;
const BOOST_CONTENT: f32 = 2.0;
const UID_SEP: char = '\u{1f}';

fn tv(e: tantivy::TantivyError) -> StoreError {
    StoreError::Backend(format!("tantivy: {e}"))
}

fn poisoned() -> StoreError {
    StoreError::Backend("chunk index lock poisoned".into())
}

#[derive(Clone, Copy)]
struct Fields {
    uid: Field,
    tenant: Field,
    dataset: Field,
    document: Field,
    chunk: Field,
    content: Field,
    title: Field,
    keywords: Field,
    questions: Field,
    position: Field,
    generation: Field,
    create_time: Field,
    available: Field,
    /// The `ChunkRecord` as JSON, without its vector.
    record: Field,
    /// The vector as little-endian f32 bytes, as given (not normalised).
    vector: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    // Positions are not kept: nothing here runs phrase queries, and they double the postings.
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let f = Fields {
        uid: b.add_text_field("uid", STRING),
        tenant: b.add_text_field("tenant_id", STRING),
        dataset: b.add_text_field("dataset_id", STRING),
        document: b.add_text_field("document_id", STRING),
        chunk: b.add_text_field("chunk_id", STRING),
        content: b.add_text_field("content", text.clone()),
        title: b.add_text_field("title", text.clone()),
        keywords: b.add_text_field("important_keywords", text.clone()),
        questions: b.add_text_field("questions", text),
        position: b.add_i64_field("position", FAST),
        generation: b.add_u64_field("generation", INDEXED | FAST),
        create_time: b.add_i64_field("create_time", FAST),
        available: b.add_bool_field("available", INDEXED | FAST),
        record: b.add_text_field("record", STORED),
        vector: b.add_bytes_field("vector", STORED),
    };
    (b.build(), f)
}

// ---------------------------------------------------------------------------------------
// The index
// ---------------------------------------------------------------------------------------

/// Which vectors a search may return: the scope of the text query, for the vector scan.
struct VectorScope<'a> {
    /// Matched once per scan against the few dataset ids a block has seen (`Block::top`),
    /// not per vector.
    datasets: Vec<&'a str>,
    documents: Option<HashSet<&'a str>>,
    available_only: bool,
}

impl VectorScope<'_> {
    /// The tests besides the dataset's, which `Block::top` makes from `datasets` itself.
    fn admits(&self, e: &VecMeta) -> bool {
        self.documents
            .as_ref()
            .is_none_or(|d| d.contains(e.document_id.as_str()))
            && (e.available || !self.available_only)
    }
}

struct Inner {
    reader: IndexReader,
    writer: parking_lot::Mutex<Writer>,
    f: Fields,
    analyzer: TextAnalyzer,
    vectors: RwLock<Vectors>,
    /// Held here: the reader only keeps a weak reference to its warmers.
    ids: Arc<IdCache>,
}

#[derive(Clone)]
pub struct TantivyIndex {
    inner: Arc<Inner>,
}

/// The record fields the id cache and the vector entries need.
#[derive(Deserialize)]
struct EntryMeta {
    id: String,
    tenant_id: String,
    dataset_id: String,
    document_id: String,
    generation: u64,
    available: bool,
}

fn uid(tenant_id: &str, chunk_id: &str) -> String {
    format!("{tenant_id}{UID_SEP}{chunk_id}")
}

fn unit(v: &[f32]) -> Option<Vec<f32>> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    (norm > 0.0 && norm.is_finite()).then(|| v.iter().map(|x| x / norm).collect())
}

/// Eight running sums, not one: a single sum is a chain of dependent adds the compiler may
/// not reorder, which made the vector scan ~4x slower than this vectorised form. (The result
/// can differ from a sequential sum in the last bits.)
fn vector_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn vector_from_bytes(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn term_query(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::Basic,
    ))
}

/// A filter clause: must match, adds nothing to the score.
fn must(q: Box<dyn Query>) -> (Occur, Box<dyn Query>) {
    (Occur::Must, Box::new(ConstScoreQuery::new(q, 0.0)))
}

fn any_of(field: Field, values: &[String]) -> Box<dyn Query> {
    Box::new(TermSetQuery::new(
        values.iter().map(|v| Term::from_field_text(field, v)),
    ))
}

/// Decompressed 16 KB doc-store blocks kept per segment (tantivy's default is 100). A
/// retrieval page reads ~30 records scattered over the corpus; with 100 blocks most reads
/// decompressed a block again (~10 % of an HTTP query's CPU on SciFact). 1,024 blocks (at
/// most 16 MB per segment, filled only by blocks actually read) hold ~5k chunks' records.
const DOC_STORE_CACHE_BLOCKS: usize = 1024;

impl TantivyIndex {
    /// Open (creating if needed) the index in `dir`; the embedded deployment uses
    /// `<data_dir>/index`. Fails if another process holds the index's writer lock.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Backend(format!("cannot create index folder {}: {e}", dir.display()))
        })?;
        let (schema, f) = schema();
        let mmap = MmapDirectory::open(dir).map_err(|e| StoreError::Backend(e.to_string()))?;
        let index = Index::open_or_create(mmap, schema).map_err(tv)?;
        let analyzer = analyzer();
        index.tokenizers().register(TOKENIZER, analyzer.clone());
        let writer: IndexWriter = index
            .writer_with_num_threads(1, WRITER_HEAP_BYTES)
            .map_err(tv)?;
        let ids = Arc::new(IdCache {
            f,
            segments: RwLock::new(HashMap::new()),
            collect: Mutex::new(Some(Vectors::new())),
        });
        let warmer: Arc<dyn Warmer> = ids.clone();
        // Building the reader warms its first searcher: every segment's ids and vectors.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .doc_store_cache_num_blocks(DOC_STORE_CACHE_BLOCKS)
            .warmers(vec![Arc::downgrade(&warmer)])
            .try_into()
            .map_err(tv)?;
        let vectors = ids
            .collect
            .lock()
            .map_err(|_| poisoned())?
            .take()
            .unwrap_or_default();
        Ok(TantivyIndex {
            inner: Arc::new(Inner {
                reader,
                writer: parking_lot::Mutex::new(Writer::new(writer)),
                f,
                analyzer,
                vectors: RwLock::new(vectors),
                ids,
            }),
        })
    }

    /// Run blocking index work off the async threads.
    async fn with<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|e| StoreError::Backend(format!("chunk index task failed: {e}")))?
    }
}

impl Inner {
    fn record(&self, searcher: &Searcher, addr: DocAddress) -> Result<ChunkRecord, StoreError> {
        let RecordOnly(json) = searcher.doc(addr).map_err(tv)?;
        let json =
            json.ok_or_else(|| StoreError::Corrupt("indexed chunk without its record".into()))?;
        Ok(serde_json::from_str(&json)?)
    }

    fn parse_record(&self, doc: &TantivyDocument) -> Result<ChunkRecord, StoreError> {
        let json = doc
            .get_first(self.f.record)
            .and_then(|v| v.as_str())
            .ok_or_else(|| StoreError::Corrupt("indexed chunk without its record".into()))?;
        Ok(serde_json::from_str(json)?)
    }

    /// The record with its vector: what `get` returns, so a chunk read, edited and upserted
    /// again (a chunk update that leaves the text alone) keeps its vector.
    fn record_with_vector(
        &self,
        searcher: &Searcher,
        addr: DocAddress,
    ) -> Result<ChunkRecord, StoreError> {
        let doc: TantivyDocument = searcher.doc(addr).map_err(tv)?;
        let mut c = self.parse_record(&doc)?;
        if let Some(b) = doc.get_first(self.f.vector).and_then(|v| v.as_bytes()) {
            c.vector = vector_from_bytes(b);
        }
        Ok(c)
    }

    fn document(&self, tenant_id: &str, c: &ChunkRecord) -> Result<TantivyDocument, StoreError> {
        let f = self.f;
        let mut stored = c.clone();
        stored.vector = Vec::new();
        let mut d = TantivyDocument::default();
        d.add_text(f.uid, uid(tenant_id, &c.id));
        d.add_text(f.tenant, tenant_id);
        d.add_text(f.dataset, &c.dataset_id);
        d.add_text(f.document, &c.document_id);
        d.add_text(f.chunk, &c.id);
        d.add_text(f.content, &c.content);
        d.add_text(f.title, &c.document_name);
        for k in &c.important_keywords {
            d.add_text(f.keywords, k);
        }
        for q in &c.questions {
            d.add_text(f.questions, q);
        }
        d.add_i64(f.position, c.position);
        d.add_u64(f.generation, c.generation);
        d.add_i64(f.create_time, c.create_time);
        d.add_bool(f.available, c.available);
        d.add_text(f.record, serde_json::to_string(&stored)?);
        if !c.vector.is_empty() {
            d.add_bytes(f.vector, &vector_bytes(&c.vector));
        }
        Ok(d)
    }

    /// Commit what the writer holds (every upsert added so far), apply their vector
    /// changes and make it visible; on failure drop it, so the next call starts clean.
    fn commit(&self, writer: &mut Writer) -> Result<(), StoreError> {
        let changes = writer.commit().map_err(tv)?;
        self.with_vectors_mut(|v| {
            for change in changes {
                change(v);
            }
        })?;
        self.reader.reload().map_err(tv)
    }

    /// Delete what `query` matches; returns how many matched.
    fn delete_matching(&self, writer: &mut Writer, query: BooleanQuery) -> Result<u64, StoreError> {
        let n = self.reader.searcher().search(&query, &Count).map_err(tv)?;
        if n == 0 {
            return Ok(0);
        }
        if let Err(e) = writer.writer.delete_query(Box::new(query)) {
            writer.roll_back();
            return Err(tv(e));
        }
        self.commit(writer)?;
        Ok(n as u64)
    }

    fn with_vectors_mut(&self, f: impl FnOnce(&mut Vectors)) -> Result<(), StoreError> {
        let mut v = self.vectors.write().map_err(|_| poisoned())?;
        f(&mut v);
        Ok(())
    }
}

#[async_trait]
impl ChunkIndex for TantivyIndex {
    async fn upsert(&self, tenant_id: &str, chunks: &[ChunkRecord]) -> Result<(), StoreError> {
        if chunks.is_empty() {
            return Ok(());
        }
        if let Some(c) = chunks.iter().find(|c| c.tenant_id != tenant_id) {
            return Err(StoreError::Backend(format!(
                "chunk {} belongs to tenant {}, not to {tenant_id}",
                c.id, c.tenant_id
            )));
        }
        let (t, chunks) = (tenant_id.to_string(), chunks.to_vec());
        self.with(move |inner| {
            let docs = chunks
                .iter()
                .map(|c| inner.document(&t, c))
                .collect::<Result<Vec<_>, _>>()?;
            let mut writer = inner.writer.lock();
            for (c, doc) in chunks.iter().zip(docs) {
                // Delete-then-add in one commit: tantivy orders them by opstamp, so the
                // delete hits only the older copy.
                writer
                    .writer
                    .delete_term(Term::from_field_text(inner.f.uid, &uid(&t, &c.id)));
                if let Err(e) = writer.writer.add_document(doc) {
                    writer.roll_back();
                    return Err(tv(e));
                }
            }
            // The vectors change with the commit that makes these chunks durable, in add
            // order (see `writer`).
            let ticket = writer.added(Box::new(move |v: &mut Vectors| {
                let mine: &mut TenantVectors = v.entry(t.clone()).or_default();
                for c in &chunks {
                    match unit(&c.vector) {
                        Some(unit) => {
                            let meta = VecMeta {
                                dataset_id: c.dataset_id.clone(),
                                document_id: c.document_id.clone(),
                                generation: c.generation,
                                available: c.available,
                            };
                            mine.insert(c.id.clone(), meta, unit);
                        }
                        None => {
                            mine.remove(&c.id);
                        }
                    }
                }
            }));
            // Let the upserts queued behind this one add theirs before anyone commits.
            parking_lot::MutexGuard::bump(&mut writer);
            if let Some(done) = writer.outcome(ticket) {
                return done;
            }
            if let Some(wait) = writer.spacing_wait() {
                // Others add theirs meanwhile; whoever takes the lock first commits for all.
                drop(writer);
                std::thread::sleep(wait);
                writer = inner.writer.lock();
                if let Some(done) = writer.outcome(ticket) {
                    return done;
                }
            }
            inner.commit(&mut writer)
        })
        .await
    }

    async fn get(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        chunk_id: &str,
    ) -> Result<Option<ChunkRecord>, StoreError> {
        let (t, ds, id) = (
            tenant_id.to_string(),
            dataset_id.to_string(),
            chunk_id.to_string(),
        );
        self.with(move |inner| {
            let searcher = inner.reader.searcher();
            let mut clauses = inner.scope(&t, &[ds], None);
            clauses.push(must(term_query(inner.f.uid, &uid(&t, &id))));
            let top = searcher
                .search(
                    &BooleanQuery::new(clauses),
                    &TopDocs::with_limit(1).order_by_score(),
                )
                .map_err(tv)?;
            top.first()
                .map(|(_, addr)| inner.record_with_vector(&searcher, *addr))
                .transpose()
        })
        .await
    }

    async fn list_document(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        doc_id: &str,
        query: &ChunkListQuery,
    ) -> Result<(Vec<ChunkRecord>, u64), StoreError> {
        let (t, ds, doc, q) = (
            tenant_id.to_string(),
            dataset_id.to_string(),
            doc_id.to_string(),
            query.clone(),
        );
        self.with(move |inner| inner.list_document(&t, &ds, &doc, &q))
            .await
    }

    async fn delete_document(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        doc_id: &str,
        generation: Option<u64>,
    ) -> Result<u64, StoreError> {
        let (t, ds, doc) = (
            tenant_id.to_string(),
            dataset_id.to_string(),
            doc_id.to_string(),
        );
        self.with(move |inner| {
            let mut clauses = inner.scope(
                &t,
                std::slice::from_ref(&ds),
                Some(std::slice::from_ref(&doc)),
            );
            if let Some(g) = generation {
                clauses.push(must(Box::new(TermQuery::new(
                    Term::from_field_u64(inner.f.generation, g),
                    IndexRecordOption::Basic,
                ))));
            }
            let mut writer = inner.writer.lock();
            let n = inner.delete_matching(&mut writer, BooleanQuery::new(clauses))?;
            inner.with_vectors_mut(|v| {
                if let Some(mine) = v.get_mut(&t) {
                    mine.retain(|e| {
                        !(e.dataset_id == ds
                            && e.document_id == doc
                            && generation.is_none_or(|g| e.generation == g))
                    });
                }
            })?;
            Ok(n)
        })
        .await
    }

    async fn delete_chunks(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        doc_id: &str,
        chunk_ids: &[String],
    ) -> Result<u64, StoreError> {
        if chunk_ids.is_empty() {
            return Ok(0);
        }
        let (t, ds, doc) = (
            tenant_id.to_string(),
            dataset_id.to_string(),
            doc_id.to_string(),
        );
        let ids: Vec<String> = chunk_ids.to_vec();
        self.with(move |inner| {
            let uids: Vec<String> = ids.iter().map(|id| uid(&t, id)).collect();
            let mut clauses = inner.scope(
                &t,
                std::slice::from_ref(&ds),
                Some(std::slice::from_ref(&doc)),
            );
            clauses.push(must(any_of(inner.f.uid, &uids)));
            let mut writer = inner.writer.lock();
            let n = inner.delete_matching(&mut writer, BooleanQuery::new(clauses))?;
            inner.with_vectors_mut(|v| {
                if let Some(mine) = v.get_mut(&t) {
                    for id in &ids {
                        if mine
                            .meta(id)
                            .is_some_and(|e| e.dataset_id == ds && e.document_id == doc)
                        {
                            mine.remove(id);
                        }
                    }
                }
            })?;
            Ok(n)
        })
        .await
    }

    async fn delete_dataset(&self, tenant_id: &str, dataset_id: &str) -> Result<(), StoreError> {
        let (t, ds) = (tenant_id.to_string(), dataset_id.to_string());
        self.with(move |inner| {
            let clauses = inner.scope(&t, std::slice::from_ref(&ds), None);
            let mut writer = inner.writer.lock();
            inner.delete_matching(&mut writer, BooleanQuery::new(clauses))?;
            inner.with_vectors_mut(|v| {
                if let Some(mine) = v.get_mut(&t) {
                    mine.retain(|e| e.dataset_id != ds);
                }
            })
        })
        .await
    }

    async fn search(
        &self,
        tenant_id: &str,
        request: &SearchRequest,
    ) -> Result<Vec<ScoredChunk>, StoreError> {
        let (t, req) = (tenant_id.to_string(), request.clone());
        self.with(move |inner| inner.search(&t, &req)).await
    }

    async fn search_hits(
        &self,
        tenant_id: &str,
        request: &SearchRequest,
    ) -> Result<Vec<ChunkHit>, StoreError> {
        if request.vector.is_none()
            && request.text.len() <= INLINE_TERM_SEARCH_QUESTION_BYTES
            && self.inner.reader.searcher().num_docs() <= INLINE_TERM_SEARCH_DOCS
        {
            // A short term-only search of a small index takes a fraction of a millisecond
            // (0.3 ms p50 at 5k chunks, `bench scale`), about what the hand-off to the
            // blocking pool and back costs a request; larger ones still go there.
            return self.inner.search_hits(tenant_id, request);
        }
        let (t, req) = (tenant_id.to_string(), request.clone());
        self.with(move |inner| inner.search_hits(&t, &req)).await
    }

    async fn get_chunks(
        &self,
        tenant_id: &str,
        ids: &[(String, String)],
    ) -> Result<Vec<ChunkRecord>, StoreError> {
        if ids.len() <= INLINE_RECORD_READS {
            // A page's records: tens of microseconds of reads from the cached doc store,
            // less than a hand-off to the blocking pool and back (see `SqliteStore::with_lookup`).
            return self.inner.get_chunks(tenant_id, ids);
        }
        let (t, ids) = (tenant_id.to_string(), ids.to_vec());
        self.with(move |inner| inner.get_chunks(&t, &ids)).await
    }
}

/// A stored chunk read for its record only. The record is the one stored string field and
/// is written before the vector (`document`), so reading stops there and the 1.5 KB vector,
/// which tantivy decodes byte by byte, is never decoded.
struct RecordOnly(Option<String>);

impl DocumentDeserialize for RecordOnly {
    fn deserialize<'de, D: DocumentDeserializer<'de>>(
        mut doc: D,
    ) -> Result<Self, DeserializeError> {
        while let Some((_, value)) = doc.next_field::<OwnedValue>()? {
            if let OwnedValue::Str(json) = value {
                return Ok(RecordOnly(Some(json)));
            }
        }
        Ok(RecordOnly(None))
    }
}
