use super::*;

fn tokens(text: &str) -> Vec<String> {
    let mut a = analyzer();
    let mut s = a.token_stream(text);
    let mut out = vec![];
    while s.advance() {
        out.push(s.token().text.clone());
    }
    out
}

#[test]
fn words_are_lowercased_stemmed_and_stop_words_dropped() {
    assert_eq!(
        tokens("The Foxes were RUNNING, quickly!"),
        vec!["fox", "were", "run", "quick"]
    );
    assert_eq!(tokens("C++ and C#: v2.0"), vec!["c", "c", "v2", "0"]);
    assert!(tokens("🙂 -- !!").is_empty());
}

#[test]
fn cjk_text_is_split_into_characters() {
    assert_eq!(tokens("检索增强"), vec!["检", "索", "增", "强"]);
    assert_eq!(tokens("RAG检索abc"), vec!["rag", "检", "索", "abc"]);
    assert_eq!(tokens("ひらがな"), vec!["ひ", "ら", "が", "な"]);
}

fn chunk(t: &str, ds: &str, doc: &str, i: i64, text: &str, v: &[f32]) -> ChunkRecord {
    let mut c = lambdarag::ports::conformance_index::sample_chunk(t, ds, doc, i, text);
    c.vector = v.to_vec();
    c
}

fn req(ds: &str, text: &str, v: Option<&[f32]>) -> SearchRequest {
    SearchRequest {
        dataset_ids: vec![ds.to_string()],
        document_ids: None,
        text: text.into(),
        vector: v.map(<[f32]>::to_vec),
        top_k: 100,
    }
}

/// search_hits as (id, term, vector), against search's available candidates.
async fn same_as_search(index: &TantivyIndex, t: &str, r: &SearchRequest) -> usize {
    let full: Vec<(String, f32, f32)> = index
        .search(t, r)
        .await
        .expect("search")
        .into_iter()
        .filter(|s| s.chunk.available)
        .map(|s| (s.chunk.id, s.term_score, s.vector_score))
        .collect();
    let hits: Vec<(String, f32, f32)> = index
        .search_hits(t, r)
        .await
        .expect("search_hits")
        .into_iter()
        .map(|h| (h.chunk_id.to_string(), h.term_score, h.vector_score))
        .collect();
    assert_eq!(hits, full, "same candidates, scores and order");
    hits.len()
}

/// Upserts from many tasks at once share commits; each returns only once its chunks
/// are durable and visible (text and vector), and a reopen finds every one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_upserts_are_each_visible_when_they_return() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("index");
    let index = TantivyIndex::open(&path).expect("open");
    let mut tasks = Vec::new();
    for d in 0..24 {
        let index = index.clone();
        tasks.push(tokio::spawn(async move {
            let doc = format!("doc{d}");
            let chunks: Vec<ChunkRecord> = (0..3)
                .map(|i| {
                    chunk(
                        "t",
                        "ds",
                        &doc,
                        i,
                        &format!("petrel{d} words"),
                        &[1.0, d as f32, i as f32],
                    )
                })
                .collect();
            index.upsert("t", &chunks).await.expect("upsert");
            // Visible to the very next read, text and vector.
            let hits = index
                .search_hits(
                    "t",
                    &req("ds", &format!("petrel{d}"), Some(&[1.0, d as f32, 0.0])),
                )
                .await
                .expect("search");
            assert_eq!(
                hits.iter()
                    .filter(|h| *h.document_id == *doc && h.term_score > 0.0)
                    .count(),
                3
            );
            assert!(hits
                .iter()
                .filter(|h| *h.document_id == *doc)
                .all(|h| h.vector_score > 0.0));
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    drop(index);
    let reopened = TantivyIndex::open(&path).expect("reopen");
    let all = reopened
        .search_hits("t", &req("ds", "words", Some(&[1.0, 0.0, 0.0])))
        .await
        .expect("search");
    assert_eq!(all.len(), 72);
}

#[tokio::test]
async fn ids_follow_new_segments_merges_deletes_and_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("index");
    let (t, ds, doc) = ("t", "ds", "doc");
    let index = TantivyIndex::open(&path).expect("open");
    // One segment per upsert.
    let mut all = vec![];
    for i in 0..6 {
        let c = chunk(t, ds, doc, i, &format!("grebe {i}"), &[1.0, i as f32, 0.0]);
        index
            .upsert(t, std::slice::from_ref(&c))
            .await
            .expect("upsert");
        all.push(c);
    }
    let hybrid = req(ds, "grebe", Some(&[1.0, 2.0, 0.0]));
    assert_eq!(same_as_search(&index, t, &hybrid).await, 6);
    index
        .delete_chunks(t, ds, doc, std::slice::from_ref(&all[2].id))
        .await
        .expect("delete");
    assert_eq!(same_as_search(&index, t, &hybrid).await, 5);

    // Merge everything into one segment: its ids are read as the reader reloads.
    {
        let inner = &index.inner;
        let mut writer = inner.writer.lock();
        let segments = writer
            .writer
            .index()
            .searchable_segment_ids()
            .expect("segments");
        writer.writer.merge(&segments).wait().expect("merge");
        inner.commit(&mut writer).expect("commit");
    }
    let searcher = index.inner.reader.searcher();
    assert_eq!(searcher.segment_readers().len(), 1, "merged");
    assert_eq!(same_as_search(&index, t, &hybrid).await, 5);
    assert_eq!(
        same_as_search(&index, t, &req(ds, "", Some(&[0.0, 1.0, 0.0]))).await,
        5
    );
    // Only the live searcher's segments are kept once the old ones are collected.
    index.inner.ids.garbage_collect(&[searcher.generation()]);
    let cached: Vec<SegmentId> = index
        .inner
        .ids
        .segments
        .read()
        .expect("ids")
        .keys()
        .copied()
        .collect();
    assert_eq!(cached, vec![searcher.segment_readers()[0].segment_id()]);
    drop(searcher);

    drop(index);
    let index = TantivyIndex::open(&path).expect("reopen");
    assert_eq!(same_as_search(&index, t, &hybrid).await, 5);
    let vector_only = index
        .search_hits(t, &req(ds, "", Some(&[1.0, 5.0, 0.0])))
        .await
        .expect("search_hits");
    assert_eq!(
        vector_only.first().map(|h| &*h.chunk_id),
        Some(all[5].id.as_str()),
        "vectors are loaded at open"
    );
}

#[tokio::test]
async fn get_returns_the_vector_so_an_edit_keeps_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let index = TantivyIndex::open(&dir.path().join("index")).expect("open");
    let (t, ds, doc) = ("t", "ds", "doc");
    let c = chunk(t, ds, doc, 0, "kestrel", &[0.0, 3.0, 4.0]);
    index
        .upsert(t, std::slice::from_ref(&c))
        .await
        .expect("upsert");
    // A chunk update: read, change a field, write back (the text and so the vector
    // unchanged), as the chunk API does.
    let mut read = index.get(t, ds, &c.id).await.expect("get").expect("found");
    assert_eq!(read.vector, c.vector, "get returns the vector as written");
    read.available = false;
    index.upsert(t, &[read]).await.expect("upsert");
    let mut read = index.get(t, ds, &c.id).await.expect("get").expect("found");
    read.available = true;
    index.upsert(t, &[read]).await.expect("upsert");
    let hits = index
        .search_hits(t, &req(ds, "", Some(&[0.0, 3.0, 4.0])))
        .await
        .expect("search_hits");
    assert!(
        hits.iter()
            .any(|h| *h.chunk_id == *c.id && (h.vector_score - 1.0).abs() < 1e-5),
        "the edited chunk still matches by vector: {hits:?}"
    );
}

#[test]
fn dot_is_the_plain_dot_product() {
    for n in [0, 3, 8, 13, 384] {
        let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-4, "{n} dims");
    }
}

#[test]
fn vectors_round_trip_through_bytes() {
    let v = vec![0.5, -1.25, f32::MIN_POSITIVE, 3.0e7];
    assert_eq!(vector_from_bytes(&vector_bytes(&v)), v);
    assert_eq!(unit(&[0.0, 0.0]), None);
    assert_eq!(unit(&[3.0, 4.0]), Some(vec![0.6, 0.8]));
}
