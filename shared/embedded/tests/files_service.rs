//! The file manager's service rules on the real embedded adapters: tree, naming, moves,
//! deletes with blobs, and link-to-datasets through the documents upload path.

use bytes::Bytes;

use lambdarag::ports::conformance::sample_dataset;
use lambdarag::services::documents::UploadFile;
use lambdarag::services::files::{self, FileError, Gen};
use lambdarag::AppState;

fn up(name: &str, body: &str) -> UploadFile {
    UploadFile {
        name: name.into(),
        bytes: Bytes::from(body.to_string()),
    }
}

/// A one-id batch.
fn one(id: &str) -> Vec<String> {
    vec![id.to_string()]
}

fn msg(e: FileError) -> String {
    e.to_string()
}

async fn state() -> (tempfile::TempDir, AppState) {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = lambdarag_embedded::open(dir.path()).expect("open");
    (dir, e.state)
}

#[tokio::test]
async fn tree_naming_moves_and_deletes() {
    let (_dir, s) = state().await;
    let t = "tenant-a";
    let root = files::root_folder(&s, t).await.expect("root");
    assert_eq!(files::root_folder(&s, t).await.expect("again").id, root.id);

    // Upload: dedup `(n)`, paths create folders once.
    let got = files::upload(&s, t, None, vec![up("a.txt", "one"), up("a.txt", "two")])
        .await
        .expect("upload");
    assert_eq!(got[0].name, "a.txt");
    assert_eq!(got[1].name, "a(1).txt");
    let nested = files::upload(&s, t, None, vec![up("x/y/z.md", "deep"), up("x/w.md", "w")])
        .await
        .expect("nested");
    let x = s
        .files
        .find_child(t, &root.id, "x")
        .await
        .unwrap()
        .expect("x");
    assert!(x.is_folder());
    let y = s.files.find_child(t, &x.id, "y").await.unwrap().expect("y");
    assert_eq!(nested[0].parent_id, y.id);
    assert_eq!(
        nested[1].parent_id, x.id,
        "the second upload reuses folder x"
    );

    // Create: duplicates refused, only `folder` makes a folder under the pinned rule.
    let e = files::create(&s, t, "x", None, Some("folder"), Gen::Pinned)
        .await
        .unwrap_err();
    assert_eq!(msg(e), "Duplicated folder name in the same folder.");
    let v = files::create(&s, t, "v", None, Some("FOLDER"), Gen::Pinned)
        .await
        .unwrap();
    assert_eq!(v.file_type, "virtual");
    let v2 = files::create(&s, t, "v2", None, Some("FOLDER"), Gen::V027)
        .await
        .unwrap();
    assert_eq!(v2.file_type, "folder");
    let e = files::create(&s, t, "n", Some("nope"), None, Gen::Pinned)
        .await
        .unwrap_err();
    assert_eq!(msg(e), "Parent Folder Doesn't Exist!");

    // Rename: extension kept, duplicates refused.
    let e = files::rename(&s, t, &got[0].id, "a.pdf").await.unwrap_err();
    assert_eq!(msg(e), "The extension of file can't be changed");
    let e = files::rename(&s, t, &got[0].id, "a(1).txt")
        .await
        .unwrap_err();
    assert_eq!(msg(e), "Duplicated file name in the same folder.");
    files::rename(&s, t, &got[0].id, "b.txt")
        .await
        .expect("rename");

    // Move: into a folder; a folder not into its own subtree; taken names refused.
    files::move_files(&s, t, &one(&got[0].id), Some(&y.id), None, Gen::V027)
        .await
        .expect("move");
    assert_eq!(
        s.files
            .get_file(t, &got[0].id)
            .await
            .unwrap()
            .unwrap()
            .parent_id,
        y.id
    );
    let e = files::move_files(&s, t, &one(&x.id), Some(&y.id), None, Gen::V027)
        .await
        .unwrap_err();
    assert!(matches!(e, FileError::BadRequest(_)));
    let e = files::move_files(&s, t, &["nope".into()], Some(&y.id), None, Gen::Pinned)
        .await
        .unwrap_err();
    assert_eq!(msg(e), "File or Folder not found!");
    let e = files::move_files(&s, t, &one(&got[1].id), Some("nope"), None, Gen::V027)
        .await
        .unwrap_err();
    assert_eq!(msg(e), "Parent folder not found!");
    files::rename(&s, t, &got[1].id, "b.txt")
        .await
        .expect("same name elsewhere is fine");
    let e = files::move_files(&s, t, &one(&got[1].id), Some(&y.id), None, Gen::V027)
        .await
        .unwrap_err();
    assert_eq!(msg(e), "Duplicated file name in the same folder.");

    // A batch move with one taken name moves nothing, not even the sources before it.
    let free = files::upload(&s, t, None, vec![up("free.txt", "f")])
        .await
        .expect("free");
    let c = files::upload(&s, t, None, vec![up("c.txt", "c")])
        .await
        .expect("c");
    files::upload(&s, t, Some(&y.id), vec![up("c.txt", "c2")])
        .await
        .expect("c2");
    let batch = [free[0].id.clone(), c[0].id.clone()];
    let e = files::move_files(&s, t, &batch, Some(&y.id), None, Gen::V027)
        .await
        .unwrap_err();
    assert_eq!(msg(e), "Duplicated file name in the same folder.");
    assert_eq!(
        s.files
            .get_file(t, &free[0].id)
            .await
            .unwrap()
            .unwrap()
            .parent_id,
        root.id
    );

    // Ancestors: the file first, the root last.
    let v = files::parents(&s, t, &got[0].id).await.expect("parents");
    let names: Vec<&str> = v["parent_folders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["b.txt", "y", "x", "/"]);

    // Delete a folder: its subtree and blobs go.
    let z = nested[0].clone();
    assert!(s.blobs.get(t, &z.location).await.unwrap().is_some());
    let n = files::delete_files(&s, t, &one(&x.id))
        .await
        .expect("delete");
    assert_eq!(n, 1);
    for id in [&x.id, &y.id, &z.id, &got[0].id] {
        assert!(s.files.get_file(t, id).await.unwrap().is_none());
    }
    assert!(
        s.blobs.get(t, &z.location).await.unwrap().is_none(),
        "blobs go too"
    );
    let e = files::delete_files(&s, t, &[got[1].id.clone(), "nope".into()])
        .await
        .unwrap_err();
    assert_eq!(msg(e), "File or Folder not found!");
    assert!(
        s.files.get_file(t, &got[1].id).await.unwrap().is_some(),
        "nothing is deleted when one id is unknown"
    );
    let e = files::delete_files(&s, t, &one(&root.id))
        .await
        .unwrap_err();
    assert!(matches!(e, FileError::BadRequest(_)));

    // Another tenant sees none of it.
    let other = "tenant-b";
    let e = files::download(&s, other, &got[1].id).await.unwrap_err();
    assert_eq!(msg(e), "Document not found!");
    let e = files::delete_files(&s, other, &one(&got[1].id))
        .await
        .unwrap_err();
    assert_eq!(msg(e), "File or Folder not found!");
    let e = files::upload(&s, other, Some(&root.id), vec![up("q.txt", "q")])
        .await
        .unwrap_err();
    assert_eq!(msg(e), "Can't find this folder!");
    let d = files::download(&s, t, &got[1].id).await.expect("download");
    assert_eq!(d.bytes, Bytes::from_static(b"two"));
    assert_eq!(d.content_type.as_deref(), Some("application/txt"));
}

#[tokio::test]
async fn link_to_datasets_creates_and_replaces_documents() {
    let (_dir, s) = state().await;
    let t = "tenant-a";
    let ds = sample_dataset(t, "kb");
    s.meta.insert_dataset(&ds).await.expect("dataset");
    let up1 = files::upload(
        &s,
        t,
        None,
        vec![up("d/one.txt", "hello"), up("d/two.md", "# hi")],
    )
    .await
    .expect("upload");
    let folder = s
        .files
        .get_file(t, &up1[0].parent_id)
        .await
        .unwrap()
        .unwrap();

    let links = files::link_to_datasets(&s, t, &one(&folder.id), &one(&ds.id))
        .await
        .expect("link");
    assert_eq!(links.len(), 2, "a folder expands to its files");
    let doc_id = links[0]["document_id"].as_str().unwrap().to_string();
    let doc = s
        .docs
        .get_document(t, &ds.id, &doc_id)
        .await
        .unwrap()
        .expect("doc");
    assert_eq!(doc.name, "one.txt");
    assert_eq!(
        s.blobs.get(t, &doc.location).await.unwrap(),
        Some(Bytes::from_static(b"hello")),
        "the document holds the file's bytes"
    );

    // Re-linking replaces the earlier document.
    let again = files::link_to_datasets(&s, t, &one(&up1[0].id), &one(&ds.id))
        .await
        .expect("relink");
    assert_eq!(again.len(), 1);
    assert!(s
        .docs
        .get_document(t, &ds.id, &doc_id)
        .await
        .unwrap()
        .is_none());
    let new_doc = again[0]["document_id"].as_str().unwrap().to_string();
    assert_eq!(
        s.docs
            .get_document(t, &ds.id, &new_doc)
            .await
            .unwrap()
            .unwrap()
            .name,
        "one.txt",
        "no `(1)`: the old document is gone first"
    );

    // An unsupported type is refused before the earlier link is replaced.
    let exe = files::upload(&s, t, None, vec![up("tool.exe", "MZ")])
        .await
        .expect("upload exe");
    let e = files::link_to_datasets(&s, t, &[up1[0].id.clone(), exe[0].id.clone()], &one(&ds.id))
        .await
        .unwrap_err();
    assert_eq!(
        msg(e),
        "tool.exe: This type of file has not been supported yet!"
    );
    assert!(
        s.docs
            .get_document(t, &ds.id, &new_doc)
            .await
            .unwrap()
            .is_some(),
        "nothing was replaced"
    );

    // Renaming the file renames its document; deleting it deletes the document.
    files::rename(&s, t, &up1[0].id, "uno.txt")
        .await
        .expect("rename");
    assert_eq!(
        s.docs
            .get_document(t, &ds.id, &new_doc)
            .await
            .unwrap()
            .unwrap()
            .name,
        "uno.txt"
    );
    files::delete_files(&s, t, &one(&up1[0].id))
        .await
        .expect("delete");
    assert!(s
        .docs
        .get_document(t, &ds.id, &new_doc)
        .await
        .unwrap()
        .is_none());

    // Unknown ids and another tenant's ids are refused before anything changes.
    let e = files::link_to_datasets(&s, t, &["nope".into()], &one(&ds.id))
        .await
        .unwrap_err();
    assert_eq!(msg(e), "File not found!");
    let e = files::link_to_datasets(&s, t, &one(&up1[1].id), &["nope".into()])
        .await
        .unwrap_err();
    assert_eq!(msg(e), "Can't find this dataset!");
    let e = files::link_to_datasets(&s, "tenant-b", &one(&up1[1].id), &one(&ds.id))
        .await
        .unwrap_err();
    assert_eq!(msg(e), "File not found!");
}
