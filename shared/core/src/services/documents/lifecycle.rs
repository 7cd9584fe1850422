//! F5, F6, F7: deleting documents, queueing parses, stopping them.

use super::*;
use crate::contract::batch::{batch_result, dedupe_ids, delete_all_flag, BatchOutcome};

pub(super) fn id_list(
    req: &Map<String, Value>,
    key: &str,
) -> Result<Option<Vec<String>>, ApiError> {
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

/// F5: delete documents (absent / null / [] = all of the dataset's). A body with
/// `delete_all` follows the v0.27 rules instead (`delete_v027`).
pub async fn delete(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    req: &Map<String, Value>,
) -> Result<DeleteReply, ApiError> {
    owned_dataset(state, tenant_id, dataset_id, || {
        ApiError::data(format!("You don't own the dataset {dataset_id}. "))
    })
    .await?;
    if let Some(delete_all) = delete_all_flag(req)? {
        return delete_v027(state, tenant_id, dataset_id, req, delete_all).await;
    }
    pinned_delete(state, tenant_id, dataset_id, req)
        .await
        .map(DeleteReply::Batch)
}

/// How F5 answers: the pinned batch ending, or v0.27's count (`data: {"deleted": n}`).
pub enum DeleteReply {
    Batch(BatchOutcome),
    Deleted(u64),
}

async fn pinned_delete(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    req: &Map<String, Value>,
) -> Result<BatchOutcome, ApiError> {
    {}
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
        return Err(documents_not_found(missing));
    }
    batch_result(success, dup_errors)
}

/// F5 under the v0.27 rules (the body has `delete_all`): no ids and no `delete_all: true`
/// is an error rather than "all", ids and `delete_all: true` together are refused, an
/// unknown id deletes nothing. The reply counts what went (`data: {"deleted": n}`).
async fn delete_v027(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    req: &Map<String, Value>,
    delete_all: bool,
) -> Result<DeleteReply, ApiError> {
    let ids = id_list(req, "ids")?.unwrap_or_default();
    let ids = match (ids.is_empty(), delete_all) {
        (false, true) => {
            return Err(ApiError::data(format!(
                "should not provide both doc ids and delete_all(true), dataset: {dataset_id}. "
            )))
        }
        (true, false) => {
            return Err(ApiError::data(format!(
                "should either provide doc ids or set delete_all(true), dataset: {dataset_id}. "
            )))
        }
        (true, true) => {
            let (docs, _) = state
                .docs
                .list_documents(tenant_id, dataset_id, &DocumentListQuery::all())
                .await?;
            docs.into_iter().map(|d| d.id).collect()
        }
        (false, false) => {
            let (_, dups) = dedupe_ids(&ids, "document");
            if !dups.is_empty() {
                let mut seen: Vec<&String> = Vec::new();
                let mut repeated: Vec<&str> = Vec::new();
                for id in &ids {
                    if seen.contains(&id) && !repeated.contains(&id.as_str()) {
                        repeated.push(id);
                    }
                    seen.push(id);
                }
                return Err(ApiError::argument(
                    crate::contract::validation::format_errors(&[
                        crate::contract::validation::FieldError::new(
                            "ids",
                            format!("Value error, Duplicate ids: '{}'", repeated.join(", ")),
                            &Value::Array(ids.iter().cloned().map(Value::String).collect()),
                        ),
                    ]),
                ));
            }
            let mut missing = Vec::new();
            for id in &ids {
                if state
                    .docs
                    .get_document(tenant_id, dataset_id, id)
                    .await?
                    .is_none()
                {
                    missing.push(id.as_str());
                }
            }
            if !missing.is_empty() {
                return Err(ApiError::data(format!(
                    "These documents do not belong to dataset {dataset_id} or Document not found: {}",
                    missing.join(", ")
                )));
            }
            ids
        }
    };
    let mut deleted = 0u64;
    for id in &ids {
        if remove_document(state, tenant_id, dataset_id, id).await? {
            deleted += 1;
        }
    }
    Ok(DeleteReply::Deleted(deleted))
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

/// The parse and stop routes' prelude (pinned and v0.27 alike): the caller owns the
/// dataset, and `document_ids` is a non-empty list; its unique ids and the duplicate-id
/// messages.
pub(super) async fn owned_doc_ids(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    req: &Map<String, Value>,
) -> Result<(Vec<String>, Vec<String>), ApiError> {
    owned_dataset(state, tenant_id, dataset_id, || {
        ApiError::data(format!("You don't own the dataset {dataset_id}."))
    })
    .await?;
    Ok(dedupe_ids(&required_doc_ids(req)?, "document"))
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

/// Documents queued at once by one parse request: each costs a few store round trips
/// (update, chunk delete, enqueue), which on AWS are network calls, and a request queueing
/// hundreds of documents one after another would outlive API Gateway's 30 s.
pub(super) const PARSE_CONCURRENCY: usize = 16;

/// F6: start parsing. Each document moves to RUNNING at a new generation, loses its
/// chunks, and gets one task; a repeated or stale task is recognised by its generation.
///
/// Upstream walks the ids in order: a missing id is collected (and reported at the end),
/// and a document being processed ends the request with an error, after the documents
/// before it were queued. The documents are looked up first (one batch read), so the same
/// prefix is known before anything is written; that prefix is then queued concurrently.
pub async fn parse(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    req: &Map<String, Value>,
) -> Result<BatchOutcome, ApiError> {
    let (ids, dup_errors) = owned_doc_ids(state, tenant_id, dataset_id, req).await?;
    let found = state
        .docs
        .get_documents(tenant_id, &[dataset_id.to_string()], &ids)
        .await?;
    let mut by_id: std::collections::HashMap<String, Document> =
        found.into_iter().map(|d| (d.id.clone(), d)).collect();
    let mut missing = Vec::new();
    let mut to_queue = Vec::new();
    let mut busy = false;
    for id in &ids {
        match by_id.remove(id) {
            None => missing.push(Value::String(id.clone())),
            Some(doc) if doc.progress > 0.0 && doc.progress < 1.0 => {
                busy = true;
                break;
            }
            Some(doc) => to_queue.push(doc),
        }
    }
    let queued: Vec<Result<(), ApiError>> = futures_util::stream::iter(to_queue)
        .map(|doc| queue_parse(state, tenant_id, dataset_id, doc))
        .buffer_unordered(PARSE_CONCURRENCY)
        .collect()
        .await;
    let success = queued.iter().filter(|r| r.is_ok()).count() as u64;
    if let Some(Err(e)) = queued.into_iter().find(Result::is_err) {
        return Err(e);
    }
    if busy {
        return Err(ApiError::data(
            "Can't parse document that is currently being processed",
        ));
    }
    if !missing.is_empty() {
        return Err(documents_not_found(missing));
    }
    batch_result(success, dup_errors)
}

/// Move one document to RUNNING at its next generation, drop its chunks, enqueue its task.
pub(super) async fn queue_parse(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    mut doc: Document,
) -> Result<(), ApiError> {
    // A document never queued before (generation 0) cannot have chunks in the index.
    let may_have_chunks = doc.generation > 0 || doc.chunk_count > 0;
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
    if may_have_chunks {
        state
            .index
            .delete_document(tenant_id, dataset_id, &doc.id, None)
            .await?;
    }
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
    Ok(())
}

/// F7: stop parsing. The generation moves on, so the worker's later writes are refused.
pub async fn stop(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    req: &Map<String, Value>,
) -> Result<BatchOutcome, ApiError> {
    let (ids, dup_errors) = owned_doc_ids(state, tenant_id, dataset_id, req).await?;
    let mut success = 0u64;
    for id in &ids {
        let Some(doc) = state.docs.get_document(tenant_id, dataset_id, id).await? else {
            return Err(ApiError::data(format!("You don't own the document {id}.")));
        };
        // Upstream refuses progress 0 or 1; a queued task (RUNNING at 0) is stoppable here.
        if doc.run != RunStatus::Running {
            return Err(ApiError::data(
                "Can't stop parsing document with progress at 0 or 1",
            ));
        }
        cancel_parse(state, tenant_id, dataset_id, doc).await?;
        success += 1;
    }
    batch_result(success, dup_errors)
}

/// Stop a document's parse: the generation moves on (so the worker's later writes are
/// refused), the document is CANCEL with no chunks, and its indexed chunks go.
pub(super) async fn cancel_parse(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    mut doc: Document,
) -> Result<(), ApiError> {
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
    Ok(())
}

/// Upstream's 102 for ids that name no document of the dataset (F5, F6), listed as a
/// Python list.
pub(super) fn documents_not_found(missing: Vec<Value>) -> ApiError {
    ApiError::data(format!(
        "Documents not found: {}",
        py_repr(&Value::Array(missing))
    ))
}
