//! The search-store conformance suite. Every adapter's tests call `run_all` on a fresh,
//! empty store; a failure panics with the rule that was broken.

use serde_json::{json, Map, Value};

use crate::contract::error::StoreError;
use crate::contract::ids::new_id;
use crate::contract::time::now_ms;
use crate::ports::search::{SearchApp, SearchStore};

pub async fn run_all(store: &dyn SearchStore) {
    round_trip(store).await;
    updates(store).await;
    listing_and_delete(store).await;
    isolation(store).await;
}

/// A search app with every field set to something that must round-trip.
pub fn sample_search(tenant_id: &str, name: &str) -> SearchApp {
    let now = now_ms();
    let mut config = Map::new();
    config.insert("kb_ids".into(), json!(["a", "b"]));
    config.insert("similarity_threshold".into(), json!(0.2));
    config.insert(
        "vector_similarity_weight".into(),
        json!(0.123_456_789_012_345_67),
    );
    config.insert("top_k".into(), json!(1024));
    config.insert(
        "llm_setting".into(),
        json!({"temperature": 0.1, "nested": [1, "ü"]}),
    );
    config.insert("summary".into(), json!(false));
    config.insert("chat_id".into(), Value::Null);
    SearchApp {
        id: new_id(),
        tenant_id: tenant_id.into(),
        name: name.into(),
        description: "Finds things. ü".into(),
        avatar: Some("data:image/png;base64,AAAA".into()),
        created_by: tenant_id.into(),
        search_config: config,
        status: "1".into(),
        create_time: now,
        update_time: now,
    }
}

async fn round_trip(store: &dyn SearchStore) {
    let app = sample_search("rt", "Round trip");
    store.insert_search(&app).await.expect("insert");
    let got = store.get_search("rt", &app.id).await.expect("get");
    assert_eq!(got.as_ref(), Some(&app), "a search app round-trips exactly");
    assert!(
        matches!(
            store.insert_search(&app).await,
            Err(StoreError::Conflict(_))
        ),
        "inserting an existing id is a Conflict"
    );
    assert_eq!(
        store.get_search("rt", &new_id()).await.expect("get"),
        None,
        "an unknown id is None"
    );
    let mut twin = sample_search("rt", "Round trip");
    twin.id = new_id();
    store
        .insert_search(&twin)
        .await
        .expect("names are not unique in the store (the service dedupes them)");
}

async fn updates(store: &dyn SearchStore) {
    let mut app = sample_search("up", "Before");
    store.insert_search(&app).await.expect("insert");
    app.name = "After".into();
    app.search_config.insert("top_k".into(), json!(5));
    app.avatar = None;
    app.update_time += 1;
    store.update_search(&app).await.expect("update");
    assert_eq!(
        store.get_search("up", &app.id).await.expect("get"),
        Some(app.clone())
    );
    let mut ghost = sample_search("up", "Ghost");
    ghost.id = new_id();
    assert!(
        matches!(
            store.update_search(&ghost).await,
            Err(StoreError::NotFound(_))
        ),
        "updating a missing search app is NotFound (and does not create it)"
    );
    assert_eq!(store.get_search("up", &ghost.id).await.expect("get"), None);
}

async fn listing_and_delete(store: &dyn SearchStore) {
    assert!(store.list_searches("ls").await.expect("list").is_empty());
    let mut ids = Vec::new();
    for i in 0..5 {
        let app = sample_search("ls", &format!("app {i}"));
        store.insert_search(&app).await.expect("insert");
        ids.push(app.id);
    }
    let mut listed: Vec<String> = store
        .list_searches("ls")
        .await
        .expect("list")
        .into_iter()
        .map(|a| a.id)
        .collect();
    listed.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(listed, want, "the listing holds every app of the tenant");
    assert!(store.delete_search("ls", &ids[0]).await.expect("delete"));
    assert!(
        !store.delete_search("ls", &ids[0]).await.expect("delete"),
        "a second delete reports false"
    );
    assert_eq!(store.get_search("ls", &ids[0]).await.expect("get"), None);
    assert_eq!(store.list_searches("ls").await.expect("list").len(), 4);
}

async fn isolation(store: &dyn SearchStore) {
    let mine = sample_search("iso-a", "Mine");
    store.insert_search(&mine).await.expect("insert");
    assert_eq!(
        store.get_search("iso-b", &mine.id).await.expect("get"),
        None,
        "another tenant cannot read it"
    );
    assert!(store.list_searches("iso-b").await.expect("list").is_empty());
    assert!(
        !store
            .delete_search("iso-b", &mine.id)
            .await
            .expect("delete"),
        "another tenant cannot delete it"
    );
    let mut theirs = mine.clone();
    theirs.tenant_id = "iso-b".into();
    theirs.name = "Stolen".into();
    assert!(
        matches!(
            store.update_search(&theirs).await,
            Err(StoreError::NotFound(_))
        ),
        "another tenant cannot overwrite it"
    );
    assert_eq!(
        store.get_search("iso-a", &mine.id).await.expect("get"),
        Some(mine.clone()),
        "the owner's record is untouched"
    );
    // The same id under another tenant is a separate record.
    let mut same_id = sample_search("iso-b", "Same id");
    same_id.id = mine.id.clone();
    store.insert_search(&same_id).await.expect("insert");
    assert_eq!(
        store.get_search("iso-a", &mine.id).await.expect("get"),
        Some(mine)
    );
}
