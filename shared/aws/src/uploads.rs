//! Presigned uploads: how a client sends a file larger than a Lambda request can carry
//! (6 MB). The client asks for a URL, PUTs the bytes straight to S3 under
//! `datasets/{dataset_id}/{filename}`, and the S3 ingestion (`functions/s3-ingest`) turns
//! the object into a document of the dataset and queues its parse.

use std::time::Duration;

use lambdarag::services::documents::owned_dataset;
use lambdarag::{ApiError, AppState, RetCode};

use crate::s3::{S3BlobStore, MAX_PRESIGN};

/// Default lifetime of an upload URL.
pub const DEFAULT_EXPIRY: Duration = Duration::from_secs(3600);

pub use lambdarag::services::source::check_filename;

/// What both upload-URL routes read from their body: `name` (required) and `expires_in`
/// (seconds, default one hour).
pub fn presign_request(
    req: &serde_json::Map<String, serde_json::Value>,
) -> Result<(String, Duration), ApiError> {
    let name = req
        .get("name")
        .and_then(serde_json::Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::argument("`name` is required."))?;
    let expires_in = req
        .get("expires_in")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(DEFAULT_EXPIRY.as_secs());
    Ok((name.to_string(), Duration::from_secs(expires_in)))
}

fn check_expiry(expires: Duration) -> Result<(), ApiError> {
    if expires.is_zero() || expires > MAX_PRESIGN {
        return Err(ApiError::argument(
            "expires_in must be between 1 and 604800 seconds.",
        ));
    }
    Ok(())
}

/// A presigned PUT URL for uploading `filename` into the tenant's dataset, valid for
/// `expires` (capped at 7 days), signed with `store`'s bucket and credentials.
pub async fn presigned_upload_url_with(
    store: &S3BlobStore,
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    filename: &str,
    expires: Duration,
) -> Result<String, ApiError> {
    owned_dataset(state, tenant_id, dataset_id, || {
        ApiError::data(format!("You don't own the dataset {dataset_id}. "))
    })
    .await?;
    check_filename(filename)?;
    check_expiry(expires)?;
    Ok(store
        .presign_staging_put(dataset_id, filename, expires)
        .await?)
}

/// [`presigned_upload_url_with`] on this process's documents bucket (`LAMBDARAG_BUCKET`,
/// registered when the state was built from the environment). Outside AWS (the embedded
/// server) there is no bucket and the answer says so.
pub async fn presigned_upload_url(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    filename: &str,
    expires: Duration,
) -> Result<String, ApiError> {
    let Some(store) = crate::config::upload_store() else {
        return Err(ApiError::new(
            RetCode::OperatingError,
            "Presigned uploads need the AWS deployment (an S3 bucket); upload the file \
             through POST /api/v1/datasets/{dataset_id}/documents instead.",
        ));
    };
    presigned_upload_url_with(store, state, tenant_id, dataset_id, filename, expires).await
}

/// A presigned PUT URL for a file of the personal file manager, past API Gateway's payload
/// limit: the object lands under `files/{tenant_id}/{folder_id}/{filename}` and S3
/// ingestion stores it in that folder (renamed `name(n)` if the name is taken, as an
/// upload through `/file/upload` is). Returns the URL and the key.
pub async fn presigned_file_upload_url(
    state: &AppState,
    tenant_id: &str,
    parent_id: Option<&str>,
    filename: &str,
    expires: Duration,
) -> Result<(String, String), ApiError> {
    let Some(store) = crate::config::upload_store() else {
        return Err(ApiError::new(
            RetCode::OperatingError,
            "Presigned uploads need the AWS deployment (an S3 bucket); upload the file \
             through POST /api/v1/file/upload instead.",
        ));
    };
    let folder = lambdarag::services::files::upload_folder(state, tenant_id, parent_id)
        .await
        .map_err(|e| e.into_api(lambdarag::services::files::Gen::Pinned))?;
    // The file manager stores any type (unlike datasets); the name must fit one key segment.
    if filename.contains('/') || filename.contains('\\') {
        return Err(ApiError::argument(
            "`name` is one file name: folders are made with POST /api/v1/file/create.",
        ));
    }
    if filename.len() > lambdarag::services::documents::FILE_NAME_LIMIT {
        return Err(ApiError::argument("File name must be 255 bytes or less."));
    }
    check_expiry(expires)?;
    let key = S3BlobStore::file_staging_key(tenant_id, &folder.id, filename);
    Ok((store.presign_put(&key, expires).await?, key))
}

/// Replies past this many bytes do not fit a Lambda response (6 MB, and binary bodies
/// travel base64-encoded, a third larger): they are answered with a redirect instead.
pub const LARGEST_INLINE_REPLY: i64 = 4 << 20;

/// On the AWS deployment, a short-lived presigned GET URL for a tenant's blob of `size`
/// bytes too large to return inline, answered with the reply's own `Content-Type` (and
/// `Content-Disposition`); `None` when it fits (or outside AWS, where any size is served
/// inline).
pub async fn large_blob_url(
    tenant_id: &str,
    blob_key: &str,
    size: i64,
    content_type: &str,
    disposition: Option<&str>,
) -> Result<Option<String>, ApiError> {
    if size <= LARGEST_INLINE_REPLY {
        return Ok(None);
    }
    let Some(store) = crate::config::upload_store() else {
        return Ok(None);
    };
    Ok(Some(
        store
            .presign_blob_get(
                tenant_id,
                blob_key,
                content_type,
                disposition,
                Duration::from_secs(300),
            )
            .await?,
    ))
}
