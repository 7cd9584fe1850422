//! v0.27's `POST /datasets/{id}/embedding/check`: before switching a dataset's embedding
//! model, embed a sample of its chunks with the candidate and compare each new vector with
//! the stored one. Vector spaces that agree (average cosine ≥ 0.9) make the switch safe;
//! otherwise the reply is upstream's code 10 (NOT_EFFECTIVE) with the same figures.

use rand::seq::SliceRandom;
use serde_json::{json, Map, Value};

use crate::contract::envelope::ApiError;
use crate::contract::pyfmt::py_str;
use crate::domain::models::verify_embedding_model;
use crate::domain::{ChunkRecord, DocumentListQuery};
use crate::ports::ChunkListQuery;
use crate::state::AppState;

/// Chunks the sample is drawn from (upstream reads at most this many).
const POOL_LIMIT: usize = 1000;
/// The average cosine from which the two models count as the same space.
pub const SAME_SPACE: f64 = 0.9;
pub const NOT_EFFECTIVE_MESSAGE: &str = "Embedding model switch failed: the average similarity between old and new vectors is below 0.9, indicating incompatible vector spaces.";

/// The figures, and whether the candidate model keeps the dataset's vector space.
pub struct EmbeddingCheck {
    pub data: Value,
    pub effective: bool,
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 {
        0.0
    } else {
        ab / (aa.sqrt() * bb.sqrt())
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

pub async fn check(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    req: &Map<String, Value>,
) -> Result<EmbeddingCheck, ApiError> {
    let Some(embd_id) = req
        .get("embd_id")
        .filter(|v| crate::contract::pyfmt::truthy(v))
        .map(py_str)
    else {
        return Err(ApiError::data("`embd_id` is required."));
    };
    let check_num = match req.get("check_num") {
        None | Some(Value::Null) => 5,
        Some(v) => v
            .as_u64()
            .or_else(|| py_str(v).trim().parse().ok())
            .ok_or_else(|| ApiError::data("`check_num` must be a positive integer."))?
            as usize,
    }
    .clamp(1, 100);
    let Some(dataset) = state.meta.get_dataset(tenant_id, dataset_id).await? else {
        return Err(ApiError::data("no authorization"));
    };
    let tenant = state
        .meta
        .get_tenant(tenant_id)
        .await?
        .ok_or_else(|| ApiError::data("Tenant not found!"))?;
    verify_embedding_model(&tenant, &embd_id).map_err(|e| ApiError::data(e.message))?;
    let embedder = state
        .embedders
        .embedder(&tenant, &embd_id)
        .map_err(|e| ApiError::data(format!("Embedding failure. {e}")))?;

    let sample = sample_chunks(state, tenant_id, dataset_id, check_num).await?;
    // The chunks that can be compared (text and a stored vector), each with its vector;
    // the others are reported with the reason.
    let mut results = Vec::with_capacity(sample.len());
    let mut comparable = Vec::new();
    for (chunk, doc_name) in &sample {
        if chunk.content.trim().is_empty() {
            results.push(json!({"chunk_id": chunk.id, "reason": "no_text"}));
            continue;
        }
        match state.index.get(tenant_id, dataset_id, &chunk.id).await? {
            Some(full) if !full.vector.is_empty() => {
                comparable.push((chunk, doc_name, full.vector))
            }
            _ => results.push(json!({"chunk_id": chunk.id, "reason": "no_stored_vector"})),
        }
    }
    // One call for every content and title.
    let texts: Vec<String> = comparable
        .iter()
        .map(|(c, _, _)| c.content.clone())
        .chain(comparable.iter().map(|(_, name, _)| (*name).clone()))
        .collect();
    let vectors = if texts.is_empty() {
        Vec::new()
    } else {
        embedder
            .embed(&texts)
            .await
            .map_err(|e| ApiError::data(format!("Embedding failure. {e}")))?
    };
    if vectors.len() != texts.len() {
        return Err(ApiError::data(
            "Embedding failure. the model returned a vector count other than the texts'",
        ));
    }
    let (contents, titles) = vectors.split_at(comparable.len());
    let mut scores = Vec::new();
    let mut match_mode = "content_only";
    for (((chunk, doc_name, stored), content), title) in comparable.iter().zip(contents).zip(titles)
    {
        if content.len() != stored.len() {
            return Err(ApiError::data(format!(
                "Embedding failure. The dimension ({}) of given embedding model is different from the original ({})",
                content.len(),
                stored.len()
            )));
        }
        // Chunks indexed with their document's title mixed in compare better that way.
        let mixed: Vec<f32> = title
            .iter()
            .zip(content)
            .map(|(t, c)| 0.1 * t + 0.9 * c)
            .collect();
        let (plain, with_title) = (cosine(content, stored), cosine(&mixed, stored));
        let score = if with_title > plain {
            match_mode = "title+content";
            with_title
        } else {
            match_mode = "content_only";
            plain
        };
        scores.push(score);
        results.push(json!({
            "chunk_id": chunk.id,
            "doc_id": chunk.document_id,
            "doc_name": doc_name,
            "vector_field": format!("q_{}_vec", stored.len()),
            "vector_dim": stored.len(),
            "cos_sim": round6(score),
        }));
    }
    if scores.is_empty() {
        return Err(ApiError::data(
            "No embedded chunks are available to compare.",
        ));
    }
    let avg = scores.iter().sum::<f64>() / scores.len() as f64;
    let min = scores.iter().copied().fold(f64::INFINITY, f64::min);
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let data = json!({
        "summary": {
            "kb_id": dataset.id,
            "model": embd_id,
            "sampled": sample.len(),
            "valid": scores.len(),
            "avg_cos_sim": round6(avg),
            "min_cos_sim": round6(min),
            "max_cos_sim": round6(max),
            "match_mode": match_mode,
        },
        "results": results,
    });
    Ok(EmbeddingCheck {
        data,
        effective: avg >= SAME_SPACE,
    })
}

/// Up to `n` random available chunks among the dataset's first `POOL_LIMIT`, each with its
/// document's name.
async fn sample_chunks(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    n: usize,
) -> Result<Vec<(ChunkRecord, String)>, ApiError> {
    let (docs, _) = state
        .docs
        .list_documents(tenant_id, dataset_id, &DocumentListQuery::all())
        .await?;
    let mut pool = Vec::new();
    for doc in docs.iter().filter(|d| d.chunk_count > 0) {
        if pool.len() >= POOL_LIMIT {
            break;
        }
        let query = ChunkListQuery {
            keywords: None,
            page: 1,
            page_size: (POOL_LIMIT - pool.len()) as u64,
        };
        let (chunks, _) = state
            .index
            .list_document(tenant_id, dataset_id, &doc.id, &query)
            .await?;
        pool.extend(
            chunks
                .into_iter()
                .filter(|c| c.available)
                .map(|c| (c, doc.name.clone())),
        );
    }
    pool.truncate(POOL_LIMIT);
    pool.shuffle(&mut rand::rng());
    pool.truncate(n);
    Ok(pool)
}
