//! DynamoDB-specific checks beyond the shared conformance suites: the table layout and a
//! race the conditional transactions must settle.

mod common;

use std::sync::Arc;

use lambdarag::contract::ids::new_id;
use lambdarag::ports::conformance::sample_dataset;
use lambdarag::ports::DatasetStore;
use lambdarag::StoreError;
use lambdarag_aws::DynamoStore;

#[tokio::test]
async fn table_has_the_keys_and_the_reserved_index() {
    let Some((client, table)) = common::moto_table("layout").await else {
        return;
    };
    let out = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .expect("describe");
    let t = out.table.expect("table");
    let keys: Vec<_> = t
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_string(),
                k.key_type().as_str().to_string(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        vec![
            ("pk".to_string(), "HASH".to_string()),
            ("sk".to_string(), "RANGE".to_string())
        ]
    );
    let gsis = t.global_secondary_indexes();
    assert_eq!(gsis.len(), 1);
    assert_eq!(gsis[0].index_name(), Some(lambdarag_aws::dynamo::GSI1));
    common::drop_table(&client, &table).await;
}

#[tokio::test]
async fn concurrent_creates_of_one_name_have_one_winner() {
    let Some((client, table)) = common::moto_table("race").await else {
        return;
    };
    let store = Arc::new(DynamoStore::new(client.clone(), &table));
    let tenant = new_id();
    let tasks: Vec<_> = ["Race", "RACE", "race", "rAcE", "RaCe", "race"]
        .into_iter()
        .map(|name| {
            let store = store.clone();
            let d = sample_dataset(&tenant, name);
            tokio::spawn(async move { store.insert_dataset(&d).await })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        match t.await.expect("join") {
            Ok(()) => won += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(won, 1, "exactly one create of a name may win");
    let all = DatasetStore::list_datasets(
        store.as_ref(),
        &tenant,
        &lambdarag::domain::DatasetListQuery {
            id: None,
            name: None,
            page: 1,
            page_size: 100,
            orderby: lambdarag::domain::DatasetOrder::CreateTime,
            desc: true,
        },
    )
    .await
    .expect("list");
    assert_eq!(all.1, 1);
    common::drop_table(&client, &table).await;
}
