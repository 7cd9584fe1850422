//! The parse worker on the AWS adapters, in-process: DynamoDB, S3 and SQS on moto, an
//! in-memory chunk index (OpenSearch has no local server) and a deterministic embedder.
//! Documents are uploaded and parsed through the core rules; the parse task is received
//! from moto's queue and handed to the handler as the Lambda SQS event it would get, and
//! the messages the handler does not report as failed are deleted, as Lambda does.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use bytes::Bytes;
use serde_json::{json, Map, Value};

use fn_parse_worker::{handle_with, RecordResult, Worker, DEAD_LETTER_REASON};
use lambdarag::domain::{Dataset, Document, RunStatus};
use lambdarag::services::documents::{self, UploadFile};
use lambdarag::AppState;
use lambdarag_aws::config::{build_state, AwsSettings};
use lambdarag_aws::testing::{lambda_sqs_event, FakeEmbedders, MemoryIndex, Moto};
use lambdarag_aws::SqsTaskQueue;
use lambdarag_ingest::pipeline::Outcome;

struct Harness {
    moto: Moto,
    state: AppState,
    index: Arc<MemoryIndex>,
    embedders: FakeEmbedders,
    queue_url: String,
    queue_arn: String,
    tenant: String,
    dataset: Dataset,
}

impl Harness {
    async fn new(test: &str) -> Option<Harness> {
        let moto = Moto::start(test).await?;
        let dynamo = moto.table(test).await;
        let bucket = moto.bucket(test).await;
        let (queue_url, queue_arn) = moto.queue(test, 30, None).await;
        let settings = AwsSettings {
            table: dynamo.table().to_string(),
            bucket: Some(bucket),
            queue_url: Some(queue_url.clone()),
            opensearch: None,
        };
        let aws = build_state(&moto.conf, settings).expect("state");
        let index = Arc::new(MemoryIndex::new());
        let embedders = FakeEmbedders::default();
        let state = aws
            .app
            .with_index(index.clone())
            .with_embedders(Arc::new(embedders.clone()));
        let tenant = lambdarag::services::auth::create_tenant(state.meta.as_ref(), "acme")
            .await
            .expect("tenant");
        let fields = lambdarag::services::datasets::validate_create(
            json!({"name": "handbook"}).as_object().expect("object"),
        )
        .expect("fields");
        let dataset = lambdarag::services::datasets::create(&state, &tenant.id, fields)
            .await
            .expect("dataset");
        Some(Harness {
            moto,
            state,
            index,
            embedders,
            queue_url,
            queue_arn,
            tenant: tenant.id,
            dataset,
        })
    }

    async fn upload(&self, name: &str, text: &str) -> Document {
        let files = vec![UploadFile {
            name: name.into(),
            bytes: Bytes::from(text.to_string()),
        }];
        let mut docs = documents::upload(&self.state, &self.tenant, &self.dataset, files, 1 << 20)
            .await
            .expect("upload");
        docs.remove(0)
    }

    async fn parse(&self, doc_id: &str) {
        let mut req = Map::new();
        req.insert("document_ids".into(), json!([doc_id]));
        documents::parse(&self.state, &self.tenant, &self.dataset.id, &req)
            .await
            .expect("parse");
    }

    async fn doc(&self, id: &str) -> Document {
        self.state
            .docs
            .get_document(&self.tenant, &self.dataset.id, id)
            .await
            .expect("get")
            .expect("the document exists")
    }

    /// Receive what is visible on the parse queue as one Lambda event.
    async fn receive(&self) -> (SqsEvent, Value) {
        let msgs = self.moto.receive(&self.queue_url, 2, 30).await;
        let raw = lambda_sqs_event(&msgs, &self.queue_arn);
        (
            serde_json::from_value(raw.clone()).expect("an SQS event"),
            raw,
        )
    }

    /// Run one event through the handler and settle it like Lambda: delete every message
    /// not reported as failed.
    async fn deliver(
        &self,
        worker: &Worker,
        event: SqsEvent,
    ) -> (SqsBatchResponse, Vec<RecordResult>) {
        let records = event.records.clone();
        let (response, results) = handle_with(&self.state, worker, event).await;
        for r in records {
            let id = r.message_id.clone().unwrap_or_default();
            let failed = response
                .batch_item_failures
                .iter()
                .any(|f| f.item_identifier == id);
            if !failed {
                let _ = self
                    .moto
                    .sqs()
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(r.receipt_handle.unwrap_or_default())
                    .send()
                    .await;
            }
        }
        (response, results)
    }

    fn chunk_ids(&self, doc_id: &str) -> Vec<String> {
        self.index
            .document_chunks(&self.tenant, doc_id)
            .into_iter()
            .map(|c| c.id)
            .collect()
    }
}

fn long_text() -> String {
    (0..300)
        .map(|i| {
            format!(
                "Paragraph {i} explains how the team in office {i} handles expense reports, \
                 travel bookings and the weekly review meeting.\n\n"
            )
        })
        .collect()
}

#[tokio::test]
async fn a_queued_parse_ends_done_once_even_when_redelivered() {
    let Some(h) = Harness::new("worker-done").await else {
        return;
    };
    let worker = Worker::default();
    let doc = h.upload("handbook.txt", &long_text()).await;
    h.parse(&doc.id).await;
    assert_eq!(h.doc(&doc.id).await.run, RunStatus::Running);

    let (event, raw) = h.receive().await;
    assert_eq!(
        event.records.len(),
        1,
        "parse queued exactly one SQS message"
    );
    assert_eq!(
        raw["Records"][0]["attributes"]["ApproximateReceiveCount"],
        json!("1")
    );
    let (response, results) = h.deliver(&worker, event.clone()).await;
    assert!(response.batch_item_failures.is_empty());
    let done = h.doc(&doc.id).await;
    assert_eq!(done.run, RunStatus::Done, "{}", done.progress_msg);
    assert_eq!(done.progress, 1.0);
    let first = h.chunk_ids(&doc.id);
    assert!(first.len() > 1, "a long text makes several chunks");
    assert_eq!(
        results,
        vec![RecordResult::Processed {
            outcome: Outcome::Done {
                chunks: first.len()
            },
            retry: false
        }]
    );
    assert_eq!(done.chunk_count, first.len() as i64);
    assert!(done.token_count > 0);
    let chunks = h.index.document_chunks(&h.tenant, &doc.id);
    assert!(chunks
        .iter()
        .all(|c| c.vector.len() == lambdarag_aws::testing::FAKE_DIM));
    assert!(chunks
        .iter()
        .all(|c| c.tenant_id == h.tenant && c.generation == 1));

    // SQS delivers at least once: the same message again changes nothing.
    let (response, results) = h.deliver(&worker, event.clone()).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        results,
        vec![RecordResult::Processed {
            outcome: Outcome::Stale,
            retry: false
        }]
    );
    assert_eq!(h.chunk_ids(&doc.id), first, "no duplicate chunks");
    assert_eq!(h.doc(&doc.id).await.chunk_count, first.len() as i64);

    // A re-parse: the old task, delivered late, is stale; the new one replaces the chunks.
    h.parse(&doc.id).await;
    let (response, _) = h.deliver(&worker, event).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(h.doc(&doc.id).await.run, RunStatus::Running);
    let (event2, _) = h.receive().await;
    assert_eq!(event2.records.len(), 1);
    h.deliver(&worker, event2).await;
    let again = h.doc(&doc.id).await;
    assert_eq!(again.run, RunStatus::Done);
    let chunks = h.index.document_chunks(&h.tenant, &doc.id);
    assert_eq!(
        chunks.len(),
        first.len(),
        "the re-parse replaced, not added"
    );
    assert!(chunks.iter().all(|c| c.generation == 2));
    assert!(
        h.moto.receive(&h.queue_url, 0, 30).await.is_empty(),
        "the queue is drained"
    );
}

#[tokio::test]
async fn a_missing_file_fails_the_document_at_once() {
    let Some(h) = Harness::new("worker-missing").await else {
        return;
    };
    let doc = h.upload("gone.txt", "short text").await;
    h.parse(&doc.id).await;
    h.state
        .blobs
        .delete(&h.tenant, &doc.location)
        .await
        .expect("delete the blob");
    let (event, _) = h.receive().await;
    let (response, results) = h.deliver(&Worker::default(), event).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "a permanent failure is not retried"
    );
    assert_eq!(
        results,
        vec![RecordResult::Processed {
            outcome: Outcome::Failed("The file is missing from storage.".into()),
            retry: false
        }]
    );
    let failed = h.doc(&doc.id).await;
    assert_eq!(failed.run, RunStatus::Fail);
    assert!(
        failed
            .progress_msg
            .contains("The file is missing from storage."),
        "{}",
        failed.progress_msg
    );
}

#[tokio::test]
async fn a_transient_failure_is_retried_then_given_up_at_the_last_attempt() {
    let Some(h) = Harness::new("worker-retry").await else {
        return;
    };
    h.embedders
        .embedder
        .fail_transiently
        .store(true, Ordering::SeqCst);
    let worker = Worker {
        queue: Some(SqsTaskQueue::new(h.moto.sqs(), &h.queue_url)),
        backoff_base: Duration::from_secs(1),
        ..Worker::default()
    };
    let doc = h.upload("flaky.txt", "some words to embed").await;
    h.parse(&doc.id).await;

    for attempt in 1..=3u32 {
        // Attempt n becomes visible again after the backoff the handler set (1 s, 2 s).
        let mut event = None;
        for _ in 0..10 {
            let (e, raw) = h.receive().await;
            if !e.records.is_empty() {
                assert_eq!(
                    raw["Records"][0]["attributes"]["ApproximateReceiveCount"],
                    json!(attempt.to_string()),
                    "SQS counts the receives"
                );
                event = Some(e);
                break;
            }
        }
        let event = event.expect("the message is redelivered after its backoff");
        let message_id = event.records[0].message_id.clone().unwrap_or_default();
        let (response, results) = h.deliver(&worker, event).await;
        if attempt < 3 {
            assert_eq!(
                response
                    .batch_item_failures
                    .iter()
                    .map(|f| f.item_identifier.clone())
                    .collect::<Vec<_>>(),
                vec![message_id],
                "attempt {attempt}: reported as a batch item failure, so SQS redelivers it"
            );
            assert!(matches!(
                &results[0],
                RecordResult::Processed {
                    outcome: Outcome::Retry(_),
                    retry: true
                }
            ));
            assert_eq!(h.doc(&doc.id).await.run, RunStatus::Running);
        } else {
            assert!(
                response.batch_item_failures.is_empty(),
                "the last attempt is settled"
            );
            assert!(
                matches!(&results[0], RecordResult::GaveUp(r) if r.contains("unreachable")),
                "{results:?}"
            );
        }
    }
    let failed = h.doc(&doc.id).await;
    assert_eq!(failed.run, RunStatus::Fail);
    assert!(
        failed.progress_msg.contains("Giving up after 3 attempts")
            && failed.progress_msg.contains("unreachable"),
        "the reason is on the document: {}",
        failed.progress_msg
    );
    assert!(h.index.document_chunks(&h.tenant, &doc.id).is_empty());
}

#[tokio::test]
async fn malformed_and_dead_lettered_records_end_cleanly() {
    let Some(h) = Harness::new("worker-odd").await else {
        return;
    };
    let dlq_arn = "arn:aws:sqs:us-east-1:123456789012:parse-dlq";
    let worker = Worker {
        dead_letter_arn: Some(dlq_arn.into()),
        ..Worker::default()
    };
    let malformed: SqsEvent = serde_json::from_value(json!({"Records": [{
        "messageId": "m1", "receiptHandle": "r1", "body": "{not json",
        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
        "eventSource": "aws:sqs", "eventSourceARN": h.queue_arn
    }]}))
    .expect("event");
    let (response, results) = handle_with(&h.state, &worker, malformed).await;
    assert!(response.batch_item_failures.is_empty(), "nothing to retry");
    assert!(matches!(&results[0], RecordResult::Malformed(_)));

    // A task that died on every attempt reaches the dead-letter queue: its document,
    // still RUNNING that generation, ends as FAIL.
    let doc = h.upload("stuck.txt", "text").await;
    h.parse(&doc.id).await;
    let (_, mut raw) = h.receive().await;
    raw["Records"][0]["eventSourceARN"] = json!(dlq_arn);
    let event: SqsEvent = serde_json::from_value(raw.clone()).expect("event");
    let (response, results) = handle_with(&h.state, &worker, event).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(results, vec![RecordResult::DeadLettered(true)]);
    let ended = h.doc(&doc.id).await;
    assert_eq!(ended.run, RunStatus::Fail);
    assert!(
        ended.progress_msg.contains(DEAD_LETTER_REASON),
        "{}",
        ended.progress_msg
    );

    // The same dead letter again, or one for a document that moved on, changes nothing.
    let event: SqsEvent = serde_json::from_value(raw).expect("event");
    let (_, results) = handle_with(&h.state, &worker, event).await;
    assert_eq!(results, vec![RecordResult::DeadLettered(false)]);
}

/// `events/parse-worker-sqs.json` (the sample for `cargo lambda invoke`) is an event the
/// handler runs as it is, once its placeholders name a real document.
#[tokio::test]
async fn the_sample_event_drives_the_handler() {
    let Some(h) = Harness::new("worker-sample").await else {
        return;
    };
    let doc = h
        .upload("sample.txt", "A sample document for the sample event.")
        .await;
    h.parse(&doc.id).await;
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/parse-worker-sqs.json");
    let raw = std::fs::read_to_string(&path).expect("the sample event");
    let raw = raw
        .replace("LAMBDARAG_TASK_ID", &lambdarag::contract::ids::new_id())
        .replace("LAMBDARAG_TENANT_ID", &h.tenant)
        .replace("LAMBDARAG_DATASET_ID", &h.dataset.id)
        .replace("LAMBDARAG_DOCUMENT_ID", &doc.id);
    let event: SqsEvent = serde_json::from_str(&raw).expect("an SQS event");
    let (response, results) = handle_with(&h.state, &Worker::default(), event).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(matches!(
        &results[0],
        RecordResult::Processed {
            outcome: Outcome::Done { .. },
            retry: false
        }
    ));
    assert_eq!(h.doc(&doc.id).await.run, RunStatus::Done);
}
