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

#[test]
fn v027_list_filters() {
    let p = |s: &str| crate::contract::http::query_pairs(Some(s));
    let (q, f) = validate_list(&p(
        "run=DONE&run_status=fail,done&ids=a,b&ids=c&types=PDF,doc&metadata=%7B%22k%22%3A%5B1%2C2%5D%7D",
    ))
    .unwrap();
    assert_eq!(q.runs, vec![RunStatus::Done, RunStatus::Fail]);
    assert_eq!(q.only_ids, Some(vec!["a".into(), "b".into(), "c".into()]));
    assert_eq!(f.types, vec!["pdf", "doc"]);
    assert_eq!(f.metadata, json!({"k": [1, 2]}).as_object().cloned());

    let e = validate_list(&p("run_status=SOON")).unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (102, "Invalid filter run status conditions: SOON")
    );
    let e = validate_list(&p("types=pdf,scroll,tablet")).unwrap_err();
    assert_eq!(e.message, "Invalid filter conditions: scroll, tablet types");
    let e = validate_list(&p("types=scroll")).unwrap_err();
    assert_eq!(e.message, "Invalid filter conditions: scroll type");
    let many: Vec<String> = (0..101).map(|i| format!("ids={i}")).collect();
    let e = validate_list(&p(&many.join("&"))).unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (101, "ids must contain at most 100 IDs")
    );
    assert_eq!(
        validate_list(&p("metadata=%5B%5D")).unwrap_err().message,
        "metadata must be an object."
    );
    assert_eq!(
        validate_list(&p("metadata=nope")).unwrap_err().message,
        "metadata must be valid JSON."
    );
    // A page_size of 0 (no rows, pinned) still wins over `ids`.
    let (q, _) = validate_list(&p("page_size=0&ids=a")).unwrap();
    assert_eq!(q.only_ids, Some(vec![]));
}

#[test]
fn metadata_filter_any_value_within_a_key_every_key() {
    let m = |v: Value| v.as_object().cloned().unwrap();
    let fields = json!({"author": "ann", "tags": ["x", "y"], "year": 2024});
    assert!(metadata_matches(
        &fields,
        &m(json!({"author": ["bob", "ann"]}))
    ));
    assert!(metadata_matches(
        &fields,
        &m(json!({"tags": "y", "year": 2024}))
    ));
    assert!(!metadata_matches(
        &fields,
        &m(json!({"tags": "y", "year": 2023}))
    ));
    assert!(!metadata_matches(&fields, &m(json!({"missing": "x"}))));
    assert!(metadata_matches(&fields, &m(json!({}))));
}

#[test]
fn filter_counts_skip_blank_values_and_always_report_empty_metadata() {
    use crate::ports::conformance_docs::sample_document;
    use serde_json::json;
    let mut a = sample_document("t", "d", "a.txt");
    a.meta_fields = json!({"author": ["ann", "", null], "year": 2024});
    let mut b = sample_document("t", "d", "b.md");
    b.meta_fields = json!({"author": " ", "note": null});
    let mut c = sample_document("t", "d", "c.pdf");
    c.meta_fields = json!({});
    let counts = listing::filter_counts(&[a, b, c]);
    assert_eq!(
        counts["metadata"],
        json!({"author": {"ann": 1}, "year": {"2024": 1}, "empty_metadata": {"true": 2}})
    );
    assert_eq!(
        listing::filter_counts(&[])["metadata"],
        json!({"empty_metadata": {"true": 0}})
    );
}
