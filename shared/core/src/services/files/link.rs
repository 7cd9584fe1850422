//! FL12 / `POST /files/link-to-datasets`: files become documents of datasets through the
//! documents service's own upload path, so they parse like any other upload.

use bytes::Bytes;
use serde_json::{json, Value};

use super::ops::{subtree, unlink_all};
use super::{FileError, FileResult, MAX_FILE_BYTES};
use crate::contract::envelope::RetCode;
use crate::contract::ids::new_id;
use crate::contract::time::{now_ms, rfc1123};
use crate::domain::Dataset;
use crate::ports::files::{FileLink, FileRecord};
use crate::services::documents::{self, file_type, UploadFile};
use crate::state::AppState;

/// The link rows made, as upstream's `file2document` rows render.
pub type LinkReply = Vec<Value>;

fn link_json(l: &FileLink) -> Value {
    json!({
        "id": l.id,
        "file_id": l.file_id,
        "document_id": l.document_id,
        "create_time": l.create_time,
        "create_date": rfc1123(l.create_time),
        "update_time": l.update_time,
        "update_date": rfc1123(l.update_time),
    })
}

/// Every file and dataset is checked before anything changes. Folders expand to every
/// file below them. Each file's earlier links (and the documents they made) are replaced
/// by one new document per dataset.
pub async fn link_to_datasets(
    state: &AppState,
    tenant_id: &str,
    file_ids: &[String],
    dataset_ids: &[String],
) -> FileResult<LinkReply> {
    let mut roots = Vec::with_capacity(file_ids.len());
    for id in file_ids {
        match state.files.get_file(tenant_id, id).await? {
            Some(f) => roots.push(f),
            None => return Err(FileError::NotFound("File not found!".into())),
        }
    }
    let mut datasets: Vec<Dataset> = Vec::with_capacity(dataset_ids.len());
    for id in dataset_ids {
        match state.meta.get_dataset(tenant_id, id).await? {
            Some(d) if !datasets.iter().any(|x| x.id == d.id) => datasets.push(d),
            Some(_) => {}
            None => return Err(FileError::NotFound("Can't find this dataset!".into())),
        }
    }
    let mut files: Vec<FileRecord> = Vec::new();
    for f in roots {
        let expanded = if f.is_folder() {
            subtree(state, tenant_id, &f)
                .await?
                .into_iter()
                .filter(|r| !r.is_folder())
                .collect()
        } else {
            vec![f]
        };
        for r in expanded {
            if !files.iter().any(|x| x.id == r.id) {
                files.push(r);
            }
        }
    }
    // Types are checked before any earlier link is replaced, with the upload's message.
    if let Some(f) = files.iter().find(|f| file_type(&f.name) == "other") {
        return Err(FileError::Server(format!(
            "{}: This type of file has not been supported yet!",
            f.name
        )));
    }
    let mut out = Vec::new();
    for f in files {
        let bytes = if f.location.is_empty() {
            Bytes::new()
        } else {
            state
                .blobs
                .get(tenant_id, &f.location)
                .await?
                .ok_or_else(|| FileError::NotFound("Can't find this file!".into()))?
        };
        unlink_all(state, tenant_id, &f.id).await?;
        for ds in &datasets {
            let upload = UploadFile {
                name: f.name.clone(),
                bytes: bytes.clone(),
            };
            let docs = documents::upload(state, tenant_id, ds, vec![upload], MAX_FILE_BYTES)
                .await
                .map_err(|e| {
                    if e.code == RetCode::ServerError.as_i64() {
                        FileError::Server(e.message)
                    } else {
                        FileError::Api(e)
                    }
                })?;
            for doc in docs {
                let now = now_ms();
                let link = FileLink {
                    id: new_id(),
                    tenant_id: tenant_id.to_string(),
                    file_id: f.id.clone(),
                    document_id: doc.id.clone(),
                    dataset_id: ds.id.clone(),
                    create_time: now,
                    update_time: now,
                };
                state.files.insert_link(&link).await?;
                out.push(link_json(&link));
            }
        }
    }
    Ok(out)
}
