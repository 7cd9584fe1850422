//! Document metadata: the per-dataset summary and batch updates of `meta_fields`.

use super::*;

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

pub(super) fn looks_like_time(s: &str) -> bool {
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
    // The pinned route's message ends with a space; v0.27's PATCH form's does not.
    edit_metadata(state, tenant_id, dataset_id, req, ". ").await
}

/// v0.27's `PATCH /datasets/{id}/documents/metadatas`: the same selector, updates and
/// deletes as F9.
pub async fn metadata_update_v027(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    edit_metadata(state, tenant_id, dataset_id, req, ".").await
}

async fn edit_metadata(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    req: &Map<String, Value>,
    owner_msg_end: &str,
) -> Result<Value, ApiError> {
    owned_dataset(state, tenant_id, dataset_id, || {
        ApiError::data(format!(
            "You don't own the dataset {dataset_id}{owner_msg_end}"
        ))
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
