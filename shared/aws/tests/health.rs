//! The AWS adapters' health probes (`GET /system/healthz`): each is a real call that
//! succeeds on a live resource and fails on a missing one.

use lambdarag::ports::{BlobStore, ChunkIndex, TaskQueue, TenantStore};
use lambdarag_aws::testing::Moto;
use lambdarag_aws::{DynamoStore, OpenSearchIndex, S3BlobStore, SqsTaskQueue};

#[tokio::test]
async fn table_bucket_and_queue_probes_tell_live_from_missing() {
    let Some(moto) = Moto::start("health").await else {
        return;
    };
    let table = moto.table("health").await;
    TenantStore::health(&table)
        .await
        .expect("a live table is healthy");
    let missing_table = DynamoStore::new(moto.dynamodb(), format!("missing-{}", moto.run));
    assert!(
        TenantStore::health(&missing_table).await.is_err(),
        "a missing table is not"
    );

    let bucket = moto.bucket("health").await;
    BlobStore::health(&S3BlobStore::new(moto.s3(), &bucket))
        .await
        .expect("a live bucket is healthy");
    let missing_bucket = S3BlobStore::new(moto.s3(), format!("missing-{}", moto.run));
    let err = BlobStore::health(&missing_bucket)
        .await
        .expect_err("a missing bucket is not");
    assert!(err.to_string().contains("HeadBucket"), "{err}");

    let (url, _) = moto.queue("health", 30, None).await;
    TaskQueue::health(&SqsTaskQueue::new(moto.sqs(), &url))
        .await
        .expect("a live queue is healthy");
    moto.sqs()
        .delete_queue()
        .queue_url(&url)
        .send()
        .await
        .expect("delete queue");
    let err = TaskQueue::health(&SqsTaskQueue::new(moto.sqs(), &url))
        .await
        .expect_err("a deleted queue is not");
    assert!(err.to_string().contains("GetQueueAttributes"), "{err}");
}

#[tokio::test]
async fn the_index_probe_reads_cluster_health() {
    // Nothing listens on port 9 (discard) on loopback: a refused connection.
    let down = OpenSearchIndex::new("http://127.0.0.1:9").expect("client");
    assert!(
        ChunkIndex::health(&down).await.is_err(),
        "an unreachable cluster is not healthy"
    );
    let Some(url) = std::env::var("OPENSEARCH_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("SKIPPED the live half: OPENSEARCH_URL is not set");
        return;
    };
    let live = OpenSearchIndex::new(&url).expect("client");
    ChunkIndex::health(&live)
        .await
        .expect("the live node is healthy");
}
