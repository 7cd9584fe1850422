//! Request models of D1–D4: create and update bodies, list queries, delete bodies.

use super::*;

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
    /// v0.27's `auto_metadata_config` (create only), validated and normalised.
    pub auto_metadata_config: Option<Value>,
}

impl DatasetFields {
    pub(super) fn is_empty(&self) -> bool {
        *self == DatasetFields::default()
    }
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Mode {
    Create,
    Update,
}

pub(super) fn check_avatar(c: &mut ObjectCheck<'_>, v: &Value) -> Option<Option<String>> {
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

pub(super) fn check_embedding_model(c: &mut ObjectCheck<'_>, v: &Value) -> Option<Option<String>> {
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

pub(super) fn check_fields(
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
    if mode == Mode::Create {
        if let Some(v) = c.field("auto_metadata_config").filter(|v| !v.is_null()) {
            out.auto_metadata_config =
                super::v027::check_auto_metadata(&mut nested, "auto_metadata_config", v);
            c.errors.append(&mut nested);
        }
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
        // v0.27's keys are read by `v027::list_filters` and the handler.
        let known = ["id", "name", "page", "page_size", "orderby", "desc"];
        let v027 = ["include_parsing_status", "ids", "ext"];
        if !known.contains(k) && !v027.contains(k) {
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
