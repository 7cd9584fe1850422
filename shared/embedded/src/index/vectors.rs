//! The vectors a search scans, kept apart from tantivy: per tenant, one contiguous block of
//! rows per vector length.
//!
//! A scan reads every vector in scope, so their layout decides its speed: one row after
//! another in a single allocation streams at memory bandwidth, where a heap allocation
//! per vector (the first form of this store) made a 100k-vector scan wait on memory.
//! Removing a row moves the last row into its place, so rows stay dense.
//!
//! A large block is searched in two passes (`Block::top`): every row's score from an int8
//! copy of the rows (a quarter of the bytes to stream), then the exact f32 score of the
//! best `2 × top + 64` of those. The first pass only chooses which rows get an exact
//! score; the scores returned, and their order, are the exact ones.

use std::collections::HashMap;

/// What the filters of a vector search need about a chunk.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct VecMeta {
    pub(super) dataset_id: String,
    pub(super) document_id: String,
    pub(super) generation: u64,
    /// Rewritten by every upsert, as is the whole entry (chunk edits go through upsert).
    pub(super) available: bool,
}

/// Rows of one vector length.
#[derive(Default)]
pub(super) struct Block {
    dims: usize,
    ids: Vec<String>,
    meta: Vec<VecMeta>,
    /// `ids.len() × dims` values, row after row; each row has unit length.
    data: Vec<f32>,
    /// The same rows as int8, `round(v / scale)` with the row's `scale` (max |v| / 127).
    codes: Vec<i8>,
    scales: Vec<f32>,
    /// Each row's dataset, as an index into `datasets`: a scan tests a number per row
    /// instead of comparing dataset ids (`memcmp` was 15 % of a 200k-chunk benchmark).
    dataset_of: Vec<u32>,
    /// The dataset ids rows of this block have had (never shrinks: a tenant has few).
    datasets: Vec<String>,
}

/// Blocks up to this many rows are scanned exactly in one pass: below it, the two-pass
/// search saves less than it costs (and small collections keep the simplest path).
const ONE_PASS_ROWS: usize = 20_000;

impl Block {
    /// Every row `admits` (given the row's index) lets through, with its dot product with
    /// `query`, in row order. The scan is compiled for AVX-512 or AVX2 when the CPU has
    /// them (chosen once per scan): the portable build's SSE2 products were a third of a
    /// 100k-vector search.
    fn scores(&self, query: &[f32], admits: impl Fn(usize) -> bool) -> Vec<(&str, f32)> {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F (checked just above).
                return unsafe { self.scores_avx512(query, &admits) };
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // SAFETY: the CPU has AVX2 and FMA (checked just above).
                return unsafe { self.scores_avx2(query, &admits) };
            }
        }
        self.scores_with(query, &admits)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    fn scores_avx512(&self, query: &[f32], admits: &impl Fn(usize) -> bool) -> Vec<(&str, f32)> {
        self.scores_with(query, admits)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn scores_avx2(&self, query: &[f32], admits: &impl Fn(usize) -> bool) -> Vec<(&str, f32)> {
        self.scores_with(query, admits)
    }

    #[inline(always)]
    fn scores_with(&self, query: &[f32], admits: &impl Fn(usize) -> bool) -> Vec<(&str, f32)> {
        let mut scored = Vec::new();
        for (row, (id, v)) in self
            .ids
            .iter()
            .zip(self.data.chunks_exact(self.dims.max(1)))
            .enumerate()
        {
            if admits(row) {
                scored.push((id.as_str(), dot(query, v)));
            }
        }
        scored
    }

    /// The `top` best rows of `datasets` that `admits` lets through, by exact score (ties
    /// by id), best first.
    pub(super) fn top(
        &self,
        query: &[f32],
        datasets: &[&str],
        admits: impl Fn(&VecMeta) -> bool,
        top: usize,
    ) -> Vec<(&str, f32)> {
        if top == 0 {
            return Vec::new();
        }
        let wanted: Vec<bool> = self
            .datasets
            .iter()
            .map(|d| datasets.contains(&d.as_str()))
            .collect();
        let admits = |row: usize| {
            wanted
                .get(self.dataset_of[row] as usize)
                .is_some_and(|w| *w)
                && admits(&self.meta[row])
        };
        let mut scored = if self.ids.len() <= ONE_PASS_ROWS {
            self.scores(query, admits)
        } else {
            self.two_pass(query, admits, top)
        };
        let by_score =
            |a: &(&str, f32), b: &(&str, f32)| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0));
        if scored.len() > top {
            scored.select_nth_unstable_by(top - 1, by_score);
            scored.truncate(top);
        }
        scored.sort_by(by_score);
        scored
    }

    /// Exact scores of the rows whose int8 scores are the best `2 × top + 64`. An int8
    /// score of a unit row is typically off by ~1e-3 (at most √dims · max |v| / 254 for a
    /// unit query); the extra rows leave room for that.
    fn two_pass(
        &self,
        query: &[f32],
        admits: impl Fn(usize) -> bool,
        top: usize,
    ) -> Vec<(&str, f32)> {
        let mut approx = self.approx_scores(query, admits);
        let keep = top.saturating_mul(2).saturating_add(64);
        if approx.len() > keep {
            approx.select_nth_unstable_by(keep - 1, |a, b| b.1.total_cmp(&a.1));
            approx.truncate(keep);
        }
        let dims = self.dims.max(1);
        approx
            .into_iter()
            .map(|(row, _)| {
                let row = row as usize;
                (
                    self.ids[row].as_str(),
                    dot(query, &self.data[row * dims..(row + 1) * dims]),
                )
            })
            .collect()
    }

    /// Every admitted row's int8 score: (row, score), in row order.
    fn approx_scores(&self, query: &[f32], admits: impl Fn(usize) -> bool) -> Vec<(u32, f32)> {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F (checked just above).
                return unsafe { self.approx_avx512(query, &admits) };
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // SAFETY: the CPU has AVX2 and FMA (checked just above).
                return unsafe { self.approx_avx2(query, &admits) };
            }
        }
        self.approx_with(query, &admits)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    fn approx_avx512(&self, query: &[f32], admits: &impl Fn(usize) -> bool) -> Vec<(u32, f32)> {
        self.approx_with(query, admits)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn approx_avx2(&self, query: &[f32], admits: &impl Fn(usize) -> bool) -> Vec<(u32, f32)> {
        self.approx_with(query, admits)
    }

    #[inline(always)]
    fn approx_with(&self, query: &[f32], admits: &impl Fn(usize) -> bool) -> Vec<(u32, f32)> {
        let mut scored = Vec::new();
        for (row, (codes, scale)) in self
            .codes
            .chunks_exact(self.dims.max(1))
            .zip(&self.scales)
            .enumerate()
        {
            if admits(row) {
                scored.push((row as u32, scale * dot_i8(query, codes)));
            }
        }
        scored
    }
}

/// The dot product, with 16 independent sums so that it vectorises (a float sum may not
/// be reordered otherwise). `inline(always)`: compiled again inside each caller's target
/// features.
#[inline(always)]
pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    let mut acc = [0f32; LANES];
    for (x, y) in ca.zip(cb) {
        for ((s, x), y) in acc.iter_mut().zip(x).zip(y) {
            *s += x * y;
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `dot` against an int8 row (before its scale).
#[inline(always)]
fn dot_i8(a: &[f32], codes: &[i8]) -> f32 {
    const LANES: usize = 16;
    let (ca, cb) = (a.chunks_exact(LANES), codes.chunks_exact(LANES));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, &c)| x * f32::from(c))
        .sum();
    let mut acc = [0f32; LANES];
    for (x, c) in ca.zip(cb) {
        for ((s, x), &c) in acc.iter_mut().zip(x).zip(c) {
            *s += x * f32::from(c);
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// A row as int8 and its scale (`v ≈ scale · code`).
fn quantize(row: &[f32]) -> (impl Iterator<Item = i8> + '_, f32) {
    let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
    let inv = if max > 0.0 { 127.0 / max } else { 0.0 };
    (
        row.iter()
            .map(move |v| (v * inv).round().clamp(-127.0, 127.0) as i8),
        max / 127.0,
    )
}

/// One tenant's vectors.
#[derive(Default)]
pub(super) struct TenantVectors {
    /// chunk id → (vector length, row).
    rows: foldhash::HashMap<String, (usize, usize)>,
    blocks: HashMap<usize, Block>,
}

impl TenantVectors {
    /// Insert or replace a chunk's unit vector.
    pub(super) fn insert(&mut self, id: String, meta: VecMeta, unit: Vec<f32>) {
        self.remove(&id);
        let dims = unit.len();
        let block = self.blocks.entry(dims).or_insert_with(|| Block {
            dims,
            ..Block::default()
        });
        let row = block.ids.len();
        let dataset = match block.datasets.iter().position(|d| *d == meta.dataset_id) {
            Some(i) => i,
            None => {
                block.datasets.push(meta.dataset_id.clone());
                block.datasets.len() - 1
            }
        };
        block.dataset_of.push(dataset as u32);
        block.ids.push(id.clone());
        block.meta.push(meta);
        block.data.extend_from_slice(&unit);
        let (codes, scale) = quantize(&unit);
        block.codes.extend(codes);
        block.scales.push(scale);
        self.rows.insert(id, (dims, row));
    }

    pub(super) fn remove(&mut self, id: &str) {
        let Some((dims, row)) = self.rows.remove(id) else {
            return;
        };
        let Some(block) = self.blocks.get_mut(&dims) else {
            return;
        };
        let last = block.ids.len() - 1;
        block.ids.swap_remove(row);
        block.meta.swap_remove(row);
        block.scales.swap_remove(row);
        block.dataset_of.swap_remove(row);
        if row != last {
            let (head, tail) = block.data.split_at_mut(last * dims);
            head[row * dims..(row + 1) * dims].copy_from_slice(&tail[..dims]);
            let (head, tail) = block.codes.split_at_mut(last * dims);
            head[row * dims..(row + 1) * dims].copy_from_slice(&tail[..dims]);
            // The row that moved keeps its id; point the id at its new place.
            if let Some(place) = self.rows.get_mut(&block.ids[row]) {
                place.1 = row;
            }
        }
        block.data.truncate(last * dims);
        block.codes.truncate(last * dims);
        if block.ids.is_empty() {
            self.blocks.remove(&dims);
        }
    }

    pub(super) fn meta(&self, id: &str) -> Option<&VecMeta> {
        let &(dims, row) = self.rows.get(id)?;
        self.blocks.get(&dims)?.meta.get(row)
    }

    pub(super) fn vector(&self, id: &str) -> Option<&[f32]> {
        let &(dims, row) = self.rows.get(id)?;
        self.blocks
            .get(&dims)?
            .data
            .get(row * dims..(row + 1) * dims)
    }

    /// Keep only the chunks whose filters pass `keep`.
    pub(super) fn retain(&mut self, keep: impl Fn(&VecMeta) -> bool) {
        let gone: Vec<String> = self
            .blocks
            .values()
            .flat_map(|b| b.ids.iter().zip(&b.meta))
            .filter(|(_, m)| !keep(m))
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            self.remove(&id);
        }
    }

    /// The rows a query of this length can be compared with.
    pub(super) fn block(&self, dims: usize) -> Option<&Block> {
        self.blocks.get(&dims)
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }
}

/// tenant → its vectors.
pub(super) type Vectors = HashMap<String, TenantVectors>;

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(doc: &str) -> VecMeta {
        VecMeta {
            dataset_id: "ds".into(),
            document_id: doc.into(),
            generation: 1,
            available: true,
        }
    }

    #[test]
    fn scan_scores_are_exact_dot_products_of_admitted_rows() {
        let mut t = TenantVectors::default();
        // 37 dims: whole 16-lane chunks and a tail.
        let unit = |seed: usize| -> Vec<f32> {
            (0..37)
                .map(|i| ((i * 7 + seed * 13) % 11) as f32 - 5.0)
                .collect()
        };
        for i in 0..50 {
            let doc = if i % 3 == 0 { "skip" } else { "keep" };
            t.insert(format!("c{i}"), meta(doc), unit(i));
        }
        // Rows of another dataset, and a dataset no row has, are outside the scope.
        for i in 0..7 {
            let mut m = meta("keep");
            m.dataset_id = "other".into();
            t.insert(format!("o{i}"), m, unit(i));
        }
        let query = unit(99);
        let none = t
            .block(37)
            .map(|b| b.top(&query, &["missing"], |_| true, 10))
            .unwrap_or_default();
        assert!(none.is_empty());
        let scored = t
            .block(37)
            .map(|b| b.top(&query, &["ds"], |m| m.document_id == "keep", usize::MAX))
            .unwrap_or_default();
        assert_eq!(scored.len(), 33);
        for (id, score) in scored {
            let i: usize = id[1..].parse().unwrap();
            assert_ne!(i % 3, 0, "{id} is outside the scope");
            let want: f32 = unit(i).iter().zip(&query).map(|(a, b)| a * b).sum();
            // Small integers: every order of summation is exact.
            assert_eq!(score, want, "{id}");
        }
    }

    /// Seeded pseudo-random unit vectors: the hardest case for the int8 first pass, as
    /// their scores crowd together (real embeddings spread out more).
    fn random_units(n: usize, dims: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                let v: Vec<f32> = (0..dims)
                    .map(|_| {
                        s ^= s << 13;
                        s ^= s >> 7;
                        s ^= s << 17;
                        (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
                    })
                    .collect();
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.into_iter().map(|x| x / norm).collect()
            })
            .collect()
    }

    #[test]
    fn two_pass_search_returns_the_exact_top() {
        let (n, dims) = (ONE_PASS_ROWS + 5_000, 384);
        let mut t = TenantVectors::default();
        for (i, v) in random_units(n, dims, 1).into_iter().enumerate() {
            let doc = if i % 10 == 0 { "skip" } else { "keep" };
            t.insert(format!("c{i:06}"), meta(doc), v);
        }
        // Removals move rows (and their int8 copies) around.
        for i in (0..n).step_by(97) {
            t.remove(&format!("c{i:06}"));
        }
        let block = t.block(dims).expect("rows");
        let admits = |m: &VecMeta| m.document_id == "keep";
        for (q, query) in random_units(3, dims, 2).iter().enumerate() {
            for top in [1, 100, 1024] {
                let got = block.top(query, &["ds"], admits, top);
                let mut want = block.scores(query, |row| admits(&block.meta[row]));
                want.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
                want.truncate(top);
                assert_eq!(got, want, "query {q}, top {top}");
            }
        }
    }

    #[test]
    fn rows_stay_dense_and_findable_through_removals() {
        let mut t = TenantVectors::default();
        for i in 0..5 {
            t.insert(format!("c{i}"), meta("d"), vec![i as f32, 1.0]);
        }
        t.insert("wide".into(), meta("d"), vec![1.0, 2.0, 3.0]);
        t.remove("c1");
        t.remove("c4");
        t.remove("missing");
        assert_eq!(t.len(), 4);
        for i in [0, 2, 3] {
            assert_eq!(t.vector(&format!("c{i}")), Some(&[i as f32, 1.0][..]));
        }
        assert_eq!(t.vector("c1"), None);
        assert_eq!(t.vector("wide"), Some(&[1.0, 2.0, 3.0][..]));
        // Every live row is scanned once, scored against its own vector.
        let scores: Vec<(String, f32)> = t
            .block(2)
            .map(|b| {
                b.top(&[1.0, 0.0], &["ds"], |_| true, 10)
                    .into_iter()
                    .map(|(id, s)| (id.to_string(), s))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(scores.len(), 3);
        for (id, s) in scores {
            assert_eq!(t.vector(&id).map(|v| v[0]), Some(s));
        }
        // Replacing keeps one row; retain removes by filter.
        t.insert("c0".into(), meta("other"), vec![9.0, 9.0]);
        assert_eq!(t.len(), 4);
        t.retain(|m| m.document_id != "other");
        assert_eq!(t.vector("c0"), None);
        assert_eq!(t.meta("c2").map(|m| m.document_id.as_str()), Some("d"));
        t.retain(|_| false);
        assert_eq!(t.len(), 0);
        assert!(t.block(2).is_none() && t.block(3).is_none());
    }
}
