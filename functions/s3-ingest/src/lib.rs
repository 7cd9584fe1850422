//! S3 ingestion: files put under `datasets/{dataset_id}/{filename}` in the documents bucket
//! (typically with a presigned PUT, for files too large for a Lambda request) become
//! documents of that dataset, and their parse is queued.
//!
//! Events arrive as S3 notifications wrapped in SQS messages (the deployed path: S3 → SQS
//! → this function, with retries and a dead-letter queue), or as direct S3 events. For each
//! `ObjectCreated` record:
//!
//! 1. decode the key (URL-encoded, `+` = space) and split it into dataset and file name;
//! 2. find the dataset's tenant (`DynamoStore::find_dataset_owner`) and the dataset;
//! 3. claim the object version (bucket, key, sequencer) with a conditional marker item, so
//!    a redelivered event never creates a second document;
//! 4. read the object and create the document through `documents::upload` (the same name,
//!    size and type rules as the upload route; the bytes land under the tenant's prefix);
//! 5. queue its parse through `documents::parse`;
//! 6. delete the staged object (only if it is still the version ingested).
//!
//! The marker records each step (`claimed` → `created` → `queued`), so a redelivery after a
//! crash resumes where the first attempt stopped. Objects that can never become documents
//! (unknown dataset, unsupported type, too large) are logged and left for the bucket's
//! lifecycle rule to expire.

use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

mod claimed;
mod files;

use lambdarag::domain::Dataset;
use lambdarag::services::documents::{self, UploadFile};
use lambdarag::services::source::{check_filename, find_orphan, split_dataset_path};
use lambdarag::AppState;
use lambdarag_aws::config::AwsState;
use lambdarag_aws::dynamo::SourceKey;
use lambdarag_aws::s3::{S3BlobStore, Staged, StagedObject, STAGING_PREFIX};
use lambdarag_aws::DynamoStore;

/// The largest file ingested, in bytes (`LAMBDARAG_MAX_UPLOAD_BYTES`, default 1 GiB: the
/// upload route's limit).
pub const MAX_UPLOAD_ENV: &str = "LAMBDARAG_MAX_UPLOAD_BYTES";
pub const DEFAULT_MAX_UPLOAD: usize = 1 << 30;
/// How long a claim protects an attempt: longer than the function's timeout, so only a
/// dead attempt's claim is ever taken over.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(15 * 60);

/// What the handler works with.
#[derive(Clone)]
pub struct Ingest {
    pub state: AppState,
    pub dynamo: DynamoStore,
    /// The S3 client (any bucket named by an event is read through it).
    pub s3: S3BlobStore,
    pub max_file_bytes: usize,
    pub lease: Duration,
}

impl Ingest {
    /// From the function's AWS state; needs the bucket (and so documents) configured.
    pub fn from_state(aws: AwsState) -> Result<Self, String> {
        let s3 = aws.blobs.ok_or_else(|| {
            "LAMBDARAG_BUCKET is not set: the ingest function needs the documents bucket"
                .to_string()
        })?;
        let max = std::env::var(MAX_UPLOAD_ENV)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(DEFAULT_MAX_UPLOAD);
        Ok(Ingest {
            state: aws.app,
            dynamo: aws.dynamo,
            s3,
            max_file_bytes: max,
            lease: DEFAULT_LEASE,
        })
    }
}

/// What one object came to.
#[derive(Debug, Clone, PartialEq)]
pub enum ObjectResult {
    /// A new document, with its parse queued.
    Ingested { document_id: String },
    /// A repeat of an event already ingested.
    AlreadyIngested { document_id: String },
    /// Nothing to do, and nothing a retry could change.
    Skipped(String),
}

/// A failure worth retrying (storage or metadata trouble, a concurrent attempt).
#[derive(Debug, Clone, PartialEq)]
pub struct Transient(pub String);

impl std::fmt::Display for Transient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Transient {}

/// The parts of an S3 event record the ingestion reads (lenient: only what it needs).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Record {
    #[serde(default)]
    pub event_source: Option<String>,
    #[serde(default)]
    pub event_name: Option<String>,
    pub s3: S3Entity,
}

#[derive(Debug, Clone, Deserialize)]
pub struct S3Entity {
    pub bucket: S3Bucket,
    pub object: S3Object,
}

#[derive(Debug, Clone, Deserialize)]
pub struct S3Bucket {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Object {
    pub key: String,
    #[serde(default)]
    pub size: Option<i64>,
    #[serde(default)]
    pub e_tag: Option<String>,
    #[serde(default)]
    pub sequencer: Option<String>,
    #[serde(default)]
    pub version_id: Option<String>,
}

/// An S3 notification: `{"Records": [...]}`, or S3's `s3:TestEvent` (no records).
#[derive(Debug, Clone, Deserialize)]
pub struct S3Notification {
    #[serde(rename = "Records", default)]
    pub records: Vec<S3Record>,
    #[serde(rename = "Event", default)]
    pub event: Option<String>,
}

/// An S3 event key as a plain key: `+` is a space, then percent-decoding.
pub fn decode_key(raw: &str) -> String {
    let plus = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8_lossy()
        .into_owned()
}

/// `datasets/{dataset_id}/{filename}` → (dataset id, file name). Deeper keys use their
/// last segment as the name (the watched folder of the embedded server maps paths alike).
pub fn parse_staging_key(key: &str) -> Option<(String, String)> {
    split_dataset_path(key.strip_prefix(STAGING_PREFIX)?)
}

/// Handle an SQS batch of S3 notifications: a message whose records all ended (ingested,
/// repeated or skipped) is done; one with a transient failure is reported for redelivery.
pub async fn handle_sqs(ingest: &Ingest, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for msg in &event.records {
        let message_id = msg.message_id.clone().unwrap_or_default();
        let body = msg.body.as_deref().unwrap_or_default();
        let note: S3Notification = match serde_json::from_str(body) {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(message_id, error = %e, "dropping an SQS message that is not an S3 notification");
                continue;
            }
        };
        if let Err(e) = handle_notification(ingest, &note).await {
            tracing::warn!(message_id, error = %e, "ingestion will be retried");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// Handle one S3 notification (direct S3 event or an SQS message's body). An error means
/// some record should be retried (the others are idempotent, so retrying all is safe).
pub async fn handle_notification(
    ingest: &Ingest,
    note: &S3Notification,
) -> Result<Vec<ObjectResult>, Transient> {
    if note.event.as_deref() == Some("s3:TestEvent") {
        tracing::info!("skipping S3's test event");
        return Ok(vec![]);
    }
    let mut results = vec![];
    let mut failed = None;
    for record in &note.records {
        match ingest_record(ingest, record).await {
            Ok(r) => {
                tracing::info!(key = %record.s3.object.key, result = ?r, "S3 object handled");
                results.push(r);
            }
            Err(e) => failed = Some(e),
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(results),
    }
}

/// The Lambda entry: an SQS event (`{"Records": [{"eventSource": "aws:sqs", ...}]}`) gets a
/// batch response; a direct S3 event gets `null`, or an error to have Lambda retry it.
pub async fn handle_event(ingest: &Ingest, event: Value) -> Result<Value, Transient> {
    let source = event
        .pointer("/Records/0/eventSource")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if source == "aws:sqs" {
        let sqs: SqsEvent = serde_json::from_value(event)
            .map_err(|e| Transient(format!("an SQS event that does not parse: {e}")))?;
        let response = handle_sqs(ingest, sqs).await;
        return serde_json::to_value(response)
            .map_err(|e| Transient(format!("the batch response does not serialise: {e}")));
    }
    match serde_json::from_value::<S3Notification>(event) {
        Ok(note) => handle_notification(ingest, &note)
            .await
            .map(|_| Value::Null),
        Err(e) => {
            tracing::error!(error = %e, "ignoring an event that is neither SQS nor S3");
            Ok(Value::Null)
        }
    }
}

pub(crate) fn transient(e: impl std::fmt::Display) -> Transient {
    Transient(e.to_string())
}

/// Ingest the object one S3 record names.
pub async fn ingest_record(ingest: &Ingest, record: &S3Record) -> Result<ObjectResult, Transient> {
    if record
        .event_source
        .as_deref()
        .is_some_and(|s| s != "aws:s3")
    {
        return Ok(ObjectResult::Skipped("not an S3 record".into()));
    }
    if !record
        .event_name
        .as_deref()
        .is_some_and(|n| n.starts_with("ObjectCreated"))
    {
        return Ok(ObjectResult::Skipped(format!(
            "event {} is not an object creation",
            record.event_name.as_deref().unwrap_or("?")
        )));
    }
    let object = &record.s3.object;
    let key = decode_key(&object.key);
    let file_key = files::parse_file_key(&key);
    let staging = parse_staging_key(&key);
    if file_key.is_none() && staging.is_none() {
        return Ok(ObjectResult::Skipped(format!(
            "{key} is neither a datasets/{{dataset_id}}/{{filename}} nor a \
             files/{{tenant_id}}/{{folder_id}}/{{filename}} key"
        )));
    }
    let etag = object
        .e_tag
        .as_deref()
        .map(|e| e.trim_matches('"').to_string())
        .filter(|e| !e.is_empty());
    let staged = StagedObject {
        bucket: record.s3.bucket.name.clone(),
        key: key.clone(),
        etag: etag.clone(),
    };
    let token = object
        .sequencer
        .clone()
        .or_else(|| object.version_id.clone())
        .or(etag)
        .unwrap_or_else(|| "unversioned".into());
    let source = SourceKey {
        bucket: staged.bucket.clone(),
        key,
        token,
    };
    if let Some(file) = file_key {
        // Boxed: the two paths in one future would nest past the compiler's layout depth.
        return Box::pin(files::ingest_file(
            ingest,
            &staged,
            &source,
            file,
            object.size,
        ))
        .await;
    }
    let Some((dataset_id, filename)) = staging else {
        return Ok(ObjectResult::Skipped(format!(
            "{} is not a staging key",
            source.key
        )));
    };

    let Some(tenant_id) = ingest
        .dynamo
        .find_dataset_owner(&dataset_id)
        .await
        .map_err(transient)?
    else {
        tracing::warn!(dataset_id, "an upload names a dataset that does not exist");
        return Ok(ObjectResult::Skipped(format!(
            "dataset {dataset_id} does not exist"
        )));
    };
    let Some(dataset) = ingest
        .state
        .meta
        .get_dataset(&tenant_id, &dataset_id)
        .await
        .map_err(transient)?
    else {
        return Ok(ObjectResult::Skipped(format!(
            "dataset {dataset_id} was deleted"
        )));
    };

    let owner = claimed::Owner {
        tenant_id: &tenant_id,
        dataset_id: Some(&dataset_id),
    };
    claimed::ingest_claimed(ingest, &staged, &source, owner, |taken_over| {
        create_document(
            ingest,
            &tenant_id,
            &dataset,
            &staged,
            &filename,
            object.size,
            taken_over,
        )
    })
    .await
}

/// Read the staged object and create its document; its id. `Ok(Err(_))`: the object cannot
/// become a document (a retry would not help).
async fn create_document(
    ingest: &Ingest,
    tenant_id: &str,
    dataset: &Dataset,
    staged: &StagedObject,
    filename: &str,
    event_size: Option<i64>,
    taken_over: Option<i64>,
) -> Result<claimed::Created, Transient> {
    if let Err(e) = check_filename(filename) {
        tracing::warn!(key = %staged.key, reason = %e.message, "refusing an upload");
        return Ok(Err(ObjectResult::Skipped(e.message)));
    }
    let size = match event_size {
        Some(s) => s,
        None => match ingest.s3.staged_size(staged).await.map_err(transient)? {
            Some(s) => s,
            None => return Ok(Err(ObjectResult::Skipped("the object is gone".into()))),
        },
    };
    if usize::try_from(size).unwrap_or(usize::MAX) > ingest.max_file_bytes {
        let why = format!(
            "{filename}: File size exceeds the limit of {} bytes.",
            ingest.max_file_bytes
        );
        tracing::warn!(key = %staged.key, "{why}");
        return Ok(Err(ObjectResult::Skipped(why)));
    }
    // An attempt that died after creating the document but before recording it left the
    // document behind: adopt it rather than create a second one.
    if let Some(since) = taken_over {
        if let Some(doc) = find_orphan(&ingest.state, tenant_id, &dataset.id, filename, size, since)
            .await
            .map_err(transient)?
        {
            return Ok(Ok(doc.id));
        }
    }
    let bytes: Bytes = match ingest.s3.read_staged(staged).await.map_err(transient)? {
        Staged::Found(b) => b,
        Staged::Missing => return Ok(Err(ObjectResult::Skipped("the object is gone".into()))),
        Staged::Replaced => {
            return Ok(Err(ObjectResult::Skipped(
                "the key holds a newer upload (handled by its own event)".into(),
            )))
        }
    };
    let file = UploadFile {
        name: filename.to_string(),
        bytes,
    };
    let docs = documents::upload(
        &ingest.state,
        tenant_id,
        dataset,
        vec![file],
        ingest.max_file_bytes,
    )
    .await
    .map_err(|e| Transient(e.message))?;
    match docs.into_iter().next() {
        Some(doc) => Ok(Ok(doc.id)),
        None => Err(Transient("the upload created no document".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_decode_like_s3_encodes_them() {
        assert_eq!(
            decode_key("datasets%2Fabc%2Fmy+report+%282%29.pdf"),
            "datasets/abc/my report (2).pdf"
        );
        assert_eq!(decode_key("datasets/abc/a%2Bb.txt"), "datasets/abc/a+b.txt");
        assert_eq!(
            decode_key("datasets/abc/%E4%B8%AD%E6%96%87.txt"),
            "datasets/abc/中文.txt"
        );
    }

    #[test]
    fn staging_keys_split_into_dataset_and_name() {
        assert_eq!(
            parse_staging_key("datasets/d1/report.txt"),
            Some(("d1".into(), "report.txt".into()))
        );
        assert_eq!(
            parse_staging_key("datasets/d1/sub/report.txt"),
            Some(("d1".into(), "report.txt".into()))
        );
        assert_eq!(parse_staging_key("datasets/d1/"), None);
        assert_eq!(parse_staging_key("datasets//x.txt"), None);
        assert_eq!(parse_staging_key("tenants/t/d1/x"), None);
    }

    #[test]
    fn test_events_and_records_parse() {
        let test: S3Notification = serde_json::from_str(
            r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-01-01T00:00:00Z","Bucket":"b"}"#,
        )
        .expect("test event");
        assert_eq!(test.event.as_deref(), Some("s3:TestEvent"));
        assert!(test.records.is_empty());
        let rec: S3Notification = serde_json::from_str(
            r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put",
                "s3":{"bucket":{"name":"b","arn":"arn:aws:s3:::b"},
                      "object":{"key":"datasets%2Fd%2Fa.txt","size":7,"eTag":"abc","sequencer":"0055"}}}]}"#,
        )
        .expect("record");
        assert_eq!(rec.records[0].s3.object.key, "datasets%2Fd%2Fa.txt");
        assert_eq!(rec.records[0].s3.object.sequencer.as_deref(), Some("0055"));
    }
}
