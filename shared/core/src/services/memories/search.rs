//! Hybrid scoring of memory messages (M10), done here rather than in an index: a search
//! covers the few memories named in the request, each at most `memory_size` (≤ 10 MiB)
//! of messages, so scoring their stored vectors and texts in memory is cheap, and one code
//! path serves both deployments.
//!
//! Like retrieval: term similarity is BM25 over the candidate messages divided by the best
//! BM25 among them (so it lies in [0, 1]); the vector similarity is the cosine; the fused
//! score is `w·term + (1 − w)·vector` with `w = keywords_similarity_weight`, and the
//! threshold applies to the fused score.

use std::collections::{HashMap, HashSet};

const K1: f32 = 1.2;
const B: f32 = 0.75;

const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "do", "does", "for", "from", "how", "i", "in",
    "is", "it", "me", "my", "of", "on", "or", "that", "the", "this", "to", "was", "what", "when",
    "where", "which", "who", "why", "with", "you", "your",
];

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff | 0xac00..=0xd7af | 0xf900..=0xfaff)
}

/// Lower-cased words (CJK characters one by one), stop words dropped.
pub fn terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let flush = |w: &mut String, out: &mut Vec<String>| {
        if !w.is_empty() && !STOP_WORDS.contains(&w.as_str()) {
            out.push(std::mem::take(w));
        }
        w.clear();
    };
    for c in text.chars() {
        if is_cjk(c) {
            flush(&mut word, &mut out);
            out.push(c.to_string());
        } else if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else {
            flush(&mut word, &mut out);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// BM25 of each document for the query, divided by the best (all 0 when nothing matched).
pub fn term_similarities(query: &str, docs: &[&str]) -> Vec<f32> {
    let q: HashSet<String> = terms(query).into_iter().collect();
    if q.is_empty() || docs.is_empty() {
        return vec![0.0; docs.len()];
    }
    let tokenized: Vec<Vec<String>> = docs.iter().map(|d| terms(d)).collect();
    let n = docs.len() as f32;
    let avg_len = tokenized.iter().map(Vec::len).sum::<usize>() as f32 / n;
    let mut df: HashMap<&str, f32> = HashMap::new();
    for toks in &tokenized {
        let uniq: HashSet<&str> = toks.iter().map(String::as_str).collect();
        for t in uniq {
            if q.contains(t) {
                *df.entry(t).or_default() += 1.0;
            }
        }
    }
    let scores: Vec<f32> = tokenized
        .iter()
        .map(|toks| {
            let len = toks.len() as f32;
            let mut tf: HashMap<&str, f32> = HashMap::new();
            for t in toks {
                if q.contains(t.as_str()) {
                    *tf.entry(t.as_str()).or_default() += 1.0;
                }
            }
            tf.iter()
                .map(|(t, f)| {
                    let d = df.get(t).copied().unwrap_or(0.0);
                    let idf = ((n - d + 0.5) / (d + 0.5) + 1.0).ln();
                    let norm = 1.0 - B + B * len / avg_len.max(1.0);
                    idf * f * (K1 + 1.0) / (f + K1 * norm)
                })
                .sum()
        })
        .collect();
    let best = scores.iter().copied().fold(0.0f32, f32::max);
    if best <= 0.0 {
        return vec![0.0; docs.len()];
    }
    scores.into_iter().map(|s| s / best).collect()
}

/// Cosine similarity; 0 for empty or mismatched vectors (another embedding model).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.is_empty() || a.len() != b.len() {
        return 0.0;
    }
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    dot / (na * nb)
}

/// The fused score of one candidate.
pub fn fuse(term: f32, vector: f32, keywords_weight: f32) -> f32 {
    keywords_weight * term + (1.0 - keywords_weight) * vector
}

/// Rank candidates: indices of those scoring at least `threshold`, best first (ties keep
/// input order), at most `top_n`, with their fused scores.
pub fn rank(
    term: &[f32],
    vector: &[f32],
    keywords_weight: f32,
    threshold: f32,
    top_n: usize,
) -> Vec<(usize, f32)> {
    let mut scored: Vec<(usize, f32)> = term
        .iter()
        .zip(vector)
        .map(|(t, v)| fuse(*t, *v, keywords_weight))
        .enumerate()
        .filter(|(_, s)| *s >= threshold)
        .collect();
    scored.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
    scored.truncate(top_n);
    scored
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_drop_stop_words_and_split_cjk() {
        assert_eq!(terms("What is the Pineapple?"), vec!["pineapple"]);
        assert_eq!(terms("菠萝 fruit"), vec!["菠", "萝", "fruit"]);
    }

    #[test]
    fn term_similarity_is_relative_to_the_best_match() {
        let docs = [
            "pineapple pineapple tropical",
            "apples and pears",
            "a tropical island",
        ];
        let s = term_similarities("pineapple tropical", &docs);
        assert!((s[0] - 1.0).abs() < 1e-6, "the best match scores 1");
        assert_eq!(s[1], 0.0);
        assert!(s[2] > 0.0 && s[2] < 1.0);
        assert_eq!(term_similarities("the", &docs), vec![0.0; 3]);
        assert!(term_similarities("x", &[]).is_empty());
    }

    #[test]
    fn cosine_ignores_mismatched_vectors() {
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[1.0, 0.0], &[1.0, 0.0, 0.0]), 0.0);
        assert_eq!(cosine(&[], &[]), 0.0);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }

    #[test]
    fn ranking_weights_thresholds_and_cuts() {
        let term = [1.0, 0.0, 0.5];
        let vector = [0.0, 0.9, 0.5];
        // keyword-heavy: the text match wins
        let r = rank(&term, &vector, 0.7, 0.2, 5);
        assert_eq!(r.iter().map(|x| x.0).collect::<Vec<_>>(), vec![0, 2, 1]);
        // vector-only: the vector match wins, and the threshold drops the text-only one
        let r = rank(&term, &vector, 0.0, 0.2, 5);
        assert_eq!(r.iter().map(|x| x.0).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(rank(&term, &vector, 0.7, 0.2, 1).len(), 1);
        assert_eq!(rank(&term, &vector, 0.7, 0.65, 5).len(), 1);
        assert!(rank(&term, &vector, 0.7, 0.99, 5).is_empty());
    }
}
