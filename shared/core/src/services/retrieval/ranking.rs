//! Fusion of term and vector scores, and upstream's paging over the fused ranking.

use std::collections::HashMap;

use super::RetrievalRequest;
use crate::domain::Document;
use crate::ports::ChunkHit;

/// A candidate after fusion.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub hit: ChunkHit,
    pub similarity: f32,
    pub term_similarity: f32,
}

/// Fuse term and vector scores and sort, best first (ties by chunk id, so equal scores
/// page deterministically). Term scores are divided by the best BM25 among the candidates.
pub fn fuse(hits: Vec<ChunkHit>, w: f32) -> Vec<Ranked> {
    let best_term = hits.iter().map(|c| c.term_score).fold(0.0f32, f32::max);
    fuse_with_best(hits, w, best_term)
}

/// `fuse` with the BM25 divisor given: `retrieve` passes the best score among candidates
/// of enabled documents, as an engine that never returned the others would see it.
pub fn fuse_with_best(hits: Vec<ChunkHit>, w: f32, best_term: f32) -> Vec<Ranked> {
    let mut ranked: Vec<Ranked> = hits
        .into_iter()
        .map(|hit| {
            let term = if best_term > 0.0 {
                (hit.term_score / best_term).min(1.0)
            } else {
                0.0
            };
            // Raw cosine, the number reported as `vector_similarity`, so the fused score is
            // exactly `(1 − w)·term + w·vector` of the reported parts.
            Ranked {
                similarity: (1.0 - w) * term + w * hit.vector_score,
                term_similarity: term,
                hit,
            }
        })
        .collect();
    sort_ranked(&mut ranked);
    ranked
}

pub(super) fn sort_ranked(ranked: &mut [Ranked]) {
    ranked.sort_by(|a, b| {
        b.similarity
            .total_cmp(&a.similarity)
            .then_with(|| a.hit.chunk_id.cmp(&b.hit.chunk_id))
    });
}

/// Upstream's candidate window for a page (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Candidates per window (`R`).
    pub size: usize,
    /// Index of the window's first candidate in the ranking.
    pub start: usize,
    /// Offset of the requested page within the thresholded window.
    pub page_offset: usize,
}

impl Window {
    pub fn of(page: usize, page_size: usize) -> Window {
        let page = page.max(1);
        if page_size == 0 {
            return Window {
                size: 30,
                start: 0,
                page_offset: 0,
            };
        }
        let size = 64usize
            .div_ceil(page_size)
            .saturating_mul(page_size)
            .max(30);
        let engine_page = page_size.saturating_mul(page).div_ceil(size).max(1);
        let pages_per_window = (size / page_size).max(1);
        Window {
            size,
            start: (engine_page - 1).saturating_mul(size),
            page_offset: ((page - 1) % pages_per_window) * page_size,
        }
    }
    /// Candidates the ranking must reach to fill the window.
    pub fn end(&self) -> usize {
        self.start.saturating_add(self.size)
    }
}

/// Threshold a ranked window, count it, aggregate it by document and cut the page.
/// Returns (total, page, doc_aggs).
pub fn select_page(
    window: Vec<Ranked>,
    docs: &HashMap<String, Document>,
    req: &RetrievalRequest,
    at: Window,
) -> (usize, Vec<Ranked>, Vec<(String, String, usize)>) {
    let passing: Vec<Ranked> = window
        .into_iter()
        .filter(|r| r.similarity >= req.similarity_threshold)
        .collect();
    let mut counts: Vec<(String, String, usize)> = Vec::new();
    for r in &passing {
        match counts
            .iter_mut()
            .find(|(id, _, _)| **id == *r.hit.document_id)
        {
            Some(e) => e.2 += 1,
            None => counts.push((
                r.hit.document_id.to_string(),
                docs.get(&*r.hit.document_id)
                    .map(|d| d.name.clone())
                    .unwrap_or_default(),
                1,
            )),
        }
    }
    counts.sort_by_key(|c| std::cmp::Reverse(c.2));
    let total = passing.len();
    let page = passing
        .into_iter()
        .skip(at.page_offset)
        .take(req.page_size)
        .collect();
    (total, page, counts)
}
