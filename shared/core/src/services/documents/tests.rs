use super::*;
use crate::contract::batch::dedupe_ids;

#[test]
fn file_types_and_methods() {
    assert_eq!(file_type("a.PDF"), "pdf");
    assert_eq!(file_type("a.docx"), "doc");
    assert_eq!(file_type("a.png"), "visual");
    assert_eq!(file_type("a.mp3"), "aural");
    assert_eq!(file_type("a.exe"), "other");
    assert_eq!(file_type("noext"), "other");
    assert_eq!(upload_chunk_method("a.png", "naive"), "picture");
    assert_eq!(upload_chunk_method("a.pptx", "naive"), "presentation");
    assert_eq!(upload_chunk_method("a.eml", "qa"), "email");
    assert_eq!(upload_chunk_method("a.txt", "qa"), "qa");
    assert_eq!(suffix_of("x.tar.GZ"), "gz");
}

#[test]
fn list_query_rules() {
    let p = |s: &str| crate::contract::http::query_pairs(Some(s));
    let (q, _) = validate_list(&p(
        "page=2&page_size=5&desc=FALSE&suffix=pdf&suffix=.TXT&run=DONE&run=1",
    ))
    .unwrap();
    assert_eq!((q.page, q.page_size, q.desc), (2, 5, false));
    assert_eq!(q.suffixes, vec!["pdf", "txt"]);
    assert_eq!(q.runs, vec![RunStatus::Done, RunStatus::Running]);
    let e = validate_list(&p("page=a")).unwrap_err();
    assert_eq!(
        e.message,
        "ValueError(\"invalid literal for int() with base 10: 'a'\")"
    );
    let e = validate_list(&p("metadata_condition=nope")).unwrap_err();
    assert_eq!(e.message, "metadata_condition must be valid JSON.");
    let e = validate_list(&p("metadata_condition=%5B%5D")).unwrap_err();
    assert_eq!(e.message, "metadata_condition must be an object.");
}

#[test]
fn duplicates_are_reported_once() {
    let ids: Vec<String> = ["a", "b", "a", "a"].iter().map(|s| s.to_string()).collect();
    let (u, e) = dedupe_ids(&ids, "document");
    assert_eq!(u, vec!["a", "b"]);
    assert_eq!(e, vec!["Duplicate document ids: a"]);
}
