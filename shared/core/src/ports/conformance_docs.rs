//! The document-store conformance suite. Every adapter's tests call `run_all` on a fresh,
//! empty store; a failure panics with the rule that was broken.
//!
//! Listings are checked against `DocumentListQuery::apply`, the reference semantics, on the
//! set of documents the suite wrote, plus explicit cases that pin the subtle rules.

use serde_json::json;

use crate::contract::error::StoreError;
use crate::contract::ids::new_id;
use crate::contract::time::now_ms;
use crate::domain::{Document, DocumentListQuery, DocumentOrder, ProgressUpdate, RunStatus};
use crate::ports::{DatasetStats, DocumentStore};

pub async fn run_all(store: &dyn DocumentStore) {
    basics(store).await;
    listing(store).await;
    updates(store).await;
    progress(store).await;
    deletes(store).await;
    stats(store).await;
    isolation(store).await;
    get_many(store).await;
}

/// A document with every field set to something that must round-trip.
pub fn sample_document(tenant_id: &str, dataset_id: &str, name: &str) -> Document {
    let now = now_ms();
    let suffix = name
        .rsplit_once('.')
        .map(|(_, s)| s.to_lowercase())
        .unwrap_or_default();
    Document {
        id: new_id(),
        tenant_id: tenant_id.into(),
        dataset_id: dataset_id.into(),
        name: name.into(),
        location: format!("{dataset_id}/{name}"),
        size: 1234,
        suffix,
        doc_type: "doc".into(),
        chunk_method: "naive".into(),
        pipeline_id: None,
        parser_config: json!({"chunk_token_num": 512, "delimiter": "\\n", "nested": {"a": [1, 2.5]}}),
        source_type: "local".into(),
        created_by: tenant_id.into(),
        thumbnail: None,
        token_count: 0,
        chunk_count: 0,
        progress: 0.0,
        progress_msg: String::new(),
        process_begin_at: None,
        process_duration: 0.0,
        meta_fields: json!({"author": "ü", "year": 2024}),
        run: RunStatus::Unstart,
        status: "1".into(),
        create_time: now,
        update_time: now,
        generation: 0,
    }
}

async fn get(store: &dyn DocumentStore, d: &Document) -> Option<Document> {
    store
        .get_document(&d.tenant_id, &d.dataset_id, &d.id)
        .await
        .expect("get_document")
}

async fn basics(store: &dyn DocumentStore) {
    let (t, ds, ds2) = (new_id(), new_id(), new_id());
    let mut a = sample_document(&t, &ds, "Report.PDF");
    a.thumbnail = Some("data:image/png;base64,AAAA".into());
    a.pipeline_id = Some(new_id());
    a.process_begin_at = Some(now_ms());
    a.progress = 0.123_456_789_012_345_67;
    a.generation = 7;
    store.insert_document(&a).await.expect("insert");
    assert_eq!(
        get(store, &a).await,
        Some(a.clone()),
        "a document reads back exactly as written"
    );
    let mut same_id = sample_document(&t, &ds, "other.txt");
    same_id.id = a.id.clone();
    assert!(
        matches!(
            store.insert_document(&same_id).await,
            Err(StoreError::Conflict(_))
        ),
        "inserting an existing document id must conflict"
    );
    assert!(
        matches!(
            store
                .insert_document(&sample_document(&t, &ds, "Report.PDF"))
                .await,
            Err(StoreError::Conflict(_))
        ),
        "an exact name must conflict within a dataset"
    );
    store
        .insert_document(&sample_document(&t, &ds2, "report.pdf"))
        .await
        .expect("the same name in another dataset is fine");
    store
        .insert_document(&sample_document(&new_id(), &ds, "REPORT.pdf"))
        .await
        .expect("the same name and dataset id under another tenant is fine");
    assert_eq!(
        store
            .find_document_by_name(&t, &ds, "rEpOrT.pdf")
            .await
            .expect("find")
            .map(|d| d.id),
        Some(a.id.clone()),
        "name lookup is case-insensitive"
    );
    assert!(
        store
            .find_document_by_name(&t, &ds, "missing.pdf")
            .await
            .expect("find")
            .is_none(),
        "a missing name finds nothing"
    );
    assert!(
        store
            .get_document(&t, &ds2, &a.id)
            .await
            .expect("get")
            .is_none(),
        "a document is not found under another dataset"
    );
    assert!(
        store
            .get_document(&t, &ds, &new_id())
            .await
            .expect("get")
            .is_none(),
        "a missing id finds nothing"
    );
}

fn ids(docs: &[Document]) -> Vec<String> {
    docs.iter().map(|d| d.id.clone()).collect()
}

async fn check_listing(
    store: &dyn DocumentStore,
    t: &str,
    ds: &str,
    local: &[Document],
    q: &DocumentListQuery,
) -> (Vec<Document>, u64) {
    let got = store.list_documents(t, ds, q).await.expect("list");
    let want = q.apply(local.to_vec());
    assert_eq!(
        (ids(&got.0), got.1),
        (ids(&want.0), want.1),
        "list_documents must follow DocumentListQuery::apply for {q:?}"
    );
    assert_eq!(got.0, want.0, "listed documents read back exactly");
    got
}

async fn count_of(store: &dyn DocumentStore, t: &str, ds: &str, q: DocumentListQuery) -> u64 {
    store.list_documents(t, ds, &q).await.expect("list").1
}

async fn listing(store: &dyn DocumentStore) {
    let (t, ds) = (new_id(), new_id());
    let base = now_ms();
    // (name, create offset, size, run): two share a create_time and two share a size so the
    // id tie-break is exercised.
    let specs: [(&str, i64, i64, RunStatus); 7] = [
        ("alpha.pdf", 0, 500, RunStatus::Done),
        ("Beta.txt", 10, 100, RunStatus::Unstart),
        ("gamma report.docx", 20, 300, RunStatus::Running),
        ("delta.PDF.txt", 20, 300, RunStatus::Fail),
        ("Epsilon.md", 30, 50, RunStatus::Cancel),
        ("zeta-report.pdf", 40, 700, RunStatus::Done),
        ("ÄÖÜ umlaut.txt", 50, 10, RunStatus::Unstart),
    ];
    let mut local = vec![];
    for (name, offset, size, run) in specs {
        let mut d = sample_document(&t, &ds, name);
        d.create_time = base + offset;
        d.update_time = base + 100 - offset;
        d.size = size;
        d.run = run;
        store.insert_document(&d).await.expect("insert");
        local.push(d);
    }
    // Noise the listing must never show: another dataset and another tenant.
    store
        .insert_document(&sample_document(&t, &new_id(), "alpha.pdf"))
        .await
        .expect("insert other dataset");
    store
        .insert_document(&sample_document(&new_id(), &ds, "alpha.pdf"))
        .await
        .expect("insert other tenant");

    let all = DocumentListQuery::all();
    let (page, total) = check_listing(store, &t, &ds, &local, &all).await;
    assert_eq!((page.len(), total), (7, 7), "page_size 0 lists everything");
    assert_eq!(page[0].name, "ÄÖÜ umlaut.txt", "newest first by default");

    for orderby in [
        None,
        Some(DocumentOrder::CreateTime),
        Some(DocumentOrder::UpdateTime),
        Some(DocumentOrder::Name),
        Some(DocumentOrder::Size),
    ] {
        for desc in [true, false] {
            for (page, page_size) in [(1, 0), (1, 3), (2, 3), (3, 3), (4, 3), (0, 2)] {
                let q = DocumentListQuery {
                    orderby,
                    desc,
                    page,
                    page_size,
                    ..DocumentListQuery::all()
                };
                check_listing(store, &t, &ds, &local, &q).await;
            }
        }
    }

    let filters = [
        DocumentListQuery {
            id: Some(local[2].id.clone()),
            ..all.clone()
        },
        DocumentListQuery {
            id: Some(new_id()),
            ..all.clone()
        },
        DocumentListQuery {
            name: Some("Beta.txt".into()),
            ..all.clone()
        },
        DocumentListQuery {
            name: Some("beta.txt".into()),
            ..all.clone()
        },
        DocumentListQuery {
            keywords: Some("REPORT".into()),
            ..all.clone()
        },
        DocumentListQuery {
            keywords: Some("äöü".into()),
            ..all.clone()
        },
        DocumentListQuery {
            keywords: Some("%".into()),
            ..all.clone()
        },
        DocumentListQuery {
            suffixes: vec!["pdf".into(), "md".into()],
            ..all.clone()
        },
        DocumentListQuery {
            runs: vec![RunStatus::Done, RunStatus::Fail],
            ..all.clone()
        },
        DocumentListQuery {
            only_ids: Some(vec![local[0].id.clone(), local[4].id.clone(), new_id()]),
            ..all.clone()
        },
        DocumentListQuery {
            only_ids: Some(vec![]),
            ..all.clone()
        },
        DocumentListQuery {
            create_time_from: Some(base + 20),
            create_time_to: Some(base + 40),
            ..all.clone()
        },
        DocumentListQuery {
            create_time_from: Some(base + 45),
            ..all.clone()
        },
        DocumentListQuery {
            create_time_to: Some(base),
            ..all.clone()
        },
        DocumentListQuery {
            keywords: Some("report".into()),
            suffixes: vec!["pdf".into()],
            runs: vec![RunStatus::Done],
            create_time_from: Some(base + 1),
            page: 1,
            page_size: 1,
            orderby: Some(DocumentOrder::Size),
            desc: false,
            ..all.clone()
        },
    ];
    for q in &filters {
        check_listing(store, &t, &ds, &local, q).await;
    }
    // The rules pinned explicitly, in case `apply` itself drifts.
    assert_eq!(
        count_of(
            store,
            &t,
            &ds,
            DocumentListQuery {
                only_ids: Some(vec![]),
                ..all.clone()
            }
        )
        .await,
        0,
        "only_ids = Some(empty) matches nothing"
    );
    assert_eq!(
        count_of(
            store,
            &t,
            &ds,
            DocumentListQuery {
                name: Some("beta.txt".into()),
                ..all.clone()
            }
        )
        .await,
        0,
        "the name filter is exact"
    );
    assert_eq!(
        count_of(
            store,
            &t,
            &ds,
            DocumentListQuery {
                keywords: Some("REPORT".into()),
                ..all.clone()
            }
        )
        .await,
        2,
        "keywords is a case-insensitive substring of the name"
    );
    assert_eq!(
        count_of(
            store,
            &t,
            &ds,
            DocumentListQuery {
                create_time_from: Some(base + 20),
                create_time_to: Some(base + 20),
                ..all.clone()
            }
        )
        .await,
        2,
        "create_time bounds are inclusive"
    );
    let (page, total) = store
        .list_documents(
            &t,
            &ds,
            &DocumentListQuery {
                page: 3,
                page_size: 3,
                ..all.clone()
            },
        )
        .await
        .expect("list");
    assert_eq!(
        (page.len(), total),
        (1, 7),
        "the total counts every match, not the page"
    );
    assert!(
        store
            .list_documents(&t, &new_id(), &all)
            .await
            .expect("list")
            .0
            .is_empty(),
        "an unknown dataset lists nothing"
    );
}

async fn updates(store: &dyn DocumentStore) {
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

async fn progress(store: &dyn DocumentStore) {
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

async fn deletes(store: &dyn DocumentStore) {
    let (t, ds) = (new_id(), new_id());
    let a = sample_document(&t, &ds, "gone.txt");
    let b = sample_document(&t, &ds, "stays.txt");
    store.insert_document(&a).await.expect("insert");
    store.insert_document(&b).await.expect("insert");
    assert!(
        !store
            .delete_document(&t, &new_id(), &a.id)
            .await
            .expect("delete"),
        "a delete is matched by dataset as well as id"
    );
    assert!(store.delete_document(&t, &ds, &a.id).await.expect("delete"));
    assert!(
        !store
            .delete_document(&t, &ds, &a.id)
            .await
            .expect("delete twice"),
        "deleting twice reports false"
    );
    assert!(get(store, &a).await.is_none());
    assert!(
        store
            .find_document_by_name(&t, &ds, "gone.txt")
            .await
            .expect("find")
            .is_none(),
        "a deleted document's name is free"
    );
    store
        .insert_document(&sample_document(&t, &ds, "GONE.txt"))
        .await
        .expect("the name is reusable after a delete");
    assert!(
        matches!(
            store.update_document(&a).await,
            Err(StoreError::NotFound(_))
        ),
        "updating a deleted document must be NotFound"
    );
    assert!(get(store, &b).await.is_some(), "other documents stay");
}

async fn stats(store: &dyn DocumentStore) {
    let (t, ds, other) = (new_id(), new_id(), new_id());
    assert_eq!(
        store.dataset_stats(&t, &ds).await.expect("stats"),
        DatasetStats::default(),
        "an empty dataset has zero stats"
    );
    for (i, (chunks, tokens)) in [(3, 30), (0, 0), (5, 70)].into_iter().enumerate() {
        let mut d = sample_document(&t, &ds, &format!("s{i}.txt"));
        d.chunk_count = chunks;
        d.token_count = tokens;
        store.insert_document(&d).await.expect("insert");
    }
    let mut o = sample_document(&t, &other, "o.txt");
    o.chunk_count = 100;
    o.token_count = 1000;
    store.insert_document(&o).await.expect("insert");
    let mut foreign = sample_document(&new_id(), &ds, "f.txt");
    foreign.chunk_count = 100;
    store.insert_document(&foreign).await.expect("insert");
    assert_eq!(
        store.dataset_stats(&t, &ds).await.expect("stats"),
        DatasetStats {
            document_count: 3,
            chunk_count: 8,
            token_num: 100
        },
        "stats sum one dataset's documents of one tenant"
    );
    assert_eq!(
        store
            .dataset_stats(&t, &other)
            .await
            .expect("stats")
            .document_count,
        1
    );
}

async fn isolation(store: &dyn DocumentStore) {
    let (a_t, b_t, ds) = (new_id(), new_id(), new_id());
    let a = sample_document(&a_t, &ds, "secret.txt");
    store.insert_document(&a).await.expect("insert");
    assert!(
        store
            .get_document(&b_t, &ds, &a.id)
            .await
            .expect("get")
            .is_none(),
        "tenant B cannot read tenant A's document"
    );
    assert!(
        store
            .find_document_by_name(&b_t, &ds, "secret.txt")
            .await
            .expect("find")
            .is_none(),
        "tenant B cannot find tenant A's document by name"
    );
    assert_eq!(
        store
            .list_documents(&b_t, &ds, &DocumentListQuery::all())
            .await
            .expect("list")
            .1,
        0,
        "tenant B lists none of tenant A's documents"
    );
    let mut hijack = a.clone();
    hijack.tenant_id = b_t.clone();
    hijack.name = "stolen.txt".into();
    assert!(
        matches!(
            store.update_document(&hijack).await,
            Err(StoreError::NotFound(_))
        ),
        "tenant B cannot update tenant A's document"
    );
    assert!(
        !store
            .delete_document(&b_t, &ds, &a.id)
            .await
            .expect("delete"),
        "tenant B cannot delete tenant A's document"
    );
    assert_eq!(
        store.dataset_stats(&b_t, &ds).await.expect("stats"),
        DatasetStats::default(),
        "tenant B's stats never count tenant A's documents"
    );
    assert_eq!(
        get(store, &a).await,
        Some(a.clone()),
        "tenant A's document is untouched"
    );
}

/// `get_documents`, as retrieval uses it: one call for a candidate window's documents.
async fn get_many(store: &dyn DocumentStore) {
    let (t, other, ds1, ds2, ds3) = (new_id(), new_id(), new_id(), new_id(), new_id());
    let a = sample_document(&t, &ds1, "a.txt");
    let b = sample_document(&t, &ds1, "b.txt");
    let c = sample_document(&t, &ds2, "c.txt");
    let outside = sample_document(&t, &ds3, "outside.txt");
    let foreign = sample_document(&other, &ds1, "foreign.txt");
    // Another tenant's document under the same dataset id and document id as `a`.
    let mut twin = sample_document(&other, &ds1, "twin.txt");
    twin.id = a.id.clone();
    for d in [&a, &b, &c, &outside, &foreign, &twin] {
        store.insert_document(d).await.expect("insert");
    }
    let by_id = |mut v: Vec<Document>| {
        v.sort_by(|x, y| x.id.cmp(&y.id));
        v
    };
    let fetch = |tenant: String, datasets: Vec<String>, ids: Vec<String>| async move {
        by_id(
            store
                .get_documents(&tenant, &datasets, &ids)
                .await
                .expect("get_documents"),
        )
    };
    let mine = by_id(vec![a.clone(), b.clone(), c.clone()]);
    let asked = vec![ds1.clone(), ds2.clone()];

    assert_eq!(
        fetch(
            t.clone(),
            asked.clone(),
            vec![
                a.id.clone(),
                c.id.clone(),
                new_id(),
                outside.id.clone(),
                foreign.id.clone(),
                a.id.clone(),
                b.id.clone(),
            ],
        )
        .await,
        mine,
        "get_documents returns the tenant's documents with these ids across the datasets, \
         exactly as written and each once; missing ids, other datasets and other tenants' \
         documents are left out"
    );
    assert_eq!(
        fetch(
            other.clone(),
            asked.clone(),
            vec![a.id.clone(), c.id.clone(), foreign.id.clone()],
        )
        .await,
        by_id(vec![twin.clone(), foreign.clone()]),
        "another tenant asking for the same ids gets only its own documents"
    );
    assert!(
        fetch(t.clone(), asked.clone(), vec![]).await.is_empty(),
        "no ids find nothing"
    );
    assert!(
        fetch(t.clone(), vec![], vec![a.id.clone()])
            .await
            .is_empty(),
        "no datasets find nothing"
    );
    assert_eq!(
        fetch(
            t.clone(),
            vec![ds2.clone(), ds1.clone(), ds2.clone()],
            vec![a.id.clone(), c.id.clone()],
        )
        .await,
        by_id(vec![a.clone(), c.clone()]),
        "a dataset named twice is searched once"
    );
    // More ids than one backend request takes (DynamoDB's BatchGetItem: 100 keys).
    let mut many: Vec<String> = (0..150).map(|_| new_id()).collect();
    many.extend([b.id.clone(), a.id.clone(), c.id.clone()]);
    assert_eq!(
        fetch(t.clone(), asked.clone(), many).await,
        mine,
        "a long id list finds the same documents"
    );
    assert!(
        store
            .delete_document(&t, &ds1, &b.id)
            .await
            .expect("delete"),
        "b is deleted"
    );
    assert_eq!(
        fetch(t.clone(), asked, vec![a.id.clone(), b.id.clone()]).await,
        vec![a.clone()],
        "a deleted document is no longer found"
    );
}
