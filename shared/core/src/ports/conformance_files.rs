//! The file-store conformance suite. Every adapter's tests call `run_all` on a fresh, empty
//! store; a failure panics with the rule that was broken.

use crate::contract::error::StoreError;
use crate::contract::ids::new_id;
use crate::contract::time::now_ms;
use crate::ports::files::{FileLink, FileRecord, FileStore, ROOT_NAME, TYPE_FOLDER};

pub async fn run_all(store: &dyn FileStore) {
    roots(store).await;
    rows(store).await;
    big_folder(store).await;
    names(store).await;
    updates(store).await;
    links(store).await;
    isolation(store).await;
}

/// A row with every field set to something that must round-trip.
pub fn sample_file(tenant_id: &str, parent_id: &str, name: &str, file_type: &str) -> FileRecord {
    let now = now_ms();
    FileRecord {
        id: new_id(),
        parent_id: parent_id.into(),
        tenant_id: tenant_id.into(),
        created_by: tenant_id.into(),
        name: name.into(),
        file_type: file_type.into(),
        location: if file_type == TYPE_FOLDER {
            String::new()
        } else {
            format!("files/{}", new_id())
        },
        size: 17,
        source_type: String::new(),
        create_time: now,
        update_time: now,
    }
}

pub fn sample_root(tenant_id: &str) -> FileRecord {
    let mut root = sample_file(tenant_id, "", ROOT_NAME, TYPE_FOLDER);
    root.parent_id = root.id.clone();
    root.size = 0;
    root
}

fn sample_link(tenant_id: &str, file_id: &str) -> FileLink {
    let now = now_ms();
    FileLink {
        id: new_id(),
        tenant_id: tenant_id.into(),
        file_id: file_id.into(),
        document_id: new_id(),
        dataset_id: new_id(),
        create_time: now,
        update_time: now,
    }
}

async fn roots(store: &dyn FileStore) {
    let t = new_id();
    let first = sample_root(&t);
    let got = store.ensure_root(&first).await.expect("ensure root");
    assert_eq!(got, first, "the first candidate becomes the root");
    let second = sample_root(&t);
    let again = store.ensure_root(&second).await.expect("ensure again");
    assert_eq!(again, first, "a later candidate gets the existing root");
    assert_eq!(
        store.get_file(&t, &first.id).await.expect("get root"),
        Some(first.clone()),
        "the root is a row like any other"
    );
    assert_eq!(
        store.get_file(&t, &second.id).await.expect("get loser"),
        None,
        "a losing candidate is not stored"
    );
    assert!(
        store
            .list_children(&t, &first.id)
            .await
            .expect("list")
            .is_empty(),
        "the root is not its own child"
    );
}

async fn rows(store: &dyn FileStore) {
    let t = new_id();
    let root = store.ensure_root(&sample_root(&t)).await.expect("root");
    let folder = sample_file(&t, &root.id, "docs ü", TYPE_FOLDER);
    store.insert_file(&folder).await.expect("insert folder");
    let file = sample_file(&t, &folder.id, "a.txt", "doc");
    store.insert_file(&file).await.expect("insert file");
    assert_eq!(
        store.get_file(&t, &file.id).await.expect("get"),
        Some(file.clone()),
        "a row reads back as written"
    );
    assert!(
        matches!(store.insert_file(&file).await, Err(StoreError::Conflict(_))),
        "an id cannot be inserted twice"
    );
    let mut kids = store.list_children(&t, &root.id).await.expect("list root");
    kids.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(kids, vec![folder.clone()], "children of the root");
    let kids = store.list_children(&t, &folder.id).await.expect("list");
    assert_eq!(kids, vec![file.clone()], "children of a folder");
    assert!(store.delete_file(&t, &file.id).await.expect("delete"));
    assert!(
        !store.delete_file(&t, &file.id).await.expect("delete again"),
        "a second delete reports nothing deleted"
    );
    assert_eq!(store.get_file(&t, &file.id).await.expect("get"), None);
    assert!(
        store
            .list_children(&t, &folder.id)
            .await
            .expect("list")
            .is_empty(),
        "a deleted row is no longer listed"
    );
}

/// A folder of many entries (past one batch of a store that reads children in batches),
/// beside another folder: each lists exactly its own, `#` in names included.
async fn big_folder(store: &dyn FileStore) {
    let t = new_id();
    let root = store.ensure_root(&sample_root(&t)).await.expect("root");
    let big = sample_file(&t, &root.id, "big", TYPE_FOLDER);
    store.insert_file(&big).await.expect("insert folder");
    let small = sample_file(&t, &root.id, "big#2", TYPE_FOLDER);
    store.insert_file(&small).await.expect("insert folder");
    let mut expected = Vec::new();
    for i in 0..130 {
        let f = sample_file(&t, &big.id, &format!("f#{i}.txt"), "doc");
        store.insert_file(&f).await.expect("insert file");
        expected.push(f.id);
    }
    let other = sample_file(&t, &small.id, "f#0.txt", "doc");
    store.insert_file(&other).await.expect("insert file");
    let mut listed: Vec<String> = store
        .list_children(&t, &big.id)
        .await
        .expect("list")
        .into_iter()
        .map(|f| f.id)
        .collect();
    listed.sort();
    expected.sort();
    assert_eq!(
        listed, expected,
        "a large folder lists every child, and only its own"
    );
    let kids = store.list_children(&t, &small.id).await.expect("list");
    assert_eq!(
        kids,
        vec![other],
        "a sibling folder lists its own child only"
    );
}

async fn names(store: &dyn FileStore) {
    let t = new_id();
    let root = store.ensure_root(&sample_root(&t)).await.expect("root");
    let a = sample_file(&t, &root.id, "same.txt", "doc");
    store.insert_file(&a).await.expect("insert");
    let twin = sample_file(&t, &root.id, "same.txt", "doc");
    assert!(
        matches!(store.insert_file(&twin).await, Err(StoreError::Conflict(_))),
        "a folder cannot hold one name twice"
    );
    let case = sample_file(&t, &root.id, "SAME.txt", "doc");
    store
        .insert_file(&case)
        .await
        .expect("names differing in case may coexist");
    let folder = sample_file(&t, &root.id, "sub", TYPE_FOLDER);
    store.insert_file(&folder).await.expect("folder");
    let elsewhere = sample_file(&t, &folder.id, "same.txt", "doc");
    store
        .insert_file(&elsewhere)
        .await
        .expect("the same name in another folder");
    assert_eq!(
        store
            .find_child(&t, &root.id, "same.txt")
            .await
            .expect("find"),
        Some(a.clone())
    );
    assert_eq!(
        store
            .find_child(&t, &folder.id, "same.txt")
            .await
            .expect("find"),
        Some(elsewhere.clone())
    );
    assert_eq!(
        store.find_child(&t, &root.id, "none").await.expect("find"),
        None
    );
    // Deleting frees the name.
    assert!(store.delete_file(&t, &a.id).await.expect("delete"));
    store
        .insert_file(&twin)
        .await
        .expect("a deleted row's name is free again");
    assert_eq!(
        store
            .find_child(&t, &root.id, "same.txt")
            .await
            .expect("find"),
        Some(twin)
    );
}

async fn updates(store: &dyn FileStore) {
    let t = new_id();
    let root = store.ensure_root(&sample_root(&t)).await.expect("root");
    let a = sample_file(&t, &root.id, "a.txt", "doc");
    let b = sample_file(&t, &root.id, "b.txt", "doc");
    let dir = sample_file(&t, &root.id, "dir", TYPE_FOLDER);
    for f in [&a, &b, &dir] {
        store.insert_file(f).await.expect("insert");
    }
    let mut renamed = a.clone();
    renamed.name = "c.txt".into();
    store.update_file(&renamed).await.expect("rename");
    assert_eq!(
        store.get_file(&t, &a.id).await.expect("get"),
        Some(renamed.clone())
    );
    assert_eq!(
        store.find_child(&t, &root.id, "a.txt").await.expect("find"),
        None,
        "a rename frees the old name"
    );
    store
        .insert_file(&sample_file(&t, &root.id, "a.txt", "doc"))
        .await
        .expect("the old name is usable again");
    let mut clash = renamed.clone();
    clash.name = "b.txt".into();
    assert!(
        matches!(
            store.update_file(&clash).await,
            Err(StoreError::Conflict(_))
        ),
        "a rename onto a taken name conflicts"
    );
    assert_eq!(
        store.get_file(&t, &a.id).await.expect("get"),
        Some(renamed.clone()),
        "a refused rename changes nothing"
    );
    let mut moved = renamed.clone();
    moved.parent_id = dir.id.clone();
    moved.name = "b.txt".into();
    store
        .update_file(&moved)
        .await
        .expect("a taken name in another folder is fine");
    assert_eq!(
        store.list_children(&t, &dir.id).await.expect("list"),
        vec![moved.clone()],
        "a moved row is listed under its new parent"
    );
    assert!(
        !store
            .list_children(&t, &root.id)
            .await
            .expect("list")
            .iter()
            .any(|f| f.id == a.id),
        "and no longer under its old one"
    );
    let mut same = moved.clone();
    same.size = 99;
    store
        .update_file(&same)
        .await
        .expect("an update keeping the name is no conflict with itself");
    let ghost = sample_file(&t, &root.id, "ghost.txt", "doc");
    assert!(
        matches!(
            store.update_file(&ghost).await,
            Err(StoreError::NotFound(_))
        ),
        "updating a missing row is NotFound"
    );
}

async fn links(store: &dyn FileStore) {
    let t = new_id();
    let file = new_id();
    let l1 = sample_link(&t, &file);
    let l2 = sample_link(&t, &file);
    let other = sample_link(&t, &new_id());
    for l in [&l1, &l2, &other] {
        store.insert_link(l).await.expect("insert link");
    }
    assert!(
        matches!(store.insert_link(&l1).await, Err(StoreError::Conflict(_))),
        "a file is linked to a document once"
    );
    let mut got = store.links_of_file(&t, &file).await.expect("links");
    got.sort_by(|a, b| a.id.cmp(&b.id));
    let mut want = vec![l1.clone(), l2.clone()];
    want.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(got, want, "a file's links, and only its own");
    assert!(store
        .delete_link(&t, &file, &l1.document_id)
        .await
        .expect("delete link"));
    assert!(
        !store
            .delete_link(&t, &file, &l1.document_id)
            .await
            .expect("delete again"),
        "a second delete reports nothing deleted"
    );
    assert_eq!(
        store.links_of_file(&t, &file).await.expect("links"),
        vec![l2]
    );
}

async fn isolation(store: &dyn FileStore) {
    let t1 = new_id();
    let t2 = new_id();
    let r1 = store.ensure_root(&sample_root(&t1)).await.expect("root 1");
    let r2 = store.ensure_root(&sample_root(&t2)).await.expect("root 2");
    assert_ne!(r1.id, r2.id, "each tenant has its own root");
    let f = sample_file(&t1, &r1.id, "secret.txt", "doc");
    store.insert_file(&f).await.expect("insert");
    assert_eq!(
        store.get_file(&t2, &f.id).await.expect("get"),
        None,
        "another tenant cannot read a row by id"
    );
    assert!(
        store
            .list_children(&t2, &r1.id)
            .await
            .expect("list")
            .is_empty(),
        "another tenant cannot list a folder it does not own"
    );
    assert_eq!(
        store
            .find_child(&t2, &r1.id, "secret.txt")
            .await
            .expect("find"),
        None
    );
    let mut stolen = f.clone();
    stolen.tenant_id = t2.clone();
    stolen.name = "mine.txt".into();
    assert!(
        matches!(
            store.update_file(&stolen).await,
            Err(StoreError::NotFound(_))
        ),
        "another tenant cannot update a row"
    );
    assert!(
        !store.delete_file(&t2, &f.id).await.expect("delete"),
        "another tenant cannot delete a row"
    );
    assert_eq!(
        store.get_file(&t1, &f.id).await.expect("get"),
        Some(f.clone()),
        "the owner's row is untouched"
    );
    let link = sample_link(&t1, &f.id);
    store.insert_link(&link).await.expect("link");
    assert!(store
        .links_of_file(&t2, &f.id)
        .await
        .expect("links")
        .is_empty());
    assert!(!store
        .delete_link(&t2, &f.id, &link.document_id)
        .await
        .expect("delete link"));
    assert_eq!(
        store.links_of_file(&t1, &f.id).await.expect("links"),
        vec![link]
    );
}
