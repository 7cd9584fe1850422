//! Alternative fusions over the candidates the index returns, for comparison with the
//! product's own.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fusion {
    /// The product's: (1−w)·BM25/max + w·cosine (run through `retrieval::rank` itself).
    Current,
    /// Both scores divided by their maximum over the candidates.
    MaxBoth,
    /// Both scores min-max normalised over all candidates, then (1−w)·bm25 + w·vec.
    MinMax,
    /// Min-max over the union of each retriever's top n only (the rest are dropped).
    MinMaxTop(usize),
    /// Each retriever's top n min-max normalised on its own; a candidate outside a
    /// retriever's top n gets 0 from it (the usual "two result lists" hybrid).
    MinMaxTopZero(usize),
    /// Weighted reciprocal rank fusion: (1−w)/(60 + rank_bm25) + w/(60 + rank_vec).
    Rrf,
}

impl Fusion {
    pub(super) fn label(self) -> String {
        match self {
            Fusion::Current => "current: BM25/max + raw cosine".into(),
            Fusion::MaxBoth => "BM25/max + cosine/max".into(),
            Fusion::MinMax => "min-max both, all candidates".into(),
            Fusion::MinMaxTop(n) => format!("min-max both, top-{n} of each"),
            Fusion::MinMaxTopZero(n) => format!("min-max per top-{n} list, missing = 0"),
            Fusion::Rrf => "weighted RRF (k=60)".into(),
        }
    }
}

pub(super) const RRF_K: f32 = 60.0;

/// Fused scores of candidates (same order as given); `None` for a candidate the fusion
/// leaves out.
pub fn fuse(cands: &[ScoredChunk], w: f32, how: Fusion) -> Vec<Option<f32>> {
    let term: Vec<f32> = cands.iter().map(|c| c.term_score).collect();
    let vec: Vec<f32> = cands.iter().map(|c| c.vector_score).collect();
    let mix = |t: &[f32], v: &[f32]| -> Vec<Option<f32>> {
        t.iter()
            .zip(v)
            .map(|(&t, &v)| Some((1.0 - w) * t + w * v))
            .collect()
    };
    match how {
        Fusion::Current => mix(&max_norm(&term), &vec),
        Fusion::MaxBoth => mix(&max_norm(&term), &max_norm(&vec)),
        Fusion::MinMax => mix(&min_max(&term), &min_max(&vec)),
        Fusion::MinMaxTop(n) => {
            let keep = top_union(&term, &vec, n);
            let pick = |xs: &[f32]| -> Vec<f32> {
                xs.iter()
                    .zip(&keep)
                    .filter(|(_, &k)| k)
                    .map(|(&x, _)| x)
                    .collect()
            };
            let (t, v) = (min_max(&pick(&term)), min_max(&pick(&vec)));
            let mut fused = mix(&t, &v).into_iter();
            keep.iter()
                .map(|&k| if k { fused.next().flatten() } else { None })
                .collect()
        }
        Fusion::MinMaxTopZero(n) => {
            let list = |xs: &[f32]| -> Vec<f32> {
                let r = ranks(xs);
                let inside: Vec<f32> = xs
                    .iter()
                    .zip(&r)
                    .filter(|(_, r)| r.is_some_and(|r| r <= n))
                    .map(|(&x, _)| x)
                    .collect();
                let min = inside.iter().copied().fold(f32::INFINITY, f32::min);
                let max = inside.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                xs.iter()
                    .zip(&r)
                    .map(|(&x, r)| match r {
                        Some(r) if *r <= n && max > min => (x - min) / (max - min),
                        Some(r) if *r <= n => 1.0,
                        _ => 0.0,
                    })
                    .collect()
            };
            let keep = top_union(&term, &vec, n);
            let fused = mix(&list(&term), &list(&vec));
            fused
                .into_iter()
                .zip(keep)
                .map(|(f, k)| if k { f } else { None })
                .collect()
        }
        Fusion::Rrf => {
            let (rt, rv) = (ranks(&term), ranks(&vec));
            rt.iter()
                .zip(&rv)
                .map(|(a, b)| {
                    let part = |r: &Option<usize>| r.map_or(0.0, |r| 1.0 / (RRF_K + r as f32));
                    Some((1.0 - w) * part(a) + w * part(b))
                })
                .collect()
        }
    }
}

/// x / max (0 when the maximum is not positive).
pub fn max_norm(xs: &[f32]) -> Vec<f32> {
    let max = xs.iter().copied().fold(0.0f32, f32::max);
    xs.iter()
        .map(|&x| if max > 0.0 { x / max } else { 0.0 })
        .collect()
}

/// (x − min)/(max − min); all zeros when the values are all equal.
pub fn min_max(xs: &[f32]) -> Vec<f32> {
    let min = xs.iter().copied().fold(f32::INFINITY, f32::min);
    let max = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let span = max - min;
    xs.iter()
        .map(|&x| if span > 0.0 { (x - min) / span } else { 0.0 })
        .collect()
}

/// Which candidates are among the top n by either score (scores ≤ 0 never count).
pub(super) fn top_union(a: &[f32], b: &[f32], n: usize) -> Vec<bool> {
    let mut keep = vec![false; a.len()];
    for xs in [a, b] {
        for (i, r) in ranks(xs).into_iter().enumerate() {
            if r.is_some_and(|r| r <= n) {
                keep[i] = true;
            }
        }
    }
    keep
}

/// 1-based rank of each value by descending score; None for scores ≤ 0 (not retrieved
/// by that retriever).
pub(super) fn ranks(xs: &[f32]) -> Vec<Option<usize>> {
    let mut order: Vec<usize> = (0..xs.len()).filter(|&i| xs[i] > 0.0).collect();
    order.sort_by(|&a, &b| xs[b].total_cmp(&xs[a]));
    let mut out = vec![None; xs.len()];
    for (r, i) in order.into_iter().enumerate() {
        out[i] = Some(r + 1);
    }
    out
}

/// Candidates a fusion kept, ordered by its score (ties: chunk id, as `rank`).
pub(super) fn order_by(cands: &[ScoredChunk], scores: &[Option<f32>]) -> Vec<usize> {
    let mut idx: Vec<(usize, f32)> = scores
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.map(|s| (i, s)))
        .collect();
    idx.sort_by(|&(a, sa), &(b, sb)| {
        sb.total_cmp(&sa)
            .then_with(|| cands[a].chunk.id.cmp(&cands[b].chunk.id))
    });
    idx.into_iter().map(|(i, _)| i).collect()
}
