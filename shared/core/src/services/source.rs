//! Files that arrive outside the upload route becoming documents: objects staged in the
//! AWS deployment's bucket (`functions/s3-ingest`) and files dropped into the embedded
//! server's watched folder. Both feed `documents::upload` and `documents::parse`; the rules
//! around them (which names are accepted, how a path names its dataset, how a retry finds
//! the document a dead attempt created, when a parse is still owed) live here once.

use serde_json::{json, Map};

use crate::contract::envelope::ApiError;
use crate::contract::error::StoreError;
use crate::domain::{Document, DocumentListQuery, RunStatus};
use crate::services::documents::{self, file_type, suffix_of, FILE_NAME_LIMIT};
use crate::state::AppState;

/// Check a file name the way an upload would (same rules as `documents::upload`), plus
/// what a key needs: no `/` (it would nest the key) and no control characters.
pub fn check_filename(filename: &str) -> Result<(), ApiError> {
    if filename.trim().is_empty() {
        return Err(ApiError::argument("File name can't be empty."));
    }
    if filename.len() > FILE_NAME_LIMIT {
        return Err(ApiError::argument("File name must be 255 bytes or less."));
    }
    if filename.contains('/') || filename.chars().any(char::is_control) {
        return Err(ApiError::argument(
            "File name must not contain '/' or control characters.",
        ));
    }
    if file_type(filename) == "other" {
        return Err(ApiError::data(
            "This type of file has not been supported yet!",
        ));
    }
    Ok(())
}

/// `{dataset}/{filename}` → (dataset, file name). Deeper paths use their last segment as
/// the name (`{dataset}/a/b/report.txt` → `report.txt`).
pub fn split_dataset_path(path: &str) -> Option<(String, String)> {
    let (dataset, rest) = path.split_once('/')?;
    let name = rest.rsplit('/').next()?;
    if dataset.is_empty() || name.trim().is_empty() {
        return None;
    }
    Some((dataset.to_string(), name.to_string()))
}

/// A document an earlier, dead attempt created for this file: same name (or its `(n)`
/// variant), same size, created at or after that attempt started (`since`, epoch ms).
pub async fn find_orphan(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    filename: &str,
    size: i64,
    since: i64,
) -> Result<Option<Document>, StoreError> {
    let (docs, _) = state
        .docs
        .list_documents(tenant_id, dataset_id, &DocumentListQuery::all())
        .await?;
    let stem = filename
        .strip_suffix(&format!(".{}", suffix_of(filename)))
        .unwrap_or(filename);
    Ok(docs.into_iter().find(|d| {
        d.create_time >= since
            && d.size == size
            && d.source_type == "local"
            && (d.name == filename || (d.name.starts_with(stem) && d.suffix == suffix_of(filename)))
    }))
}

/// Queue the document's parse unless an earlier attempt already did (a repeat after a crash
/// between creating the document and recording that its parse was queued).
pub async fn queue_parse_once(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    document_id: &str,
) -> Result<(), ApiError> {
    let Some(doc) = state
        .docs
        .get_document(tenant_id, dataset_id, document_id)
        .await?
    else {
        // Deleted by its owner meanwhile: nothing to parse.
        return Ok(());
    };
    // `parse` moves the generation before queueing; a parse that never started because
    // queueing failed is FAIL without a start time.
    let needs_parse =
        doc.generation == 0 || (doc.run == RunStatus::Fail && doc.process_begin_at.is_none());
    if !needs_parse {
        return Ok(());
    }
    let mut req = Map::new();
    req.insert("document_ids".into(), json!([document_id]));
    match documents::parse(state, tenant_id, dataset_id, &req).await {
        Ok(_) => Ok(()),
        // Already being processed, or deleted meanwhile: nothing more to do.
        Err(e)
            if e.message
                .starts_with("Can't parse document that is currently")
                || e.message.starts_with("Documents not found") =>
        {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_paths_split_into_dataset_and_name() {
        assert_eq!(
            split_dataset_path("d1/report.txt"),
            Some(("d1".into(), "report.txt".into()))
        );
        assert_eq!(
            split_dataset_path("d1/sub/report.txt"),
            Some(("d1".into(), "report.txt".into()))
        );
        assert_eq!(split_dataset_path("d1/"), None);
        assert_eq!(split_dataset_path("/x.txt"), None);
        assert_eq!(split_dataset_path("x.txt"), None);
    }

    #[test]
    fn filenames_follow_the_upload_rules() {
        assert!(check_filename("a.txt").is_ok());
        assert!(check_filename("a.exe").is_err());
        assert!(check_filename(" ").is_err());
        assert!(check_filename("a/b.txt").is_err());
        assert!(check_filename(&format!("{}.txt", "x".repeat(300))).is_err());
    }
}
