//! Text and vector search, their restrictions, tenant isolation and odd queries.

use super::hits::search_hits;
use super::*;

pub(super) async fn text_search(index: &dyn ChunkIndex) {
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

pub(super) async fn vector_search(index: &dyn ChunkIndex) {
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

pub(super) async fn restrictions_and_top_k(index: &dyn ChunkIndex) {
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

pub(super) async fn isolation(index: &dyn ChunkIndex) {
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

pub(super) async fn odd_queries(index: &dyn ChunkIndex) {
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
