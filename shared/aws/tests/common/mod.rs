//! Finding the moto server the AWS adapter tests run against.
//!
//! `MOTO_URL` (e.g. `http://127.0.0.1:5000`, started by `tests/aws/moto.sh`) points at it.
//! Without it a test is skipped with a message, unless `LAMBDARAG_REQUIRE_MOTO` is set
//! (CI), in which case a missing moto fails the test.

use aws_sdk_dynamodb::Client;
use lambdarag_aws::config::local_sdk_config;
use lambdarag_aws::DynamoStore;

/// A DynamoDB client on moto and a fresh, uniquely named table (tests run in parallel
/// against one server), or `None` when the test should be skipped.
pub async fn moto_table(test: &str) -> Option<(Client, String)> {
    let Some(url) = std::env::var("MOTO_URL").ok().filter(|u| !u.is_empty()) else {
        let required = std::env::var("LAMBDARAG_REQUIRE_MOTO")
            .map(|v| !v.is_empty() && v != "0")
            .unwrap_or(false);
        assert!(
            !required,
            "LAMBDARAG_REQUIRE_MOTO is set but MOTO_URL is not: start moto with \
             `eval \"$(tests/aws/moto.sh start)\"`"
        );
        eprintln!("SKIPPED {test}: MOTO_URL is not set (start moto with tests/aws/moto.sh)");
        return None;
    };
    let conf = local_sdk_config(&url).await;
    let client = Client::new(&conf);
    let table = format!(
        "lambdarag-test-{test}-{}",
        lambdarag::contract::ids::new_id()
    );
    if let Err(e) = DynamoStore::create_table(&client, &table).await {
        panic!("MOTO_URL={url} is set but creating table {table} failed: {e}");
    }
    Some((client, table))
}

/// Best-effort clean-up so a long-lived moto does not accumulate tables.
pub async fn drop_table(client: &Client, table: &str) {
    let _ = client.delete_table().table_name(table).send().await;
}
