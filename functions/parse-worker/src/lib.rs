//! The parse worker: an SQS-triggered Lambda running the parse pipeline.
//!
//! Each SQS record is one queued task (JSON): a parse task, or a memory extraction
//! (`kind: memory_extract`), dispatched by `pipeline::process_task`. For each record:
//!
//! | what happened | reply to SQS |
//! |---|---|
//! | the body is not a parse task | success (logged): retrying cannot fix it |
//! | `Done`, `Stale`, `Failed` (recorded on the document) | success: the message is deleted |
//! | `Retry`, receive count below `MAX_ATTEMPTS` | batch item failure: SQS redelivers it after the visibility timeout (shortened to a backoff when a queue is configured) |
//! | `Retry` at the last attempt | `give_up` (document FAIL with the reason), success |
//! | `Continued` (a dataset task saved its progress before the invocation's deadline and queued itself again) | success |
//!
//! The queue's redrive policy (`maxReceiveCount` = `MAX_ATTEMPTS`) moves a message to the
//! dead-letter queue only when every attempt died without answering (a crash or a
//! timeout). The dead-letter queue feeds this function too: a record from it ends its
//! document as FAIL if it is still running that generation, so nothing stays RUNNING.
//!
//! Repeats are harmless: the pipeline replaces a document's chunks and guards every write
//! with the document's generation (see `lambdarag_ingest::pipeline`).

use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use lambdarag::domain::{ParseTask, QueuedTask, RunStatus};
use lambdarag::AppState;
use lambdarag_aws::sqs::SqsTaskQueue;
use lambdarag_ingest::pipeline::{self, Outcome, PipelineConfig, MAX_ATTEMPTS};

/// The dead-letter queue's ARN (records from it are ended, not processed).
pub const DEAD_LETTER_ARN_ENV: &str = "LAMBDARAG_DEAD_LETTER_QUEUE_ARN";
/// Base of the retry backoff in seconds (default 30): attempt n waits base·2^(n−1).
pub const RETRY_BACKOFF_ENV: &str = "LAMBDARAG_RETRY_BACKOFF_SECONDS";

/// Why the dead-letter handler fails a document (or a memory extraction).
pub const DEAD_LETTER_REASON: &str = "the parse worker stopped (timeout or crash) on every attempt";

/// What the handler needs besides the ports.
#[derive(Clone, Default)]
pub struct Worker {
    pub pipeline: PipelineConfig,
    /// The parse queue, to shorten a failed message's visibility to a backoff (the queue's
    /// own timeout is six times the function timeout: far too long to wait for a retry).
    pub queue: Option<SqsTaskQueue>,
    pub backoff_base: Duration,
    /// Records from this queue (the dead-letter queue) are ended as FAIL.
    pub dead_letter_arn: Option<String>,
}

impl Worker {
    /// From the environment, with the state's queue (if configured).
    pub fn from_env(queue: Option<SqsTaskQueue>) -> Self {
        let backoff = std::env::var(RETRY_BACKOFF_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(30);
        Worker {
            pipeline: PipelineConfig::default(),
            queue,
            backoff_base: Duration::from_secs(backoff),
            dead_letter_arn: std::env::var(DEAD_LETTER_ARN_ENV)
                .ok()
                .filter(|v| !v.is_empty()),
        }
    }

    /// The delay before attempt `attempts + 1`, capped at 15 minutes.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let factor = 1u32 << attempts.saturating_sub(1).min(10);
        (self.backoff_base * factor).min(Duration::from_secs(900))
    }
}

/// What one record came to (for logs and tests).
#[derive(Debug, Clone, PartialEq)]
pub enum RecordResult {
    /// Not a parse task: dropped.
    Malformed(String),
    /// The pipeline's outcome, and whether the message is reported as failed (redelivered).
    Processed { outcome: Outcome, retry: bool },
    /// Given up after the last attempt (document FAIL).
    GaveUp(String),
    /// A dead-lettered task: the document was ended as FAIL (true) or had moved on (false).
    DeadLettered(bool),
}

/// The receive count SQS reports for a record (1 if absent).
pub fn receive_count(msg: &SqsMessage) -> u32 {
    msg.attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

/// The invocation's deadline (the runtime gives it in epoch milliseconds) as an
/// `Instant`; None when the runtime gave none.
pub fn deadline_of(epoch_ms: u64) -> Option<std::time::Instant> {
    if epoch_ms == 0 {
        return None;
    }
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Some(std::time::Instant::now() + Duration::from_millis(epoch_ms.saturating_sub(now_ms)))
}

/// Handle one SQS batch with the default worker settings (no backoff queue).
pub async fn handle(state: &AppState, event: SqsEvent) -> SqsBatchResponse {
    handle_with(state, &Worker::default(), event).await.0
}

/// Handle one SQS batch: the response with the records to redeliver, and what each record
/// came to.
pub async fn handle_with(
    state: &AppState,
    worker: &Worker,
    event: SqsEvent,
) -> (SqsBatchResponse, Vec<RecordResult>) {
    let mut response = SqsBatchResponse::default();
    // The batch's tasks run together: each waits on S3, DynamoDB and the index's refresh
    // for most of its time, which the others' parsing and embedding fill. Each task is a
    // different document (or a later generation of one), and the pipeline is idempotent.
    let results: Vec<RecordResult> = futures_util::future::join_all(
        event
            .records
            .iter()
            .map(|msg| handle_record(state, worker, msg)),
    )
    .await;
    for (msg, result) in event.records.iter().zip(&results) {
        if matches!(result, RecordResult::Processed { retry: true, .. }) {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = msg.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    (response, results)
}

async fn handle_record(state: &AppState, worker: &Worker, msg: &SqsMessage) -> RecordResult {
    let message_id = msg.message_id.as_deref().unwrap_or("?");
    let body = msg.body.as_deref().unwrap_or_default();
    let task: QueuedTask = match serde_json::from_str(body) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(message_id, error = %e, "dropping an SQS message that is not a queued task");
            return RecordResult::Malformed(e.to_string());
        }
    };
    let attempts = receive_count(msg);
    let from_dead_letters = worker
        .dead_letter_arn
        .as_deref()
        .is_some_and(|arn| msg.event_source_arn.as_deref() == Some(arn));
    if from_dead_letters {
        let ended = match &task {
            QueuedTask::Parse(t) => end_dead_lettered(state, t).await,
            other => {
                pipeline::give_up_task(state, other, DEAD_LETTER_REASON).await;
                true
            }
        };
        tracing::warn!(
            kind = task.kind(),
            subject = pipeline::subject(&task),
            ended,
            "dead-lettered task"
        );
        return RecordResult::DeadLettered(ended);
    }

    let outcome = pipeline::process_task(state, &task, &worker.pipeline).await;
    tracing::info!(
        message_id,
        kind = task.kind(),
        subject = pipeline::subject(&task),
        attempts,
        ?outcome,
        "task finished"
    );
    match outcome {
        Outcome::Retry(reason) if attempts >= MAX_ATTEMPTS => {
            pipeline::give_up_task(state, &task, &reason).await;
            RecordResult::GaveUp(reason)
        }
        Outcome::Retry(reason) => {
            if let (Some(queue), Some(receipt)) = (&worker.queue, msg.receipt_handle.as_deref()) {
                // Best effort: without it the retry just waits for the queue's timeout.
                if let Err(e) = queue
                    .change_visibility(receipt, worker.backoff(attempts))
                    .await
                {
                    tracing::warn!(message_id, error = %e, "could not shorten the retry delay");
                }
            }
            RecordResult::Processed {
                outcome: Outcome::Retry(reason),
                retry: true,
            }
        }
        outcome => RecordResult::Processed {
            outcome,
            retry: false,
        },
    }
}

/// End a dead-lettered task's document as FAIL, only if it is still running that
/// generation (a document that finished, or moved on, is left alone).
async fn end_dead_lettered(state: &AppState, task: &ParseTask) -> bool {
    let doc = state
        .docs
        .get_document(&task.tenant_id, &task.dataset_id, &task.document_id)
        .await;
    match doc {
        Ok(Some(d)) if d.generation == task.generation && d.run == RunStatus::Running => {
            pipeline::give_up(state, task, DEAD_LETTER_REASON).await;
            true
        }
        Ok(_) => false,
        Err(e) => {
            // The message stays in the dead-letter queue only if we fail the batch; a lost
            // FAIL is better than a poison loop, so log and move on.
            tracing::error!(document = %task.document_id, error = %e, "could not end a dead-lettered task");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_deadline_becomes_an_instant() {
        assert_eq!(deadline_of(0), None);
        let in_a_minute = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis() as u64
            + 60_000;
        let left = deadline_of(in_a_minute)
            .expect("deadline")
            .saturating_duration_since(std::time::Instant::now());
        assert!(left > Duration::from_secs(55) && left <= Duration::from_secs(60));
        // A deadline already past is now, not a panic.
        let past = deadline_of(1).expect("deadline");
        assert!(past <= std::time::Instant::now());
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let w = Worker {
            backoff_base: Duration::from_secs(30),
            ..Worker::default()
        };
        assert_eq!(w.backoff(1), Duration::from_secs(30));
        assert_eq!(w.backoff(2), Duration::from_secs(60));
        assert_eq!(w.backoff(3), Duration::from_secs(120));
        assert_eq!(w.backoff(40), Duration::from_secs(900));
    }

    #[test]
    fn the_receive_count_defaults_to_one() {
        let mut msg = SqsMessage::default();
        assert_eq!(receive_count(&msg), 1);
        msg.attributes
            .insert("ApproximateReceiveCount".into(), "3".into());
        assert_eq!(receive_count(&msg), 3);
    }
}
