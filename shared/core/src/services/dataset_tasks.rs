//! What the dataset-wide tasks (RAPTOR, GraphRAG) share: the "run" route that records a
//! task row and queues it, the "trace" route, and the worker's bookkeeping on the row.
//!
//! A run records its row first, then makes it the dataset's current task of its type with
//! a compare-and-set (so two runs cannot start together), then queues it. The worker leaves
//! alone a task whose row is finished or gone, or that is no longer the dataset's current
//! one (a redelivery, or a superseded run); writes progress lines on the row as it goes;
//! ends it with progress 1 or -1. Transient failures are retried by the queue and, after
//! the last attempt, `give_up` records -1.

use std::time::Instant;

use serde_json::{json, Value};

use crate::contract::envelope::ApiError;
use crate::contract::ids::new_id;
use crate::contract::pyfmt::py_float;
use crate::contract::time::now_ms;
use crate::domain::{Dataset, DocumentListQuery, QueuedTask, Tenant};
use crate::ports::tasks::DatasetTask;
use crate::services::datasets::no_authorization;
use crate::state::AppState;
use crate::StoreError;

/// Upstream's page marker for dataset-wide tasks.
const WHOLE_DATASET_PAGE: i64 = 100_000_000;

/// The facts that differ between the kinds of dataset task.
#[derive(Debug, Clone, Copy)]
pub struct TaskKind {
    /// `task_type` of the rows (`raptor`, `graphrag`).
    pub task_type: &'static str,
    /// The key of the run route's reply (`raptor_task_id`, `graphrag_task_id`).
    pub reply_key: &'static str,
    /// How the "already running" message names the task (`A RAPTOR Task`).
    pub busy_name: &'static str,
    /// What trace answers when the recorded task row is gone: an error message (RAPTOR),
    /// or `{}` (GraphRAG).
    pub missing_row: Option<&'static str>,
    /// Named in the worker's messages (`RAPTOR`, `GraphRAG`).
    pub label: &'static str,
}

/// `HH:MM:SS`, the prefix of each progress line.
fn clock() -> String {
    crate::contract::time::plain_datetime(now_ms())
        .split(' ')
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

/// One progress line.
pub fn line(msg: &str) -> String {
    format!("{} {msg}", clock())
}

/// The caller reaches the dataset (any member of its tenant may run its tasks).
pub async fn accessible(state: &AppState, tenant: &str, dataset_id: &str) -> Result<(), ApiError> {
    if dataset_id.is_empty() {
        return Err(ApiError::data("Lack of \"Dataset ID\""));
    }
    match state.meta.get_dataset(tenant, dataset_id).await? {
        Some(_) => Ok(()),
        None => Err(no_authorization()),
    }
}

pub fn already_running(kind: &TaskKind, id: &str, progress: f64) -> ApiError {
    ApiError::data(format!(
        "Task {id} in progress with status {}. {} is already running.",
        py_float(progress),
        kind.busy_name
    ))
}

/// The run route: record a task row for the dataset, make it current, queue what `queued`
/// builds from its id. Answers `{<reply_key>: id, task_id: id}`.
pub async fn start(
    state: &AppState,
    tenant: &str,
    dataset_id: &str,
    kind: &TaskKind,
    queued: impl FnOnce(String) -> QueuedTask,
) -> Result<Value, ApiError> {
    accessible(state, tenant, dataset_id).await?;
    let current = state
        .tasks
        .current_task(tenant, dataset_id, kind.task_type)
        .await?;
    if let Some(id) = &current {
        if let Some(task) = state.tasks.get_task(tenant, id).await? {
            if !task.finished() {
                return Err(already_running(kind, id, task.progress));
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
        xxhash_rust::xxh64::xxh64(
            format!("{dataset_id}:{}:{id}", kind.task_type).as_bytes(),
            0
        )
    );
    let task = DatasetTask {
        id: id.clone(),
        tenant_id: tenant.to_string(),
        dataset_id: dataset_id.to_string(),
        doc_id: docs[0].id.clone(),
        task_type: kind.task_type.into(),
        from_page: WHOLE_DATASET_PAGE,
        to_page: WHOLE_DATASET_PAGE,
        priority: 0,
        begin_at: None,
        process_duration: 0.0,
        progress: 0.0,
        progress_msg: line(&format!("created task {}", kind.task_type)),
        retry_count: 0,
        digest,
        chunk_ids: String::new(),
        create_time: now,
        update_time: now,
    };
    state.tasks.insert_task(&task).await?;
    let swapped = state
        .tasks
        .swap_current_task(tenant, dataset_id, kind.task_type, current.as_deref(), &id)
        .await?;
    if !swapped {
        // Another run started in between: it is the running one.
        let _ = state.tasks.delete_task(tenant, &id).await;
        let winner = state
            .tasks
            .current_task(tenant, dataset_id, kind.task_type)
            .await?
            .unwrap_or_default();
        return Err(already_running(kind, &winner, 0.0));
    }
    if let Err(e) = state.queue.enqueue_task(&queued(id.clone())).await {
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
    // v0.27 names the same id `task_id`.
    Ok(json!({ kind.reply_key: id, "task_id": id }))
}

/// The trace route: the dataset's current task row; `{}` if it never ran.
pub async fn trace(
    state: &AppState,
    tenant: &str,
    dataset_id: &str,
    kind: &TaskKind,
) -> Result<Value, ApiError> {
    accessible(state, tenant, dataset_id).await?;
    let Some(id) = state
        .tasks
        .current_task(tenant, dataset_id, kind.task_type)
        .await?
    else {
        return Ok(json!({}));
    };
    match state.tasks.get_task(tenant, &id).await? {
        Some(task) => Ok(task.to_api()),
        None => match kind.missing_row {
            Some(msg) => Err(ApiError::data(msg)),
            None => Ok(json!({})),
        },
    }
}

// ---------------------------------------------------------------------------------------
// The worker's side

/// How a task ended, and so what the queue should do with it.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskOutcome {
    /// Wrote this many records (chunks, graph elements).
    Done(usize),
    /// Finished before, gone, or superseded: nothing to do.
    Stale,
    /// A permanent failure, recorded on the row (progress -1).
    Failed(String),
    /// A transient failure: try again later.
    Retry(String),
    /// Progress was saved before the worker's deadline: queue the task again, so a fresh
    /// invocation goes on from there (not a failure, and not counted as an attempt).
    Continue(String),
}

/// Why a step could not go on.
pub enum Step {
    Stale,
    Retry(String),
}

impl From<Step> for TaskOutcome {
    fn from(step: Step) -> Self {
        match step {
            Step::Stale => TaskOutcome::Stale,
            Step::Retry(m) => TaskOutcome::Retry(m),
        }
    }
}

impl From<StoreError> for Step {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => Step::Stale,
            other => Step::Retry(other.to_string()),
        }
    }
}

/// A task being worked on: its row, kept up to date as progress lines are written.
pub struct TaskRun<'a> {
    pub state: &'a AppState,
    pub row: DatasetTask,
    pub kind: TaskKind,
    pub began: Instant,
}

/// Unwrap a step's result, or end the task as the step says.
macro_rules! step {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err($crate::services::dataset_tasks::Step::Stale) => {
                return $crate::services::dataset_tasks::TaskOutcome::Stale
            }
            Err($crate::services::dataset_tasks::Step::Retry(m)) => {
                return $crate::services::dataset_tasks::TaskOutcome::Retry(m)
            }
        }
    };
}
pub(crate) use step;

/// Unwrap, or leave the task for the queue to deliver again.
macro_rules! retry_on_err {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return $crate::services::dataset_tasks::TaskOutcome::Retry(e.to_string()),
        }
    };
}
pub(crate) use retry_on_err;

impl<'a> TaskRun<'a> {
    /// Load the task's row and what the work needs, or say why there is nothing to do.
    /// On success the row says "received" with progress 0.01.
    pub async fn begin(
        state: &'a AppState,
        kind: TaskKind,
        tenant_id: &str,
        task_id: &str,
        dataset_id: &str,
    ) -> Result<(TaskRun<'a>, Dataset, Tenant), TaskOutcome> {
        let row = match state.tasks.get_task(tenant_id, task_id).await {
            Ok(Some(r)) => r,
            Ok(None) => return Err(TaskOutcome::Stale),
            Err(e) => return Err(TaskOutcome::Retry(e.to_string())),
        };
        if row.finished() || row.dataset_id != dataset_id {
            return Err(TaskOutcome::Stale);
        }
        let mut run = TaskRun {
            state,
            row,
            kind,
            began: Instant::now(),
        };
        match run.current().await {
            Ok(true) => {}
            Ok(false) => return Err(run.superseded().await),
            Err(e) => return Err(TaskOutcome::Retry(e.to_string())),
        }
        let dataset = match state.meta.get_dataset(tenant_id, dataset_id).await {
            Ok(Some(d)) => d,
            Ok(None) => return Err(run.fail("The dataset no longer exists.").await),
            Err(e) => return Err(TaskOutcome::Retry(e.to_string())),
        };
        let tenant = match state.meta.get_tenant(tenant_id).await {
            Ok(Some(t)) => t,
            Ok(None) => return Err(run.fail("The tenant no longer exists.").await),
            Err(e) => return Err(TaskOutcome::Retry(e.to_string())),
        };
        // A continuation or a redelivery keeps the first pickup's time, so
        // `process_duration` is the whole run's.
        run.row.begin_at.get_or_insert_with(now_ms);
        run.row.retry_count += 1;
        match run.note(0.01, "Task has been received.").await {
            Ok(()) => Ok((run, dataset, tenant)),
            Err(step) => Err(step.into()),
        }
    }

    /// Write a progress line and the new progress on the row.
    pub async fn note(&mut self, progress: f64, msg: &str) -> Result<(), Step> {
        // A row ended by someone else (a DELETE cancelling the run) stays ended.
        match self
            .state
            .tasks
            .get_task(&self.row.tenant_id, &self.row.id)
            .await?
        {
            Some(stored) if !stored.finished() => {}
            _ => return Err(Step::Stale),
        }
        // Progress only moves forward while the task runs (a resumed or redelivered run
        // starts its notes low again); -1 ends it.
        self.row.progress = if progress < 0.0 {
            progress
        } else {
            progress.max(self.row.progress)
        };
        self.row.progress_msg.push('\n');
        self.row.progress_msg.push_str(&line(msg));
        let now = now_ms();
        self.row.process_duration = match self.row.begin_at {
            Some(begun) => (now - begun).max(0) as f64 / 1000.0,
            None => self.began.elapsed().as_secs_f64(),
        };
        self.row.update_time = now;
        self.state.tasks.update_task(&self.row).await?;
        Ok(())
    }

    /// End the task as failed, with the reason on the row.
    pub async fn fail(&mut self, msg: &str) -> TaskOutcome {
        match self.note(-1.0, &format!("[ERROR] {msg}")).await {
            Ok(()) => TaskOutcome::Failed(msg.to_string()),
            Err(step) => step.into(),
        }
    }

    /// Save the run's progress and hand the rest of it to a fresh invocation (the worker
    /// queues the task again on `Continue`).
    pub async fn hand_over<T: serde::Serialize>(
        &mut self,
        saved: &crate::services::task_checkpoint::Checkpoint<'_>,
        progress_state: &T,
        progress: f64,
        msg: String,
    ) -> TaskOutcome {
        if let Err(e) = saved.save(progress_state).await {
            return TaskOutcome::Retry(e.to_string());
        }
        match self.note(progress, &msg).await {
            Ok(()) => TaskOutcome::Continue(msg),
            Err(step) => step.into(),
        }
    }

    /// End a task a newer run replaced.
    pub async fn superseded(&mut self) -> TaskOutcome {
        let msg = format!("A newer {} task replaced this one.", self.kind.label);
        self.fail(&msg).await
    }

    /// Still the dataset's current task of its type?
    pub async fn current(&self) -> Result<bool, StoreError> {
        Ok(self
            .state
            .tasks
            .current_task(
                &self.row.tenant_id,
                &self.row.dataset_id,
                self.kind.task_type,
            )
            .await?
            .as_deref()
            == Some(self.row.id.as_str()))
    }
}

/// After the last attempt: record the failure on the row, unless it finished meanwhile.
pub async fn give_up(
    state: &AppState,
    tenant_id: &str,
    task_id: &str,
    reason: &str,
    attempts: u32,
) {
    let Ok(Some(mut row)) = state.tasks.get_task(tenant_id, task_id).await else {
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
