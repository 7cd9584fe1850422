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
//! hundred thousand chunks per tenant, see `search_vectors`.
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

mod writer;
use writer::Writer;

/// The analyzer name the text fields are indexed with.
const TOKENIZER: &str = "lambdarag_text";
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
// Text analysis
// ---------------------------------------------------------------------------------------

/// CJK ideographs and kana: scripts written without spaces, indexed one character per
/// token (unigrams), the classic BM25 baseline for them. Without this a whole Chinese
/// sentence would be a single token and never match a shorter query.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // hiragana, katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0x20000..=0x2FA1F) // CJK extensions B.. and compatibility supplement
}

/// Words are runs of letters and digits; each CJK character is a word of its own.
#[derive(Clone, Default)]
struct WordTokenizer {
    token: Token,
}

struct WordTokenStream<'a> {
    text: &'a str,
    chars: std::iter::Peekable<CharIndices<'a>>,
    token: &'a mut Token,
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = WordTokenStream<'a>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordTokenStream<'a> {
        self.token.reset();
        WordTokenStream {
            text,
            chars: text.char_indices().peekable(),
            token: &mut self.token,
        }
    }
}

impl TokenStream for WordTokenStream<'_> {
    fn advance(&mut self) -> bool {
        self.token.text.clear();
        self.token.position = self.token.position.wrapping_add(1);
        while let Some((from, c)) = self.chars.next() {
            if !c.is_alphanumeric() {
                continue;
            }
            let mut to = from + c.len_utf8();
            if !is_cjk(c) {
                while let Some(&(i, n)) = self.chars.peek() {
                    if !n.is_alphanumeric() || is_cjk(n) {
                        break;
                    }
                    to = i + n.len_utf8();
                    self.chars.next();
                }
            }
            self.token.offset_from = from;
            self.token.offset_to = to;
            self.token.text.push_str(&self.text[from..to]);
            return true;
        }
        false
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// Words, lower-cased, English stop words dropped, English-stemmed (`foxes` finds `fox`).
fn analyzer() -> TextAnalyzer {
    let stop = StopWordFilter::new(Language::English)
        .unwrap_or_else(|| StopWordFilter::remove(Vec::<String>::new()));
    TextAnalyzer::builder(WordTokenizer::default())
        .filter(RemoveLongFilter::limit(64))
        .filter(LowerCaser)
        .filter(stop)
        .filter(Stemmer::new(Language::English))
        .build()
}

// ---------------------------------------------------------------------------------------
// The index
// ---------------------------------------------------------------------------------------

/// A chunk's vector with what the filters need, so vector search never touches tantivy.
struct VecEntry {
    dataset_id: String,
    document_id: String,
    generation: u64,
    /// Rewritten by every upsert, as is the whole entry (chunk edits go through upsert).
    available: bool,
    /// Unit length, so the dot product is the cosine.
    unit: Vec<f32>,
}

/// tenant → chunk id → vector.
type Vectors = HashMap<String, HashMap<String, VecEntry>>;

/// Which vectors a search may return: the scope of the text query, for the vector scan.
struct VectorScope<'a> {
    datasets: HashSet<&'a str>,
    documents: Option<HashSet<&'a str>>,
    available_only: bool,
}

impl VectorScope<'_> {
    fn admits(&self, e: &VecEntry) -> bool {
        self.datasets.contains(e.dataset_id.as_str())
            && self
                .documents
                .as_ref()
                .is_none_or(|d| d.contains(e.document_id.as_str()))
            && (e.available || !self.available_only)
    }
}

/// What a candidate is, without its record.
struct ChunkIds {
    chunk_id: Arc<str>,
    dataset_id: Arc<str>,
    document_id: Arc<str>,
}

/// A segment's chunks by segment-local doc id; `None` for a doc deleted when the segment
/// was read (it never matches again) or with an unreadable record.
type SegmentIds = Arc<Vec<Option<ChunkIds>>>;

/// The ids of every chunk of the live segments, so a search names its candidates without a
/// doc-store read (a block decompression and a JSON parse each) per candidate.
///
/// A tantivy `Warmer`: each new searcher is warmed before it is published, which reads the
/// segments it has not seen yet (after a commit, the new small segment; after a merge, the
/// merged one) in one sequential pass, and entries are dropped once no live searcher uses
/// their segment. Segments are immutable (a delete only marks docs dead), so an entry is
/// never stale. The alternative, the ids as fast fields, would change the schema, which
/// `Index::open_or_create` refuses for existing indexes without a migration.
struct IdCache {
    f: Fields,
    segments: RwLock<HashMap<SegmentId, SegmentIds>>,
    /// Set at open only: that first warm collects the vectors too, so open reads the store
    /// once, not twice.
    collect: Mutex<Option<Vectors>>,
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
                vectors.entry(meta.tenant_id).or_default().insert(
                    meta.id.clone(),
                    VecEntry {
                        dataset_id: meta.dataset_id.clone(),
                        document_id: meta.document_id.clone(),
                        generation: meta.generation,
                        available: meta.available,
                        unit,
                    },
                );
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
    fn of(&self, searcher: &Searcher) -> Result<Vec<SegmentIds>, StoreError> {
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
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    let mut acc = [0f32; 8];
    for (x, y) in ca.zip(cb) {
        for ((s, x), y) in acc.iter_mut().zip(x).zip(y) {
            *s += x * y;
        }
    }
    acc.iter().sum::<f32>() + tail
}

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

/// The live documents holding one of `values` in `field`, read from each segment's
/// postings term by term. For the few ids of a page this is much cheaper than a
/// `TermSetQuery`, which builds an automaton of the terms on every call.
fn live_addresses(
    searcher: &Searcher,
    field: Field,
    values: &[String],
) -> Result<Vec<DocAddress>, StoreError> {
    let mut out = Vec::with_capacity(values.len());
    for (ord, segment) in (0u32..).zip(searcher.segment_readers()) {
        let postings_of = segment.inverted_index(field).map_err(tv)?;
        let io = |e: std::io::Error| StoreError::Backend(format!("tantivy postings: {e}"));
        let alive = segment.alive_bitset();
        for value in values {
            let term = Term::from_field_text(field, value);
            let Some(mut postings) = postings_of
                .read_postings(&term, IndexRecordOption::Basic)
                .map_err(io)?
            else {
                continue;
            };
            let mut doc = postings.doc();
            while doc != TERMINATED {
                if alive.is_none_or(|a| a.is_alive(doc)) {
                    out.push(DocAddress::new(ord, doc));
                }
                doc = postings.advance();
            }
        }
    }
    Ok(out)
}

/// Candidates listed best first: by BM25, then cosine, then id (only a convenience: callers
/// fuse the two scores and rank).
fn by_scores(a: &ChunkHit, b: &ChunkHit) -> std::cmp::Ordering {
    b.term_score
        .total_cmp(&a.term_score)
        .then_with(|| b.vector_score.total_cmp(&a.vector_score))
        .then_with(|| a.chunk_id.cmp(&b.chunk_id))
}

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
    fn terms(&self, text: &str) -> Vec<String> {
        let mut analyzer = self.analyzer.clone();
        let mut stream = analyzer.token_stream(text);
        let mut seen = HashSet::new();
        let mut terms = vec![];
        while stream.advance() && terms.len() < MAX_QUERY_TERMS {
            let t = stream.token().text.clone();
            if seen.insert(t.clone()) {
                terms.push(t);
            }
        }
        terms
    }

    /// BM25 over the text fields: per word the best field (boosted) counts; words add up.
    fn text_query(&self, terms: &[String]) -> Box<dyn Query> {
        let f = self.f;
        let clauses = terms
            .iter()
            .map(|t| {
                let fields = [
                    (f.content, BOOST_CONTENT),
                    (f.title, BOOST_TITLE),
                    (f.keywords, BOOST_KEYWORDS),
                    (f.questions, BOOST_QUESTIONS),
                ]
                .into_iter()
                .map(|(field, boost)| {
                    let q = TermQuery::new(
                        Term::from_field_text(field, t),
                        IndexRecordOption::WithFreqs,
                    );
                    Box::new(BoostQuery::new(Box::new(q), boost)) as Box<dyn Query>
                })
                .collect();
                (
                    Occur::Should,
                    Box::new(DisjunctionMaxQuery::new(fields)) as Box<dyn Query>,
                )
            })
            .collect();
        Box::new(BooleanQuery::new(clauses))
    }

    /// Filter clauses: always the tenant, then whatever else narrows the scope.
    fn scope(
        &self,
        tenant_id: &str,
        datasets: &[String],
        documents: Option<&[String]>,
    ) -> Vec<(Occur, Box<dyn Query>)> {
        let f = self.f;
        let mut clauses = vec![must(term_query(f.tenant, tenant_id))];
        clauses.push(must(match datasets {
            [one] => term_query(f.dataset, one),
            many => any_of(f.dataset, many),
        }));
        if let Some(docs) = documents {
            clauses.push(must(match docs {
                [one] => term_query(f.document, one),
                many => any_of(f.document, many),
            }));
        }
        clauses
    }

    fn record(&self, searcher: &Searcher, addr: DocAddress) -> Result<ChunkRecord, StoreError> {
        let doc: TantivyDocument = searcher.doc(addr).map_err(tv)?;
        self.parse_record(&doc)
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

    /// Exact nearest neighbours among the tenant's vectors in scope: a scan of
    /// `dims` multiply-adds per vector (384 dims × 100k chunks ≈ 40M, tens of ms).
    fn search_vectors(
        &self,
        tenant_id: &str,
        query: &[f32],
        scope: &VectorScope,
        top_k: usize,
    ) -> Result<Vec<(String, f32)>, StoreError> {
        let vectors = self.vectors.read().map_err(|_| poisoned())?;
        let Some(chunks) = vectors.get(tenant_id) else {
            return Ok(vec![]);
        };
        // Ids are borrowed while scanning and copied only for the top_k kept.
        let mut scored: Vec<(&str, f32)> = chunks
            .iter()
            .filter(|(_, e)| e.unit.len() == query.len() && scope.admits(e))
            .map(|(id, e)| (id.as_str(), dot(query, &e.unit)))
            .collect();
        let by_score =
            |a: &(&str, f32), b: &(&str, f32)| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0));
        if scored.len() > top_k {
            scored.select_nth_unstable_by(top_k - 1, by_score);
            scored.truncate(top_k);
        }
        scored.sort_by(by_score);
        Ok(scored
            .into_iter()
            .map(|(id, s)| (id.to_string(), s))
            .collect())
    }

    /// The candidates of `search` with where they are, best first. With `available_only`,
    /// unavailable chunks are filtered out of both rankings, so they take no top_k slot.
    /// Scores are those of `search`: the filters are constant-score clauses and BM25's
    /// statistics are the index's, so a filter changes which docs match, never a score.
    fn candidates(
        &self,
        searcher: &Searcher,
        tenant_id: &str,
        req: &SearchRequest,
        available_only: bool,
    ) -> Result<Vec<(DocAddress, ChunkHit)>, StoreError> {
        let documents = req.document_ids.as_deref();
        if req.top_k == 0 || req.dataset_ids.is_empty() || documents.is_some_and(<[_]>::is_empty) {
            return Ok(vec![]);
        }
        let ids = self.ids.of(searcher)?;
        let identify = |addr: DocAddress| {
            ids.get(addr.segment_ord as usize)?
                .get(addr.doc_id as usize)?
                .as_ref()
        };
        let hit = |c: &ChunkIds, term_score: f32, vector_score: f32| ChunkHit {
            chunk_id: c.chunk_id.clone(),
            dataset_id: c.dataset_id.clone(),
            document_id: c.document_id.clone(),
            term_score,
            vector_score,
        };
        let scope = || {
            let mut clauses = self.scope(tenant_id, &req.dataset_ids, documents);
            if available_only {
                clauses.push(must(Box::new(TermQuery::new(
                    Term::from_field_bool(self.f.available, true),
                    IndexRecordOption::Basic,
                ))));
            }
            clauses
        };
        let terms = self.terms(&req.text);
        let query_vec = req.vector.as_deref().and_then(unit);
        let mut hits: Vec<(DocAddress, ChunkHit)> = vec![];

        if !terms.is_empty() {
            let mut clauses = scope();
            clauses.push((Occur::Must, self.text_query(&terms)));
            let top = searcher
                .search(
                    &BooleanQuery::new(clauses),
                    &TopDocs::with_limit(req.top_k).order_by_score(),
                )
                .map_err(tv)?;
            let vectors = self.vectors.read().map_err(|_| poisoned())?;
            let mine = vectors.get(tenant_id);
            for (score, addr) in top {
                let Some(c) = identify(addr) else {
                    continue;
                };
                // The cosine of a text hit, whether or not it is among the nearest.
                let cosine = match (query_vec.as_deref(), mine) {
                    (Some(q), Some(mine)) => mine
                        .get(&*c.chunk_id)
                        .filter(|e| e.unit.len() == q.len())
                        .map_or(0.0, |e| dot(q, &e.unit)),
                    _ => 0.0,
                };
                hits.push((addr, hit(c, score, cosine)));
            }
        }

        if let Some(q) = query_vec.as_deref() {
            let vector_scope = VectorScope {
                datasets: req.dataset_ids.iter().map(String::as_str).collect(),
                documents: documents.map(|d| d.iter().map(String::as_str).collect()),
                available_only,
            };
            let nearest = self.search_vectors(tenant_id, q, &vector_scope, req.top_k)?;
            let cosine: HashMap<String, f32> = {
                let seen: HashSet<&str> = hits.iter().map(|(_, h)| &*h.chunk_id).collect();
                nearest
                    .into_iter()
                    .filter(|(id, _)| !seen.contains(id.as_str()))
                    .collect()
            };
            if !cosine.is_empty() {
                // The vector-only candidates, found by their uids (the vector scope already
                // applied the dataset, document and availability filters; the uid holds
                // the tenant), with their BM25 score when the text matches them too (it
                // did, just below the text top_k).
                let uids: Vec<String> = cosine.keys().map(|id| uid(tenant_id, id)).collect();
                let found = live_addresses(searcher, self.f.uid, &uids)?;
                let scores = self.text_scores(searcher, &terms, &found)?;
                for (addr, score) in found.into_iter().zip(scores) {
                    let Some(c) = identify(addr) else {
                        continue;
                    };
                    let v = cosine.get(&*c.chunk_id).copied().unwrap_or(0.0);
                    hits.push((addr, hit(c, score, v)));
                }
            }
        }
        hits.sort_by(|a, b| by_scores(&a.1, &b.1));
        Ok(hits)
    }

    /// The text query's BM25 score of each of these documents (0 where it does not match),
    /// with the searcher's statistics, as a search would score them: one scorer per
    /// segment, advanced in doc order (cheaper than a query over the documents' uids).
    fn text_scores(
        &self,
        searcher: &Searcher,
        terms: &[String],
        addrs: &[DocAddress],
    ) -> Result<Vec<f32>, StoreError> {
        let mut out = vec![0.0f32; addrs.len()];
        if terms.is_empty() || addrs.is_empty() {
            return Ok(out);
        }
        let weight = self
            .text_query(terms)
            .weight(EnableScoring::enabled_from_searcher(searcher))
            .map_err(tv)?;
        let mut order: Vec<usize> = (0..addrs.len()).collect();
        order.sort_by_key(|&i| addrs[i]);
        let mut current: Option<(u32, Box<dyn Scorer>)> = None;
        for i in order {
            let DocAddress {
                segment_ord,
                doc_id,
            } = addrs[i];
            let scorer = match &mut current {
                Some((ord, scorer)) if *ord == segment_ord => scorer,
                _ => {
                    let segment = searcher.segment_reader(segment_ord);
                    let (_, scorer) =
                        current.insert((segment_ord, weight.scorer(segment, 1.0).map_err(tv)?));
                    scorer
                }
            };
            let at = if scorer.doc() < doc_id {
                scorer.seek(doc_id)
            } else {
                scorer.doc()
            };
            if at == doc_id {
                out[i] = scorer.score();
            }
        }
        Ok(out)
    }

    fn search(&self, tenant_id: &str, req: &SearchRequest) -> Result<Vec<ScoredChunk>, StoreError> {
        let searcher = self.reader.searcher();
        let hits = self.candidates(&searcher, tenant_id, req, false)?;
        // Read in store order: neighbours share a compressed block, decompressed once.
        let mut order: Vec<usize> = (0..hits.len()).collect();
        order.sort_by_key(|&i| hits[i].0);
        let mut records: Vec<Option<ChunkRecord>> = (0..hits.len()).map(|_| None).collect();
        for i in order {
            records[i] = Some(self.record(&searcher, hits[i].0)?);
        }
        Ok(hits
            .into_iter()
            .zip(records)
            .filter_map(|((_, h), chunk)| {
                Some(ScoredChunk {
                    chunk: chunk?,
                    term_score: h.term_score,
                    vector_score: h.vector_score,
                })
            })
            .collect())
    }

    fn search_hits(
        &self,
        tenant_id: &str,
        req: &SearchRequest,
    ) -> Result<Vec<ChunkHit>, StoreError> {
        let searcher = self.reader.searcher();
        Ok(self
            .candidates(&searcher, tenant_id, req, true)?
            .into_iter()
            .map(|(_, h)| h)
            .collect())
    }

    /// One query for all the ids, then the records in the order asked.
    fn get_chunks(
        &self,
        tenant_id: &str,
        ids: &[(String, String)],
    ) -> Result<Vec<ChunkRecord>, StoreError> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let searcher = self.reader.searcher();
        // The uid holds the tenant, so only this tenant's chunks can be found.
        let uids: Vec<String> = ids
            .iter()
            .map(|(_, id)| uid(tenant_id, id))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut found = live_addresses(&searcher, self.f.uid, &uids)?;
        // In store order: neighbours share a compressed block.
        found.sort();
        let mut records: HashMap<(String, String), ChunkRecord> = HashMap::new();
        for addr in found {
            let c = self.record(&searcher, addr)?;
            records.insert((c.dataset_id.clone(), c.id.clone()), c);
        }
        // A chunk of another dataset than asked is not found, as with `get`.
        Ok(ids.iter().filter_map(|k| records.get(k).cloned()).collect())
    }

    fn list_document(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        doc_id: &str,
        query: &ChunkListQuery,
    ) -> Result<(Vec<ChunkRecord>, u64), StoreError> {
        let searcher = self.reader.searcher();
        let mut clauses = self.scope(
            tenant_id,
            &[dataset_id.to_string()],
            Some(&[doc_id.to_string()]),
        );
        // Keywords with no searchable word in them (blank, stop words only) filter nothing.
        let terms = query
            .keywords
            .as_deref()
            .map(|k| self.terms(k))
            .unwrap_or_default();
        if !terms.is_empty() {
            clauses.push(must(self.text_query(&terms)));
        }
        let matched = searcher
            .search(&BooleanQuery::new(clauses), &DocSetCollector)
            .map_err(tv)?;
        // Order by `position` (a fast field), so only the page's records are read.
        let mut keyed = Vec::with_capacity(matched.len());
        let mut columns = HashMap::new();
        for addr in matched {
            let column = match columns.entry(addr.segment_ord) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(
                    searcher
                        .segment_reader(addr.segment_ord)
                        .fast_fields()
                        .i64("position")
                        .map_err(tv)?,
                ),
            };
            keyed.push((column.first(addr.doc_id).unwrap_or(0), addr));
        }
        // Equal positions (not produced by our parsers) fall back to index order.
        keyed.sort();
        let total = keyed.len() as u64;
        let page: Vec<DocAddress> = if query.page_size == 0 {
            keyed.into_iter().map(|(_, a)| a).collect()
        } else {
            let start = query.page.saturating_sub(1).saturating_mul(query.page_size);
            keyed
                .into_iter()
                .skip(usize::try_from(start).unwrap_or(usize::MAX))
                .take(usize::try_from(query.page_size).unwrap_or(usize::MAX))
                .map(|(_, a)| a)
                .collect()
        };
        let chunks = page
            .into_iter()
            .map(|a| self.record(&searcher, a))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((chunks, total))
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
                let mine = v.entry(t.clone()).or_default();
                for c in &chunks {
                    match unit(&c.vector) {
                        Some(unit) => {
                            mine.insert(
                                c.id.clone(),
                                VecEntry {
                                    dataset_id: c.dataset_id.clone(),
                                    document_id: c.document_id.clone(),
                                    generation: c.generation,
                                    available: c.available,
                                    unit,
                                },
                            );
                        }
                        None => {
                            mine.remove(&c.id);
                        }
                    }
                }
            }));
            // Let the upserts queued behind this one add theirs before anyone commits.
            parking_lot::MutexGuard::bump(&mut writer);
            match writer.outcome(ticket) {
                Some(done) => done,
                None => inner.commit(&mut writer),
            }
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
                    mine.retain(|_, e| {
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
                            .get(id)
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
                    mine.retain(|_, e| e.dataset_id != ds);
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
        let (t, req) = (tenant_id.to_string(), request.clone());
        self.with(move |inner| inner.search_hits(&t, &req)).await
    }

    async fn get_chunks(
        &self,
        tenant_id: &str,
        ids: &[(String, String)],
    ) -> Result<Vec<ChunkRecord>, StoreError> {
        let (t, ids) = (tenant_id.to_string(), ids.to_vec());
        self.with(move |inner| inner.get_chunks(&t, &ids)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<String> {
        let mut a = analyzer();
        let mut s = a.token_stream(text);
        let mut out = vec![];
        while s.advance() {
            out.push(s.token().text.clone());
        }
        out
    }

    #[test]
    fn words_are_lowercased_stemmed_and_stop_words_dropped() {
        assert_eq!(
            tokens("The Foxes were RUNNING, quickly!"),
            vec!["fox", "were", "run", "quick"]
        );
        assert_eq!(tokens("C++ and C#: v2.0"), vec!["c", "c", "v2", "0"]);
        assert!(tokens("🙂 -- !!").is_empty());
    }

    #[test]
    fn cjk_text_is_split_into_characters() {
        assert_eq!(tokens("检索增强"), vec!["检", "索", "增", "强"]);
        assert_eq!(tokens("RAG检索abc"), vec!["rag", "检", "索", "abc"]);
        assert_eq!(tokens("ひらがな"), vec!["ひ", "ら", "が", "な"]);
    }

    fn chunk(t: &str, ds: &str, doc: &str, i: i64, text: &str, v: &[f32]) -> ChunkRecord {
        let mut c = lambdarag::ports::conformance_index::sample_chunk(t, ds, doc, i, text);
        c.vector = v.to_vec();
        c
    }

    fn req(ds: &str, text: &str, v: Option<&[f32]>) -> SearchRequest {
        SearchRequest {
            dataset_ids: vec![ds.to_string()],
            document_ids: None,
            text: text.into(),
            vector: v.map(<[f32]>::to_vec),
            top_k: 100,
        }
    }

    /// search_hits as (id, term, vector), against search's available candidates.
    async fn same_as_search(index: &TantivyIndex, t: &str, r: &SearchRequest) -> usize {
        let full: Vec<(String, f32, f32)> = index
            .search(t, r)
            .await
            .expect("search")
            .into_iter()
            .filter(|s| s.chunk.available)
            .map(|s| (s.chunk.id, s.term_score, s.vector_score))
            .collect();
        let hits: Vec<(String, f32, f32)> = index
            .search_hits(t, r)
            .await
            .expect("search_hits")
            .into_iter()
            .map(|h| (h.chunk_id.to_string(), h.term_score, h.vector_score))
            .collect();
        assert_eq!(hits, full, "same candidates, scores and order");
        hits.len()
    }

    /// Upserts from many tasks at once share commits; each returns only once its chunks
    /// are durable and visible (text and vector), and a reopen finds every one of them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_upserts_are_each_visible_when_they_return() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("index");
        let index = TantivyIndex::open(&path).expect("open");
        let mut tasks = Vec::new();
        for d in 0..24 {
            let index = index.clone();
            tasks.push(tokio::spawn(async move {
                let doc = format!("doc{d}");
                let chunks: Vec<ChunkRecord> = (0..3)
                    .map(|i| {
                        chunk(
                            "t",
                            "ds",
                            &doc,
                            i,
                            &format!("petrel{d} words"),
                            &[1.0, d as f32, i as f32],
                        )
                    })
                    .collect();
                index.upsert("t", &chunks).await.expect("upsert");
                // Visible to the very next read, text and vector.
                let hits = index
                    .search_hits(
                        "t",
                        &req("ds", &format!("petrel{d}"), Some(&[1.0, d as f32, 0.0])),
                    )
                    .await
                    .expect("search");
                assert_eq!(
                    hits.iter()
                        .filter(|h| *h.document_id == *doc && h.term_score > 0.0)
                        .count(),
                    3
                );
                assert!(hits
                    .iter()
                    .filter(|h| *h.document_id == *doc)
                    .all(|h| h.vector_score > 0.0));
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
        drop(index);
        let reopened = TantivyIndex::open(&path).expect("reopen");
        let all = reopened
            .search_hits("t", &req("ds", "words", Some(&[1.0, 0.0, 0.0])))
            .await
            .expect("search");
        assert_eq!(all.len(), 72);
    }

    #[tokio::test]
    async fn ids_follow_new_segments_merges_deletes_and_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("index");
        let (t, ds, doc) = ("t", "ds", "doc");
        let index = TantivyIndex::open(&path).expect("open");
        // One segment per upsert.
        let mut all = vec![];
        for i in 0..6 {
            let c = chunk(t, ds, doc, i, &format!("grebe {i}"), &[1.0, i as f32, 0.0]);
            index
                .upsert(t, std::slice::from_ref(&c))
                .await
                .expect("upsert");
            all.push(c);
        }
        let hybrid = req(ds, "grebe", Some(&[1.0, 2.0, 0.0]));
        assert_eq!(same_as_search(&index, t, &hybrid).await, 6);
        index
            .delete_chunks(t, ds, doc, std::slice::from_ref(&all[2].id))
            .await
            .expect("delete");
        assert_eq!(same_as_search(&index, t, &hybrid).await, 5);

        // Merge everything into one segment: its ids are read as the reader reloads.
        {
            let inner = &index.inner;
            let mut writer = inner.writer.lock();
            let segments = writer
                .writer
                .index()
                .searchable_segment_ids()
                .expect("segments");
            writer.writer.merge(&segments).wait().expect("merge");
            inner.commit(&mut writer).expect("commit");
        }
        let searcher = index.inner.reader.searcher();
        assert_eq!(searcher.segment_readers().len(), 1, "merged");
        assert_eq!(same_as_search(&index, t, &hybrid).await, 5);
        assert_eq!(
            same_as_search(&index, t, &req(ds, "", Some(&[0.0, 1.0, 0.0]))).await,
            5
        );
        // Only the live searcher's segments are kept once the old ones are collected.
        index.inner.ids.garbage_collect(&[searcher.generation()]);
        let cached: Vec<SegmentId> = index
            .inner
            .ids
            .segments
            .read()
            .expect("ids")
            .keys()
            .copied()
            .collect();
        assert_eq!(cached, vec![searcher.segment_readers()[0].segment_id()]);
        drop(searcher);

        drop(index);
        let index = TantivyIndex::open(&path).expect("reopen");
        assert_eq!(same_as_search(&index, t, &hybrid).await, 5);
        let vector_only = index
            .search_hits(t, &req(ds, "", Some(&[1.0, 5.0, 0.0])))
            .await
            .expect("search_hits");
        assert_eq!(
            vector_only.first().map(|h| &*h.chunk_id),
            Some(all[5].id.as_str()),
            "vectors are loaded at open"
        );
    }

    #[tokio::test]
    async fn get_returns_the_vector_so_an_edit_keeps_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let index = TantivyIndex::open(&dir.path().join("index")).expect("open");
        let (t, ds, doc) = ("t", "ds", "doc");
        let c = chunk(t, ds, doc, 0, "kestrel", &[0.0, 3.0, 4.0]);
        index
            .upsert(t, std::slice::from_ref(&c))
            .await
            .expect("upsert");
        // A chunk update: read, change a field, write back (the text and so the vector
        // unchanged), as the chunk API does.
        let mut read = index.get(t, ds, &c.id).await.expect("get").expect("found");
        assert_eq!(read.vector, c.vector, "get returns the vector as written");
        read.available = false;
        index.upsert(t, &[read]).await.expect("upsert");
        let mut read = index.get(t, ds, &c.id).await.expect("get").expect("found");
        read.available = true;
        index.upsert(t, &[read]).await.expect("upsert");
        let hits = index
            .search_hits(t, &req(ds, "", Some(&[0.0, 3.0, 4.0])))
            .await
            .expect("search_hits");
        assert!(
            hits.iter()
                .any(|h| *h.chunk_id == *c.id && (h.vector_score - 1.0).abs() < 1e-5),
            "the edited chunk still matches by vector: {hits:?}"
        );
    }

    #[test]
    fn dot_is_the_plain_dot_product() {
        for n in [0, 3, 8, 13, 384] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - plain).abs() < 1e-4, "{n} dims");
        }
    }

    #[test]
    fn vectors_round_trip_through_bytes() {
        let v = vec![0.5, -1.25, f32::MIN_POSITIVE, 3.0e7];
        assert_eq!(vector_from_bytes(&vector_bytes(&v)), v);
        assert_eq!(unit(&[0.0, 0.0]), None);
        assert_eq!(unit(&[3.0, 4.0]), Some(vec![0.6, 0.8]));
    }
}
