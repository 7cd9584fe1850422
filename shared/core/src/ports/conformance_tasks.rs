//! The dataset-task store conformance suite. Every adapter's tests call `run_all` on a
//! fresh, empty store; a failure panics with the rule that was broken.

use crate::contract::error::StoreError;
use crate::contract::ids::new_id;
use crate::contract::time::now_ms;
use crate::ports::tasks::{DatasetTask, DatasetTaskStore, TASK_GRAPHRAG, TASK_RAPTOR};

pub async fn run_all(store: &dyn DatasetTaskStore) {
    round_trip(store).await;
    updates_and_delete(store).await;
    current_task_compare_and_set(store).await;
    isolation(store).await;
}

/// A task row with every field set to something that must round-trip.
pub fn sample_task(tenant_id: &str, dataset_id: &str) -> DatasetTask {
    let now = now_ms();
    DatasetTask {
        id: new_id(),
        tenant_id: tenant_id.into(),
        dataset_id: dataset_id.into(),
        doc_id: new_id(),
        task_type: TASK_RAPTOR.into(),
        from_page: 100_000_000,
        to_page: 100_000_000,
        priority: 0,
        begin_at: Some(now - 5),
        process_duration: 0.123_456_789_012_345_6,
        progress: 0.25,
        progress_msg: "12:00:00 created task raptor\n12:00:01 Task has been received. ü".into(),
        retry_count: 1,
        digest: "8b279a6248cb8fc6".into(),
        chunk_ids: "a b c".into(),
        create_time: now,
        update_time: now,
    }
}

async fn round_trip(store: &dyn DatasetTaskStore) {
    let task = sample_task("rt", "ds");
    store.insert_task(&task).await.expect("insert");
    assert_eq!(
        store.get_task("rt", &task.id).await.expect("get"),
        Some(task.clone()),
        "a task row round-trips exactly"
    );
    assert!(
        matches!(store.insert_task(&task).await, Err(StoreError::Conflict(_))),
        "inserting an existing id is a Conflict"
    );
    assert_eq!(store.get_task("rt", &new_id()).await.expect("get"), None);
    let mut fresh = sample_task("rt", "ds");
    fresh.begin_at = None;
    store.insert_task(&fresh).await.expect("insert");
    assert_eq!(
        store.get_task("rt", &fresh.id).await.expect("get"),
        Some(fresh),
        "a task not yet begun keeps begin_at None"
    );
}

async fn updates_and_delete(store: &dyn DatasetTaskStore) {
    let mut task = sample_task("up", "ds");
    store.insert_task(&task).await.expect("insert");
    task.progress = 1.0;
    task.progress_msg.push_str("\n12:00:02 Task done");
    task.chunk_ids = "x y".into();
    task.update_time += 1;
    store.update_task(&task).await.expect("update");
    assert_eq!(
        store.get_task("up", &task.id).await.expect("get"),
        Some(task.clone())
    );
    assert!(store.delete_task("up", &task.id).await.expect("delete"));
    assert!(
        !store.delete_task("up", &task.id).await.expect("delete"),
        "a second delete reports false"
    );
    assert!(
        matches!(store.update_task(&task).await, Err(StoreError::NotFound(_))),
        "updating a deleted task is NotFound (a late worker cannot resurrect it)"
    );
    assert_eq!(store.get_task("up", &task.id).await.expect("get"), None);
}

async fn current_task_compare_and_set(store: &dyn DatasetTaskStore) {
    let (t, ds) = ("cur", "ds1");
    assert_eq!(
        store.current_task(t, ds, TASK_RAPTOR).await.expect("get"),
        None,
        "no task recorded yet"
    );
    assert!(
        !store
            .swap_current_task(t, ds, TASK_RAPTOR, Some("nope"), "a")
            .await
            .expect("swap"),
        "expecting a task when none is recorded fails"
    );
    assert!(store
        .swap_current_task(t, ds, TASK_RAPTOR, None, "a")
        .await
        .expect("swap"));
    assert!(
        !store
            .swap_current_task(t, ds, TASK_RAPTOR, None, "b")
            .await
            .expect("swap"),
        "a second first-run loses"
    );
    assert!(
        !store
            .swap_current_task(t, ds, TASK_RAPTOR, Some("b"), "c")
            .await
            .expect("swap"),
        "a stale expectation loses"
    );
    assert_eq!(
        store.current_task(t, ds, TASK_RAPTOR).await.expect("get"),
        Some("a".into())
    );
    assert!(store
        .swap_current_task(t, ds, TASK_RAPTOR, Some("a"), "b")
        .await
        .expect("swap"));
    assert_eq!(
        store.current_task(t, ds, TASK_RAPTOR).await.expect("get"),
        Some("b".into())
    );
    // Types and datasets are separate slots.
    assert_eq!(
        store.current_task(t, ds, TASK_GRAPHRAG).await.expect("get"),
        None
    );
    assert_eq!(
        store
            .current_task(t, "ds2", TASK_RAPTOR)
            .await
            .expect("get"),
        None
    );
    assert!(store
        .swap_current_task(t, ds, TASK_GRAPHRAG, None, "g")
        .await
        .expect("swap"));
    assert_eq!(
        store.current_task(t, ds, TASK_RAPTOR).await.expect("get"),
        Some("b".into())
    );
}

async fn isolation(store: &dyn DatasetTaskStore) {
    let mine = sample_task("iso-a", "ds");
    store.insert_task(&mine).await.expect("insert");
    assert_eq!(
        store.get_task("iso-b", &mine.id).await.expect("get"),
        None,
        "another tenant cannot read it"
    );
    assert!(
        !store.delete_task("iso-b", &mine.id).await.expect("delete"),
        "another tenant cannot delete it"
    );
    let mut theirs = mine.clone();
    theirs.tenant_id = "iso-b".into();
    theirs.progress = -1.0;
    assert!(
        matches!(
            store.update_task(&theirs).await,
            Err(StoreError::NotFound(_))
        ),
        "another tenant cannot overwrite it"
    );
    assert_eq!(
        store.get_task("iso-a", &mine.id).await.expect("get"),
        Some(mine.clone())
    );
    assert!(store
        .swap_current_task("iso-a", "ds", TASK_RAPTOR, None, &mine.id)
        .await
        .expect("swap"));
    assert_eq!(
        store
            .current_task("iso-b", "ds", TASK_RAPTOR)
            .await
            .expect("get"),
        None,
        "another tenant's dataset of the same id has no current task"
    );
}
