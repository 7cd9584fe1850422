//! The chunk index on OpenSearch (BM25 + k-NN), over its REST API.
//!
//! Layout: one index per tenant, `{prefix}{tenant}` (prefix `lambdarag-chunks-` by
//! default), created on the first write. A chunk is one document, `_id` = the chunk id; its
//! fields are the `ChunkRecord` fields (`id` stored as `chunk_id`). Mapped fields:
//!
//! | field | type |
//! |---|---|
//! | `tenant_id`, `dataset_id`, `document_id`, `chunk_id`, `doc_type` | `keyword` |
//! | `content`, `document_name`, `important_keywords`, `questions` | `text`, `english` analyzer |
//! | `position`, `generation`, `token_count`, `create_time` | `long` |
//! | `available` | `boolean` |
//! | `vector_{dim}` | `knn_vector` of that dimension: HNSW, `cosinesimil`, Lucene engine |
//!
//! Everything else (`positions`, `image_id`) is only kept in `_source` (`dynamic: false`).
//!
//! Vectors go in a field named for their dimension (RAGFlow does the same with
//! `q_{dim}_vec`): a tenant's datasets may use embedding models of different sizes, and a
//! `knn_vector` field has one fixed dimension. A field is added to the mapping the first
//! time a vector of its size is written. An all-zero vector is not stored: the k-NN
//! plugin refuses it for cosine similarity, and without it the chunk scores cosine 0 as
//! it would with it.
//!
//! Query text is cut to about 240 tokens (distinct whitespace words, a CJK character
//! counting as one token each): four text fields per token must stay under Lucene's
//! 1024-clause limit.
//!
//! Writes are visible to the next read, as the port promises: a single chunk (a chunk
//! added or edited through the API, where a client waits on each call) is written with
//! `refresh=true`, which makes it searchable at once instead of at the next scheduled
//! refresh (up to a second later); larger writes (parsing) use `refresh=wait_for`, which
//! joins the next refresh rather than forcing one per request; deletes use `refresh=true`. Search runs the BM25 query and the k-NN query (both
//! restricted to the requested datasets and documents) concurrently, unions the hits, and
//! completes each candidate's other score: the BM25 score of a vector-only hit with an
//! ids-restricted text query, the cosine of a text-only hit from its stored vector.
//!
//! `search_hits` runs the same queries with unavailable chunks filtered out and `_source`
//! cut to the ids, and `get_chunks` reads a page of records with one `_mget`.
//!
//! Requests are signed with SigV4 when a [`SigV4Signer`] is set (Amazon OpenSearch
//! Service, `es`, or Serverless, `aoss`).

mod body;
mod search;
mod sign;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde_json::{json, Map, Value};

use lambdarag::domain::ChunkRecord;
use lambdarag::ports::{ChunkHit, ChunkIndex, ChunkListQuery, ScoredChunk, SearchRequest};
use lambdarag::StoreError;

pub use body::{
    cosine_from_score, from_source, index_body, to_source, vector_field, vector_mapping,
};
pub use sign::SigV4Signer;

pub(crate) use body::cosine;
use body::*;

/// Index name prefix unless configured otherwise.
pub const DEFAULT_INDEX_PREFIX: &str = "lambdarag-chunks-";
/// OpenSearch's default `index.max_result_window` (from + size) and k-NN `k` cap.
const MAX_WINDOW: usize = 10_000;
/// Page size when scanning past the result window with `search_after`.
const SCAN_PAGE: usize = 1000;
/// A `_bulk` request is flushed at about this size.
const BULK_BYTES: usize = 5 * 1024 * 1024;
/// Tokens a query may analyse into at most. Lucene's clause limit
/// (`indices.query.bool.max_clause_count`, 1024 by default) counts every term of every
/// field: four text fields per token plus up to five filters must stay under it, or the
/// search fails with `too_many_nested_clauses`. 4 × 240 + 5 leaves room for the odd token
/// `fit_tokens` does not foresee (letters of two scripts in one word).
const MAX_QUERY_TOKENS: usize = 240;
/// The standard tokenizer cuts longer runs of letters into tokens of this length.
const MAX_TOKEN_CHARS: usize = 255;
/// Ids per delete-by-ids request.
const IDS_PER_DELETE: usize = 1000;
/// Ids per `_mget` request.
const IDS_PER_MGET: usize = 1000;
/// Times a request answered 429 or 503 is sent again (after 100, 200, 400 ms).
const RETRIES_WHEN_BUSY: u32 = 3;
/// The BM25 fields and boosts (RAGFlow's weighting of keywords and questions; the title
/// weighs as the body, as in the embedded index: see `BOOST_TITLE` there for the measurement).
pub const TEXT_FIELDS: [&str; 4] = [
    "important_keywords^30",
    "questions^20",
    "document_name^2",
    "content^2",
];

/// Path-segment escaping for ids in URLs.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

#[derive(Clone)]
enum Payload {
    Empty,
    Json(Value),
    NdJson(String),
}

/// A response: status and JSON body (`Null` when empty, a string when not JSON).
struct Reply {
    status: u16,
    body: Value,
}

impl Reply {
    fn success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn error_type(&self) -> Option<&str> {
        self.body
            .get("error")
            .and_then(|e| e.get("type"))
            .and_then(Value::as_str)
    }

    fn index_missing(&self) -> bool {
        self.status == 404 && self.error_type() == Some("index_not_found_exception")
    }

    /// The body of a successful reply, or an error naming the request.
    fn ok(self, what: &str) -> Result<Value, StoreError> {
        if self.success() {
            return Ok(self.body);
        }
        let mut reason = self
            .body
            .get("error")
            .and_then(|e| e.get("reason"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| self.body.to_string());
        // A failed search says only "all shards failed"; the cause is in root_cause.
        if let Some(root) = self.body.pointer("/error/root_cause/0") {
            let kind = root.get("type").and_then(Value::as_str);
            if kind.is_some() && kind != self.error_type() {
                let why = root.get("reason").and_then(Value::as_str).unwrap_or("");
                reason = format!("{reason} ({}: {why})", kind.unwrap_or_default());
            }
        }
        Err(StoreError::Backend(format!(
            "OpenSearch {what} answered {}: {}: {reason}",
            self.status,
            self.error_type().unwrap_or("error")
        )))
    }
}

/// One search hit.
struct Hit {
    id: String,
    score: f64,
    source: Value,
}

/// A candidate of a search, with both its scores.
struct Candidate {
    hit: Hit,
    term_score: f32,
    vector_score: f32,
}

impl Candidate {
    fn into_hit(self) -> Result<ChunkHit, StoreError> {
        let field = |name: &str| {
            self.hit
                .source
                .get(name)
                .and_then(Value::as_str)
                .map(Arc::<str>::from)
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("chunk {} in OpenSearch: no {name}", self.hit.id))
                })
        };
        Ok(ChunkHit {
            dataset_id: field("dataset_id")?,
            document_id: field("document_id")?,
            chunk_id: self.hit.id.into(),
            term_score: self.term_score,
            vector_score: self.vector_score,
        })
    }
}

fn hits_of(body: &Value) -> Vec<Hit> {
    body.pointer("/hits/hits")
        .and_then(Value::as_array)
        .map(|hits| {
            hits.iter()
                .map(|h| Hit {
                    id: h
                        .get("_id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    score: h.get("_score").and_then(Value::as_f64).unwrap_or(0.0),
                    source: h.get("_source").cloned().unwrap_or(Value::Null),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn total_of(body: &Value) -> u64 {
    body.pointer("/hits/total/value")
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// OpenSearch-backed chunk index.
#[derive(Debug)]
pub struct OpenSearchIndex {
    http: reqwest::Client,
    base: String,
    prefix: String,
    signer: Option<SigV4Signer>,
    /// Indices known to exist, with the vector dimensions their mapping has.
    known: Mutex<HashMap<String, BTreeSet<usize>>>,
}

impl OpenSearchIndex {
    /// An index client for the cluster at `base_url` (e.g. `https://search-x.es.amazonaws.com`).
    pub fn new(base_url: &str) -> Result<Self, StoreError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| StoreError::Backend(format!("HTTP client for OpenSearch: {e}")))?;
        Ok(Self::with_client(http, base_url))
    }

    pub fn with_client(http: reqwest::Client, base_url: &str) -> Self {
        OpenSearchIndex {
            http,
            base: base_url.trim_end_matches('/').to_string(),
            prefix: DEFAULT_INDEX_PREFIX.into(),
            signer: None,
            known: Mutex::new(HashMap::new()),
        }
    }

    /// Name indices `{prefix}{tenant}` (several deployments or test runs can share a
    /// cluster). Must be lower-case.
    pub fn with_index_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sign every request with SigV4.
    pub fn with_signer(mut self, signer: SigV4Signer) -> Self {
        self.signer = Some(signer);
        self
    }

    /// The tenant's index.
    pub fn index_name(&self, tenant_id: &str) -> String {
        format!("{}{}", self.prefix, index_suffix(tenant_id))
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        payload: Payload,
    ) -> Result<Reply, StoreError> {
        // 429 and 503 are OpenSearch's "not now": a shard of an index another function
        // has just created is not started yet ("all shards failed"), or the node sheds
        // load. Every request here is idempotent (writes by id, deletes by query, reads),
        // so it is sent again after a short pause.
        let mut attempt = 0;
        loop {
            let reply = self
                .call_once(method.clone(), path, payload.clone())
                .await?;
            if !matches!(reply.status, 429 | 503) || attempt >= RETRIES_WHEN_BUSY {
                return Ok(reply);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100 << attempt)).await;
            attempt += 1;
        }
    }

    async fn call_once(
        &self,
        method: Method,
        path: &str,
        payload: Payload,
    ) -> Result<Reply, StoreError> {
        let url = format!("{}{path}", self.base);
        let mut rb = self.http.request(method.clone(), &url);
        rb = match payload {
            Payload::Empty => rb,
            Payload::Json(v) => rb
                .header(CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(&v)?),
            Payload::NdJson(s) => rb.header(CONTENT_TYPE, "application/x-ndjson").body(s),
        };
        let mut req = rb
            .build()
            .map_err(|e| StoreError::Backend(format!("OpenSearch request {method} {path}: {e}")))?;
        if let Some(signer) = &self.signer {
            signer.sign(&mut req).await?;
        }
        let resp = self
            .http
            .execute(req)
            .await
            .map_err(|e| StoreError::Backend(format!("OpenSearch {method} {path}: {e}")))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| {
            StoreError::Backend(format!(
                "OpenSearch {method} {path}: reading the reply: {e}"
            ))
        })?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Ok(Reply { status, body })
    }

    async fn search_body(&self, index: &str, body: Value) -> Result<Option<Value>, StoreError> {
        let reply = self
            .call(
                Method::POST,
                &format!("/{index}/_search"),
                Payload::Json(body),
            )
            .await?;
        if reply.index_missing() {
            return Ok(None);
        }
        reply.ok("_search").map(Some)
    }

    fn cached_dims(&self, index: &str) -> Option<BTreeSet<usize>> {
        self.known.lock().ok()?.get(index).cloned()
    }

    fn remember(&self, index: &str, dims: BTreeSet<usize>) {
        if let Ok(mut known) = self.known.lock() {
            known.insert(index.to_string(), dims);
        }
    }

    /// The vector dimensions an existing index maps; None if the index does not exist.
    async fn fetch_dims(&self, index: &str) -> Result<Option<BTreeSet<usize>>, StoreError> {
        let reply = self
            .call(Method::GET, &format!("/{index}/_mapping"), Payload::Empty)
            .await?;
        if reply.index_missing() || reply.status == 404 {
            return Ok(None);
        }
        let body = reply.ok("get mapping")?;
        let dims = body
            .as_object()
            .into_iter()
            .flat_map(|indices| indices.values())
            .filter_map(|m| m.pointer("/mappings/properties").and_then(Value::as_object))
            .flat_map(|props| props.keys())
            .filter_map(|k| dim_of_field(k))
            .collect();
        self.remember(index, dims);
        Ok(self.cached_dims(index))
    }

    /// Make sure the index exists and maps vector fields for `dims`.
    async fn ensure_index(&self, index: &str, dims: &BTreeSet<usize>) -> Result<(), StoreError> {
        if self
            .cached_dims(index)
            .is_some_and(|have| dims.is_subset(&have))
        {
            return Ok(());
        }
        let have = match self.fetch_dims(index).await? {
            Some(have) => have,
            None => {
                let reply = self
                    .call(
                        Method::PUT,
                        &format!("/{index}"),
                        Payload::Json(index_body(dims)),
                    )
                    .await?;
                if reply.error_type() == Some("resource_already_exists_exception") {
                    // Another writer created it first: take its mapping.
                    self.fetch_dims(index).await?.unwrap_or_default()
                } else {
                    reply.ok("create index")?;
                    dims.clone()
                }
            }
        };
        let missing: Vec<usize> = dims.difference(&have).copied().collect();
        if !missing.is_empty() {
            let props: Map<String, Value> = missing
                .iter()
                .map(|d| (vector_field(*d), vector_mapping(*d)))
                .collect();
            self.call(
                Method::PUT,
                &format!("/{index}/_mapping"),
                Payload::Json(json!({ "properties": props })),
            )
            .await?
            .ok("put mapping")?;
        }
        self.remember(index, have.union(dims).copied().collect());
        Ok(())
    }

    /// Whether the index maps vectors of `dim` (re-reading the mapping once when the cache
    /// says no: another function may have added the field).
    async fn has_vector_field(&self, index: &str, dim: usize) -> Result<bool, StoreError> {
        if self.cached_dims(index).is_some_and(|d| d.contains(&dim)) {
            return Ok(true);
        }
        Ok(self
            .fetch_dims(index)
            .await?
            .is_some_and(|d| d.contains(&dim)))
    }

    async fn bulk(&self, index: &str, body: String, refresh: &str) -> Result<(), StoreError> {
        let reply = self
            .call(
                Method::POST,
                &format!("/{index}/_bulk?refresh={refresh}"),
                Payload::NdJson(body),
            )
            .await?;
        let body = reply.ok("_bulk")?;
        if body.get("errors").and_then(Value::as_bool) != Some(true) {
            return Ok(());
        }
        let items = body
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let failed: Vec<&Value> = items
            .iter()
            .filter_map(|i| i.get("index").and_then(|x| x.get("error")))
            .collect();
        let first = failed.first().map(|e| e.to_string()).unwrap_or_default();
        Err(StoreError::Backend(format!(
            "OpenSearch _bulk: {} of {} chunks failed, first: {first}",
            failed.len(),
            items.len()
        )))
    }

    /// `_delete_by_query` with the given filters; how many went (0 if no index).
    async fn delete_where(&self, index: &str, filters: Vec<Value>) -> Result<u64, StoreError> {
        let reply = self
            .call(
                Method::POST,
                &format!("/{index}/_delete_by_query?refresh=true&conflicts=proceed"),
                Payload::Json(json!({"query": {"bool": {"filter": filters}}})),
            )
            .await?;
        if reply.index_missing() {
            return Ok(0);
        }
        let body = reply.ok("_delete_by_query")?;
        if let Some(f) = body
            .get("failures")
            .and_then(Value::as_array)
            .and_then(|f| f.first())
        {
            return Err(StoreError::Backend(format!(
                "OpenSearch _delete_by_query failed: {f}"
            )));
        }
        Ok(body.get("deleted").and_then(Value::as_u64).unwrap_or(0))
    }
}

#[async_trait]
impl ChunkIndex for OpenSearchIndex {
    /// GET /_cluster/health: the cluster answers and is not red.
    async fn health(&self) -> Result<(), StoreError> {
        let reply = self
            .call(Method::GET, "/_cluster/health", Payload::Empty)
            .await?;
        let status = reply.body["status"].as_str().unwrap_or_default();
        if reply.status != 200 || status == "red" || status.is_empty() {
            return Err(StoreError::Backend(format!(
                "OpenSearch cluster health: HTTP {} status {status:?}",
                reply.status
            )));
        }
        Ok(())
    }

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
        let index = self.index_name(tenant_id);
        let dims: BTreeSet<usize> = chunks
            .iter()
            .map(|c| c.vector.len())
            .filter(|d| *d > 0)
            .collect();
        self.ensure_index(&index, &dims).await?;
        let refresh = if chunks.len() == 1 {
            "true"
        } else {
            "wait_for"
        };
        let mut body = String::new();
        for c in chunks {
            body.push_str(&json!({"index": {"_id": c.id}}).to_string());
            body.push('\n');
            body.push_str(&to_source(c)?.to_string());
            body.push('\n');
            if body.len() >= BULK_BYTES {
                self.bulk(&index, std::mem::take(&mut body), refresh)
                    .await?;
            }
        }
        if !body.is_empty() {
            self.bulk(&index, body, refresh).await?;
        }
        Ok(())
    }

    async fn get(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        chunk_id: &str,
    ) -> Result<Option<ChunkRecord>, StoreError> {
        let index = self.index_name(tenant_id);
        let id = utf8_percent_encode(chunk_id, SEGMENT).to_string();
        let reply = self
            .call(Method::GET, &format!("/{index}/_doc/{id}"), Payload::Empty)
            .await?;
        if reply.status == 404 {
            return Ok(None);
        }
        let body = reply.ok("get chunk")?;
        if body.get("found").and_then(Value::as_bool) != Some(true) {
            return Ok(None);
        }
        let source = body.get("_source").cloned().unwrap_or(Value::Null);
        let chunk = from_source(chunk_id, source)?;
        Ok((chunk.dataset_id == dataset_id && chunk.tenant_id == tenant_id).then_some(chunk))
    }

    async fn list_document(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        doc_id: &str,
        query: &ChunkListQuery,
    ) -> Result<(Vec<ChunkRecord>, u64), StoreError> {
        let index = self.index_name(tenant_id);
        let mut q = json!({"bool": {"filter": doc_scope(tenant_id, dataset_id, doc_id)}});
        if let Some(words) = query.keywords.as_deref().and_then(query_text) {
            q["bool"]["must"] = json!([{"match": {"content": words}}]);
        }
        let (skip, take) = if query.page_size == 0 {
            (0, None)
        } else {
            let skip = query.page.saturating_sub(1).saturating_mul(query.page_size);
            (
                usize::try_from(skip).unwrap_or(usize::MAX),
                Some(usize::try_from(query.page_size).unwrap_or(usize::MAX)),
            )
        };
        let (hits, total) = self.sorted_page(&index, q, skip, take).await?;
        let chunks = hits
            .into_iter()
            .map(|h| from_source(&h.id, h.source))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((chunks, total))
    }

    async fn delete_document(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        doc_id: &str,
        generation: Option<u64>,
    ) -> Result<u64, StoreError> {
        let mut filters = doc_scope(tenant_id, dataset_id, doc_id);
        if let Some(g) = generation {
            filters.push(json!({"term": {"generation": g}}));
        }
        self.delete_where(&self.index_name(tenant_id), filters)
            .await
    }

    async fn delete_chunks(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        doc_id: &str,
        chunk_ids: &[String],
    ) -> Result<u64, StoreError> {
        let index = self.index_name(tenant_id);
        let mut deleted = 0;
        // The delete counts what matched: only existing chunks of this document.
        for ids in chunk_ids.chunks(IDS_PER_DELETE) {
            let mut filters = doc_scope(tenant_id, dataset_id, doc_id);
            filters.push(json!({"ids": {"values": ids}}));
            deleted += self.delete_where(&index, filters).await?;
        }
        Ok(deleted)
    }

    async fn delete_dataset(&self, tenant_id: &str, dataset_id: &str) -> Result<(), StoreError> {
        let filters = vec![
            json!({"term": {"tenant_id": tenant_id}}),
            json!({"term": {"dataset_id": dataset_id}}),
        ];
        self.delete_where(&self.index_name(tenant_id), filters)
            .await?;
        Ok(())
    }

    async fn search(
        &self,
        tenant_id: &str,
        req: &SearchRequest,
    ) -> Result<Vec<ScoredChunk>, StoreError> {
        let mut out = self
            .candidates(tenant_id, req, false, no_vectors())
            .await?
            .into_iter()
            .map(|c| {
                Ok(ScoredChunk {
                    chunk: from_source(&c.hit.id, c.hit.source)?,
                    term_score: c.term_score,
                    vector_score: c.vector_score,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.sort_by(|a, b| {
            by_scores(
                (a.term_score, a.vector_score, &a.chunk.id),
                (b.term_score, b.vector_score, &b.chunk.id),
            )
        });
        Ok(out)
    }

    async fn search_hits(
        &self,
        tenant_id: &str,
        req: &SearchRequest,
    ) -> Result<Vec<ChunkHit>, StoreError> {
        let mut out = self
            .candidates(tenant_id, req, true, id_fields())
            .await?
            .into_iter()
            .map(Candidate::into_hit)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| {
            by_scores(
                (a.term_score, a.vector_score, &a.chunk_id),
                (b.term_score, b.vector_score, &b.chunk_id),
            )
        });
        Ok(out)
    }

    /// One `_mget` (per 1000 ids): a lookup by id, real-time like `get`, with nothing to
    /// score; the tenant is the index itself, and each record's tenant and dataset are
    /// checked as `get` does. (A `terms` query on ids could filter server-side, but would
    /// be scored, capped by the result window and reordered all the same.)
    async fn get_chunks(
        &self,
        tenant_id: &str,
        ids: &[(String, String)],
    ) -> Result<Vec<ChunkRecord>, StoreError> {
        let index = self.index_name(tenant_id);
        let distinct: Vec<&str> = ids
            .iter()
            .map(|(_, id)| id.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut found: HashMap<(String, String), ChunkRecord> = HashMap::new();
        for batch in distinct.chunks(IDS_PER_MGET) {
            let reply = self
                .call(
                    Method::POST,
                    &format!("/{index}/_mget?_source_excludes=vector_*"),
                    Payload::Json(json!({ "ids": batch })),
                )
                .await?;
            if reply.index_missing() {
                return Ok(vec![]);
            }
            let body = reply.ok("_mget")?;
            for doc in body
                .get("docs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let id = doc.get("_id").and_then(Value::as_str).unwrap_or_default();
                if let Some(e) = doc.get("error") {
                    if e.get("type").and_then(Value::as_str) == Some("index_not_found_exception") {
                        continue;
                    }
                    return Err(StoreError::Backend(format!(
                        "OpenSearch _mget of chunk {id}: {e}"
                    )));
                }
                if doc.get("found").and_then(Value::as_bool) != Some(true) {
                    continue;
                }
                let source = doc.get("_source").cloned().unwrap_or(Value::Null);
                let chunk = from_source(id, source)?;
                if chunk.tenant_id == tenant_id {
                    found.insert((chunk.dataset_id.clone(), chunk.id.clone()), chunk);
                }
            }
        }
        // In the order asked; a chunk asked for in another dataset is not found, as with `get`.
        Ok(ids.iter().filter_map(|k| found.get(k).cloned()).collect())
    }
}

#[cfg(test)]
mod tests;
