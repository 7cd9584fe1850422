//! Documents of a dataset: upload rules, listing, update, delete, parse and stop
//! (contract F1–F9). Parsing itself happens in a worker; here a parse enqueues a task.

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

/// One file of an upload.
pub struct UploadFile {
    pub name: String,
    pub bytes: Bytes,
}

/// F1: store each file and create its document. Files that fail are reported together
/// (code 500, one `name: reason` line each) while the others stay uploaded.
pub async fn upload(
    state: &AppState,
    tenant_id: &str,
    dataset: &Dataset,
    files: Vec<UploadFile>,
    max_file_bytes: usize,
) -> Result<Vec<Document>, ApiError> {
    // Every failure is reported in the files' order, as upstream lists them.
    let mut outcomes: Vec<Result<UploadFile, String>> = Vec::with_capacity(files.len());
    for f in files {
        outcomes.push(if file_type(&f.name) == "other" {
            Err(format!(
                "{}: This type of file has not been supported yet!",
                f.name
            ))
        } else if f.bytes.len() > max_file_bytes {
            Err(format!(
                "{}: File size exceeds the limit of {} bytes.",
                f.name, max_file_bytes
            ))
        } else {
            Ok(f)
        });
    }
    // The files' bytes are written a few at a time (each under a fresh id, so they are
    // independent; on S3 a request of many small files otherwise spends its time in
    // sequential round trips). Documents are then created one by one, in order, so a
    // duplicate name gets its `(n)` in the order the files came.
    let stored: Vec<Result<(UploadFile, String, String), String>> =
        futures_util::stream::iter(outcomes.into_iter().map(|outcome| async move {
            let f = outcome?;
            let id = new_id();
            let key = blob_key(&dataset.id, &id);
            match state.blobs.put(tenant_id, &key, f.bytes.clone()).await {
                Ok(()) => Ok((f, id, key)),
                Err(e) => {
                    tracing::error!(error = %e, file = %f.name, "upload failed");
                    Err(format!("{}: {}", f.name, upload_failure_text(&e)))
                }
            }
        }))
        .buffered(UPLOAD_CONCURRENCY)
        .collect()
        .await;
    let mut done = Vec::new();
    let mut failures = Vec::new();
    for item in stored {
        let (f, id, key) = match item {
            Ok(stored) => stored,
            Err(message) => {
                failures.push(message);
                continue;
            }
        };
        match create_document(state, tenant_id, dataset, f, id, key).await {
            Ok(doc) => done.push(doc),
            Err((name, e)) => {
                tracing::error!(error = %e, file = %name, "upload failed");
                failures.push(format!("{name}: {}", upload_failure_text(&e)));
            }
        }
    }
    if !failures.is_empty() {
        return Err(ApiError::new(
            crate::RetCode::ServerError,
            failures.join("\n"),
        ));
    }
    Ok(done)
}

fn upload_failure_text(e: &StoreError) -> String {
    match e {
        StoreError::Conflict(_) => "Exceed the maximum length of file name!".into(),
        _ => "Storage operation failed.".into(),
    }
}

/// Files whose bytes an upload writes at once.
const UPLOAD_CONCURRENCY: usize = 8;

/// The document record of a file whose bytes are stored under `key`; on failure the bytes
/// are removed again.
async fn create_document(
    state: &AppState,
    tenant_id: &str,
    dataset: &Dataset,
    f: UploadFile,
    id: String,
    key: String,
) -> Result<Document, (String, StoreError)> {
    let size = f.bytes.len() as i64;
    let now = now_ms();
    let chunk_method = upload_chunk_method(&f.name, &dataset.chunk_method);
    let mut doc = Document {
        id,
        tenant_id: tenant_id.to_string(),
        dataset_id: dataset.id.clone(),
        name: f.name.clone(),
        location: key.clone(),
        size,
        suffix: suffix_of(&f.name),
        doc_type: file_type(&f.name).to_string(),
        parser_config: if chunk_method == dataset.chunk_method {
            dataset.parser_config.clone()
        } else {
            parser_config_for(&chunk_method, None)
        },
        chunk_method,
        pipeline_id: dataset.pipeline_id.clone(),
        source_type: "local".into(),
        created_by: tenant_id.to_string(),
        thumbnail: None,
        token_count: 0,
        chunk_count: 0,
        progress: 0.0,
        progress_msg: String::new(),
        process_begin_at: None,
        process_duration: 0.0,
        meta_fields: json!({}),
        run: RunStatus::Unstart,
        status: "1".into(),
        create_time: now,
        update_time: now,
        generation: 0,
    };
    // Uploads avoid names taken in any case (upstream's lookup is case-insensitive); the
    // store makes the exact name unique, so a concurrent upload of it conflicts. Either way
    // the next `(n)` name is tried.
    for _ in 0..1000 {
        let twin = match state
            .docs
            .find_document_by_name(tenant_id, &dataset.id, &doc.name)
            .await
        {
            Ok(twin) => twin,
            Err(e) => {
                let _ = state.blobs.delete(tenant_id, &key).await;
                return Err((f.name, e));
            }
        };
        let inserted = match twin {
            Some(_) => Err(StoreError::Conflict(doc.name.clone())),
            None => state.docs.insert_document(&doc).await,
        };
        match inserted {
            Ok(()) => return Ok(doc),
            Err(StoreError::Conflict(_)) => {
                doc.name = next_duplicate_name(&doc.name);
                if doc.name.len() > FILE_NAME_LIMIT {
                    break;
                }
            }
            Err(e) => {
                let _ = state.blobs.delete(tenant_id, &key).await;
                return Err((f.name, e));
            }
        }
    }
    let _ = state.blobs.delete(tenant_id, &key).await;
    Err((f.name, StoreError::Conflict("no free name".into())))
}

/// Parse an int query value like Python's `int()`, with its error text.
fn py_int(key_value: &str) -> Result<i64, ApiError> {
    key_value.trim().parse::<i64>().map_err(|_| {
        ApiError::exception(format!(
            "ValueError(\"invalid literal for int() with base 10: {}\")",
            crate::contract::pyfmt::py_str_repr(key_value)
        ))
    })
}

/// F4 query string → a document query (the metadata filter is resolved by `list`).
pub fn validate_list(
    pairs: &[(String, String)],
) -> Result<(DocumentListQuery, Option<Value>), ApiError> {
    let first = |k: &str| crate::contract::http::first(pairs, k);
    let all = |k: &str| -> Vec<String> {
        pairs
            .iter()
            .filter(|(pk, _)| pk == k)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let mut q = DocumentListQuery {
        page: 1,
        page_size: 30,
        desc: true,
        ..Default::default()
    };
    if let Some(v) = first("page") {
        q.page = py_int(v)?.max(1) as u64;
    }
    if let Some(v) = first("page_size") {
        let n = py_int(v)?;
        // page_size 0 would mean "unlimited" to the store; upstream returns no rows.
        q.page_size = if n <= 0 { u64::MAX } else { n as u64 };
        if n <= 0 {
            q.only_ids = Some(vec![]);
        }
    }
    if let Some(v) = first("orderby") {
        q.orderby = Some(match v {
            "create_time" => DocumentOrder::CreateTime,
            "update_time" => DocumentOrder::UpdateTime,
            "name" => DocumentOrder::Name,
            "size" => DocumentOrder::Size,
            other => {
                return Err(ApiError::exception(format!(
                    "AttributeError(\"type object 'Document' has no attribute '{other}'\")"
                )))
            }
        });
    }
    if let Some(v) = first("desc") {
        q.desc = v.trim().to_lowercase() != "false";
    }
    q.id = first("id").filter(|s| !s.is_empty()).map(str::to_string);
    q.name = first("name").filter(|s| !s.is_empty()).map(str::to_string);
    q.keywords = first("keywords")
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    q.suffixes = all("suffix")
        .into_iter()
        .map(|s| s.trim_start_matches('.').to_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    q.runs = all("run")
        .iter()
        .filter_map(|r| RunStatus::parse(r))
        .collect();
    for (key, slot) in [
        ("create_time_from", &mut q.create_time_from),
        ("create_time_to", &mut q.create_time_to),
    ] {
        if let Some(v) = first(key) {
            let n = py_int(v)?;
            if n > 0 {
                *slot = Some(n);
            }
        }
    }
    let condition = match first("metadata_condition").filter(|s| !s.trim().is_empty()) {
        None => None,
        Some(text) => {
            let v: Value = serde_json::from_str(text)
                .map_err(|_| ApiError::data("metadata_condition must be valid JSON."))?;
            if !v.is_object() {
                return Err(ApiError::data("metadata_condition must be an object."));
            }
            Some(v)
        }
    };
    Ok((q, condition))
}

/// Ids of a dataset's documents whose `meta_fields` pass a filter.
pub async fn ids_matching_metadata(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    condition: &Value,
) -> Result<Option<Vec<String>>, ApiError> {
    let filter =
        metadata_filter::parse(Some(condition)).map_err(|e| ApiError::data(e.to_string()))?;
    let Some(filter) = filter else {
        return Ok(None);
    };
    let (docs, _) = state
        .docs
        .list_documents(tenant_id, dataset_id, &DocumentListQuery::all())
        .await?;
    Ok(Some(
        docs.into_iter()
            .filter(|d| filter.matches(&d.meta_fields))
            .map(|d| d.id)
            .collect(),
    ))
}

/// F4.
pub async fn list(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    mut q: DocumentListQuery,
    condition: Option<Value>,
) -> Result<(Vec<Document>, u64), ApiError> {
    owned_dataset(state, tenant_id, dataset_id, || {
        ApiError::data(format!("You don't own the dataset {dataset_id}. "))
    })
    .await?;
    if let Some(id) = &q.id {
        if state
            .docs
            .get_document(tenant_id, dataset_id, id)
            .await?
            .is_none()
        {
            return Err(ApiError::data(format!("You don't own the document {id}.")));
        }
    }
    if let Some(name) = &q.name {
        let found = state
            .docs
            .find_document_by_name(tenant_id, dataset_id, name)
            .await?
            .is_some_and(|d| &d.name == name);
        if !found {
            return Err(ApiError::data(format!(
                "You don't own the document {name}."
            )));
        }
    }
    if let Some(cond) = condition {
        if let Some(ids) = ids_matching_metadata(state, tenant_id, dataset_id, &cond).await? {
            q.only_ids = Some(match q.only_ids.take() {
                Some(prev) => prev.into_iter().filter(|i| ids.contains(i)).collect(),
                None => ids,
            });
        }
    }
    Ok(state.docs.list_documents(tenant_id, dataset_id, &q).await?)
}

/// F2: update a document with upstream's rules and messages.
pub async fn update(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    doc_id: &str,
    req: &Map<String, Value>,
) -> Result<Document, ApiError> {
    owned_dataset(state, tenant_id, dataset_id, || {
        ApiError::data("You don't own the dataset.")
    })
    .await?;
    let mut doc = state
        .docs
        .get_document(tenant_id, dataset_id, doc_id)
        .await?
        .ok_or_else(|| ApiError::data("The dataset doesn't own the document."))?;
    for (key, current) in [
        ("chunk_count", json!(doc.chunk_count)),
        ("token_count", json!(doc.token_count)),
        ("progress", json!(doc.progress)),
    ] {
        if let Some(v) = req.get(key) {
            let same = match (v.as_f64(), current.as_f64()) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            };
            if !same {
                return Err(ApiError::data(format!("Can't change `{key}`.")));
            }
        }
    }
    if let Some(meta) = req.get("meta_fields") {
        if !meta.is_object() {
            return Err(ApiError::data("meta_fields must be a dictionary"));
        }
        doc.meta_fields = meta.clone();
    }
    if let Some(name) = req.get("name") {
        let Some(name) = name.as_str() else {
            return Err(ApiError::exception(format!(
                "AttributeError(\"'{}' object has no attribute 'encode'\")",
                py_type_name(name)
            )));
        };
        if name != doc.name {
            if name.len() > FILE_NAME_LIMIT {
                return Err(ApiError::argument("File name must be 255 bytes or less."));
            }
            if suffix_of(name) != suffix_of(&doc.name) || name.is_empty() {
                return Err(ApiError::argument("The extension of file can't be changed"));
            }
            if let Some(other) = state
                .docs
                .find_document_by_name(tenant_id, dataset_id, name)
                .await?
            {
                // Exact case only, as upstream: a case twin's name may be taken.
                if other.id != doc.id && other.name == *name {
                    return Err(ApiError::data(
                        "Duplicated document name in the same dataset.",
                    ));
                }
            }
            doc.name = name.to_string();
        }
    }
    if let Some(cfg) = req.get("parser_config").filter(|v| v.is_object()) {
        doc.parser_config = deep_merge(&doc.parser_config, cfg);
    }
    let mut reset_chunks = false;
    if let Some(m) = req.get("chunk_method") {
        let method = m.as_str().unwrap_or("");
        if !DOC_CHUNK_METHODS.contains(&method) {
            let shown = match m {
                Value::String(s) => s.clone(),
                other => py_repr(other),
            };
            return Err(ApiError::data(format!(
                "`chunk_method` {shown} doesn't exist"
            )));
        }
        let ext = doc.suffix.as_str();
        if doc.doc_type == "visual" || ["ppt", "pptx", "pages"].contains(&ext) {
            return Err(ApiError::data("Not supported yet!"));
        }
        if !doc.chunk_method.eq_ignore_ascii_case(method) {
            doc.chunk_method = method.to_string();
            let supplied = req
                .get("parser_config")
                .filter(|v| v.as_object().is_some_and(|o| !o.is_empty()));
            doc.parser_config = parser_config_for(method, supplied);
            doc.run = RunStatus::Unstart;
            doc.progress = 0.0;
            doc.progress_msg = String::new();
            doc.chunk_count = 0;
            doc.token_count = 0;
            doc.process_duration = 0.0;
            doc.generation += 1;
            reset_chunks = true;
        }
    }
    if let Some(e) = req.get("enabled") {
        let on = match e {
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64().unwrap_or(0.0) != 0.0,
            Value::String(s) => s.trim().parse::<i64>().map(|n| n != 0).map_err(|_| {
                ApiError::exception(format!(
                    "ValueError(\"invalid literal for int() with base 10: {}\")",
                    crate::contract::pyfmt::py_str_repr(s)
                ))
            })?,
            other => {
                return Err(ApiError::exception(format!(
                    "TypeError(\"int() argument must be a string, a bytes-like object or a real number, not '{}'\")",
                    py_type_name(other)
                )))
            }
        };
        doc.status = if on { "1" } else { "0" }.into();
    }
    doc.update_time = now_ms();
    match state.docs.update_document(&doc).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::data(
                "Duplicated document name in the same dataset.",
            ))
        }
        Err(StoreError::NotFound(_)) => return Err(ApiError::data("Document not found!")),
        Err(e) => return Err(e.into()),
    }
    if reset_chunks {
        state
            .index
            .delete_document(tenant_id, dataset_id, &doc.id, None)
            .await?;
    }
    Ok(doc)
}

/// De-duplicate ids, reporting repeats as upstream does (`Duplicate {kind} ids: {id}`).
pub fn dedupe_ids(ids: &[String], kind: &str) -> (Vec<String>, Vec<String>) {
    let mut unique: Vec<String> = Vec::new();
    let mut errors = Vec::new();
    for id in ids {
        if unique.contains(id) {
            let msg = format!("Duplicate {kind} ids: {id}");
            if !errors.contains(&msg) {
                errors.push(msg);
            }
        } else {
            unique.push(id.clone());
        }
    }
    (unique, errors)
}

/// The result of a batch operation with upstream's partial-success shape.
pub enum BatchOutcome {
    Done,
    Partial {
        success_count: u64,
        errors: Vec<String>,
    },
}

/// Upstream's ending for batch routes with duplicate ids: all fine → code 0; duplicates
/// but some work done → code 0 with counts; nothing done → 102 joining the messages.
pub fn batch_result(success_count: u64, dup_errors: Vec<String>) -> Result<BatchOutcome, ApiError> {
    if dup_errors.is_empty() {
        return Ok(BatchOutcome::Done);
    }
    if success_count == 0 {
        return Err(ApiError::data(dup_errors.join(";")));
    }
    Ok(BatchOutcome::Partial {
        success_count,
        errors: dup_errors,
    })
}

fn id_list(req: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, ApiError> {
    match req.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(
            a.iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
        )),
        Some(other) => Err(ApiError::data(format!(
            "`{key}` should be a list, got {}",
            py_type_name(other)
        ))),
    }
}

/// F5: delete documents (absent / null / [] = all of the dataset's).
pub async fn delete(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    req: &Map<String, Value>,
) -> Result<BatchOutcome, ApiError> {
    owned_dataset(state, tenant_id, dataset_id, || {
        ApiError::data(format!("You don't own the dataset {dataset_id}. "))
    })
    .await?;
    let requested = id_list(req, "ids")?.filter(|l| !l.is_empty());
    let (ids, dup_errors) = match requested {
        None => {
            let (docs, _) = state
                .docs
                .list_documents(tenant_id, dataset_id, &DocumentListQuery::all())
                .await?;
            (docs.into_iter().map(|d| d.id).collect(), vec![])
        }
        Some(list) => dedupe_ids(&list, "document"),
    };
    let mut missing = Vec::new();
    let mut success = 0u64;
    for id in &ids {
        if remove_document(state, tenant_id, dataset_id, id).await? {
            success += 1;
        } else {
            missing.push(Value::String(id.clone()));
        }
    }
    if !missing.is_empty() {
        return Err(ApiError::data(format!(
            "Documents not found: {}",
            py_repr(&Value::Array(missing))
        )));
    }
    batch_result(success, dup_errors)
}

/// Remove one document with its chunks and bytes. False if it did not exist.
pub async fn remove_document(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    doc_id: &str,
) -> Result<bool, ApiError> {
    let Some(doc) = state
        .docs
        .get_document(tenant_id, dataset_id, doc_id)
        .await?
    else {
        return Ok(false);
    };
    // Record first: a worker still parsing it sees the document gone and stops.
    state
        .docs
        .delete_document(tenant_id, dataset_id, doc_id)
        .await?;
    state
        .index
        .delete_document(tenant_id, dataset_id, doc_id, None)
        .await?;
    state.blobs.delete(tenant_id, &doc.location).await?;
    Ok(true)
}

fn required_doc_ids(req: &Map<String, Value>) -> Result<Vec<String>, ApiError> {
    match req.get("document_ids") {
        Some(Value::Array(a)) if !a.is_empty() => Ok(a
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect()),
        _ => Err(ApiError::data("`document_ids` is required")),
    }
}

/// F6: start parsing. Each document moves to RUNNING at a new generation, loses its
/// chunks, and gets one task; a repeated or stale task is recognised by its generation.
pub async fn parse(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    req: &Map<String, Value>,
) -> Result<BatchOutcome, ApiError> {
    owned_dataset(state, tenant_id, dataset_id, || {
        ApiError::data(format!("You don't own the dataset {dataset_id}."))
    })
    .await?;
    let (ids, dup_errors) = dedupe_ids(&required_doc_ids(req)?, "document");
    let mut missing = Vec::new();
    let mut success = 0u64;
    for id in &ids {
        let Some(mut doc) = state.docs.get_document(tenant_id, dataset_id, id).await? else {
            missing.push(Value::String(id.clone()));
            continue;
        };
        if doc.progress > 0.0 && doc.progress < 1.0 {
            return Err(ApiError::data(
                "Can't parse document that is currently being processed",
            ));
        }
        doc.generation += 1;
        doc.run = RunStatus::Running;
        doc.progress = 0.0;
        doc.progress_msg = String::new();
        doc.chunk_count = 0;
        doc.token_count = 0;
        doc.process_duration = 0.0;
        doc.process_begin_at = None;
        doc.update_time = now_ms();
        state.docs.update_document(&doc).await?;
        state
            .index
            .delete_document(tenant_id, dataset_id, &doc.id, None)
            .await?;
        let task = ParseTask {
            task_id: new_id(),
            tenant_id: tenant_id.to_string(),
            dataset_id: dataset_id.to_string(),
            document_id: doc.id.clone(),
            generation: doc.generation,
        };
        if let Err(e) = state.queue.enqueue(&task).await {
            // Leave nothing stuck in RUNNING when the queue is down.
            let _ = state
                .docs
                .apply_progress(
                    tenant_id,
                    dataset_id,
                    &doc.id,
                    doc.generation,
                    &crate::domain::ProgressUpdate {
                        run: Some(RunStatus::Fail),
                        progress: Some(-1.0),
                        append_msg: Some("Could not queue the parse task.".into()),
                        ..Default::default()
                    },
                )
                .await;
            return Err(e.into());
        }
        success += 1;
    }
    if !missing.is_empty() {
        return Err(ApiError::data(format!(
            "Documents not found: {}",
            py_repr(&Value::Array(missing))
        )));
    }
    batch_result(success, dup_errors)
}

/// F7: stop parsing. The generation moves on, so the worker's later writes are refused.
pub async fn stop(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    req: &Map<String, Value>,
) -> Result<BatchOutcome, ApiError> {
    owned_dataset(state, tenant_id, dataset_id, || {
        ApiError::data(format!("You don't own the dataset {dataset_id}."))
    })
    .await?;
    let (ids, dup_errors) = dedupe_ids(&required_doc_ids(req)?, "document");
    let mut success = 0u64;
    for id in &ids {
        let Some(mut doc) = state.docs.get_document(tenant_id, dataset_id, id).await? else {
            return Err(ApiError::data(format!("You don't own the document {id}.")));
        };
        // Upstream refuses progress 0 or 1; a queued task (RUNNING at 0) is stoppable here.
        if doc.run != RunStatus::Running {
            return Err(ApiError::data(
                "Can't stop parsing document with progress at 0 or 1",
            ));
        }
        doc.generation += 1;
        doc.run = RunStatus::Cancel;
        doc.progress = 0.0;
        doc.chunk_count = 0;
        doc.token_count = 0;
        doc.progress_msg = format!("{}\nParsing stopped by the user.", doc.progress_msg)
            .trim_start()
            .to_string();
        doc.update_time = now_ms();
        state.docs.update_document(&doc).await?;
        state
            .index
            .delete_document(tenant_id, dataset_id, &doc.id, None)
            .await?;
        success += 1;
    }
    batch_result(success, dup_errors)
}

/// F8: aggregate `meta_fields` values across documents.
pub async fn metadata_summary(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    doc_ids: Option<Vec<String>>,
) -> Result<Value, ApiError> {
    owned_dataset(state, tenant_id, dataset_id, || {
        ApiError::data(format!("You don't own the dataset {dataset_id}. "))
    })
    .await?;
    let (docs, _) = state
        .docs
        .list_documents(tenant_id, dataset_id, &DocumentListQuery::all())
        .await?;
    // key -> (value text -> count), and key -> type votes
    let mut values: Vec<(String, Vec<(String, u64)>)> = Vec::new();
    let mut types: Vec<(String, Vec<(&'static str, u64)>)> = Vec::new();
    fn bump<K: PartialEq + Clone>(v: &mut Vec<(K, u64)>, k: &K) {
        match v.iter_mut().find(|(x, _)| x == k) {
            Some((_, n)) => *n += 1,
            None => v.push((k.clone(), 1)),
        }
    }
    for d in docs {
        if doc_ids.as_ref().is_some_and(|ids| !ids.contains(&d.id)) {
            continue;
        }
        let Some(meta) = d.meta_fields.as_object() else {
            continue;
        };
        for (k, v) in meta {
            let falsy = matches!(v, Value::Null | Value::Bool(false))
                || v.as_str().is_some_and(str::is_empty)
                || v.as_array().is_some_and(Vec::is_empty)
                || v.as_f64() == Some(0.0);
            if falsy {
                continue;
            }
            let kind = match v {
                Value::Number(_) => "number",
                Value::Array(_) => "list",
                Value::String(s) if looks_like_time(s) => "time",
                _ => "string",
            };
            let slot = match types.iter_mut().position(|(key, _)| key == k) {
                Some(i) => i,
                None => {
                    types.push((k.clone(), vec![]));
                    types.len() - 1
                }
            };
            bump(&mut types[slot].1, &kind);
            let slot = match values.iter_mut().position(|(key, _)| key == k) {
                Some(i) => i,
                None => {
                    values.push((k.clone(), vec![]));
                    values.len() - 1
                }
            };
            let items: Vec<String> = match v {
                Value::Array(a) => a.iter().map(crate::contract::pyfmt::py_str).collect(),
                other => vec![crate::contract::pyfmt::py_str(other)],
            };
            for item in items {
                bump(&mut values[slot].1, &item);
            }
        }
    }
    let mut summary = Map::new();
    for (key, mut vals) in values {
        vals.sort_by_key(|v| std::cmp::Reverse(v.1));
        let kind = types
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, votes)| votes.iter().max_by_key(|(_, n)| *n).map(|(t, _)| *t))
            .unwrap_or("string");
        summary.insert(
            key,
            json!({"type": kind, "values": vals.into_iter().map(|(v, n)| json!([v, n])).collect::<Vec<_>>()}),
        );
    }
    Ok(json!({"summary": summary}))
}

fn looks_like_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 19
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && s[..4].chars().all(|c| c.is_ascii_digit())
}

/// F9: batch edit `meta_fields` of selected documents.
pub async fn metadata_update(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    owned_dataset(state, tenant_id, dataset_id, || {
        ApiError::data(format!("You don't own the dataset {dataset_id}. "))
    })
    .await?;
    let selector = match req.get("selector") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(ApiError::data("selector must be an object.")),
    };
    let updates = req.get("updates").cloned().unwrap_or(json!([]));
    let deletes = req.get("deletes").cloned().unwrap_or(json!([]));
    let (Some(updates), Some(deletes)) = (updates.as_array(), deletes.as_array()) else {
        return Err(ApiError::data("updates and deletes must be lists."));
    };
    for u in updates {
        if u.get("key").is_none() || u.get("value").is_none() {
            return Err(ApiError::data("Each update requires key and value."));
        }
    }
    for d in deletes {
        if d.get("key").is_none() {
            return Err(ApiError::data("Each delete requires key."));
        }
    }
    let condition = selector.get("metadata_condition");
    if condition.is_some_and(|c| !c.is_null() && !c.is_object()) {
        return Err(ApiError::data("metadata_condition must be an object."));
    }
    let (docs, _) = state
        .docs
        .list_documents(tenant_id, dataset_id, &DocumentListQuery::all())
        .await?;
    // Divergence: upstream crashes without `document_ids`; we select all documents.
    let mut selected: Vec<Document> = match selector.get("document_ids") {
        None | Some(Value::Null) => docs,
        Some(Value::Array(ids)) => {
            let ids: Vec<String> = ids.iter().map(crate::contract::pyfmt::py_str).collect();
            let foreign: Vec<String> = ids
                .iter()
                .filter(|i| !docs.iter().any(|d| &d.id == *i))
                .cloned()
                .collect();
            if !foreign.is_empty() {
                return Err(ApiError::data(format!(
                    "These documents do not belong to dataset {dataset_id}: {}",
                    foreign.join(", ")
                )));
            }
            docs.into_iter().filter(|d| ids.contains(&d.id)).collect()
        }
        Some(_) => return Err(ApiError::data("document_ids must be a list.")),
    };
    if let Some(filter) =
        metadata_filter::parse(condition).map_err(|e| ApiError::data(e.to_string()))?
    {
        selected.retain(|d| filter.matches(&d.meta_fields));
    }
    let matched = selected.len();
    let mut updated = 0u64;
    for mut doc in selected {
        let before = doc.meta_fields.clone();
        let meta = match doc.meta_fields.as_object_mut() {
            Some(m) => m,
            None => {
                doc.meta_fields = json!({});
                doc.meta_fields
                    .as_object_mut()
                    .ok_or_else(|| ApiError::data("meta_fields must be a dictionary"))?
            }
        };
        for u in updates {
            let key = crate::contract::pyfmt::py_str(&u["key"]);
            let value = u["value"].clone();
            match u.get("match").filter(|m| !m.is_null()) {
                None => {
                    let v = match value {
                        Value::Array(a) => {
                            let mut out: Vec<Value> = Vec::new();
                            for x in a {
                                if !out.contains(&x) {
                                    out.push(x);
                                }
                            }
                            Value::Array(out)
                        }
                        other => other,
                    };
                    meta.insert(key, v);
                }
                Some(m) => {
                    let m = crate::contract::pyfmt::py_str(m);
                    match meta.get_mut(&key) {
                        Some(Value::Array(items)) => {
                            for it in items.iter_mut() {
                                if crate::contract::pyfmt::py_str(it) == m {
                                    *it = value.clone();
                                }
                            }
                        }
                        Some(existing) if crate::contract::pyfmt::py_str(existing) == m => {
                            *existing = value.clone()
                        }
                        Some(_) => {}
                        None => {
                            meta.insert(key, value);
                        }
                    }
                }
            }
        }
        for d in deletes {
            let key = crate::contract::pyfmt::py_str(&d["key"]);
            match d.get("value").filter(|v| !v.is_null()) {
                None => {
                    meta.remove(&key);
                }
                Some(v) => {
                    let v = crate::contract::pyfmt::py_str(v);
                    let remove_key = match meta.get_mut(&key) {
                        Some(Value::Array(items)) => {
                            items.retain(|it| crate::contract::pyfmt::py_str(it) != v);
                            false
                        }
                        Some(existing) => crate::contract::pyfmt::py_str(existing) == v,
                        None => false,
                    };
                    if remove_key {
                        meta.remove(&key);
                    }
                }
            }
        }
        if doc.meta_fields != before {
            doc.update_time = now_ms();
            state.docs.update_document(&doc).await?;
            updated += 1;
        }
    }
    Ok(json!({"updated": updated, "matched_docs": matched}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_types_and_methods() {
        assert_eq!(file_type("a.PDF"), "pdf");
        assert_eq!(file_type("a.docx"), "doc");
        assert_eq!(file_type("a.png"), "visual");
        assert_eq!(file_type("a.mp3"), "aural");
        assert_eq!(file_type("a.exe"), "other");
        assert_eq!(file_type("noext"), "other");
        assert_eq!(upload_chunk_method("a.png", "naive"), "picture");
        assert_eq!(upload_chunk_method("a.pptx", "naive"), "presentation");
        assert_eq!(upload_chunk_method("a.eml", "qa"), "email");
        assert_eq!(upload_chunk_method("a.txt", "qa"), "qa");
        assert_eq!(suffix_of("x.tar.GZ"), "gz");
    }

    #[test]
    fn list_query_rules() {
        let p = |s: &str| crate::contract::http::query_pairs(Some(s));
        let (q, _) = validate_list(&p(
            "page=2&page_size=5&desc=FALSE&suffix=pdf&suffix=.TXT&run=DONE&run=1",
        ))
        .unwrap();
        assert_eq!((q.page, q.page_size, q.desc), (2, 5, false));
        assert_eq!(q.suffixes, vec!["pdf", "txt"]);
        assert_eq!(q.runs, vec![RunStatus::Done, RunStatus::Running]);
        let e = validate_list(&p("page=a")).unwrap_err();
        assert_eq!(
            e.message,
            "ValueError(\"invalid literal for int() with base 10: 'a'\")"
        );
        let e = validate_list(&p("metadata_condition=nope")).unwrap_err();
        assert_eq!(e.message, "metadata_condition must be valid JSON.");
        let e = validate_list(&p("metadata_condition=%5B%5D")).unwrap_err();
        assert_eq!(e.message, "metadata_condition must be an object.");
    }

    #[test]
    fn duplicates_are_reported_once() {
        let ids: Vec<String> = ["a", "b", "a", "a"].iter().map(|s| s.to_string()).collect();
        let (u, e) = dedupe_ids(&ids, "document");
        assert_eq!(u, vec!["a", "b"]);
        assert_eq!(e, vec!["Duplicate document ids: a"]);
    }
}
