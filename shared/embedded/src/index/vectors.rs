//! The vectors a search scans, kept apart from tantivy: per tenant, one contiguous block of
//! rows per vector length.
//!
//! A scan reads every vector in scope, so their layout decides its speed: one row after
//! another in a single allocation streams at memory bandwidth, where a heap allocation
//! per vector (the first form of this store) made a 100k-vector scan wait on memory.
//! Removing a row moves the last row into its place, so rows stay dense.

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
}

impl Block {
    /// Every row `admits` lets through, with its dot product with `query`, in row order.
    /// The scan is compiled for AVX-512 or AVX2 when the CPU has them (chosen once per
    /// scan): the portable build's SSE2 products were a third of a 100k-vector search.
    pub(super) fn scores<'a>(
        &'a self,
        query: &[f32],
        admits: impl Fn(&VecMeta) -> bool,
    ) -> Vec<(&'a str, f32)> {
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
    fn scores_avx512<'a>(
        &'a self,
        query: &[f32],
        admits: &impl Fn(&VecMeta) -> bool,
    ) -> Vec<(&'a str, f32)> {
        self.scores_with(query, admits)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn scores_avx2<'a>(
        &'a self,
        query: &[f32],
        admits: &impl Fn(&VecMeta) -> bool,
    ) -> Vec<(&'a str, f32)> {
        self.scores_with(query, admits)
    }

    #[inline(always)]
    fn scores_with<'a>(
        &'a self,
        query: &[f32],
        admits: &impl Fn(&VecMeta) -> bool,
    ) -> Vec<(&'a str, f32)> {
        let mut scored = Vec::new();
        for ((id, meta), v) in self
            .ids
            .iter()
            .zip(&self.meta)
            .zip(self.data.chunks_exact(self.dims.max(1)))
        {
            if admits(meta) {
                scored.push((id.as_str(), dot(query, v)));
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

/// One tenant's vectors.
#[derive(Default)]
pub(super) struct TenantVectors {
    /// chunk id → (vector length, row).
    rows: HashMap<String, (usize, usize)>,
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
        block.ids.push(id.clone());
        block.meta.push(meta);
        block.data.extend_from_slice(&unit);
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
        if row != last {
            let (head, tail) = block.data.split_at_mut(last * dims);
            head[row * dims..(row + 1) * dims].copy_from_slice(&tail[..dims]);
            // The row that moved keeps its id; point the id at its new place.
            if let Some(place) = self.rows.get_mut(&block.ids[row]) {
                place.1 = row;
            }
        }
        block.data.truncate(last * dims);
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
        let query = unit(99);
        let scored = t
            .block(37)
            .map(|b| b.scores(&query, |m| m.document_id == "keep"))
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
                b.scores(&[1.0, 0.0], |_| true)
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
