//! The search-store conformance suite against `DynamoStore` on moto.

mod common;

use lambdarag_aws::DynamoStore;

#[tokio::test]
async fn dynamo_store_passes_the_search_conformance_suite() {
    let Some((client, table)) = common::moto_table("conformance-searches").await else {
        return;
    };
    let store = DynamoStore::new(client.clone(), &table);
    lambdarag::ports::conformance_search::run_all(&store).await;
    common::drop_table(&client, &table).await;
}

/// The same suite with two-item Query pages, so listings cross page boundaries.
#[tokio::test]
async fn dynamo_store_passes_the_search_conformance_suite_with_tiny_pages() {
    let Some((client, table)) = common::moto_table("conformance-searches-paged").await else {
        return;
    };
    let store = DynamoStore::new(client.clone(), &table).with_page_size(2);
    lambdarag::ports::conformance_search::run_all(&store).await;
    common::drop_table(&client, &table).await;
}
