//! The blob store on S3, and the staging area large uploads come in through.
//!
//! One bucket holds two areas:
//!
//! | prefix | what | written by |
//! |---|---|---|
//! | `tenants/{tenant_id}/{key}` | a tenant's original files (`BlobStore` keys) | the functions |
//! | `datasets/{dataset_id}/{filename}` | staged uploads, waiting for ingestion | clients, with a presigned PUT |
//!
//! Every blob key is prefixed with its tenant here, so one tenant's key can never name
//! another's object. A staged object notifies the ingest function (S3 → SQS → Lambda), which
//! turns it into a document under the tenant's prefix and deletes the staged copy.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use aws_sdk_s3::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use bytes::Bytes;

use lambdarag::ports::BlobStore;
use lambdarag::StoreError;

/// Where tenants' blobs live in the bucket.
pub const TENANTS_PREFIX: &str = "tenants/";
/// Where staged uploads land (`datasets/{dataset_id}/{filename}`).
pub const STAGING_PREFIX: &str = "datasets/";
/// Where presigned file-manager uploads land: `files/{tenant_id}/{folder_id}/{filename}`.
pub const FILE_STAGING_PREFIX: &str = "files/";

/// S3 caps both a ListObjectsV2 page and a DeleteObjects batch at 1000 keys.
const S3_MAX_KEYS: usize = 1000;

/// The longest a presigned upload URL may live (SigV4 query signing caps it at 7 days).
pub const MAX_PRESIGN: Duration = Duration::from_secs(7 * 24 * 3600);

/// A staged object as an S3 event names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedObject {
    pub bucket: String,
    /// The decoded key.
    pub key: String,
    /// The object's ETag as the event reported it (quotes stripped), if any.
    pub etag: Option<String>,
}

/// What reading a staged object found.
#[derive(Debug)]
pub enum Staged {
    Found(Bytes),
    /// The object is gone (ingested and deleted already, or removed by its uploader).
    Missing,
    /// The key now holds another object (re-uploaded): that upload has its own event.
    Replaced,
}

/// S3-backed blob store. Cheap to clone (the SDK client is reference-counted).
#[derive(Clone, Debug)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
    /// Keys per ListObjectsV2 page and per DeleteObjects batch (tests shrink it to
    /// exercise paging, which otherwise only starts at 1000 keys).
    page: usize,
}

impl S3BlobStore {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        S3BlobStore {
            client,
            bucket: bucket.into(),
            page: S3_MAX_KEYS,
        }
    }

    /// Cap list pages and delete batches at `keys` (1..=1000).
    pub fn with_page_size(mut self, keys: usize) -> Self {
        self.page = keys.clamp(1, S3_MAX_KEYS);
        self
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The object key of a tenant's blob key.
    pub fn object_key(tenant_id: &str, key: &str) -> Result<String, StoreError> {
        // A tenant id with a `/` (or an empty one) could reach into another tenant's prefix.
        if tenant_id.is_empty() || tenant_id.contains('/') {
            return Err(StoreError::Backend(format!(
                "invalid tenant id for the blob store: {tenant_id:?}"
            )));
        }
        Ok(format!("{TENANTS_PREFIX}{tenant_id}/{key}"))
    }

    /// The staging key a client uploads `filename` for `dataset_id` to.
    pub fn staging_key(dataset_id: &str, filename: &str) -> String {
        format!("{STAGING_PREFIX}{dataset_id}/{filename}")
    }

    fn err<E, R>(&self, op: &str, key: &str, e: SdkError<E, R>) -> StoreError
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        StoreError::Backend(format!(
            "S3 {op} s3://{}/{key} failed: {}",
            self.bucket,
            DisplayErrorContext(&e)
        ))
    }

    /// A presigned PUT URL for `datasets/{dataset_id}/{filename}`, valid for `expires`
    /// (at most 7 days). The caller checks that the tenant owns the dataset and that the
    /// name is acceptable; see [`crate::uploads::presigned_upload_url`].
    pub async fn presign_staging_put(
        &self,
        dataset_id: &str,
        filename: &str,
        expires: Duration,
    ) -> Result<String, StoreError> {
        self.presign_put(&Self::staging_key(dataset_id, filename), expires)
            .await
    }

    /// The staging key a client uploads `filename` into a folder of the file manager to.
    pub fn file_staging_key(tenant_id: &str, folder_id: &str, filename: &str) -> String {
        format!("{FILE_STAGING_PREFIX}{tenant_id}/{folder_id}/{filename}")
    }

    /// A presigned GET URL for a tenant's blob, answered with `content_type`: how a reply
    /// larger than a Lambda response can carry (6 MB) reaches the client.
    pub async fn presign_blob_get(
        &self,
        tenant_id: &str,
        key: &str,
        content_type: &str,
        disposition: Option<&str>,
        expires: Duration,
    ) -> Result<String, StoreError> {
        let key = Self::object_key(tenant_id, key)?;
        let conf = presign_config(expires)?;
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .response_content_type(content_type)
            .set_response_content_disposition(disposition.map(str::to_string))
            .presigned(conf)
            .await
            .map_err(|e| self.err("presign GetObject", &key, e))?;
        Ok(req.uri().to_string())
    }

    /// A presigned PUT URL for `key`, valid for `expires` (at most 7 days).
    pub async fn presign_put(&self, key: &str, expires: Duration) -> Result<String, StoreError> {
        let conf = presign_config(expires)?;
        let req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(conf)
            .await
            .map_err(|e| self.err("presign PutObject", key, e))?;
        Ok(req.uri().to_string())
    }

    /// Read a staged object, only if it is still the one the event announced (`If-Match`
    /// on the event's ETag).
    pub async fn read_staged(&self, obj: &StagedObject) -> Result<Staged, StoreError> {
        let sent = self
            .client
            .get_object()
            .bucket(&obj.bucket)
            .key(&obj.key)
            .set_if_match(obj.etag.as_ref().map(|e| format!("\"{e}\"")))
            .send()
            .await;
        match sent {
            Ok(out) => {
                let body = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| StoreError::Backend(format!("S3 read of {}: {e}", obj.key)))?;
                Ok(Staged::Found(body.into_bytes()))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                Ok(Staged::Missing)
            }
            Err(e) if e.code() == Some("PreconditionFailed") || status(&e) == Some(412) => {
                Ok(Staged::Replaced)
            }
            Err(e) => Err(self.err("GetObject", &obj.key, e)),
        }
    }

    /// The size of a staged object (None when it is gone), to refuse oversized files before
    /// reading them into memory.
    pub async fn staged_size(&self, obj: &StagedObject) -> Result<Option<i64>, StoreError> {
        match self
            .client
            .head_object()
            .bucket(&obj.bucket)
            .key(&obj.key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(out.content_length.unwrap_or(0))),
            Err(e) if status(&e) == Some(404) => Ok(None),
            Err(e) => Err(self.err("HeadObject", &obj.key, e)),
        }
    }

    /// Delete a staged object once ingested, only if it is still the one ingested: a
    /// re-upload to the same key in the meantime (another ETag) is kept for its own event.
    pub async fn delete_staged(&self, obj: &StagedObject) -> Result<(), StoreError> {
        let sent = self
            .client
            .delete_object()
            .bucket(&obj.bucket)
            .key(&obj.key)
            .set_if_match(obj.etag.as_ref().map(|e| format!("\"{e}\"")))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e) if status(&e) == Some(404) => Ok(()),
            Err(e) if e.code() == Some("PreconditionFailed") || status(&e) == Some(412) => Ok(()),
            Err(e) => Err(self.err("DeleteObject", &obj.key, e)),
        }
    }
}

/// The HTTP status of a failed request, if a response came back.
fn status<E>(e: &SdkError<E, HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, tenant_id: &str, key: &str, bytes: Bytes) -> Result<(), StoreError> {
        let object = Self::object_key(tenant_id, key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&object)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| self.err("PutObject", &object, e))?;
        Ok(())
    }

    async fn get(&self, tenant_id: &str, key: &str) -> Result<Option<Bytes>, StoreError> {
        let object = Self::object_key(tenant_id, key)?;
        let sent = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&object)
            .send()
            .await;
        match sent {
            Ok(out) => {
                let body = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| StoreError::Backend(format!("S3 read of {object}: {e}")))?;
                Ok(Some(body.into_bytes()))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(self.err("GetObject", &object, e)),
        }
    }

    async fn delete(&self, tenant_id: &str, key: &str) -> Result<(), StoreError> {
        // S3 answers 204 for a missing key too.
        let object = Self::object_key(tenant_id, key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(&object)
            .send()
            .await
            .map_err(|e| self.err("DeleteObject", &object, e))?;
        Ok(())
    }

    async fn delete_prefix(&self, tenant_id: &str, prefix: &str) -> Result<u64, StoreError> {
        let full = Self::object_key(tenant_id, prefix)?;
        let mut deleted = 0u64;
        // Each round lists one page and deletes it; the next page is listed after the
        // continuation token, which stays valid while earlier keys disappear.
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&full)
                .max_keys(self.page as i32)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| self.err("ListObjectsV2", &full, e))?;
            let keys: Vec<String> = page
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string))
                .collect();
            for batch in keys.chunks(self.page) {
                deleted += self.delete_batch(batch).await?;
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => return Ok(deleted),
            }
        }
    }

    /// HeadBucket: the bucket exists and the function may use it.
    async fn health(&self) -> Result<(), StoreError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|e| self.err("HeadBucket", "", e))?;
        Ok(())
    }
}

impl S3BlobStore {
    /// One DeleteObjects call; any per-key error fails the whole call (the caller may
    /// retry: deleting is idempotent).
    async fn delete_batch(&self, keys: &[String]) -> Result<u64, StoreError> {
        if keys.is_empty() {
            return Ok(0);
        }
        let objects = keys
            .iter()
            .map(|k| ObjectIdentifier::builder().key(k).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Backend(format!("invalid S3 delete request: {e}")))?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| StoreError::Backend(format!("invalid S3 delete request: {e}")))?;
        let out = self
            .client
            .delete_objects()
            .bucket(&self.bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| self.err("DeleteObjects", &keys[0], e))?;
        if let Some(first) = out.errors().first() {
            return Err(StoreError::Backend(format!(
                "S3 DeleteObjects in bucket {}: {} of {} keys failed, first {}: {} {}",
                self.bucket,
                out.errors().len(),
                keys.len(),
                first.key().unwrap_or("?"),
                first.code().unwrap_or("?"),
                first.message().unwrap_or("")
            )));
        }
        Ok(keys.len() as u64)
    }
}

/// A signing configuration valid for `expires`, capped at S3's 7 days.
fn presign_config(expires: Duration) -> Result<PresigningConfig, StoreError> {
    PresigningConfig::expires_in(expires.min(MAX_PRESIGN))
        .map_err(|e| StoreError::Backend(format!("invalid presign expiry: {e}")))
}
