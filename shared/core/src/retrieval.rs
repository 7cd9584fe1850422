//! Retrieval (contract R1, DF1): hybrid search over a tenant's datasets.
//!
//! Scoring: the index returns candidates with a raw BM25 score (content, title, important
//! keywords and questions, boosted as upstream boosts them) and a cosine similarity. Term
//! similarity is BM25 divided by the best BM25 among the candidates (so it lies in [0, 1]
//! and the best text match scores 1); the fused similarity is
//! `(1 − w)·term + w·vector` with `w = vector_similarity_weight`, and the threshold applies
//! to the fused score.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::chunks::highlight as highlight_text;
use crate::domain::{Dataset, Document, DocumentListQuery};
use crate::envelope::ApiError;
use crate::metadata_filter::{self, MetaFilter};
use crate::models::split_model_id;
use crate::ports::{ScoredChunk, SearchRequest};
use crate::pyfmt::py_type_name;
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
        }
    }
}

/// One ranked chunk with its document.
#[derive(Debug, Clone)]
pub struct Hit {
    pub scored: ScoredChunk,
    pub similarity: f32,
    pub term_similarity: f32,
    pub highlight: Option<String>,
    pub document_name: String,
}

#[derive(Debug, Clone, Default)]
pub struct RetrievalResult {
    /// Passing the threshold, across all pages.
    pub total: usize,
    pub hits: Vec<Hit>,
    /// (doc id, doc name, count) sorted by count desc.
    pub doc_aggs: Vec<(String, String, usize)>,
    /// True when nothing was searched (empty question, or a metadata filter matched
    /// nothing): upstream renders `doc_aggs` as `{}` then.
    pub short_circuit: bool,
}

fn number_arg(req: &Map<String, Value>, key: &str) -> Result<Option<f64>, ApiError> {
    match req.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) => s.trim().parse::<f64>().map(Some).map_err(|_| {
            ApiError::exception(format!(
                "ValueError(\"could not convert string to float: {}\")",
                crate::pyfmt::py_str_repr(s)
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
        Some(Value::Array(a)) => a.iter().map(crate::pyfmt::py_str).collect::<Vec<_>>(),
        Some(_) => return Err(ApiError::data("`dataset_ids` should be a list")),
    };
    if dataset_ids.is_empty() {
        return Err(ApiError::data("`dataset_ids` is required."));
    }
    let question = match req.get("question") {
        None => return Err(ApiError::data("`question` is required.")),
        Some(Value::Null) => String::new(),
        Some(v) => crate::pyfmt::py_str(v),
    };
    let document_ids = match req.get("document_ids") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) if a.is_empty() => None,
        Some(Value::Array(a)) => Some(a.iter().map(crate::pyfmt::py_str).collect()),
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
    r.rerank_id = req
        .get("rerank_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    Ok(r)
}

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

/// Search, fuse, threshold and page. `datasets` must come from `load_datasets`.
pub async fn retrieve(
    state: &AppState,
    tenant_id: &str,
    datasets: &[Dataset],
    req: &RetrievalRequest,
) -> Result<RetrievalResult, ApiError> {
    // Every document of the datasets: names, enabled state, metadata.
    let mut docs: HashMap<String, Document> = HashMap::new();
    for d in datasets {
        let (list, _) = state
            .docs
            .list_documents(tenant_id, &d.id, &DocumentListQuery::all())
            .await?;
        docs.extend(list.into_iter().map(|doc| (doc.id.clone(), doc)));
    }
    if let Some(ids) = &req.document_ids {
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
    // Which documents may answer: enabled ones, narrowed by ids or by a metadata filter.
    let filter: Option<MetaFilter> = if req.document_ids.is_some() {
        None
    } else {
        metadata_filter::parse(req.metadata_condition.as_ref())
            .map_err(|e| ApiError::data(e.to_string()))?
    };
    let allowed: Vec<String> = docs
        .values()
        .filter(|d| d.status == "1")
        .filter(|d| {
            req.document_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&d.id))
        })
        .filter(|d| filter.as_ref().is_none_or(|f| f.matches(&d.meta_fields)))
        .map(|d| d.id.clone())
        .collect();
    if allowed.is_empty() {
        return Ok(RetrievalResult {
            short_circuit: filter.is_some(),
            ..Default::default()
        });
    }
    let restrict = allowed.len() < docs.len() || req.document_ids.is_some() || filter.is_some();

    let tenant = state
        .meta
        .get_tenant(tenant_id)
        .await?
        .ok_or_else(|| ApiError::data("Tenant not found!"))?;
    let model = datasets
        .first()
        .map(|d| d.embedding_model.clone())
        .unwrap_or_default();
    let vector = if req.vector_similarity_weight > 0.0 {
        let embedder = state
            .embedders
            .embedder(&tenant, &model)
            .map_err(|e| ApiError::data(e.to_string()))?;
        let mut v = embedder
            .embed(std::slice::from_ref(&req.question))
            .await
            .map_err(|e| ApiError::data(e.to_string()))?;
        v.pop()
    } else {
        None
    };
    let needed = req.page.saturating_mul(req.page_size).max(req.page_size);
    let candidates = state
        .index
        .search(
            tenant_id,
            &SearchRequest {
                dataset_ids: datasets.iter().map(|d| d.id.clone()).collect(),
                document_ids: restrict.then(|| allowed.clone()),
                text: req.question.clone(),
                vector,
                top_k: req.top_k.max(needed).max(1),
            },
        )
        .await?;
    Ok(rank(candidates, &docs, req))
}

/// Fuse, filter and page candidates (pure; unit tested).
pub fn rank(
    candidates: Vec<ScoredChunk>,
    docs: &HashMap<String, Document>,
    req: &RetrievalRequest,
) -> RetrievalResult {
    let w = req.vector_similarity_weight;
    let best_term = candidates
        .iter()
        .map(|c| c.term_score)
        .fold(0.0f32, f32::max);
    let mut hits: Vec<Hit> = candidates
        .into_iter()
        .filter(|c| c.chunk.available)
        .filter_map(|c| {
            let doc = docs.get(&c.chunk.document_id)?;
            if doc.status != "1" {
                return None;
            }
            let term = if best_term > 0.0 {
                c.term_score / best_term
            } else {
                0.0
            };
            // Raw cosine, the number reported as `vector_similarity`, so the fused score is
            // exactly `(1 − w)·term + w·vector` of the reported parts.
            let similarity = (1.0 - w) * term + w * c.vector_score;
            Some(Hit {
                document_name: doc.name.clone(),
                term_similarity: term,
                similarity,
                highlight: None,
                scored: c,
            })
        })
        .filter(|h| h.similarity >= req.similarity_threshold)
        .collect();
    hits.sort_by(|a, b| {
        b.similarity
            .total_cmp(&a.similarity)
            .then_with(|| a.scored.chunk.id.cmp(&b.scored.chunk.id))
    });
    let total = hits.len();
    let mut counts: Vec<(String, String, usize)> = Vec::new();
    for h in &hits {
        match counts
            .iter_mut()
            .find(|(id, _, _)| *id == h.scored.chunk.document_id)
        {
            Some(e) => e.2 += 1,
            None => counts.push((
                h.scored.chunk.document_id.clone(),
                h.document_name.clone(),
                1,
            )),
        }
    }
    counts.sort_by_key(|c| std::cmp::Reverse(c.2));
    let start = (req.page.max(1) - 1).saturating_mul(req.page_size);
    let mut page: Vec<Hit> = hits.into_iter().skip(start).take(req.page_size).collect();
    if req.highlight {
        for h in &mut page {
            h.highlight = Some(highlight_text(&h.scored.chunk.content, &req.question));
        }
    }
    RetrievalResult {
        total,
        hits: page,
        doc_aggs: counts,
        short_circuit: false,
    }
}

/// Lower-cased word tokens, as the `content_ltks` field shows them.
fn tokens(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The R1 reply's `data`.
pub fn to_api(result: &RetrievalResult) -> Value {
    let chunks: Vec<Value> = result
        .hits
        .iter()
        .map(|h| {
            let c = &h.scored.chunk;
            let mut o = json!({
                "id": c.id,
                "content": c.content,
                "content_ltks": tokens(&c.content),
                "document_id": c.document_id,
                "document_keyword": h.document_name,
                "dataset_id": c.dataset_id,
                "important_keywords": c.important_keywords,
                "questions": c.questions,
                "image_id": c.image_id,
                "similarity": h.similarity,
                "vector_similarity": h.scored.vector_score,
                "term_similarity": h.term_similarity,
                "positions": c.positions,
                "doc_type_kwd": c.doc_type,
                "mom_id": "",
            });
            if let (Some(hl), Some(m)) = (&h.highlight, o.as_object_mut()) {
                m.insert("highlight".into(), json!(hl));
            }
            o
        })
        .collect();
    let doc_aggs = if result.short_circuit {
        json!({})
    } else {
        Value::Array(
            result
                .doc_aggs
                .iter()
                .map(|(id, name, n)| json!({"doc_name": name, "doc_id": id, "count": n}))
                .collect(),
        )
    };
    json!({"total": result.total, "chunks": chunks, "doc_aggs": doc_aggs})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ChunkRecord, RunStatus};

    fn doc(id: &str, status: &str) -> Document {
        Document {
            id: id.into(),
            tenant_id: "t".into(),
            dataset_id: "d".into(),
            name: format!("{id}.txt"),
            location: String::new(),
            size: 0,
            suffix: "txt".into(),
            doc_type: "doc".into(),
            chunk_method: "naive".into(),
            pipeline_id: None,
            parser_config: json!({}),
            source_type: "local".into(),
            created_by: "t".into(),
            thumbnail: None,
            token_count: 0,
            chunk_count: 0,
            progress: 1.0,
            progress_msg: String::new(),
            process_begin_at: None,
            process_duration: 0.0,
            meta_fields: json!({}),
            run: RunStatus::Done,
            status: status.into(),
            create_time: 0,
            update_time: 0,
            generation: 1,
        }
    }

    fn cand(id: &str, doc: &str, term: f32, vector: f32) -> ScoredChunk {
        ScoredChunk {
            chunk: ChunkRecord {
                id: id.into(),
                tenant_id: "t".into(),
                dataset_id: "d".into(),
                document_id: doc.into(),
                document_name: format!("{doc}.txt"),
                content: "solar panels convert light".into(),
                important_keywords: vec![],
                questions: vec![],
                available: true,
                positions: vec![],
                image_id: String::new(),
                doc_type: String::new(),
                position: 0,
                token_count: 4,
                create_time: 0,
                generation: 1,
                vector: vec![],
            },
            term_score: term,
            vector_score: vector,
        }
    }

    #[test]
    fn fuses_thresholds_pages_and_aggregates() {
        let docs: HashMap<String, Document> = [doc("a", "1"), doc("b", "1"), doc("off", "0")]
            .into_iter()
            .map(|d| (d.id.clone(), d))
            .collect();
        let req = RetrievalRequest {
            question: "solar".into(),
            page_size: 2,
            highlight: true,
            ..Default::default()
        };
        let r = rank(
            vec![
                cand("c1", "a", 10.0, 0.9),
                cand("c2", "a", 5.0, 0.1),
                cand("c3", "b", 0.0, 0.2),
                cand("c4", "off", 10.0, 1.0),
            ],
            &docs,
            &req,
        );
        // c1: 0.7*1 + 0.3*0.9 = 0.97; c2: 0.7*0.5 + 0.03 = 0.38; c3: 0.06 < 0.2; c4 disabled.
        assert_eq!(r.total, 2);
        assert_eq!(r.hits[0].scored.chunk.id, "c1");
        assert!((r.hits[0].similarity - 0.97).abs() < 1e-5);
        assert!((r.hits[1].term_similarity - 0.5).abs() < 1e-6);
        assert_eq!(r.doc_aggs, vec![("a".into(), "a.txt".into(), 2)]);
        assert_eq!(
            r.hits[0].highlight.as_deref(),
            Some("<em>solar</em> panels convert light")
        );
        let v = to_api(&r);
        assert_eq!(v["chunks"][0]["document_keyword"], "a.txt");
        assert_eq!(v["doc_aggs"][0]["count"], 2);
    }

    #[test]
    fn validation_messages() {
        let m = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert_eq!(
            validate(&m(json!({}))).unwrap_err().message,
            "`dataset_ids` is required."
        );
        assert_eq!(
            validate(&m(json!({"dataset_ids": "x"})))
                .unwrap_err()
                .message,
            "`dataset_ids` should be a list"
        );
        assert_eq!(
            validate(&m(json!({"dataset_ids": ["x"]})))
                .unwrap_err()
                .message,
            "`question` is required."
        );
        let r = validate(&m(json!({"dataset_ids": ["x"], "question": "q", "rerank_id": null, "cross_languages": null, "metadata_condition": null, "highlight": false}))).unwrap();
        assert!(r.highlight, "JSON false keeps highlighting on, as upstream");
        let r = validate(&m(
            json!({"dataset_ids": ["x"], "question": "q", "highlight": "false"}),
        ))
        .unwrap();
        assert!(!r.highlight);
    }
}
