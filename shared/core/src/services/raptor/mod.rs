//! RAPTOR (D9 `run_raptor`, D10 `trace_raptor`): summarise a dataset's chunks level by
//! level into a tree and index the summaries as chunks retrieval finds.
//!
//! The route queues a `RaptorTask` on the parse queue after recording its task row and
//! making it the dataset's current RAPTOR task (a compare-and-set, so two runs cannot
//! start together). The worker (`process`) then:
//!
//! 1. leaves a task alone whose row is finished or gone, or that is no longer the
//!    dataset's current one (a redelivery, or a superseded run);
//! 2. reads every chunk of the dataset's enabled documents with its vector; earlier
//!    RAPTOR chunks (`raptor_kwd`) are set aside to be replaced;
//! 3. clusters the layer's embeddings (`cluster`), summarises each cluster — with the
//!    tenant's chat model, or extractively when that is the built-in answerer
//!    (`summary`) — embeds the summaries, and repeats on the summaries until one remains
//!    or `MAX_LEVELS` is reached;
//! 4. writes the summaries as chunks of the document of each cluster's first member
//!    (retrieval only returns chunks of known, enabled documents), with ids derived from
//!    the task, level and cluster, so a redelivered task rewrites the same ids; then
//!    deletes the earlier RAPTOR chunks it did not rewrite;
//! 5. records progress 1 and the chunk ids on the row. A permanent failure records -1
//!    with the reason; transient ones are retried by the queue and, after the last
//!    attempt, `give_up` records -1.

pub mod cluster;
pub mod summary;

use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::contract::envelope::ApiError;
use crate::contract::ids::new_id;
use crate::contract::pyfmt::py_float;
use crate::contract::time::now_ms;
use crate::domain::models::{split_model_id, BUILTIN_FACTORY};
use crate::domain::{ChunkRecord, Document, DocumentListQuery, QueuedTask, RaptorTask};
use crate::ports::chat::{ChatMessage, ChatModel, GenOptions};
use crate::ports::tasks::{DatasetTask, TASK_RAPTOR};
use crate::ports::{ChunkListQuery, Embedder, ModelError};
use crate::services::datasets::no_authorization;
use crate::state::AppState;
use crate::StoreError;

/// Upstream's page marker for dataset-wide tasks.
const WHOLE_DATASET_PAGE: i64 = 100_000_000;
/// Layers above the chunks at most (upstream stops only at one cluster; a bound keeps a
/// pathological dataset from running forever).
pub const MAX_LEVELS: usize = 8;
/// The value of `raptor_kwd` on summary chunks.
pub const RAPTOR_KWD: &str = "raptor";
/// Summary chunks sort after a document's own chunks.
const POSITION_BASE: i64 = 1_000_000_000;

/// `parser_config.raptor`, with upstream's defaults for what is missing.
#[derive(Debug, Clone, PartialEq)]
pub struct RaptorConfig {
    pub prompt: String,
    pub max_token: usize,
    pub threshold: f64,
    pub max_cluster: usize,
    pub random_seed: u64,
}

impl RaptorConfig {
    pub fn from_parser_config(parser_config: &Value) -> Self {
        let r = parser_config.get("raptor");
        let num = |k: &str| r.and_then(|r| r.get(k)).and_then(Value::as_f64);
        RaptorConfig {
            prompt: r
                .and_then(|r| r.get("prompt"))
                .and_then(Value::as_str)
                .filter(|p| !p.trim().is_empty())
                .unwrap_or(crate::services::datasets::RAPTOR_PROMPT)
                .to_string(),
            max_token: num("max_token").map_or(256, |v| v.clamp(1.0, 8192.0) as usize),
            threshold: num("threshold").unwrap_or(0.1),
            max_cluster: num("max_cluster").map_or(64, |v| v.clamp(1.0, 1024.0) as usize),
            random_seed: num("random_seed").map_or(0, |v| v.max(0.0) as u64),
        }
    }
}

/// A node of the tree: a chunk or a summary, with the document it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub text: String,
    pub vector: Vec<f32>,
    /// Index into the run's documents.
    pub doc: usize,
}

/// How summaries are written.
pub struct Summariser {
    /// None: extractive (the built-in answerer cannot summarise).
    pub model: Option<Arc<dyn ChatModel>>,
    pub embedder: Arc<dyn Embedder>,
}

/// Why a layer could not be built.
#[derive(Debug)]
pub enum TreeError {
    Model(ModelError),
    /// A permanent problem with the model's answer.
    Answer(String),
}

impl From<ModelError> for TreeError {
    fn from(e: ModelError) -> Self {
        TreeError::Model(e)
    }
}

impl Summariser {
    async fn embed_one(&self, text: &str) -> Result<Vec<f32>, TreeError> {
        let v = self.embedder.embed(&[text.to_string()]).await?;
        v.into_iter()
            .next()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| TreeError::Answer("The embedding model returned no vector.".into()))
    }

    async fn summarise(&self, members: &[&Node], cfg: &RaptorConfig) -> Result<String, TreeError> {
        let Some(model) = &self.model else {
            return self.extract(members, cfg).await;
        };
        let texts: Vec<&str> = members.iter().map(|n| n.text.as_str()).collect();
        let messages = [
            ChatMessage::system("You're a helpful assistant."),
            ChatMessage::user(summary::prompt(&cfg.prompt, &texts, cfg.max_token)),
        ];
        let opts = GenOptions {
            temperature: Some(0.3),
            max_tokens: Some(cfg.max_token as u64),
            ..Default::default()
        };
        let mut stream = model.stream(&messages, &opts).await?;
        let mut answer = String::new();
        while let Some(d) = stream.next().await {
            answer.push_str(&d?.content);
        }
        if answer.contains("**ERROR**") {
            return Err(TreeError::Answer(format!(
                "The chat model answered with an error: {answer}"
            )));
        }
        let cleaned = summary::clean_answer(&answer);
        if cleaned.is_empty() {
            return Err(TreeError::Answer(
                "The chat model returned an empty summary.".into(),
            ));
        }
        Ok(cleaned)
    }

    /// The sentences nearest the cluster's centroid.
    async fn extract(&self, members: &[&Node], cfg: &RaptorConfig) -> Result<String, TreeError> {
        let centre = cluster::centroid(members.iter().map(|n| n.vector.as_slice()));
        let sentences: Vec<String> = members
            .iter()
            .flat_map(|n| summary::sentences(&n.text))
            .collect();
        if sentences.is_empty() {
            return Ok(String::new());
        }
        let mut vectors = Vec::with_capacity(sentences.len());
        for batch in sentences.chunks(32) {
            vectors.extend(self.embedder.embed(batch).await?);
        }
        Ok(summary::extractive(
            &sentences,
            &vectors,
            &centre,
            cfg.max_token,
        ))
    }

    /// One layer up: cluster `nodes` and summarise each cluster, in cluster order.
    pub async fn layer(
        &self,
        nodes: &[Node],
        cfg: &RaptorConfig,
        level: usize,
    ) -> Result<Vec<Node>, TreeError> {
        let vectors: Vec<Vec<f32>> = nodes.iter().map(|n| n.vector.clone()).collect();
        let k = cluster::choose_k(nodes.len(), cfg.max_cluster);
        let seed = cfg.random_seed.wrapping_add(level as u64);
        let mut out = Vec::new();
        for group in cluster::kmeans(&vectors, k, seed) {
            let members: Vec<&Node> = group.iter().map(|i| &nodes[*i]).collect();
            let text = self.summarise(&members, cfg).await?;
            if text.trim().is_empty() {
                continue;
            }
            let vector = self.embed_one(&text).await?;
            out.push(Node {
                text,
                vector,
                doc: members[0].doc,
            });
        }
        Ok(out)
    }
}

/// Ids of the chunks a task writes: stable for (task, level, cluster).
pub fn raptor_chunk_id(task_id: &str, level: usize, index: usize) -> String {
    format!(
        "{:016x}",
        xxhash_rust::xxh64::xxh64(format!("raptor:{task_id}:{level}:{index}").as_bytes(), 0)
    )
}

fn clock() -> String {
    crate::contract::time::plain_datetime(now_ms())
        .split(' ')
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

fn line(msg: &str) -> String {
    format!("{} {msg}", clock())
}

// ---------------------------------------------------------------------------------------
// Routes

async fn accessible(state: &AppState, tenant: &str, dataset_id: &str) -> Result<(), ApiError> {
    if dataset_id.is_empty() {
        return Err(ApiError::data("Lack of \"Dataset ID\""));
    }
    match state.meta.get_dataset(tenant, dataset_id).await? {
        Some(_) => Ok(()),
        None => Err(no_authorization()),
    }
}

/// D9: record a RAPTOR task for the dataset and queue it.
pub async fn run(state: &AppState, tenant: &str, dataset_id: &str) -> Result<Value, ApiError> {
    accessible(state, tenant, dataset_id).await?;
    let current = state
        .tasks
        .current_task(tenant, dataset_id, TASK_RAPTOR)
        .await?;
    if let Some(id) = &current {
        if let Some(task) = state.tasks.get_task(tenant, id).await? {
            if !task.finished() {
                return Err(already_running(id, task.progress));
            }
        }
    }
    let (mut docs, _) = state
        .docs
        .list_documents(tenant, dataset_id, &DocumentListQuery::all())
        .await?;
    if docs.is_empty() {
        return Err(ApiError::data(format!(
            "No documents in Dataset {dataset_id}"
        )));
    }
    docs.sort_by(|a, b| a.create_time.cmp(&b.create_time).then(a.id.cmp(&b.id)));
    let now = now_ms();
    let id = new_id();
    let digest = format!(
        "{:016x}",
        xxhash_rust::xxh64::xxh64(format!("{dataset_id}:{TASK_RAPTOR}:{id}").as_bytes(), 0)
    );
    let task = DatasetTask {
        id: id.clone(),
        tenant_id: tenant.to_string(),
        dataset_id: dataset_id.to_string(),
        doc_id: docs[0].id.clone(),
        task_type: TASK_RAPTOR.into(),
        from_page: WHOLE_DATASET_PAGE,
        to_page: WHOLE_DATASET_PAGE,
        priority: 0,
        begin_at: None,
        process_duration: 0.0,
        progress: 0.0,
        progress_msg: line("created task raptor"),
        retry_count: 0,
        digest,
        chunk_ids: String::new(),
        create_time: now,
        update_time: now,
    };
    state.tasks.insert_task(&task).await?;
    let swapped = state
        .tasks
        .swap_current_task(tenant, dataset_id, TASK_RAPTOR, current.as_deref(), &id)
        .await?;
    if !swapped {
        // Another run started in between: it is the running one.
        let _ = state.tasks.delete_task(tenant, &id).await;
        let winner = state
            .tasks
            .current_task(tenant, dataset_id, TASK_RAPTOR)
            .await?
            .unwrap_or_default();
        return Err(already_running(&winner, 0.0));
    }
    let queued = QueuedTask::Raptor(RaptorTask {
        task_id: id.clone(),
        tenant_id: tenant.to_string(),
        dataset_id: dataset_id.to_string(),
    });
    if let Err(e) = state.queue.enqueue_task(&queued).await {
        let mut failed = task;
        failed.progress = -1.0;
        failed.progress_msg.push('\n');
        failed
            .progress_msg
            .push_str(&line(&format!("[ERROR] Could not queue the task: {e}")));
        failed.update_time = now_ms();
        let _ = state.tasks.update_task(&failed).await;
        return Err(e.into());
    }
    Ok(json!({ "raptor_task_id": id }))
}

fn already_running(id: &str, progress: f64) -> ApiError {
    ApiError::data(format!(
        "Task {id} in progress with status {}. A RAPTOR Task is already running.",
        py_float(progress)
    ))
}

/// D10: the dataset's current RAPTOR task row; `{}` if it never ran.
pub async fn trace(state: &AppState, tenant: &str, dataset_id: &str) -> Result<Value, ApiError> {
    accessible(state, tenant, dataset_id).await?;
    let Some(id) = state
        .tasks
        .current_task(tenant, dataset_id, TASK_RAPTOR)
        .await?
    else {
        return Ok(json!({}));
    };
    match state.tasks.get_task(tenant, &id).await? {
        Some(task) => Ok(task.to_api()),
        None => Err(ApiError::data("RAPTOR Task Not Found or Error Occurred")),
    }
}

// ---------------------------------------------------------------------------------------
// The worker

/// How a RAPTOR task ended, and so what the queue should do with it.
#[derive(Debug, Clone, PartialEq)]
pub enum RaptorOutcome {
    /// Wrote this many summary chunks.
    Done(usize),
    /// Finished before, gone, or superseded: nothing to do.
    Stale,
    /// A permanent failure, recorded on the row (progress -1).
    Failed(String),
    /// A transient failure: try again later.
    Retry(String),
}

struct Run<'a> {
    state: &'a AppState,
    row: DatasetTask,
    began: Instant,
}

enum Step {
    Stale,
    Retry(String),
}

impl From<StoreError> for Step {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => Step::Stale,
            other => Step::Retry(other.to_string()),
        }
    }
}

impl Run<'_> {
    async fn note(&mut self, progress: f64, msg: &str) -> Result<(), Step> {
        self.row.progress = progress;
        self.row.progress_msg.push('\n');
        self.row.progress_msg.push_str(&line(msg));
        self.row.process_duration = self.began.elapsed().as_secs_f64();
        self.row.update_time = now_ms();
        self.state.tasks.update_task(&self.row).await?;
        Ok(())
    }

    async fn fail(&mut self, msg: &str) -> RaptorOutcome {
        match self.note(-1.0, &format!("[ERROR] {msg}")).await {
            Ok(()) => RaptorOutcome::Failed(msg.to_string()),
            Err(Step::Stale) => RaptorOutcome::Stale,
            Err(Step::Retry(e)) => RaptorOutcome::Retry(e),
        }
    }

    /// Still the dataset's current RAPTOR task?
    async fn current(&self) -> Result<bool, StoreError> {
        Ok(self
            .state
            .tasks
            .current_task(&self.row.tenant_id, &self.row.dataset_id, TASK_RAPTOR)
            .await?
            .as_deref()
            == Some(self.row.id.as_str()))
    }
}

macro_rules! step {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(Step::Stale) => return RaptorOutcome::Stale,
            Err(Step::Retry(m)) => return RaptorOutcome::Retry(m),
        }
    };
}

macro_rules! retry_on_err {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return RaptorOutcome::Retry(e.to_string()),
        }
    };
}

/// The dataset's chunks to build on (with vectors) and its earlier RAPTOR chunks.
struct Gathered {
    docs: Vec<Document>,
    leaves: Vec<Node>,
    /// (document id, chunk id) of earlier RAPTOR chunks.
    old: Vec<(String, String)>,
}

async fn gather(
    state: &AppState,
    row: &DatasetTask,
    embedder: &dyn Embedder,
) -> Result<Gathered, Step> {
    let (t, ds) = (row.tenant_id.as_str(), row.dataset_id.as_str());
    let (mut docs, _) = state
        .docs
        .list_documents(t, ds, &DocumentListQuery::all())
        .await?;
    docs.sort_by(|a, b| a.create_time.cmp(&b.create_time).then(a.id.cmp(&b.id)));
    let mut leaves = Vec::new();
    let mut old = Vec::new();
    let mut missing: Vec<usize> = Vec::new();
    let all = ChunkListQuery {
        keywords: None,
        page: 1,
        page_size: 0,
    };
    for (d, doc) in docs.iter().enumerate() {
        let (mut chunks, _) = state.index.list_document(t, ds, &doc.id, &all).await?;
        chunks.sort_by_key(|c| c.position);
        for c in chunks {
            if !c.raptor_kwd.is_empty() {
                old.push((doc.id.clone(), c.id));
                continue;
            }
            if doc.status != "1" || !c.available || c.content.trim().is_empty() {
                continue;
            }
            let mut vector = c.vector;
            if vector.is_empty() {
                if let Some(full) = state.index.get(t, ds, &c.id).await? {
                    vector = full.vector;
                }
            }
            if vector.is_empty() {
                missing.push(leaves.len());
            }
            leaves.push(Node {
                text: c.content,
                vector,
                doc: d,
            });
        }
    }
    // Chunks the index kept no vector for are embedded again.
    for batch in missing.chunks(32) {
        let texts: Vec<String> = batch.iter().map(|i| leaves[*i].text.clone()).collect();
        let vecs = embedder
            .embed(&texts)
            .await
            .map_err(|e| Step::Retry(e.to_string()))?;
        for (i, v) in batch.iter().zip(vecs) {
            leaves[*i].vector = v;
        }
    }
    Ok(Gathered { docs, leaves, old })
}

/// Process one RAPTOR task. Never panics; the outcome says whether to ack it.
pub async fn process(state: &AppState, task: &RaptorTask) -> RaptorOutcome {
    let row = match state.tasks.get_task(&task.tenant_id, &task.task_id).await {
        Ok(Some(r)) => r,
        Ok(None) => return RaptorOutcome::Stale,
        Err(e) => return RaptorOutcome::Retry(e.to_string()),
    };
    if row.finished() || row.dataset_id != task.dataset_id {
        return RaptorOutcome::Stale;
    }
    let mut run = Run {
        state,
        row,
        began: Instant::now(),
    };
    if !retry_on_err!(run.current().await) {
        return run.fail("A newer RAPTOR task replaced this one.").await;
    }
    let Some(dataset) = retry_on_err!(
        state
            .meta
            .get_dataset(&task.tenant_id, &task.dataset_id)
            .await
    ) else {
        return run.fail("The dataset no longer exists.").await;
    };
    let Some(tenant) = retry_on_err!(state.meta.get_tenant(&task.tenant_id).await) else {
        return run.fail("The tenant no longer exists.").await;
    };
    run.row.begin_at = Some(now_ms());
    run.row.retry_count += 1;
    step!(run.note(0.01, "Task has been received.").await);

    let cfg = RaptorConfig::from_parser_config(&dataset.parser_config);
    let embedder = match state.embedders.embedder(&tenant, &dataset.embedding_model) {
        Ok(e) => e,
        Err(e) => return run.fail(&e.to_string()).await,
    };
    // The tenant's default chat model, as upstream's task rows carry it (the dataset's
    // `parser_config.llm_id` is only the default at the time it was created).
    let llm_id = tenant.llm_id.clone();
    let builtin = split_model_id(&llm_id).1 == Some(BUILTIN_FACTORY);
    let model = if builtin {
        None
    } else {
        match state.chat_models.chat_model(&tenant, &llm_id) {
            Ok(m) => Some(m),
            Err(e) => return run.fail(&format!("Cannot summarise: {e}")).await,
        }
    };
    let how = if builtin {
        format!("Summaries are extractive (the most central sentences of each cluster): {llm_id} is the built-in answerer, which cannot write summaries.")
    } else {
        format!("Summarising with {llm_id}.")
    };
    step!(run.note(0.05, &how).await);

    let gathered = step!(gather(state, &run.row, embedder.as_ref()).await);
    let summariser = Summariser { model, embedder };
    step!(
        run.note(
            0.1,
            &format!(
                "Read {} chunks of {} documents.",
                gathered.leaves.len(),
                gathered.docs.len()
            )
        )
        .await
    );

    // Build the tree, layer by layer.
    let mut records: Vec<ChunkRecord> = Vec::new();
    let mut layer = gathered.leaves.clone();
    let mut level = 0;
    while layer.len() > 1 && level < MAX_LEVELS {
        level += 1;
        let up = match summariser.layer(&layer, &cfg, level).await {
            Ok(up) => up,
            Err(TreeError::Model(e @ ModelError::Unavailable(..))) => {
                return run.fail(&format!("Cannot summarise: {e}")).await
            }
            Err(TreeError::Model(e)) => return RaptorOutcome::Retry(e.to_string()),
            Err(TreeError::Answer(m)) => return run.fail(&m).await,
        };
        let now = now_ms();
        for (i, n) in up.iter().enumerate() {
            let doc = &gathered.docs[n.doc];
            records.push(ChunkRecord {
                id: raptor_chunk_id(&run.row.id, level, i),
                tenant_id: task.tenant_id.clone(),
                dataset_id: task.dataset_id.clone(),
                document_id: doc.id.clone(),
                document_name: doc.name.clone(),
                content: n.text.clone(),
                important_keywords: vec![],
                questions: vec![],
                available: true,
                positions: vec![],
                image_id: String::new(),
                doc_type: String::new(),
                tag_kwd: vec![],
                raptor_kwd: RAPTOR_KWD.into(),
                position: POSITION_BASE + (level as i64) * 100_000 + i as i64,
                token_count: summary::approx_tokens(&n.text) as i64,
                create_time: now,
                generation: doc.generation,
                vector: n.vector.clone(),
            });
        }
        let progress = (0.1 + 0.8 * (1.0 - 1.0 / (level as f64 + 1.0))).min(0.9);
        step!(
            run.note(
                progress,
                &format!("Cluster one layer: {} -> {}", layer.len(), up.len())
            )
            .await
        );
        if up.len() >= layer.len() {
            break;
        }
        layer = up;
    }

    // Write, then take back the earlier run's chunks this one did not rewrite.
    if !retry_on_err!(run.current().await) {
        return run.fail("A newer RAPTOR task replaced this one.").await;
    }
    for batch in records.chunks(256) {
        retry_on_err!(state.index.upsert(&task.tenant_id, batch).await);
    }
    let written: std::collections::HashSet<&str> = records.iter().map(|r| r.id.as_str()).collect();
    let mut stale: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for (doc, id) in &gathered.old {
        if !written.contains(id.as_str()) {
            stale.entry(doc.as_str()).or_default().push(id.clone());
        }
    }
    for (doc, ids) in stale {
        retry_on_err!(
            state
                .index
                .delete_chunks(&task.tenant_id, &task.dataset_id, doc, &ids)
                .await
        );
    }
    run.row.chunk_ids = records
        .iter()
        .map(|r| r.id.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let elapsed = run.began.elapsed().as_secs_f64();
    step!(
        run.note(
            1.0,
            &format!(
                "Indexed {} summary chunks in {level} layers. Task done ({elapsed:.2}s)",
                records.len()
            )
        )
        .await
    );
    RaptorOutcome::Done(records.len())
}

/// After the last attempt: record the failure on the row, unless it finished meanwhile.
pub async fn give_up(state: &AppState, task: &RaptorTask, reason: &str, attempts: u32) {
    let Ok(Some(mut row)) = state.tasks.get_task(&task.tenant_id, &task.task_id).await else {
        return;
    };
    if row.finished() {
        return;
    }
    row.progress = -1.0;
    row.progress_msg.push('\n');
    row.progress_msg.push_str(&line(&format!(
        "[ERROR] Giving up after {attempts} attempts: {reason}"
    )));
    row.update_time = now_ms();
    let _ = state.tasks.update_task(&row).await;
}

#[cfg(test)]
mod tests;
