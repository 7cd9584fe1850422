//! The metadata-store conformance suite against `DynamoStore` on moto.

mod common;

use lambdarag_aws::DynamoStore;

#[tokio::test]
async fn dynamo_store_passes_the_conformance_suite() {
    let Some((client, table)) = common::moto_table("conformance").await else {
        return;
    };
    let store = DynamoStore::new(client.clone(), &table);
    lambdarag::ports::conformance::run_all(&store).await;
    common::drop_table(&client, &table).await;
}

/// The same suite with two-item Query pages, so every listing crosses page boundaries.
#[tokio::test]
async fn dynamo_store_passes_the_conformance_suite_with_tiny_pages() {
    let Some((client, table)) = common::moto_table("conformance-paged").await else {
        return;
    };
    let store = DynamoStore::new(client.clone(), &table).with_page_size(2);
    lambdarag::ports::conformance::run_all(&store).await;
    common::drop_table(&client, &table).await;
}

/// The document-store conformance suite (the document port lives on the same table).
#[tokio::test]
async fn dynamo_store_passes_the_document_conformance_suite() {
    let Some((client, table)) = common::moto_table("conformance-docs").await else {
        return;
    };
    let store = DynamoStore::new(client.clone(), &table).with_page_size(3);
    lambdarag::ports::conformance_docs::run_all(&store).await;
    common::drop_table(&client, &table).await;
}
