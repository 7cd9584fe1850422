//! Retrieval (contract R1, DF1): hybrid search over a tenant's datasets.
//!
//! Scoring: the index returns candidates with a raw BM25 score (content, title, important
//! keywords and questions, boosted as upstream boosts them) and a cosine similarity. Term
//! similarity is BM25 divided by the best BM25 among the candidates (so it lies in [0, 1]
//! and the best text match scores 1); the fused similarity is
//! `(1 − w)·term + w·vector` with `w = vector_similarity_weight`, and the threshold applies
//! to the fused score. With `rerank_id`, the rerank model's score takes the vector's place
//! (upstream's `rerank_by_model`).
//!
//! Paging follows upstream's window (endpoints.md, R1 "Paging detail"): candidates are
//! ranked, a window of `R = max(30, ⌈64/page_size⌉·page_size)` of them is taken at engine
//! page `⌈page_size·page/R⌉`, the threshold filters the window, `total` counts what
//! passed, and the reply is the `(page−1) mod (R/page_size)`-th page of it. Only the window
//! is reranked and only the returned page is materialised, so a request costs the index's
//! id-level scoring plus a few dozen records, however large the dataset.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::contract::envelope::ApiError;
use crate::contract::pyfmt::py_type_name;
use crate::domain::models::split_model_id;
use crate::domain::{ChunkRecord, Dataset, Document, DocumentListQuery};
use crate::ports::{ChunkHit, ScoredChunk, SearchRequest};
use crate::services::chunks::highlight as highlight_text;
use crate::services::metadata_filter::{self, MetaFilter};
use crate::state::AppState;

/// A validated retrieval request.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrievalRequest {
    pub dataset_ids: Vec<String>,
    pub document_ids: Option<Vec<String>>,
    pub question: String,
    pub page: usize,
    pub page_size: usize,
    pub similarity_threshold: f32,
    pub vector_similarity_weight: f32,
    pub top_k: usize,
    pub highlight: bool,
    pub metadata_condition: Option<Value>,
    pub rerank_id: Option<String>,
    /// Append keywords from the tenant's chat model to the question before searching.
    pub keyword: bool,
    /// Also search the question's translations into these languages (chat model).
    pub cross_languages: Vec<String>,
    /// v0.27's `reference_metadata`: attach each chunk's document metadata.
    pub document_metadata: Option<document_metadata::MetadataRequest>,
    /// Put the knowledge graph's answer first (`graphrag::search`).
    pub use_kg: bool,
}

impl Default for RetrievalRequest {
    fn default() -> Self {
        RetrievalRequest {
            dataset_ids: vec![],
            document_ids: None,
            question: String::new(),
            page: 1,
            page_size: 30,
            similarity_threshold: 0.2,
            vector_similarity_weight: 0.3,
            top_k: 1024,
            highlight: false,
            metadata_condition: None,
            rerank_id: None,
            keyword: false,
            cross_languages: Vec::new(),
            document_metadata: None,
            use_kg: false,
        }
    }
}

/// One ranked chunk with its document.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The record, with `vector_score` as reported (`vector_similarity`): the cosine, or
    /// the rerank model's score when a reranker ranked the window.
    pub scored: ScoredChunk,
    pub similarity: f32,
    pub term_similarity: f32,
    pub highlight: Option<String>,
    pub document_name: String,
}

#[derive(Debug, Clone, Default)]
pub struct RetrievalResult {
    /// Candidates of the window passing the threshold (upstream's `total`).
    pub total: usize,
    pub hits: Vec<Hit>,
    /// (doc id, doc name, count) over the window's passing candidates, count desc.
    pub doc_aggs: Vec<(String, String, usize)>,
    /// True when nothing was searched (empty question, or a metadata filter matched
    /// nothing): upstream renders `doc_aggs` as `{}` then.
    pub short_circuit: bool,
    /// The documents of `hits`, by id (callers need their metadata).
    pub documents: HashMap<String, Document>,
    /// The embedding of the question as asked (not of a keyword- or translation-expanded
    /// one), when the search computed it: `use_kg` reuses it instead of embedding again.
    pub query_vector: Option<Vec<f32>>,
}

fn number_arg(req: &Map<String, Value>, key: &str) -> Result<Option<f64>, ApiError> {
    match req.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) => s.trim().parse::<f64>().map(Some).map_err(|_| {
            ApiError::exception(format!(
                "ValueError(\"could not convert string to float: {}\")",
                crate::contract::pyfmt::py_str_repr(s)
            ))
        }),
        Some(Value::Bool(b)) => Ok(Some(if *b { 1.0 } else { 0.0 })),
        Some(other) => Err(ApiError::exception(format!(
            "TypeError(\"float() argument must be a string or a real number, not '{}'\")",
            py_type_name(other)
        ))),
    }
}

/// Parse and check an R1 body (ownership is checked by `retrieve`).
pub fn validate(req: &Map<String, Value>) -> Result<RetrievalRequest, ApiError> {
    let dataset_ids = match req.get("dataset_ids") {
        None | Some(Value::Null) => return Err(ApiError::data("`dataset_ids` is required.")),
        Some(Value::Array(a)) => a
            .iter()
            .map(crate::contract::pyfmt::py_str)
            .collect::<Vec<_>>(),
        Some(_) => return Err(ApiError::data("`dataset_ids` should be a list")),
    };
    if dataset_ids.is_empty() {
        return Err(ApiError::data("`dataset_ids` is required."));
    }
    let question = match req.get("question") {
        None => return Err(ApiError::data("`question` is required.")),
        Some(Value::Null) => String::new(),
        Some(v) => crate::contract::pyfmt::py_str(v),
    };
    let document_ids = match req.get("document_ids") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) if a.is_empty() => None,
        Some(Value::Array(a)) => Some(a.iter().map(crate::contract::pyfmt::py_str).collect()),
        Some(_) => return Err(ApiError::data("`documents` should be a list")),
    };
    let mut r = RetrievalRequest {
        dataset_ids,
        document_ids,
        question,
        ..Default::default()
    };
    if let Some(p) = number_arg(req, "page")? {
        r.page = (p as i64).max(1) as usize;
    }
    if let Some(p) = number_arg(req, "page_size")? {
        r.page_size = (p as i64).max(0) as usize;
    }
    if let Some(t) = number_arg(req, "similarity_threshold")? {
        r.similarity_threshold = t as f32;
    }
    if let Some(w) = number_arg(req, "vector_similarity_weight")? {
        r.vector_similarity_weight = (w as f32).clamp(0.0, 1.0);
    }
    if let Some(k) = number_arg(req, "top_k")? {
        if k < 0.0 {
            return Err(ApiError::exception(
                "BadRequestError('[knn] requires k >= 1')".to_string(),
            ));
        }
        r.top_k = k as usize;
    }
    // Upstream quirk kept: highlighting is on unless the value is the string "false".
    r.highlight =
        !matches!(req.get("highlight"), Some(Value::String(s)) if s == "false" || s == "False");
    r.metadata_condition = req
        .get("metadata_condition")
        .filter(|v| !v.is_null())
        .cloned();
    if let Some(c) = &r.metadata_condition {
        if !c.is_object() {
            return Err(ApiError::data("metadata_condition must be an object."));
        }
    }
    r.keyword = req
        .get("keyword")
        .is_some_and(crate::contract::pyfmt::truthy);
    r.use_kg = req
        .get("use_kg")
        .is_some_and(crate::contract::pyfmt::truthy);
    if let Some(Value::Array(langs)) = req.get("cross_languages") {
        r.cross_languages = langs
            .iter()
            .map(crate::contract::pyfmt::py_str)
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
    }
    r.rerank_id = req
        .get("rerank_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    r.document_metadata = document_metadata::from_retrieval(req)?;
    Ok(r)
}

/// The hits as the passages a chat model is given, in rank order.
pub fn context_of(hits: &[Hit]) -> Vec<crate::ports::chat::ContextChunk> {
    hits.iter()
        .map(|h| crate::ports::chat::ContextChunk {
            content: h.scored.chunk.content.clone(),
            document_name: h.document_name.clone(),
        })
        .collect()
}

/// Term leaders whose documents are learnt at a time, looking for the best enabled one.
const TERM_LEADERS_BATCH: usize = 8;

/// The datasets of a request, each owned by the tenant, sharing one embedding model.
pub async fn load_datasets(
    state: &AppState,
    tenant_id: &str,
    ids: &[String],
) -> Result<Vec<Dataset>, ApiError> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        match state.meta.get_dataset(tenant_id, id).await? {
            Some(d) => out.push(d),
            None => return Err(ApiError::data(format!("You don't own the dataset {id}."))),
        }
    }
    let first = out
        .first()
        .map(|d| split_model_id(&d.embedding_model).0.to_string());
    if out
        .iter()
        .any(|d| Some(split_model_id(&d.embedding_model).0) != first.as_deref())
    {
        return Err(ApiError::data("Datasets use different embedding models.\""));
    }
    Ok(out)
}

/// The most candidates one request ranks, whatever `top_k`, `page` and `page_size` ask
/// (a `page` of 10⁹ must not make the index allocate for 10¹⁰ hits); pages beyond it are
/// empty. Elasticsearch refuses result windows past 10,000; this is ten times that.
pub const MAX_CANDIDATES: usize = 100_000;

fn enabled(docs: &HashMap<String, Document>, id: &str) -> bool {
    docs.get(id).is_some_and(|d| d.status == "1")
}

/// Search, fuse, window, threshold and page; with `use_kg`, the knowledge graph's answer
/// goes first (outside `total` and `doc_aggs`, as upstream adds it after counting).
/// `datasets` must come from `load_datasets`.
pub async fn retrieve(
    state: &AppState,
    tenant_id: &str,
    datasets: &[Dataset],
    req: &RetrievalRequest,
) -> Result<RetrievalResult, ApiError> {
    let mut result = retrieve_chunks(state, tenant_id, datasets, req).await?;
    if req.use_kg && !req.question.trim().is_empty() {
        let known = result.query_vector.take();
        if let Some(hit) = graph::graph_hit(state, tenant_id, datasets, req, known).await? {
            result.hits.insert(0, hit);
        }
    }
    Ok(result)
}

async fn retrieve_chunks(
    state: &AppState,
    tenant_id: &str,
    datasets: &[Dataset],
    req: &RetrievalRequest,
) -> Result<RetrievalResult, ApiError> {
    let dataset_ids: Vec<String> = datasets.iter().map(|d| d.id.clone()).collect();
    // Documents learnt so far (names, enabled state, metadata), filled as needed: a request
    // without document ids or a metadata filter reads only its window's documents.
    let mut docs: HashMap<String, Document> = HashMap::new();
    if let Some(ids) = &req.document_ids {
        let found = state
            .docs
            .get_documents(tenant_id, &dataset_ids, ids)
            .await?;
        docs.extend(found.into_iter().map(|d| (d.id.clone(), d)));
        if let Some(bad) = ids.iter().find(|i| !docs.contains_key(*i)) {
            return Err(ApiError::data(format!(
                "The datasets don't own the document {bad}"
            )));
        }
    }
    if req.question.trim().is_empty() {
        return Ok(RetrievalResult {
            short_circuit: true,
            ..Default::default()
        });
    }
    // Upstream's order: translations first, then keywords of the result.
    let expanded;
    let is_expanded = req.keyword || !req.cross_languages.is_empty();
    let req = if is_expanded {
        let mut question = req.question.clone();
        if !req.cross_languages.is_empty() {
            let translated = crate::services::answer::default_model::question_translations(
                state,
                tenant_id,
                &question,
                &req.cross_languages,
            )
            .await?;
            // The original stays: a translation can lose terms the documents use.
            if !translated.is_empty() {
                question = format!("{question}\n{translated}");
            }
        }
        if req.keyword {
            let keywords = crate::services::answer::default_model::question_keywords(
                state, tenant_id, &question,
            )
            .await?;
            if !keywords.is_empty() {
                question = format!("{question} {keywords}");
            }
        }
        expanded = RetrievalRequest {
            question,
            ..req.clone()
        };
        &expanded
    } else {
        req
    };
    // Which documents may answer: enabled ones, narrowed by ids or by a metadata filter.
    let filter: Option<MetaFilter> = if req.document_ids.is_some() {
        None
    } else {
        metadata_filter::parse(req.metadata_condition.as_ref())
            .map_err(|e| ApiError::data(e.to_string()))?
    };
    let scope: Option<Vec<String>> = if let Some(ids) = &req.document_ids {
        Some(ids.iter().filter(|i| enabled(&docs, i)).cloned().collect())
    } else if let Some(f) = &filter {
        // A filter is over document metadata, so every document is read once.
        for d in datasets {
            let (list, _) = state
                .docs
                .list_documents(tenant_id, &d.id, &DocumentListQuery::all())
                .await?;
            docs.extend(list.into_iter().map(|doc| (doc.id.clone(), doc)));
        }
        Some(
            docs.values()
                .filter(|d| d.status == "1" && f.matches(&d.meta_fields))
                .map(|d| d.id.clone())
                .collect(),
        )
    } else {
        None
    };
    if scope.as_ref().is_some_and(Vec::is_empty) {
        return Ok(RetrievalResult {
            short_circuit: filter.is_some(),
            ..Default::default()
        });
    }

    let at = Window::of(req.page, req.page_size);
    let vector = query_vector(state, tenant_id, datasets, req).await?;
    let hits = state
        .index
        .search_hits(
            tenant_id,
            &SearchRequest {
                dataset_ids: dataset_ids.clone(),
                document_ids: scope,
                text: req.question.clone(),
                vector: vector.clone(),
                top_k: req.top_k.max(at.end()).clamp(1, MAX_CANDIDATES),
            },
        )
        .await?;
    // Documents are learnt a batch at a time, as the ranking is walked: disabled (or
    // vanished) ones are skipped, as the engine's filter would skip them.
    let mut known = DocCache {
        state,
        tenant_id,
        dataset_ids: &dataset_ids,
        docs: &mut docs,
        absent: HashSet::new(),
    };
    // The BM25 divisor is the best score among chunks of enabled documents. It is nearly
    // always the best score of all, so rank with that guess and learn the term leaders'
    // and the guessed window's documents in one store round trip; a wrong guess (a
    // disabled leader) costs a second ranking and the batches below.
    let mut by_term: Vec<(f32, Arc<str>)> = hits
        .iter()
        .filter(|h| h.term_score > 0.0)
        .map(|h| (h.term_score, h.document_id.clone()))
        .collect();
    by_term.sort_by(|a, b| b.0.total_cmp(&a.0));
    let guess = by_term.first().map_or(0.0, |t| t.0);
    let mut ranked = fuse_with_best(hits, req.vector_similarity_weight, guess);
    known
        .learn(
            by_term
                .iter()
                .take(TERM_LEADERS_BATCH)
                .map(|t| &*t.1)
                .chain(ranked.iter().take(at.end()).map(|r| &*r.hit.document_id)),
        )
        .await?;
    let mut best_term = 0.0f32;
    for batch in by_term.chunks(TERM_LEADERS_BATCH) {
        known.learn(batch.iter().map(|t| &*t.1)).await?;
        if let Some(t) = batch.iter().find(|t| known.enabled(&t.1)) {
            best_term = t.0;
            break;
        }
    }
    if best_term != guess {
        let hits = ranked.into_iter().map(|r| r.hit).collect();
        ranked = fuse_with_best(hits, req.vector_similarity_weight, best_term);
    }

    if at.start >= ranked.len() {
        // The window lies past every candidate (and so would any enabled subset of them).
        return Ok(RetrievalResult::default());
    }

    // Walk the ranking until the window is full.
    let mut usable: Vec<Ranked> = Vec::with_capacity(at.end().min(ranked.len()));
    let mut next = 0;
    while usable.len() < at.end() && next < ranked.len() {
        let batch_end = (next + (at.end() - usable.len())).min(ranked.len());
        known
            .learn(ranked[next..batch_end].iter().map(|r| &*r.hit.document_id))
            .await?;
        usable.extend(
            ranked[next..batch_end]
                .iter()
                .filter(|r| known.enabled(&r.hit.document_id))
                .cloned(),
        );
        next = batch_end;
    }
    let mut window: Vec<Ranked> = usable.into_iter().skip(at.start).collect();

    // Records: the window's when a reranker reads them, else only the page's.
    let mut records: HashMap<String, ChunkRecord> = HashMap::new();
    if let Some(rerank_id) = &req.rerank_id {
        if !window.is_empty() {
            fetch_records(state, tenant_id, &window, &mut records).await?;
            rerank_window(state, tenant_id, rerank_id, req, &mut window, &records).await?;
        }
    }
    let (total, page, doc_aggs) = select_page(window, &docs, req, at);
    fetch_records(state, tenant_id, &page, &mut records).await?;
    let mut out = assemble(page, records, &docs, req, total, doc_aggs);
    out.query_vector = vector.filter(|_| !is_expanded);
    Ok(out)
}

/// The reply for a page: each hit with its record and document (a record deleted between
/// scoring and fetching is left out), highlighted when asked.
fn assemble(
    page: Vec<Ranked>,
    mut records: HashMap<String, ChunkRecord>,
    docs: &HashMap<String, Document>,
    req: &RetrievalRequest,
    total: usize,
    doc_aggs: Vec<(String, String, usize)>,
) -> RetrievalResult {
    let mut out = RetrievalResult {
        total,
        doc_aggs,
        ..Default::default()
    };
    for r in page {
        let Some(chunk) = records.remove(&*r.hit.chunk_id) else {
            continue;
        };
        let doc = docs.get(&*r.hit.document_id);
        if let Some(d) = doc {
            if !out.documents.contains_key(&d.id) {
                out.documents.insert(d.id.clone(), d.clone());
            }
        }
        out.hits.push(Hit {
            highlight: req
                .highlight
                .then(|| highlight_text(&chunk.content, &req.question)),
            document_name: doc.map(|d| d.name.clone()).unwrap_or_default(),
            similarity: r.similarity,
            term_similarity: r.term_similarity,
            scored: ScoredChunk {
                chunk,
                term_score: r.hit.term_score,
                vector_score: r.hit.vector_score,
            },
        });
    }
    out
}

/// The documents a request has read, fetched in batches (one store round trip each).
struct DocCache<'a> {
    state: &'a AppState,
    tenant_id: &'a str,
    dataset_ids: &'a [String],
    docs: &'a mut HashMap<String, Document>,
    /// Ids the store does not have (deleted since their chunks were scored).
    absent: HashSet<String>,
}

impl DocCache<'_> {
    async fn learn(&mut self, ids: impl Iterator<Item = &str>) -> Result<(), ApiError> {
        let mut unknown: Vec<String> = ids
            .filter(|id| !self.docs.contains_key(*id) && !self.absent.contains(*id))
            .map(str::to_string)
            .collect();
        unknown.sort();
        unknown.dedup();
        if unknown.is_empty() {
            return Ok(());
        }
        let found = self
            .state
            .docs
            .get_documents(self.tenant_id, self.dataset_ids, &unknown)
            .await?;
        self.docs
            .extend(found.into_iter().map(|d| (d.id.clone(), d)));
        let docs = &*self.docs;
        self.absent
            .extend(unknown.into_iter().filter(|id| !docs.contains_key(id)));
        Ok(())
    }

    fn enabled(&self, id: &str) -> bool {
        enabled(self.docs, id)
    }
}

/// The question's embedding, when the vector side has any weight.
async fn query_vector(
    state: &AppState,
    tenant_id: &str,
    datasets: &[Dataset],
    req: &RetrievalRequest,
) -> Result<Option<Vec<f32>>, ApiError> {
    if req.vector_similarity_weight <= 0.0 {
        return Ok(None);
    }
    let tenant = state
        .meta
        .get_tenant(tenant_id)
        .await?
        .ok_or_else(|| ApiError::data("Tenant not found!"))?;
    let model = datasets
        .first()
        .map(|d| d.embedding_model.clone())
        .unwrap_or_default();
    let embedder = state
        .embedders
        .embedder(&tenant, &model)
        .map_err(|e| ApiError::data(e.to_string()))?;
    let mut v = embedder
        .embed(std::slice::from_ref(&req.question))
        .await
        .map_err(|e| ApiError::data(e.to_string()))?;
    Ok(v.pop())
}

/// Add the records of `ranked` not yet in `records` (one index round trip).
async fn fetch_records(
    state: &AppState,
    tenant_id: &str,
    ranked: &[Ranked],
    records: &mut HashMap<String, ChunkRecord>,
) -> Result<(), ApiError> {
    let ids: Vec<(String, String)> = ranked
        .iter()
        .filter(|r| !records.contains_key(&*r.hit.chunk_id))
        .map(|r| (r.hit.dataset_id.to_string(), r.hit.chunk_id.to_string()))
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let found = state.index.get_chunks(tenant_id, &ids).await?;
    records.extend(found.into_iter().map(|c| (c.id.clone(), c)));
    Ok(())
}

/// Rescore the window with the tenant's rerank model: its score replaces the vector
/// similarity in the fusion (and is reported as `vector_similarity`), as upstream does.
async fn rerank_window(
    state: &AppState,
    tenant_id: &str,
    rerank_id: &str,
    req: &RetrievalRequest,
    window: &mut Vec<Ranked>,
    records: &HashMap<String, ChunkRecord>,
) -> Result<(), ApiError> {
    let tenant = state
        .meta
        .get_tenant(tenant_id)
        .await?
        .ok_or_else(|| ApiError::data("Tenant not found!"))?;
    let reranker = state
        .rerankers
        .reranker(&tenant, rerank_id)
        .map_err(|e| ApiError::data(e.to_string()))?;
    // A record deleted since scoring cannot be reranked or returned.
    window.retain(|r| records.contains_key(&*r.hit.chunk_id));
    let texts: Vec<String> = window
        .iter()
        .filter_map(|r| records.get(&*r.hit.chunk_id))
        .map(rerank_text)
        .collect();
    let scores = reranker
        .rerank(&req.question, &texts)
        .await
        .map_err(|e| ApiError::data(e.to_string()))?;
    if scores.len() != window.len() {
        return Err(ApiError::data(format!(
            "rerank model {rerank_id} returned {} scores for {} texts",
            scores.len(),
            window.len()
        )));
    }
    let w = req.vector_similarity_weight;
    for (r, score) in window.iter_mut().zip(scores) {
        let score = if score.is_finite() { score } else { 0.0 };
        r.hit.vector_score = score;
        r.similarity = (1.0 - w) * r.term_similarity + w * score;
    }
    sort_ranked(window);
    Ok(())
}

/// What the reranker reads for a chunk: its keywords and questions help as they help BM25.
fn rerank_text(c: &ChunkRecord) -> String {
    let mut t = c.content.clone();
    for extra in c.important_keywords.iter().chain(&c.questions) {
        t.push('\n');
        t.push_str(extra);
    }
    t
}

/// The ranking `retrieve` applies, over candidates already materialised (pure; used by the
/// unit tests and by `lambdarag eval beir` to cross-check fusion prototypes).
pub fn rank(
    candidates: Vec<ScoredChunk>,
    docs: &HashMap<String, Document>,
    req: &RetrievalRequest,
) -> RetrievalResult {
    let mut records: HashMap<String, ChunkRecord> = HashMap::new();
    let hits: Vec<ChunkHit> = candidates
        .into_iter()
        .filter(|c| c.chunk.available && enabled(docs, &c.chunk.document_id))
        .map(|c| {
            let hit = ChunkHit {
                chunk_id: c.chunk.id.as_str().into(),
                dataset_id: c.chunk.dataset_id.as_str().into(),
                document_id: c.chunk.document_id.as_str().into(),
                term_score: c.term_score,
                vector_score: c.vector_score,
            };
            records.insert(c.chunk.id.clone(), c.chunk);
            hit
        })
        .collect();
    let at = Window::of(req.page, req.page_size);
    let window: Vec<Ranked> = fuse(hits, req.vector_similarity_weight)
        .into_iter()
        .skip(at.start)
        .take(at.size)
        .collect();
    let (total, page, doc_aggs) = select_page(window, docs, req, at);
    assemble(page, records, docs, req, total, doc_aggs)
}

pub mod dataset_search;
pub mod document_metadata;
mod graph;
mod ranking;
mod reply;
use ranking::sort_ranked;
pub use ranking::{fuse, fuse_with_best, select_page, Ranked, Window};
pub use reply::{reply_for, Reply};

#[cfg(test)]
mod tests;
