//! v0.27's document routes beside the pinned ones: parse and stop with a `success_count`
//! reply, bulk enable/disable, batch metadata edits (`PATCH …/documents/metadatas`) and a
//! document's own auto-metadata config. Their rules differ from the pinned F6/F7 in small
//! ways upstream kept (which ids end the request, which states may be stopped), so they
//! have their own functions over the same document and queue operations.

use super::*;
use crate::contract::batch::dedupe_ids;
use crate::contract::pyfmt::py_str;

use super::lifecycle::{
    cancel_parse, documents_not_found, owned_doc_ids, queue_parse, PARSE_CONCURRENCY,
};

/// `{"success_count": n}`, with the duplicate-id messages when there were any.
fn counted(success: u64, dup_errors: Vec<String>) -> Value {
    let mut reply = json!({ "success_count": success });
    if !dup_errors.is_empty() {
        reply["errors"] = json!(dup_errors);
    }
    reply
}

/// `POST /datasets/{id}/documents/parse`: queue every named document of the dataset,
/// whatever its state (a running one starts again at a new generation). Unknown ids are
/// reported as a 102 after the known ones were queued, as upstream does.
pub async fn parse_v027(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let (ids, dup_errors) = owned_doc_ids(state, tenant_id, dataset_id, req).await?;
    let (found, missing) = split_found(state, tenant_id, dataset_id, &ids).await?;
    if found.is_empty() {
        return Err(documents_not_found(missing));
    }
    let queued: Vec<Result<(), ApiError>> = futures_util::stream::iter(found)
        .map(|doc| queue_parse(state, tenant_id, dataset_id, doc))
        .buffer_unordered(PARSE_CONCURRENCY)
        .collect()
        .await;
    let success = queued.iter().filter(|r| r.is_ok()).count() as u64;
    if let Some(Err(e)) = queued.into_iter().find(Result::is_err) {
        return Err(e);
    }
    if !missing.is_empty() {
        return Err(documents_not_found(missing));
    }
    Ok(counted(success, dup_errors))
}

/// `POST /datasets/{id}/documents/stop`: any unknown id refuses the whole request; a
/// document that is neither queued/running nor already cancelled is skipped with a
/// message, and the reply is a success even when nothing was stopped.
pub async fn stop_v027(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let (ids, mut errors) = owned_doc_ids(state, tenant_id, dataset_id, req).await?;
    let (found, missing) = split_found(state, tenant_id, dataset_id, &ids).await?;
    if !missing.is_empty() {
        return Err(documents_not_found(missing));
    }
    let mut success = 0u64;
    for doc in found {
        if !matches!(doc.run, RunStatus::Running | RunStatus::Cancel) {
            errors.push(
                "Can't stop parsing document that has not started or already completed".into(),
            );
            continue;
        }
        cancel_parse(state, tenant_id, dataset_id, doc).await?;
        success += 1;
    }
    Ok(counted(success, errors))
}

/// The documents of `ids` the dataset has, in request order, and the ids it has not.
async fn split_found(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    ids: &[String],
) -> Result<(Vec<Document>, Vec<Value>), ApiError> {
    let mut by_id: std::collections::HashMap<String, Document> = state
        .docs
        .get_documents(tenant_id, &[dataset_id.to_string()], ids)
        .await?
        .into_iter()
        .map(|d| (d.id.clone(), d))
        .collect();
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for id in ids {
        match by_id.remove(id) {
            Some(doc) => found.push(doc),
            None => missing.push(Value::String(id.clone())),
        }
    }
    Ok((found, missing))
}

/// What `batch_update_status` did to each document, keyed by id in request order; `true`
/// when any document failed (upstream then answers code 500 `Partial failure`).
pub struct StatusOutcome {
    pub per_document: Value,
    pub any_failed: bool,
}

/// `POST /datasets/{id}/documents/batch-update-status`: enable (`"1"`) or disable (`"0"`)
/// documents. The body is checked before the dataset, as upstream does.
pub async fn batch_update_status(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    req: &Map<String, Value>,
) -> Result<StatusOutcome, ApiError> {
    let ids: Vec<String> = match req.get("doc_ids") {
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|v| match v {
                Value::String(s) if !s.is_empty() => Ok(s.clone()),
                _ => Err(ApiError::argument(
                    "\"doc_ids\" must contain non-empty document IDs.",
                )),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(ApiError::argument("\"doc_ids\" must be a non-empty list.")),
    };
    // Upstream compares `str(status)`: 0, 1, "0" and "1" pass; true ("True") and 1.0
    // ("1.0") do not; a missing status reads as -1.
    let status = req.get("status").map_or_else(|| "-1".to_string(), py_str);
    if status != "0" && status != "1" {
        return Err(ApiError::argument(format!(
            "\"Status\" must be either 0 or 1:{status}!"
        )));
    }
    owned_dataset(state, tenant_id, dataset_id, || {
        ApiError::data("you don't own the dataset")
    })
    .await?;
    let (unique, _) = dedupe_ids(&ids, "document");
    let in_dataset = state
        .docs
        .get_documents(tenant_id, &[dataset_id.to_string()], &unique)
        .await?;
    let mut per_document = Map::new();
    let mut any_failed = false;
    for id in unique {
        let outcome = match in_dataset.iter().find(|d| d.id == id) {
            Some(doc) if doc.status == status => json!({ "status": status }),
            Some(doc) => {
                let mut doc = doc.clone();
                doc.status = status.clone();
                doc.update_time = now_ms();
                match state.docs.update_document(&doc).await {
                    Ok(()) => json!({ "status": status }),
                    Err(StoreError::NotFound(_)) => {
                        any_failed = true;
                        json!({ "error": "Document not found" })
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            None => {
                any_failed = true;
                // Another of the caller's datasets: upstream's second message. Another
                // tenant's document is simply not found.
                let elsewhere = super::find_document(state, tenant_id, &id).await.is_ok();
                json!({ "error": if elsewhere {
                    "Document not found in this dataset."
                } else {
                    "Document not found"
                } })
            }
        };
        per_document.insert(id, outcome);
    }
    Ok(StatusOutcome {
        per_document: Value::Object(per_document),
        any_failed,
    })
}

/// `PUT /datasets/{id}/documents/{doc_id}/metadata/config`: set the document's own
/// auto-metadata configuration (`parser_config.metadata`, merged like upstream's
/// `update_parser_config`). The document is not parsed again.
pub async fn set_metadata_config(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    document_id: &str,
    req: &Map<String, Value>,
) -> Result<Document, ApiError> {
    owned_dataset(state, tenant_id, dataset_id, || {
        ApiError::data("you don't own the dataset")
    })
    .await?;
    let Some(mut doc) = state
        .docs
        .get_document(tenant_id, dataset_id, document_id)
        .await?
    else {
        return Err(ApiError::data(format!(
            "document {document_id} not found in dataset {dataset_id}"
        )));
    };
    let Some(metadata) = req.get("metadata") else {
        return Err(ApiError::argument("metadata is required"));
    };
    if !doc.parser_config.is_object() {
        doc.parser_config = json!({});
    }
    doc.parser_config = deep_merge(&doc.parser_config, &json!({ "metadata": metadata }));
    doc.update_time = now_ms();
    match state.docs.update_document(&doc).await {
        Ok(()) => Ok(doc),
        Err(StoreError::NotFound(_)) => Err(ApiError::data("document not found")),
        Err(e) => Err(e.into()),
    }
}

/// The document as the metadata-config route answers: the API object, plus the stored
/// row's own names upstream returns there (`kb_id`, `parser_id`, `chunk_num`,
/// `token_num`), so readers of either form find their keys.
pub fn row_and_api(doc: &Document) -> Value {
    let mut v = doc.to_api();
    if let Some(m) = v.as_object_mut() {
        m.insert("kb_id".into(), json!(doc.dataset_id));
        m.insert("parser_id".into(), json!(doc.chunk_method));
        m.insert("chunk_num".into(), json!(doc.chunk_count));
        m.insert("token_num".into(), json!(doc.token_count));
    }
    v
}
