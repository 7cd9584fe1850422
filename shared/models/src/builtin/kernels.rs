//! Numeric kernels of the forward pass: panel products, attention, softmax, layer norm,
//! GELU with a polynomial `erf`, vectorised where the CPU allows.

use super::*;

/// Output columns per weight panel. gemm computes `outᵀ = W · xᵀ` with its AVX-512 kernel
/// taking 64 output columns at a time, walking down the `inputs` rows of `Wᵀ`. In a panel
/// of exactly that width those reads are one contiguous stream, which the hardware
/// prefetcher keeps ahead of; in a whole `(inputs, outputs)` matrix they are 256 bytes
/// every `outputs * 4` bytes, which it does not, and the 42 MB of weights never stay in
/// cache from one query to the next. Measured on one ~19-token query: panels of 64 took
/// 5.4 ms, of 128 6.0 ms, of 192 or more (up to the whole matrix) 8.3–9.1 ms; batches of
/// 45-token passages are indifferent.
pub(super) const PANEL: usize = 64;

/// `out = a · dense.wt + dense.bias`, row by row.
#[inline(always)]
pub(super) fn linear(a: &[f32], dense: &Dense, out: &mut [f32]) {
    for row in out.chunks_exact_mut(dense.outputs) {
        row.copy_from_slice(&dense.bias);
    }
    matmul_add(a, dense, out);
}

/// `out += a · dense.wt`, where `a` is `(rows, inputs)` and `out` `(rows, outputs)`.
pub(super) fn matmul_add(a: &[f32], dense: &Dense, out: &mut [f32]) {
    if let Some(q8) = &dense.q8 {
        return q8.matmul_add(a, out);
    }
    let rows = a.len() / dense.inputs;
    // These hold by construction; they are checked because the call below trusts them.
    assert!(a.len() == rows * dense.inputs && out.len() == rows * dense.outputs);
    assert!(dense.panels.len() == dense.inputs * dense.outputs);
    if rows == 0 {
        return;
    }
    let mut start = 0;
    while start < dense.outputs {
        let width = PANEL.min(dense.outputs - start);
        // SAFETY: `a` is `(rows, inputs)` and `out` `(rows, outputs)` row-major, the panel
        // `(inputs, width)` row-major at `inputs * start`, and `out`'s columns
        // `start..start + width` are in bounds (lengths checked above); `out` is a `&mut`
        // borrow, so it aliases neither input.
        unsafe {
            gemm::gemm(
                rows,
                width,
                dense.inputs,
                out.as_mut_ptr().add(start),
                1,
                dense.outputs as isize,
                true,
                a.as_ptr(),
                1,
                dense.inputs as isize,
                dense.panels.as_ptr().add(dense.inputs * start),
                1,
                width as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                // Within one thread: the parallelism is across texts (see `Loaded::embed`).
                gemm::Parallelism::None,
            )
        }
        start += width;
    }
}

/// Multi-head self-attention of each sequence (its rows of `qkv`) with itself, written to
/// `ctx` (`(tokens, hidden)`, heads side by side). Sequences never see each other's
/// tokens, exactly as padding masked to `f32::MIN` contributes zero in a padded batch.
/// `scores` holds one head's `(len, len)` scores.
#[inline(always)]
pub(super) fn attention(
    qkv: &[f32],
    lens: &[usize],
    heads: usize,
    hidden: usize,
    ctx: &mut [f32],
    scores: &mut [f32],
) {
    let head_dim = hidden / heads;
    let stride = 3 * hidden;
    let scale = 1.0 / (head_dim as f32).sqrt();
    let mut start = 0;
    for &len in lens {
        let rows = &qkv[start * stride..(start + len) * stride];
        let ctx_rows = &mut ctx[start * hidden..(start + len) * hidden];
        let scores = &mut scores[..len * len];
        for head in 0..heads {
            let off = head * head_dim;
            // SAFETY (both products): `rows` is `(len, 3 * hidden)` row-major; the head's
            // query, key and value blocks are its columns `off..`, `hidden + off..` and
            // `2 * hidden + off..`, `head_dim` wide, all in bounds as `off + head_dim <=
            // hidden`. `scores` is `(len, len)` and `ctx_rows` `(len, hidden)` row-major,
            // written through `&mut` borrows that alias nothing read.
            // scores = scale · Q Kᵀ (K read transposed through its strides).
            unsafe {
                gemm::gemm(
                    len,
                    len,
                    head_dim,
                    scores.as_mut_ptr(),
                    1,
                    len as isize,
                    false,
                    rows.as_ptr().add(off),
                    1,
                    stride as isize,
                    rows.as_ptr().add(hidden + off),
                    stride as isize,
                    1,
                    0.0,
                    scale,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
            for row in scores.chunks_exact_mut(len) {
                softmax(row);
            }
            // The head's context = softmax(scores) · V.
            unsafe {
                gemm::gemm(
                    len,
                    head_dim,
                    len,
                    ctx_rows.as_mut_ptr().add(off),
                    1,
                    hidden as isize,
                    false,
                    scores.as_ptr(),
                    1,
                    len as isize,
                    rows.as_ptr().add(2 * hidden + off),
                    1,
                    stride as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
        }
        start += len;
    }
}

/// Softmax in place.
#[inline(always)]
pub(super) fn softmax(scores: &mut [f32]) {
    let max = scores.iter().fold(f32::NEG_INFINITY, |m, &s| m.max(s));
    for s in scores.iter_mut() {
        *s = exp(*s - max);
    }
    let total = lane_sum(scores);
    for s in scores.iter_mut() {
        *s /= total;
    }
}

/// `layer_norm(sum + bias)` into `out`, row by row.
#[inline(always)]
pub(super) fn add_bias_norm(sum: &[f32], bias: &[f32], norm: &Norm, eps: f32, out: &mut [f32]) {
    let h = bias.len();
    for (o, s) in out.chunks_exact_mut(h).zip(sum.chunks_exact(h)) {
        for ((o, s), b) in o.iter_mut().zip(s).zip(bias) {
            *o = s + b;
        }
        layer_norm(o, norm, eps);
    }
}

/// Layer norm of one row, in place (two-pass mean and variance).
#[inline(always)]
pub(super) fn layer_norm(row: &mut [f32], norm: &Norm, eps: f32) {
    let n = row.len() as f32;
    let mean = lane_sum(row) / n;
    let mut acc = [0f32; LANES];
    let chunks = row.chunks_exact(LANES);
    let mut var: f32 = chunks
        .remainder()
        .iter()
        .map(|v| (v - mean) * (v - mean))
        .sum();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += (v - mean) * (v - mean);
        }
    }
    var = (var + acc.iter().sum::<f32>()) / n;
    let inv = 1.0 / (var + eps).sqrt();
    for ((v, g), b) in row.iter_mut().zip(&norm.gamma).zip(&norm.beta) {
        *v = (*v - mean) * inv * g + b;
    }
}

/// Accumulators for sums: independent lanes let the compiler vectorise a float sum (it may
/// not reorder one running total).
pub(super) const LANES: usize = 16;

#[inline(always)]
pub(super) fn lane_sum(xs: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = xs.chunks_exact(LANES);
    let rest: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// GELU with the exact (erf) form, as BERT's `"gelu"`.
#[inline(always)]
pub(super) fn gelu(x: f32) -> f32 {
    (erf(x * std::f32::consts::FRAC_1_SQRT_2) + 1.0) * 0.5 * x
}

/// erf as a rational function on [-4, 4] (beyond, erf is ±1 in f32), max error ~1e-7.
/// Branch-free so that loops over it vectorise. Coefficients from Eigen's / XLA's float erf.
#[inline(always)]
#[allow(clippy::excessive_precision)] // the coefficients as published
pub(super) fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.72614225801306e-10 + 2.77068142495902e-08;
    p = x2 * p + -2.10102402082508e-06;
    p = x2 * p + -5.69250639462346e-05;
    p = x2 * p + -7.34990630326855e-04;
    p = x2 * p + -2.95459980854025e-03;
    p = x2 * p + -1.60960333262415e-02;
    p *= x;
    let mut q = x2 * -1.45660718464996e-05 + -2.13374055278905e-04;
    q = x2 * q + -1.68282697438203e-03;
    q = x2 * q + -7.37332916720468e-03;
    q = x2 * q + -1.42647390514189e-02;
    p / q
}

/// e^x for x in [-87, 88] (clamped), within ~2 ulp. Cephes' `expf` without branches, so
/// loops over it vectorise: x = n·ln2 + r, e^x = 2^n · poly(r).
#[inline(always)]
#[allow(clippy::excessive_precision)] // the coefficients as published
pub(super) fn exp(x: f32) -> f32 {
    // Adding 1.5·2^23 rounds to an integer, which then sits in the low mantissa bits.
    const ROUNDER: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let t = x * std::f32::consts::LOG2_E + ROUNDER;
    let n = t - ROUNDER;
    // ln 2 in two parts (Cody-Waite): n·0.693359375 is exact.
    let r = x - n * 0.693359375 - n * -2.12194440e-4;
    let mut p = r * 1.9875691500e-4 + 1.3981999507e-3;
    p = p * r + 8.3334519073e-3;
    p = p * r + 4.1665795894e-2;
    p = p * r + 1.6666665459e-1;
    p = p * r + 5.0000001201e-1;
    p = p * (r * r) + r + 1.0;
    let n = (t.to_bits() as i32).wrapping_sub(ROUNDER.to_bits() as i32);
    p * f32::from_bits(((n + 127) << 23) as u32)
}
