//! Listing rules: filters, order and pages against the reference semantics.

use super::*;

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

pub(super) async fn listing(store: &dyn DocumentStore) {
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
