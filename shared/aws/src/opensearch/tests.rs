use super::*;

#[test]
fn index_names_are_valid_and_never_collide() {
    assert_eq!(index_suffix("0123abcdef"), "0123abcdef");
    assert_eq!(index_suffix("Tenant"), "h-54656e616e74");
    assert_eq!(index_suffix(""), "h-");
    assert_ne!(index_suffix("a-b"), index_suffix("a_b"));
}

#[test]
fn query_text_dedupes_and_caps() {
    assert_eq!(query_text("  "), None);
    assert_eq!(query_text("Fox fox FOX dog").as_deref(), Some("Fox dog"));
    let long = "word ".repeat(5000);
    assert_eq!(query_text(&long).as_deref(), Some("word"));
    let many: String = (0..500).map(|i| format!("w{i} ")).collect();
    assert_eq!(
        query_text(&many).map(|t| t.split(' ').count()),
        Some(MAX_QUERY_TOKENS)
    );
}

#[test]
fn tokens_are_counted_as_the_standard_tokenizer_makes_them_or_more() {
    let count = |w: &str| fit_tokens(w, usize::MAX).1;
    assert_eq!(count("fox"), 1);
    assert_eq!(count("a-b-c"), 3);
    assert_eq!(count("(quoted)"), 1);
    assert_eq!(count("中文查询"), 4, "one token per ideograph");
    assert_eq!(count("ひらがな"), 4);
    assert_eq!(count("カタカナ"), 1, "a Katakana run is one word");
    assert_eq!(count("abcカタ1"), 3, "Katakana and letters split");
    assert_eq!(count("🙂🙃"), 2);
    assert_eq!(count(&"x".repeat(255)), 1);
    assert_eq!(count(&"x".repeat(256)), 2, "long runs are cut at 255");
    // The word that crosses the limit is cut at a character boundary.
    assert_eq!(fit_tokens("中文查询", 2), ("中文".len(), 2));
}

#[test]
fn query_text_keeps_long_queries_under_the_clause_limit() {
    let han: String = (0..1000u32)
        .filter_map(|i| char::from_u32(0x4e00 + i))
        .collect();
    let sent = query_text(&han).unwrap_or_default();
    assert_eq!(sent.chars().count(), MAX_QUERY_TOKENS);
    assert!(han.starts_with(&sent), "the question's start is kept");
    let hyphens: String = (0..300).map(|i| format!("a{i}-b{i} ")).collect();
    let sent = query_text(&hyphens).unwrap_or_default();
    assert_eq!(sent.split(' ').count(), MAX_QUERY_TOKENS / 2);
    let huge = "y".repeat(300_000);
    let sent = query_text(&huge).unwrap_or_default();
    assert_eq!(sent.len(), MAX_QUERY_TOKENS * MAX_TOKEN_CHARS);
}

#[test]
fn lucene_cosine_scores_convert_back() {
    assert!((cosine_from_score(1.0) - 1.0).abs() < 1e-6);
    assert!(cosine_from_score(0.5).abs() < 1e-6);
    assert!((cosine_from_score(0.0) + 1.0).abs() < 1e-6);
    assert!((cosine_from_score(0.8) - 0.6).abs() < 1e-6);
}
