//! Documents of a dataset: upload rules, listing, update, delete, parse and stop
//! (contract F1–F9). Parsing itself happens in a worker; here a parse enqueues a task.

mod bulk;
mod by_id;
mod ingest;
mod lifecycle;
mod listing;
mod metadata;
#[cfg(test)]
mod tests;
mod update;
mod upload;

pub use bulk::{
    batch_update_status, parse_v027, row_and_api, set_metadata_config, stop_v027, StatusOutcome,
};
pub use by_id::{document_file, find_document, thumbnails, DocumentFile, THUMBNAIL_IDS_LIMIT};
pub use ingest::{ingest, validate_ingest, IngestAction};
pub use lifecycle::{delete, parse, remove_document, stop, DeleteReply};
pub use listing::{
    filter_counts, list, list_reply, metadata_matches, py_int, validate_list, ListFilters,
};
pub use metadata::{metadata_summary, metadata_update, metadata_update_v027};
pub use update::update;
pub use upload::{upload, UploadFile};

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{json, Map, Value};

use crate::contract::envelope::ApiError;
use crate::contract::error::StoreError;
use crate::contract::ids::new_id;
use crate::contract::pyfmt::{py_repr, py_type_name};
use crate::contract::time::now_ms;
use crate::domain::{Dataset, Document, DocumentListQuery, DocumentOrder, ParseTask, RunStatus};
use crate::services::datasets::{deep_merge, next_duplicate_name, parser_config_for};
use crate::services::metadata_filter;
use crate::state::AppState;

pub const FILE_NAME_LIMIT: usize = 255;

const DOC_EXTS: &[&str] = &[
    "msg", "eml", "doc", "docx", "ppt", "pptx", "yml", "xml", "htm", "json", "jsonl", "ldjson",
    "csv", "txt", "ini", "xls", "xlsx", "wps", "rtf", "hlp", "pages", "numbers", "key", "md",
    "mdx", "py", "js", "java", "c", "cpp", "h", "php", "go", "ts", "sh", "cs", "kt", "html", "sql",
];
const AUDIO_EXTS: &[&str] = &[
    "wav", "flac", "ape", "alac", "wavpack", "wv", "mp3", "aac", "ogg", "vorbis", "opus",
];
const IMAGE_EXTS: &[&str] = &[
    "jpg", "jpeg", "png", "tif", "gif", "pcx", "tga", "exif", "fpx", "svg", "psd", "cdr", "pcd",
    "dxf", "ufo", "eps", "ai", "raw", "webp", "avif", "apng", "icon", "ico",
];
const VIDEO_EXTS: &[&str] = &[
    "mpg", "mpeg", "avi", "rm", "rmvb", "mov", "wmv", "asf", "dat", "asx", "wvx", "mpe", "mpa",
    "mp4", "mkv",
];

/// Chunk methods a document may be switched to (F2).
pub const DOC_CHUNK_METHODS: &[&str] = &[
    "naive",
    "manual",
    "qa",
    "table",
    "paper",
    "book",
    "laws",
    "presentation",
    "picture",
    "one",
    "knowledge_graph",
    "email",
    "tag",
];

/// Lower-case extension without the dot, as `pathlib.Path(name).suffix` sees it.
pub fn suffix_of(name: &str) -> String {
    let base = name.rsplit('/').next().unwrap_or(name);
    match base.rfind('.') {
        Some(i) if i > 0 && i + 1 < base.len() => base[i + 1..].to_lowercase(),
        _ => String::new(),
    }
}

/// Upstream's `filename_type`: `pdf`, `doc`, `aural`, `visual`, or `other` (refused).
pub fn file_type(name: &str) -> &'static str {
    let ext = suffix_of(name);
    let ext = ext.as_str();
    if ext == "pdf" {
        "pdf"
    } else if DOC_EXTS.contains(&ext) {
        "doc"
    } else if AUDIO_EXTS.contains(&ext) {
        "aural"
    } else if IMAGE_EXTS.contains(&ext) || VIDEO_EXTS.contains(&ext) {
        "visual"
    } else {
        "other"
    }
}

/// The chunk method a new upload gets.
pub fn upload_chunk_method(name: &str, dataset_method: &str) -> String {
    let ext = suffix_of(name);
    match file_type(name) {
        "visual" => "picture".into(),
        "aural" => "audio".into(),
        _ if ["ppt", "pptx", "pages"].contains(&ext.as_str()) => "presentation".into(),
        _ if ["msg", "eml"].contains(&ext.as_str()) => "email".into(),
        _ => dataset_method.to_string(),
    }
}

/// Blob key of a document's original bytes (under the tenant, added by the blob store).
pub fn blob_key(dataset_id: &str, doc_id: &str) -> String {
    format!("{dataset_id}/{doc_id}")
}

/// A dataset the caller owns, or `err`.
pub async fn owned_dataset(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    err: impl FnOnce() -> ApiError,
) -> Result<Dataset, ApiError> {
    match state.meta.get_dataset(tenant_id, dataset_id).await? {
        Some(d) => Ok(d),
        None => Err(err()),
    }
}

/// `E(LookupError(...))` as upstream's global handler renders it.
pub fn lookup_error(what: &str, id: &str) -> ApiError {
    ApiError::exception(format!(
        "LookupError(\"Can't find the {what} with ID {id}!\")"
    ))
}
