//! `OpenSearchIndex` against a real cluster whenever `OPENSEARCH_URL` is set (unsigned, e.g.
//! the single node that `eval "$(tests/aws/opensearch.sh start)"` runs): the shared
//! chunk-index conformance suite plus the few things only a real engine refuses (the
//! `real_cluster_*` tests). Without `OPENSEARCH_URL` they are skipped, unless
//! `LAMBDARAG_REQUIRE_OPENSEARCH` is set (CI): then they fail, as they do when the URL does
//! not answer.

mod opensearch_support;

use lambdarag::contract::ids::new_id;
use lambdarag::domain::ChunkRecord;
use lambdarag::ports::{ChunkIndex, ChunkListQuery, SearchRequest};
use lambdarag_aws::OpenSearchIndex;
use opensearch_support::chunk;

/// The real cluster from `OPENSEARCH_URL` (e.g. started by `tests/aws/opensearch.sh`),
/// checked to answer, or `None`: the test is skipped with a message. A URL that is set but
/// does not answer fails the test, and so does a missing one when
/// `LAMBDARAG_REQUIRE_OPENSEARCH` is set (CI), as `LAMBDARAG_REQUIRE_MOTO` does for moto.
async fn real_cluster(test: &str) -> Option<String> {
    let required = std::env::var("LAMBDARAG_REQUIRE_OPENSEARCH")
        .map(|v| !v.is_empty() && v != "0")
        .unwrap_or(false);
    let Some(url) = std::env::var("OPENSEARCH_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        assert!(
            !required,
            "LAMBDARAG_REQUIRE_OPENSEARCH is set but OPENSEARCH_URL is not: start a node with \
             `eval \"$(tests/aws/opensearch.sh start)\"`"
        );
        eprintln!(
            "SKIPPED {test}: OPENSEARCH_URL is not set (start a node with \
             tests/aws/opensearch.sh, or point it at an OpenSearch 2.x cluster with k-NN)"
        );
        return None;
    };
    let url = url.trim_end_matches('/').to_string();
    let health = reqwest::Client::new()
        .get(format!("{url}/_cluster/health"))
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await;
    match health {
        Ok(r) if r.status().is_success() => Some(url),
        Ok(r) => panic!(
            "OPENSEARCH_URL={url} answers /_cluster/health with {}",
            r.status()
        ),
        Err(e) => panic!(
            "OPENSEARCH_URL={url} does not answer: {e} (start a node with \
             `eval \"$(tests/aws/opensearch.sh start)\"`)"
        ),
    }
}

/// An index client on the real cluster with a prefix of its own (tests run in parallel
/// against one cluster, and others may use it too), and the prefix.
fn real_index(url: &str) -> (OpenSearchIndex, String) {
    let prefix = format!("lambdarag-test-{}-", &new_id()[..12]);
    let index = OpenSearchIndex::new(url)
        .expect("client")
        .with_index_prefix(prefix.clone());
    (index, prefix)
}

/// Best-effort clean-up of a test's indices.
async fn drop_indices(url: &str, prefix: &str) {
    let _ = reqwest::Client::new()
        .delete(format!("{url}/{prefix}*"))
        .send()
        .await;
}

/// The shared suite against a real cluster, when one is configured.
#[tokio::test]
async fn opensearch_index_passes_the_conformance_suite() {
    let Some(url) = real_cluster("opensearch_index_passes_the_conformance_suite").await else {
        return;
    };
    let (index, prefix) = real_index(&url);
    lambdarag::ports::conformance_index::run_all(&index).await;
    drop_indices(&url, &prefix).await;
}

fn search_req(ds: &str, text: &str, vector: Option<&[f32]>) -> SearchRequest {
    SearchRequest {
        dataset_ids: vec![ds.to_string()],
        document_ids: None,
        text: text.into(),
        vector: vector.map(<[f32]>::to_vec),
        top_k: 10,
    }
}

/// What the real engine refuses that a stub never would: a query that analyses into more
/// than 1024 clauses (four text fields per token). A long question in Chinese or Japanese
/// is one whitespace "word" of one token per character; hyphens and long runs of letters
/// split words too.
#[tokio::test]
async fn real_cluster_accepts_long_queries_in_any_script() {
    let Some(url) = real_cluster("real_cluster_accepts_long_queries_in_any_script").await else {
        return;
    };
    let (index, prefix) = real_index(&url);
    let (t, ds, doc) = (new_id(), new_id(), new_id());
    let han: Vec<char> = (0..1000u32)
        .filter_map(|i| char::from_u32(0x4e00 + i))
        .collect();
    let cjk: String = han.iter().collect();
    let first: String = han[..10].iter().collect();
    let c = chunk(&t, &ds, &doc, 0, &first, &[]);
    index
        .upsert(&t, std::slice::from_ref(&c))
        .await
        .expect("upsert");
    let hyphenated: String = (0..300).map(|i| format!("w{i}-x{i}-y{i}-z{i} ")).collect();
    let long_run = "abcdefghij".repeat(30_000);
    let mut mixed = String::new();
    for i in 0..400 {
        let three: String = han[i % 300..i % 300 + 3].iter().collect();
        mixed.push_str(&format!("{three}ひらがなカタカナ{i}🙂"));
        mixed.push(' ');
    }
    for (name, text) in [
        ("1000 CJK characters", cjk.as_str()),
        ("300 hyphenated words", hyphenated.as_str()),
        ("one 300k-letter word", long_run.as_str()),
        ("mixed scripts and emoji", mixed.as_str()),
    ] {
        let hits = index
            .search(&t, &search_req(&ds, text, None))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        if name == "1000 CJK characters" {
            assert!(
                hits.iter()
                    .any(|h| h.chunk.id == c.id && h.term_score > 0.0),
                "{name}: the chunk with the first characters is found"
            );
        }
        index
            .search_hits(&t, &search_req(&ds, text, None))
            .await
            .unwrap_or_else(|e| panic!("{name}: search_hits: {e}"));
        let q = ChunkListQuery {
            keywords: Some(text.into()),
            page: 1,
            page_size: 10,
        };
        index
            .list_document(&t, &ds, &doc, &q)
            .await
            .unwrap_or_else(|e| panic!("{name}: list_document: {e}"));
    }
    drop_indices(&url, &prefix).await;
}

/// The k-NN plugin refuses an all-zero vector for cosine similarity, which would fail the
/// whole batch; such a chunk is stored without a vector (its cosine with anything is 0).
#[tokio::test]
async fn real_cluster_stores_a_zero_vector_chunk_without_its_vector() {
    let Some(url) =
        real_cluster("real_cluster_stores_a_zero_vector_chunk_without_its_vector").await
    else {
        return;
    };
    let (index, prefix) = real_index(&url);
    let (t, ds, doc) = (new_id(), new_id(), new_id());
    let zero = chunk(&t, &ds, &doc, 0, "zero vector here", &[0.0; 4]);
    let unit = chunk(&t, &ds, &doc, 1, "unit vector here", &[1.0, 0.0, 0.0, 0.0]);
    index
        .upsert(&t, &[zero.clone(), unit.clone()])
        .await
        .expect("a zero vector does not fail the batch");
    let got = index.get(&t, &ds, &zero.id).await.expect("get");
    assert_eq!(got.map(|c| c.content), Some(zero.content.clone()));
    let hits = index
        .search(&t, &search_req(&ds, "vector", Some(&[1.0, 0.0, 0.0, 0.0])))
        .await
        .expect("search");
    let z = hits
        .iter()
        .find(|h| h.chunk.id == zero.id)
        .expect("text hit");
    assert_eq!(z.vector_score, 0.0, "a zero vector's cosine is 0");
    let u = hits
        .iter()
        .find(|h| h.chunk.id == unit.id)
        .expect("both hit");
    assert!((u.vector_score - 1.0).abs() < 1e-4);
    drop_indices(&url, &prefix).await;
}

/// An index made by a write without vectors gets its vector fields later, also from
/// another client whose cache has not seen them; concurrent first writes of one tenant
/// (two functions) create the index once and lose nothing.
#[tokio::test]
async fn real_cluster_adds_vector_fields_later_and_survives_concurrent_creation() {
    let Some(url) =
        real_cluster("real_cluster_adds_vector_fields_later_and_survives_concurrent_creation")
            .await
    else {
        return;
    };
    let (index, prefix) = real_index(&url);
    let other = OpenSearchIndex::new(&url)
        .expect("client")
        .with_index_prefix(prefix.clone());
    let (t, ds, doc) = (new_id(), new_id(), new_id());
    let plain = chunk(&t, &ds, &doc, 0, "no vector yet", &[]);
    index.upsert(&t, &[plain]).await.expect("upsert");
    let four = chunk(&t, &ds, &doc, 1, "four dims", &[0.0, 1.0, 0.0, 0.0]);
    index
        .upsert(&t, std::slice::from_ref(&four))
        .await
        .expect("upsert 4");
    let eight = chunk(&t, &ds, &doc, 2, "eight dims", &[0.5; 8]);
    other
        .upsert(&t, std::slice::from_ref(&eight))
        .await
        .expect("upsert 8");
    for (q, want) in [(vec![0.0, 1.0, 0.0, 0.0], &four), (vec![0.5; 8], &eight)] {
        let hits = index
            .search(&t, &search_req(&ds, "", Some(&q)))
            .await
            .expect("search");
        assert_eq!(
            hits.iter().map(|h| h.chunk.id.clone()).collect::<Vec<_>>(),
            vec![want.id.clone()],
            "vectors of {} dimensions are searchable",
            q.len()
        );
    }

    let t2 = new_id();
    let a: Vec<ChunkRecord> = (0..20)
        .map(|i| chunk(&t2, &ds, &doc, i, "from a", &[1.0, 0.0, 0.0, 0.0]))
        .collect();
    let b: Vec<ChunkRecord> = (20..40)
        .map(|i| chunk(&t2, &ds, &doc, i, "from b", &[0.0, 0.0, 1.0]))
        .collect();
    let (ra, rb) = tokio::join!(index.upsert(&t2, &a), other.upsert(&t2, &b));
    ra.expect("first writer");
    rb.expect("second writer");
    let (_, total) = index
        .list_document(
            &t2,
            &ds,
            &doc,
            &ChunkListQuery {
                keywords: None,
                page: 1,
                page_size: 0,
            },
        )
        .await
        .expect("list");
    assert_eq!(total, 40, "both writers' chunks are there");
    drop_indices(&url, &prefix).await;
}
