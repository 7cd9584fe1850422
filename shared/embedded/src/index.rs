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
//! Writes go through the one `IndexWriter` tantivy allows, behind a mutex, and each call
//! commits before returning and reloads the reader, so a write is visible to the next read
//! and durable once acknowledged. The cost is a commit (a new small segment and an fsync)
//! per upsert or delete call; callers batch a document's chunks into one upsert, and
//! tantivy's merge policy folds the small segments in the background.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::str::CharIndices;
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use serde::Deserialize;
use tantivy::collector::{Count, DocSetCollector, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, Occur, Query, TermQuery,
    TermSetQuery,
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
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term,
};

use lambdarag::domain::ChunkRecord;
use lambdarag::ports::{ChunkIndex, ChunkListQuery, ScoredChunk, SearchRequest};
use lambdarag::StoreError;

/// The analyzer name the text fields are indexed with.
const TOKENIZER: &str = "lambdarag_text";
/// Indexing memory budget of the single writer thread (tantivy's minimum is 15 MB).
const WRITER_HEAP_BYTES: usize = 64 * 1024 * 1024;
/// Query words beyond this many are ignored: a pasted essay must not build a huge query.
const MAX_QUERY_TERMS: usize = 128;
/// Field boosts, after RAGFlow's full-text query (`important_kwd^30`, `question_tks^20`,
/// `title_tks^10`, `content_ltks^2`). Fields combine as a dis-max per word (the best field
/// counts, as Elasticsearch's `best_fields`), words add up.
const BOOST_KEYWORDS: f32 = 30.0;
const BOOST_QUESTIONS: f32 = 20.0;
const BOOST_TITLE: f32 = 10.0;
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
    /// Unit length, so the dot product is the cosine.
    unit: Vec<f32>,
}

/// tenant → chunk id → vector.
type Vectors = HashMap<String, HashMap<String, VecEntry>>;

struct Inner {
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    f: Fields,
    analyzer: TextAnalyzer,
    vectors: RwLock<Vectors>,
}

#[derive(Clone)]
pub struct TantivyIndex {
    inner: Arc<Inner>,
}

/// The record fields needed to rebuild a vector entry at open.
#[derive(Deserialize)]
struct EntryMeta {
    id: String,
    tenant_id: String,
    dataset_id: String,
    document_id: String,
    generation: u64,
}

fn uid(tenant_id: &str, chunk_id: &str) -> String {
    format!("{tenant_id}{UID_SEP}{chunk_id}")
}

fn unit(v: &[f32]) -> Option<Vec<f32>> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    (norm > 0.0 && norm.is_finite()).then(|| v.iter().map(|x| x / norm).collect())
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
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
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(tv)?;
        let vectors = load_vectors(&reader.searcher(), f)?;
        Ok(TantivyIndex {
            inner: Arc::new(Inner {
                reader,
                writer: Mutex::new(writer),
                f,
                analyzer,
                vectors: RwLock::new(vectors),
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

/// Every live document's vector, read from the doc store once at open.
fn load_vectors(searcher: &Searcher, f: Fields) -> Result<Vectors, StoreError> {
    let mut vectors = Vectors::new();
    for segment in searcher.segment_readers() {
        let store = segment
            .get_store_reader(64)
            .map_err(|e| StoreError::Backend(format!("tantivy doc store: {e}")))?;
        for doc in store.iter::<TantivyDocument>(segment.alive_bitset()) {
            let doc = doc.map_err(tv)?;
            let Some(bytes) = doc.get_first(f.vector).and_then(|v| v.as_bytes()) else {
                continue;
            };
            let Some(unit) = unit(&vector_from_bytes(bytes)) else {
                continue;
            };
            let json = doc
                .get_first(f.record)
                .and_then(|v| v.as_str())
                .unwrap_or("");
            // One unreadable record costs that chunk its vector (it stays text-searchable),
            // not the whole index its ability to open.
            let meta: EntryMeta = match serde_json::from_str(json) {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, "skipping the vector of an unreadable chunk record");
                    continue;
                }
            };
            vectors.entry(meta.tenant_id).or_default().insert(
                meta.id,
                VecEntry {
                    dataset_id: meta.dataset_id,
                    document_id: meta.document_id,
                    generation: meta.generation,
                    unit,
                },
            );
        }
    }
    Ok(vectors)
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
        let json = doc
            .get_first(self.f.record)
            .and_then(|v| v.as_str())
            .ok_or_else(|| StoreError::Corrupt("indexed chunk without its record".into()))?;
        Ok(serde_json::from_str(json)?)
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

    /// Commit what the writer holds and make it visible; on failure drop it, so the next
    /// call starts clean.
    fn commit(&self, writer: &mut IndexWriter) -> Result<(), StoreError> {
        if let Err(e) = writer.commit() {
            let _ = writer.rollback();
            return Err(tv(e));
        }
        self.reader.reload().map_err(tv)
    }

    /// Delete what `query` matches; returns how many matched.
    fn delete_matching(
        &self,
        writer: &mut IndexWriter,
        query: BooleanQuery,
    ) -> Result<u64, StoreError> {
        let n = self.reader.searcher().search(&query, &Count).map_err(tv)?;
        if n == 0 {
            return Ok(0);
        }
        if let Err(e) = writer.delete_query(Box::new(query)) {
            let _ = writer.rollback();
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
        datasets: &HashSet<&str>,
        documents: Option<&HashSet<&str>>,
        top_k: usize,
    ) -> Result<Vec<(String, f32)>, StoreError> {
        let vectors = self.vectors.read().map_err(|_| poisoned())?;
        let Some(chunks) = vectors.get(tenant_id) else {
            return Ok(vec![]);
        };
        let mut scored: Vec<(String, f32)> = chunks
            .iter()
            .filter(|(_, e)| {
                e.unit.len() == query.len()
                    && datasets.contains(e.dataset_id.as_str())
                    && documents.is_none_or(|d| d.contains(e.document_id.as_str()))
            })
            .map(|(id, e)| (id.clone(), dot(query, &e.unit)))
            .collect();
        let by_score =
            |a: &(String, f32), b: &(String, f32)| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0));
        if scored.len() > top_k {
            scored.select_nth_unstable_by(top_k - 1, by_score);
            scored.truncate(top_k);
        }
        scored.sort_by(by_score);
        Ok(scored)
    }

    fn vector_score(&self, tenant_id: &str, chunk_id: &str, query: Option<&[f32]>) -> f32 {
        let (Some(q), Ok(vectors)) = (query, self.vectors.read()) else {
            return 0.0;
        };
        vectors
            .get(tenant_id)
            .and_then(|m| m.get(chunk_id))
            .filter(|e| e.unit.len() == q.len())
            .map_or(0.0, |e| dot(q, &e.unit))
    }

    fn search(&self, tenant_id: &str, req: &SearchRequest) -> Result<Vec<ScoredChunk>, StoreError> {
        let documents = req.document_ids.as_deref();
        if req.top_k == 0 || req.dataset_ids.is_empty() || documents.is_some_and(<[_]>::is_empty) {
            return Ok(vec![]);
        }
        let searcher = self.reader.searcher();
        let terms = self.terms(&req.text);
        let query_vec = req.vector.as_deref().and_then(unit);
        let mut hits: Vec<ScoredChunk> = vec![];
        let mut seen: HashSet<String> = HashSet::new();

        if !terms.is_empty() {
            let mut clauses = self.scope(tenant_id, &req.dataset_ids, documents);
            clauses.push((Occur::Must, self.text_query(&terms)));
            let top = searcher
                .search(
                    &BooleanQuery::new(clauses),
                    &TopDocs::with_limit(req.top_k).order_by_score(),
                )
                .map_err(tv)?;
            for (score, addr) in top {
                let chunk = self.record(&searcher, addr)?;
                let vector_score = self.vector_score(tenant_id, &chunk.id, query_vec.as_deref());
                seen.insert(chunk.id.clone());
                hits.push(ScoredChunk {
                    chunk,
                    term_score: score,
                    vector_score,
                });
            }
        }

        if let Some(q) = query_vec.as_deref() {
            let datasets: HashSet<&str> = req.dataset_ids.iter().map(String::as_str).collect();
            let docs: Option<HashSet<&str>> =
                documents.map(|d| d.iter().map(String::as_str).collect());
            let nearest = self.search_vectors(tenant_id, q, &datasets, docs.as_ref(), req.top_k)?;
            let cosine: HashMap<String, f32> = nearest
                .into_iter()
                .filter(|(id, _)| !seen.contains(id))
                .collect();
            if !cosine.is_empty() {
                // Fetch the vector-only candidates, with their BM25 score when the text
                // matches them too (it did, just below the text top_k).
                let uids: Vec<String> = cosine.keys().map(|id| uid(tenant_id, id)).collect();
                let mut clauses = self.scope(tenant_id, &req.dataset_ids, documents);
                clauses.push(must(any_of(self.f.uid, &uids)));
                if !terms.is_empty() {
                    clauses.push((Occur::Should, self.text_query(&terms)));
                }
                let found = searcher
                    .search(
                        &BooleanQuery::new(clauses),
                        &TopDocs::with_limit(cosine.len()).order_by_score(),
                    )
                    .map_err(tv)?;
                for (score, addr) in found {
                    let chunk = self.record(&searcher, addr)?;
                    let vector_score = cosine.get(&chunk.id).copied().unwrap_or(0.0);
                    hits.push(ScoredChunk {
                        chunk,
                        term_score: score,
                        vector_score,
                    });
                }
            }
        }
        // The order is only a convenience: callers fuse the two scores and rank.
        hits.sort_by(|a, b| {
            b.term_score
                .total_cmp(&a.term_score)
                .then_with(|| b.vector_score.total_cmp(&a.vector_score))
                .then_with(|| a.chunk.id.cmp(&b.chunk.id))
        });
        Ok(hits)
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
            let mut writer = inner.writer.lock().map_err(|_| poisoned())?;
            for (c, doc) in chunks.iter().zip(docs) {
                // Delete-then-add in one commit: tantivy orders them by opstamp, so the
                // delete hits only the older copy.
                writer.delete_term(Term::from_field_text(inner.f.uid, &uid(&t, &c.id)));
                if let Err(e) = writer.add_document(doc) {
                    let _ = writer.rollback();
                    return Err(tv(e));
                }
            }
            inner.commit(&mut writer)?;
            // Still under the writer lock, so the vectors change in commit order.
            inner.with_vectors_mut(|v| {
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
                                    unit,
                                },
                            );
                        }
                        None => {
                            mine.remove(&c.id);
                        }
                    }
                }
            })
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
                .map(|(_, addr)| inner.record(&searcher, *addr))
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
            let mut writer = inner.writer.lock().map_err(|_| poisoned())?;
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
            let mut writer = inner.writer.lock().map_err(|_| poisoned())?;
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
            let mut writer = inner.writer.lock().map_err(|_| poisoned())?;
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

    #[test]
    fn vectors_round_trip_through_bytes() {
        let v = vec![0.5, -1.25, f32::MIN_POSITIVE, 3.0e7];
        assert_eq!(vector_from_bytes(&vector_bytes(&v)), v);
        assert_eq!(unit(&[0.0, 0.0]), None);
        assert_eq!(unit(&[3.0, 4.0]), Some(vec![0.6, 0.8]));
    }
}
