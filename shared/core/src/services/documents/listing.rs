//! F3: listing a dataset's documents, with its filters and the metadata condition.

use super::*;

/// Parse an int query value like Python's `int()`, with its error text.
pub fn py_int(key_value: &str) -> Result<i64, ApiError> {
    key_value.trim().parse::<i64>().map_err(|_| {
        ApiError::exception(format!(
            "ValueError(\"invalid literal for int() with base 10: {}\")",
            crate::contract::pyfmt::py_str_repr(key_value)
        ))
    })
}

/// The filters of a document list that the store does not apply itself: `list` narrows the
/// query's ids with them.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ListFilters {
    /// The pinned `metadata_condition` (a metadata_filter condition set).
    pub condition: Option<Value>,
    /// v0.27 `types`: any of these document types.
    pub types: Vec<String>,
    /// v0.27 `metadata`: `{key: value | [values]}`, any value within a key, every key.
    pub metadata: Option<Map<String, Value>>,
    /// v0.27 `return_empty_metadata`: only documents without metadata.
    pub empty_metadata_only: bool,
    /// v0.27 `type=filter`: answer the counts of the filter choices, not the documents.
    pub summary: bool,
}

impl ListFilters {
    fn narrows(&self) -> bool {
        self.condition.is_some()
            || !self.types.is_empty()
            || self.metadata.is_some()
            || self.empty_metadata_only
    }
}

fn has_metadata(meta_fields: &Value) -> bool {
    match meta_fields {
        Value::Object(m) => !m.is_empty(),
        Value::Null => false,
        _ => true,
    }
}

/// Document types v0.27's `types` filter knows (upstream's file types).
const DOC_TYPES: [&str; 6] = ["pdf", "doc", "visual", "aural", "virtual", "other"];

/// F4 query string → a document query and the filters `list` resolves.
pub fn validate_list(
    pairs: &[(String, String)],
) -> Result<(DocumentListQuery, ListFilters), ApiError> {
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
    // v0.27's spelling; unlike the pinned `run`, an unknown state is an error.
    for r in crate::contract::http::repeated_csv(pairs, &["run_status", "run_status[]", "run[]"]) {
        match RunStatus::parse(&r.to_uppercase()) {
            Some(s) if !q.runs.contains(&s) => q.runs.push(s),
            Some(_) => {}
            None => {
                return Err(ApiError::data(format!(
                    "Invalid filter run status conditions: {r}"
                )))
            }
        }
    }
    let ids = crate::contract::http::repeated_csv(pairs, &["ids"]);
    if ids.len() > crate::contract::http::MAX_LIST_IDS {
        return Err(ApiError::argument(format!(
            "ids must contain at most {} IDs",
            crate::contract::http::MAX_LIST_IDS
        )));
    }
    if !ids.is_empty() {
        q.only_ids = Some(match q.only_ids.take() {
            Some(prev) => prev,
            None => ids,
        });
    }
    let types: Vec<String> = crate::contract::http::repeated_csv(pairs, &["types"])
        .into_iter()
        .map(|t| t.to_lowercase())
        .collect();
    let unknown: Vec<&str> = types
        .iter()
        .map(String::as_str)
        .filter(|t| !DOC_TYPES.contains(t))
        .collect();
    if !unknown.is_empty() {
        let noun = if unknown.len() == 1 { "type" } else { "types" };
        return Err(ApiError::data(format!(
            "Invalid filter conditions: {} {noun}",
            unknown.join(", ")
        )));
    }
    let metadata = match first("metadata").filter(|s| !s.trim().is_empty()) {
        None => None,
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => Some(m),
            Ok(_) => return Err(ApiError::data("metadata must be an object.")),
            Err(_) => return Err(ApiError::data("metadata must be valid JSON.")),
        },
    };
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
    let truthy = |k: &str| first(k).is_some_and(|v| matches!(v.trim(), "true" | "True" | "1"));
    Ok((
        q,
        ListFilters {
            condition,
            types,
            metadata,
            empty_metadata_only: truthy("return_empty_metadata"),
            summary: first("type") == Some("filter"),
        },
    ))
}

/// Whether a document's `meta_fields` hold, for every key of `wanted`, one of its values
/// (a list of values, or a list-valued field, matches on any common element).
pub fn metadata_matches(meta_fields: &Value, wanted: &Map<String, Value>) -> bool {
    let as_list = |v: &Value| -> Vec<Value> {
        match v {
            Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        }
    };
    wanted.iter().all(|(key, want)| {
        let Some(have) = meta_fields.get(key) else {
            return false;
        };
        let have = as_list(have);
        as_list(want).iter().any(|w| have.contains(w))
    })
}

/// F4.
pub async fn list(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    mut q: DocumentListQuery,
    filters: ListFilters,
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
    if filters.narrows() {
        let passing = ids_passing(state, tenant_id, dataset_id, &filters).await?;
        q.only_ids = Some(match q.only_ids.take() {
            Some(prev) => prev.into_iter().filter(|i| passing.contains(i)).collect(),
            None => passing.into_iter().collect(),
        });
    }
    Ok(state.docs.list_documents(tenant_id, dataset_id, &q).await?)
}

/// Ids of the dataset's documents that pass every filter the store does not apply.
async fn ids_passing(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    filters: &ListFilters,
) -> Result<std::collections::HashSet<String>, ApiError> {
    let condition = match &filters.condition {
        None => None,
        Some(c) => metadata_filter::parse(Some(c)).map_err(|e| ApiError::data(e.to_string()))?,
    };
    let (docs, _) = state
        .docs
        .list_documents(tenant_id, dataset_id, &DocumentListQuery::all())
        .await?;
    Ok(docs
        .into_iter()
        .filter(|d| condition.as_ref().is_none_or(|f| f.matches(&d.meta_fields)))
        .filter(|d| filters.types.is_empty() || filters.types.contains(&d.doc_type))
        .filter(|d| {
            filters
                .metadata
                .as_ref()
                .is_none_or(|m| metadata_matches(&d.meta_fields, m))
        })
        .filter(|d| !filters.empty_metadata_only || !has_metadata(&d.meta_fields))
        .map(|d| d.id)
        .collect())
}

/// F4's reply: `{total, docs}`, or with `type=filter` v0.27's `{total, filter}`, where
/// `filter` counts the matching documents by suffix, by run state (its digit) and by
/// metadata value (`empty_metadata` counts those without any), for a UI's filter choices.
pub async fn list_reply(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    mut q: DocumentListQuery,
    filters: ListFilters,
) -> Result<Value, ApiError> {
    if filters.summary {
        q.page = 1;
        q.page_size = u64::MAX;
    }
    let summary = filters.summary;
    let empty_only = filters.empty_metadata_only;
    let (docs, total) = list(state, tenant_id, dataset_id, q, filters).await?;
    if summary {
        return Ok(json!({"total": total, "filter": filter_counts(&docs)}));
    }
    let mut items: Vec<Value> = docs.iter().map(|d| d.to_list_api()).collect();
    if empty_only {
        for item in &mut items {
            item["meta_fields"] = json!({});
        }
    }
    Ok(json!({"total": total, "docs": items}))
}

/// The counts of `type=filter`.
pub fn filter_counts(docs: &[Document]) -> Value {
    let mut suffix: Map<String, Value> = Map::new();
    let mut run: Map<String, Value> = Map::new();
    let mut metadata: Map<String, Value> = Map::new();
    let mut empty = 0u64;
    let bump = |m: &mut Map<String, Value>, key: String| {
        let n = m.get(&key).and_then(Value::as_u64).unwrap_or(0);
        m.insert(key, json!(n + 1));
    };
    for d in docs {
        bump(&mut suffix, d.suffix.clone());
        bump(&mut run, d.run.digit().to_string());
        // Null and blank values are not choices; a document with only those counts as one
        // without metadata.
        let mut counted = false;
        if let Value::Object(fields) = &d.meta_fields {
            for (key, value) in fields {
                let values = match value {
                    Value::Array(a) => a.as_slice(),
                    other => std::slice::from_ref(other),
                };
                for v in values {
                    let blank = match v {
                        Value::Null => true,
                        Value::String(s) => s.trim().is_empty(),
                        _ => false,
                    };
                    if blank {
                        continue;
                    }
                    let slot = metadata.entry(key.clone()).or_insert_with(|| json!({}));
                    if let Value::Object(counts) = slot {
                        bump(counts, crate::contract::pyfmt::py_str(v));
                        counted = true;
                    }
                }
            }
        }
        if !counted {
            empty += 1;
        }
    }
    metadata.insert("empty_metadata".into(), json!({"true": empty}));
    json!({"suffix": suffix, "run_status": run, "metadata": metadata})
}
