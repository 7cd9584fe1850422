//! The chunk-index conformance suite. Every adapter's tests call `run_all` on a fresh,
//! empty index; a failure panics with the rule that was broken.
//!
//! Records are compared without their `vector`: an index may keep vectors elsewhere and
//! hand chunks back without them (see `ChunkRecord::vector`).

use crate::contract::ids::new_id;
use crate::contract::time::now_ms;
use crate::domain::ChunkRecord;
use crate::ports::{ChunkHit, ChunkIndex, ChunkListQuery, ScoredChunk, SearchRequest};

pub async fn run_all(index: &dyn ChunkIndex) {
    crud(index).await;
    listing(index).await;
    deletes(index).await;
    text_search(index).await;
    vector_search(index).await;
    restrictions_and_top_k(index).await;
    isolation(index).await;
    odd_queries(index).await;
    hits_match_search(index).await;
    hits_leave_out_unavailable_chunks(index).await;
    get_chunks_reads_a_page(index).await;
}

/// A chunk with every field set to something that must round-trip.
pub fn sample_chunk(
    tenant_id: &str,
    dataset_id: &str,
    document_id: &str,
    position: i64,
    content: &str,
) -> ChunkRecord {
    ChunkRecord {
        id: new_id(),
        tenant_id: tenant_id.into(),
        dataset_id: dataset_id.into(),
        document_id: document_id.into(),
        document_name: "notes.txt".into(),
        content: content.into(),
        important_keywords: vec![],
        questions: vec![],
        available: true,
        positions: vec![[1, 10, 200, 30, 60]],
        image_id: String::new(),
        doc_type: String::new(),
        tag_kwd: vec![],
        tag_feas: Default::default(),
        raptor_kwd: String::new(),
        position,
        token_count: content.split_whitespace().count() as i64,
        create_time: now_ms(),
        generation: 1,
        vector: vec![],
    }
}

fn with_vector(mut c: ChunkRecord, v: &[f32]) -> ChunkRecord {
    c.vector = v.to_vec();
    c
}

fn strip(mut c: ChunkRecord) -> ChunkRecord {
    c.vector.clear();
    c
}

fn ids(chunks: &[ChunkRecord]) -> Vec<String> {
    chunks.iter().map(|c| c.id.clone()).collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

const E1: [f32; 4] = [1.0, 0.0, 0.0, 0.0];
const E2: [f32; 4] = [0.0, 1.0, 0.0, 0.0];
const E3: [f32; 4] = [0.0, 0.0, 1.0, 0.0];
const MIX: [f32; 4] = [0.6, 0.8, 0.0, 0.0];

async fn upsert(index: &dyn ChunkIndex, tenant_id: &str, chunks: &[ChunkRecord]) {
    index.upsert(tenant_id, chunks).await.expect("upsert");
}

async fn get(index: &dyn ChunkIndex, c: &ChunkRecord) -> Option<ChunkRecord> {
    index
        .get(&c.tenant_id, &c.dataset_id, &c.id)
        .await
        .expect("get")
        .map(strip)
}

async fn list(
    index: &dyn ChunkIndex,
    t: &str,
    ds: &str,
    doc: &str,
    keywords: Option<&str>,
    page: u64,
    page_size: u64,
) -> (Vec<ChunkRecord>, u64) {
    let q = ChunkListQuery {
        keywords: keywords.map(str::to_string),
        page,
        page_size,
    };
    index
        .list_document(t, ds, doc, &q)
        .await
        .expect("list_document")
}

async fn search(index: &dyn ChunkIndex, t: &str, req: SearchRequest) -> Vec<ScoredChunk> {
    index.search(t, &req).await.expect("search")
}

fn req(datasets: &[&str], text: &str, vector: Option<&[f32]>, top_k: usize) -> SearchRequest {
    SearchRequest {
        dataset_ids: datasets.iter().map(|d| d.to_string()).collect(),
        document_ids: None,
        text: text.into(),
        vector: vector.map(<[f32]>::to_vec),
        top_k,
    }
}

fn find<'a>(hits: &'a [ScoredChunk], id: &str) -> Option<&'a ScoredChunk> {
    hits.iter().find(|h| h.chunk.id == id)
}

async fn crud(index: &dyn ChunkIndex) {
    let (t, ds, doc) = (new_id(), new_id(), new_id());
    let mut a = sample_chunk(&t, &ds, &doc, 0, "first chunk");
    a.important_keywords = vec!["Key One".into(), "k2".into()];
    a.questions = vec!["What is first?".into()];
    a.positions = vec![[1, 2, 3, 4, 5], [2, 6, 7, 8, 9]];
    a.image_id = format!("{ds}-img");
    a.doc_type = "table".into();
    // v0.27 tags travel in the stored record of every adapter.
    a.tag_kwd = vec!["red".into(), "blue".into()];
    a.tag_feas = [("red".to_string(), 0.75), ("blue".to_string(), -2.0)].into();
    a.token_count = 42;
    a.generation = 5;
    let a = with_vector(a, &E1);
    let mut b = sample_chunk(&t, &ds, &doc, 1, "second chunk");
    b.available = false;
    // RAPTOR's marker travels in the stored record too.
    b.raptor_kwd = "raptor".into();
    upsert(index, &t, &[a.clone(), b.clone()]).await;
    assert_eq!(
        get(index, &a).await,
        Some(strip(a.clone())),
        "a chunk reads back as written"
    );
    assert_eq!(
        get(index, &b).await,
        Some(strip(b.clone())),
        "an unavailable chunk is still stored"
    );
    assert!(
        index
            .get(&t, &new_id(), &a.id)
            .await
            .expect("get")
            .is_none(),
        "get is scoped by dataset"
    );
    assert!(
        index.get(&t, &ds, &new_id()).await.expect("get").is_none(),
        "a missing id finds nothing"
    );
    let mut a2 = a.clone();
    a2.content = "first chunk, edited".into();
    a2.available = false;
    a2.important_keywords = vec![];
    upsert(index, &t, &[a2.clone()]).await;
    assert_eq!(
        get(index, &a).await,
        Some(strip(a2.clone())),
        "an upsert replaces the chunk with the same id"
    );
    let (page, total) = list(index, &t, &ds, &doc, None, 1, 0).await;
    assert_eq!(
        (ids(&page), total),
        (vec![a.id.clone(), b.id.clone()], 2),
        "a replace does not duplicate the chunk"
    );
    upsert(index, &t, &[]).await;
}

async fn listing(index: &dyn ChunkIndex) {
    let (t, ds, doc, other_doc) = (new_id(), new_id(), new_id(), new_id());
    let contents = [
        "alpha bravo",
        "charlie delta",
        "Alpha echo",
        "foxtrot golf",
        "hotel india",
    ];
    let chunks: Vec<ChunkRecord> = contents
        .iter()
        .enumerate()
        .map(|(i, c)| sample_chunk(&t, &ds, &doc, i as i64 * 10, c))
        .collect();
    // Written out of order, in two batches, so order must come from `position`.
    let mut shuffled = chunks.clone();
    shuffled.reverse();
    upsert(index, &t, &shuffled[..2]).await;
    upsert(index, &t, &shuffled[2..]).await;
    upsert(
        index,
        &t,
        &[sample_chunk(
            &t,
            &ds,
            &other_doc,
            0,
            "alpha in another document",
        )],
    )
    .await;
    upsert(
        index,
        &t,
        &[sample_chunk(
            &t,
            &new_id(),
            &doc,
            0,
            "alpha in another dataset",
        )],
    )
    .await;

    let (page, total) = list(index, &t, &ds, &doc, None, 1, 0).await;
    assert_eq!(
        (ids(&page), total),
        (ids(&chunks), 5),
        "a document's chunks list in position order; page_size 0 = all"
    );
    assert_eq!(
        page.into_iter().map(strip).collect::<Vec<_>>(),
        chunks.iter().cloned().map(strip).collect::<Vec<_>>(),
        "listed chunks read back as written"
    );
    let (page, total) = list(index, &t, &ds, &doc, None, 2, 2).await;
    assert_eq!(
        (ids(&page), total),
        (ids(&chunks[2..4]), 5),
        "paging takes the page'th slice; total counts all"
    );
    let (page, total) = list(index, &t, &ds, &doc, None, 3, 2).await;
    assert_eq!((ids(&page), total), (ids(&chunks[4..]), 5));
    let (page, total) = list(index, &t, &ds, &doc, None, 9, 2).await;
    assert_eq!((page.len(), total), (0, 5), "a page past the end is empty");
    let (page, total) = list(index, &t, &ds, &doc, Some("ALPHA"), 1, 0).await;
    assert_eq!(
        (ids(&page), total),
        (vec![chunks[0].id.clone(), chunks[2].id.clone()], 2),
        "keywords keep only matching chunks, case-insensitively, still in position order"
    );
    let (page, total) = list(index, &t, &ds, &doc, Some("alpha"), 2, 1).await;
    assert_eq!(
        (ids(&page), total),
        (vec![chunks[2].id.clone()], 2),
        "keywords and paging combine"
    );
    let (page, total) = list(index, &t, &ds, &doc, Some("zulu"), 1, 0).await;
    assert_eq!((page.len(), total), (0, 0), "no match lists nothing");
    let (page, total) = list(index, &t, &ds, &new_id(), None, 1, 0).await;
    assert_eq!(
        (page.len(), total),
        (0, 0),
        "an unknown document lists nothing"
    );
}

async fn deletes(index: &dyn ChunkIndex) {
    let (t, ds, ds2, doc, doc2) = (new_id(), new_id(), new_id(), new_id(), new_id());
    let a = with_vector(sample_chunk(&t, &ds, &doc, 0, "penguin one"), &E1);
    let b = with_vector(sample_chunk(&t, &ds, &doc, 1, "penguin two"), &E1);
    let mut c = with_vector(sample_chunk(&t, &ds, &doc, 2, "penguin three"), &E1);
    c.generation = 2;
    let other = with_vector(sample_chunk(&t, &ds, &doc2, 0, "penguin other"), &E1);
    let elsewhere = with_vector(sample_chunk(&t, &ds2, &doc, 0, "penguin elsewhere"), &E1);
    upsert(
        index,
        &t,
        &[
            a.clone(),
            b.clone(),
            c.clone(),
            other.clone(),
            elsewhere.clone(),
        ],
    )
    .await;

    let n = index
        .delete_chunks(&t, &ds, &doc, &[a.id.clone(), new_id(), other.id.clone()])
        .await
        .expect("delete_chunks");
    assert_eq!(
        n, 1,
        "delete_chunks counts only existing chunks of that document"
    );
    assert!(get(index, &a).await.is_none(), "a deleted chunk is gone");
    assert!(
        get(index, &other).await.is_some(),
        "delete_chunks never touches another document's chunk"
    );
    let n = index
        .delete_chunks(&t, &ds, &doc, std::slice::from_ref(&a.id))
        .await
        .expect("delete_chunks");
    assert_eq!(n, 0, "deleting a deleted chunk counts nothing");
    let hits = search(index, &t, req(&[&ds], "penguin", Some(&E1), 10)).await;
    assert!(
        find(&hits, &a.id).is_none(),
        "a deleted chunk is gone from text and vector search"
    );

    let n = index
        .delete_document(&t, &ds, &doc, Some(1))
        .await
        .expect("delete_document");
    assert_eq!(n, 1, "with a generation, only that generation's chunks go");
    let (page, _) = list(index, &t, &ds, &doc, None, 1, 0).await;
    assert_eq!(ids(&page), vec![c.id.clone()]);
    let n = index
        .delete_document(&t, &ds, &doc, None)
        .await
        .expect("delete_document");
    assert_eq!(
        n, 1,
        "without a generation, every chunk of the document goes"
    );
    assert_eq!(list(index, &t, &ds, &doc, None, 1, 0).await.1, 0);
    assert_eq!(
        index
            .delete_document(&t, &ds, &doc, None)
            .await
            .expect("delete_document"),
        0,
        "deleting an empty document counts nothing"
    );
    assert!(
        get(index, &elsewhere).await.is_some(),
        "delete_document is scoped by dataset"
    );

    index.delete_dataset(&t, &ds).await.expect("delete_dataset");
    assert!(
        get(index, &other).await.is_none(),
        "delete_dataset removes its chunks"
    );
    assert!(
        search(index, &t, req(&[&ds], "penguin", Some(&E1), 10))
            .await
            .is_empty(),
        "a deleted dataset's chunks are gone from text and vector search"
    );
    assert!(
        get(index, &elsewhere).await.is_some(),
        "delete_dataset leaves other datasets alone"
    );
    index
        .delete_dataset(&t, &ds)
        .await
        .expect("deleting an empty dataset is fine");
}

async fn text_search(index: &dyn ChunkIndex) {
    let (t, ds, doc) = (new_id(), new_id(), new_id());
    let short = sample_chunk(&t, &ds, &doc, 0, "the quick brown fox");
    let long = sample_chunk(
        &t,
        &ds,
        &doc,
        1,
        "tracks of a fox in the snow near the river, the forest, the hills and the old mill",
    );
    let dog = sample_chunk(&t, &ds, &doc, 2, "a lazy dog sleeps all day");
    let fruit = sample_chunk(&t, &ds, &doc, 3, "apples and bananas are fruit");
    let mut kw = sample_chunk(&t, &ds, &doc, 4, "nothing to see here");
    kw.important_keywords = vec!["kiwi".into()];
    let mut q = sample_chunk(&t, &ds, &doc, 5, "still nothing here");
    q.questions = vec!["Where does the platypus live?".into()];
    let mut title = sample_chunk(&t, &ds, &doc, 6, "plain body text");
    title.document_name = "wombat-guide.txt".into();
    let mut hidden = sample_chunk(&t, &ds, &doc, 7, "a unicorn appears");
    hidden.available = false;
    let all = [
        short.clone(),
        long.clone(),
        dog.clone(),
        fruit.clone(),
        kw.clone(),
        q.clone(),
        title.clone(),
        hidden.clone(),
    ];
    upsert(index, &t, &all).await;

    let hits = search(index, &t, req(&[&ds], "fox", None, 10)).await;
    let (s, l) = (
        find(&hits, &short.id).expect("the short fox chunk matches"),
        find(&hits, &long.id).expect("the long fox chunk matches"),
    );
    assert!(
        s.term_score > 0.0 && l.term_score > 0.0,
        "matches have a positive term score"
    );
    assert!(
        s.term_score > l.term_score,
        "BM25: the shorter chunk with the term ranks higher ({} vs {})",
        s.term_score,
        l.term_score
    );
    for h in &hits {
        if h.chunk.id != short.id && h.chunk.id != long.id {
            assert_eq!(
                h.term_score, 0.0,
                "a chunk without the term has term score 0"
            );
        }
        assert_eq!(h.vector_score, 0.0, "no query vector: vector score 0");
    }
    assert_eq!(
        strip(s.chunk.clone()),
        strip(short.clone()),
        "a hit carries the whole chunk"
    );
    let upper = search(index, &t, req(&[&ds], "FOX", None, 10)).await;
    assert!(
        find(&upper, &short.id).is_some(),
        "text search is case-insensitive"
    );
    for (word, chunk, field) in [
        ("kiwi", &kw, "important_keywords"),
        ("platypus", &q, "questions"),
        ("wombat", &title, "document_name"),
    ] {
        let hits = search(index, &t, req(&[&ds], word, None, 10)).await;
        assert!(
            find(&hits, &chunk.id).is_some_and(|h| h.term_score > 0.0),
            "a word in {field} matches"
        );
    }
    let hits = search(index, &t, req(&[&ds], "unicorn", None, 10)).await;
    assert!(
        find(&hits, &hidden.id).is_some_and(|h| !h.chunk.available),
        "available=false chunks are still searchable; filtering is the caller's job"
    );
    let hits = search(index, &t, req(&[&ds], "quick fox sleeps", None, 10)).await;
    let s = find(&hits, &short.id).expect("two words match");
    let d = find(&hits, &dog.id).expect("one word matches");
    assert!(
        s.term_score > d.term_score,
        "a chunk matching more query words scores higher"
    );
    assert!(
        find(&hits, &fruit.id).is_none_or(|h| h.term_score == 0.0),
        "a chunk matching no word never scores"
    );
}

async fn vector_search(index: &dyn ChunkIndex) {
    let (t, ds, doc) = (new_id(), new_id(), new_id());
    let a = with_vector(sample_chunk(&t, &ds, &doc, 0, "the quick brown fox"), &E1);
    let b = with_vector(sample_chunk(&t, &ds, &doc, 1, "a lazy dog"), &E2);
    let c = with_vector(sample_chunk(&t, &ds, &doc, 2, "apples and fruit"), &MIX);
    let d = with_vector(sample_chunk(&t, &ds, &doc, 3, "a fox in the snow"), &E3);
    let novec = sample_chunk(&t, &ds, &doc, 4, "fox without a vector");
    let vectors = [(&a, E1), (&b, E2), (&c, MIX), (&d, E3)];
    upsert(
        index,
        &t,
        &[a.clone(), b.clone(), c.clone(), d.clone(), novec.clone()],
    )
    .await;

    let hits = search(index, &t, req(&[&ds], "", Some(&E1), 2)).await;
    assert_eq!(
        {
            let mut got: Vec<String> = hits.iter().map(|h| h.chunk.id.clone()).collect();
            got.sort();
            got
        },
        {
            let mut want = vec![a.id.clone(), c.id.clone()];
            want.sort();
            want
        },
        "vector search returns the top_k nearest chunks"
    );
    for h in &hits {
        let (_, v) = vectors
            .iter()
            .find(|(c, _)| c.id == h.chunk.id)
            .expect("a known chunk");
        assert!(
            (h.vector_score - cosine(&E1, v)).abs() < 1e-4,
            "vector_score is the cosine similarity ({} for {})",
            h.vector_score,
            h.chunk.content
        );
        assert_eq!(h.term_score, 0.0, "no query text: term score 0");
    }

    // Hybrid: the union of both candidate sets, each scored both ways.
    let hits = search(index, &t, req(&[&ds], "fox", Some(&E2), 10)).await;
    for want in [&a, &d, &novec, &b] {
        assert!(
            find(&hits, &want.id).is_some(),
            "hybrid search returns text and vector candidates ({})",
            want.content
        );
    }
    for h in &hits {
        let text_match = [&a.id, &d.id, &novec.id].contains(&&h.chunk.id);
        assert_eq!(
            h.term_score > 0.0,
            text_match,
            "term_score > 0 exactly for text matches ({})",
            h.chunk.content
        );
        let want = vectors
            .iter()
            .find(|(c, _)| c.id == h.chunk.id)
            .map(|(_, v)| cosine(&E2, v))
            .unwrap_or(0.0);
        assert!(
            (h.vector_score - want).abs() < 1e-4,
            "every candidate with a vector gets its cosine ({} for {})",
            h.vector_score,
            h.chunk.content
        );
    }
    let fox = find(&hits, &a.id).expect("present");
    assert!(
        fox.vector_score.abs() < 1e-4,
        "an orthogonal vector scores 0"
    );

    // A replace without a vector drops the old vector.
    let mut a2 = a.clone();
    a2.vector = vec![];
    upsert(index, &t, &[a2]).await;
    let hits = search(index, &t, req(&[&ds], "", Some(&E1), 4)).await;
    assert!(
        find(&hits, &a.id).is_none_or(|h| h.vector_score.abs() < 1e-4),
        "a chunk re-upserted without a vector no longer matches by vector"
    );
}

async fn restrictions_and_top_k(index: &dyn ChunkIndex) {
    let (t, ds, ds2, doc, doc2) = (new_id(), new_id(), new_id(), new_id(), new_id());
    let mut all = vec![];
    for i in 0..8 {
        let v = [1.0, i as f32 / 10.0, 0.0, 0.0];
        let n: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        let v: Vec<f32> = v.iter().map(|x| x / n).collect();
        let d = if i % 2 == 0 { &doc } else { &doc2 };
        all.push(with_vector(
            sample_chunk(&t, &ds, d, i, &format!("common word number {i}")),
            &v,
        ));
    }
    let far = with_vector(sample_chunk(&t, &ds2, &doc, 0, "common word far away"), &E1);
    all.push(far.clone());
    upsert(index, &t, &all).await;

    let hits = search(index, &t, req(&[&ds], "common", None, 3)).await;
    assert_eq!(hits.len(), 3, "text search returns top_k candidates");
    let hits = search(index, &t, req(&[&ds], "", Some(&E1), 3)).await;
    assert_eq!(hits.len(), 3, "vector search returns top_k candidates");
    let hits = search(index, &t, req(&[&ds], "common", Some(&E1), 3)).await;
    assert!(
        (3..=6).contains(&hits.len()),
        "hybrid search returns at most top_k per ranking ({})",
        hits.len()
    );
    assert!(
        search(index, &t, req(&[&ds], "common", Some(&E1), 0))
            .await
            .is_empty(),
        "top_k 0 returns nothing"
    );

    let hits = search(index, &t, req(&[&ds], "common", Some(&E1), 20)).await;
    assert_eq!(hits.len(), 8);
    assert!(
        hits.iter().all(|h| h.chunk.dataset_id == ds),
        "search never leaves the requested datasets (text or vector)"
    );
    let hits = search(index, &t, req(&[&ds, &ds2], "common", Some(&E1), 20)).await;
    assert_eq!(hits.len(), 9, "several datasets search together");
    assert!(
        search(index, &t, req(&[], "common", Some(&E1), 20))
            .await
            .is_empty(),
        "no dataset ids: nothing to search"
    );
    let mut r = req(&[&ds, &ds2], "common", Some(&E1), 20);
    r.document_ids = Some(vec![doc.clone()]);
    let hits = search(index, &t, r).await;
    assert_eq!(hits.len(), 5, "document_ids restricts the candidates");
    assert!(
        hits.iter().all(|h| h.chunk.document_id == doc),
        "document_ids restricts text and vector candidates"
    );
    let mut r = req(&[&ds], "common", Some(&E1), 20);
    r.document_ids = Some(vec![]);
    assert!(
        search(index, &t, r).await.is_empty(),
        "document_ids = Some(empty) matches nothing"
    );
}

async fn isolation(index: &dyn ChunkIndex) {
    let (ta, tb, ds, doc) = (new_id(), new_id(), new_id(), new_id());
    let a = with_vector(sample_chunk(&ta, &ds, &doc, 0, "secret narwhal plans"), &E1);
    upsert(index, &ta, std::slice::from_ref(&a)).await;
    // Tenant B writes a chunk with the very same dataset, document and chunk ids.
    let mut b = with_vector(sample_chunk(&tb, &ds, &doc, 0, "narwhal of tenant b"), &E1);
    b.id = a.id.clone();
    upsert(index, &tb, &[b.clone()]).await;
    assert_eq!(
        get(index, &a).await,
        Some(strip(a.clone())),
        "tenant B's upsert of the same chunk id never replaces tenant A's chunk"
    );
    assert_eq!(get(index, &b).await, Some(strip(b.clone())));
    let hits = search(index, &tb, req(&[&ds], "narwhal secret", Some(&E1), 10)).await;
    assert_eq!(hits.len(), 1, "tenant B sees only its own chunk");
    assert!(
        hits.iter().all(|h| h.chunk.tenant_id == tb),
        "search never returns another tenant's chunk"
    );
    let (page, total) = list(index, &tb, &ds, &doc, None, 1, 0).await;
    assert_eq!((page.len(), total), (1, 1));
    assert_eq!(
        page[0].tenant_id, tb,
        "listing never shows another tenant's chunk"
    );

    assert_eq!(
        index
            .delete_chunks(&tb, &ds, &doc, std::slice::from_ref(&a.id))
            .await
            .expect("delete_chunks"),
        1,
        "tenant B deletes only its own chunk of that id"
    );
    assert_eq!(
        get(index, &a).await,
        Some(strip(a.clone())),
        "tenant A's chunk survives tenant B's delete_chunks"
    );
    upsert(index, &tb, &[b.clone()]).await;
    assert_eq!(
        index
            .delete_document(&tb, &ds, &doc, None)
            .await
            .expect("delete_document"),
        1
    );
    index
        .delete_dataset(&tb, &ds)
        .await
        .expect("delete_dataset");
    assert!(
        get(index, &a).await.is_some(),
        "tenant B's deletes never touch tenant A's chunks"
    );
    let hits = search(index, &ta, req(&[&ds], "narwhal", Some(&E1), 10)).await;
    assert_eq!(
        ids(&hits.into_iter().map(|h| h.chunk).collect::<Vec<_>>()),
        vec![a.id.clone()]
    );
    assert!(
        index.get(&tb, &ds, &a.id).await.expect("get").is_none(),
        "tenant B cannot read tenant A's chunk"
    );
    let hits = search_hits(index, &tb, req(&[&ds], "narwhal secret", Some(&E1), 10)).await;
    assert!(
        hits.is_empty(),
        "search_hits never returns another tenant's chunk: {hits:?}"
    );
    let pair = vec![(ds.clone(), a.id.clone())];
    assert!(
        index
            .get_chunks(&tb, &pair)
            .await
            .expect("get_chunks")
            .is_empty(),
        "tenant B cannot read tenant A's chunk with get_chunks"
    );
    assert_eq!(
        ids(&index.get_chunks(&ta, &pair).await.expect("get_chunks")),
        vec![a.id.clone()]
    );
}

async fn odd_queries(index: &dyn ChunkIndex) {
    let (t, ds, doc) = (new_id(), new_id(), new_id());
    upsert(
        index,
        &t,
        &[sample_chunk(
            &t,
            &ds,
            &doc,
            0,
            "C++ and C# (and \"quotes\") AND OR NOT",
        )],
    )
    .await;
    let long = "word ".repeat(5000);
    for text in [
        "",
        "   ",
        "AND OR NOT",
        "\"unbalanced",
        "a:b c:(d",
        "title:foo^3 ~2 * ? [1 TO 2] {x} \\ / - + ! && ||",
        "C++ C#",
        "中文 查询 日本語",
        "🙂🙃",
        long.as_str(),
    ] {
        index
            .search(&t, &req(&[&ds], text, None, 5))
            .await
            .expect("any query text is accepted");
        index
            .list_document(
                &t,
                &ds,
                &doc,
                &ChunkListQuery {
                    keywords: Some(text.into()),
                    page: 1,
                    page_size: 10,
                },
            )
            .await
            .expect("any keywords text is accepted");
    }
    let hits = search(index, &t, req(&[&ds], "quotes", None, 5)).await;
    assert_eq!(hits.len(), 1, "punctuation around words does not hide them");
}

async fn search_hits(index: &dyn ChunkIndex, t: &str, req: SearchRequest) -> Vec<ChunkHit> {
    index.search_hits(t, &req).await.expect("search_hits")
}

/// A candidate as comparable text: ids, then both scores rounded (adapters may compute the
/// same score in two queries, with float noise).
fn key(chunk_id: &str, dataset_id: &str, document_id: &str, term: f32, vector: f32) -> String {
    format!("{chunk_id} {dataset_id} {document_id} {term:.4} {vector:.4}")
}

fn hit_keys(hits: &[ChunkHit]) -> Vec<String> {
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

fn available_keys(hits: &[ScoredChunk]) -> Vec<String> {
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
async fn hits_match_search(index: &dyn ChunkIndex) {
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
async fn hits_leave_out_unavailable_chunks(index: &dyn ChunkIndex) {
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

async fn get_chunks_reads_a_page(index: &dyn ChunkIndex) {
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
