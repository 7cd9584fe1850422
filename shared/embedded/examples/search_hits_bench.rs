//! Per-call latency of `ChunkIndex::search` against `search_hits` (+ `get_chunks` for a
//! page) on an existing embedded index, e.g. the data dir `scripts/eval-scifact.sh` fills.
//!
//! ```sh
//! cp -r <data dir> /tmp/hits-bench   # the index is opened for writing: use a copy
//! cargo run --release -p lambdarag-embedded --example search_hits_bench -- \
//!     /tmp/hits-bench/index ../shared/bench-data/scifact/queries.jsonl [queries] [rounds]
//! ```
//!
//! It also checks that `search_hits` returned exactly the available candidates of `search`
//! (ids, scores, order) and that `get_chunks` found every id asked.
//!
//! Queries are the `text` of each JSONL line. There is no embedder here, so a query's
//! vector is the stored vector of its best BM25 hit: a real neighbour of the query, which
//! gives the vector and text candidate sets an overlap like a real embedding's would.
//! The index's tenant and dataset are those of its first chunk.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use lambdarag::ports::{ChunkIndex, SearchRequest};
use lambdarag_embedded::TantivyIndex;
use tantivy::schema::Value;
use tantivy::TantivyDocument;

type Error = Box<dyn std::error::Error>;

#[derive(serde::Deserialize)]
struct Meta {
    id: String,
    tenant_id: String,
    dataset_id: String,
}

struct Stored {
    tenant_id: String,
    dataset_id: String,
    vectors: HashMap<String, Vec<f32>>,
}

/// The stored vectors, read straight from the tantivy files (the port returns records
/// without them).
fn stored(dir: &std::path::Path) -> Result<Stored, Error> {
    let index = tantivy::Index::open_in_dir(dir)?;
    let schema = index.schema();
    let (record, vector) = (schema.get_field("record")?, schema.get_field("vector")?);
    let searcher = index.reader()?.searcher();
    let mut out = Stored {
        tenant_id: String::new(),
        dataset_id: String::new(),
        vectors: HashMap::new(),
    };
    for segment in searcher.segment_readers() {
        let store = segment.get_store_reader(64)?;
        for doc in store.iter::<TantivyDocument>(segment.alive_bitset()) {
            let doc = doc?;
            let json = doc.get_first(record).and_then(|v| v.as_str()).unwrap_or("");
            let meta: Meta = serde_json::from_str(json)?;
            if out.tenant_id.is_empty() {
                out.tenant_id = meta.tenant_id.clone();
                out.dataset_id = meta.dataset_id.clone();
            }
            if let Some(b) = doc.get_first(vector).and_then(|v| v.as_bytes()) {
                let v = b
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                out.vectors.insert(meta.id, v);
            }
        }
    }
    Ok(out)
}

#[derive(Default)]
struct Timings(Vec<Duration>);

impl Timings {
    fn add(&mut self, d: Duration) {
        self.0.push(d);
    }
    fn ms(&self) -> (f64, f64) {
        let mut v: Vec<f64> = self.0.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        v.sort_by(f64::total_cmp);
        let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
        (mean, v.get(v.len() / 2).copied().unwrap_or(0.0))
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, queries, rest @ ..] = args.as_slice() else {
        return Err(
            "usage: search_hits_bench <index dir> <queries.jsonl> [queries] [rounds]".into(),
        );
    };
    let n: usize = rest.first().map_or(Ok(100), |s| s.parse())?;
    let rounds: usize = rest.get(1).map_or(Ok(3), |s| s.parse())?;
    let dir = PathBuf::from(dir);

    let t = Instant::now();
    let st = stored(&dir)?;
    println!(
        "{} stored vectors read in {:.0} ms; tenant {} dataset {}",
        st.vectors.len(),
        t.elapsed().as_secs_f64() * 1e3,
        st.tenant_id,
        st.dataset_id
    );
    let t = Instant::now();
    let index = TantivyIndex::open(&dir)?;
    println!("index opened in {:.0} ms", t.elapsed().as_secs_f64() * 1e3);

    let texts: Vec<String> = std::fs::read_to_string(queries)?
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("text").and_then(|t| t.as_str()).map(str::to_string))
        .take(n)
        .collect();
    let tenant = st.tenant_id.as_str();
    let req = |text: &str, vector: Option<Vec<f32>>, top_k| SearchRequest {
        dataset_ids: vec![st.dataset_id.clone()],
        document_ids: None,
        text: text.to_string(),
        vector,
        top_k,
    };
    // Each query's vector: its best BM25 hit's (untimed).
    let mut cases = Vec::with_capacity(texts.len());
    for text in &texts {
        let top = index.search(tenant, &req(text, None, 1)).await?;
        let v = top
            .first()
            .and_then(|h| st.vectors.get(&h.chunk.id))
            .cloned();
        cases.push((req(text, v, 1024), req(text, None, 10)));
    }

    let (mut hybrid, mut hybrid_hits, mut bm25, mut bm25_hits, mut page) = Default::default();
    let (mut candidates, mut mismatches) = (0usize, 0usize);
    for round in 0..rounds {
        for (hy, tx) in &cases {
            // Interleaved, so the machine's load falls on both sides alike.
            let t = Instant::now();
            let full = index.search(tenant, hy).await?;
            Timings::add(&mut hybrid, t.elapsed());
            let t = Instant::now();
            let hits = index.search_hits(tenant, hy).await?;
            Timings::add(&mut hybrid_hits, t.elapsed());
            let t = Instant::now();
            let _ = index.search(tenant, tx).await?;
            Timings::add(&mut bm25, t.elapsed());
            let t = Instant::now();
            let _ = index.search_hits(tenant, tx).await?;
            Timings::add(&mut bm25_hits, t.elapsed());
            let ids: Vec<(String, String)> = hits
                .iter()
                .take(30)
                .map(|h| (h.dataset_id.to_string(), h.chunk_id.to_string()))
                .collect();
            let t = Instant::now();
            let got = index.get_chunks(tenant, &ids).await?;
            Timings::add(&mut page, t.elapsed());
            if round == 0 {
                candidates += hits.len();
                let want: Vec<(String, f32, f32)> = full
                    .iter()
                    .filter(|s| s.chunk.available)
                    .map(|s| (s.chunk.id.clone(), s.term_score, s.vector_score))
                    .collect();
                let have: Vec<(String, f32, f32)> = hits
                    .iter()
                    .map(|h| (h.chunk_id.to_string(), h.term_score, h.vector_score))
                    .collect();
                mismatches += usize::from(want != have || got.len() != ids.len());
            }
        }
    }
    println!(
        "{} queries x {rounds} rounds; {:.0} candidates per hybrid query; {mismatches} queries \
         where search_hits differed from search",
        cases.len(),
        candidates as f64 / cases.len().max(1) as f64
    );
    println!("call                          mean ms  median ms");
    for (name, t) in [
        ("search, hybrid top_k 1024", &hybrid),
        ("search_hits, hybrid top_k 1024", &hybrid_hits),
        ("search, BM25 top_k 10", &bm25),
        ("search_hits, BM25 top_k 10", &bm25_hits),
        ("get_chunks, 30 ids", &page),
    ] {
        let (mean, median) = t.ms();
        println!("{name:<30} {mean:>7.2} {median:>10.2}");
    }
    Ok(())
}
