use super::*;

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

#[test]
fn sdk_default_prompt_maps_to_columns_and_config() {
    let sdk_prompt = obj(json!({
        "similarity_threshold": 0.2,
        "keywords_similarity_weight": 0.7,
        "top_n": 8,
        "top_k": 1024,
        "variables": [{"key": "knowledge", "optional": true}],
        "rerank_model": "",
        "empty_response": null,
        "opener": "Hi! I'm your assistant. What can I do for you?",
        "show_quote": true,
        "prompt": "Use {knowledge}",
        "custom": "kept"
    }));
    let split = split_prompt(&sdk_prompt);
    assert_eq!(
        split.columns,
        obj(
            json!({"similarity_threshold": 0.2, "vector_similarity_weight": 0.7, "top_n": 8, "rerank_id": "", "top_k": 1024})
        )
    );
    assert_eq!(split.config["system"], "Use {knowledge}");
    assert_eq!(
        split.config["parameters"],
        json!([{"key": "knowledge", "optional": true}])
    );
    assert_eq!(split.config["quote"], true);
    assert_eq!(split.config["custom"], "kept");
    assert!(split.config["empty_response"].is_null());
    assert!(!split.config.contains_key("opener"));
}

fn chat_with(vsw: f64, config: Map<String, Value>) -> Chat {
    Chat {
        id: "c".into(),
        tenant_id: "t".into(),
        name: "n".into(),
        description: None,
        icon: None,
        language: "English".into(),
        llm_id: "m@F".into(),
        llm_setting: default_llm_setting(),
        prompt_type: "simple".into(),
        prompt_config: config,
        meta_data_filter: json!({}),
        similarity_threshold: 0.2,
        vector_similarity_weight: vsw,
        top_n: 8,
        top_k: 1024,
        do_refer: "1".into(),
        rerank_id: String::new(),
        kb_ids: vec![],
        status: "1".into(),
        create_time: 0,
        update_time: 0,
    }
}

#[test]
fn weight_is_reported_inverted() {
    let c = chat_with(
        0.7,
        obj(json!({"system": "s", "prologue": "p", "quote": true})),
    );
    let p = prompt_to_api(&c);
    let w = p["keywords_similarity_weight"].as_f64().unwrap_or(-1.0);
    assert!((w - 0.3).abs() < 1e-9, "1 − stored, not the stored value");
    assert_eq!(p["prompt"], "s");
    assert_eq!(p["opener"], "p");
    assert_eq!(p["show_quote"], true);
    assert_eq!(p["top_n"], 8);
    assert_eq!(p["rerank_model"], "");
    let form = to_create_form(&c, json!(["d"]));
    assert_eq!(form["llm"]["model_name"], "m@F");
    assert_eq!(form["dataset_ids"], json!(["d"]));
    // The union with v0.27's fields: `top_k` (which the pinned create form lacks) and the
    // uninverted stored weight under v0.27's name.
    assert_eq!(form["top_k"], 1024);
    assert_eq!(form["avatar"], Value::Null);
    assert_eq!(form["icon"], Value::Null);
    assert_eq!(form["llm_id"], "m@F");
    assert_eq!(form["prompt_config"]["system"], "s");
    assert!((form["vector_similarity_weight"].as_f64().unwrap_or(-1.0) - 0.7).abs() < 1e-9);
    assert_eq!(form["llm_setting"], Value::Object(default_llm_setting()));
    assert_eq!(form["rerank_id"], "");
}

fn tenant() -> Tenant {
    Tenant {
        id: "t".into(),
        name: "t".into(),
        embd_id: crate::domain::models::default_embedding_id(),
        llm_id: crate::domain::models::default_chat_id(),
        tts_id: String::new(),
        asr_id: String::new(),
        providers: vec![],
        create_time: 0,
    }
}

#[test]
fn v027_vocabulary_is_read_and_checked() {
    let t = tenant();
    let chat_model = crate::domain::models::default_chat_id();
    let k = take_v027(
        &obj(json!({"llm_id": chat_model, "llm_setting": {"temperature": 0.5}, "prompt_config": {"system": "x"}})),
        &t,
    )
    .unwrap_or_default();
    assert_eq!(k.model.as_deref(), Some(chat_model.as_str()));
    assert_eq!(k.setting, Some(obj(json!({"temperature": 0.5}))));
    assert_eq!(k.config, Some(obj(json!({"system": "x"}))));
    let err = |v: Value| take_v027(&obj(v), &t).err().map(|e| e.message);
    assert_eq!(
        err(json!({"llm_id": "nope@X"})),
        Some("`llm_id` nope@X doesn't exist".into())
    );
    assert_eq!(
        err(json!({"llm_id": 3})),
        Some("`llm_id` must be a string".into())
    );
    assert_eq!(
        err(json!({"prompt_config": "x"})),
        Some("`prompt_config` should be an object.".into())
    );
    assert_eq!(
        err(json!({"llm_setting": []})),
        Some("`llm_setting` should be an object.".into())
    );
    assert_eq!(
        take_v027(&obj(json!({"llm_id": null})), &t).ok(),
        Some(V027Keys::default())
    );
}

#[test]
fn v027_delete_all_needs_literal_true() {
    assert!(v027::delete_all_flag(&obj(json!({"delete_all": true}))));
    assert!(!v027::delete_all_flag(&obj(json!({"delete_all": 1}))));
    assert!(!v027::delete_all_flag(&obj(json!({"delete_all": "true"}))));
    assert!(!v027::delete_all_flag(&obj(json!({}))));
    let partial = v027::v027_batch_reply(1, vec!["e".into()], "chats", json!({}));
    assert_eq!(
        partial.map(|d| d.message).ok(),
        Some("Partially deleted 1 chats with 1 errors".into())
    );
    let none = v027::v027_batch_reply(0, vec!["a".into(), "b".into()], "chats", json!({}));
    assert_eq!(none.err().map(|e| e.message), Some("a; b".into()));
}

#[test]
fn defaults_and_parameter_check() {
    let mut cfg = obj(json!({"system": "", "empty_response": null}));
    fill_prompt_defaults(&mut cfg);
    assert_eq!(
        cfg["system"], DEFAULT_SYSTEM_PROMPT,
        "an empty system gets the default"
    );
    assert!(
        cfg["empty_response"].is_null(),
        "a present key keeps its value"
    );
    assert_eq!(cfg["prologue"], DEFAULT_PROLOGUE);
    assert_eq!(cfg["refine_multiturn"], true);
    assert!(check_parameters(&cfg).is_ok());
    let bad =
        obj(json!({"system": "no var", "parameters": [{"key": "knowledge", "optional": false}]}));
    assert_eq!(
        check_parameters(&bad).unwrap_err().message,
        "Parameter 'knowledge' is not used"
    );
    let optional =
        obj(json!({"system": "no var", "parameters": [{"key": "knowledge", "optional": true}]}));
    assert!(check_parameters(&optional).is_ok());
}

#[test]
fn dataset_ids_iterate_like_python() {
    assert_eq!(
        dataset_id_list(Some(&json!(["a", "", null, "b"]))).unwrap(),
        ["a", "b"]
    );
    assert_eq!(dataset_id_list(Some(&json!("ab"))).unwrap(), ["a", "b"]);
    assert!(dataset_id_list(Some(&json!(null))).unwrap().is_empty());
    assert_eq!(dataset_id_list(Some(&json!(1))).unwrap_err().code, 100);
}

#[test]
fn list_parameters() {
    let p = |q: &str| crate::contract::http::query_pairs(Some(q));
    assert_eq!(
        list_params(&p(""), "Dialog").unwrap(),
        (1, 30, ListOrder::CreateTime, true)
    );
    assert_eq!(
        list_params(
            &p("page=0&page_size=2&orderby=update_time&desc=False"),
            "Dialog"
        )
        .unwrap(),
        (1, 2, ListOrder::UpdateTime, false)
    );
    assert!(list_params(&p("desc=no"), "Dialog").unwrap().3);
    assert_eq!(
        list_params(&p("page=a"), "Dialog").unwrap_err().message,
        "ValueError(\"invalid literal for int() with base 10: 'a'\")"
    );
    assert_eq!(
        list_params(&p("orderby=nope"), "Dialog")
            .unwrap_err()
            .message,
        "AttributeError(\"type object 'Dialog' has no attribute 'nope'\")"
    );
}
