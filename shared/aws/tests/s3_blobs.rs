//! The blob-store conformance suite against `S3BlobStore` on moto, plus the S3 specifics:
//! the tenant prefix, paging of prefix deletes, and the staging area.

use std::time::Duration;

use bytes::Bytes;
use lambdarag::ports::BlobStore;
use lambdarag_aws::s3::{S3BlobStore, Staged, StagedObject};
use lambdarag_aws::testing::Moto;

#[tokio::test]
async fn s3_blob_store_passes_the_conformance_suite() {
    let Some(moto) = Moto::start("s3-conformance").await else {
        return;
    };
    let bucket = moto.bucket("blobs").await;
    let store = S3BlobStore::new(moto.s3(), &bucket);
    lambdarag::ports::conformance_blobs::run_all(&store).await;
}

/// The same suite with two-key list pages and delete batches, so every prefix delete
/// crosses page and batch boundaries.
#[tokio::test]
async fn s3_blob_store_passes_the_conformance_suite_with_tiny_pages() {
    let Some(moto) = Moto::start("s3-conformance-paged").await else {
        return;
    };
    let bucket = moto.bucket("blobs-paged").await;
    let store = S3BlobStore::new(moto.s3(), &bucket).with_page_size(2);
    lambdarag::ports::conformance_blobs::run_all(&store).await;
}

#[tokio::test]
async fn blobs_live_under_the_tenant_prefix_and_prefix_deletes_page() {
    let Some(moto) = Moto::start("s3-layout").await else {
        return;
    };
    let bucket = moto.bucket("layout").await;
    let s3 = moto.s3();
    let store = S3BlobStore::new(s3.clone(), &bucket).with_page_size(3);
    for i in 0..10 {
        store
            .put("t1", &format!("ds/{i:02}"), Bytes::from_static(b"x"))
            .await
            .expect("put");
    }
    store
        .put("t10", "ds/00", Bytes::from_static(b"y"))
        .await
        .expect("put");
    let listed = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("tenants/t1/")
        .send()
        .await
        .expect("list");
    assert_eq!(listed.key_count(), Some(10));
    assert_eq!(
        listed.contents()[0].key(),
        Some("tenants/t1/ds/00"),
        "blob keys are tenants/{{tenant}}/{{key}}"
    );
    assert_eq!(
        store.delete_prefix("t1", "ds/").await.expect("delete"),
        10,
        "a prefix delete over four pages counts every key"
    );
    assert!(
        store.get("t10", "ds/00").await.expect("get").is_some(),
        "tenant t1's prefix delete leaves tenant t10 alone"
    );
    assert!(
        store.put("a/b", "k", Bytes::new()).await.is_err(),
        "a tenant id with a slash is refused"
    );
}

#[tokio::test]
async fn staged_objects_are_read_and_deleted_by_etag() {
    let Some(moto) = Moto::start("s3-staging").await else {
        return;
    };
    let bucket = moto.bucket("staging").await;
    let s3 = moto.s3();
    let store = S3BlobStore::new(s3.clone(), &bucket);
    let key = S3BlobStore::staging_key("d1", "report one.txt");
    assert_eq!(key, "datasets/d1/report one.txt");
    let put = s3
        .put_object()
        .bucket(&bucket)
        .key(&key)
        .body(Bytes::from_static(b"hello").into())
        .send()
        .await
        .expect("put");
    let etag = put.e_tag().map(|e| e.trim_matches('"').to_string());
    let obj = StagedObject {
        bucket: bucket.clone(),
        key: key.clone(),
        etag: etag.clone(),
    };
    match store.read_staged(&obj).await.expect("read") {
        Staged::Found(b) => assert_eq!(b, Bytes::from_static(b"hello")),
        other => panic!("expected the object, got {other:?}"),
    }
    assert_eq!(store.staged_size(&obj).await.expect("head"), Some(5));
    let stale = StagedObject {
        etag: Some("0123456789abcdef0123456789abcdef".into()),
        ..obj.clone()
    };
    assert!(
        matches!(
            store.read_staged(&stale).await.expect("read"),
            Staged::Replaced
        ),
        "another ETag means the key holds a newer upload"
    );
    store.delete_staged(&obj).await.expect("delete");
    assert!(matches!(
        store.read_staged(&obj).await.expect("read"),
        Staged::Missing
    ));
    assert_eq!(store.staged_size(&obj).await.expect("head"), None);
    store
        .delete_staged(&obj)
        .await
        .expect("deleting a gone object is fine");

    let url = store
        .presign_staging_put("d1", "big file.pdf", Duration::from_secs(600))
        .await
        .expect("presign");
    assert!(
        url.starts_with(&format!(
            "{}/{bucket}/datasets/d1/big%20file.pdf?",
            moto.url
        )),
        "a path-style presigned URL for the staging key: {url}"
    );
    assert!(url.contains("X-Amz-Expires=600") && url.contains("X-Amz-Signature="));
}
