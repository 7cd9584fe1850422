//! Presigned file-manager uploads: an object under `files/{tenant_id}/{folder_id}/{filename}`
//! becomes a file of that folder, with the same claim as dataset uploads so a redelivered
//! event stores it once.

use lambdarag::services::documents::UploadFile;
use lambdarag::services::files::{self, FileError};
use lambdarag_aws::dynamo::SourceKey;
use lambdarag_aws::s3::{Staged, StagedObject, FILE_STAGING_PREFIX};

use crate::claimed::{ingest_claimed, Created, Owner};
use crate::{transient, Ingest, ObjectResult, Transient};

/// `files/{tenant_id}/{folder_id}/{filename}` → (tenant, folder, file name).
pub fn parse_file_key(key: &str) -> Option<(String, String, String)> {
    let rest = key.strip_prefix(FILE_STAGING_PREFIX)?;
    let mut parts = rest.splitn(3, '/');
    let (tenant, folder, name) = (parts.next()?, parts.next()?, parts.next()?);
    if tenant.is_empty() || folder.is_empty() || name.is_empty() || name.contains('/') {
        return None;
    }
    Some((tenant.to_string(), folder.to_string(), name.to_string()))
}

/// Store the staged object as a file of `folder_id`, once.
pub(crate) async fn ingest_file(
    ingest: &Ingest,
    staged: &StagedObject,
    source: &SourceKey,
    (tenant_id, folder_id, filename): (String, String, String),
    event_size: Option<i64>,
) -> Result<ObjectResult, Transient> {
    let owner = Owner {
        tenant_id: &tenant_id,
        dataset_id: None,
    };
    ingest_claimed(ingest, staged, source, owner, |taken_over| {
        store_file(
            ingest, staged, &tenant_id, &folder_id, &filename, event_size, taken_over,
        )
    })
    .await
}

/// Read the staged object and store it in the folder; `Ok(Err(_))`: it cannot become a
/// file (the folder is gone, the object too large or gone), and a retry would not help.
async fn store_file(
    ingest: &Ingest,
    staged: &StagedObject,
    tenant_id: &str,
    folder_id: &str,
    filename: &str,
    event_size: Option<i64>,
    taken_over: Option<i64>,
) -> Result<Created, Transient> {
    if let Some(size) = event_size {
        if usize::try_from(size).unwrap_or(usize::MAX) > ingest.max_file_bytes {
            return Ok(Err(ObjectResult::Skipped(format!(
                "{filename}: File size exceeds the limit of {} bytes.",
                ingest.max_file_bytes
            ))));
        }
    }
    // An attempt that died after storing the file but before recording it left the file
    // behind: adopt it rather than store a second `name(1)`.
    if let Some(since) = taken_over {
        let existing = ingest
            .state
            .files
            .find_child(tenant_id, folder_id, filename)
            .await
            .map_err(transient)?;
        if let Some(f) = existing.filter(|f| f.create_time >= since) {
            return Ok(Ok(f.id));
        }
    }
    let bytes = match ingest.s3.read_staged(staged).await.map_err(transient)? {
        Staged::Found(b) => b,
        Staged::Missing => return Ok(Err(ObjectResult::Skipped("the object is gone".into()))),
        Staged::Replaced => {
            return Ok(Err(ObjectResult::Skipped(
                "the key holds a newer upload (handled by its own event)".into(),
            )))
        }
    };
    if bytes.len() > ingest.max_file_bytes {
        return Ok(Err(ObjectResult::Skipped(format!(
            "{filename}: File size exceeds the limit of {} bytes.",
            ingest.max_file_bytes
        ))));
    }
    let file = UploadFile {
        name: filename.to_string(),
        bytes,
    };
    match files::upload(&ingest.state, tenant_id, Some(folder_id), vec![file]).await {
        Ok(stored) => match stored.into_iter().next() {
            Some(f) => Ok(Ok(f.id)),
            None => Err(Transient("the upload stored no file".into())),
        },
        Err(FileError::NotFound(why)) | Err(FileError::BadRequest(why)) => {
            tracing::warn!(key = %staged.key, reason = %why, "refusing a file upload");
            Ok(Err(ObjectResult::Skipped(why)))
        }
        Err(e) => Err(Transient(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_keys_split_into_tenant_folder_and_name() {
        assert_eq!(
            parse_file_key("files/t1/f1/big video.mp4"),
            Some(("t1".into(), "f1".into(), "big video.mp4".into()))
        );
        assert_eq!(parse_file_key("files/t1/f1/sub/x.txt"), None);
        assert_eq!(parse_file_key("files/t1/f1/"), None);
        assert_eq!(parse_file_key("files/t1//x.txt"), None);
        assert_eq!(parse_file_key("datasets/d/x.txt"), None);
    }
}
