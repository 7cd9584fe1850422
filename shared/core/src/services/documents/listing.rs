//! F3: listing a dataset's documents, with its filters and the metadata condition.

use super::*;

/// Parse an int query value like Python's `int()`, with its error text.
pub(super) fn py_int(key_value: &str) -> Result<i64, ApiError> {
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
