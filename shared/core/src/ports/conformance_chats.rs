//! The chat-store conformance suite. Every adapter's tests call `run_all` on a fresh, empty
//! store; a failure panics with the rule that was broken.
//!
//! Listings are checked against `ChatListQuery::apply` / `SessionListQuery::apply`, the
//! reference semantics, plus explicit cases that pin the subtle rules (soft delete frees a
//! name, names collide case-insensitively, tenants never see each other's records).

use serde_json::{json, Map, Value};

use crate::contract::error::StoreError;
use crate::contract::ids::new_id;
use crate::contract::time::now_ms;
use crate::ports::chat::{
    Chat, ChatListQuery, ChatStore, ListOrder, Session, SessionListQuery, STATUS_VALID,
};

pub async fn run_all(store: &dyn ChatStore) {
    chat_basics(store).await;
    chat_names(store).await;
    chat_updates(store).await;
    chat_listing(store).await;
    chat_soft_delete(store).await;
    session_basics(store).await;
    session_listing(store).await;
    isolation(store).await;
}

/// A chat with every field set to something that must round-trip.
pub fn sample_chat(tenant_id: &str, name: &str) -> Chat {
    let now = now_ms();
    let mut llm = Map::new();
    llm.insert("temperature".into(), json!(0.1));
    llm.insert("max_tokens".into(), json!(512));
    let mut prompt = Map::new();
    prompt.insert("system".into(), json!("Use {knowledge}. ü"));
    prompt.insert("prologue".into(), json!("Hi!"));
    prompt.insert(
        "parameters".into(),
        json!([{"key": "knowledge", "optional": false}]),
    );
    prompt.insert("empty_response".into(), Value::Null);
    prompt.insert("quote".into(), json!(true));
    prompt.insert("extra".into(), json!({"nested": [1, 2.5, "x"]}));
    Chat {
        id: new_id(),
        tenant_id: tenant_id.into(),
        name: name.into(),
        description: Some("A helpful Assistant".into()),
        icon: Some(String::new()),
        language: "English".into(),
        llm_id: "extractive-answerer@Builtin".into(),
        llm_setting: llm,
        prompt_type: "simple".into(),
        prompt_config: prompt,
        meta_data_filter: json!({}),
        similarity_threshold: 0.2,
        vector_similarity_weight: 0.123_456_789_012_345_67,
        top_n: 6,
        top_k: 1024,
        do_refer: "1".into(),
        rerank_id: String::new(),
        kb_ids: vec![new_id(), new_id()],
        status: STATUS_VALID.into(),
        create_time: now,
        update_time: now,
    }
}

/// A session with a prologue, one answered turn and its reference.
pub fn sample_session(tenant_id: &str, chat_id: &str, name: &str) -> Session {
    let now = now_ms();
    Session {
        id: new_id(),
        tenant_id: tenant_id.into(),
        chat_id: chat_id.into(),
        name: name.into(),
        user_id: String::new(),
        messages: vec![
            json!({"role": "assistant", "content": "Hi!"}),
            json!({"role": "user", "content": "q ü", "id": "11111111-1111-4111-8111-111111111111"}),
            json!({"role": "assistant", "content": "a [ID:0]", "id": "11111111-1111-4111-8111-111111111111", "created_at": 1.5}),
        ],
        reference: vec![
            json!({"total": 1, "chunks": [{"id": "c", "positions": [[1, 2, 3, 4, 5]]}], "doc_aggs": []}),
        ],
        create_time: now,
        update_time: now,
    }
}

async fn chat_basics(store: &dyn ChatStore) {
    let t = new_id();
    let a = sample_chat(&t, "Alpha");
    store.insert_chat(&a).await.expect("insert_chat");
    assert_eq!(
        store.get_chat(&t, &a.id).await.expect("get_chat"),
        Some(a.clone()),
        "a chat reads back exactly as written"
    );
    assert_eq!(
        store.get_chat(&t, &new_id()).await.expect("get_chat"),
        None,
        "an unknown chat id reads as None"
    );
    let mut same_id = sample_chat(&t, "Other");
    same_id.id = a.id.clone();
    assert!(
        matches!(
            store.insert_chat(&same_id).await,
            Err(StoreError::Conflict(_))
        ),
        "inserting an existing chat id must conflict"
    );
    assert_eq!(
        store
            .find_chat_by_name(&t, "aLPHA")
            .await
            .expect("find")
            .map(|c| c.id),
        Some(a.id.clone()),
        "chat name lookup is case-insensitive"
    );
    assert!(store
        .find_chat_by_name(&t, "missing")
        .await
        .expect("find")
        .is_none());
}

async fn chat_names(store: &dyn ChatStore) {
    let t = new_id();
    let a = sample_chat(&t, "Name");
    store.insert_chat(&a).await.expect("insert");
    assert!(
        matches!(
            store.insert_chat(&sample_chat(&t, "NAME")).await,
            Err(StoreError::Conflict(_))
        ),
        "a live chat name differing only in case must conflict"
    );
    store
        .insert_chat(&sample_chat(&new_id(), "name"))
        .await
        .expect("the same name under another tenant is fine");
    // Concurrent creates of one name: exactly one wins.
    let (x, y) = (sample_chat(&t, "race"), sample_chat(&t, "RACE"));
    let (r1, r2) = tokio::join!(store.insert_chat(&x), store.insert_chat(&y));
    assert_eq!(
        [r1.is_ok(), r2.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "two concurrent creates of one name: exactly one may win"
    );
}

async fn chat_updates(store: &dyn ChatStore) {
    let t = new_id();
    let a = sample_chat(&t, "u1");
    let b = sample_chat(&t, "u2");
    store.insert_chat(&a).await.expect("insert a");
    store.insert_chat(&b).await.expect("insert b");
    let mut changed = a.clone();
    changed.name = "U1 renamed".into();
    changed.kb_ids = vec![];
    changed
        .prompt_config
        .insert("prologue".into(), json!("Hello"));
    changed.update_time = a.update_time + 5;
    store.update_chat(&changed).await.expect("update");
    assert_eq!(
        store.get_chat(&t, &a.id).await.expect("get"),
        Some(changed.clone()),
        "an update replaces the whole record"
    );
    assert!(
        store
            .find_chat_by_name(&t, "u1")
            .await
            .expect("find")
            .is_none(),
        "the old name is free after a rename"
    );
    let mut clash = changed.clone();
    clash.name = "U2".into();
    assert!(
        matches!(
            store.update_chat(&clash).await,
            Err(StoreError::Conflict(_))
        ),
        "renaming onto another live chat's name must conflict"
    );
    let mut same_case = changed.clone();
    same_case.name = "u1 RENAMED".into();
    store
        .update_chat(&same_case)
        .await
        .expect("changing only the case of a chat's own name is fine");
    let ghost = sample_chat(&t, "ghost");
    assert!(
        matches!(
            store.update_chat(&ghost).await,
            Err(StoreError::NotFound(_))
        ),
        "updating a missing chat is NotFound"
    );
    let mut other_tenant = changed.clone();
    other_tenant.tenant_id = new_id();
    assert!(
        matches!(
            store.update_chat(&other_tenant).await,
            Err(StoreError::NotFound(_))
        ),
        "a chat is matched by tenant and id"
    );
}

async fn chat_listing(store: &dyn ChatStore) {
    let t = new_id();
    let mut written = Vec::new();
    for (i, name) in ["b", "A", "c", "D", "e"].iter().enumerate() {
        let mut c = sample_chat(&t, name);
        // Ties on create_time (broken by id) and update_time out of create order.
        c.create_time = 1000 + (i as i64 / 2);
        c.update_time = 5000 - i as i64;
        store.insert_chat(&c).await.expect("insert");
        written.push(c);
    }
    let mut dead = sample_chat(&t, "dead");
    dead.create_time = 1001;
    store.insert_chat(&dead).await.expect("insert");
    assert!(store.delete_chat(&t, &dead.id).await.expect("delete"));
    let mut with_dead = written.clone();
    dead.status = "0".into();
    with_dead.push(dead);
    let orders = [
        ListOrder::CreateTime,
        ListOrder::UpdateTime,
        ListOrder::Name,
        ListOrder::Id,
    ];
    for orderby in orders {
        for desc in [true, false] {
            for (page, page_size) in [(1, 30), (1, 2), (2, 2), (3, 2), (0, 2), (9, 2), (1, 0)] {
                let q = ChatListQuery {
                    page,
                    page_size,
                    orderby,
                    desc,
                    ..Default::default()
                };
                let got: Vec<String> = store
                    .list_chats(&t, &q)
                    .await
                    .expect("list")
                    .into_iter()
                    .map(|c| c.id)
                    .collect();
                let want: Vec<String> = q
                    .apply(with_dead.clone())
                    .into_iter()
                    .map(|c| c.id)
                    .collect();
                assert_eq!(got, want, "chat listing {q:?} follows ChatListQuery::apply");
            }
        }
    }
    let by_name = ChatListQuery {
        name: Some("d".into()),
        ..Default::default()
    };
    let got = store.list_chats(&t, &by_name).await.expect("list");
    assert_eq!(got.len(), 1, "the name filter is case-insensitive");
    assert_eq!(got[0].name, "D");
    let by_id = ChatListQuery {
        id: Some(written[2].id.clone()),
        ..Default::default()
    };
    assert_eq!(
        store.list_chats(&t, &by_id).await.expect("list"),
        vec![written[2].clone()],
        "the id filter returns the whole record"
    );
    let both = ChatListQuery {
        id: Some(written[2].id.clone()),
        name: Some("b".into()),
        ..Default::default()
    };
    assert!(
        store.list_chats(&t, &both).await.expect("list").is_empty(),
        "id and name filters combine with AND"
    );
}

async fn chat_soft_delete(store: &dyn ChatStore) {
    let t = new_id();
    let a = sample_chat(&t, "Gone");
    store.insert_chat(&a).await.expect("insert");
    assert!(store.delete_chat(&t, &a.id).await.expect("delete"));
    assert!(
        !store.delete_chat(&t, &a.id).await.expect("delete again"),
        "deleting a deleted chat reports false"
    );
    assert!(
        !store.delete_chat(&new_id(), &a.id).await.expect("delete"),
        "another tenant cannot delete the chat"
    );
    assert_eq!(
        store.get_chat(&t, &a.id).await.expect("get"),
        None,
        "a deleted chat is not readable"
    );
    assert!(store
        .find_chat_by_name(&t, "gone")
        .await
        .expect("find")
        .is_none());
    assert!(matches!(
        store.update_chat(&a).await,
        Err(StoreError::NotFound(_))
    ));
    let again = sample_chat(&t, "GONE");
    store
        .insert_chat(&again)
        .await
        .expect("a deleted chat's name can be used again");
    assert_eq!(
        store.get_chat(&t, &again.id).await.expect("get"),
        Some(again.clone())
    );
    let mut second = sample_chat(&t, "gone-2");
    store.insert_chat(&second).await.expect("insert");
    assert!(store.delete_chat(&t, &second.id).await.expect("delete"));
    second.id = new_id();
    second.name = "Gone".into();
    assert!(
        matches!(
            store.insert_chat(&second).await,
            Err(StoreError::Conflict(_))
        ),
        "the name is taken again by the live chat"
    );
}

async fn session_basics(store: &dyn ChatStore) {
    let t = new_id();
    let chat = new_id();
    let s = sample_session(&t, &chat, "New session");
    store.insert_session(&s).await.expect("insert_session");
    assert_eq!(
        store.get_session(&t, &chat, &s.id).await.expect("get"),
        Some(s.clone()),
        "a session reads back exactly as written"
    );
    assert_eq!(
        store.get_session(&t, &new_id(), &s.id).await.expect("get"),
        None,
        "a session is found only under its chat"
    );
    assert!(matches!(
        store.insert_session(&s).await,
        Err(StoreError::Conflict(_))
    ));
    let mut turn = s.clone();
    turn.messages
        .push(json!({"role": "user", "content": "again"}));
    turn.reference.push(json!({"chunks": [], "doc_aggs": []}));
    turn.name = "Renamed".into();
    turn.update_time += 1;
    store.update_session(&turn).await.expect("update");
    assert_eq!(
        store.get_session(&t, &chat, &s.id).await.expect("get"),
        Some(turn.clone())
    );
    let ghost = sample_session(&t, &chat, "ghost");
    assert!(matches!(
        store.update_session(&ghost).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store
        .delete_session(&t, &chat, &s.id)
        .await
        .expect("delete"));
    assert!(!store
        .delete_session(&t, &chat, &s.id)
        .await
        .expect("delete"));
    assert_eq!(
        store.get_session(&t, &chat, &s.id).await.expect("get"),
        None
    );
}

async fn session_listing(store: &dyn ChatStore) {
    let t = new_id();
    let chat = new_id();
    let other_chat = new_id();
    let mut written = Vec::new();
    for (i, (name, user)) in [("s", "u1"), ("S", "u2"), ("t", "u1"), ("New session", "")]
        .iter()
        .enumerate()
    {
        let mut s = sample_session(&t, &chat, name);
        s.user_id = user.to_string();
        s.create_time = 100 + (i as i64 / 2);
        s.update_time = 900 - i as i64;
        store.insert_session(&s).await.expect("insert");
        written.push(s);
    }
    store
        .insert_session(&sample_session(&t, &other_chat, "s"))
        .await
        .expect("insert");
    for orderby in [
        ListOrder::CreateTime,
        ListOrder::UpdateTime,
        ListOrder::Name,
        ListOrder::Id,
    ] {
        for desc in [true, false] {
            for (page, page_size) in [(1, 30), (1, 3), (2, 3), (0, 1), (5, 3), (1, 0)] {
                for (id, name, user_id) in [
                    (None, None, None),
                    (None, Some("S".to_string()), None),
                    (None, None, Some("u1".to_string())),
                    (Some(written[1].id.clone()), None, None),
                    (None, Some("s".to_string()), Some("u2".to_string())),
                ] {
                    let q = SessionListQuery {
                        id,
                        name,
                        user_id,
                        page,
                        page_size,
                        orderby,
                        desc,
                    };
                    let got: Vec<String> = store
                        .list_sessions(&t, &chat, &q)
                        .await
                        .expect("list")
                        .into_iter()
                        .map(|s| s.id)
                        .collect();
                    let want: Vec<String> =
                        q.apply(written.clone()).into_iter().map(|s| s.id).collect();
                    assert_eq!(
                        got, want,
                        "session listing {q:?} follows SessionListQuery::apply"
                    );
                }
            }
        }
    }
}

async fn isolation(store: &dyn ChatStore) {
    let (t1, t2) = (new_id(), new_id());
    let c = sample_chat(&t1, "mine");
    store.insert_chat(&c).await.expect("insert");
    assert_eq!(store.get_chat(&t2, &c.id).await.expect("get"), None);
    assert!(store
        .find_chat_by_name(&t2, "mine")
        .await
        .expect("find")
        .is_none());
    assert!(store
        .list_chats(&t2, &ChatListQuery::all())
        .await
        .expect("list")
        .is_empty());
    let s = sample_session(&t1, &c.id, "mine");
    store.insert_session(&s).await.expect("insert");
    assert_eq!(
        store.get_session(&t2, &c.id, &s.id).await.expect("get"),
        None
    );
    assert!(store
        .list_sessions(&t2, &c.id, &SessionListQuery::all())
        .await
        .expect("list")
        .is_empty());
    assert!(!store
        .delete_session(&t2, &c.id, &s.id)
        .await
        .expect("delete"));
    let mut hijack = s.clone();
    hijack.tenant_id = t2.clone();
    assert!(matches!(
        store.update_session(&hijack).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store.get_session(&t1, &c.id, &s.id).await.expect("get"),
        Some(s),
        "another tenant's writes never touch the session"
    );
}
