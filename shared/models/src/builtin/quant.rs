//! int8 linear layers: the built-in embedder's optional lower-precision path.
//!
//! Weights are quantised once at load, symmetrically per output (scale = max |w| / 127).
//! Each product quantises its input rows on the fly to u8, per row over the row's own range
//! (`x ≈ low + step · q`), because AVX-512 VNNI's `vpdpbusd` multiplies u8 by i8 (four pairs
//! per 32-bit lane, summed). A range rather than a symmetric scale gives GELU's outputs
//! (nearly all ≥ -0.17) twice the resolution. `Σ x·w = w_scale · (step · Σ q·qw + low · Σ qw)`,
//! with `Σ qw` kept per output. Attention, layer norm and GELU stay f32.
//!
//! Why: a query's forward pass reads all 10.6 M weights once and uses each only ~20 times,
//! so its time is mostly the weights' memory traffic. As int8 they are 10.6 MB instead of
//! 42 MB (they fit this machine kind's 32 MB L3; f32 does not) and `vpdpbusd` does 64
//! multiply-adds per instruction against an f32 FMA's 16.
//!
//! The layout lets a vector of accumulators hold 16 outputs: for each group of 4 inputs, a
//! block of 16 outputs stores its 4 weights each side by side (64 bytes, one load), and
//! one input row's 4 bytes are broadcast to all 16 lanes. No horizontal sums are needed.
//! Blocks are grouped in panels of 4 (64 outputs), stored input group by input group, so a
//! panel is read as one sequential stream, like the f32 path's `PANEL`.
//!
//! Only CPUs with AVX-512 VNNI run it ([`supported`]); elsewhere the embedder stays f32.
//! The portable `matmul_add_scalar` computes the same integers and the same float
//! epilogue, in the same order; a test checks the two agree bit for bit.

/// Outputs per accumulator vector (16 lanes of i32).
const LANES: usize = 16;
/// Inputs per lane per `vpdpbusd`.
const GROUP: usize = 4;
/// Bytes of one (input group, output block) cell: 16 outputs × 4 inputs.
const CELL: usize = LANES * GROUP;
/// Output blocks per panel: 4 × 16 = 64 outputs, 16 accumulators for 4 rows.
const PANEL_BLOCKS: usize = 4;
/// Input rows per tile: 4 rows × 4 blocks = 16 accumulators + 4 weight vectors + 1
/// broadcast, within AVX-512's 32 vector registers.
const TILE_ROWS: usize = 4;
/// Rows whose tiles run through every panel before the next rows start (see
/// `matmul_add_vnni`): 32 rows' outputs of the widest layer are 192 KB.
const ROW_BLOCK: usize = 32;

/// Whether this CPU runs the int8 path (AVX-512 F, BW and VNNI).
pub(super) fn supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// A linear layer's weights (`y = x · Wᵀ`, no bias) as int8, laid out for `vpdpbusd`.
pub(super) struct QDense {
    /// Panels of up to `PANEL_BLOCKS` blocks; within a panel, for each input group, its
    /// blocks' cells in order; within a cell, output lane by lane, 4 inputs each. Padding
    /// (outputs past the last, inputs past the last) holds zeros.
    packed: Vec<i8>,
    /// Per output (padded to whole blocks with zeros): max |w| / 127.
    scales: Vec<f32>,
    /// Per output (padded likewise): Σ of its int8 weights.
    sums: Vec<f32>,
    inputs: usize,
    outputs: usize,
    /// `inputs` rounded up to a whole group: the row stride of quantised inputs.
    stride: usize,
    blocks: usize,
}

impl QDense {
    /// Quantises `rows`, PyTorch's `(outputs, inputs)` weight matrix, row-major.
    pub(super) fn from_rows(rows: &[f32], inputs: usize, outputs: usize) -> Self {
        assert_eq!(rows.len(), inputs * outputs, "weight shape");
        let groups = inputs.div_ceil(GROUP);
        let blocks = outputs.div_ceil(LANES);
        let mut packed = vec![0i8; groups * blocks * CELL];
        let mut scales = vec![0f32; blocks * LANES];
        let mut sums = vec![0f32; blocks * LANES];
        for (o, row) in rows.chunks_exact(inputs.max(1)).enumerate().take(outputs) {
            let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            let scale = if max > 0.0 { max / 127.0 } else { 0.0 };
            let inv = if max > 0.0 { 127.0 / max } else { 0.0 };
            scales[o] = scale;
            let (block, lane) = (o / LANES, o % LANES);
            let mut sum = 0i32;
            for (i, &w) in row.iter().enumerate() {
                let q = (w * inv).round().clamp(-127.0, 127.0) as i8;
                sum += i32::from(q);
                packed[cell_offset(block, i / GROUP, groups, blocks) + lane * GROUP + i % GROUP] =
                    q;
            }
            // At most 127 · inputs: exact in f32 for any realistic layer.
            sums[o] = sum as f32;
        }
        Self {
            packed,
            scales,
            sums,
            inputs,
            outputs,
            stride: groups * GROUP,
            blocks,
        }
    }

    /// `out += a · Wᵀ`, where `a` is `(rows, inputs)` and `out` `(rows, outputs)`, on this
    /// CPU's fastest kernel.
    pub(super) fn matmul_add(&self, a: &[f32], out: &mut [f32]) {
        let rows = a.len() / self.inputs.max(1);
        assert!(a.len() == rows * self.inputs && out.len() == rows * self.outputs);
        if rows == 0 {
            return;
        }
        let (q, ranges) = self.quantize_rows(a, rows);
        #[cfg(target_arch = "x86_64")]
        if supported() {
            // SAFETY: the CPU has AVX-512 F, BW and VNNI (checked just above); the shapes
            // of `q`, `ranges` and `out` are the ones the kernel indexes (see it).
            unsafe { self.matmul_add_vnni(&q, &ranges, rows, out) };
            return;
        }
        self.matmul_add_scalar(&q, &ranges, rows, out);
    }

    /// Each row of `a` as u8 (padded to `stride`; the padding meets zero weights) and its
    /// range.
    fn quantize_rows(&self, a: &[f32], rows: usize) -> (Vec<u8>, Vec<Range>) {
        let mut q = vec![0u8; rows * self.stride];
        let mut ranges = vec![Range::default(); rows];
        for ((row, q), range) in a
            .chunks_exact(self.inputs)
            .zip(q.chunks_exact_mut(self.stride))
            .zip(&mut ranges)
        {
            #[cfg(target_arch = "x86_64")]
            if supported() {
                // SAFETY: the CPU has AVX-512 F and BW (checked just above); `q` is at least
                // as long as `row`.
                *range = unsafe { quantize_row_avx512(row, q) };
                continue;
            }
            *range = quantize_row(row, q);
        }
        (q, ranges)
    }

    /// The reference kernel: the same integer sums and float epilogue as the VNNI one.
    fn matmul_add_scalar(&self, q: &[u8], ranges: &[Range], rows: usize, out: &mut [f32]) {
        let groups = self.stride / GROUP;
        for r in 0..rows {
            let qrow = &q[r * self.stride..][..self.stride];
            let orow = &mut out[r * self.outputs..][..self.outputs];
            for (o, slot) in orow.iter_mut().enumerate() {
                let (block, lane) = (o / LANES, o % LANES);
                let mut dot = 0i32;
                for g in 0..groups {
                    let cell = cell_offset(block, g, groups, self.blocks) + lane * GROUP;
                    for j in 0..GROUP {
                        dot += i32::from(qrow[g * GROUP + j]) * i32::from(self.packed[cell + j]);
                    }
                }
                let Range { low, step } = ranges[r];
                *slot += (dot as f32 * step + low * self.sums[o]) * self.scales[o];
            }
        }
    }

    /// # Safety
    /// The CPU must have AVX-512 F, BW and VNNI. `q` is `(rows, stride)`, `ranges` has
    /// `rows` entries and `out` is `(rows, outputs)`, as `matmul_add` makes them.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn matmul_add_vnni(&self, q: &[u8], ranges: &[Range], rows: usize, out: &mut [f32]) {
        assert!(q.len() == rows * self.stride && ranges.len() == rows);
        assert!(out.len() == rows * self.outputs);
        assert!(self.packed.len() == (self.stride / GROUP) * self.blocks * CELL);
        // Rows in groups of `ROW_BLOCK`, each through every panel: the group's inputs and
        // outputs stay in cache while the weights (≤ 0.6 MB per layer) stream from L2.
        // Panel by panel over all rows instead re-read the whole output matrix (50 MB for
        // 32 long passages) from memory once per panel.
        for rows_start in (0..rows).step_by(ROW_BLOCK) {
            let rows_end = rows.min(rows_start + ROW_BLOCK);
            self.rows_vnni(q, ranges, rows_start..rows_end, out);
        }
    }

    /// The tiles of rows `rows` (at most `ROW_BLOCK`), panel by panel.
    ///
    /// # Safety
    /// As `matmul_add_vnni`, and `rows` within its rows.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn rows_vnni(
        &self,
        q: &[u8],
        ranges: &[Range],
        rows: std::ops::Range<usize>,
        out: &mut [f32],
    ) {
        let mut block = 0;
        while block < self.blocks {
            let width = PANEL_BLOCKS.min(self.blocks - block);
            let mut row = rows.start;
            while row < rows.end {
                let height = TILE_ROWS.min(rows.end - row);
                let t = Tile {
                    dense: self,
                    q,
                    ranges,
                    row,
                    block,
                };
                // SAFETY: the tile's rows `row..row + height` and blocks `block..block +
                // width` are in bounds (loop conditions); the CPU features are this
                // function's own.
                unsafe {
                    match (height, width) {
                        (4, 4) => t.run::<4, 4>(out),
                        (4, 3) => t.run::<4, 3>(out),
                        (4, 2) => t.run::<4, 2>(out),
                        (4, _) => t.run::<4, 1>(out),
                        (3, 4) => t.run::<3, 4>(out),
                        (3, 3) => t.run::<3, 3>(out),
                        (3, 2) => t.run::<3, 2>(out),
                        (3, _) => t.run::<3, 1>(out),
                        (2, 4) => t.run::<2, 4>(out),
                        (2, 3) => t.run::<2, 3>(out),
                        (2, 2) => t.run::<2, 2>(out),
                        (2, _) => t.run::<2, 1>(out),
                        (_, 4) => t.run::<1, 4>(out),
                        (_, 3) => t.run::<1, 3>(out),
                        (_, 2) => t.run::<1, 2>(out),
                        (_, _) => t.run::<1, 1>(out),
                    }
                }
                row += height;
            }
            block += width;
        }
    }
}

/// A quantised row's values: `x ≈ low + step · q`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Range {
    low: f32,
    step: f32,
}

/// One row as u8 into `q` (its first `row.len()` bytes); returns the row's range. A
/// constant row (all zeros, say) is exact: its step is 0 and every `q` 0.
fn quantize_row(row: &[f32], q: &mut [u8]) -> Range {
    let low = row.iter().fold(f32::INFINITY, |m, &v| m.min(v));
    let high = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    if row.is_empty() || high <= low {
        q.iter_mut().for_each(|q| *q = 0);
        return Range {
            low: if row.is_empty() { 0.0 } else { low },
            step: 0.0,
        };
    }
    let inv = 255.0 / (high - low);
    for (q, &x) in q.iter_mut().zip(row) {
        *q = (((x - low) * inv).round_ties_even() as i32).clamp(0, 255) as u8;
    }
    Range {
        low,
        step: (high - low) / 255.0,
    }
}

/// `quantize_row` with AVX-512: the same values (its conversion rounds half to even too).
///
/// # Safety
/// The CPU must have AVX-512 F and BW; `q` must be at least as long as `row`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn quantize_row_avx512(row: &[f32], q: &mut [u8]) -> Range {
    use std::arch::x86_64::*;
    assert!(q.len() >= row.len());
    let mask_of = |left: usize| -> __mmask16 {
        if left >= LANES {
            0xFFFF
        } else {
            (1u16 << left) - 1
        }
    };
    if row.is_empty() {
        return Range::default();
    }
    let mut low = _mm512_set1_ps(f32::INFINITY);
    let mut high = _mm512_set1_ps(f32::NEG_INFINITY);
    let mut i = 0;
    // SAFETY: every access is masked to `i..row.len()` (and `q` is at least as long).
    unsafe {
        while i < row.len() {
            let mask = mask_of(row.len() - i);
            let v = _mm512_maskz_loadu_ps(mask, row.as_ptr().add(i));
            low = _mm512_mask_min_ps(low, mask, low, v);
            high = _mm512_mask_max_ps(high, mask, high, v);
            i += LANES;
        }
        let (low, high) = (_mm512_reduce_min_ps(low), _mm512_reduce_max_ps(high));
        if high <= low {
            q[..row.len()].fill(0);
            return Range { low, step: 0.0 };
        }
        let inv = _mm512_set1_ps(255.0 / (high - low));
        let low_v = _mm512_set1_ps(low);
        let (zero, top) = (_mm512_setzero_si512(), _mm512_set1_epi32(255));
        let mut i = 0;
        while i < row.len() {
            let mask = mask_of(row.len() - i);
            let v = _mm512_maskz_loadu_ps(mask, row.as_ptr().add(i));
            // Rounds to nearest, ties to even (the default MXCSR mode).
            let n = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_sub_ps(v, low_v), inv));
            let n = _mm512_min_epi32(_mm512_max_epi32(n, zero), top);
            _mm512_mask_cvtepi32_storeu_epi8(q.as_mut_ptr().add(i).cast(), mask, n);
            i += LANES;
        }
        Range {
            low,
            step: (high - low) / 255.0,
        }
    }
}

/// Where the cell of output block `block` and input group `group` starts in `packed`.
fn cell_offset(block: usize, group: usize, groups: usize, blocks: usize) -> usize {
    let panel = block / PANEL_BLOCKS;
    let first = panel * PANEL_BLOCKS;
    let width = PANEL_BLOCKS.min(blocks - first);
    first * groups * CELL + (group * width + (block - first)) * CELL
}

/// One `R` rows × `C` blocks tile of a product, starting at `row` and `block`.
#[cfg(target_arch = "x86_64")]
struct Tile<'a> {
    dense: &'a QDense,
    q: &'a [u8],
    ranges: &'a [Range],
    row: usize,
    block: usize,
}

#[cfg(target_arch = "x86_64")]
impl Tile<'_> {
    /// # Safety
    /// AVX-512 F, BW and VNNI; rows `row..row + R` and blocks `block..block + C` exist and
    /// `block` starts a panel at least `C` blocks wide (the caller's loops).
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn run<const R: usize, const C: usize>(&self, out: &mut [f32]) {
        use std::arch::x86_64::*;
        let d = self.dense;
        let groups = d.stride / GROUP;
        // The panel is `width` blocks wide; this tile reads its first `C` (all of them, as
        // tiles always span whole panels).
        let width = PANEL_BLOCKS.min(d.blocks - self.block);
        debug_assert_eq!(width, C);
        let panel = cell_offset(self.block, 0, groups, d.blocks);
        // The outputs this tile adds to were last written in an earlier pass over the
        // whole matrix and are usually out of cache: ask for them now, so they arrive
        // during the products instead of stalling the epilogue.
        for r in 0..R {
            let first = (self.row + r) * d.outputs + self.block * LANES;
            let last = ((self.row + r + 1) * d.outputs).min(first + C * LANES);
            for i in (first..last).step_by(LANES) {
                // SAFETY: a prefetch is only a hint; the address is inside `out`.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(out.as_ptr().add(i).cast()) };
            }
        }
        let mut acc = [[_mm512_setzero_si512(); C]; R];
        // SAFETY (loads): cell `g` of the panel holds `width * CELL` bytes at `panel + g *
        // width * CELL`, inside `packed` (its length is checked by the caller); row `r`'s
        // group `g` is 4 bytes at `(row + r) * stride + 4g`, inside `q`.
        unsafe {
            let w = d.packed.as_ptr().add(panel);
            let a = self.q.as_ptr().add(self.row * d.stride);
            for g in 0..groups {
                let cell = w.add(g * width * CELL);
                let wv: [__m512i; C] =
                    std::array::from_fn(|c| _mm512_loadu_si512(cell.add(c * CELL).cast()));
                for (r, acc) in acc.iter_mut().enumerate() {
                    let bytes = a
                        .add(r * d.stride + g * GROUP)
                        .cast::<i32>()
                        .read_unaligned();
                    let av = _mm512_set1_epi32(bytes);
                    for (acc, wv) in acc.iter_mut().zip(&wv) {
                        *acc = _mm512_dpbusd_epi32(*acc, av, *wv);
                    }
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            let row = self.row + r;
            let step = _mm512_set1_ps(self.ranges[row].step);
            let low = _mm512_set1_ps(self.ranges[row].low);
            let orow = &mut out[row * d.outputs..][..d.outputs];
            for (c, acc) in acc.iter().enumerate() {
                let first = (self.block + c) * LANES;
                let left = d.outputs - first.min(d.outputs);
                let mask: __mmask16 = if left >= LANES {
                    0xFFFF
                } else {
                    (1u16 << left) - 1
                };
                // SAFETY: `scales` and `sums` are padded to whole blocks, so 16 values at
                // `first` exist; `orow`'s lanes past `outputs` are masked off.
                unsafe {
                    let sums = _mm512_loadu_ps(d.sums.as_ptr().add(first));
                    let scales = _mm512_loadu_ps(d.scales.as_ptr().add(first));
                    // The scalar kernel's operations in its order (no fused multiply-add).
                    let value = _mm512_add_ps(
                        _mm512_mul_ps(_mm512_cvtepi32_ps(*acc), step),
                        _mm512_mul_ps(low, sums),
                    );
                    let value = _mm512_mul_ps(value, scales);
                    let dst = orow.as_mut_ptr().add(first.min(d.outputs));
                    let old = _mm512_maskz_loadu_ps(mask, dst);
                    _mm512_mask_storeu_ps(dst, mask, _mm512_add_ps(old, value));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in about [-1, 1], with a few larger ones as BERT has.
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let v = (s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0;
                if i % 97 == 0 {
                    v * 8.0
                } else {
                    v
                }
            })
            .collect()
    }

    fn exact(a: &[f32], w: &[f32], inputs: usize) -> Vec<f32> {
        a.chunks_exact(inputs)
            .flat_map(|row| {
                w.chunks_exact(inputs)
                    .map(|wr| row.iter().zip(wr).map(|(x, y)| x * y).sum::<f32>())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn close_to_the_f32_product_for_odd_shapes() {
        for (rows, inputs, outputs) in [(1, 384, 384), (7, 37, 21), (19, 384, 1152), (5, 6, 70)] {
            let a = values(rows * inputs, 1);
            let w = values(inputs * outputs, 2);
            let dense = QDense::from_rows(&w, inputs, outputs);
            let mut got = vec![0.5f32; rows * outputs];
            dense.matmul_add(&a, &mut got);
            let want = exact(&a, &w, inputs);
            let norm = (want.iter().map(|v| v * v).sum::<f32>() / want.len() as f32).sqrt();
            let worst = got
                .iter()
                .zip(&want)
                .map(|(g, w)| (g - 0.5 - w).abs())
                .fold(0f32, f32::max);
            // Two 8-bit roundings: errors of a few percent of a typical output at most.
            assert!(
                worst < 0.05 * norm.max(1.0) * (inputs as f32).sqrt() / 4.0,
                "{rows}x{inputs}x{outputs}: worst {worst}, rms {norm}"
            );
        }
    }

    #[test]
    fn vnni_kernel_agrees_with_the_scalar_one_bit_for_bit() {
        if !supported() {
            eprintln!("skipped: this CPU has no AVX-512 VNNI");
            return;
        }
        for (rows, inputs, outputs) in [(1, 384, 384), (9, 37, 21), (19, 384, 1536), (6, 8, 200)] {
            let a = values(rows * inputs, 3);
            let dense = QDense::from_rows(&values(inputs * outputs, 4), inputs, outputs);
            let (q, ranges) = dense.quantize_rows(&a, rows);
            let mut scalar = values(rows * outputs, 5);
            let mut vnni = scalar.clone();
            dense.matmul_add_scalar(&q, &ranges, rows, &mut scalar);
            // SAFETY: the CPU has the features (checked above); the shapes are matmul_add's.
            #[cfg(target_arch = "x86_64")]
            unsafe {
                dense.matmul_add_vnni(&q, &ranges, rows, &mut vnni)
            };
            assert_eq!(scalar, vnni, "{rows}x{inputs}x{outputs}");
        }
    }

    #[test]
    fn avx512_quantisation_agrees_with_the_scalar_one() {
        if !supported() {
            eprintln!("skipped: this CPU has no AVX-512 VNNI");
            return;
        }
        for n in [1, 15, 16, 37, 384, 1536] {
            let mut row = values(n, n as u64);
            row[0] = 8.0;
            let (mut scalar, mut wide) = (vec![0u8; n], vec![0u8; n]);
            let s = quantize_row(&row, &mut scalar);
            // SAFETY: the CPU has the features (checked above); the buffers are `n` long.
            #[cfg(target_arch = "x86_64")]
            let w = unsafe { quantize_row_avx512(&row, &mut wide) };
            assert_eq!((s, &scalar), (w, &wide), "{n} inputs");
        }
    }

    #[test]
    fn zero_rows_and_zero_weights_give_zero() {
        let dense = QDense::from_rows(&[0.0; 8 * 3], 8, 3);
        let mut out = vec![1.0f32; 2 * 3];
        dense.matmul_add(&values(16, 6), &mut out);
        assert_eq!(out, vec![1.0; 6]);
        let dense = QDense::from_rows(&values(8 * 3, 7), 8, 3);
        dense.matmul_add(&[0.0; 16], &mut out);
        assert_eq!(out, vec![1.0; 6]);
    }
}
