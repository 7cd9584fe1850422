//! The agent-store conformance suite against `DynamoStore` on moto.

mod common;

use lambdarag::ports::agent::AgentStore;
use lambdarag::ports::conformance_agents::{sample_agent, sample_session};
use lambdarag::StoreError;
use lambdarag_aws::DynamoStore;

#[tokio::test]
async fn dynamo_store_passes_the_agent_conformance_suite() {
    let Some((client, table)) = common::moto_table("conformance-agents").await else {
        return;
    };
    let store = DynamoStore::new(client.clone(), &table);
    lambdarag::ports::conformance_agents::run_all(&store).await;
    common::drop_table(&client, &table).await;
}

/// The same suite with two-item Query pages, so listings cross page boundaries.
#[tokio::test]
async fn dynamo_store_passes_the_agent_conformance_suite_with_tiny_pages() {
    let Some((client, table)) = common::moto_table("conformance-agents-paged").await else {
        return;
    };
    let store = DynamoStore::new(client.clone(), &table).with_page_size(2);
    lambdarag::ports::conformance_agents::run_all(&store).await;
    common::drop_table(&client, &table).await;
}

/// A session grown past DynamoDB's 400 KB item limit is refused with a clear error, and
/// the stored session is left as it was.
#[tokio::test]
async fn an_oversized_agent_session_is_refused_and_the_stored_one_kept() {
    let Some((client, table)) = common::moto_table("agents-oversized").await else {
        return;
    };
    let store = DynamoStore::new(client.clone(), &table);
    let agent = sample_agent("t", "Big");
    store.insert_agent(&agent).await.expect("insert agent");
    let session = sample_session("t", &agent.id);
    store
        .insert_agent_session(&session)
        .await
        .expect("insert session");

    let mut grown = session.clone();
    let answer = "Ünïcödé answer. ".repeat(1000);
    for _ in 0..30 {
        grown
            .messages
            .push(serde_json::json!({"role": "assistant", "content": answer}));
    }
    match store.update_agent_session(&grown).await {
        Err(StoreError::Backend(msg)) => assert!(msg.contains("too large"), "{msg}"),
        other => panic!("an oversized update must be a Backend error, got {other:?}"),
    }
    assert_eq!(
        store
            .get_agent_session("t", &agent.id, &session.id)
            .await
            .expect("get session"),
        Some(session),
        "the refused update leaves the stored session"
    );

    let mut fresh = grown.clone();
    fresh.id = lambdarag::contract::ids::new_id();
    match store.insert_agent_session(&fresh).await {
        Err(StoreError::Backend(msg)) => assert!(msg.contains("too large"), "{msg}"),
        other => panic!("an oversized insert must be a Backend error, got {other:?}"),
    }
    assert_eq!(
        store
            .get_agent_session("t", &agent.id, &fresh.id)
            .await
            .expect("get session"),
        None
    );

    let mut big_agent = agent.clone();
    big_agent.dsl["history"] = serde_json::json!(vec![answer; 30]);
    match store.update_agent(&big_agent).await {
        Err(StoreError::Backend(msg)) => assert!(msg.contains("too large"), "{msg}"),
        other => panic!("an oversized agent must be a Backend error, got {other:?}"),
    }
    assert_eq!(
        store.get_agent("t", &agent.id).await.expect("get agent"),
        Some(agent)
    );
    common::drop_table(&client, &table).await;
}
