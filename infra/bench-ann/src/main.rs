//! Standalone experiment: top-k=1024 retrieval over N unit vectors (d=384, dot = cosine).
//! Compares (a) exact f32 scan, (b) int8 two-pass scan + f32 rescore, (c) hnsw_rs 0.3.5 HNSW.
//!
//! Usage (one job per process so that VmRSS deltas are clean):
//!   bench-ann base  <N> <uniform|clustered>                 -> dataset stats + exact + int8 rows
//!   bench-ann hnsw  <N> <uniform|clustered> <M> <ef_constr> -> HNSW build + search rows
//! Rows are printed to stdout as markdown table rows prefixed with "ROW|".

use hnsw_rs::prelude::*;
use rayon::prelude::*;
use std::time::Instant;

const D: usize = 384;
const K: usize = 1024;
const NQ: usize = 200;
const NCENTRES: usize = 2000;
const WARMUP: usize = 5;
// clustered-data parameters (see gen_clustered): noise scale S gives cos(x, own centre) ~ 1/sqrt(1+S^2) ~ 0.75;
// common direction weight ALPHA gives centre-centre cos ~ ALPHA^2/(1+ALPHA^2) ~ 0.35, i.e. point-point ~ 0.2
const S_NOISE: f32 = 0.88;
const ALPHA: f32 = 0.74;

// ---------------------------------------------------------------- rng
struct Rng(u64);
impl Rng {
    fn new(seed: u64) -> Self {
        // splitmix64 to spread the seed, xorshift64* afterwards
        let mut z = seed.wrapping_add(0x9E3779B97F4A7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^= z >> 31;
        Rng(if z == 0 { 1 } else { z })
    }
    #[inline]
    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545F4914F6CDD1D)
    }
    #[inline]
    fn uniform(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 + 0.5) * (1.0 / (1u64 << 24) as f32)
    }
    /// fill with N(0,1) via Box-Muller
    fn gaussians(&mut self, out: &mut [f32]) {
        let mut i = 0;
        while i < out.len() {
            let u1 = self.uniform();
            let u2 = self.uniform();
            let r = (-2.0 * u1.ln()).sqrt();
            let t = 2.0 * std::f32::consts::PI * u2;
            out[i] = r * t.cos();
            if i + 1 < out.len() {
                out[i + 1] = r * t.sin();
            }
            i += 2;
        }
    }
}

fn normalize(v: &mut [f32]) {
    let n = dot(v, v).sqrt();
    if n > 0.0 {
        for x in v.iter_mut() {
            *x /= n;
        }
    }
}

// ---------------------------------------------------------------- kernels
/// f32 dot product with 16 independent accumulators (vectorises with -C target-cpu=native)
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0f32; 16];
    let ca = a.chunks_exact(16);
    let cb = b.chunks_exact(16);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..16 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s = 0f32;
    for i in 0..ra.len() {
        s += ra[i] * rb[i];
    }
    for v in acc {
        s += v;
    }
    s
}

/// dot(query_f32, codes_i8) with 16 independent accumulators
#[inline]
fn dot_i8(a: &[f32], b: &[i8]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0f32; 16];
    let ca = a.chunks_exact(16);
    let cb = b.chunks_exact(16);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..16 {
            acc[i] += x[i] * y[i] as f32;
        }
    }
    let mut s = 0f32;
    for i in 0..ra.len() {
        s += ra[i] * rb[i] as f32;
    }
    for v in acc {
        s += v;
    }
    s
}

// ---------------------------------------------------------------- data
struct Data {
    n: usize,
    x: Vec<f32>,          // n*D, row-major, unit rows
    q: Vec<f32>,          // NQ*D
    assign: Vec<u16>,     // cluster of each row (clustered only)
    centres: Vec<f32>,    // NCENTRES*D (clustered only)
}

fn gen_uniform(n: usize, seed: u64) -> Vec<f32> {
    let mut x = vec![0f32; n * D];
    x.par_chunks_mut(D).enumerate().for_each(|(i, row)| {
        let mut r = Rng::new(seed ^ ((i as u64) << 20) ^ 0xABCDEF);
        r.gaussians(row);
        normalize(row);
    });
    x
}

fn make_centres(seed: u64) -> Vec<f32> {
    let mut m = vec![0f32; D];
    Rng::new(seed ^ 0x1234_5678).gaussians(&mut m);
    normalize(&mut m);
    let mut c = gen_uniform(NCENTRES, seed ^ 0x77);
    for row in c.chunks_mut(D) {
        for j in 0..D {
            row[j] += ALPHA * m[j];
        }
        normalize(row);
    }
    c
}

fn gen_clustered(n: usize, centres: &[f32], seed: u64) -> (Vec<f32>, Vec<u16>) {
    let mut x = vec![0f32; n * D];
    let mut assign = vec![0u16; n];
    let s = S_NOISE / (D as f32).sqrt();
    x.par_chunks_mut(D).zip(assign.par_iter_mut()).enumerate().for_each(|(i, (row, a))| {
        let mut r = Rng::new(seed ^ ((i as u64) << 20) ^ 0x5EED);
        let cj = (r.next_u64() % NCENTRES as u64) as usize;
        *a = cj as u16;
        r.gaussians(row);
        let c = &centres[cj * D..(cj + 1) * D];
        for j in 0..D {
            row[j] = c[j] + s * row[j];
        }
        normalize(row);
    });
    (x, assign)
}

fn make_data(n: usize, kind: &str) -> Data {
    match kind {
        "uniform" => Data {
            n,
            x: gen_uniform(n, 1),
            q: gen_uniform(NQ, 1_000_003),
            assign: vec![],
            centres: vec![],
        },
        "clustered" => {
            let centres = make_centres(7);
            let (x, assign) = gen_clustered(n, &centres, 2);
            let (q, _) = gen_clustered(NQ, &centres, 2_000_003);
            Data { n, x, q, assign, centres }
        }
        _ => panic!("dataset must be uniform|clustered"),
    }
}

fn row(d: &Data, i: usize) -> &[f32] {
    &d.x[i * D..(i + 1) * D]
}
fn query(d: &Data, i: usize) -> &[f32] {
    &d.q[i * D..(i + 1) * D]
}

// ---------------------------------------------------------------- methods
/// exact scan; buf is a reusable (score,id) buffer of size n. Returns top-k ids, best first.
fn exact_topk(d: &Data, q: &[f32], k: usize, buf: &mut Vec<(f32, u32)>) -> Vec<u32> {
    buf.clear();
    for (i, r) in d.x.chunks_exact(D).enumerate() {
        buf.push((dot(q, r), i as u32));
    }
    let cmp = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0);
    buf.select_nth_unstable_by(k - 1, cmp);
    let top = &mut buf[..k];
    top.sort_unstable_by(cmp);
    top.iter().map(|p| p.1).collect()
}

struct I8Index {
    codes: Vec<i8>,
    scales: Vec<f32>,
}
fn build_i8(d: &Data) -> I8Index {
    let mut codes = vec![0i8; d.n * D];
    let mut scales = vec![0f32; d.n];
    for i in 0..d.n {
        let r = row(d, i);
        let m = r.iter().fold(0f32, |a, v| a.max(v.abs()));
        let sc = if m > 0.0 { m / 127.0 } else { 1.0 };
        scales[i] = sc;
        for j in 0..D {
            codes[i * D + j] = (r[j] / sc).round().clamp(-127.0, 127.0) as i8;
        }
    }
    I8Index { codes, scales }
}

fn int8_topk(d: &Data, ix: &I8Index, q: &[f32], k: usize, buf: &mut Vec<(f32, u32)>) -> Vec<u32> {
    let keep = (2 * k + 64).min(d.n);
    buf.clear();
    for (i, c) in ix.codes.chunks_exact(D).enumerate() {
        buf.push((ix.scales[i] * dot_i8(q, c), i as u32));
    }
    let cmp = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0);
    buf.select_nth_unstable_by(keep - 1, cmp);
    let cand = &mut buf[..keep];
    for p in cand.iter_mut() {
        p.0 = dot(q, row(d, p.1 as usize));
    }
    cand.select_nth_unstable_by(k - 1, cmp);
    let top = &mut cand[..k];
    top.sort_unstable_by(cmp);
    top.iter().map(|p| p.1).collect()
}

// ---------------------------------------------------------------- measurement helpers
fn vmrss_kb() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    for l in s.lines() {
        if let Some(v) = l.strip_prefix("VmRSS:") {
            return v.trim().trim_end_matches("kB").trim().parse().unwrap();
        }
    }
    0
}
fn load1() -> String {
    let s = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    s.split_whitespace().next().unwrap_or("?").to_string()
}

fn recall(gt: &[u32], got: &[u32], at: usize) -> f64 {
    if got.len() < at || gt.len() < at {
        // count what was returned anyway
    }
    let g: std::collections::HashSet<u32> = gt[..at.min(gt.len())].iter().copied().collect();
    let hit = got[..at.min(got.len())].iter().filter(|i| g.contains(i)).count();
    hit as f64 / at as f64
}

struct Stats {
    mean_ms: f64,
    p99_ms: f64,
    r100: f64,
    r1024: Option<f64>,
}

/// run `f` for every query sequentially on this thread, with WARMUP untimed queries first
fn measure<F: FnMut(&[f32]) -> Vec<u32>>(d: &Data, gt: &[Vec<u32>], k: usize, mut f: F) -> Stats {
    for i in 0..WARMUP {
        std::hint::black_box(f(query(d, i)));
    }
    let mut lat = Vec::with_capacity(NQ);
    let mut r100 = 0.0;
    let mut r1024 = 0.0;
    for i in 0..NQ {
        let q = query(d, i);
        let t = Instant::now();
        let ids = f(q);
        lat.push(t.elapsed().as_secs_f64() * 1e3);
        r100 += recall(&gt[i], &ids, 100);
        if k >= K {
            r1024 += recall(&gt[i], &ids, K);
        }
    }
    let mean = lat.iter().sum::<f64>() / NQ as f64;
    lat.sort_by(|a, b| a.total_cmp(b));
    let p99 = lat[((NQ as f64 * 0.99).ceil() as usize).saturating_sub(1)];
    Stats {
        mean_ms: mean,
        p99_ms: p99,
        r100: r100 / NQ as f64,
        r1024: if k >= K { Some(r1024 / NQ as f64) } else { None },
    }
}

fn print_row(n: usize, kind: &str, method: &str, params: &str, build: &str, rss: &str, s: &Stats, l0: &str) {
    println!(
        "ROW| {} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.4} | {} | {} -> {} |",
        n,
        kind,
        method,
        params,
        build,
        rss,
        s.mean_ms,
        s.p99_ms,
        s.r100,
        s.r1024.map(|r| format!("{:.4}", r)).unwrap_or("–".into()),
        l0,
        load1()
    );
}

fn ground_truth(d: &Data) -> Vec<Vec<u32>> {
    (0..NQ)
        .into_par_iter()
        .map_init(|| Vec::with_capacity(d.n), |buf, i| exact_topk(d, query(d, i), K, buf))
        .collect()
}

fn dataset_stats(d: &Data, kind: &str, gt: &[Vec<u32>]) {
    let mut r = Rng::new(99);
    // cos to random other points
    let mut s_other = 0.0f64;
    let mut s_same = 0.0f64;
    let mut n_same = 0usize;
    let npairs = 20000;
    for _ in 0..npairs {
        let a = (r.next_u64() % d.n as u64) as usize;
        let b = (r.next_u64() % d.n as u64) as usize;
        s_other += dot(row(d, a), row(d, b)) as f64;
    }
    let mut s_centre = 0.0f64;
    if kind == "clustered" {
        for i in 0..2000.min(d.n) {
            let c = d.assign[i] as usize;
            s_centre += dot(row(d, i), &d.centres[c * D..(c + 1) * D]) as f64;
            // same-cluster partner search in a window
            for j in (i + 1)..(i + 2000).min(d.n) {
                if d.assign[j] as usize == c {
                    s_same += dot(row(d, i), row(d, j)) as f64;
                    n_same += 1;
                    break;
                }
            }
        }
        s_centre /= 2000.0f64.min(d.n as f64);
    }
    // cos of queries to their 1st / 100th / 1024th exact neighbour
    let (mut c1, mut c100, mut c1024) = (0.0f64, 0.0f64, 0.0f64);
    for i in 0..NQ {
        let q = query(d, i);
        c1 += dot(q, row(d, gt[i][0] as usize)) as f64;
        c100 += dot(q, row(d, gt[i][99] as usize)) as f64;
        c1024 += dot(q, row(d, gt[i][K - 1] as usize)) as f64;
    }
    let nq = NQ as f64;
    println!(
        "STAT| N={} {}: mean cos to own centre {} | mean cos same-cluster pair {} | mean cos random pair {:.4} | query->exact nn #1 {:.4}, #100 {:.4}, #1024 {:.4}",
        d.n,
        kind,
        if kind == "clustered" { format!("{:.4}", s_centre) } else { "n/a".into() },
        if n_same > 0 { format!("{:.4} (n={})", s_same / n_same as f64, n_same) } else { "n/a".into() },
        s_other / npairs as f64,
        c1 / nq,
        c100 / nq,
        c1024 / nq
    );
}

fn microbench_dist(d: &Data) {
    let m = 1000.min(d.n);
    let reps = 2_000_000usize;
    let dd = DistDot;
    let t = Instant::now();
    let mut acc = 0f32;
    for i in 0..reps {
        acc += dd.eval(query(d, i % NQ), row(d, (i * 7) % m));
    }
    let t_dd = t.elapsed().as_secs_f64() * 1e9 / reps as f64;
    std::hint::black_box(acc);
    let t = Instant::now();
    let mut acc = 0f32;
    for i in 0..reps {
        acc += 1.0 - dot(std::hint::black_box(query(d, i % NQ)), row(d, (i * 7) % m));
    }
    let t_my = t.elapsed().as_secs_f64() * 1e9 / reps as f64;
    std::hint::black_box(acc);
    println!(
        "STAT| distance kernel (d=384, cache-resident): hnsw_rs DistDot.eval {:.1} ns/call, 16-acc dot {:.1} ns/call (simdeez_f feature: {})",
        t_dd,
        t_my,
        cfg!(feature = "simd")
    );
}

// ---------------------------------------------------------------- jobs
fn job_base(n: usize, kind: &str) {
    let t = Instant::now();
    let d = make_data(n, kind);
    let t_gen = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let gt = ground_truth(&d);
    eprintln!("gen {:.1}s, ground truth {:.1}s", t_gen, t.elapsed().as_secs_f64());
    dataset_stats(&d, kind, &gt);
    microbench_dist(&d);

    let mut buf = Vec::with_capacity(n);
    let l0 = load1();
    let s = measure(&d, &gt, K, |q| exact_topk(&d, q, K, &mut buf));
    print_row(n, kind, "exact f32 scan", "k=1024", "–", "–", &s, &l0);

    let rss0 = vmrss_kb();
    let t = Instant::now();
    let ix = build_i8(&d);
    let bt = t.elapsed().as_secs_f64();
    let rss = (vmrss_kb() as f64 - rss0 as f64) / 1024.0;
    let l0 = load1();
    let s = measure(&d, &gt, K, |q| int8_topk(&d, &ix, q, K, &mut buf));
    print_row(n, kind, "int8 2-pass", "keep 2k+64=2112, f32 rescore", &format!("{:.2}", bt), &format!("{:.0}", rss), &s, &l0);
}

fn job_hnsw(n: usize, kind: &str, m: usize, efc: usize) {
    let d = make_data(n, kind);
    let gt = ground_truth(&d);
    let rss0 = vmrss_kb();
    let l_build = load1();
    let t = Instant::now();
    let mut h: Hnsw<f32, DistDot> = Hnsw::new(m, n, 16, efc, DistDot);
    let items: Vec<(&[f32], usize)> = (0..n).map(|i| (row(&d, i), i)).collect();
    h.parallel_insert_slice(&items);
    h.set_searching_mode(true);
    let bt = t.elapsed().as_secs_f64();
    drop(items);
    let rss = (vmrss_kb() as f64 - rss0 as f64) / 1024.0;
    eprintln!(
        "hnsw N={} {} M={} efc={} build {:.1}s (load {} -> {}), rss +{:.0} MB (raw vectors {:.0} MB), points {}",
        n, kind, m, efc, bt, l_build, load1(), rss, (n * D * 4) as f64 / 1048576.0, h.get_nb_point()
    );
    let build = format!("{:.1} (load {})", bt, l_build);
    let rss_s = format!("{:.0}", rss);
    for &(knbn, ef) in &[(1024usize, 1024usize), (1024, 1536), (1024, 2048), (100, 128), (100, 256)] {
        let l0 = load1();
        let s = measure(&d, &gt, knbn, |q| {
            h.search(q, knbn, ef).iter().map(|nb| nb.d_id as u32).collect()
        });
        print_row(
            n,
            kind,
            &format!("HNSW M={} efC={}", m, efc),
            &format!("knbn={} ef={}", knbn, ef),
            &build,
            &rss_s,
            &s,
            &l0,
        );
    }
}

fn main() {
    rayon::ThreadPoolBuilder::new().num_threads(2).build_global().unwrap();
    let a: Vec<String> = std::env::args().collect();
    let n: usize = a[2].parse().unwrap();
    match a[1].as_str() {
        "base" => job_base(n, &a[3]),
        "hnsw" => job_hnsw(n, &a[3], a[4].parse().unwrap(), a[5].parse().unwrap()),
        _ => panic!("usage: base N kind | hnsw N kind M efc"),
    }
}
