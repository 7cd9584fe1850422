use serde_json::json;

use super::extract::{cannot_extract, parse_answer, plain_time, Extracted};
use super::messages::{message_size, split_pair};
use super::*;

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn pairs(q: &str) -> Vec<(String, String)> {
    crate::contract::http::query_pairs(Some(q))
}

#[test]
fn required_arguments_are_reported_like_validate_request() {
    let e = require(
        &obj(json!({"name": "x", "embd_id": null})),
        &["name", "memory_type", "embd_id"],
    )
    .unwrap_err();
    assert_eq!(
        e.body(),
        json!({"code": 101, "message": "required argument are missing: memory_type,embd_id; ", "data": null})
    );
    assert!(require(&obj(json!({"name": ""})), &["name"]).is_ok());
}

#[test]
fn memory_types_are_checked_with_upstreams_messages() {
    assert_eq!(
        parse_memory_types(&json!(["raw", "episodic"])).unwrap(),
        1 | 4
    );
    assert_eq!(parse_memory_types(&json!([])).unwrap(), 0);
    assert_eq!(
        parse_memory_types(&json!("raw")).unwrap_err().message,
        "Memory type must be a list."
    );
    assert_eq!(
        parse_memory_types(&json!(["raw", "sensory", 3, "sensory"]))
            .unwrap_err()
            .message,
        "Memory type '{'sensory', 3}' is not supported."
    );
}

#[test]
fn names_are_stripped_and_limited() {
    assert_eq!(parse_name(&json!("  notes ")).unwrap(), "notes");
    assert_eq!(
        parse_name(&json!("   ")).unwrap_err().message,
        "Memory name cannot be empty or whitespace."
    );
    let long = "a".repeat(129);
    assert_eq!(
        parse_name(&json!(long)).unwrap_err().message,
        format!("Memory name '{long}' exceeds limit of 128.")
    );
    assert!(
        parse_name(&json!("é".repeat(128))).is_ok(),
        "the limit counts characters"
    );
    assert_eq!(parse_name(&json!(5)).unwrap_err().code, 101);
}

#[test]
fn memory_objects_carry_every_field_the_sdk_declares() {
    let m = crate::ports::conformance_memories::sample_memory("t", "n");
    let v = memory_json(&m, Some("owner"), false);
    for k in [
        "id",
        "name",
        "avatar",
        "tenant_id",
        "owner_name",
        "memory_type",
        "storage_type",
        "embd_id",
        "llm_id",
        "permissions",
        "description",
        "memory_size",
        "forgetting_policy",
        "temperature",
        "system_prompt",
        "user_prompt",
        "create_time",
        "create_date",
        "update_time",
        "update_date",
    ] {
        assert!(v.get(k).is_some(), "{k}");
    }
    assert_eq!(v["memory_type"], json!(["raw", "episodic"]));
    assert_eq!(v["owner_name"], "owner");
    assert!(v["update_time"].is_null() && v["update_date"].is_null());
    assert_eq!(
        memory_json(&m, None, true)["update_time"],
        json!(m.update_time)
    );
}

#[test]
fn query_lists_repeat_or_split_on_commas() {
    assert_eq!(list_arg(&pairs("a=x&a=y"), "a"), vec!["x", "y"]);
    assert_eq!(list_arg(&pairs("a=x,y"), "a"), vec!["x", "y"]);
    assert!(list_arg(&pairs("b=1"), "a").is_empty());
    assert_eq!(int_arg(&pairs("page=3"), "page", 1), Ok(3));
    assert_eq!(int_arg(&pairs(""), "page", 1), Ok(1));
    assert_eq!(
        int_arg(&pairs("page=x"), "page", 1),
        Err("invalid literal for int() with base 10: 'x'".into())
    );
}

#[test]
fn message_paths_split_at_the_last_colon() {
    assert_eq!(split_pair("abc:12"), ("abc".into(), "12".into()));
    assert_eq!(split_pair("abc"), ("abc".into(), String::new()));
    assert_eq!(split_pair("a:b:3"), ("a:b".into(), "3".into()));
}

#[test]
fn sizes_count_text_bytes_and_eight_per_dimension() {
    assert_eq!(message_size("héllo", 0), 6);
    assert_eq!(message_size("ab", 384), 2 + 3072);
}

#[test]
fn extraction_answers_are_read_leniently() {
    let answer = "Sure!\n```json\n{\"semantic\": [{\"content\": \"User likes tea\", \
                  \"valid_at\": \"2026-01-31T09:30:00Z\", \"invalid_at\": \"\"}, \"plain fact\", \
                  {\"content\": \"  \"}], \"episodic\": [{\"content\": \"ignored: not a kind of \
                  this memory\"}], \"procedural\": [{\"content\": \"Brews tea at 8\", \
                  \"valid_at\": \"2026-02-01\", \"invalid_at\": \"2027-01-01T00:00:00\"}]}\n```";
    let got = parse_answer(answer, &["semantic", "procedural"], "2026-03-03 03:03:03").unwrap();
    assert_eq!(
        got,
        vec![
            Extracted {
                message_type: "semantic".into(),
                content: "User likes tea".into(),
                valid_at: "2026-01-31 09:30:00".into(),
                invalid_at: None,
            },
            Extracted {
                message_type: "semantic".into(),
                content: "plain fact".into(),
                valid_at: "2026-03-03 03:03:03".into(),
                invalid_at: None,
            },
            Extracted {
                message_type: "procedural".into(),
                content: "Brews tea at 8".into(),
                valid_at: "2026-02-01 00:00:00".into(),
                invalid_at: Some("2027-01-01 00:00:00".into()),
            },
        ]
    );
    assert_eq!(parse_answer("no json here", &["semantic"], "t"), None);
    assert_eq!(
        parse_answer("{\"semantic\": []}", &["semantic"], "t"),
        Some(vec![])
    );
    assert_eq!(plain_time("yesterday"), None);
}

#[test]
fn only_provider_models_can_extract() {
    assert!(
        cannot_extract("extractive-answerer@Builtin").is_some_and(|m| m.contains("cannot extract"))
    );
    assert!(cannot_extract("gpt-4o-mini@OpenAI").is_none());
}
