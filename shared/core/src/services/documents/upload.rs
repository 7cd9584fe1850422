//! F1: uploads: one document per file, blobs written a few at a time, names kept unique.

use super::*;

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

pub(super) fn upload_failure_text(e: &StoreError) -> String {
    match e {
        StoreError::Conflict(_) => "Exceed the maximum length of file name!".into(),
        _ => "Storage operation failed.".into(),
    }
}

/// Files whose bytes an upload writes at once.
pub(super) const UPLOAD_CONCURRENCY: usize = 8;

/// The document record of a file whose bytes are stored under `key`; on failure the bytes
/// are removed again.
pub(super) async fn create_document(
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
