use super::*;

#[test]
fn delimiters_parse_like_upstream() {
    assert_eq!(parse_delimiters("\\n"), vec!["\n"]);
    assert_eq!(parse_delimiters("\n"), vec!["\n"]);
    assert_eq!(parse_delimiters("`##`\\n;"), vec!["##", "\n", ";"]);
    assert_eq!(parse_delimiters(""), vec!["\n"]);
    assert_eq!(parse_delimiters("\\t"), vec!["\t"]);
}

#[test]
fn splitters_keep_all_text() {
    let t = "One. Two! Three?  Four";
    assert_eq!(split_sentences(t).concat(), t);
    assert_eq!(split_sentences(t).len(), 4);
    let d = vec!["##".to_string(), "\n".to_string()];
    let t = "a##b\nc";
    assert_eq!(split_after_delimiters(t, &d), vec!["a##", "b\n", "c"]);
    assert_eq!(split_words("a  b c").concat(), "a  b c");
    let mut out = Vec::new();
    split_chars(&"x".repeat(5000), 10, &mut out);
    assert!(out.iter().all(|(p, n)| *n <= 10 && count_tokens(p) <= 10));
    assert_eq!(
        out.iter().map(|(p, _)| p.as_str()).collect::<String>(),
        "x".repeat(5000)
    );
}

#[test]
fn heading_heuristics() {
    assert_eq!(heading_like("Chapter 3 Payments"), Some(2));
    assert_eq!(heading_like("第二章 总则"), Some(2));
    assert_eq!(heading_like("1.2 Scope of work"), Some(4));
    assert_eq!(heading_like("1. buy milk"), None);
    assert_eq!(heading_like("This is a sentence."), None);
    assert!(matches(article_re(), "Article 12 The tenant shall pay."));
    assert!(matches(article_re(), "第十二条 租户应当"));
    assert!(matches(article_re(), "§ 3 Geltungsbereich"));
    assert!(!matches(article_re(), "The article 12 says"));
}

#[test]
fn config_reads_numbers_and_strings() {
    let c = config(&serde_json::json!({"chunk_token_num": "128", "delimiter": "\\n!"}));
    assert_eq!(c.limit, 128);
    assert_eq!(c.delimiters, vec!["\n", "!"]);
    let c = config(&serde_json::json!({"chunk_token_num": 0}));
    assert_eq!(c.limit, DEFAULT_CHUNK_TOKENS);
    let c = config(&Value::Null);
    assert_eq!(c.limit, DEFAULT_CHUNK_TOKENS);
}
