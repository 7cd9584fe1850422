//! Metrics as trec_eval / pytrec_eval define them (what BEIR reports), and percentiles.

use super::*;

/// Relevance grades of one query: corpus id → grade (> 0 is relevant).
pub type Qrels = HashMap<String, i64>;

/// nDCG@k with linear gain (trec_eval's `ndcg_cut`): Σ rel_i / log2(i + 1) over the first
/// k ranks, divided by the same sum over the ideal ordering of the judged grades. A
/// document ranked twice counts once (its first rank).
pub fn ndcg_at_k(ranked: &[String], qrels: &Qrels, k: usize) -> f64 {
    let mut seen = HashSet::new();
    let dcg: f64 = ranked
        .iter()
        .filter(|d| seen.insert(d.as_str()))
        .take(k)
        .enumerate()
        .map(|(i, d)| qrels.get(d).copied().unwrap_or(0).max(0) as f64 / ((i + 2) as f64).log2())
        .sum();
    let mut ideal: Vec<i64> = qrels.values().copied().filter(|&g| g > 0).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, &g)| g as f64 / ((i + 2) as f64).log2())
        .sum();
    if idcg > 0.0 {
        dcg / idcg
    } else {
        0.0
    }
}

/// Recall@k: the share of the relevant documents found in the first k (distinct) ranks.
pub fn recall_at_k(ranked: &[String], qrels: &Qrels, k: usize) -> f64 {
    let relevant: HashSet<&str> = qrels
        .iter()
        .filter(|(_, &g)| g > 0)
        .map(|(d, _)| d.as_str())
        .collect();
    if relevant.is_empty() {
        return 0.0;
    }
    let mut seen = HashSet::new();
    let found = ranked
        .iter()
        .filter(|d| seen.insert(d.as_str()))
        .take(k)
        .filter(|d| relevant.contains(d.as_str()))
        .count();
    found as f64 / relevant.len() as f64
}

/// Nearest-rank percentile of ascending values (p in [0, 1]).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Mean nDCG@10 and Recall@100 over the judged queries (a query without a run scores 0).
pub(super) fn quality(
    runs: &HashMap<String, Vec<String>>,
    qrels: &HashMap<String, Qrels>,
) -> (f64, f64) {
    if qrels.is_empty() {
        return (0.0, 0.0);
    }
    let empty = Vec::new();
    let (mut n, mut r) = (0.0, 0.0);
    for (qid, rel) in qrels {
        let ranked = runs.get(qid).unwrap_or(&empty);
        n += ndcg_at_k(ranked, rel, 10);
        r += recall_at_k(ranked, rel, 100);
    }
    (n / qrels.len() as f64, r / qrels.len() as f64)
}

/// Mean of the per-query differences `b − a` and its standard error (paired).
pub fn paired_delta(a: &HashMap<String, f64>, b: &HashMap<String, f64>) -> (f64, f64) {
    let d: Vec<f64> = a
        .iter()
        .map(|(q, x)| b.get(q).copied().unwrap_or(0.0) - x)
        .collect();
    let n = d.len() as f64;
    if d.len() < 2 {
        return (d.first().copied().unwrap_or(0.0), f64::NAN);
    }
    let mean = d.iter().sum::<f64>() / n;
    let var = d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}
