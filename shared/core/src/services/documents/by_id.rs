//! v0.27's document routes without a dataset in the path: `GET /documents/{id}` (the file,
//! as a download) and `GET /documents/{id}/preview` (the file, inline, with its type).

use super::*;

/// The tenant's document with this id, in whichever of its datasets it is.
pub async fn find_document(
    state: &AppState,
    tenant_id: &str,
    document_id: &str,
) -> Result<Document, ApiError> {
    let not_found = || ApiError::data("document not found").with_data(json!(false));
    if document_id.is_empty() {
        return Err(not_found());
    }
    let (datasets, _) = state
        .meta
        .list_datasets(tenant_id, &crate::domain::DatasetListQuery::all())
        .await?;
    let ids: Vec<String> = datasets.into_iter().map(|d| d.id).collect();
    state
        .docs
        .get_documents(tenant_id, &ids, &[document_id.to_string()])
        .await?
        .into_iter()
        .next()
        .ok_or_else(not_found)
}

/// A document's bytes, its name and the MIME type it is previewed with.
pub struct DocumentFile {
    pub name: String,
    pub mime: String,
    pub bytes: Bytes,
}

pub async fn document_file(
    state: &AppState,
    tenant_id: &str,
    document_id: &str,
) -> Result<DocumentFile, ApiError> {
    let doc = find_document(state, tenant_id, document_id).await?;
    let bytes = state
        .blobs
        .get(tenant_id, &doc.location)
        .await?
        .unwrap_or_default();
    if bytes.is_empty() {
        return Err(ApiError::data("This file is empty.").with_data(json!(false)));
    }
    let ext = doc
        .name
        .rsplit_once('.')
        .map(|(_, e)| e.to_lowercase())
        .unwrap_or_default();
    Ok(DocumentFile {
        mime: crate::services::files::mime_of(&ext, doc.doc_type == "visual"),
        name: doc.name,
        bytes,
    })
}

/// Most ids one thumbnails request may name (upstream's `validate_rest_api_ids`).
pub const THUMBNAIL_IDS_LIMIT: usize = 100;

/// v0.27's `GET /thumbnails?doc_ids=…`: each named document of the caller's with its
/// thumbnail (a `data:` URI as stored, a stored image name as its `/documents/images/` URL,
/// or null: lambdarag makes no thumbnails at parse time). Unknown ids, and other tenants'
/// documents, are left out.
pub async fn thumbnails(
    state: &AppState,
    tenant_id: &str,
    doc_ids: &[String],
) -> Result<Value, ApiError> {
    if doc_ids.is_empty() {
        return Err(ApiError::argument("Lack of \"Document ID\"").with_data(json!(false)));
    }
    if doc_ids.len() > THUMBNAIL_IDS_LIMIT {
        return Err(ApiError::argument(format!(
            "doc_ids must contain at most {THUMBNAIL_IDS_LIMIT} IDs"
        )));
    }
    let (datasets, _) = state
        .meta
        .list_datasets(tenant_id, &crate::domain::DatasetListQuery::all())
        .await?;
    let ids: Vec<String> = datasets.into_iter().map(|d| d.id).collect();
    let docs = state.docs.get_documents(tenant_id, &ids, doc_ids).await?;
    let mut out = Map::new();
    for id in doc_ids {
        let Some(doc) = docs.iter().find(|d| &d.id == id) else {
            continue;
        };
        let thumbnail = match doc.thumbnail.as_deref() {
            Some(t) if !t.is_empty() && !t.starts_with("data:") => {
                json!(format!("/api/v1/documents/images/{}-{t}", doc.dataset_id))
            }
            other => json!(other),
        };
        out.insert(id.clone(), thumbnail);
    }
    Ok(Value::Object(out))
}
