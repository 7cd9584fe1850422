//! The parse pipeline, one code path for both deployments: a task names a document at a
//! generation; the worker reads the bytes, parses, chunks, embeds and indexes, moving the
//! document through RUNNING → DONE / FAIL with progress.
//!
//! Why it is safe to repeat: chunk ids derive from (document, generation, position), the
//! document's old chunks are deleted before new ones are written, and every progress
//! write is guarded by the generation, so a redelivered task, a stopped document or a
//! re-parse started meanwhile can never leave duplicates or resurrect a cancelled run.

use std::time::Instant;

use lambdarag::contract::time::now_ms;
use lambdarag::domain::{ChunkRecord, Document, ParseTask, ProgressUpdate, QueuedTask, RunStatus};
use lambdarag::ports::PollingQueue;
use lambdarag::services::dataset_tasks::TaskOutcome;
use lambdarag::services::memories::extract::{self, ExtractOutcome};
use lambdarag::services::{graphrag, raptor};
use lambdarag::state::AppState;
use lambdarag::StoreError;

use crate::{chunk, parse, ChunkDraft, ParseLimits};

/// How a task ended, and so what the queue should do with it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Parsed and indexed.
    Done { chunks: usize },
    /// The document moved on (re-parsed, stopped, deleted): nothing to do.
    Stale,
    /// A permanent failure, already recorded on the document as FAIL.
    Failed(String),
    /// A transient failure (storage or model provider): try again later.
    Retry(String),
    /// A long dataset task saved its progress before the deadline and was queued again;
    /// this message is done.
    Continued(String),
}

impl Outcome {
    /// Whether the queue message should be removed.
    pub fn finished(&self) -> bool {
        !matches!(self, Outcome::Retry(_))
    }
}

/// The process-wide parse slots (one per core).
fn parse_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    })
}

/// Chunks per index upsert: a whole ordinary document, a bounded slice of a huge one.
const UPSERT_BATCH: usize = 4096;

#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub limits: ParseLimits,
    /// Texts per embedding call.
    pub embed_batch: usize,
    /// Weight of the title vector in each chunk vector (upstream `filename_embd_weight`).
    pub title_weight: f32,
    /// When this invocation must have returned (a Lambda's deadline); None: no limit.
    /// Long dataset tasks save their progress and queue themselves again before it.
    pub deadline: Option<std::time::Instant>,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            limits: ParseLimits::default(),
            embed_batch: 32,
            title_weight: 0.1,
            deadline: None,
        }
    }
}

fn line(msg: &str) -> String {
    format!("{} {msg}", chrono_like_clock())
}

/// `HH:MM:SS` of now (UTC), the prefix upstream puts on progress lines.
fn chrono_like_clock() -> String {
    let secs = now_ms() / 1000;
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    format!("{h:02}:{m:02}:{s:02}")
}

/// Chunk ids of parsed chunks: stable for a (document, generation, position).
pub fn parsed_chunk_id(doc_id: &str, generation: u64, position: usize) -> String {
    format!(
        "{:016x}",
        xxhash_rust::xxh64::xxh64(format!("{doc_id}:{generation}:{position}").as_bytes(), 0)
    )
}

struct Run<'a> {
    state: &'a AppState,
    task: &'a ParseTask,
}

impl Run<'_> {
    /// Write progress if the document is still ours; false means stale.
    async fn progress(&self, update: ProgressUpdate) -> Result<bool, StoreError> {
        self.state
            .docs
            .apply_progress(
                &self.task.tenant_id,
                &self.task.dataset_id,
                &self.task.document_id,
                self.task.generation,
                &update,
            )
            .await
    }

    async fn note(&self, progress: f64, msg: &str) -> Result<bool, StoreError> {
        self.progress(ProgressUpdate {
            progress: Some(progress),
            append_msg: Some(line(msg)),
            ..Default::default()
        })
        .await
    }

    async fn fail(&self, msg: &str, began: Instant) -> Outcome {
        let applied = self
            .progress(ProgressUpdate {
                run: Some(RunStatus::Fail),
                progress: Some(-1.0),
                append_msg: Some(line(&format!("[ERROR] {msg}"))),
                process_duration: Some(began.elapsed().as_secs_f64()),
                ..Default::default()
            })
            .await;
        match applied {
            Ok(true) => Outcome::Failed(msg.to_string()),
            Ok(false) => Outcome::Stale,
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }

    async fn current(&self) -> Result<Option<Document>, StoreError> {
        let doc = self
            .state
            .docs
            .get_document(
                &self.task.tenant_id,
                &self.task.dataset_id,
                &self.task.document_id,
            )
            .await?;
        Ok(doc.filter(|d| d.generation == self.task.generation && d.run == RunStatus::Running))
    }
}

macro_rules! retry_on_err {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Outcome::Retry(e.to_string()),
        }
    };
}

macro_rules! stale_unless {
    ($e:expr) => {
        match $e {
            Ok(true) => {}
            Ok(false) => return Outcome::Stale,
            Err(e) => return Outcome::Retry(e.to_string()),
        }
    };
}

/// Process one task. Never panics; the result says whether to ack it.
pub async fn process(state: &AppState, task: &ParseTask, cfg: &PipelineConfig) -> Outcome {
    let began = Instant::now();
    let run = Run { state, task };
    let Some(doc) = retry_on_err!(run.current().await) else {
        return Outcome::Stale;
    };
    stale_unless!(
        run.progress(ProgressUpdate {
            progress: Some(0.01),
            process_begin_at: Some(now_ms()),
            append_msg: Some(line("Task has been received.")),
            ..Default::default()
        })
        .await
    );
    let Some(bytes) = retry_on_err!(state.blobs.get(&task.tenant_id, &doc.location).await) else {
        return run.fail("The file is missing from storage.", began).await;
    };
    stale_unless!(
        run.note(
            0.05,
            &format!("Parsing {} ({} bytes).", doc.name, bytes.len())
        )
        .await
    );

    // Parsing and chunking are CPU-bound: off the async threads.
    let limits = cfg.limits.clone();
    let (name, method, parser_config) = (
        doc.name.clone(),
        doc.chunk_method.clone(),
        doc.parser_config.clone(),
    );
    // As many parses at once as cores: more workers overlap the waits (commits, reads),
    // not the CPU, and a parse can hold a large file's text in memory.
    let slot = parse_slots().acquire().await.ok();
    let parsed = tokio::task::spawn_blocking(move || {
        let parsed = parse(&name, &bytes, &limits)?;
        let drafts = chunk(&parsed, &method, &parser_config, &name)?;
        Ok::<_, crate::ParseError>((parsed.notes, drafts))
    })
    .await;
    drop(slot);
    let (notes, drafts) = match parsed {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return run.fail(&e.to_string(), began).await,
        Err(e) => return run.fail(&format!("The parser crashed: {e}"), began).await,
    };
    for n in &notes {
        stale_unless!(run.note(0.2, n).await);
    }
    stale_unless!(
        run.note(0.25, &format!("Split into {} chunks.", drafts.len()))
            .await
    );

    let vectors = match embed_drafts(&run, &doc, &drafts, cfg).await {
        Ok(Some(v)) => v,
        Ok(None) => return Outcome::Stale,
        Err(EmbedFailure::Transient(msg)) => return Outcome::Retry(msg),
        Err(EmbedFailure::Permanent(msg)) => return run.fail(&msg, began).await,
    };

    let now = now_ms();
    let records: Vec<ChunkRecord> = drafts
        .iter()
        .zip(vectors)
        .enumerate()
        .map(|(i, (d, vector))| ChunkRecord {
            id: parsed_chunk_id(&doc.id, task.generation, i),
            tenant_id: task.tenant_id.clone(),
            dataset_id: task.dataset_id.clone(),
            document_id: doc.id.clone(),
            document_name: doc.name.clone(),
            content: d.content.clone(),
            important_keywords: d.important_keywords.clone(),
            questions: d.questions.clone(),
            available: true,
            positions: d.positions.clone(),
            image_id: String::new(),
            doc_type: d.doc_type.clone(),
            tag_kwd: vec![],
            tag_feas: Default::default(),
            raptor_kwd: String::new(),
            position: i as i64,
            token_count: d.token_count as i64,
            create_time: now,
            generation: task.generation,
            vector,
        })
        .collect();
    let tokens: i64 = records.iter().map(|r| r.token_count).sum();

    // A duplicate delivery that finds its generation already DONE (or stopped) leaves the
    // chunks as they are: rewriting them would make them vanish for a moment.
    if retry_on_err!(run.current().await).is_none() {
        return Outcome::Stale;
    }
    // Replace whatever an earlier attempt or generation left.
    retry_on_err!(
        state
            .index
            .delete_document(&task.tenant_id, &task.dataset_id, &doc.id, None)
            .await
    );
    // Few, large upserts: each costs the embedded index a commit (the OpenSearch adapter
    // splits its bulk requests by size itself).
    for batch in records.chunks(UPSERT_BATCH) {
        retry_on_err!(state.index.upsert(&task.tenant_id, batch).await);
    }
    let finished = run
        .progress(ProgressUpdate {
            run: Some(RunStatus::Done),
            progress: Some(1.0),
            // Clients watch for "Task done" in the last line (upstream's completion line).
            append_msg: Some(line(&format!(
                "Indexed {} chunks, {tokens} tokens. Task done ({:.2}s)",
                records.len(),
                began.elapsed().as_secs_f64()
            ))),
            process_duration: Some(began.elapsed().as_secs_f64()),
            chunk_count: Some(records.len() as i64),
            token_count: Some(tokens),
            ..Default::default()
        })
        .await;
    match finished {
        Ok(true) => Outcome::Done {
            chunks: records.len(),
        },
        Ok(false) => {
            // Stopped or re-parsed while we wrote: take back what this generation wrote.
            let _ = state
                .index
                .delete_document(
                    &task.tenant_id,
                    &task.dataset_id,
                    &doc.id,
                    Some(task.generation),
                )
                .await;
            Outcome::Stale
        }
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

enum EmbedFailure {
    Transient(String),
    Permanent(String),
}

/// Embed every draft (title-weighted like upstream); None if the document went stale.
async fn embed_drafts(
    run: &Run<'_>,
    doc: &Document,
    drafts: &[ChunkDraft],
    cfg: &PipelineConfig,
) -> Result<Option<Vec<Vec<f32>>>, EmbedFailure> {
    if drafts.is_empty() {
        return Ok(Some(vec![]));
    }
    let state = run.state;
    let tenant = state
        .meta
        .get_tenant(&doc.tenant_id)
        .await
        .map_err(|e| EmbedFailure::Transient(e.to_string()))?
        .ok_or_else(|| EmbedFailure::Permanent("The tenant no longer exists.".into()))?;
    let dataset = state
        .meta
        .get_dataset(&doc.tenant_id, &doc.dataset_id)
        .await
        .map_err(|e| EmbedFailure::Transient(e.to_string()))?
        .ok_or_else(|| EmbedFailure::Permanent("The dataset no longer exists.".into()))?;
    let embedder = state
        .embedders
        .embedder(&tenant, &dataset.embedding_model)
        .map_err(|e| EmbedFailure::Permanent(e.to_string()))?;
    let model_err = |e: lambdarag::ports::ModelError| match e {
        lambdarag::ports::ModelError::Unavailable(..) => EmbedFailure::Permanent(e.to_string()),
        other => EmbedFailure::Transient(other.to_string()),
    };
    let title = embedder
        .embed(std::slice::from_ref(&doc.name))
        .await
        .map_err(model_err)?
        .into_iter()
        .next()
        .unwrap_or_default();
    let w = doc
        .parser_config
        .get("filename_embd_weight")
        .and_then(|v| v.as_f64())
        .map(|v| v as f32)
        .unwrap_or(cfg.title_weight);
    let mut out = Vec::with_capacity(drafts.len());
    let total = drafts.len();
    for (i, batch) in drafts.chunks(cfg.embed_batch.max(1)).enumerate() {
        let texts: Vec<String> = batch
            .iter()
            .map(|d| {
                if d.questions.is_empty() {
                    d.content.clone()
                } else {
                    d.questions.join("\n")
                }
            })
            .collect();
        let vecs = embedder.embed(&texts).await.map_err(model_err)?;
        if vecs.len() != texts.len() {
            return Err(EmbedFailure::Transient(format!(
                "The embedding model returned {} vectors for {} texts.",
                vecs.len(),
                texts.len()
            )));
        }
        for v in vecs {
            out.push(mix(&title, &v, w));
        }
        let done = out.len();
        let progress = 0.3 + 0.6 * (done as f64 / total as f64);
        let msg = format!("Embedded {done}/{total} chunks.");
        // A stop or re-parse shows up here within one batch.
        let still_ours = if i % 4 == 3 || done == total {
            run.note(progress, &msg).await
        } else {
            run.progress(ProgressUpdate {
                progress: Some(progress),
                ..Default::default()
            })
            .await
        };
        match still_ours {
            Ok(true) => {}
            Ok(false) => return Ok(None),
            Err(e) => return Err(EmbedFailure::Transient(e.to_string())),
        }
    }
    Ok(Some(out))
}

/// `w·title + (1−w)·content`, re-normalised.
fn mix(title: &[f32], content: &[f32], w: f32) -> Vec<f32> {
    let v: Vec<f32> = if title.len() == content.len() {
        title
            .iter()
            .zip(content)
            .map(|(t, c)| w * t + (1.0 - w) * c)
            .collect()
    } else {
        content.to_vec()
    };
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.into_iter().map(|x| x / n).collect()
    } else {
        v
    }
}

/// Receives beyond this count end the document as FAIL with the last error (the embedded
/// counterpart of SQS's dead-letter redrive).
pub const MAX_ATTEMPTS: u32 = 3;

/// After the last attempt: record FAIL with the reason, guarded by the generation.
pub async fn give_up(state: &AppState, task: &ParseTask, reason: &str) {
    let _ = state
        .docs
        .apply_progress(
            &task.tenant_id,
            &task.dataset_id,
            &task.document_id,
            task.generation,
            &ProgressUpdate {
                run: Some(RunStatus::Fail),
                progress: Some(-1.0),
                append_msg: Some(line(&format!(
                    "[ERROR] Giving up after {MAX_ATTEMPTS} attempts: {reason}"
                ))),
                ..Default::default()
            },
        )
        .await;
}

/// Process any queued task: the worker's dispatch by kind. Extraction outcomes map onto
/// the parse outcomes so both workers ack, retry and give up the same way.
pub async fn process_task(state: &AppState, task: &QueuedTask, cfg: &PipelineConfig) -> Outcome {
    match task {
        QueuedTask::Parse(t) => process(state, t, cfg).await,
        QueuedTask::Memory(t) => match extract::run(state, t).await {
            ExtractOutcome::Done(n) => Outcome::Done { chunks: n },
            ExtractOutcome::Stale => Outcome::Stale,
            ExtractOutcome::Failed(m) => Outcome::Failed(m),
            ExtractOutcome::Retry(m) => Outcome::Retry(m),
        },
        QueuedTask::Raptor(t) => {
            let outcome = raptor::process(state, t, cfg.deadline).await;
            dataset_task_outcome(state, task, outcome).await
        }
        QueuedTask::Graphrag(t) => {
            let outcome = graphrag::process(state, t, cfg.deadline).await;
            dataset_task_outcome(state, task, outcome).await
        }
    }
}

async fn dataset_task_outcome(
    state: &AppState,
    task: &QueuedTask,
    outcome: TaskOutcome,
) -> Outcome {
    match outcome {
        TaskOutcome::Done(n) => Outcome::Done { chunks: n },
        TaskOutcome::Stale => Outcome::Stale,
        TaskOutcome::Failed(m) => Outcome::Failed(m),
        TaskOutcome::Retry(m) => Outcome::Retry(m),
        // A fresh message, so the next invocation starts with a full attempt budget; if it
        // cannot be queued, this one is redelivered and resumes from the same checkpoint.
        TaskOutcome::Continue(m) => match state.queue.enqueue_task(task).await {
            Ok(()) => Outcome::Continued(m),
            Err(e) => Outcome::Retry(format!("could not queue the continuation: {e}")),
        },
    }
}

/// After the last attempt of any task: record the failure where its kind keeps progress.
pub async fn give_up_task(state: &AppState, task: &QueuedTask, reason: &str) {
    match task {
        QueuedTask::Parse(t) => give_up(state, t, reason).await,
        QueuedTask::Memory(t) => extract::give_up(state, t, reason).await,
        QueuedTask::Raptor(t) => raptor::give_up(state, t, reason, MAX_ATTEMPTS).await,
        QueuedTask::Graphrag(t) => graphrag::give_up(state, t, reason, MAX_ATTEMPTS).await,
    }
}

/// What a task is about, for logs.
pub fn subject(task: &QueuedTask) -> &str {
    match task {
        QueuedTask::Parse(t) => &t.document_id,
        QueuedTask::Memory(t) => &t.memory_id,
        QueuedTask::Raptor(t) => &t.dataset_id,
        QueuedTask::Graphrag(t) => &t.dataset_id,
    }
}

/// The embedded worker loop: poll, process with a heartbeat, ack or leave for retry.
/// Runs until `shutdown` resolves; an interrupted task simply becomes visible again.
pub async fn run_worker(
    state: AppState,
    queue: std::sync::Arc<dyn PollingQueue>,
    cfg: PipelineConfig,
    visibility: std::time::Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let idle = std::time::Duration::from_millis(250);
    loop {
        if *shutdown.borrow() {
            return;
        }
        let lease = match queue.receive(visibility).await {
            Ok(Some(l)) => l,
            Ok(None) => {
                tokio::select! {
                    _ = tokio::time::sleep(idle) => {},
                    _ = shutdown.changed() => {},
                }
                continue;
            }
            Err(e) => {
                tracing::error!(error = %e, "task queue receive failed");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        };
        let heartbeat = {
            let queue = queue.clone();
            let receipt = lease.receipt.clone();
            tokio::spawn(async move {
                let every = visibility / 3;
                loop {
                    tokio::time::sleep(every).await;
                    if queue.extend(&receipt, visibility).await.is_err() {
                        return;
                    }
                }
            })
        };
        let outcome = process_task(&state, &lease.task, &cfg).await;
        heartbeat.abort();
        tracing::info!(
            kind = lease.task.kind(),
            subject = subject(&lease.task),
            attempts = lease.attempts,
            ?outcome,
            "task finished"
        );
        let ack = match &outcome {
            Outcome::Retry(reason) if lease.attempts >= MAX_ATTEMPTS => {
                give_up_task(&state, &lease.task, reason).await;
                true
            }
            o => o.finished(),
        };
        if ack {
            if let Err(e) = queue.ack(&lease.receipt).await {
                tracing::error!(error = %e, "task ack failed");
            }
        }
    }
}
