//! The port conformance suites against the embedded adapters, each on a fresh temp dir, and
//! the restart tests: what was written is there after the adapters are reopened.

use std::time::Duration;

use lambdarag::contract::ids::new_id;
use lambdarag::ports::conformance_index::sample_chunk;
use lambdarag::ports::conformance_queue::sample_task;
use lambdarag::ports::{
    conformance_blobs, conformance_docs, conformance_index, conformance_queue, ChunkIndex,
    ChunkListQuery, PollingQueue, SearchRequest, TaskQueue,
};
use lambdarag_embedded::{FolderBlobStore, SqliteQueue, SqliteStore, TantivyIndex};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

#[tokio::test]
async fn document_store_conformance() {
    let store = SqliteStore::in_memory().expect("open");
    conformance_docs::run_all(&store).await;
}

#[tokio::test]
async fn document_store_conformance_on_disk_survives_reopen() {
    let dir = tempdir();
    let path = dir.path().join("meta.sqlite3");
    {
        let store = SqliteStore::open(&path).expect("open");
        conformance_docs::run_all(&store).await;
    }
    // Reopening runs the schema again over existing tables.
    let store = SqliteStore::open(&path).expect("reopen");
    let doc = conformance_docs::sample_document(&new_id(), &new_id(), "after-reopen.txt");
    lambdarag::ports::DocumentStore::insert_document(&store, &doc)
        .await
        .expect("insert after reopen");
}

#[tokio::test]
async fn blob_store_conformance() {
    let dir = tempdir();
    let store = FolderBlobStore::open(&dir.path().join("blobs")).expect("open");
    conformance_blobs::run_all(&store).await;
}

#[tokio::test]
async fn queue_conformance() {
    let dir = tempdir();
    let queue = SqliteQueue::open(&dir.path().join("queue.sqlite3")).expect("open");
    conformance_queue::run_all(&queue).await;
}

#[tokio::test]
async fn index_conformance() {
    let dir = tempdir();
    let index = TantivyIndex::open(&dir.path().join("index")).expect("open");
    conformance_index::run_all(&index).await;
}

#[tokio::test]
async fn queue_survives_a_restart_and_a_dead_consumer() {
    let dir = tempdir();
    let path = dir.path().join("queue.sqlite3");
    let (kept, leased) = (sample_task(1), sample_task(2));
    {
        let queue = SqliteQueue::open(&path).expect("open");
        queue.enqueue(&leased).await.expect("enqueue");
        queue.enqueue(&kept).await.expect("enqueue");
        // A consumer leases the first task and "dies" with it.
        let lease = queue
            .receive(Duration::from_millis(500))
            .await
            .expect("receive")
            .expect("task");
        assert_eq!(lease.task, leased.clone().into());
    }
    let queue = SqliteQueue::open(&path).expect("reopen");
    assert_eq!(queue.pending().await.expect("pending"), 2);
    let next = queue
        .receive(Duration::from_secs(60))
        .await
        .expect("receive")
        .expect("the unleased task is there after the restart");
    assert_eq!((next.task.clone(), next.attempts), (kept.into(), 1));
    tokio::time::sleep(Duration::from_millis(800)).await;
    let again = queue
        .receive(Duration::from_secs(60))
        .await
        .expect("receive")
        .expect("the dead consumer's task comes back after its timeout");
    assert_eq!((again.task.clone(), again.attempts), (leased.into(), 2));
    queue.ack(&next.receipt).await.expect("ack");
    queue.ack(&again.receipt).await.expect("ack");
    assert_eq!(queue.pending().await.expect("pending"), 0);
}

#[tokio::test]
async fn index_survives_a_restart() {
    let dir = tempdir();
    let path = dir.path().join("index");
    let (t, ds, doc) = (new_id(), new_id(), new_id());
    let mut a = sample_chunk(&t, &ds, &doc, 0, "durable searchable words");
    a.vector = vec![1.0, 0.0, 0.0];
    let mut b = sample_chunk(&t, &ds, &doc, 1, "second chunk");
    b.vector = vec![0.0, 2.0, 0.0];
    let c = sample_chunk(&t, &ds, &doc, 2, "gone before the restart");
    {
        let index = TantivyIndex::open(&path).expect("open");
        index
            .upsert(&t, &[a.clone(), b.clone(), c.clone()])
            .await
            .expect("upsert");
        assert_eq!(
            index
                .delete_chunks(&t, &ds, &doc, std::slice::from_ref(&c.id))
                .await
                .expect("delete"),
            1
        );
    }
    let index = TantivyIndex::open(&path).expect("reopen (the writer lock was released)");
    let (page, total) = index
        .list_document(
            &t,
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
    assert_eq!(total, 2, "chunks and deletes survive a restart");
    assert_eq!(
        page.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        vec![a.id.clone(), b.id.clone()]
    );
    let hits = index
        .search(
            &t,
            &SearchRequest {
                dataset_ids: vec![ds.clone()],
                document_ids: None,
                text: "searchable".into(),
                vector: Some(vec![0.0, 1.0, 0.0]),
                top_k: 5,
            },
        )
        .await
        .expect("search");
    let score = |id: &str| {
        hits.iter()
            .find(|h| h.chunk.id == id)
            .map(|h| (h.term_score > 0.0, h.vector_score))
    };
    assert_eq!(score(&a.id), Some((true, 0.0)), "text survives a restart");
    assert_eq!(
        score(&b.id),
        Some((false, 1.0)),
        "vectors are rebuilt at open (normalised)"
    );
    assert_eq!(score(&c.id), None, "a deleted chunk stays deleted");
}

#[tokio::test]
async fn a_second_writer_on_the_same_index_is_refused() {
    let dir = tempdir();
    let path = dir.path().join("index");
    let _first = TantivyIndex::open(&path).expect("open");
    assert!(
        TantivyIndex::open(&path).is_err(),
        "tantivy allows one writer per index: a second process must fail clearly"
    );
}

#[tokio::test]
async fn health_probes_answer_and_a_vanished_blob_folder_is_reported() {
    use lambdarag::ports::{BlobStore, TenantStore};
    let dir = tempdir();
    let meta = SqliteStore::open(&dir.path().join("meta.sqlite3")).expect("open");
    TenantStore::health(&meta).await.expect("sqlite answers");
    let queue = SqliteQueue::open(&dir.path().join("queue.sqlite3")).expect("queue");
    TaskQueue::health(&queue).await.expect("the queue answers");
    let index = TantivyIndex::open(&dir.path().join("index")).expect("index");
    ChunkIndex::health(&index).await.expect("the index answers");
    let blobs = FolderBlobStore::open(&dir.path().join("blobs")).expect("blobs");
    BlobStore::health(&blobs)
        .await
        .expect("the folder is there");
    std::fs::remove_dir_all(dir.path().join("blobs")).expect("remove");
    assert!(
        BlobStore::health(&blobs).await.is_err(),
        "a vanished folder is reported"
    );
}
