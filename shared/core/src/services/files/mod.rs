//! The personal file manager (pinned FL1–FL12 under `/file/*`, v0.27's `/files*`): a
//! per-tenant folder tree over the blob store, with links from files to the documents made
//! from them in datasets.
//!
//! The two generations share every rule here; they differ in envelopes and codes (pinned:
//! `get_json_result` with 400/404/409/500; v0.27: `get_result` with 101/102) and in a few
//! message spellings, so operations take a [`Gen`] and fail with a [`FileError`] that each
//! generation maps once to its envelope.

pub mod attachments;
mod link;
mod ops;
#[cfg(test)]
mod tests;
mod tree;

pub use link::{link_to_datasets, LinkReply};
pub use ops::{
    create, delete_files, download, download_of, download_record, download_type, list, list_query,
    mime_of, move_files, parent_folder, parents, personal_upload_reply, rename, root_folder,
    upload, upload_folder, Download, ListQuery,
};
pub use tree::{ancestors_path, apply_list, check_rename, is_within, split_upload_path, FileOrder};

use serde_json::{json, Value};

use crate::contract::envelope::{ApiError, RetCode};
use crate::contract::error::StoreError;
use crate::contract::time::rfc1123;
use crate::ports::files::FileRecord;

/// Which client generation a route serves: it picks the envelope and a few spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gen {
    Pinned,
    V027,
}

impl Gen {
    fn pick(self, pinned: &'static str, v027: &'static str) -> &'static str {
        match self {
            Gen::Pinned => pinned,
            Gen::V027 => v027,
        }
    }
}

/// A file-manager failure, by kind; the message is the client's text.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// A refused request (pinned 400, v0.27 102).
    #[error("{0}")]
    BadRequest(String),
    /// A missing row, folder or dataset (pinned 404, v0.27 102).
    #[error("{0}")]
    NotFound(String),
    /// A duplicate name (pinned 409, v0.27 102).
    #[error("{0}")]
    Conflict(String),
    /// A failed write upstream reports by name (pinned 500, v0.27 102).
    #[error("{0}")]
    Server(String),
    /// Already an envelope (store failures, a leaked-exception reply kept from upstream).
    #[error("{0}")]
    Api(ApiError),
}

impl From<StoreError> for FileError {
    fn from(e: StoreError) -> Self {
        FileError::Api(e.into())
    }
}

impl From<ApiError> for FileError {
    fn from(e: ApiError) -> Self {
        FileError::Api(e)
    }
}

impl FileError {
    /// The envelope of `gen`: pinned `get_json_result` (`data` false for the input checks
    /// upstream answers with `data=False`, else null), v0.27 `get_error_*_result`.
    pub fn into_api(self, gen: Gen) -> ApiError {
        match (gen, self) {
            (_, FileError::Api(e)) => e,
            (Gen::Pinned, FileError::BadRequest(m)) => {
                ApiError::new(RetCode::BadRequest, m).with_data(json!(false))
            }
            (Gen::Pinned, FileError::Conflict(m)) => {
                ApiError::new(RetCode::Conflict, m).with_data(json!(false))
            }
            (Gen::Pinned, FileError::NotFound(m)) => {
                ApiError::new(RetCode::NotFound, m).with_data(Value::Null)
            }
            (Gen::Pinned, FileError::Server(m)) => {
                ApiError::new(RetCode::ServerError, m).with_data(Value::Null)
            }
            // v0.27's service failures all go through `get_error_data_result`; only the
            // request validation in the handlers answers 101.
            (
                Gen::V027,
                FileError::BadRequest(m)
                | FileError::NotFound(m)
                | FileError::Conflict(m)
                | FileError::Server(m),
            ) => ApiError::data(m),
        }
    }
}

pub type FileResult<T> = Result<T, FileError>;

/// A row as upstream's `to_json()` renders it.
pub fn file_json(f: &FileRecord) -> Value {
    json!({
        "id": f.id,
        "parent_id": f.parent_id,
        "tenant_id": f.tenant_id,
        "created_by": f.created_by,
        "type": f.file_type,
        "name": f.name,
        "location": f.location,
        "size": f.size,
        "source_type": f.source_type,
        "create_time": f.create_time,
        "create_date": rfc1123(f.create_time),
        "update_time": f.update_time,
        "update_date": rfc1123(f.update_time),
    })
}

/// Blob key of a stored file's bytes (under the tenant, added by the blob store).
pub fn file_blob_key(file_id: &str) -> String {
    format!("files/{file_id}")
}

/// Largest file accepted through the API (bigger ones go through S3 ingestion).
pub const MAX_FILE_BYTES: usize = 1 << 30;
