use super::completion::answering_chat;
use super::listing::parse_query;
use super::*;

fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
    q.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn app(id: &str, tenant: &str, name: &str, t: i64) -> SearchApp {
    SearchApp {
        id: id.into(),
        tenant_id: tenant.into(),
        name: name.into(),
        description: String::new(),
        avatar: None,
        created_by: tenant.into(),
        search_config: default_search_config(),
        status: STATUS_VALID.into(),
        create_time: t,
        update_time: 10 - t,
    }
}

#[test]
fn taken_names_get_upstreams_counter() {
    assert_eq!(next_name("docs"), "docs(1)");
    assert_eq!(next_name("docs(1)"), "docs(2)");
    assert_eq!(next_name("docs (9)"), "docs(10)");
    assert_eq!(next_name("guide.v2"), "guide(1).v2");
    assert_eq!(next_name(".hidden"), ".hidden(1)");
    let taken = vec!["Docs".to_string(), "docs(1)".to_string()];
    assert_eq!(unique_name("docs", &taken), "docs(2)", "case-insensitive");
    assert_eq!(unique_name("other", &taken), "other");
}

#[test]
fn names_are_checked_like_upstream() {
    assert_eq!(
        checked_name(&json!(1), ".").unwrap_err().message,
        "Search name must be string."
    );
    assert_eq!(
        checked_name(&json!("  "), ".").unwrap_err().body(),
        json!({"code": 102, "message": "Search name can't be empty."})
    );
    let long = "é".repeat(128); // 256 bytes, 128 characters
    assert_eq!(
        checked_name(&json!(long), ".").unwrap_err().message,
        "Search name length is 128 which is large than 255."
    );
    assert_eq!(
        checked_name(&json!(long), "").unwrap_err().message,
        "Search name length is 128 which is large than 255"
    );
    assert_eq!(checked_name(&json!("  x "), ".").unwrap(), "x");
}

#[test]
fn missing_keys_are_listed_in_order() {
    let m = json!({"name": "x"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert!(require_keys(&m, &["name"]).is_ok());
    assert_eq!(
        require_keys(&Map::new(), &["name", "search_config"])
            .unwrap_err()
            .body(),
        json!({"code": 101, "message": "required argument are missing: name,search_config; ", "data": null})
    );
}

#[test]
fn listing_filters_orders_and_pages() {
    let all = vec![
        app("a", "t", "Alpha", 1),
        app("b", "t", "beta", 2),
        app("c", "t", "Gamma", 3),
    ];
    let ids = |v: (Vec<SearchApp>, usize)| (v.0.into_iter().map(|a| a.id).collect::<Vec<_>>(), v.1);
    let q = parse_query(&[]).unwrap();
    assert_eq!(
        ids(q.apply(all.clone())),
        (vec!["c".into(), "b".into(), "a".into()], 3)
    );
    let q = parse_query(&pairs(&[("desc", "False"), ("orderby", "update_time")])).unwrap();
    assert_eq!(ids(q.apply(all.clone())).0, ["c", "b", "a"]);
    let q = parse_query(&pairs(&[
        ("keywords", "A"),
        ("page", "2"),
        ("page_size", "1"),
    ]))
    .unwrap();
    assert_eq!(ids(q.apply(all.clone())), (vec!["b".into()], 3));
    let q = parse_query(&pairs(&[("owner_ids", "someone-else")])).unwrap();
    assert_eq!(ids(q.apply(all.clone())), (vec![], 0));
    let q = parse_query(&pairs(&[("owner_ids", "t")])).unwrap();
    assert_eq!(ids(q.apply(all)).1, 3);
}

#[test]
fn listing_errors_are_upstreams_exceptions() {
    let err = |q: &[(&str, &str)]| parse_query(&pairs(q)).unwrap_err().body();
    assert_eq!(
        err(&[("page", "x")]),
        json!({"code": 100, "message": "ValueError(\"invalid literal for int() with base 10: 'x'\")", "data": null})
    );
    assert_eq!(
        err(&[("page_size", "101")])["message"],
        "ValueError('page_size must be less than or equal to 100')"
    );
    assert_eq!(
        err(&[("orderby", "nope")])["message"],
        "AttributeError(\"type object 'Search' has no attribute 'nope'\")"
    );
}

#[test]
fn the_answering_chat_carries_the_saved_configuration() {
    let mut config = default_search_config();
    let c = answering_chat("t", "default@Builtin", &config, vec!["kb".into()]);
    assert_eq!(
        c.llm_id, "default@Builtin",
        "empty chat_id: the tenant default"
    );
    assert_eq!(
        (c.similarity_threshold, c.vector_similarity_weight),
        (0.2, 0.3)
    );
    assert_eq!((c.top_n, c.top_k), (12, 1024));
    assert_eq!(c.kb_ids, ["kb"]);
    assert_eq!(c.llm_setting.get("temperature"), Some(&json!(0.1)));
    assert!(c.prompt_config["system"]
        .as_str()
        .is_some_and(|s| s.contains("{knowledge}")));
    config.insert("chat_id".into(), json!("echo@OpenAI-API-Compatible"));
    config.insert("top_k".into(), json!(5));
    config.insert("rerank_id".into(), json!("r@Jina"));
    config.insert("llm_setting".into(), json!({"temperature": 0.7}));
    config.remove("similarity_threshold");
    let c = answering_chat("t", "default@Builtin", &config, vec![]);
    assert_eq!(c.llm_id, "echo@OpenAI-API-Compatible");
    assert_eq!((c.top_k, c.rerank_id.as_str()), (5, "r@Jina"));
    assert_eq!(c.similarity_threshold, 0.1, "async_ask's fallback");
    assert_eq!(c.llm_setting.get("temperature"), Some(&json!(0.7)));
}

#[test]
fn the_default_config_is_upstreams_column_default() {
    let c = default_search_config();
    for key in [
        "kb_ids",
        "doc_ids",
        "similarity_threshold",
        "vector_similarity_weight",
        "use_kg",
        "rerank_id",
        "top_k",
        "summary",
        "chat_id",
        "llm_setting",
        "related_search",
        "query_mindmap",
        "highlight",
        "keyword",
        "web_search",
        "chat_setting_cross_languages",
    ] {
        assert!(c.contains_key(key), "{key}");
    }
    let row = row(&app("a", "t", "n", 0));
    assert_eq!(row["create_date"], "1970-01-01 00:00:00");
    assert_eq!(row["status"], "1");
}
