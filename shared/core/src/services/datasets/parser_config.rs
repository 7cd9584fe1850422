//! `parser_config`: the defaults of each chunk method, deep merging, and validation with
//! upstream's messages.

use super::*;

/// Recursively merge `patch` into `base`: objects merge key by key, anything else replaces.
pub fn deep_merge(base: &Value, patch: &Value) -> Value {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            let mut out = b.clone();
            for (k, v) in p {
                let merged = match out.get(k) {
                    Some(existing @ Value::Object(_)) if v.is_object() => deep_merge(existing, v),
                    _ => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (_, p) => p.clone(),
    }
}

pub(super) fn entity_types() -> Value {
    json!(["organization", "person", "geo", "event", "category"])
}

/// Method defaults merged over `{table_context_size, image_context_size}` (contract 6.2).
/// `None` for a method upstream does not map.
pub fn method_defaults(chunk_method: &str) -> Option<Value> {
    let off = json!({"raptor": {"use_raptor": false}, "graphrag": {"use_graphrag": false}});
    let specific = match chunk_method {
        "naive" => json!({
            "layout_recognize": "DeepDOC",
            "chunk_token_num": 512,
            "delimiter": "\n",
            "auto_keywords": 0,
            "auto_questions": 0,
            "html4excel": false,
            "topn_tags": 3,
            "raptor": {
                "use_raptor": true,
                "prompt": RAPTOR_PROMPT,
                "max_token": 256,
                "threshold": 0.1,
                "max_cluster": 64,
                "random_seed": 0
            },
            "graphrag": {
                "use_graphrag": true,
                "entity_types": entity_types(),
                "method": "light"
            }
        }),
        "qa" | "manual" | "paper" | "book" | "laws" | "presentation" => off,
        "knowledge_graph" => json!({
            "chunk_token_num": 8192,
            "delimiter": "\\n",
            "entity_types": ["organization", "person", "location", "event", "time"],
            "raptor": {"use_raptor": false},
            "graphrag": {"use_graphrag": false}
        }),
        "tag" | "resume" | "table" | "one" | "email" | "picture" => json!({}),
        _ => return None,
    };
    Some(specific)
}

/// Upstream's `get_parser_config(chunk_method, parser_config)`.
pub fn parser_config_for(chunk_method: &str, supplied: Option<&Value>) -> Value {
    let base = json!({"table_context_size": 0, "image_context_size": 0});
    let method = if chunk_method.is_empty() {
        "naive"
    } else {
        chunk_method
    };
    let defaults = method_defaults(method).unwrap_or_else(|| json!({}));
    let merged = deep_merge(&base, &defaults);
    match supplied {
        Some(cfg) if cfg.as_object().is_some_and(|m| !m.is_empty()) => deep_merge(&merged, cfg),
        _ => merged,
    }
}

/// A validated `parser_config`: everything with defaults (used on create) and only the keys
/// the caller sent (used on update, which patches).
#[derive(Debug, Clone, PartialEq)]
pub struct ParserConfigInput {
    pub full: Value,
    pub set: Value,
}

/// Fills a nested model's two dumps (everything with defaults, and only what was sent).
type ModelFields<'f> =
    dyn FnMut(&mut ObjectCheck<'_>, &mut Map<String, Value>, &mut Map<String, Value>) + 'f;

/// Validate one nested model; returns (full dump, set-only dump).
pub(super) fn check_model(
    errors: &mut Vec<FieldError>,
    loc: &str,
    v: &Value,
    model_name: &str,
    fields: &mut ModelFields<'_>,
) -> Option<(Value, Value)> {
    let Some(obj) = v.as_object() else {
        errors.push(FieldError::new(
            loc,
            format!("Input should be a valid dictionary or instance of {model_name}"),
            v,
        ));
        return None;
    };
    let mut check = ObjectCheck::new(obj, loc);
    let mut full = Map::new();
    let mut set = Map::new();
    fields(&mut check, &mut full, &mut set);
    check.forbid_extra();
    if check.errors.is_empty() {
        Some((Value::Object(full), Value::Object(set)))
    } else {
        errors.extend(check.errors);
        None
    }
}

/// Helper that records a field's validated value (or its default) in both dumps.
pub(super) fn put(
    full: &mut Map<String, Value>,
    set: &mut Map<String, Value>,
    key: &str,
    sent: bool,
    value: Option<Value>,
    default: Value,
) {
    match (sent, value) {
        (true, Some(v)) => {
            full.insert(key.into(), v.clone());
            set.insert(key.into(), v);
        }
        (false, _) => {
            full.insert(key.into(), default);
        }
        (true, None) => {} // invalid; the error is already recorded
    }
}

pub(super) fn raptor_fields(
    c: &mut ObjectCheck<'_>,
    full: &mut Map<String, Value>,
    set: &mut Map<String, Value>,
) {
    let v = c.field("use_raptor");
    let r = v.and_then(|v| bool_field(c, "use_raptor", v));
    put(full, set, "use_raptor", v.is_some(), r, json!(false));
    let v = c.field("prompt");
    let r = v.and_then(|v| str_len(c, "prompt", v, true, Some(1), None).map(Value::String));
    put(full, set, "prompt", v.is_some(), r, json!(RAPTOR_PROMPT));
    let v = c.field("max_token");
    let r = v.and_then(|v| int_in(c, "max_token", v, Some(1), Some(2048)).map(Value::from));
    put(full, set, "max_token", v.is_some(), r, json!(256));
    let v = c.field("threshold");
    let r = v.and_then(|v| float_in(c, "threshold", v, Some(0.0), Some(1.0)).map(Value::from));
    put(full, set, "threshold", v.is_some(), r, json!(0.1));
    let v = c.field("max_cluster");
    let r = v.and_then(|v| int_in(c, "max_cluster", v, Some(1), Some(1024)).map(Value::from));
    put(full, set, "max_cluster", v.is_some(), r, json!(64));
    let v = c.field("random_seed");
    let r = v.and_then(|v| int_in(c, "random_seed", v, Some(0), None).map(Value::from));
    put(full, set, "random_seed", v.is_some(), r, json!(0));
    let v = c.field("auto_disable_for_structured_data");
    let r = v.and_then(|v| bool_field(c, "auto_disable_for_structured_data", v));
    put(
        full,
        set,
        "auto_disable_for_structured_data",
        v.is_some(),
        r,
        json!(true),
    );
}

pub(super) fn graphrag_fields(
    c: &mut ObjectCheck<'_>,
    full: &mut Map<String, Value>,
    set: &mut Map<String, Value>,
) {
    let v = c.field("use_graphrag");
    let r = v.and_then(|v| bool_field(c, "use_graphrag", v));
    put(full, set, "use_graphrag", v.is_some(), r, json!(false));
    let v = c.field("entity_types");
    let r = v.and_then(|v| str_list(c, "entity_types", v).map(|l| json!(l)));
    put(full, set, "entity_types", v.is_some(), r, entity_types());
    let v = c.field("method");
    let r = v.and_then(|v| match v.as_str() {
        Some(s @ ("light" | "general")) => Some(json!(s)),
        _ => {
            c.fail("method", literal_msg(&["light", "general"]), v);
            None
        }
    });
    put(full, set, "method", v.is_some(), r, json!("light"));
    let v = c.field("community");
    let r = v.and_then(|v| bool_field(c, "community", v));
    put(full, set, "community", v.is_some(), r, json!(false));
    let v = c.field("resolution");
    let r = v.and_then(|v| bool_field(c, "resolution", v));
    put(full, set, "resolution", v.is_some(), r, json!(false));
}

pub(super) fn bool_field(c: &mut ObjectCheck<'_>, field: &str, v: &Value) -> Option<Value> {
    match strict_bool(v) {
        Ok(b) => Some(json!(b)),
        Err(m) => {
            c.fail(field, m, v);
            None
        }
    }
}

pub(super) fn parser_config_fields(
    c: &mut ObjectCheck<'_>,
    full: &mut Map<String, Value>,
    set: &mut Map<String, Value>,
    nested_errors: &mut Vec<FieldError>,
) {
    let v = c.field("auto_keywords");
    let r = v.and_then(|v| int_in(c, "auto_keywords", v, Some(0), Some(32)).map(Value::from));
    put(full, set, "auto_keywords", v.is_some(), r, json!(0));
    let v = c.field("auto_questions");
    let r = v.and_then(|v| int_in(c, "auto_questions", v, Some(0), Some(10)).map(Value::from));
    put(full, set, "auto_questions", v.is_some(), r, json!(0));
    let v = c.field("chunk_token_num");
    let r = v.and_then(|v| int_in(c, "chunk_token_num", v, Some(1), Some(2048)).map(Value::from));
    put(full, set, "chunk_token_num", v.is_some(), r, json!(512));
    let v = c.field("delimiter");
    let r = v.and_then(|v| str_len(c, "delimiter", v, false, Some(1), None).map(Value::String));
    put(full, set, "delimiter", v.is_some(), r, json!("\\n"));
    let v = c.field("graphrag");
    let loc = c.loc("graphrag");
    let r = v.and_then(|v| {
        check_model(
            nested_errors,
            &loc,
            v,
            "GraphragConfig",
            &mut graphrag_fields,
        )
    });
    match (v.is_some(), r) {
        (true, Some((f, s))) => {
            full.insert("graphrag".into(), f);
            set.insert("graphrag".into(), s);
        }
        (false, _) => {
            full.insert(
                "graphrag".into(),
                json!({"use_graphrag": false, "entity_types": entity_types(), "method": "light", "community": false, "resolution": false}),
            );
        }
        _ => {}
    }
    let v = c.field("html4excel");
    let r = v.and_then(|v| bool_field(c, "html4excel", v));
    put(full, set, "html4excel", v.is_some(), r, json!(false));
    let v = c.field("layout_recognize");
    let r = v.and_then(|v| str_len(c, "layout_recognize", v, false, None, None).map(Value::String));
    put(
        full,
        set,
        "layout_recognize",
        v.is_some(),
        r,
        json!("DeepDOC"),
    );
    let v = c.field("raptor");
    let loc = c.loc("raptor");
    let r = v.and_then(|v| check_model(nested_errors, &loc, v, "RaptorConfig", &mut raptor_fields));
    match (v.is_some(), r) {
        (true, Some((f, s))) => {
            full.insert("raptor".into(), f);
            set.insert("raptor".into(), s);
        }
        (false, _) => {
            full.insert(
                "raptor".into(),
                json!({"use_raptor": false, "prompt": RAPTOR_PROMPT, "max_token": 256, "threshold": 0.1, "max_cluster": 64, "random_seed": 0, "auto_disable_for_structured_data": true}),
            );
        }
        _ => {}
    }
    let v = c.field("tag_kb_ids");
    let r = v.and_then(|v| str_list(c, "tag_kb_ids", v).map(|l| json!(l)));
    put(full, set, "tag_kb_ids", v.is_some(), r, json!([]));
    let v = c.field("topn_tags");
    let r = v.and_then(|v| int_in(c, "topn_tags", v, Some(1), Some(10)).map(Value::from));
    put(full, set, "topn_tags", v.is_some(), r, json!(1));
    let v = c.field("filename_embd_weight");
    let r = v.and_then(|v| {
        if v.is_null() {
            Some(Value::Null)
        } else {
            float_in(c, "filename_embd_weight", v, Some(0.0), Some(1.0)).map(Value::from)
        }
    });
    put(
        full,
        set,
        "filename_embd_weight",
        v.is_some(),
        r,
        json!(0.1),
    );
    let v = c.field("task_page_size");
    let r = v.and_then(|v| {
        if v.is_null() {
            Some(Value::Null)
        } else {
            int_in(c, "task_page_size", v, Some(1), None).map(Value::from)
        }
    });
    put(full, set, "task_page_size", v.is_some(), r, Value::Null);
    let v = c.field("pages");
    let r = v.and_then(|v| pages_field(c, v));
    put(full, set, "pages", v.is_some(), r, Value::Null);
}

/// `list[list[int]] | None`.
pub(super) fn pages_field(c: &mut ObjectCheck<'_>, v: &Value) -> Option<Value> {
    if v.is_null() {
        return Some(Value::Null);
    }
    let Some(outer) = v.as_array() else {
        c.fail("pages", MSG_LIST, v);
        return None;
    };
    let mut ok = true;
    for (i, inner) in outer.iter().enumerate() {
        match inner.as_array() {
            None => {
                c.fail(&format!("pages.{i}"), MSG_LIST, inner);
                ok = false;
            }
            Some(items) => {
                for (j, item) in items.iter().enumerate() {
                    if crate::contract::validation::strict_int(item).is_err() {
                        c.fail(&format!("pages.{i}.{j}"), MSG_INT, item);
                        ok = false;
                    }
                }
            }
        }
    }
    ok.then(|| v.clone())
}

/// Validate a `parser_config` value as upstream's `ParserConfig` model does (after its
/// "empty means none" normalisation). `Some(None)` for null and `{}`.
pub(super) fn check_parser_config(
    errors: &mut Vec<FieldError>,
    v: &Value,
) -> Option<Option<ParserConfigInput>> {
    // Upstream maps only `{}` (and null, the field's own default) to "no config".
    let empty = match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        _ => false,
    };
    if empty {
        return Some(None);
    }
    let mut nested = Vec::new();
    let result = check_model(
        errors,
        "parser_config",
        v,
        "ParserConfig",
        &mut |c, full, set| parser_config_fields(c, full, set, &mut nested),
    );
    if !nested.is_empty() {
        errors.extend(nested);
        return None;
    }
    let (full, set) = result?;
    let size = serde_json::to_string(&full)
        .map(|s| s.chars().count())
        .unwrap_or(0);
    if size > 65535 {
        errors.push(FieldError::new(
            "parser_config",
            format!(
                "Parser config exceeds size limit (max 65,535 characters). Current size: {size}"
            ),
            v,
        ));
        return None;
    }
    Some(Some(ParserConfigInput { full, set }))
}
