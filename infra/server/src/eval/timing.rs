//! Running the queries of one mode, with wall and CPU time per component.

use super::*;

pub(super) struct Ctx {
    pub(super) state: AppState,
    pub(super) tenant_id: String,
    pub(super) datasets: Vec<Dataset>,
    pub(super) queries: Vec<(String, String)>,
    /// document id → corpus id.
    pub(super) corpus_of: HashMap<String, String>,
    pub(super) page_size: usize,
    pub(super) top_k: usize,
}

impl Ctx {
    pub(super) fn request(&self, question: &str, w: f32) -> RetrievalRequest {
        RetrievalRequest {
            dataset_ids: self.datasets.iter().map(|d| d.id.clone()).collect(),
            question: question.to_string(),
            page: 1,
            page_size: self.page_size,
            similarity_threshold: 0.0,
            vector_similarity_weight: w,
            top_k: self.top_k,
            highlight: false,
            ..Default::default()
        }
    }

    /// Hits → distinct corpus ids, best first.
    pub(super) fn ranked<'a>(&self, chunks: impl Iterator<Item = &'a ScoredChunk>) -> Vec<String> {
        let mut seen = HashSet::new();
        chunks
            .filter_map(|c| self.corpus_of.get(&c.chunk.document_id))
            .filter(|id| seen.insert(id.as_str()))
            .cloned()
            .collect()
    }
}

/// Latencies (ms) and throughput of one timed pass.
#[derive(Default)]
pub(super) struct Timing {
    pub(super) lat_ms: Vec<f64>,
    pub(super) wall_s: f64,
    /// CPU time (user + system) this process used meanwhile, all threads.
    pub(super) cpu_s: Option<f64>,
}

impl Timing {
    pub(super) fn qps(&self) -> f64 {
        self.lat_ms.len() as f64 / self.wall_s.max(1e-9)
    }
    pub(super) fn p(&self, p: f64) -> f64 {
        let mut v = self.lat_ms.clone();
        v.sort_by(f64::total_cmp);
        percentile(&v, p)
    }
    pub(super) fn cpu_ms_per_query(&self) -> Option<f64> {
        self.cpu_s
            .map(|c| c * 1e3 / self.lat_ms.len().max(1) as f64)
    }
    pub(super) fn json(&self) -> Value {
        json!({
            "queries": self.lat_ms.len(),
            "cpu_ms_per_query": self.cpu_ms_per_query(),
            "qps": self.qps(),
            "p50_ms": self.p(0.5),
            "p99_ms": self.p(0.99),
            "mean_ms": self.lat_ms.iter().sum::<f64>() / self.lat_ms.len().max(1) as f64,
        })
    }
}

/// Run every query through `retrieval::retrieve` at weight `w` with `concurrency` clients.
pub(super) async fn run_mode(
    ctx: Arc<Ctx>,
    w: f32,
    concurrency: usize,
) -> BenchResult<(HashMap<String, Vec<String>>, Timing)> {
    // Warm-up (untimed): caches, the model's first calls, the allocator.
    for (_, q) in ctx.queries.iter().take(10) {
        retrieval::retrieve(
            &ctx.state,
            &ctx.tenant_id,
            &ctx.datasets,
            &ctx.request(q, w),
        )
        .await?;
    }
    let next = Arc::new(AtomicUsize::new(0));
    let cpu0 = bench::cpu_seconds();
    let began = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (ctx, next) = (ctx.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut out: ClientRuns = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((qid, q)) = ctx.queries.get(i) else {
                    break;
                };
                let t0 = Instant::now();
                let r = retrieval::retrieve(
                    &ctx.state,
                    &ctx.tenant_id,
                    &ctx.datasets,
                    &ctx.request(q, w),
                )
                .await
                .map_err(|e| e.message)?;
                let ms = t0.elapsed().as_secs_f64() * 1e3;
                out.push((
                    qid.clone(),
                    ctx.ranked(r.hits.iter().map(|h| &h.scored)),
                    ms,
                ));
            }
            Ok::<_, String>(out)
        }));
    }
    gather(tasks, began, cpu0).await
}

/// What a client task returns: per query, its id, the corpus ids ranked, the latency in ms.
pub(super) type ClientRuns = Vec<(String, Vec<String>, f64)>;

/// Join the client tasks of a timed pass: each query's last ranking, and the pass's
/// latencies, wall time (since `began`) and CPU time (since `cpu0`).
pub(super) async fn gather(
    tasks: Vec<tokio::task::JoinHandle<Result<ClientRuns, String>>>,
    began: Instant,
    cpu0: Option<f64>,
) -> BenchResult<(HashMap<String, Vec<String>>, Timing)> {
    let mut runs = HashMap::new();
    let mut timing = Timing::default();
    for t in tasks {
        for (qid, ranked, ms) in t.await?? {
            runs.insert(qid, ranked);
            timing.lat_ms.push(ms);
        }
    }
    timing.wall_s = began.elapsed().as_secs_f64();
    timing.cpu_s = cpu0.zip(bench::cpu_seconds()).map(|(a, b)| b - a);
    Ok((runs, timing))
}

/// Time an async step over every query, sequentially.
pub(super) async fn time_each<F, Fut, T>(
    queries: &[(String, String)],
    mut f: F,
) -> BenchResult<(Vec<T>, Timing)>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = BenchResult<T>>,
{
    for i in 0..queries.len().min(10) {
        f(i).await?;
    }
    let mut out = Vec::with_capacity(queries.len());
    let mut timing = Timing::default();
    let cpu0 = bench::cpu_seconds();
    let began = Instant::now();
    for i in 0..queries.len() {
        let t0 = Instant::now();
        out.push(f(i).await?);
        timing.lat_ms.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    timing.wall_s = began.elapsed().as_secs_f64();
    timing.cpu_s = cpu0.zip(bench::cpu_seconds()).map(|(a, b)| b - a);
    Ok((out, timing))
}
