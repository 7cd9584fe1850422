//! Updates and worker progress (generations, DONE is final, count-only updates).

use serde_json::json;

use super::*;

pub(super) async fn updates(store: &dyn DocumentStore) {
    let (t, ds) = (new_id(), new_id());
    let mut a = sample_document(&t, &ds, "one.txt");
    let b = sample_document(&t, &ds, "two.txt");
    store.insert_document(&a).await.expect("insert a");
    store.insert_document(&b).await.expect("insert b");

    a.name = "Three.txt".into();
    a.parser_config = json!({"chunk_token_num": 128});
    a.meta_fields = json!({"k": ["v"]});
    a.status = "0".into();
    a.generation = 2;
    a.update_time = now_ms();
    store.update_document(&a).await.expect("rename");
    assert_eq!(
        get(store, &a).await,
        Some(a.clone()),
        "an update replaces the whole record"
    );
    assert!(
        store
            .find_document_by_name(&t, &ds, "one.txt")
            .await
            .expect("find")
            .is_none(),
        "a rename frees the old name"
    );
    assert_eq!(
        store
            .find_document_by_name(&t, &ds, "three.TXT")
            .await
            .expect("find")
            .map(|d| d.id),
        Some(a.id.clone()),
        "a rename takes the new name"
    );
    store
        .insert_document(&sample_document(&t, &ds, "ONE.txt"))
        .await
        .expect("the old name is free again");
    let mut clash = a.clone();
    clash.name = "two.txt".into();
    assert!(
        matches!(
            store.update_document(&clash).await,
            Err(StoreError::Conflict(_))
        ),
        "renaming onto another document's name must conflict"
    );
    assert_eq!(
        get(store, &a).await.map(|d| d.name),
        Some("Three.txt".into()),
        "a conflicting rename changes nothing"
    );
    a.name = "THREE.txt".into();
    store
        .update_document(&a)
        .await
        .expect("a case-only rename of itself is fine");
    let mut ghost = sample_document(&t, &ds, "ghost.txt");
    assert!(
        matches!(
            store.update_document(&ghost).await,
            Err(StoreError::NotFound(_))
        ),
        "updating a missing document must be NotFound"
    );
    ghost.id = a.id.clone();
    ghost.dataset_id = new_id();
    assert!(
        matches!(
            store.update_document(&ghost).await,
            Err(StoreError::NotFound(_))
        ),
        "a document is matched by dataset as well as id"
    );

    // Names differing only in case may coexist; lookups prefer the exact name.
    a.name = "TWO.txt".into();
    store
        .update_document(&a)
        .await
        .expect("a rename onto another document's name in other case is fine");
    let found = |name: &'static str| {
        let (t, ds) = (t.clone(), ds.clone());
        async move {
            store
                .find_document_by_name(&t, &ds, name)
                .await
                .expect("find")
                .map(|d| d.id)
        }
    };
    assert_eq!(
        found("two.txt").await,
        Some(b.id.clone()),
        "the exact name first"
    );
    assert_eq!(
        found("TWO.txt").await,
        Some(a.id.clone()),
        "the exact name first"
    );
    assert!(
        [Some(a.id.clone()), Some(b.id.clone())].contains(&found("Two.TXT").await),
        "another case finds a twin"
    );
    assert!(
        matches!(
            store
                .insert_document(&sample_document(&t, &ds, "TWO.txt"))
                .await,
            Err(StoreError::Conflict(_))
        ),
        "a twin's exact name is taken"
    );
    let c = sample_document(&t, &ds, "tWo.txt");
    store
        .insert_document(&c)
        .await
        .expect("a third case of the name is free");
    a.name = "four.txt".into();
    store.update_document(&a).await.expect("rename away");
    assert!(found("TWO.txt").await.is_some(), "twins remain");
    assert_ne!(
        found("TWO.txt").await,
        Some(a.id.clone()),
        "the old name is released"
    );
    store
        .insert_document(&sample_document(&t, &ds, "TWO.txt"))
        .await
        .expect("the released exact name is free again");
}

pub(super) async fn progress(store: &dyn DocumentStore) {
    let (t, ds) = (new_id(), new_id());
    let mut a = sample_document(&t, &ds, "parse-me.txt");
    a.generation = 3;
    store.insert_document(&a).await.expect("insert");
    let step = |msg: &str, chunks: i64| ProgressUpdate {
        run: Some(RunStatus::Running),
        progress: Some(0.5),
        append_msg: Some(msg.into()),
        chunk_count: Some(chunks),
        token_count: Some(chunks * 10),
        ..Default::default()
    };
    assert!(
        !store
            .apply_progress(&t, &ds, &a.id, 2, &step("stale", 9))
            .await
            .expect("stale"),
        "progress from another generation is not applied"
    );
    assert_eq!(
        get(store, &a)
            .await
            .map(|d| (d.run, d.progress_msg, d.chunk_count)),
        Some((RunStatus::Unstart, String::new(), 0)),
        "a stale update changes nothing"
    );
    let begin = now_ms();
    let first = ProgressUpdate {
        process_begin_at: Some(begin),
        ..step("one", 1)
    };
    assert!(store
        .apply_progress(&t, &ds, &a.id, 3, &first)
        .await
        .expect("apply"));
    assert!(store
        .apply_progress(&t, &ds, &a.id, 3, &step("two", 4))
        .await
        .expect("apply"));
    let got = get(store, &a).await.expect("exists");
    assert_eq!(
        got.progress_msg, "one\ntwo",
        "messages are appended as lines"
    );
    assert_eq!(
        (got.run, got.progress, got.chunk_count, got.token_count),
        (RunStatus::Running, 0.5, 4, 40)
    );
    assert_eq!(
        got.process_begin_at,
        Some(begin),
        "fields an update leaves out keep their value"
    );
    let done = ProgressUpdate {
        run: Some(RunStatus::Done),
        progress: Some(1.0),
        process_duration: Some(2.25),
        ..Default::default()
    };
    assert!(store
        .apply_progress(&t, &ds, &a.id, 3, &done)
        .await
        .expect("apply"));
    let got = get(store, &a).await.expect("exists");
    assert_eq!(
        (
            got.run,
            got.progress,
            got.process_duration,
            got.progress_msg.as_str(),
            got.chunk_count,
            got.token_count,
            got.process_begin_at,
        ),
        (RunStatus::Done, 1.0, 2.25, "one\ntwo", 4, 40, Some(begin)),
        "an update without a message or counts keeps them"
    );
    assert_eq!(
        (
            got.name.as_str(),
            &got.parser_config,
            got.generation,
            got.create_time
        ),
        (a.name.as_str(), &a.parser_config, 3, a.create_time),
        "progress touches only progress fields"
    );
    assert!(
        got.update_time >= a.update_time,
        "update_time never goes back"
    );
    let listed = store
        .list_documents(
            &t,
            &ds,
            &DocumentListQuery {
                runs: vec![RunStatus::Done],
                ..DocumentListQuery::all()
            },
        )
        .await
        .expect("list");
    assert_eq!(listed.1, 1, "the run filter sees progress updates");
    assert_eq!(
        store
            .dataset_stats(&t, &ds)
            .await
            .expect("stats")
            .chunk_count,
        4,
        "stats see progress updates"
    );
    // A duplicate delivery of the same task, still running after the first one finished.
    assert!(
        store
            .apply_progress(&t, &ds, &a.id, 3, &step("duplicate", 7))
            .await
            .expect("after done"),
        "an update after DONE counts as applied (its chunks stay)"
    );
    assert_eq!(
        get(store, &a)
            .await
            .map(|d| (d.run, d.progress, d.progress_msg, d.chunk_count)),
        Some((RunStatus::Done, 1.0, "one\ntwo".to_string(), 4)),
        "DONE is final for its generation"
    );
    let by_hand = ProgressUpdate {
        chunk_count: Some(5),
        token_count: Some(50),
        ..Default::default()
    };
    assert!(store
        .apply_progress(&t, &ds, &a.id, 3, &by_hand)
        .await
        .expect("counts"));
    assert_eq!(
        get(store, &a)
            .await
            .map(|d| (d.run, d.chunk_count, d.token_count)),
        Some((RunStatus::Done, 5, 50)),
        "a count-only update (a chunk added by hand) applies to a DONE document"
    );
    assert!(
        !store
            .apply_progress(&t, &ds, &new_id(), 3, &step("ghost", 1))
            .await
            .expect("missing"),
        "progress on a missing document is not applied"
    );
    assert!(
        !store
            .apply_progress(&new_id(), &ds, &a.id, 3, &step("other tenant", 1))
            .await
            .expect("other tenant"),
        "another tenant cannot apply progress"
    );
    assert!(
        !store
            .apply_progress(&t, &new_id(), &a.id, 3, &step("other dataset", 1))
            .await
            .expect("other dataset"),
        "progress is matched by dataset as well as id"
    );
    // A re-parse bumps the generation: the old worker's late progress is dropped.
    let mut reparse = get(store, &a).await.expect("exists");
    reparse.generation = 4;
    reparse.run = RunStatus::Running;
    reparse.progress_msg = String::new();
    store.update_document(&reparse).await.expect("reparse");
    assert!(!store
        .apply_progress(&t, &ds, &a.id, 3, &step("late", 99))
        .await
        .expect("late"));
    assert!(store
        .apply_progress(&t, &ds, &a.id, 4, &step("fresh", 1))
        .await
        .expect("fresh"));
    assert_eq!(
        get(store, &a).await.map(|d| d.progress_msg),
        Some("fresh".into()),
        "the first message after a reset has no leading newline"
    );
}
