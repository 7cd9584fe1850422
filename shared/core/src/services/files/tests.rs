use super::*;
use crate::ports::files::{FileRecord, TYPE_FOLDER};

fn row(id: &str, parent: &str, name: &str, kind: &str, t: i64) -> FileRecord {
    FileRecord {
        id: id.into(),
        parent_id: parent.into(),
        tenant_id: "t".into(),
        created_by: "t".into(),
        name: name.into(),
        file_type: kind.into(),
        location: String::new(),
        size: t,
        source_type: String::new(),
        create_time: t,
        update_time: 100 - t,
    }
}

#[test]
fn upload_paths_make_folders() {
    assert_eq!(split_upload_path("a.txt"), Some((vec![], "a.txt".into())));
    assert_eq!(
        split_upload_path("a/b/c.txt"),
        Some((vec!["a".into(), "b".into()], "c.txt".into()))
    );
    assert_eq!(
        split_upload_path("./a//b\\c.txt"),
        Some((vec!["a".into(), "b".into()], "c.txt".into()))
    );
    assert_eq!(split_upload_path("a/"), Some((vec![], "a".into())));
    assert_eq!(split_upload_path("//"), None);
    assert_eq!(split_upload_path(""), None);
}

#[test]
fn renames_keep_the_extension() {
    let f = row("1", "r", "report.PDF", "pdf", 1);
    assert!(check_rename(&f, "other.pdf").is_ok(), "case is ignored");
    assert_eq!(
        check_rename(&f, "report.txt"),
        Err("The extension of file can't be changed")
    );
    assert!(
        check_rename(&f, "report").is_err(),
        "dropping it is a change"
    );
    let noext = row("2", "r", "README", "other", 1);
    assert!(check_rename(&noext, "NOTES").is_ok());
    assert!(check_rename(&noext, "notes.md").is_err());
    let dir = row("3", "r", "dir", TYPE_FOLDER, 1);
    assert!(
        check_rename(&dir, "dir.v2").is_ok(),
        "folders may take any name"
    );
}

#[test]
fn ancestors_stop_at_the_root_and_are_bounded() {
    let root = row("r", "r", "/", TYPE_FOLDER, 0);
    let a = row("a", "r", "a", TYPE_FOLDER, 1);
    let b = row("b", "a", "b.txt", "doc", 2);
    let all = [root.clone(), a.clone(), b.clone()];
    let lookup = |f: &FileRecord| all.iter().find(|x| x.id == f.parent_id).cloned();
    let path = ancestors_path(b.clone(), lookup, 10);
    let ids: Vec<&str> = path.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["b", "a", "r"], "the file first, the root last");
    assert!(is_within(&path, "a"));
    assert!(is_within(&path, "b"), "a folder is within itself");
    assert!(!is_within(&path, "x"));
    let path = ancestors_path(root.clone(), lookup, 10);
    assert_eq!(path, vec![root], "the root is its own only ancestor");
    // A corrupted cycle (x ↔ y) ends at the bound.
    let x = row("x", "y", "x", TYPE_FOLDER, 1);
    let y = row("y", "x", "y", TYPE_FOLDER, 1);
    let cyc = [x.clone(), y];
    let path = ancestors_path(x, |f| cyc.iter().find(|c| c.id == f.parent_id).cloned(), 5);
    assert_eq!(path.len(), 5);
}

#[test]
fn listing_filters_orders_and_pages() {
    let rows = vec![
        row("1", "r", "Alpha.txt", "doc", 3),
        row("2", "r", "beta.txt", "doc", 1),
        row("3", "r", "gamma.pdf", "pdf", 2),
        row("4", "r", "ALPHABET", TYPE_FOLDER, 2),
    ];
    let ids = |v: &[FileRecord]| v.iter().map(|f| f.id.clone()).collect::<Vec<_>>();
    let (p, total) = apply_list(rows.clone(), "", FileOrder::CreateTime, true, 1, 15);
    assert_eq!(total, 4);
    assert_eq!(ids(&p), ["1", "4", "3", "2"], "ties broken by id, reversed");
    let (p, _) = apply_list(rows.clone(), "", FileOrder::CreateTime, false, 1, 15);
    assert_eq!(ids(&p), ["2", "3", "4", "1"]);
    let (p, total) = apply_list(rows.clone(), "alpha", FileOrder::Name, false, 1, 15);
    assert_eq!((ids(&p), total), (vec!["4".to_string(), "1".into()], 2));
    let (p, total) = apply_list(rows.clone(), "", FileOrder::UpdateTime, false, 2, 3);
    assert_eq!((ids(&p), total), (vec!["2".to_string()], 4));
    let (p, _) = apply_list(rows.clone(), "", FileOrder::Size, true, 0, 1);
    assert_eq!(ids(&p), ["1"], "page 0 counts as page 1");
    let (p, total) = apply_list(rows, "", FileOrder::Name, true, 1, 0);
    assert!(p.is_empty());
    assert_eq!(total, 4);
    assert_eq!(FileOrder::parse("create_time"), Some(FileOrder::CreateTime));
    assert_eq!(FileOrder::parse("nope"), None);
}

#[test]
fn list_queries_per_generation() {
    let p = |s: &str| crate::contract::http::query_pairs(Some(s));
    let q = list_query(&p("desc=false&page=2&page_size=3"), Gen::Pinned).unwrap();
    assert!(q.desc, "pinned: any non-empty desc sorts descending");
    assert_eq!((q.page, q.page_size), (2, 3));
    assert!(!list_query(&p("desc="), Gen::Pinned).unwrap().desc);
    assert_eq!(
        list_query(&p("page=a"), Gen::Pinned).unwrap_err().message,
        "ValueError(\"invalid literal for int() with base 10: 'a'\")"
    );
    assert_eq!(
        list_query(&p("orderby=nope"), Gen::Pinned)
            .unwrap_err()
            .code,
        100
    );
    let q = list_query(&p("desc=false&orderby=name"), Gen::V027).unwrap();
    assert!(!q.desc);
    assert_eq!(q.order, FileOrder::Name);
    assert_eq!(q.page_size, 15);
    let e = list_query(&p("page_size=101"), Gen::V027).unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (101, "page_size must be less than or equal to 100")
    );
    let e = list_query(&p("foo=1"), Gen::V027).unwrap_err();
    assert!(
        e.message.contains("Extra inputs are not permitted"),
        "{}",
        e.message
    );
    let e = list_query(&p("orderby=nope"), Gen::V027).unwrap_err();
    assert_eq!(e.message, "invalid orderby field: nope");
    assert_eq!(
        list_query(&p("desc=maybe"), Gen::V027).unwrap_err().code,
        101
    );
}

#[test]
fn errors_map_once_per_generation() {
    let e = FileError::NotFound("Folder not found!".into());
    let b = e.into_api(Gen::Pinned).body();
    assert_eq!(
        b,
        serde_json::json!({"code": 404, "message": "Folder not found!", "data": null})
    );
    let b = FileError::Conflict("dup".into())
        .into_api(Gen::Pinned)
        .body();
    assert_eq!(
        b,
        serde_json::json!({"code": 409, "message": "dup", "data": false})
    );
    let b = FileError::BadRequest("x".into()).into_api(Gen::V027).body();
    assert_eq!(b, serde_json::json!({"code": 102, "message": "x"}));
    let b = FileError::Conflict("dup".into()).into_api(Gen::V027).body();
    assert_eq!(b, serde_json::json!({"code": 102, "message": "dup"}));
}

#[test]
fn personal_upload_reply_shape() {
    let mut f = row("1", "r", "a.pdf", "pdf", 1500);
    f.create_time = 1_500;
    let v = personal_upload_reply(&f);
    assert_eq!(v["created_at"], serde_json::json!(1.5));
    assert_eq!(v["mime_type"], "application/pdf");
    assert_eq!(v["extension"], "pdf");
    assert!(v["preview_url"].is_null());
}
