//! Chunks of a document (contract C1–C4): list, add, update, delete.
//! Token counting is passed in by the caller (the ingest crate owns the tokenizer).
//! The v0.27 additions (single read, bulk availability, tags, images) are in `v027`.

pub mod v027;
mod words;

pub use words::{highlight, lowercase_tokens, push_lowercase, word_spans};

use serde_json::{json, Map, Value};

use crate::contract::batch::{dedupe_ids, BatchOutcome};
use crate::contract::envelope::{ApiError, RetCode};
use crate::contract::pyfmt::py_type_name;
use crate::contract::time::{now_ms, plain_datetime};
use crate::domain::{ChunkRecord, Dataset, Document, ProgressUpdate};
use crate::ports::ChunkListQuery;
use crate::services::documents::{lookup_error, owned_dataset};
use crate::state::AppState;

pub type TokenCounter<'a> = &'a (dyn Fn(&str) -> usize + Sync);

/// Manual chunk ids: xxh64 of content + document id, as upstream (so re-adding the same
/// content to a document upserts).
pub fn manual_chunk_id(content: &str, doc_id: &str) -> String {
    format!(
        "{:016x}",
        xxhash_rust::xxh64::xxh64(format!("{content}{doc_id}").as_bytes(), 0)
    )
}

/// The list-chunks shape (6.4).
pub fn chunk_to_api(c: &ChunkRecord, highlighted: Option<String>) -> Value {
    json!({
        "id": c.id,
        "content": highlighted.unwrap_or_else(|| c.content.clone()),
        "document_id": c.document_id,
        "docnm_kwd": c.document_name,
        "important_keywords": c.important_keywords,
        "questions": c.questions,
        "dataset_id": c.dataset_id,
        "image_id": c.image_id,
        "available": c.available,
        "positions": c.positions,
        // v0.27 keys, beside the pinned ones.
        "tag_kwd": c.tag_kwd,
        "doc_type_kwd": if c.doc_type.is_empty() { "text" } else { c.doc_type.as_str() },
    })
}

async fn dataset_and_doc(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    doc_id: &str,
) -> Result<(Dataset, Document), ApiError> {
    let ds = owned_dataset(state, tenant_id, dataset_id, || {
        ApiError::data(format!("You don't own the dataset {dataset_id}."))
    })
    .await?;
    let doc = state
        .docs
        .get_document(tenant_id, dataset_id, doc_id)
        .await?
        .ok_or_else(|| ApiError::data(format!("You don't own the document {doc_id}.")))?;
    Ok((ds, doc))
}

fn py_int_arg(v: &str) -> Result<u64, ApiError> {
    v.trim()
        .parse::<i64>()
        .map(|n| n.max(0) as u64)
        .map_err(|_| {
            ApiError::exception(format!(
                "ValueError(\"invalid literal for int() with base 10: {}\")",
                crate::contract::pyfmt::py_str_repr(v)
            ))
        })
}

/// The page an Elasticsearch search returns when no size is given (its `size` default).
const ENGINE_DEFAULT_PAGE: u64 = 10;

/// C1: a document's chunks, with the document.
pub async fn list(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    doc_id: &str,
    pairs: &[(String, String)],
) -> Result<Value, ApiError> {
    let (_, doc) = dataset_and_doc(state, tenant_id, dataset_id, doc_id).await?;
    let first = |k: &str| crate::contract::http::first(pairs, k).filter(|v| !v.is_empty());
    let page = first("page")
        .map(py_int_arg)
        .transpose()?
        .unwrap_or(1)
        .max(1);
    let page_size = first("page_size")
        .map(py_int_arg)
        .transpose()?
        .unwrap_or(30);
    if let Some(id) = first("id") {
        let chunk = state.index.get(tenant_id, dataset_id, id).await?;
        return match chunk {
            None => Err(ApiError::new(
                RetCode::NotFound,
                format!("Chunk not found: {dataset_id}/{id}"),
            )),
            Some(c) if c.document_id != doc_id => {
                Err(ApiError::data(format!("Chunk `{id}` not found.")))
            }
            Some(c) => {
                // v0.27's single-chunk form also carries the tag scores.
                let mut one = chunk_to_api(&c, None);
                if let Value::Object(m) = &mut one {
                    m.insert("tag_feas".into(), json!(c.tag_feas));
                }
                Ok(json!({"total": 1, "chunks": [one], "doc": doc.to_api()}))
            }
        };
    }
    let keywords = first("keywords").map(str::to_string);
    // Upstream only slices the engine's hits when the size is positive; a size of 0 leaves
    // the search engine's own default page: the first ENGINE_DEFAULT_PAGE hits, whatever
    // `page` says (its offset is page × 0).
    let (page, page_size) = if page_size == 0 {
        (1, ENGINE_DEFAULT_PAGE)
    } else {
        (page, page_size)
    };
    let filters = v027::ListFilters::from_query(pairs)?;
    let (chunks, total) = if filters.is_empty() {
        let query = ChunkListQuery {
            keywords: keywords.clone(),
            page,
            page_size,
        };
        state
            .index
            .list_document(tenant_id, dataset_id, doc_id, &query)
            .await?
    } else {
        // v0.27's filters select among one document's chunks: the whole (keyword-matched)
        // list is read in its order, filtered, then paged here.
        let query = ChunkListQuery {
            keywords: keywords.clone(),
            page: 1,
            page_size: 0,
        };
        let (all, _) = state
            .index
            .list_document(tenant_id, dataset_id, doc_id, &query)
            .await?;
        filters.page(all, page, page_size)
    };
    let rows: Vec<Value> = chunks
        .iter()
        .map(|c| chunk_to_api(c, keywords.as_deref().map(|k| highlight(&c.content, k))))
        .collect();
    Ok(json!({"total": total, "chunks": rows, "doc": doc.to_api()}))
}

/// How a list field's items are kept: upstream strips questions and drops blank ones, but
/// stores important keywords exactly as sent (`[""]` reads back `[""]`).
#[derive(Clone, Copy, PartialEq)]
enum Items {
    AsSent,
    TrimmedNonBlank,
}

fn str_list_field(
    req: &Map<String, Value>,
    key: &str,
    not_list_msg: &str,
    items_kept: Items,
) -> Result<Option<Vec<String>>, ApiError> {
    match req.get(key) {
        None => Ok(None),
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, it) in items.iter().enumerate() {
                match it {
                    Value::String(s) if items_kept == Items::AsSent => out.push(s.clone()),
                    Value::String(s) => {
                        let s = s.trim();
                        if !s.is_empty() {
                            out.push(s.to_string());
                        }
                    }
                    other => {
                        return Err(ApiError::exception(format!(
                            "TypeError('sequence item {i}: expected str instance, {} found')",
                            py_type_name(other)
                        )))
                    }
                }
            }
            Ok(Some(out))
        }
        Some(_) => Err(ApiError::data(not_list_msg.to_string())),
    }
}

/// Embed a chunk as upstream: 0.1 × the document title + 0.9 × (questions or content).
async fn embed_chunk(
    state: &AppState,
    tenant_id: &str,
    ds: &Dataset,
    doc_name: &str,
    content: &str,
    questions: &[String],
) -> Result<Vec<f32>, ApiError> {
    let tenant = state
        .meta
        .get_tenant(tenant_id)
        .await?
        .ok_or_else(|| ApiError::data("Tenant not found!"))?;
    let embedder = state
        .embedders
        .embedder(&tenant, &ds.embedding_model)
        .map_err(|e| ApiError::data(e.to_string()))?;
    let body = if questions.is_empty() {
        content.to_string()
    } else {
        questions.join("\n")
    };
    let vecs = embedder
        .embed(&[doc_name.to_string(), body])
        .await
        .map_err(|e| ApiError::data(e.to_string()))?;
    let (Some(title), Some(main)) = (vecs.first(), vecs.get(1)) else {
        return Err(ApiError::data("The embedding model returned no vectors."));
    };
    let mixed: Vec<f32> = title
        .iter()
        .zip(main)
        .map(|(t, m)| 0.1 * t + 0.9 * m)
        .collect();
    let norm = mixed.iter().map(|x| x * x).sum::<f32>().sqrt();
    Ok(if norm > 0.0 {
        mixed.iter().map(|x| x / norm).collect()
    } else {
        mixed
    })
}

/// C2: add a chunk by hand.
pub async fn add(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    doc_id: &str,
    req: &Map<String, Value>,
    count_tokens: TokenCounter<'_>,
) -> Result<Value, ApiError> {
    let (ds, doc) = dataset_and_doc(state, tenant_id, dataset_id, doc_id).await?;
    let content = match req.get("content") {
        None => return Err(ApiError::data("`content` is required")),
        Some(Value::Null) => {
            return Err(ApiError::exception(
                "TypeError(\"unsupported operand type(s) for +: 'NoneType' and 'str'\")",
            ))
        }
        Some(Value::String(s)) => s.clone(),
        Some(other) => crate::contract::pyfmt::py_str(other),
    };
    if content.trim().is_empty() {
        return Err(ApiError::data("`content` is required"));
    }
    let keywords = str_list_field(
        req,
        "important_keywords",
        "`important_keywords` is required to be a list",
        Items::AsSent,
    )?
    .unwrap_or_default();
    let questions = str_list_field(
        req,
        "questions",
        "`questions` is required to be a list",
        Items::TrimmedNonBlank,
    )?
    .unwrap_or_default();
    let tags = v027::tag_kwd(req)?.unwrap_or_default();
    let tag_scores = v027::tag_feas(req)?.unwrap_or_default();
    let image = v027::image_bytes(req)?;
    let vector = embed_chunk(state, tenant_id, &ds, &doc.name, &content, &questions).await?;
    let now = now_ms();
    let tokens = count_tokens(&content) as i64;
    let mut record = ChunkRecord {
        id: manual_chunk_id(&content, doc_id),
        tenant_id: tenant_id.to_string(),
        dataset_id: dataset_id.to_string(),
        document_id: doc_id.to_string(),
        document_name: doc.name.clone(),
        content: content.clone(),
        important_keywords: keywords.clone(),
        questions: questions.clone(),
        available: true,
        positions: vec![],
        image_id: String::new(),
        doc_type: String::new(),
        tag_kwd: tags.clone(),
        tag_feas: tag_scores,
        raptor_kwd: String::new(),
        position: now,
        token_count: tokens,
        create_time: now,
        generation: doc.generation,
        vector,
    };
    if let Some(bytes) = image {
        v027::store_image(state, tenant_id, &mut record, bytes).await?;
    }
    state
        .index
        .upsert(tenant_id, std::slice::from_ref(&record))
        .await?;
    state
        .docs
        .apply_progress(
            tenant_id,
            dataset_id,
            doc_id,
            doc.generation,
            &ProgressUpdate {
                chunk_count: Some(doc.chunk_count + 1),
                token_count: Some(doc.token_count + tokens),
                ..Default::default()
            },
        )
        .await?;
    let mut reply = json!({
        "id": record.id,
        "content": content,
        "document_id": doc_id,
        "important_keywords": keywords,
        "questions": questions,
        "dataset_id": dataset_id,
        "tag_kwd": tags,
        "create_time": plain_datetime(now),
        "create_timestamp": now as f64 / 1000.0,
    });
    // Only a chunk given an image (v0.27 `image_base64`) reports one.
    if let (false, Value::Object(m)) = (record.image_id.is_empty(), &mut reply) {
        m.insert("image_id".into(), json!(record.image_id));
    }
    Ok(json!({ "chunk": reply }))
}

/// C3: delete chunks (absent, null or [] = all of the document's). With a `delete_all` key
/// the v0.27 rules apply instead (see `v027::delete_scope`).
///
/// Divergence: upstream rejects `null` with a leaked TypeError although its SDK sends
/// `null` for "all"; lambdarag deletes all.
pub async fn delete(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    doc_id: &str,
    req: &Map<String, Value>,
) -> Result<BatchOutcome, ApiError> {
    owned_dataset(state, tenant_id, dataset_id, || {
        ApiError::data(format!("You don't own the dataset {dataset_id}."))
    })
    .await?;
    let scope = v027::delete_scope(req);
    let doc = state
        .docs
        .get_document(tenant_id, dataset_id, doc_id)
        .await?
        .ok_or_else(|| match scope {
            v027::DeleteScope::Pinned => lookup_error("document", doc_id),
            _ => ApiError::data(format!("you don't own the document {doc_id}")),
        })?;
    if scope == v027::DeleteScope::Nothing {
        return Ok(BatchOutcome::Done);
    }
    let requested: Option<Vec<String>> = match req.get("chunk_ids") {
        _ if scope == v027::DeleteScope::All => None,
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) if a.is_empty() => None,
        Some(Value::Array(a)) => Some(a.iter().map(crate::contract::pyfmt::py_str).collect()),
        Some(other) => {
            return Err(ApiError::data(format!(
                "`chunk_ids` should be a list, got {}",
                py_type_name(other)
            )))
        }
    };
    let (deleted, dup_errors, expected) = match requested {
        None => {
            let n = state
                .index
                .delete_document(tenant_id, dataset_id, doc_id, None)
                .await?;
            (n, vec![], n)
        }
        Some(ids) => {
            let (unique, dups) = dedupe_ids(&ids, "chunk");
            let mut removed_tokens = 0i64;
            for id in &unique {
                if let Some(c) = state.index.get(tenant_id, dataset_id, id).await? {
                    if c.document_id == doc_id {
                        removed_tokens += c.token_count;
                    }
                }
            }
            let n = state
                .index
                .delete_chunks(tenant_id, dataset_id, doc_id, &unique)
                .await?;
            adjust_counts(state, &doc, -(n as i64), -removed_tokens).await?;
            (n, dups, unique.len() as u64)
        }
    };
    let everything = scope == v027::DeleteScope::All
        || req
            .get("chunk_ids")
            .is_none_or(|v| v.is_null() || v.as_array().is_some_and(Vec::is_empty));
    if expected == deleted && dup_errors.is_empty() && everything {
        // Everything went: the document has no chunks left.
        state
            .docs
            .apply_progress(
                tenant_id,
                dataset_id,
                doc_id,
                doc.generation,
                &ProgressUpdate {
                    chunk_count: Some(0),
                    token_count: Some(0),
                    ..Default::default()
                },
            )
            .await?;
    }
    if deleted != expected {
        return Err(ApiError::data(format!(
            "rm_chunk deleted chunks {deleted}, expect {expected}"
        )));
    }
    crate::contract::batch::batch_result(deleted, dup_errors)
}

async fn adjust_counts(
    state: &AppState,
    doc: &Document,
    chunks: i64,
    tokens: i64,
) -> Result<(), ApiError> {
    // Re-read so concurrent changes are not overwritten with a stale count.
    let Some(cur) = state
        .docs
        .get_document(&doc.tenant_id, &doc.dataset_id, &doc.id)
        .await?
    else {
        return Ok(());
    };
    state
        .docs
        .apply_progress(
            &doc.tenant_id,
            &doc.dataset_id,
            &doc.id,
            cur.generation,
            &ProgressUpdate {
                chunk_count: Some((cur.chunk_count + chunks).max(0)),
                token_count: Some((cur.token_count + tokens).max(0)),
                ..Default::default()
            },
        )
        .await?;
    Ok(())
}

/// C4: edit a chunk (re-embeds when its text changes).
pub async fn update(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    doc_id: &str,
    chunk_id: &str,
    req: &Map<String, Value>,
    count_tokens: TokenCounter<'_>,
) -> Result<(), ApiError> {
    let mut chunk = state
        .index
        .get(tenant_id, dataset_id, chunk_id)
        .await?
        .ok_or_else(|| ApiError::data(format!("Can't find this chunk {chunk_id}")))?;
    let (ds, doc) = dataset_and_doc(state, tenant_id, dataset_id, doc_id).await?;
    if chunk.document_id != doc_id {
        return Err(ApiError::data(format!("Can't find this chunk {chunk_id}")));
    }
    let old_tokens = chunk.token_count;
    let mut text_changed = false;
    if let Some(v) = req.get("content").filter(|v| !v.is_null()) {
        let content = crate::contract::pyfmt::py_str(v);
        text_changed |= content != chunk.content;
        chunk.content = content;
    }
    if let Some(k) = str_list_field(
        req,
        "important_keywords",
        "`important_keywords` should be a list",
        Items::AsSent,
    )? {
        chunk.important_keywords = k;
    }
    if let Some(q) = str_list_field(
        req,
        "questions",
        "`questions` should be a list",
        Items::TrimmedNonBlank,
    )? {
        text_changed |= q != chunk.questions;
        chunk.questions = q;
    }
    if let Some(tags) = v027::tag_kwd(req)? {
        chunk.tag_kwd = tags;
    }
    if let Some(scores) = v027::tag_feas(req)? {
        chunk.tag_feas = scores;
    }
    if let Some(bytes) = v027::image_bytes(req)? {
        v027::store_image(state, tenant_id, &mut chunk, bytes).await?;
    }
    if let Some(p) = req.get("positions") {
        let Some(list) = p.as_array() else {
            return Err(ApiError::data("`positions` should be a list"));
        };
        let mut out = Vec::new();
        for item in list {
            let nums: Option<Vec<i64>> = item
                .as_array()
                .map(|a| a.iter().map(Value::as_i64).collect::<Option<Vec<_>>>())
                .unwrap_or(None);
            match nums.as_deref() {
                Some([a, b, c, d, e]) => out.push([*a, *b, *c, *d, *e]),
                _ => {
                    return Err(ApiError::data(
                        "`positions` should be a list of [page, x0, x1, top, bottom]",
                    ))
                }
            }
        }
        chunk.positions = out;
    }
    if let Some(a) = req.get("available") {
        chunk.available = match a {
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64().unwrap_or(0.0) != 0.0,
            other => {
                return Err(ApiError::exception(format!(
                    "ValueError(\"invalid literal for int() with base 10: {}\")",
                    crate::contract::pyfmt::py_repr(other)
                )))
            }
        };
    }
    if doc.chunk_method == "qa" && text_changed {
        let parts: Vec<&str> = chunk
            .content
            .split(['\t', '\n'])
            .filter(|p| !p.trim().is_empty())
            .collect();
        if parts.len() != 2 {
            return Err(ApiError::data("Q&A must be separated by TAB/ENTER key."));
        }
    }
    if text_changed {
        chunk.vector = embed_chunk(
            state,
            tenant_id,
            &ds,
            &doc.name,
            &chunk.content,
            &chunk.questions,
        )
        .await?;
        chunk.token_count = count_tokens(&chunk.content) as i64;
    }
    state
        .index
        .upsert(tenant_id, std::slice::from_ref(&chunk))
        .await?;
    if chunk.token_count != old_tokens {
        adjust_counts(state, &doc, 0, chunk.token_count - old_tokens).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_ids_are_stable_xxh64() {
        let a = manual_chunk_id("hello", "doc");
        assert_eq!(a.len(), 16);
        assert_eq!(a, manual_chunk_id("hello", "doc"));
        assert_ne!(a, manual_chunk_id("hello", "doc2"));
    }
}
