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

mod lifecycle;
mod listing;
use lifecycle::{progress, updates};
use listing::listing;
