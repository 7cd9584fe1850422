//! Writing, reading, listing and deleting chunks.

use super::*;

pub(super) async fn crud(index: &dyn ChunkIndex) {
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

pub(super) async fn listing(index: &dyn ChunkIndex) {
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

pub(super) async fn deletes(index: &dyn ChunkIndex) {
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
