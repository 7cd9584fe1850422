//! v0.27's dataset tag routes and flattened metadata (UI helpers no SDK calls):
//! `GET /datasets/{id}/tags` (each tag of the dataset's chunks with its chunk count),
//! `DELETE` (remove tags from every chunk), `PUT` (rename a tag), `GET
//! /datasets/tags/aggregation` (counts over several datasets) and `GET
//! /datasets/metadata/flattened` (metadata key → value → document ids).
//!
//! Tags are a chunk's `tag_kwd`. The index has no tag aggregation, so the dataset's
//! chunks are read document by document: these routes cost one pass over the dataset.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::contract::envelope::ApiError;
use crate::contract::http::first;
use crate::domain::{ChunkRecord, DocumentListQuery};
use crate::ports::ChunkListQuery;
use crate::services::saved_filter;
use crate::state::AppState;

/// The single-dataset routes' check: the caller's dataset, else 102 `no authorization`.
async fn owned(state: &AppState, tenant_id: &str, dataset_id: &str) -> Result<(), ApiError> {
    match state.meta.get_dataset(tenant_id, dataset_id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::data("no authorization")),
    }
}

/// `dataset_ids` of the multi-dataset routes (comma-separated), each the caller's.
async fn owned_ids(
    state: &AppState,
    tenant_id: &str,
    pairs: &[(String, String)],
) -> Result<Vec<String>, ApiError> {
    let ids: Vec<String> = first(pairs, "dataset_ids")
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if ids.is_empty() {
        return Err(ApiError::data("Lack of dataset_ids in query parameters"));
    }
    for id in &ids {
        if state.meta.get_dataset(tenant_id, id).await?.is_none() {
            return Err(ApiError::data(format!(
                "No authorization for dataset '{id}'"
            )));
        }
    }
    Ok(ids)
}

/// Every chunk of a dataset (records without vectors).
async fn dataset_chunks(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
) -> Result<Vec<ChunkRecord>, ApiError> {
    let (docs, _) = state
        .docs
        .list_documents(tenant_id, dataset_id, &DocumentListQuery::all())
        .await?;
    let all = ChunkListQuery {
        keywords: None,
        page: 1,
        page_size: 0,
    };
    let mut out = Vec::new();
    for d in docs {
        let (chunks, _) = state
            .index
            .list_document(tenant_id, dataset_id, &d.id, &all)
            .await?;
        out.extend(chunks);
    }
    Ok(out)
}

fn count_tags(chunks: &[ChunkRecord], counts: &mut BTreeMap<String, u64>) {
    for c in chunks {
        for t in &c.tag_kwd {
            *counts.entry(t.clone()).or_default() += 1;
        }
    }
}

/// Most used first, then by name (a terms aggregation's order).
fn by_count(counts: BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// GET /datasets/{id}/tags: `[[tag, count], ...]`.
pub async fn list(state: &AppState, tenant_id: &str, dataset_id: &str) -> Result<Value, ApiError> {
    owned(state, tenant_id, dataset_id).await?;
    let mut counts = BTreeMap::new();
    count_tags(
        &dataset_chunks(state, tenant_id, dataset_id).await?,
        &mut counts,
    );
    Ok(json!(by_count(counts)))
}

/// GET /datasets/tags/aggregation: `[{"value": tag, "count": n}, ...]` over the datasets.
pub async fn aggregate(
    state: &AppState,
    tenant_id: &str,
    pairs: &[(String, String)],
) -> Result<Value, ApiError> {
    let ids = owned_ids(state, tenant_id, pairs).await?;
    let mut counts = BTreeMap::new();
    for id in &ids {
        count_tags(&dataset_chunks(state, tenant_id, id).await?, &mut counts);
    }
    Ok(Value::Array(
        by_count(counts)
            .into_iter()
            .map(|(tag, n)| json!({"value": tag, "count": n}))
            .collect(),
    ))
}

/// Rewrite the tags of every chunk `edit` changes (read with its vector, so the upsert
/// keeps it).
async fn retag(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    edit: impl Fn(&[String]) -> Option<Vec<String>>,
) -> Result<(), ApiError> {
    for c in dataset_chunks(state, tenant_id, dataset_id).await? {
        if edit(&c.tag_kwd).is_none() {
            continue;
        }
        let Some(mut full) = state.index.get(tenant_id, dataset_id, &c.id).await? else {
            continue;
        };
        if let Some(tags) = edit(&full.tag_kwd) {
            full.tag_kwd = tags;
            state
                .index
                .upsert(tenant_id, std::slice::from_ref(&full))
                .await?;
        }
    }
    Ok(())
}

/// DELETE /datasets/{id}/tags, body `{"tags": [...]}`: `{}`.
pub async fn delete(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let Some(tags) = req.get("tags") else {
        return Err(ApiError::data("Lack of tags in request body"));
    };
    let tags: Vec<String> = match tags.as_array() {
        Some(a) if a.iter().all(Value::is_string) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => return Err(ApiError::argument("tags must be a list of strings")),
    };
    owned(state, tenant_id, dataset_id).await?;
    retag(state, tenant_id, dataset_id, |have| {
        have.iter()
            .any(|t| tags.contains(t))
            .then(|| have.iter().filter(|t| !tags.contains(t)).cloned().collect())
    })
    .await?;
    Ok(json!({}))
}

/// PUT /datasets/{id}/tags, body `{"from_tag", "to_tag"}`: `{"from", "to"}`.
pub async fn rename(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let (Some(from), Some(to)) = (req.get("from_tag"), req.get("to_tag")) else {
        return Err(ApiError::data("Lack of from_tag or to_tag in request body"));
    };
    let (Some(from), Some(to)) = (from.as_str(), to.as_str()) else {
        return Err(ApiError::argument("from_tag and to_tag must be strings"));
    };
    owned(state, tenant_id, dataset_id).await?;
    let (old, new) = (from.trim().to_string(), to.to_string());
    retag(state, tenant_id, dataset_id, |have| {
        have.contains(&old).then(|| {
            let mut tags: Vec<String> = have.iter().filter(|t| **t != old).cloned().collect();
            if !tags.contains(&new) {
                tags.push(new.clone());
            }
            tags
        })
    })
    .await?;
    Ok(json!({"from": from, "to": to}))
}

/// GET /datasets/metadata/flattened: every metadata key of the datasets' documents, each
/// value with the ids of the documents holding it (list values count per element).
pub async fn flattened_metadata(
    state: &AppState,
    tenant_id: &str,
    pairs: &[(String, String)],
) -> Result<Value, ApiError> {
    let ids = owned_ids(state, tenant_id, pairs).await?;
    let mut out = saved_filter::Metas::new();
    for id in &ids {
        let (docs, _) = state
            .docs
            .list_documents(tenant_id, id, &DocumentListQuery::all())
            .await?;
        for d in docs {
            saved_filter::add_document(&mut out, &d.id, &d.meta_fields);
        }
    }
    Ok(json!(out))
}
