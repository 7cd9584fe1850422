//! `search_hits` (ids and scores only) against `search`, and `get_chunks`.

use super::*;

pub(super) async fn search_hits(
    index: &dyn ChunkIndex,
    t: &str,
    req: SearchRequest,
) -> Vec<ChunkHit> {
    index.search_hits(t, &req).await.expect("search_hits")
}

/// A candidate as comparable text: ids, then both scores rounded (adapters may compute the
/// same score in two queries, with float noise).
pub(super) fn key(
    chunk_id: &str,
    dataset_id: &str,
    document_id: &str,
    term: f32,
    vector: f32,
) -> String {
    format!("{chunk_id} {dataset_id} {document_id} {term:.4} {vector:.4}")
}

pub(super) fn hit_keys(hits: &[ChunkHit]) -> Vec<String> {
    let mut k: Vec<String> = hits
        .iter()
        .map(|h| {
            key(
                &h.chunk_id,
                &h.dataset_id,
                &h.document_id,
                h.term_score,
                h.vector_score,
            )
        })
        .collect();
    k.sort();
    k
}

pub(super) fn available_keys(hits: &[ScoredChunk]) -> Vec<String> {
    let mut k: Vec<String> = hits
        .iter()
        .filter(|h| h.chunk.available)
        .map(|h| {
            key(
                &h.chunk.id,
                &h.chunk.dataset_id,
                &h.chunk.document_id,
                h.term_score,
                h.vector_score,
            )
        })
        .collect();
    k.sort();
    k
}

/// `search_hits` names the candidates `search` returns, with the same scores, minus the
/// unavailable ones (top_k here exceeds every candidate set, so no slot question arises).
pub(super) async fn hits_match_search(index: &dyn ChunkIndex) {
    let (t, ds, ds2, doc, doc2) = (new_id(), new_id(), new_id(), new_id(), new_id());
    let mut all = vec![];
    for i in 0..10 {
        let v = [1.0, i as f32 / 5.0, (i % 3) as f32 / 4.0, 0.0];
        let d = if i % 2 == 0 { &doc } else { &doc2 };
        let text = match i % 3 {
            0 => format!("heron nest number {i}"),
            1 => format!("heron and egret by the river {i}"),
            _ => format!("an egret only {i}"),
        };
        let mut c = with_vector(sample_chunk(&t, &ds, d, i, &text), &v);
        c.available = i % 4 != 1;
        all.push(c);
    }
    // Text matches without a vector, and a vector without a text match.
    let mut novec = sample_chunk(&t, &ds, &doc, 20, "heron without a vector");
    novec.available = true;
    all.push(novec);
    all.push(with_vector(
        sample_chunk(&t, &ds, &doc2, 21, "nothing in common"),
        &E1,
    ));
    all.push(with_vector(
        sample_chunk(&t, &ds2, &doc, 0, "heron elsewhere"),
        &E2,
    ));
    upsert(index, &t, &all).await;
    assert!(all.iter().any(|c| !c.available));

    let q: &[f32] = &[1.0, 0.5, 0.2, 0.0];
    let mut cases = vec![
        ("hybrid", req(&[&ds], "heron egret", Some(q), 50)),
        ("text only", req(&[&ds], "heron", None, 50)),
        ("vector only", req(&[&ds], "", Some(q), 50)),
        ("two datasets", req(&[&ds, &ds2], "heron", Some(&E2), 50)),
        ("no match", req(&[&ds], "zebra", None, 50)),
    ];
    let mut restricted = req(&[&ds, &ds2], "egret heron", Some(q), 50);
    restricted.document_ids = Some(vec![doc.clone()]);
    cases.push(("document_ids", restricted));
    for (name, r) in cases {
        let full = search(index, &t, r.clone()).await;
        let hits = search_hits(index, &t, r.clone()).await;
        assert_eq!(
            hit_keys(&hits),
            available_keys(&full),
            "{name}: search_hits = the available candidates of search, same ids and scores"
        );
        if name != "no match" {
            assert!(!hits.is_empty(), "{name}: the case finds something");
        }
    }
    let mut none = req(&[&ds], "heron", Some(q), 50);
    none.document_ids = Some(vec![]);
    assert!(
        search_hits(index, &t, none).await.is_empty(),
        "document_ids = Some(empty) matches nothing"
    );
    assert!(
        search_hits(index, &t, req(&[], "heron", Some(q), 50))
            .await
            .is_empty(),
        "no dataset ids: nothing to search"
    );
    assert!(
        search_hits(index, &t, req(&[&ds], "heron", Some(q), 0))
            .await
            .is_empty(),
        "top_k 0 returns nothing"
    );
}

/// Unavailable chunks are filtered inside both rankings: they take no top_k slot, and an
/// upsert that flips `available` takes effect for text and vector alike.
pub(super) async fn hits_leave_out_unavailable_chunks(index: &dyn ChunkIndex) {
    let (t, ds, doc) = (new_id(), new_id(), new_id());
    // The two best matches of either ranking are unavailable.
    let mut hidden = vec![];
    let mut shown = vec![];
    for i in 0..6 {
        let text = if i < 2 {
            "osprey".to_string()
        } else {
            format!("osprey seen over the long lake at dusk, number {i}")
        };
        let v = [1.0, i as f32 / 10.0, 0.0, 0.0];
        let mut c = with_vector(sample_chunk(&t, &ds, &doc, i, &text), &v);
        c.available = i >= 2;
        if c.available {
            shown.push(c);
        } else {
            hidden.push(c);
        }
    }
    upsert(index, &t, &hidden).await;
    upsert(index, &t, &shown).await;
    for (name, r) in [
        ("text", req(&[&ds], "osprey", None, 2)),
        ("vector", req(&[&ds], "", Some(&E1), 2)),
    ] {
        let hits = search_hits(index, &t, r).await;
        assert_eq!(
            hits.len(),
            2,
            "{name}: unavailable chunks take no top_k slot: {hits:?}"
        );
        assert!(
            hits.iter()
                .all(|h| shown.iter().any(|c| *c.id == *h.chunk_id)),
            "{name}: only available chunks: {hits:?}"
        );
    }

    // Made unavailable, a chunk leaves both rankings; made available again, it is back.
    let mut flipped = shown[0].clone();
    flipped.available = false;
    upsert(index, &t, std::slice::from_ref(&flipped)).await;
    let hits = search_hits(index, &t, req(&[&ds], "osprey", Some(&E1), 10)).await;
    assert!(
        hits.iter().all(|h| *h.chunk_id != *flipped.id),
        "an upsert with available = false hides the chunk from text and vector"
    );
    assert_eq!(hits.len(), 3);
    flipped.available = true;
    upsert(index, &t, std::slice::from_ref(&flipped)).await;
    let hits = search_hits(index, &t, req(&[&ds], "", Some(&E1), 10)).await;
    assert!(
        hits.iter()
            .any(|h| *h.chunk_id == *flipped.id && h.vector_score > 0.5),
        "an upsert with available = true brings its vector back"
    );
}

pub(super) async fn get_chunks_reads_a_page(index: &dyn ChunkIndex) {
    let (t, ds, ds2, doc) = (new_id(), new_id(), new_id(), new_id());
    let mut chunks: Vec<ChunkRecord> = (0..5)
        .map(|i| {
            with_vector(
                sample_chunk(&t, &ds, &doc, i, &format!("page chunk {i}")),
                &E1,
            )
        })
        .collect();
    chunks[3].available = false;
    chunks[1].important_keywords = vec!["kw".into()];
    let other = sample_chunk(&t, &ds2, &doc, 0, "in another dataset");
    upsert(index, &t, &chunks).await;
    upsert(index, &t, std::slice::from_ref(&other)).await;

    let pair = |c: &ChunkRecord| (c.dataset_id.clone(), c.id.clone());
    let asked = vec![
        pair(&chunks[4]),
        (ds.clone(), new_id()),
        pair(&chunks[0]),
        // An existing chunk id, asked for in the wrong dataset.
        (ds.clone(), other.id.clone()),
        pair(&chunks[3]),
        pair(&other),
        pair(&chunks[1]),
    ];
    let got = index.get_chunks(&t, &asked).await.expect("get_chunks");
    assert_eq!(
        ids(&got),
        vec![
            chunks[4].id.clone(),
            chunks[0].id.clone(),
            chunks[3].id.clone(),
            other.id.clone(),
            chunks[1].id.clone(),
        ],
        "records come in the order asked; missing ones (and a chunk asked for in another \
         dataset) are left out"
    );
    assert!(
        got.iter().all(|c| c.vector.is_empty()),
        "get_chunks returns records without vectors"
    );
    assert_eq!(
        got,
        [&chunks[4], &chunks[0], &chunks[3], &other, &chunks[1]]
            .into_iter()
            .cloned()
            .map(strip)
            .collect::<Vec<_>>(),
        "the records read back as written (an unavailable one too)"
    );
    assert!(
        index
            .get_chunks(&t, &[])
            .await
            .expect("get_chunks")
            .is_empty(),
        "no ids, no records"
    );
    assert!(
        index
            .get_chunks(&new_id(), &asked)
            .await
            .expect("get_chunks")
            .is_empty(),
        "another tenant reads none of them"
    );
}
