//! Clustering a layer of the RAPTOR tree: spherical k-means (cosine) over the embeddings,
//! seeded k-means++ so a `random_seed` gives the same tree every time.
//!
//! Upstream reduces the vectors with UMAP and fits Gaussian mixtures, choosing the count
//! by BIC; this is our own, simpler choice: k grows with the square root of the layer's
//! size, capped by `max_cluster`, and always leaves fewer clusters than members, so every
//! layer is smaller than the one below and the tree ends.

/// A small deterministic generator (SplitMix64): the same seed, the same clusters, on
/// every platform and crate version.
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// How many clusters a layer of `n` members gets.
pub fn choose_k(n: usize, max_cluster: usize) -> usize {
    if n <= 2 {
        return 1;
    }
    let k = ((n as f64 / 2.0).sqrt().round() as usize).max(1);
    k.min(max_cluster.max(1)).min(n - 1)
}

pub fn normalised(v: &[f32]) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter().map(|x| x / n).collect()
    } else {
        v.to_vec()
    }
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The normalised mean of some vectors (the cluster's direction).
pub fn centroid<'a>(vectors: impl IntoIterator<Item = &'a [f32]>) -> Vec<f32> {
    let mut sum: Vec<f32> = Vec::new();
    for v in vectors {
        if sum.is_empty() {
            sum = vec![0.0; v.len()];
        }
        if v.len() == sum.len() {
            for (s, x) in sum.iter_mut().zip(v) {
                *s += x;
            }
        }
    }
    normalised(&sum)
}

/// Spherical k-means: groups of member indices, each in ascending order, the groups
/// ordered by their first member. Vectors of another length than the first are put in
/// the first group rather than dropped.
pub fn kmeans(vectors: &[Vec<f32>], k: usize, seed: u64) -> Vec<Vec<usize>> {
    let n = vectors.len();
    if n == 0 {
        return vec![];
    }
    let k = k.clamp(1, n);
    if k == 1 {
        return vec![(0..n).collect()];
    }
    let points: Vec<Vec<f32>> = vectors.iter().map(|v| normalised(v)).collect();
    let mut rng = SplitMix::new(seed);
    // k-means++: the first centre at random, each next one with probability growing with
    // its distance (1 - cosine) to the nearest centre so far.
    let mut centres: Vec<Vec<f32>> = vec![points[(rng.next_u64() % n as u64) as usize].clone()];
    while centres.len() < k {
        let dist: Vec<f64> = points
            .iter()
            .map(|p| {
                centres
                    .iter()
                    .map(|c| (1.0 - dot(p, c)).max(0.0) as f64)
                    .fold(f64::INFINITY, f64::min)
            })
            .collect();
        let total: f64 = dist.iter().map(|d| d * d).sum();
        let pick = if total <= 0.0 {
            // Every point sits on a centre: nothing left to separate.
            break;
        } else {
            let mut r = rng.next_f64() * total;
            let mut chosen = n - 1;
            for (i, d) in dist.iter().enumerate() {
                r -= d * d;
                if r < 0.0 {
                    chosen = i;
                    break;
                }
            }
            chosen
        };
        centres.push(points[pick].clone());
    }
    let mut labels = vec![usize::MAX; n];
    for _ in 0..100 {
        let mut changed = false;
        for (i, p) in points.iter().enumerate() {
            let best = centres
                .iter()
                .enumerate()
                .map(|(c, centre)| (c, dot(p, centre)))
                .fold((0usize, f32::NEG_INFINITY), |acc, (c, s)| {
                    if s > acc.1 {
                        (c, s)
                    } else {
                        acc
                    }
                })
                .0;
            if labels[i] != best {
                labels[i] = best;
                changed = true;
            }
        }
        if !changed {
            break;
        }
        for (c, centre) in centres.iter_mut().enumerate() {
            let members = points
                .iter()
                .zip(&labels)
                .filter(|(_, l)| **l == c)
                .map(|(p, _)| p.as_slice());
            let next = centroid(members);
            if !next.is_empty() {
                *centre = next;
            }
        }
    }
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); centres.len()];
    for (i, l) in labels.iter().enumerate() {
        groups[(*l).min(centres.len() - 1)].push(i);
    }
    groups.retain(|g| !g.is_empty());
    groups.sort_by_key(|g| g[0]);
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn around(base: &[f32], i: usize) -> Vec<f32> {
        base.iter()
            .enumerate()
            .map(|(j, x)| x + 0.01 * ((i + j) % 3) as f32)
            .collect()
    }

    #[test]
    fn k_grows_slowly_is_capped_and_always_shrinks_the_layer() {
        assert_eq!(choose_k(0, 64), 1);
        assert_eq!(choose_k(2, 64), 1);
        assert_eq!(choose_k(3, 64), 1);
        assert_eq!(choose_k(8, 64), 2);
        assert_eq!(choose_k(200, 64), 10);
        assert_eq!(choose_k(200, 4), 4);
        assert_eq!(choose_k(200, 0), 1);
        for n in 3..500 {
            assert!(choose_k(n, 64) < n);
        }
    }

    #[test]
    fn separated_groups_are_found_and_ordered() {
        let a = [1.0, 0.0, 0.0];
        let b = [0.0, 1.0, 0.0];
        let c = [0.0, 0.0, 1.0];
        let vectors: Vec<Vec<f32>> = (0..9).map(|i| around([&a, &b, &c][i % 3], i)).collect();
        let groups = kmeans(&vectors, 3, 7);
        assert_eq!(groups, vec![vec![0, 3, 6], vec![1, 4, 7], vec![2, 5, 8]]);
    }

    #[test]
    fn the_same_seed_gives_the_same_clusters() {
        let mut rng = SplitMix::new(1);
        let vectors: Vec<Vec<f32>> = (0..40)
            .map(|_| (0..8).map(|_| rng.next_f64() as f32 - 0.5).collect())
            .collect();
        let one = kmeans(&vectors, 5, 42);
        assert_eq!(one, kmeans(&vectors, 5, 42));
        let mut all: Vec<usize> = one.iter().flatten().copied().collect();
        all.sort();
        assert_eq!(
            all,
            (0..40).collect::<Vec<_>>(),
            "every member in one group"
        );
        assert!(one.len() <= 5 && one.len() > 1);
    }

    #[test]
    fn degenerate_inputs() {
        assert!(kmeans(&[], 3, 0).is_empty());
        assert_eq!(kmeans(&[vec![1.0, 0.0]], 3, 0), vec![vec![0]]);
        // identical points: k-means++ stops adding centres, one group
        let same = vec![vec![1.0, 1.0]; 5];
        assert_eq!(kmeans(&same, 3, 0), vec![vec![0, 1, 2, 3, 4]]);
        assert_eq!(centroid([[3.0f32, 4.0].as_slice()]), vec![0.6, 0.8]);
    }
}
