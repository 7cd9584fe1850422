//! Ports: capability-sized traits every deployment implements. Each port's methods take the
//! tenant id, so tenant isolation is enforced here and no handler can forget it.
//!
//! Adapters: `lambdarag-embedded` (SQLite, local folder, tantivy) and `lambdarag-aws`
//! (DynamoDB, S3, SQS, OpenSearch). `conformance` holds the one suite both must pass.

use async_trait::async_trait;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::contract::error::StoreError;
use crate::domain::{
    ApiKeyRecord, ChunkRecord, ClientGeneration, Dataset, DatasetListQuery, Document,
    DocumentListQuery, ParseTask, ProgressUpdate, QueuedTask, Tenant,
};

pub mod agent;
pub mod audio;
pub mod chat;
pub mod conformance;
pub mod conformance_agents;
pub mod conformance_blobs;
pub mod conformance_chats;
pub mod conformance_docs;
pub mod conformance_files;
pub mod conformance_index;
pub mod conformance_queue;
// Memories and messages (M1–M12).
pub mod conformance_memories;
pub mod conformance_search;
pub mod conformance_tasks;
pub mod files;
pub mod memory;
pub mod search;
pub mod tasks;

pub use chat::{
    Chat, ChatDelta, ChatListQuery, ChatMessage, ChatModel, ChatModelRegistry, ChatStore,
    DeltaStream, GenOptions, Session, SessionListQuery,
};
pub use search::{SearchApp, SearchStore};
pub use tasks::{DatasetTask, DatasetTaskStore};

/// The tenant id / key the default health probes read: no record ever has it, so a probe
/// is a real round trip to the store that finds nothing.
pub const HEALTH_PROBE_ID: &str = "lambdarag-health-probe";

/// Tenants and their model configuration.
#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Create a tenant; `Conflict` if the id exists.
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    async fn get_tenant(&self, tenant_id: &str) -> Result<Option<Tenant>, StoreError>;
    /// Replace a tenant's record (defaults and providers); `NotFound` if absent.
    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError>;
    /// A cheap real call proving the store answers (`GET /system/healthz`). The default
    /// reads a tenant that never exists; adapters may override with their engine's ping.
    async fn health(&self) -> Result<(), StoreError> {
        self.get_tenant(HEALTH_PROBE_ID).await.map(|_| ())
    }
}

/// API keys, stored only as hashes.
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    async fn add_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;
    /// The tenant a key hash belongs to.
    async fn tenant_for_key_hash(&self, hash: &str) -> Result<Option<String>, StoreError>;
    /// The whole record of a key hash (tenant and client generation).
    async fn key_for_hash(&self, hash: &str) -> Result<Option<ApiKeyRecord>, StoreError>;
    /// Set the client generation of one of the tenant's keys; false if the tenant has no
    /// such key.
    async fn set_key_generation(
        &self,
        tenant_id: &str,
        key_id: &str,
        generation: ClientGeneration,
    ) -> Result<bool, StoreError>;
    async fn list_keys(&self, tenant_id: &str) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// Revoke one of the tenant's keys by its `key_id`; false if the tenant has no such key.
    async fn revoke_key(&self, tenant_id: &str, key_id: &str) -> Result<bool, StoreError>;
}

/// Datasets of a tenant. Names are unique per tenant, case-insensitively, and the store
/// enforces it atomically (`Conflict`), so two concurrent creates cannot both win.
#[async_trait]
pub trait DatasetStore: Send + Sync {
    async fn insert_dataset(&self, dataset: &Dataset) -> Result<(), StoreError>;
    async fn get_dataset(&self, tenant_id: &str, id: &str) -> Result<Option<Dataset>, StoreError>;
    /// Case-insensitive name lookup.
    async fn find_dataset_by_name(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<Option<Dataset>, StoreError>;
    /// One page and the total count before paging.
    async fn list_datasets(
        &self,
        tenant_id: &str,
        query: &DatasetListQuery,
    ) -> Result<(Vec<Dataset>, u64), StoreError>;
    /// Replace a dataset (matched by tenant and id). `Conflict` if a rename hits a name the
    /// tenant already uses; `NotFound` if the dataset is gone.
    async fn update_dataset(&self, dataset: &Dataset) -> Result<(), StoreError>;
    /// True if it existed.
    async fn delete_dataset(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError>;
}

/// Tenants, keys and datasets: what every function needs.
pub trait MetadataStore: TenantStore + ApiKeyStore + DatasetStore {}
impl<T: TenantStore + ApiKeyStore + DatasetStore> MetadataStore for T {}

/// Aggregates a dataset reports (`document_count`, `chunk_count`, `token_num`), computed
/// from its documents so they can never drift from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DatasetStats {
    pub document_count: i64,
    pub chunk_count: i64,
    pub token_num: i64,
}

/// Documents of a tenant's datasets. Exact names are unique per dataset (`Conflict`), so
/// concurrent uploads of one name cannot both keep it; names differing only in case may
/// coexist (upstream's rename checks exact case; uploads avoid case twins themselves by
/// looking them up first).
#[async_trait]
pub trait DocumentStore: Send + Sync {
    async fn insert_document(&self, doc: &Document) -> Result<(), StoreError>;
    async fn get_document(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        doc_id: &str,
    ) -> Result<Option<Document>, StoreError>;
    /// Case-insensitive name lookup within a dataset: the document of exactly this name if
    /// there is one, else one of its case twins.
    async fn find_document_by_name(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        name: &str,
    ) -> Result<Option<Document>, StoreError>;
    /// One page and the total count before paging (`DocumentListQuery::apply` semantics).
    async fn list_documents(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        query: &DocumentListQuery,
    ) -> Result<(Vec<Document>, u64), StoreError>;
    /// Replace a document (matched by tenant, dataset and id). `Conflict` if a rename hits
    /// another document's name; `NotFound` if it is gone.
    async fn update_document(&self, doc: &Document) -> Result<(), StoreError>;
    /// Apply a worker's progress only if the document is still at `generation`; returns
    /// whether it was applied (false: the document was re-parsed, stopped or deleted).
    /// DONE is final for its generation as far as workers go: a later update that sets
    /// `run` or `progress` (a duplicate delivery of the same task, still running) changes
    /// nothing but counts as applied, since the generation's chunks are current and a "not
    /// applied" would make its worker take them back. Count-only updates (chunks added or
    /// removed by hand) still apply.
    async fn apply_progress(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        doc_id: &str,
        generation: u64,
        update: &ProgressUpdate,
    ) -> Result<bool, StoreError>;
    /// True if it existed.
    async fn delete_document(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        doc_id: &str,
    ) -> Result<bool, StoreError>;
    async fn dataset_stats(
        &self,
        tenant_id: &str,
        dataset_id: &str,
    ) -> Result<DatasetStats, StoreError>;
    /// The tenant's documents with these ids, in any dataset, in no particular order; ids
    /// that do not exist (or belong to another tenant) are left out. Retrieval calls this
    /// per request with the few dozen documents of its candidate window, so adapters
    /// should answer it in one round trip (the default asks each dataset's list).
    async fn get_documents(
        &self,
        tenant_id: &str,
        dataset_ids: &[String],
        ids: &[String],
    ) -> Result<Vec<Document>, StoreError> {
        let wanted: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
        let mut datasets: Vec<&String> = dataset_ids.iter().collect();
        datasets.sort();
        datasets.dedup();
        let mut out = Vec::new();
        for ds in datasets {
            let (list, _) = self
                .list_documents(tenant_id, ds, &DocumentListQuery::all())
                .await?;
            out.extend(list.into_iter().filter(|d| wanted.contains(d.id.as_str())));
        }
        Ok(out)
    }
}

/// Original file bytes. Every key lives under its tenant; adapters prefix it, so one
/// tenant's key can never name another's object.
#[async_trait]
pub trait BlobStore: Send + Sync {
    async fn put(&self, tenant_id: &str, key: &str, bytes: Bytes) -> Result<(), StoreError>;
    async fn get(&self, tenant_id: &str, key: &str) -> Result<Option<Bytes>, StoreError>;
    /// Deleting a missing key is not an error.
    async fn delete(&self, tenant_id: &str, key: &str) -> Result<(), StoreError>;
    /// Delete every key under `prefix`; returns how many went.
    async fn delete_prefix(&self, tenant_id: &str, prefix: &str) -> Result<u64, StoreError>;
    /// A cheap real call proving the store answers (`GET /system/healthz`); the default
    /// reads a key that never exists.
    async fn health(&self) -> Result<(), StoreError> {
        self.get(HEALTH_PROBE_ID, HEALTH_PROBE_ID).await.map(|_| ())
    }
}

/// Where queued work goes (parse tasks, memory extraction, ...). Delivery is
/// at-least-once; consumers must tolerate repeats.
#[async_trait]
pub trait TaskQueue: Send + Sync {
    async fn enqueue_task(&self, task: &QueuedTask) -> Result<(), StoreError>;
    /// A parse task (what most callers queue).
    async fn enqueue(&self, task: &ParseTask) -> Result<(), StoreError> {
        self.enqueue_task(&QueuedTask::Parse(task.clone())).await
    }
    /// A cheap real call proving the queue answers (`GET /system/healthz`). A queue cannot
    /// be read without side effects through `enqueue`, so adapters must override this; the
    /// default reports that there is no probe (health then says `nok`, never a false `ok`).
    async fn health(&self) -> Result<(), StoreError> {
        Err(StoreError::Backend(
            "this task queue has no health probe".into(),
        ))
    }
}

/// A received task: hidden from other consumers until acked or its visibility lapses.
#[derive(Debug, Clone, PartialEq)]
pub struct Lease {
    pub task: QueuedTask,
    pub receipt: String,
    /// How many times this task has been received, this time included.
    pub attempts: u32,
}

/// A queue the embedded worker polls (SQS is consumed by Lambda's event source instead).
#[async_trait]
pub trait PollingQueue: TaskQueue {
    /// The next visible task, hidden for `visibility`; None when the queue is empty.
    async fn receive(&self, visibility: Duration) -> Result<Option<Lease>, StoreError>;
    /// Done with it (processed, or given up on): remove it for good.
    async fn ack(&self, receipt: &str) -> Result<(), StoreError>;
    /// Keep it hidden for `visibility` more (a long parse heartbeats this).
    async fn extend(&self, receipt: &str, visibility: Duration) -> Result<(), StoreError>;
    /// Tasks not yet acked (visible or leased).
    async fn pending(&self) -> Result<u64, StoreError>;
}

/// A chunk listing for one document (C1).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChunkListQuery {
    /// Full-text filter: only chunks matching these words.
    pub keywords: Option<String>,
    pub page: u64,
    /// 0 = no limit.
    pub page_size: u64,
}

/// A retrieval request against the index.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchRequest {
    pub dataset_ids: Vec<String>,
    /// Restrict to these documents when set.
    pub document_ids: Option<Vec<String>>,
    pub text: String,
    pub vector: Option<Vec<f32>>,
    /// Candidates to return.
    pub top_k: usize,
}

/// A candidate with its raw scores: BM25 for the text (0 when it did not match) and
/// cosine similarity for the vector (0 when no vector was given).
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredChunk {
    pub chunk: ChunkRecord,
    pub term_score: f32,
    pub vector_score: f32,
}

/// A candidate's identity and raw scores, without its record: retrieval ranks thousands of
/// these and materialises only the page it returns (`ChunkIndex::get_chunks`).
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkHit {
    // Shared strings: an index hands out up to top_k hits per retriever per request, and
    // these ids are copies of ones it keeps (cloning is a count, not a copy).
    pub chunk_id: Arc<str>,
    pub dataset_id: Arc<str>,
    pub document_id: Arc<str>,
    /// BM25 (0 when the text did not match).
    pub term_score: f32,
    /// Cosine similarity (0 when no vector was given).
    pub vector_score: f32,
}

/// The chunk index: text + vectors, isolated per tenant by the adapter.
#[async_trait]
pub trait ChunkIndex: Send + Sync {
    /// Insert or replace by id.
    async fn upsert(&self, tenant_id: &str, chunks: &[ChunkRecord]) -> Result<(), StoreError>;
    /// One chunk, with its vector (chunk updates re-upsert what they read).
    async fn get(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        chunk_id: &str,
    ) -> Result<Option<ChunkRecord>, StoreError>;
    /// A document's chunks in `position` order, one page, and the total.
    async fn list_document(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        doc_id: &str,
        query: &ChunkListQuery,
    ) -> Result<(Vec<ChunkRecord>, u64), StoreError>;
    /// Delete a document's chunks; with `generation`, only those that generation wrote.
    async fn delete_document(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        doc_id: &str,
        generation: Option<u64>,
    ) -> Result<u64, StoreError>;
    /// Delete some of a document's chunks; returns how many existed.
    async fn delete_chunks(
        &self,
        tenant_id: &str,
        dataset_id: &str,
        doc_id: &str,
        chunk_ids: &[String],
    ) -> Result<u64, StoreError>;
    async fn delete_dataset(&self, tenant_id: &str, dataset_id: &str) -> Result<(), StoreError>;
    /// A cheap real call proving the index answers (`GET /system/healthz`); the default
    /// reads a chunk that never exists, adapters may override with their engine's health.
    async fn health(&self) -> Result<(), StoreError> {
        self.get(HEALTH_PROBE_ID, HEALTH_PROBE_ID, HEALTH_PROBE_ID)
            .await
            .map(|_| ())
    }
    async fn search(
        &self,
        tenant_id: &str,
        request: &SearchRequest,
    ) -> Result<Vec<ScoredChunk>, StoreError>;
    /// The same candidates as `search` (same scores, same scope), available chunks only,
    /// without materialising records. Unavailable chunks are filtered inside each ranking,
    /// so they take no `top_k` slot. Adapters must override the default, which filters
    /// after ranking (and materialises records).
    async fn search_hits(
        &self,
        tenant_id: &str,
        request: &SearchRequest,
    ) -> Result<Vec<ChunkHit>, StoreError> {
        Ok(self
            .search(tenant_id, request)
            .await?
            .into_iter()
            .filter(|s| s.chunk.available)
            .map(|s| ChunkHit {
                chunk_id: s.chunk.id.into(),
                dataset_id: s.chunk.dataset_id.into(),
                document_id: s.chunk.document_id.into(),
                term_score: s.term_score,
                vector_score: s.vector_score,
            })
            .collect())
    }
    /// The records of these `(dataset_id, chunk_id)` pairs, in the order given; missing ones
    /// are left out. Records carry no vector.
    async fn get_chunks(
        &self,
        tenant_id: &str,
        ids: &[(String, String)],
    ) -> Result<Vec<ChunkRecord>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for (dataset_id, chunk_id) in ids {
            if let Some(mut c) = self.get(tenant_id, dataset_id, chunk_id).await? {
                c.vector = Vec::new();
                out.push(c);
            }
        }
        Ok(out)
    }
}

/// Failures of a model provider.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model {0} is not available: {1}")]
    Unavailable(String, String),
    #[error("model provider request failed: {0}")]
    Provider(String),
    #[error("model provider timed out")]
    Timeout,
}

/// A text-embedding model.
#[async_trait]
pub trait Embedder: Send + Sync {
    /// `model@factory`.
    fn model_id(&self) -> &str;
    /// One L2-normalised vector per text, in order.
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, ModelError>;
}

/// Resolves a tenant's model id to a callable embedder (built-in or a configured provider).
pub trait EmbedderRegistry: Send + Sync {
    fn embedder(&self, tenant: &Tenant, model_id: &str) -> Result<Arc<dyn Embedder>, ModelError>;
}

/// A rerank model: scores how well each text answers the query (a cross-encoder behind an
/// HTTP provider's `/rerank`).
#[async_trait]
pub trait Reranker: Send + Sync {
    /// `model@factory`.
    fn model_id(&self) -> &str;
    /// One relevance score per text, in input order (the provider's `relevance_score`;
    /// higher is more relevant, usually in [0, 1]).
    async fn rerank(&self, query: &str, texts: &[String]) -> Result<Vec<f32>, ModelError>;
}

/// Resolves a tenant's rerank model id (`name` or `name@factory`) to a callable reranker.
pub trait RerankerRegistry: Send + Sync {
    fn reranker(&self, tenant: &Tenant, model_id: &str) -> Result<Arc<dyn Reranker>, ModelError>;
}
