use super::*;

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

#[test]
fn an_empty_name_filters_nothing() {
    let q = validate_list(&[("name".into(), String::new())]).expect("valid");
    assert_eq!(q.name, None);
    let q = validate_list(&[("name".into(), "kb".into())]).expect("valid");
    assert_eq!(q.name.as_deref(), Some("kb"));
}

#[test]
fn duplicate_names_count_up() {
    assert_eq!(next_duplicate_name("kb"), "kb(1)");
    assert_eq!(next_duplicate_name("kb(1)"), "kb(2)");
    assert_eq!(next_duplicate_name("kb(9)"), "kb(10)");
    assert_eq!(next_duplicate_name("a.txt"), "a(1).txt");
    assert_eq!(next_duplicate_name("a(3).txt"), "a(4).txt");
    assert_eq!(next_duplicate_name(".hidden"), ".hidden(1)");
}

#[test]
fn default_parser_config_matches_upstream_tests() {
    let cfg = parser_config_for("naive", None);
    assert_eq!(cfg["chunk_token_num"], json!(512));
    assert_eq!(cfg["delimiter"], json!("\n"));
    assert_eq!(cfg["raptor"]["use_raptor"], json!(true));
    assert_eq!(cfg["graphrag"]["use_graphrag"], json!(true));
    assert_eq!(cfg["table_context_size"], json!(0));
    assert_eq!(
        parser_config_for("table", None),
        json!({"table_context_size": 0, "image_context_size": 0})
    );
    assert_eq!(
        parser_config_for("qa", None)["raptor"],
        json!({"use_raptor": false})
    );
}

#[test]
fn deep_merge_recurses_into_objects() {
    let a = json!({"x": {"a": 1, "b": 2}, "y": 1});
    let b = json!({"x": {"b": 3}, "z": [1]});
    assert_eq!(
        deep_merge(&a, &b),
        json!({"x": {"a": 1, "b": 3}, "y": 1, "z": [1]})
    );
}

#[test]
fn create_validation_messages() {
    let e = validate_create(&obj(json!({}))).unwrap_err();
    assert_eq!(e.code, 101);
    assert_eq!(
        e.message,
        "Field: <name> - Message: <Field required> - Value: <{}>"
    );
    let e = validate_create(&obj(json!({"name": "  "}))).unwrap_err();
    assert!(e
        .message
        .contains("String should have at least 1 character"));
    let e = validate_create(&obj(json!({"name": "a".repeat(129)}))).unwrap_err();
    assert!(e
        .message
        .contains("String should have at most 128 characters"));
    let e = validate_create(&obj(json!({"name": 1}))).unwrap_err();
    assert_eq!(
        e.message,
        "Field: <name> - Message: <Input should be a valid string> - Value: <1>"
    );
    let e = validate_create(&obj(json!({"name": "x", "chunk_method": null}))).unwrap_err();
    assert!(e.message.contains("Input should be 'naive', 'book', 'email', 'laws', 'manual', 'one', 'paper', 'picture', 'presentation', 'qa', 'table' or 'tag'"));
    let e = validate_create(&obj(json!({"name": "x", "permission": "ME"}))).unwrap_err();
    assert!(e.message.contains("Input should be 'me' or 'team'"));
    let e = validate_create(&obj(json!({"name": "x", "avatar": "abc"}))).unwrap_err();
    assert!(e
        .message
        .contains("Missing MIME prefix. Expected format: data:<mime>;base64,<data>"));
    let e = validate_create(&obj(json!({"name": "x", "avatar": "img:x,abc"}))).unwrap_err();
    assert!(e
        .message
        .contains("Invalid MIME prefix format. Must start with 'data:'"));
    let e = validate_create(&obj(
        json!({"name": "x", "avatar": "data:image/gif;base64,abc"}),
    ))
    .unwrap_err();
    assert!(e
        .message
        .contains("Unsupported MIME type. Allowed: ['image/jpeg', 'image/png']"));
    for (m, msg) in [
        (
            "",
            "Embedding model identifier must follow <model_name>@<provider> format",
        ),
        (
            " ",
            "Embedding model identifier must follow <model_name>@<provider> format",
        ),
        (
            "@x",
            "Both model_name and provider must be non-empty strings",
        ),
        (
            "x@",
            "Both model_name and provider must be non-empty strings",
        ),
        (
            " @x ",
            "Both model_name and provider must be non-empty strings",
        ),
    ] {
        let e = validate_create(&obj(json!({"name": "x", "embedding_model": m}))).unwrap_err();
        assert!(e.message.contains(msg), "{m:?}: {}", e.message);
    }
    let e = validate_create(&obj(json!({"name": "x", "unknown": 1}))).unwrap_err();
    assert_eq!(
        e.message,
        "Field: <unknown> - Message: <Extra inputs are not permitted> - Value: <1>"
    );
}

#[test]
fn parser_config_validation() {
    let e = validate_create(&obj(
        json!({"name": "x", "parser_config": {"chunk_token_num": 0}}),
    ))
    .unwrap_err();
    assert_eq!(
        e.message,
        "Field: <parser_config.chunk_token_num> - Message: <Input should be greater than or equal to 1> - Value: <0>"
    );
    let e = validate_create(&obj(
        json!({"name": "x", "parser_config": {"raptor": {"max_token": 4096}}}),
    ))
    .unwrap_err();
    assert!(e.message.contains("Field: <parser_config.raptor.max_token> - Message: <Input should be less than or equal to 2048>"));
    let e = validate_create(&obj(json!({"name": "x", "parser_config": "abc"}))).unwrap_err();
    assert!(e
        .message
        .contains("Input should be a valid dictionary or instance of ParserConfig"));
    let e = validate_create(&obj(
        json!({"name": "x", "parser_config": {"delimiter": ""}}),
    ))
    .unwrap_err();
    assert!(e
        .message
        .contains("String should have at least 1 character"));
    let e = validate_create(&obj(
        json!({"name": "x", "parser_config": {"graphrag": {"method": "x"}}}),
    ))
    .unwrap_err();
    assert!(e.message.contains("Input should be 'light' or 'general'"));
    let e = validate_create(&obj(
        json!({"name": "x", "parser_config": {"layout_recognize": "x".repeat(70000)}}),
    ))
    .unwrap_err();
    assert!(e
        .message
        .contains("Parser config exceeds size limit (max 65,535 characters). Current size:"));
    let f = validate_create(&obj(json!({"name": "x", "parser_config": {}}))).unwrap();
    assert_eq!(f.parser_config, Some(None));
    let f = validate_create(&obj(
        json!({"name": "x", "parser_config": {"chunk_token_num": 100}}),
    ))
    .unwrap();
    let p = f.parser_config.flatten().unwrap();
    assert_eq!(p.set, json!({"chunk_token_num": 100}));
    assert_eq!(p.full["raptor"]["use_raptor"], json!(false));
    assert_eq!(p.full["delimiter"], json!("\\n"));
}

#[test]
fn pipeline_rules() {
    let e = validate_create(&obj(json!({"name": "x", "parse_type": 1}))).unwrap_err();
    assert!(e
        .message
        .contains("parser_id omitted → required fields missing: pipeline_id"));
    let e = validate_create(&obj(
        json!({"name": "x", "chunk_method": "naive", "parse_type": 1}),
    ))
    .unwrap_err();
    assert!(e
        .message
        .contains("parser_id provided → disallowed fields present: parse_type"));
    let e = validate_create(&obj(
        json!({"name": "x", "parse_type": 1, "pipeline_id": "g".repeat(32)}),
    ))
    .unwrap_err();
    assert!(e.message.contains("pipeline_id must be hexadecimal"));
    let f = validate_create(&obj(
        json!({"name": "x", "parse_type": 1, "pipeline_id": "A".repeat(32)}),
    ))
    .unwrap();
    assert_eq!(f.pipeline_id, Some(Some("a".repeat(32))));
}

#[test]
fn update_validation() {
    let id = new_id();
    let e = validate_update("bad", &obj(json!({"name": "x"}))).unwrap_err();
    assert_eq!(
        e.message,
        "Field: <dataset_id> - Message: <Invalid UUID1 format> - Value: <bad>"
    );
    let (f, _) = validate_update(&id, &obj(json!({}))).unwrap();
    assert!(f.is_empty());
    let e = validate_update(&id, &obj(json!({"pagerank": 101}))).unwrap_err();
    assert!(e
        .message
        .contains("Input should be less than or equal to 100"));
    let e = validate_update(&id, &obj(json!({"pagerank": null}))).unwrap_err();
    assert!(e.message.contains("Input should be a valid integer"));
    let (f, _) = validate_update(&id, &obj(json!({"embedding_model": null}))).unwrap();
    assert_eq!(f.embedding_model, Some(None));
}

#[test]
fn list_validation() {
    let p = |s: &str| crate::contract::http::query_pairs(Some(s));
    let q = validate_list(&p("page=2&page_size=5&desc=False&orderby=update_time")).unwrap();
    assert_eq!(
        (q.page, q.page_size, q.desc, q.orderby),
        (2, 5, false, DatasetOrder::UpdateTime)
    );
    let e = validate_list(&p("page=0")).unwrap_err();
    assert_eq!(
        e.message,
        "Field: <page> - Message: <Input should be greater than or equal to 1> - Value: <0>"
    );
    let e = validate_list(&p("page_size=a")).unwrap_err();
    assert!(e
        .message
        .contains("Input should be a valid integer, unable to parse string as an integer"));
    let e = validate_list(&p("orderby=name")).unwrap_err();
    assert!(e
        .message
        .contains("Input should be 'create_time' or 'update_time'"));
    let e = validate_list(&p("desc=maybe")).unwrap_err();
    assert!(e
        .message
        .contains("Input should be a valid boolean, unable to interpret input"));
    let e = validate_list(&p("id=")).unwrap_err();
    assert!(e.message.contains("Invalid UUID1 format"));
    let e = validate_list(&p("foo=1")).unwrap_err();
    assert!(e
        .message
        .contains("Field: <foo> - Message: <Extra inputs are not permitted>"));
}

#[test]
fn delete_validation() {
    let e = validate_delete(&obj(json!({}))).unwrap_err();
    assert_eq!(
        e.message,
        "Field: <ids> - Message: <Field required> - Value: <{}>"
    );
    assert_eq!(validate_delete(&obj(json!({"ids": null}))).unwrap(), None);
    assert_eq!(
        validate_delete(&obj(json!({"ids": []}))).unwrap(),
        Some(vec![])
    );
    let e = validate_delete(&obj(json!({"ids": ["x"]}))).unwrap_err();
    assert!(e.message.contains("Invalid UUID1 format"));
    let id = new_id();
    let e = validate_delete(&obj(json!({"ids": [id, id]}))).unwrap_err();
    assert!(e.message.contains(&format!("Duplicate ids: '{id}'")));
}
