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
    if expires.is_zero() || expires > MAX_PRESIGN {
        return Err(ApiError::argument(
            "expires_in must be between 1 and 604800 seconds.",
        ));
    }
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
