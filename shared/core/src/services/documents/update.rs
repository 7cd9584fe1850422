//! F2: updating a document: rename, chunk method, parser config, metadata, enabled.

use super::*;

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
