//! `--http`: the same queries through the public HTTP API, the path users take.
//!
//! The real router (`lambdarag_server::app`, exactly what `serve` mounts) listens on a
//! loopback port of this process; each client is its own keep-alive connection sending
//! `POST /api/v1/retrieval` with only `question` and `dataset_ids` (plus
//! `vector_similarity_weight: 0` for the BM25 run), so page size, threshold, top_k and
//! weight are the API's defaults. Each response is parsed (JSON included in the cost) and
//! its hits mapped back to corpus ids, so nDCG@10 checks the answers, not only the speed.
//! The clients run in the same process: the CPU figure includes their share.

use super::*;

use reqwest::Client;

pub(super) struct HttpTarget {
    base: String,
    key: String,
    dataset_ids: Vec<String>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for HttpTarget {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Serve the deployment's router on 127.0.0.1 (a free port) with a fresh key for `tenant_id`.
pub(super) async fn start(ctx: &Ctx) -> BenchResult<HttpTarget> {
    let (key, _) =
        lambdarag::services::auth::issue_key(ctx.state.meta.as_ref(), &ctx.tenant_id).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = lambdarag_server::app(ctx.state.clone());
    let server = tokio::spawn(async move {
        let service = axum::ServiceExt::<axum::extract::Request>::into_make_service(app);
        if let Err(e) = axum::serve(listener, service).await {
            eprintln!("eval http server stopped: {e}");
        }
    });
    Ok(HttpTarget {
        base: format!("http://{addr}"),
        key,
        dataset_ids: ctx.datasets.iter().map(|d| d.id.clone()).collect(),
        server,
    })
}

/// One request; the hits' corpus ids, best first.
async fn ask(
    client: &Client,
    target: &HttpTarget,
    ctx: &Ctx,
    question: &str,
    weight: Option<f32>,
) -> BenchResult<Vec<String>> {
    let mut body = json!({ "question": question, "dataset_ids": target.dataset_ids });
    if let Some(w) = weight {
        body["vector_similarity_weight"] = json!(w);
    }
    let reply: Value = client
        .post(format!("{}/api/v1/retrieval", target.base))
        .bearer_auth(&target.key)
        .json(&body)
        .send()
        .await?
        .json()
        .await?;
    if reply["code"] != json!(0) {
        return Err(format!("retrieval answered {reply}").into());
    }
    let mut seen = HashSet::new();
    Ok(reply["data"]["chunks"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|c| ctx.corpus_of.get(c["document_id"].as_str()?))
        .filter(|id| seen.insert(id.as_str()))
        .cloned()
        .collect())
}

/// Every query `rounds` times through HTTP with `concurrency` clients.
pub(super) async fn run_http_mode(
    ctx: Arc<Ctx>,
    target: Arc<HttpTarget>,
    weight: Option<f32>,
    concurrency: usize,
    rounds: usize,
) -> BenchResult<(HashMap<String, Vec<String>>, Timing)> {
    let warm = Client::new();
    for (_, q) in ctx.queries.iter().take(10) {
        ask(&warm, &target, &ctx, q, weight).await?;
    }
    let total = ctx.queries.len() * rounds.max(1);
    let next = Arc::new(AtomicUsize::new(0));
    let cpu0 = bench::cpu_seconds();
    let began = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (ctx, target, next) = (ctx.clone(), target.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            // One client (one keep-alive connection) per simulated user.
            let client = Client::new();
            let mut out: ClientRuns = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let (qid, q) = &ctx.queries[i % ctx.queries.len()];
                let t0 = Instant::now();
                let ranked = ask(&client, &target, &ctx, q, weight)
                    .await
                    .map_err(|e| e.to_string())?;
                out.push((qid.clone(), ranked, t0.elapsed().as_secs_f64() * 1e3));
            }
            Ok::<_, String>(out)
        }));
    }
    gather(tasks, began, cpu0).await
}
