//! Datasets: request validation with upstream's messages, parser-config defaults, and the
//! create / list / update / delete rules of the contract (endpoints.md D1–D4).

use serde_json::{json, Map, Value};

use crate::contract::envelope::{ApiError, RetCode};
use crate::contract::error::StoreError;
use crate::contract::ids::{new_id, parse_uuid1};
use crate::contract::pyfmt::py_str;
use crate::contract::time::now_ms;
use crate::contract::validation::{
    float_in, format_errors, int_in, lax_bool, lax_int, literal_msg, max_len_msg, str_len,
    str_list, strict_bool, FieldError, ObjectCheck, MSG_EXTRA, MSG_INT, MSG_LIST,
};
use crate::domain::models::verify_embedding_model;
use crate::domain::{Dataset, DatasetListQuery, DatasetOrder, Tenant};
use crate::ports::MetadataStore;
use crate::state::AppState;

pub const CHUNK_METHODS: [&str; 12] = [
    "naive",
    "book",
    "email",
    "laws",
    "manual",
    "one",
    "paper",
    "picture",
    "presentation",
    "qa",
    "table",
    "tag",
];

pub const RAPTOR_PROMPT: &str = "Please summarize the following paragraphs. Be careful with the numbers, do not make things up. Paragraphs as following:\n      {cluster_content}\nThe above is the content you need to summarize.";

const NAME_LIMIT: usize = 128;
const UUID1_MSG: &str = "Invalid UUID1 format";

fn chunk_method_msg() -> String {
    literal_msg(&CHUNK_METHODS)
}

// ---------------------------------------------------------------------------------------
// parser_config defaults and merging
// ---------------------------------------------------------------------------------------

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

fn entity_types() -> Value {
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
fn check_model(
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
fn put(
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

fn raptor_fields(
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

fn graphrag_fields(
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

fn bool_field(c: &mut ObjectCheck<'_>, field: &str, v: &Value) -> Option<Value> {
    match strict_bool(v) {
        Ok(b) => Some(json!(b)),
        Err(m) => {
            c.fail(field, m, v);
            None
        }
    }
}

fn parser_config_fields(
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
fn pages_field(c: &mut ObjectCheck<'_>, v: &Value) -> Option<Value> {
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
fn check_parser_config(
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

// ---------------------------------------------------------------------------------------
// Request models
// ---------------------------------------------------------------------------------------

/// The fields of a create or update body. The outer `Option` is "was the key sent".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DatasetFields {
    pub name: Option<String>,
    pub avatar: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub embedding_model: Option<Option<String>>,
    pub permission: Option<String>,
    pub chunk_method: Option<String>,
    pub parse_type: Option<Option<i64>>,
    pub pipeline_id: Option<Option<String>>,
    pub parser_config: Option<Option<ParserConfigInput>>,
    pub pagerank: Option<i64>,
}

impl DatasetFields {
    fn is_empty(&self) -> bool {
        *self == DatasetFields::default()
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Create,
    Update,
}

fn check_avatar(c: &mut ObjectCheck<'_>, v: &Value) -> Option<Option<String>> {
    if v.is_null() {
        return Some(None);
    }
    let s = str_len(c, "avatar", v, false, None, Some(65535))?;
    let Some((prefix, _)) = s.split_once(',') else {
        c.fail(
            "avatar",
            "Missing MIME prefix. Expected format: data:<mime>;base64,<data>",
            v,
        );
        return None;
    };
    let Some(rest) = prefix.strip_prefix("data:") else {
        c.fail(
            "avatar",
            "Invalid MIME prefix format. Must start with 'data:'",
            v,
        );
        return None;
    };
    let mime = rest.split(';').next().unwrap_or("");
    if mime != "image/jpeg" && mime != "image/png" {
        c.fail(
            "avatar",
            "Unsupported MIME type. Allowed: ['image/jpeg', 'image/png']",
            v,
        );
        return None;
    }
    Some(Some(s))
}

fn check_embedding_model(c: &mut ObjectCheck<'_>, v: &Value) -> Option<Option<String>> {
    if v.is_null() {
        return Some(None);
    }
    let stripped = match v {
        Value::String(s) => Value::String(s.trim().to_string()),
        other => other.clone(),
    };
    let s = str_len(c, "embedding_model", &stripped, false, None, Some(255))?;
    if !s.contains('@') {
        c.fail(
            "embedding_model",
            "Embedding model identifier must follow <model_name>@<provider> format",
            v,
        );
        return None;
    }
    let (model, provider) = s.split_once('@').unwrap_or_default();
    if model.is_empty() || provider.is_empty() {
        c.fail(
            "embedding_model",
            "Both model_name and provider must be non-empty strings",
            v,
        );
        return None;
    }
    if model.trim().is_empty() || provider.trim().is_empty() {
        c.fail(
            "embedding_model",
            "Model name and provider cannot be whitespace-only strings",
            v,
        );
        return None;
    }
    Some(Some(s))
}

fn check_fields(
    body: &Map<String, Value>,
    mode: Mode,
    dataset_id: Option<&str>,
) -> Result<(DatasetFields, Option<String>), ApiError> {
    let mut out = DatasetFields::default();
    let mut nested: Vec<FieldError> = Vec::new();
    // The path id joins the payload as upstream's `extras` do (a body `dataset_id` loses).
    let mut obj = body.clone();
    if let Some(id) = dataset_id {
        obj.insert("dataset_id".into(), Value::String(id.to_string()));
    }
    let mut c = ObjectCheck::new(&obj, "");

    let name = if mode == Mode::Create {
        c.required("name")
    } else {
        c.field("name")
    };
    if let Some(v) = name {
        out.name = str_len(&mut c, "name", v, true, Some(1), Some(NAME_LIMIT));
    }
    if let Some(v) = c.field("avatar") {
        out.avatar = check_avatar(&mut c, v);
    }
    if let Some(v) = c.field("description") {
        out.description = if v.is_null() {
            Some(None)
        } else {
            str_len(&mut c, "description", v, false, None, Some(65535)).map(Some)
        };
    }
    if let Some(v) = c.field("embedding_model") {
        out.embedding_model = check_embedding_model(&mut c, v);
    }
    if let Some(v) = c.field("permission") {
        match v.as_str() {
            Some(p @ ("me" | "team")) => out.permission = Some(p.to_string()),
            _ => c.fail("permission", literal_msg(&["me", "team"]), v),
        }
    }
    if let Some(v) = c.field("chunk_method") {
        match v.as_str() {
            Some(m) if CHUNK_METHODS.contains(&m) => out.chunk_method = Some(m.to_string()),
            _ => c.fail("chunk_method", chunk_method_msg(), v),
        }
    }
    if let Some(v) = c.field("parse_type") {
        out.parse_type = if v.is_null() {
            Some(None)
        } else {
            int_in(&mut c, "parse_type", v, Some(0), Some(64)).map(Some)
        };
    }
    if let Some(v) = c.field("pipeline_id") {
        out.pipeline_id = if v.is_null() {
            Some(None)
        } else {
            match str_len(&mut c, "pipeline_id", v, false, Some(32), Some(32)) {
                None => None,
                Some(s) if !s.chars().all(|ch| ch.is_ascii_hexdigit()) => {
                    c.fail("pipeline_id", "pipeline_id must be hexadecimal", v);
                    None
                }
                Some(s) => Some(Some(s.to_lowercase())),
            }
        };
    }
    if let Some(v) = c.field("parser_config") {
        out.parser_config = check_parser_config(&mut nested, v);
        // Nested errors belong at this field's position in the error list.
        c.errors.append(&mut nested);
    }
    let mut normalised_id = None;
    if mode == Mode::Update {
        if let Some(v) = c.field("dataset_id") {
            match v.as_str().and_then(parse_uuid1) {
                Some(id) => normalised_id = Some(id),
                None => c.fail("dataset_id", UUID1_MSG, v),
            }
        }
        if let Some(v) = c.field("pagerank") {
            out.pagerank = int_in(&mut c, "pagerank", v, Some(0), Some(100));
        }
    }
    c.forbid_extra();
    if !c.errors.is_empty() {
        return Err(ApiError::argument(format_errors(&c.errors)));
    }

    // Model-level rule: a built-in chunk method and an ingestion pipeline are exclusive.
    let parse_type = out.parse_type.flatten();
    let pipeline_id = out.pipeline_id.clone().flatten();
    let whole = Value::Object(body.clone());
    if out.chunk_method.is_none() {
        if (parse_type.is_none()) != (pipeline_id.is_none()) {
            let missing: Vec<&str> = [
                parse_type.is_none().then_some("parse_type"),
                pipeline_id.is_none().then_some("pipeline_id"),
            ]
            .into_iter()
            .flatten()
            .collect();
            return Err(ApiError::argument(format_errors(&[FieldError::new(
                "",
                format!(
                    "parser_id omitted → required fields missing: {}",
                    missing.join(", ")
                ),
                &whole,
            )])));
        }
    } else if parse_type.is_some() || pipeline_id.is_some() {
        let present: Vec<&str> = [
            parse_type.is_some().then_some("parse_type"),
            pipeline_id.is_some().then_some("pipeline_id"),
        ]
        .into_iter()
        .flatten()
        .collect();
        return Err(ApiError::argument(format_errors(&[FieldError::new(
            "",
            format!(
                "parser_id provided → disallowed fields present: {}",
                present.join(", ")
            ),
            &whole,
        )])));
    }
    Ok((out, normalised_id))
}

/// Validate a create body (D1).
pub fn validate_create(body: &Map<String, Value>) -> Result<DatasetFields, ApiError> {
    check_fields(body, Mode::Create, None).map(|(f, _)| f)
}

/// Validate an update body and its path id (D3); returns the fields and the normalised id.
pub fn validate_update(
    dataset_id: &str,
    body: &Map<String, Value>,
) -> Result<(DatasetFields, String), ApiError> {
    let (fields, id) = check_fields(body, Mode::Update, Some(dataset_id))?;
    let id = id.ok_or_else(|| {
        ApiError::argument(format_errors(&[FieldError::new(
            "dataset_id",
            UUID1_MSG,
            &json!(dataset_id),
        )]))
    })?;
    Ok((fields, id))
}

/// Validate the list query string (D4), lax like upstream's `BaseListReq`.
pub fn validate_list(pairs: &[(String, String)]) -> Result<DatasetListQuery, ApiError> {
    // Werkzeug's `args.to_dict()` keeps the first value of each key.
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (k, v) in pairs {
        if !seen.iter().any(|(sk, _)| sk == k) {
            seen.push((k, v));
        }
    }
    let get = |k: &str| seen.iter().find(|(sk, _)| *sk == k).map(|(_, v)| *v);
    let mut errors = Vec::new();
    let mut q = DatasetListQuery {
        id: None,
        name: None,
        page: 1,
        page_size: 30,
        orderby: DatasetOrder::CreateTime,
        desc: true,
    };
    if let Some(v) = get("id") {
        match parse_uuid1(v) {
            Some(id) => q.id = Some(id),
            None => errors.push(FieldError::new("id", UUID1_MSG, &json!(v))),
        }
    }
    // Upstream tests the name for truth: `name=` (empty) filters nothing.
    if let Some(v) = get("name").filter(|v| !v.is_empty()) {
        q.name = Some(v.to_string());
    }
    for (key, slot) in [("page", &mut q.page), ("page_size", &mut q.page_size)] {
        if let Some(v) = get(key) {
            match lax_int(v) {
                Err(m) => errors.push(FieldError::new(key, m, &json!(v))),
                Ok(n) if n < 1 => errors.push(FieldError::new(
                    key,
                    crate::contract::validation::ge_msg(1),
                    &json!(v),
                )),
                Ok(n) => *slot = n as u64,
            }
        }
    }
    if let Some(v) = get("orderby") {
        match v {
            "create_time" => q.orderby = DatasetOrder::CreateTime,
            "update_time" => q.orderby = DatasetOrder::UpdateTime,
            _ => errors.push(FieldError::new(
                "orderby",
                literal_msg(&["create_time", "update_time"]),
                &json!(v),
            )),
        }
    }
    if let Some(v) = get("desc") {
        match lax_bool(v) {
            Ok(b) => q.desc = b,
            Err(m) => errors.push(FieldError::new("desc", m, &json!(v))),
        }
    }
    for (k, v) in &seen {
        if !["id", "name", "page", "page_size", "orderby", "desc"].contains(k) {
            errors.push(FieldError::new(*k, MSG_EXTRA, &json!(v)));
        }
    }
    if errors.is_empty() {
        Ok(q)
    } else {
        Err(ApiError::argument(format_errors(&errors)))
    }
}

/// Validate a delete body (D2): `ids` is required, a list of UUID1s or null.
pub fn validate_delete(body: &Map<String, Value>) -> Result<Option<Vec<String>>, ApiError> {
    let mut c = ObjectCheck::new(body, "");
    let mut ids = None;
    if let Some(v) = c.required("ids") {
        if !v.is_null() {
            if let Some(list) = str_list(&mut c, "ids", v) {
                let parsed: Option<Vec<String>> = list.iter().map(|s| parse_uuid1(s)).collect();
                match parsed {
                    None => c.fail("ids", UUID1_MSG, v),
                    Some(parsed) => {
                        let mut dups: Vec<String> = Vec::new();
                        for (i, id) in parsed.iter().enumerate() {
                            if parsed[..i].contains(id) && !dups.contains(id) {
                                dups.push(id.clone());
                            }
                        }
                        if dups.is_empty() {
                            ids = Some(parsed);
                        } else {
                            c.fail("ids", format!("Duplicate ids: '{}'", dups.join(", ")), v);
                        }
                    }
                }
            }
        }
    }
    c.forbid_extra();
    if !c.errors.is_empty() {
        return Err(ApiError::argument(format_errors(&c.errors)));
    }
    Ok(ids)
}

// ---------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------

/// The next candidate when a name is taken: `name` → `name(1)` → `name(2)`, with the
/// counter before a file-style extension (`a.txt` → `a(1).txt`), as upstream renames.
pub fn next_duplicate_name(name: &str) -> String {
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 && i + 1 < name.len() => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    let (base, counter) = match stem.strip_suffix(')').and_then(|s| s.rsplit_once('(')) {
        Some((b, n)) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => {
            (b, n.parse::<u64>().unwrap_or(0))
        }
        _ => (stem, 0),
    };
    format!("{base}({}){ext}", counter + 1)
}

async fn load_tenant(store: &dyn MetadataStore, tenant_id: &str) -> Result<Tenant, ApiError> {
    store
        .get_tenant(tenant_id)
        .await?
        .ok_or_else(|| ApiError::data("Tenant not found."))
}

/// D1: create a dataset; duplicate names are renamed `name(n)`.
pub async fn create(
    state: &AppState,
    tenant_id: &str,
    fields: DatasetFields,
) -> Result<Dataset, ApiError> {
    let store = state.meta.as_ref();
    let name = fields.name.clone().unwrap_or_default();
    if name.len() > NAME_LIMIT {
        return Err(ApiError::data(format!(
            "Dataset name length is {} which is large than {NAME_LIMIT}",
            name.chars().count()
        )));
    }
    let tenant = load_tenant(store, tenant_id).await?;
    let embedding_model = match fields.embedding_model.clone().flatten() {
        Some(m) => {
            verify_embedding_model(&tenant, &m)?;
            m
        }
        None => tenant.embd_id.clone(),
    };
    let chunk_method = fields
        .chunk_method
        .clone()
        .unwrap_or_else(|| "naive".into());
    let supplied = fields.parser_config.clone().flatten().map(|p| p.full);
    let mut parser_config = parser_config_for(&chunk_method, supplied.as_ref());
    if let Value::Object(m) = &mut parser_config {
        m.insert("llm_id".into(), json!(tenant.llm_id));
    }
    let now = now_ms();
    let mut dataset = Dataset {
        id: new_id(),
        avatar: fields.avatar.clone().flatten(),
        tenant_id: tenant_id.to_string(),
        name,
        language: "English".into(),
        description: fields.description.clone().flatten(),
        embedding_model,
        permission: fields.permission.clone().unwrap_or_else(|| "me".into()),
        created_by: tenant_id.to_string(),
        document_count: 0,
        token_num: 0,
        chunk_count: 0,
        similarity_threshold: 0.2,
        vector_similarity_weight: 0.3,
        chunk_method,
        pipeline_id: fields.pipeline_id.clone().flatten(),
        parser_config,
        pagerank: 0,
        graphrag_task_id: None,
        graphrag_task_finish_at: None,
        raptor_task_id: None,
        raptor_task_finish_at: None,
        mindmap_task_id: None,
        mindmap_task_finish_at: None,
        status: "1".into(),
        create_time: now,
        update_time: now,
    };
    // The store enforces name uniqueness atomically; on a clash try the next `(n)` name.
    for _ in 0..1000 {
        match store.insert_dataset(&dataset).await {
            Ok(()) => return Ok(dataset),
            Err(StoreError::Conflict(_)) => dataset.name = next_duplicate_name(&dataset.name),
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::data("Dataset created failed"))
}

fn lacks_permission(tenant_id: &str, what: &str) -> ApiError {
    ApiError::permission(format!(
        "User '{tenant_id}' lacks permission for dataset '{what}'"
    ))
}

/// D3: update a dataset with only the fields sent.
pub async fn update(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    fields: DatasetFields,
) -> Result<Dataset, ApiError> {
    if fields.is_empty() {
        return Err(ApiError::argument("No properties were modified"));
    }
    let store = state.meta.as_ref();
    let current = store
        .get_dataset(tenant_id, dataset_id)
        .await?
        .ok_or_else(|| lacks_permission(tenant_id, dataset_id))?;
    let mut next = current.clone();

    // parser_config: a non-empty patch deep-merges into the stored config; a new chunk
    // method without a config replaces it with that method's defaults.
    let patch = fields.parser_config.clone().flatten().map(|p| p.set);
    if let Some(p) = &patch {
        next.parser_config = deep_merge(&current.parser_config, p);
    }
    if let Some(m) = &fields.chunk_method {
        if *m != current.chunk_method && patch.is_none() {
            next.parser_config = parser_config_for(m, None);
        }
        next.chunk_method = m.clone();
    }
    if let Some(name) = &fields.name {
        if Dataset::name_key(name) != Dataset::name_key(&current.name)
            && store.find_dataset_by_name(tenant_id, name).await?.is_some()
        {
            return Err(ApiError::data(format!(
                "Dataset name '{name}' already exists"
            )));
        }
        next.name = name.clone();
    }
    if let Some(model) = &fields.embedding_model {
        let model = model
            .clone()
            .unwrap_or_else(|| current.embedding_model.clone());
        if current.chunk_count != 0 && model != current.embedding_model {
            return Err(ApiError::data(format!(
                "When chunk_num ({}) > 0, embedding_model must remain {}",
                current.chunk_count, current.embedding_model
            )));
        }
        let tenant = load_tenant(store, tenant_id).await?;
        verify_embedding_model(&tenant, &model)?;
        next.embedding_model = model;
    }
    if let Some(a) = &fields.avatar {
        next.avatar = a.clone();
    }
    if let Some(d) = &fields.description {
        next.description = d.clone();
    }
    if let Some(p) = &fields.permission {
        next.permission = p.clone();
    }
    if let Some(p) = fields.pagerank {
        next.pagerank = p;
    }
    if let Some(p) = &fields.pipeline_id {
        next.pipeline_id = p.clone();
    }
    next.update_time = now_ms();
    match store.update_dataset(&next).await {
        Ok(()) => Ok(next),
        Err(StoreError::Conflict(_)) => Err(ApiError::data(format!(
            "Dataset name '{}' already exists",
            next.name
        ))),
        Err(StoreError::NotFound(_)) => Err(lacks_permission(tenant_id, dataset_id)),
        Err(e) => Err(e.into()),
    }
}

/// D4: list the tenant's datasets; an `id` or `name` filter that matches nothing is a
/// permission error, as upstream reports it.
pub async fn list(
    state: &AppState,
    tenant_id: &str,
    query: &DatasetListQuery,
) -> Result<(Vec<Value>, u64), ApiError> {
    let store = state.meta.as_ref();
    if let Some(id) = &query.id {
        if store.get_dataset(tenant_id, id).await?.is_none() {
            return Err(lacks_permission(tenant_id, id));
        }
    }
    if let Some(name) = &query.name {
        if store.find_dataset_by_name(tenant_id, name).await?.is_none() {
            return Err(lacks_permission(tenant_id, name));
        }
    }
    let (page, total) = store.list_datasets(tenant_id, query).await?;
    let mut rows = Vec::with_capacity(page.len());
    for d in &page {
        rows.push(render(state, d).await?);
    }
    Ok((rows, total))
}

/// D2: delete datasets. `None` deletes all of the tenant's; every listed id must belong to
/// the tenant before anything is deleted.
pub async fn delete(
    state: &AppState,
    tenant_id: &str,
    ids: Option<Vec<String>>,
) -> Result<DeleteOutcome, ApiError> {
    let store = state.meta.as_ref();
    let targets: Vec<String> = match ids {
        None => {
            let all = DatasetListQuery {
                id: None,
                name: None,
                page: 1,
                page_size: u64::MAX,
                orderby: DatasetOrder::CreateTime,
                desc: true,
            };
            let (rows, _) = store.list_datasets(tenant_id, &all).await?;
            rows.into_iter().map(|d| d.id).collect()
        }
        Some(ids) => {
            let mut missing = Vec::new();
            for id in &ids {
                if store.get_dataset(tenant_id, id).await?.is_none() {
                    missing.push(id.clone());
                }
            }
            if !missing.is_empty() {
                return Err(ApiError::permission(format!(
                    "User '{tenant_id}' lacks permission for datasets: '{}'",
                    missing.join(", ")
                )));
            }
            ids
        }
    };
    let mut errors = Vec::new();
    let mut success = 0u64;
    for id in &targets {
        match remove_dataset(state, tenant_id, id).await {
            Ok(_) => success += 1,
            Err(e) => {
                tracing::error!(error = %e, dataset = %id, "dataset delete failed");
                errors.push(format!("Delete dataset error for {id}"));
            }
        }
    }
    if errors.is_empty() {
        return Ok(DeleteOutcome::Done);
    }
    let joined: String = errors.join("; ").chars().take(128).collect();
    let message = format!(
        "Successfully deleted {success} datasets, {} failed. Details: {joined}...",
        errors.len()
    );
    if success == 0 {
        return Err(ApiError::data(message));
    }
    errors.truncate(5);
    Ok(DeleteOutcome::Partial {
        success_count: success,
        errors,
    })
}

/// Remove a dataset with its documents, chunks and stored files.
async fn remove_dataset(state: &AppState, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
    // The dataset record goes first so nothing new can be added to it meanwhile.
    let existed = state.meta.delete_dataset(tenant_id, id).await?;
    if let Ok((docs, _)) = state
        .docs
        .list_documents(tenant_id, id, &crate::domain::DocumentListQuery::all())
        .await
    {
        for d in docs {
            state.docs.delete_document(tenant_id, id, &d.id).await?;
        }
        state.index.delete_dataset(tenant_id, id).await?;
        state
            .blobs
            .delete_prefix(tenant_id, &format!("{id}/"))
            .await?;
    }
    Ok(existed)
}

/// The dataset object with its aggregates filled from its documents.
pub async fn render(state: &AppState, d: &Dataset) -> Result<Value, ApiError> {
    let stats = state.docs.dataset_stats(&d.tenant_id, &d.id).await?;
    let mut d = d.clone();
    d.document_count = stats.document_count;
    d.chunk_count = stats.chunk_count;
    d.token_num = stats.token_num;
    Ok(d.to_api())
}

#[derive(Debug, PartialEq)]
pub enum DeleteOutcome {
    Done,
    Partial {
        success_count: u64,
        errors: Vec<String>,
    },
}

/// The message upstream gives for an unknown dataset id on the KG/RAPTOR routes.
pub fn no_authorization() -> ApiError {
    ApiError::new(RetCode::AuthenticationError, "No authorization.")
}

/// Used in messages that echo a raw value.
pub fn echo(v: &Value) -> String {
    py_str(v)
}

/// `max_length` message for a dataset name, exported for callers that check bytes.
pub fn name_too_long_msg() -> String {
    max_len_msg(NAME_LIMIT)
}

#[cfg(test)]
mod tests {
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
}
