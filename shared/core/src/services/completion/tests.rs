use super::*;

#[test]
fn completion_body_rules() {
    let m = |v: Value| v.as_object().cloned().unwrap_or_default();
    let r = parse_completion(&m(json!({"question": "q"}))).unwrap();
    assert_eq!(
        r.question.as_deref(),
        Some(""),
        "no session: question discarded"
    );
    assert!(r.stream, "stream defaults to true");
    let r = parse_completion(&m(json!({"session_id": "s"}))).unwrap();
    assert_eq!(
        r.question, None,
        "a session without question is an error later"
    );
    let r = parse_completion(&m(json!({
        "session_id": "s", "question": "q", "stream": false, "doc_ids": "a, b",
        "quote": false, "lang": "fr", "metadata_condition": {"conditions": []}
    })))
    .unwrap();
    assert!(!r.stream);
    assert_eq!(r.options.doc_ids, Some(vec!["a".into(), "b".into()]));
    assert_eq!(r.options.quote, Some(false));
    assert_eq!(r.options.variables.get("lang"), Some(&json!("fr")));
    assert!(r.options.metadata_condition.is_some());
    assert_eq!(
        parse_completion(&m(json!({"session_id": "s", "metadata_condition": "x"})))
            .unwrap_err()
            .message,
        "metadata_condition must be an object."
    );
}
