//! The knowledge graph's hit for `use_kg`: the graphs of the request's datasets answer the
//! question with one synthetic chunk, put before the ranked chunks.

use super::{query_vector, Hit, RetrievalRequest};
use crate::contract::envelope::ApiError;
use crate::domain::{ChunkRecord, Dataset};
use crate::ports::ScoredChunk;
use crate::services::graphrag;
use crate::state::AppState;

/// The knowledge graphs' answer to the question as a hit, if any graph relates to it.
/// `known_vector` is the question's embedding if the search already computed it.
pub(super) async fn graph_hit(
    state: &AppState,
    tenant_id: &str,
    datasets: &[Dataset],
    req: &RetrievalRequest,
    known_vector: Option<Vec<f32>>,
) -> Result<Option<Hit>, ApiError> {
    let mut graphs = Vec::new();
    let mut first_dataset = None;
    for d in datasets {
        if let Some(g) = graphrag::load(state, tenant_id, &d.id).await? {
            first_dataset.get_or_insert_with(|| d.id.clone());
            graphs.push(g);
        }
    }
    let Some(dataset_id) = first_dataset else {
        return Ok(None);
    };
    let query = match known_vector {
        Some(v) => v,
        None => {
            // The search ran on text only (or on an expanded question): the graph's
            // entities are matched by the question as asked.
            let embedding = RetrievalRequest {
                vector_similarity_weight: 1.0,
                ..req.clone()
            };
            query_vector(state, tenant_id, datasets, &embedding)
                .await?
                .unwrap_or_default()
        }
    };
    let content = graphrag::search::answer(&graphs, &req.question, &query);
    if content.is_empty() {
        return Ok(None);
    }
    let chunk = ChunkRecord {
        id: crate::contract::ids::new_id(),
        tenant_id: tenant_id.to_string(),
        dataset_id,
        document_id: String::new(),
        document_name: graphrag::search::GRAPH_CHUNK_NAME.into(),
        content,
        important_keywords: vec![],
        questions: vec![],
        available: true,
        positions: vec![],
        image_id: String::new(),
        doc_type: String::new(),
        tag_kwd: vec![],
        tag_feas: Default::default(),
        raptor_kwd: String::new(),
        position: 0,
        token_count: 0,
        create_time: crate::contract::time::now_ms(),
        generation: 0,
        vector: vec![],
    };
    Ok(Some(Hit {
        scored: ScoredChunk {
            chunk,
            term_score: 0.0,
            vector_score: 1.0,
        },
        similarity: 1.0,
        term_similarity: 0.0,
        highlight: None,
        document_name: graphrag::search::GRAPH_CHUNK_NAME.into(),
    }))
}
