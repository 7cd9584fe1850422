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
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;

use crate::contract::envelope::ApiError;
use crate::contract::time::now_ms;
use crate::domain::models::{split_model_id, BUILTIN_FACTORY};
use crate::domain::{ChunkRecord, Document, DocumentListQuery, QueuedTask, RaptorTask};
use crate::ports::chat::{ChatMessage, ChatModel, GenOptions};
use crate::ports::tasks::{DatasetTask, TASK_RAPTOR};
use crate::ports::{ChunkListQuery, Embedder, ModelError};
use crate::services::dataset_tasks::{
    self, retry_on_err, step, Step, TaskKind, TaskOutcome, TaskRun,
};
use crate::services::task_checkpoint::{self, should_pause, Checkpoint};
use crate::state::AppState;

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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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

/// The facts of RAPTOR's task rows and routes.
pub const KIND: TaskKind = TaskKind {
    task_type: TASK_RAPTOR,
    reply_key: "raptor_task_id",
    busy_name: "A RAPTOR Task",
    missing_row: Some("RAPTOR Task Not Found or Error Occurred"),
    label: "RAPTOR",
};

/// D9: record a RAPTOR task for the dataset and queue it.
pub async fn run(state: &AppState, tenant: &str, dataset_id: &str) -> Result<Value, ApiError> {
    dataset_tasks::start(state, tenant, dataset_id, &KIND, |task_id| {
        QueuedTask::Raptor(RaptorTask {
            task_id,
            tenant_id: tenant.to_string(),
            dataset_id: dataset_id.to_string(),
        })
    })
    .await
}

/// D10: the dataset's current RAPTOR task row; `{}` if it never ran.
pub async fn trace(state: &AppState, tenant: &str, dataset_id: &str) -> Result<Value, ApiError> {
    dataset_tasks::trace(state, tenant, dataset_id, &KIND).await
}

// ---------------------------------------------------------------------------------------
// The worker

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
pub async fn process(
    state: &AppState,
    task: &RaptorTask,
    deadline: Option<Instant>,
) -> TaskOutcome {
    let (mut run, dataset, tenant) = match TaskRun::begin(
        state,
        KIND,
        &task.tenant_id,
        &task.task_id,
        &task.dataset_id,
    )
    .await
    {
        Ok(r) => r,
        Err(outcome) => return outcome,
    };
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

    // Build the tree, layer by layer, from where an earlier invocation of this run stopped.
    let saved = Checkpoint::new(
        state,
        &task.tenant_id,
        &task.dataset_id,
        CHECKPOINT_FOLDER,
        &task.task_id,
    );
    let leaves_digest = task_checkpoint::digest(
        gathered
            .docs
            .iter()
            .map(|d| d.id.as_str())
            .chain(gathered.leaves.iter().map(|n| n.text.as_str())),
    );
    let resumed = match saved
        .load(|b: &Built| b.leaves_digest == leaves_digest)
        .await
    {
        Ok(b) => b,
        Err(e) => return TaskOutcome::Retry(e.to_string()),
    };
    let mut built = match resumed {
        Some(b) => {
            step!(
                run.note(
                    (0.1 + 0.8 * (1.0 - 1.0 / (b.level as f64 + 1.0))).min(0.9),
                    &format!("Resuming after {} layers.", b.level)
                )
                .await
            );
            b
        }
        None => Built {
            leaves_digest,
            level: 0,
            layer: gathered.leaves.clone(),
            records: vec![],
            complete: false,
        },
    };
    let start_level = built.level;
    while !built.complete && built.layer.len() > 1 && built.level < MAX_LEVELS {
        // At least one layer per invocation, so every invocation makes progress.
        if should_pause(deadline, built.level > start_level, LAYER_MARGIN) {
            return pause(&mut run, &saved, &built).await;
        }
        built.level += 1;
        let level = built.level;
        let up = match summariser.layer(&built.layer, &cfg, level).await {
            Ok(up) => up,
            Err(TreeError::Model(e @ ModelError::Unavailable(..))) => {
                return run.fail(&format!("Cannot summarise: {e}")).await
            }
            Err(TreeError::Model(e)) => return TaskOutcome::Retry(e.to_string()),
            Err(TreeError::Answer(m)) => return run.fail(&m).await,
        };
        let now = now_ms();
        for (i, n) in up.iter().enumerate() {
            let doc = &gathered.docs[n.doc];
            built.records.push(ChunkRecord {
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
                tag_feas: Default::default(),
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
                &format!("Cluster one layer: {} -> {}", built.layer.len(), up.len())
            )
            .await
        );
        if up.len() >= built.layer.len() {
            built.complete = true;
        } else {
            built.layer = up;
        }
        // On a deadline (a Lambda), every layer is kept: an invocation killed in the next
        // one loses only that layer. Best effort: a failed save only costs time.
        if deadline.is_some() {
            let _ = saved.save(&built).await;
        }
    }
    if should_pause(deadline, built.level > start_level, FINISH_BUDGET) {
        built.complete = true;
        return pause(&mut run, &saved, &built).await;
    }
    let Built { records, level, .. } = built;

    // Write, then take back the earlier run's chunks this one did not rewrite.
    if !retry_on_err!(run.current().await) {
        return run.superseded().await;
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
    saved.clear().await;
    TaskOutcome::Done(records.len())
}

/// RAPTOR checkpoints' folder under the dataset.
const CHECKPOINT_FOLDER: &str = "raptor";
/// A new layer is started only with this much time left before the deadline (a layer is
/// one chat-model call per cluster).
const LAYER_MARGIN: Duration = Duration::from_secs(300);
/// What writing the summaries is given: with less left, a fresh invocation writes them.
const FINISH_BUDGET: Duration = Duration::from_secs(60);

/// The tree so far, as a run keeps it between worker invocations.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Built {
    /// Which chunks the tree is built on: a dataset that changed in between starts over.
    leaves_digest: String,
    /// Layers built.
    level: usize,
    /// The top layer so far (the next layer clusters it).
    layer: Vec<Node>,
    /// The summary chunks of every layer built.
    records: Vec<ChunkRecord>,
    /// No further layer will be built; only the writing is left.
    complete: bool,
}

/// Save the tree and hand the rest of the run to a fresh invocation.
async fn pause(run: &mut TaskRun<'_>, saved: &Checkpoint<'_>, built: &Built) -> TaskOutcome {
    let msg = format!(
        "Built {} layers; continuing in a new worker invocation.",
        built.level
    );
    run.hand_over(saved, built, 0.1, msg).await
}

/// After the last attempt: record the failure on the row, unless it finished meanwhile.
pub async fn give_up(state: &AppState, task: &RaptorTask, reason: &str, attempts: u32) {
    dataset_tasks::give_up(state, &task.tenant_id, &task.task_id, reason, attempts).await
}

#[cfg(test)]
mod tests;
