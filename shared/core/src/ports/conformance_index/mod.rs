//! The chunk-index conformance suite. Every adapter's tests call `run_all` on a fresh,
//! empty index; a failure panics with the rule that was broken.
//!
//! Records are compared without their `vector`: an index may keep vectors elsewhere and
//! hand chunks back without them (see `ChunkRecord::vector`).

use crate::contract::ids::new_id;
use crate::contract::time::now_ms;
use crate::domain::ChunkRecord;
use crate::ports::{ChunkHit, ChunkIndex, ChunkListQuery, ScoredChunk, SearchRequest};

mod hits;
mod records;
mod search;

use hits::{get_chunks_reads_a_page, hits_leave_out_unavailable_chunks, hits_match_search};
use records::{crud, deletes, listing};
use search::{isolation, odd_queries, restrictions_and_top_k, text_search, vector_search};

pub async fn run_all(index: &dyn ChunkIndex) {
    crud(index).await;
    listing(index).await;
    deletes(index).await;
    text_search(index).await;
    vector_search(index).await;
    restrictions_and_top_k(index).await;
    isolation(index).await;
    odd_queries(index).await;
    hits_match_search(index).await;
    hits_leave_out_unavailable_chunks(index).await;
    get_chunks_reads_a_page(index).await;
}

/// A chunk with every field set to something that must round-trip.
pub fn sample_chunk(
    tenant_id: &str,
    dataset_id: &str,
    document_id: &str,
    position: i64,
    content: &str,
) -> ChunkRecord {
    ChunkRecord {
        id: new_id(),
        tenant_id: tenant_id.into(),
        dataset_id: dataset_id.into(),
        document_id: document_id.into(),
        document_name: "notes.txt".into(),
        content: content.into(),
        important_keywords: vec![],
        questions: vec![],
        available: true,
        positions: vec![[1, 10, 200, 30, 60]],
        image_id: String::new(),
        doc_type: String::new(),
        tag_kwd: vec![],
        tag_feas: Default::default(),
        raptor_kwd: String::new(),
        position,
        token_count: content.split_whitespace().count() as i64,
        create_time: now_ms(),
        generation: 1,
        vector: vec![],
    }
}

pub(super) fn with_vector(mut c: ChunkRecord, v: &[f32]) -> ChunkRecord {
    c.vector = v.to_vec();
    c
}

pub(super) fn strip(mut c: ChunkRecord) -> ChunkRecord {
    c.vector.clear();
    c
}

pub(super) fn ids(chunks: &[ChunkRecord]) -> Vec<String> {
    chunks.iter().map(|c| c.id.clone()).collect()
}

pub(super) fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

pub(super) const E1: [f32; 4] = [1.0, 0.0, 0.0, 0.0];
pub(super) const E2: [f32; 4] = [0.0, 1.0, 0.0, 0.0];
pub(super) const E3: [f32; 4] = [0.0, 0.0, 1.0, 0.0];
pub(super) const MIX: [f32; 4] = [0.6, 0.8, 0.0, 0.0];

pub(super) async fn upsert(index: &dyn ChunkIndex, tenant_id: &str, chunks: &[ChunkRecord]) {
    index.upsert(tenant_id, chunks).await.expect("upsert");
}

pub(super) async fn get(index: &dyn ChunkIndex, c: &ChunkRecord) -> Option<ChunkRecord> {
    index
        .get(&c.tenant_id, &c.dataset_id, &c.id)
        .await
        .expect("get")
        .map(strip)
}

pub(super) async fn list(
    index: &dyn ChunkIndex,
    t: &str,
    ds: &str,
    doc: &str,
    keywords: Option<&str>,
    page: u64,
    page_size: u64,
) -> (Vec<ChunkRecord>, u64) {
    let q = ChunkListQuery {
        keywords: keywords.map(str::to_string),
        page,
        page_size,
    };
    index
        .list_document(t, ds, doc, &q)
        .await
        .expect("list_document")
}

pub(super) async fn search(
    index: &dyn ChunkIndex,
    t: &str,
    req: SearchRequest,
) -> Vec<ScoredChunk> {
    index.search(t, &req).await.expect("search")
}

pub(super) fn req(
    datasets: &[&str],
    text: &str,
    vector: Option<&[f32]>,
    top_k: usize,
) -> SearchRequest {
    SearchRequest {
        dataset_ids: datasets.iter().map(|d| d.to_string()).collect(),
        document_ids: None,
        text: text.into(),
        vector: vector.map(<[f32]>::to_vec),
        top_k,
    }
}

pub(super) fn find<'a>(hits: &'a [ScoredChunk], id: &str) -> Option<&'a ScoredChunk> {
    hits.iter().find(|h| h.chunk.id == id)
}
