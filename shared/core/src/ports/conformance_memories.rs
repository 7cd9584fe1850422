//! The memory-store conformance suite. Every adapter's tests call `run_all` on a fresh,
//! empty store; a failure panics with the rule that was broken.

use crate::contract::error::StoreError;
use crate::contract::ids::new_id;
use crate::contract::time::now_ms;
use crate::ports::memory::{
    Memory, MemoryListQuery, MemoryMessage, MemoryStore, MessagePatch, MessageTask,
};

pub async fn run_all(store: &dyn MemoryStore) {
    memory_basics(store).await;
    memory_updates(store).await;
    memory_listing(store).await;
    message_ids(store).await;
    messages(store).await;
    deleting_a_memory_deletes_its_messages(store).await;
    isolation(store).await;
}

/// A memory with every field set to something that must round-trip.
pub fn sample_memory(tenant_id: &str, name: &str) -> Memory {
    let now = now_ms();
    Memory {
        id: new_id(),
        tenant_id: tenant_id.into(),
        name: name.into(),
        avatar: Some("data:image/png;base64,AAAA".into()),
        memory_type: 1 | 4,
        storage_type: "table".into(),
        embd_id: "all-MiniLM-L6-v2@Builtin".into(),
        llm_id: "gpt-4o-mini@OpenAI".into(),
        permissions: "me".into(),
        description: Some("notes ü".into()),
        memory_size: 5 * 1024 * 1024,
        forgetting_policy: "FIFO".into(),
        temperature: 0.123_456_789,
        system_prompt: "Extract facts.\nOUTPUT FORMAT: JSON".into(),
        user_prompt: None,
        create_time: now,
        update_time: now,
    }
}

/// A raw message with a vector and a task.
pub fn sample_message(memory: &Memory, message_id: i64) -> MemoryMessage {
    MemoryMessage {
        tenant_id: memory.tenant_id.clone(),
        memory_id: memory.id.clone(),
        message_id,
        message_type: "raw".into(),
        source_id: 0,
        user_id: "u1".into(),
        agent_id: "agent".into(),
        session_id: "sess".into(),
        content: format!("User Input: hello {message_id} ü\nAgent Response: hi"),
        content_embed: vec![0.25, -0.5, 0.125],
        valid_at: "2026-01-02 03:04:05".into(),
        invalid_at: None,
        forget_at: None,
        status: true,
        size: 64,
        create_time: now_ms(),
        task: Some(MessageTask {
            id: "task".into(),
            progress: 0.0,
            progress_msg: String::new(),
        }),
    }
}

async fn memory_basics(store: &dyn MemoryStore) {
    let t = new_id();
    let m = sample_memory(&t, "Notes");
    store.insert_memory(&m).await.expect("insert");
    assert_eq!(
        store.get_memory(&t, &m.id).await.expect("get"),
        Some(m.clone()),
        "a memory round-trips"
    );
    assert_eq!(
        store
            .find_memory_by_name(&t, "nOTES")
            .await
            .expect("find")
            .map(|x| x.id),
        Some(m.id.clone()),
        "names are found case-insensitively"
    );
    assert!(store
        .find_memory_by_name(&t, "other")
        .await
        .expect("find")
        .is_none());
    let twin = sample_memory(&t, "NOTES");
    assert!(
        matches!(
            store.insert_memory(&twin).await,
            Err(StoreError::Conflict(_))
        ),
        "a tenant's memory names are unique case-insensitively"
    );
    let same_id = Memory {
        name: "another".into(),
        ..m.clone()
    };
    assert!(
        matches!(
            store.insert_memory(&same_id).await,
            Err(StoreError::Conflict(_))
        ),
        "ids are unique"
    );
    assert!(store
        .get_memory(&t, "missing")
        .await
        .expect("get")
        .is_none());
    assert!(store.delete_memory(&t, &m.id).await.expect("delete"));
    assert!(!store.delete_memory(&t, &m.id).await.expect("delete again"));
    assert!(store.get_memory(&t, &m.id).await.expect("get").is_none());
    store
        .insert_memory(&sample_memory(&t, "notes"))
        .await
        .expect("a deleted memory frees its name");
}

async fn memory_updates(store: &dyn MemoryStore) {
    let t = new_id();
    let a = sample_memory(&t, "alpha");
    let b = sample_memory(&t, "beta");
    store.insert_memory(&a).await.expect("insert a");
    store.insert_memory(&b).await.expect("insert b");
    let mut renamed = a.clone();
    renamed.name = "gamma".into();
    renamed.description = None;
    renamed.memory_size = 1024;
    renamed.update_time += 10;
    store.update_memory(&renamed).await.expect("rename");
    assert_eq!(
        store.get_memory(&t, &a.id).await.expect("get"),
        Some(renamed.clone())
    );
    store
        .insert_memory(&sample_memory(&t, "ALPHA"))
        .await
        .expect("a rename frees the old name");
    let mut clash = renamed.clone();
    clash.name = "Beta".into();
    assert!(
        matches!(
            store.update_memory(&clash).await,
            Err(StoreError::Conflict(_))
        ),
        "a rename onto a used name conflicts"
    );
    assert_eq!(
        store
            .get_memory(&t, &a.id)
            .await
            .expect("get")
            .map(|m| m.name),
        Some("gamma".into()),
        "a refused rename changes nothing"
    );
    let mut case_only = renamed.clone();
    case_only.name = "GAMMA".into();
    store
        .update_memory(&case_only)
        .await
        .expect("a memory may change the case of its own name");
    let ghost = sample_memory(&t, "ghost");
    assert!(matches!(
        store.update_memory(&ghost).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn memory_listing(store: &dyn MemoryStore) {
    let t = new_id();
    let mut all = Vec::new();
    for (i, (name, mask, storage)) in [
        ("Meeting notes", 1u32, "table"),
        ("facts", 1 | 2, "table"),
        ("habits", 8, "graph"),
        ("Notes 2", 1 | 4, "table"),
        ("empty", 2 | 4 | 8, "table"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut m = sample_memory(&t, name);
        m.memory_type = mask;
        m.storage_type = storage.into();
        // two share an update time: ties go by id, descending
        m.update_time = 1_000 + (i as i64 % 4);
        store.insert_memory(&m).await.expect("insert");
        all.push(m);
    }
    store
        .insert_memory(&sample_memory(&new_id(), "facts"))
        .await
        .expect("another tenant's memory");
    let queries = [
        MemoryListQuery::default(),
        MemoryListQuery {
            page: 1,
            page_size: 2,
            ..Default::default()
        },
        MemoryListQuery {
            page: 3,
            page_size: 2,
            ..Default::default()
        },
        MemoryListQuery {
            page: 9,
            page_size: 2,
            ..Default::default()
        },
        MemoryListQuery {
            memory_type: 2 | 8,
            ..Default::default()
        },
        MemoryListQuery {
            storage_type: Some("graph".into()),
            ..Default::default()
        },
        MemoryListQuery {
            keywords: Some("NOTES".into()),
            ..Default::default()
        },
        MemoryListQuery {
            ids: Some(vec![all[0].id.clone(), all[2].id.clone(), "nope".into()]),
            ..Default::default()
        },
    ];
    for q in queries {
        let got = store.list_memories(&t, &q).await.expect("list");
        let want = q.apply(all.clone());
        assert_eq!(got, want, "listing {q:?}");
    }
}

async fn message_ids(store: &dyn MemoryStore) {
    let t = new_id();
    let m = sample_memory(&t, "ids");
    store.insert_memory(&m).await.expect("insert");
    let first = store
        .reserve_message_ids(&t, &m.id, 1)
        .await
        .expect("reserve");
    assert!(first >= 1, "ids are positive");
    let next = store
        .reserve_message_ids(&t, &m.id, 3)
        .await
        .expect("reserve 3");
    assert_eq!(next, first + 1, "ids follow each other");
    let after = store
        .reserve_message_ids(&t, &m.id, 1)
        .await
        .expect("reserve");
    assert_eq!(after, next + 3, "a reservation of n takes n ids");
    store
        .put_messages(&t, &m.id, &[sample_message(&m, after)])
        .await
        .expect("put");
    store
        .delete_messages(&t, &m.id, &[after])
        .await
        .expect("delete");
    let again = store
        .reserve_message_ids(&t, &m.id, 1)
        .await
        .expect("reserve");
    assert!(again > after, "ids are never handed out twice");
    let mut renamed = m.clone();
    renamed.name = "ids renamed".into();
    store.update_memory(&renamed).await.expect("update");
    assert!(
        store
            .reserve_message_ids(&t, &m.id, 1)
            .await
            .expect("reserve")
            > again,
        "an update of the memory keeps its id counter"
    );
    assert!(matches!(
        store.reserve_message_ids(&t, "missing", 1).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn messages(store: &dyn MemoryStore) {
    let t = new_id();
    let m = sample_memory(&t, "msgs");
    store.insert_memory(&m).await.expect("insert");
    let first = store
        .reserve_message_ids(&t, &m.id, 3)
        .await
        .expect("reserve");
    let raw = sample_message(&m, first);
    let mut extracted = sample_message(&m, first + 1);
    extracted.message_type = "semantic".into();
    extracted.source_id = first;
    extracted.task = None;
    extracted.invalid_at = Some("2027-01-01 00:00:00".into());
    let third = sample_message(&m, first + 2);
    // stored out of order: the listing is by id
    store
        .put_messages(&t, &m.id, &[third.clone(), raw.clone()])
        .await
        .expect("put");
    store
        .put_messages(&t, &m.id, std::slice::from_ref(&extracted))
        .await
        .expect("put");
    assert_eq!(
        store.get_message(&t, &m.id, first).await.expect("get"),
        Some(raw.clone()),
        "a message round-trips"
    );
    assert_eq!(
        store.list_messages(&t, &m.id).await.expect("list"),
        vec![raw.clone(), extracted.clone(), third.clone()]
    );
    let mut replaced = raw.clone();
    replaced.content = "replaced".into();
    store
        .put_messages(&t, &m.id, std::slice::from_ref(&replaced))
        .await
        .expect("replace");
    assert_eq!(
        store.get_message(&t, &m.id, first).await.expect("get"),
        Some(replaced.clone()),
        "put replaces by id"
    );

    let patch = MessagePatch {
        status: Some(false),
        forget_at: Some("2026-02-02 02:02:02".into()),
        task: Some(MessageTask {
            id: "task".into(),
            progress: 1.0,
            progress_msg: "done".into(),
        }),
    };
    assert!(store
        .patch_message(&t, &m.id, first, &patch)
        .await
        .expect("patch"));
    let mut want = replaced.clone();
    patch.apply_to(&mut want);
    assert_eq!(
        store.get_message(&t, &m.id, first).await.expect("get"),
        Some(want.clone())
    );
    let only_status = MessagePatch {
        status: Some(true),
        ..Default::default()
    };
    assert!(store
        .patch_message(&t, &m.id, first, &only_status)
        .await
        .expect("patch"));
    want.status = true;
    assert_eq!(
        store.get_message(&t, &m.id, first).await.expect("get"),
        Some(want),
        "an empty field of a patch leaves the message's value"
    );
    assert!(!store
        .patch_message(&t, &m.id, 999_999, &only_status)
        .await
        .expect("patch missing"));
    assert!(store
        .get_message(&t, &m.id, 999_999)
        .await
        .expect("get")
        .is_none());

    assert_eq!(
        store
            .delete_messages(&t, &m.id, &[first + 1, first + 2, 999_999])
            .await
            .expect("delete"),
        2,
        "delete counts the messages that existed"
    );
    assert_eq!(
        store
            .list_messages(&t, &m.id)
            .await
            .expect("list")
            .iter()
            .map(|x| x.message_id)
            .collect::<Vec<_>>(),
        vec![first]
    );
    assert_eq!(
        store.delete_messages(&t, &m.id, &[]).await.expect("none"),
        0
    );
}

async fn deleting_a_memory_deletes_its_messages(store: &dyn MemoryStore) {
    let t = new_id();
    let m = sample_memory(&t, "short-lived");
    store.insert_memory(&m).await.expect("insert");
    let first = store
        .reserve_message_ids(&t, &m.id, 2)
        .await
        .expect("reserve");
    store
        .put_messages(
            &t,
            &m.id,
            &[sample_message(&m, first), sample_message(&m, first + 1)],
        )
        .await
        .expect("put");
    assert!(store.delete_memory(&t, &m.id).await.expect("delete"));
    assert!(store
        .list_messages(&t, &m.id)
        .await
        .expect("list")
        .is_empty());
    assert!(store
        .get_message(&t, &m.id, first)
        .await
        .expect("get")
        .is_none());
}

async fn isolation(store: &dyn MemoryStore) {
    let (t1, t2) = (new_id(), new_id());
    let m = sample_memory(&t1, "private");
    store.insert_memory(&m).await.expect("insert");
    let first = store
        .reserve_message_ids(&t1, &m.id, 1)
        .await
        .expect("reserve");
    store
        .put_messages(&t1, &m.id, &[sample_message(&m, first)])
        .await
        .expect("put");

    assert!(store.get_memory(&t2, &m.id).await.expect("get").is_none());
    assert!(store
        .find_memory_by_name(&t2, "private")
        .await
        .expect("find")
        .is_none());
    assert_eq!(
        store
            .list_memories(&t2, &MemoryListQuery::default())
            .await
            .expect("list")
            .1,
        0
    );
    let mut stolen = m.clone();
    stolen.tenant_id = t2.clone();
    stolen.name = "mine now".into();
    assert!(
        matches!(
            store.update_memory(&stolen).await,
            Err(StoreError::NotFound(_))
        ),
        "another tenant cannot update it"
    );
    assert!(!store.delete_memory(&t2, &m.id).await.expect("delete"));
    assert!(matches!(
        store.reserve_message_ids(&t2, &m.id, 1).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store
        .get_message(&t2, &m.id, first)
        .await
        .expect("get")
        .is_none());
    assert!(store
        .list_messages(&t2, &m.id)
        .await
        .expect("list")
        .is_empty());
    assert!(!store
        .patch_message(
            &t2,
            &m.id,
            first,
            &MessagePatch {
                status: Some(false),
                ..Default::default()
            }
        )
        .await
        .expect("patch"));
    assert_eq!(
        store
            .delete_messages(&t2, &m.id, &[first])
            .await
            .expect("delete"),
        0
    );
    // a second tenant may use the same name
    store
        .insert_memory(&sample_memory(&t2, "private"))
        .await
        .expect("names are per tenant");
    // and the owner's records are untouched
    assert_eq!(
        store.get_memory(&t1, &m.id).await.expect("get"),
        Some(m.clone())
    );
    let msg = store.get_message(&t1, &m.id, first).await.expect("get");
    assert!(msg.is_some_and(|x| x.status));
}
