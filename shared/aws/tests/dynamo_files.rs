//! The file-store conformance suite against `DynamoStore` on moto.

mod common;

use lambdarag_aws::DynamoStore;

#[tokio::test]
async fn dynamo_store_passes_the_file_conformance_suite() {
    let Some((client, table)) = common::moto_table("conformance-files").await else {
        return;
    };
    let store = DynamoStore::new(client.clone(), &table);
    lambdarag::ports::conformance_files::run_all(&store).await;
    common::drop_table(&client, &table).await;
}

/// The same suite with two-item Query pages, so every listing crosses page boundaries.
#[tokio::test]
async fn dynamo_store_passes_the_file_conformance_suite_with_tiny_pages() {
    let Some((client, table)) = common::moto_table("conformance-files-paged").await else {
        return;
    };
    let store = DynamoStore::new(client.clone(), &table).with_page_size(2);
    lambdarag::ports::conformance_files::run_all(&store).await;
    common::drop_table(&client, &table).await;
}
