//! S3 ingestion on moto, end to end: a file put under `datasets/{id}/` makes moto post an
//! S3 notification to an SQS queue; the message goes to the ingest handler as the Lambda
//! SQS event it would be; the document appears and its parse task is queued; that task
//! goes through the parse worker and the document ends DONE. The chunk index is in memory
//! and the embedder deterministic (no OpenSearch or model download here).

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
    QueueConfiguration, S3KeyFilter,
};
use bytes::Bytes;
use serde_json::{json, Value};

use fn_s3_ingest::{handle_event, Ingest, ObjectResult, S3Notification};
use lambdarag::contract::time::now_ms;
use lambdarag::domain::{Dataset, Document, DocumentListQuery, RunStatus};
use lambdarag::services::documents::UploadFile;
use lambdarag::AppState;
use lambdarag_aws::config::{build_state, AwsSettings};
use lambdarag_aws::dynamo::{Claim, SourceKey};
use lambdarag_aws::testing::{lambda_sqs_event, FakeEmbedders, MemoryIndex, Moto};
use lambdarag_aws::uploads::presigned_upload_url_with;

struct Harness {
    moto: Moto,
    ingest: Ingest,
    state: AppState,
    index: Arc<MemoryIndex>,
    bucket: String,
    ingest_url: String,
    ingest_arn: String,
    parse_url: String,
    parse_arn: String,
    tenant: String,
    dataset: Dataset,
}

impl Harness {
    async fn new(test: &str) -> Option<Harness> {
        let moto = Moto::start(test).await?;
        let dynamo = moto.table(test).await;
        let bucket = moto.bucket(test).await;
        let (parse_url, parse_arn) = moto.queue(&format!("{test}-parse"), 30, None).await;
        let (ingest_url, ingest_arn) = moto.queue(&format!("{test}-ingest"), 30, None).await;
        let notify = NotificationConfiguration::builder()
            .queue_configurations(
                QueueConfiguration::builder()
                    .queue_arn(&ingest_arn)
                    .events(Event::from("s3:ObjectCreated:*"))
                    .filter(
                        NotificationConfigurationFilter::builder()
                            .key(
                                S3KeyFilter::builder()
                                    .filter_rules(
                                        FilterRule::builder()
                                            .name(FilterRuleName::Prefix)
                                            .value("datasets/")
                                            .build(),
                                    )
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
                    .expect("queue configuration"),
            )
            .build();
        moto.s3()
            .put_bucket_notification_configuration()
            .bucket(&bucket)
            .notification_configuration(notify)
            .send()
            .await
            .expect("bucket notification");
        let settings = AwsSettings {
            table: dynamo.table().to_string(),
            bucket: Some(bucket.clone()),
            queue_url: Some(parse_url.clone()),
            opensearch: None,
        };
        let mut aws = build_state(&moto.conf, settings).expect("state");
        let index = Arc::new(MemoryIndex::new());
        aws.app = aws
            .app
            .with_index(index.clone())
            .with_embedders(Arc::new(FakeEmbedders::default()));
        let state = aws.app.clone();
        let ingest = Ingest::from_state(aws).expect("ingest");
        let tenant = lambdarag::services::auth::create_tenant(state.meta.as_ref(), "acme")
            .await
            .expect("tenant");
        let fields = lambdarag::services::datasets::validate_create(
            json!({"name": "reports"}).as_object().expect("object"),
        )
        .expect("fields");
        let dataset = lambdarag::services::datasets::create(&state, &tenant.id, fields)
            .await
            .expect("dataset");
        Some(Harness {
            moto,
            ingest,
            state,
            index,
            bucket,
            ingest_url,
            ingest_arn,
            parse_url,
            parse_arn,
            tenant: tenant.id,
            dataset,
        })
    }

    async fn put(&self, key: &str, body: &str) {
        self.moto
            .s3()
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(Bytes::from(body.to_string()).into())
            .send()
            .await
            .expect("put");
    }

    async fn exists(&self, key: &str) -> bool {
        self.moto
            .s3()
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .is_ok()
    }

    /// The next notification(s) on the ingest queue, as the Lambda SQS event.
    async fn notifications(&self) -> Value {
        let msgs = self.moto.receive(&self.ingest_url, 3, 30).await;
        lambda_sqs_event(&msgs, &self.ingest_arn)
    }

    async fn documents(&self) -> Vec<Document> {
        self.state
            .docs
            .list_documents(&self.tenant, &self.dataset.id, &DocumentListQuery::all())
            .await
            .expect("list")
            .0
    }

    /// Run what the parse queue holds through the parse worker.
    async fn run_worker(&self) -> usize {
        let msgs = self.moto.receive(&self.parse_url, 2, 30).await;
        let n = msgs.len();
        let event =
            serde_json::from_value(lambda_sqs_event(&msgs, &self.parse_arn)).expect("an SQS event");
        let response = fn_parse_worker::handle(&self.state, event).await;
        assert!(response.batch_item_failures.is_empty());
        for m in msgs {
            let _ = self
                .moto
                .sqs()
                .delete_message()
                .queue_url(&self.parse_url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await;
        }
        n
    }
}

fn no_failures(reply: &Value) {
    assert_eq!(
        reply["batchItemFailures"],
        json!([]),
        "no message is reported as failed: {reply}"
    );
}

#[tokio::test]
async fn an_s3_upload_becomes_a_parsed_document_exactly_once() {
    let Some(h) = Harness::new("ingest-e2e").await else {
        return;
    };
    // S3 (and moto) first posts a test event when the notification is configured.
    let test_event = h.notifications().await;
    assert!(
        test_event["Records"][0]["body"]
            .as_str()
            .is_some_and(|b| b.contains("s3:TestEvent")),
        "{test_event}"
    );
    no_failures(
        &handle_event(&h.ingest, test_event)
            .await
            .expect("test event"),
    );
    assert!(h.documents().await.is_empty());

    let key = format!("datasets/{}/Q3 report+notes.txt", h.dataset.id);
    let text = "Revenue grew in the third quarter.\n\nCosts stayed flat across all regions.";
    h.put(&key, text).await;
    let event = h.notifications().await;
    assert_eq!(event["Records"].as_array().map(Vec::len), Some(1));
    let body: Value = serde_json::from_str(event["Records"][0]["body"].as_str().expect("body"))
        .expect("an S3 notification");
    assert_ne!(
        body["Records"][0]["s3"]["object"]["key"].as_str(),
        Some(key.as_str()),
        "the key arrives URL-encoded"
    );
    no_failures(
        &handle_event(&h.ingest, event.clone())
            .await
            .expect("ingest"),
    );

    let docs = h.documents().await;
    assert_eq!(docs.len(), 1, "one document");
    let doc = &docs[0];
    assert_eq!(doc.name, "Q3 report+notes.txt", "the decoded file name");
    assert_eq!(doc.size, text.len() as i64);
    assert_eq!(doc.run, RunStatus::Running, "its parse is queued");
    assert_eq!(doc.location, format!("{}/{}", h.dataset.id, doc.id));
    assert!(
        h.exists(&format!("tenants/{}/{}", h.tenant, doc.location))
            .await,
        "the bytes live under the tenant's prefix"
    );
    assert!(!h.exists(&key).await, "the staged object is deleted");

    // Redelivered: nothing new.
    let note: S3Notification =
        serde_json::from_str(event["Records"][0]["body"].as_str().expect("body")).expect("note");
    let results = fn_s3_ingest::handle_notification(&h.ingest, &note)
        .await
        .expect("again");
    assert_eq!(
        results,
        vec![ObjectResult::AlreadyIngested {
            document_id: doc.id.clone()
        }]
    );
    no_failures(&handle_event(&h.ingest, event).await.expect("again"));
    assert_eq!(h.documents().await.len(), 1, "no second document");

    assert_eq!(h.run_worker().await, 1, "exactly one parse task was queued");
    let parsed = h
        .state
        .docs
        .get_document(&h.tenant, &h.dataset.id, &doc.id)
        .await
        .expect("get")
        .expect("doc");
    assert_eq!(parsed.run, RunStatus::Done, "{}", parsed.progress_msg);
    assert!(parsed.chunk_count >= 1);
    assert_eq!(
        h.index.document_chunks(&h.tenant, &doc.id).len() as i64,
        parsed.chunk_count
    );
    assert_eq!(h.run_worker().await, 0, "no second parse task");
}

#[tokio::test]
async fn a_presigned_put_comes_in_through_the_same_path() {
    let Some(h) = Harness::new("ingest-presigned").await else {
        return;
    };
    let _ = h.notifications().await; // the test event
    let url = presigned_upload_url_with(
        &h.ingest.s3,
        &h.state,
        &h.tenant,
        &h.dataset.id,
        "Big notes.md",
        Duration::from_secs(300),
    )
    .await
    .expect("presigned URL");
    let put = reqwest::Client::new()
        .put(&url)
        .body("# Notes\n\nA large file, uploaded straight to S3.")
        .send()
        .await
        .expect("PUT");
    assert!(put.status().is_success(), "{}", put.status());
    let event = h.notifications().await;
    no_failures(&handle_event(&h.ingest, event).await.expect("ingest"));
    let docs = h.documents().await;
    assert_eq!(
        docs.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
        vec!["Big notes.md"]
    );
    assert_eq!(h.run_worker().await, 1);

    // The URL is only handed out for the tenant's own dataset and a supported file type.
    let other = lambdarag::services::auth::create_tenant(h.state.meta.as_ref(), "other")
        .await
        .expect("tenant");
    let refused = presigned_upload_url_with(
        &h.ingest.s3,
        &h.state,
        &other.id,
        &h.dataset.id,
        "x.txt",
        Duration::from_secs(60),
    )
    .await
    .expect_err("not the owner");
    assert!(
        refused.message.contains("You don't own the dataset"),
        "{}",
        refused.message
    );
    for (name, why) in [
        ("tool.exe", "This type of file has not been supported yet!"),
        ("a/b.txt", "must not contain '/'"),
        ("", "can't be empty"),
    ] {
        let e = presigned_upload_url_with(
            &h.ingest.s3,
            &h.state,
            &h.tenant,
            &h.dataset.id,
            name,
            Duration::from_secs(60),
        )
        .await
        .expect_err("refused");
        assert!(e.message.contains(why), "{name}: {}", e.message);
    }
}

#[tokio::test]
async fn objects_that_cannot_become_documents_are_skipped() {
    let Some(h) = Harness::new("ingest-skip").await else {
        return;
    };
    let _ = h.notifications().await; // the test event
    let unknown = "datasets/0123456789abcdef0123456789abcdef/a.txt".to_string();
    let unsupported = format!("datasets/{}/tool.exe", h.dataset.id);
    h.put(&unknown, "x").await;
    h.put(&unsupported, "x").await;
    let mut seen = 0;
    for _ in 0..5 {
        let event = h.notifications().await;
        let n = event["Records"].as_array().map_or(0, Vec::len);
        if n == 0 {
            break;
        }
        seen += n;
        no_failures(&handle_event(&h.ingest, event).await.expect("ingest"));
    }
    assert_eq!(seen, 2);
    assert!(h.documents().await.is_empty());
    assert!(
        h.exists(&unknown).await && h.exists(&unsupported).await,
        "refused objects stay for the lifecycle rule"
    );
    assert_eq!(h.run_worker().await, 0);

    // A direct S3 event (no SQS around it) for an object outside datasets/ is ignored.
    let direct = json!({"Records": [{
        "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": h.bucket}, "object": {"key": "tenants/x/y", "size": 1}}
    }]});
    assert_eq!(
        handle_event(&h.ingest, direct).await.expect("direct"),
        Value::Null
    );
}

#[tokio::test]
async fn a_crashed_attempt_is_resumed_without_a_second_document() {
    let Some(h) = Harness::new("ingest-resume").await else {
        return;
    };
    let _ = h.notifications().await; // the test event

    // 1. The first attempt died after creating the document, before recording it: the
    //    next attempt (after the lease) adopts that document.
    let key = format!("datasets/{}/crash.txt", h.dataset.id);
    h.put(&key, "crash test body").await;
    let event = h.notifications().await;
    let note: S3Notification =
        serde_json::from_str(event["Records"][0]["body"].as_str().expect("body")).expect("note");
    let object = &note.records[0].s3.object;
    let source = SourceKey {
        bucket: h.bucket.clone(),
        key: key.clone(),
        token: object
            .sequencer
            .clone()
            .or_else(|| {
                object
                    .e_tag
                    .clone()
                    .map(|e| e.trim_matches('"').to_string())
            })
            .expect("a sequencer or an ETag"),
    };
    let long_ago = now_ms() - 3_600_000;
    assert!(matches!(
        h.ingest
            .dynamo
            .claim_source(&source, long_ago, Duration::from_secs(900))
            .await
            .expect("claim"),
        Claim::Acquired { .. }
    ));
    let orphan = lambdarag::services::documents::upload(
        &h.state,
        &h.tenant,
        &h.dataset,
        vec![UploadFile {
            name: "crash.txt".into(),
            bytes: Bytes::from_static(b"crash test body"),
        }],
        1 << 20,
    )
    .await
    .expect("the dead attempt's upload")
    .remove(0);
    let resumed = fn_s3_ingest::handle_notification(&h.ingest, &note).await;
    assert!(
        resumed.is_ok(),
        "the dead attempt's claim is old: it is taken over"
    );
    let docs = h.documents().await;
    assert_eq!(
        docs.iter().map(|d| d.id.clone()).collect::<Vec<_>>(),
        vec![orphan.id.clone()],
        "the orphan is adopted, not duplicated"
    );
    assert_eq!(docs[0].run, RunStatus::Running, "and its parse queued");
    assert!(!h.exists(&key).await);

    // 2. A live claim held by another attempt: this delivery is retried later.
    let key2 = format!("datasets/{}/busy.txt", h.dataset.id);
    h.put(&key2, "busy").await;
    let event2 = h.notifications().await;
    let note2: S3Notification =
        serde_json::from_str(event2["Records"][0]["body"].as_str().expect("body")).expect("note");
    let object2 = &note2.records[0].s3.object;
    let source2 = SourceKey {
        bucket: h.bucket.clone(),
        key: key2.clone(),
        token: object2
            .sequencer
            .clone()
            .or_else(|| {
                object2
                    .e_tag
                    .clone()
                    .map(|e| e.trim_matches('"').to_string())
            })
            .expect("token"),
    };
    h.ingest
        .dynamo
        .claim_source(&source2, now_ms(), Duration::from_secs(900))
        .await
        .expect("claim");
    let reply = handle_event(&h.ingest, event2).await.expect("ingest");
    assert_eq!(
        reply["batchItemFailures"].as_array().map(Vec::len),
        Some(1),
        "reported for redelivery: {reply}"
    );
    assert_eq!(h.documents().await.len(), 1);
    assert!(h.exists(&key2).await);
    assert_eq!(h.run_worker().await, 1, "only the adopted document's parse");
}

#[tokio::test]
async fn the_owner_of_a_dataset_is_found_by_its_id() {
    let Some(h) = Harness::new("ingest-owner").await else {
        return;
    };
    assert_eq!(
        h.ingest
            .dynamo
            .find_dataset_owner(&h.dataset.id)
            .await
            .expect("owner"),
        Some(h.tenant.clone())
    );
    assert_eq!(
        h.ingest
            .dynamo
            .find_dataset_owner("0123456789abcdef0123456789abcdef")
            .await
            .expect("owner"),
        None
    );
    // A renamed dataset keeps its owner entry; a deleted one loses it.
    let mut renamed = h.dataset.clone();
    renamed.name = "renamed".into();
    h.state.meta.update_dataset(&renamed).await.expect("rename");
    assert_eq!(
        h.ingest
            .dynamo
            .find_dataset_owner(&h.dataset.id)
            .await
            .expect("owner"),
        Some(h.tenant.clone())
    );
    h.state
        .meta
        .delete_dataset(&h.tenant, &h.dataset.id)
        .await
        .expect("delete");
    assert_eq!(
        h.ingest
            .dynamo
            .find_dataset_owner(&h.dataset.id)
            .await
            .expect("owner"),
        None
    );
}

fn sample(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The sample events in `events/` (for `cargo lambda invoke`) drive the handler as they
/// are, once their bucket, dataset and ETag name real ones.
#[tokio::test]
async fn the_sample_events_drive_the_handler() {
    let Some(h) = Harness::new("ingest-samples").await else {
        return;
    };
    let reply = handle_event(
        &h.ingest,
        serde_json::from_str(&sample("s3-ingest-test-event.json")).expect("json"),
    )
    .await
    .expect("test event");
    no_failures(&reply);

    let etag_of = |out: aws_sdk_s3::operation::put_object::PutObjectOutput| {
        out.e_tag()
            .unwrap_or_default()
            .trim_matches('"')
            .to_string()
    };
    let key = format!("datasets/{}/Q3 report (2024).txt", h.dataset.id);
    let put = h
        .moto
        .s3()
        .put_object()
        .bucket(&h.bucket)
        .key(&key)
        .body(Bytes::from_static(b"Quarterly numbers.").into())
        .send()
        .await
        .expect("put");
    let event = sample("s3-ingest-sqs.json")
        .replace("lambdarag-documents", &h.bucket)
        .replace("LAMBDARAG_DATASET_ID", &h.dataset.id)
        .replace("d41d8cd98f00b204e9800998ecf8427e", &etag_of(put));
    no_failures(
        &handle_event(&h.ingest, serde_json::from_str(&event).expect("json"))
            .await
            .expect("ingest"),
    );

    let key = format!("datasets/{}/annual report.pdf", h.dataset.id);
    let put = h
        .moto
        .s3()
        .put_object()
        .bucket(&h.bucket)
        .key(&key)
        .body(Bytes::from_static(b"%PDF-1.4 not really").into())
        .send()
        .await
        .expect("put");
    let event = sample("s3-ingest-s3.json")
        .replace("lambdarag-documents", &h.bucket)
        .replace("LAMBDARAG_DATASET_ID", &h.dataset.id)
        .replace("9b2cf535f27731c974343645a3985328-14", &etag_of(put));
    assert_eq!(
        handle_event(&h.ingest, serde_json::from_str(&event).expect("json"))
            .await
            .expect("direct S3 event"),
        Value::Null
    );

    let mut names: Vec<String> = h.documents().await.into_iter().map(|d| d.name).collect();
    names.sort();
    assert_eq!(names, vec!["Q3 report (2024).txt", "annual report.pdf"]);
}
