//! The dataset-task conformance suite against `DynamoStore` on moto.

mod common;

use lambdarag_aws::DynamoStore;

#[tokio::test]
async fn dynamo_store_passes_the_task_conformance_suite() {
    let Some((client, table)) = common::moto_table("conformance-tasks").await else {
        return;
    };
    let store = DynamoStore::new(client.clone(), &table);
    lambdarag::ports::conformance_tasks::run_all(&store).await;
    common::drop_table(&client, &table).await;
}
