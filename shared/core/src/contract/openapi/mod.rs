//! The OpenAPI 3.1 document of every `/api/v1` route (served at `GET /api/v1/openapi.json`,
//! rendered by `GET /api/v1/docs`).
//!
//! Kept by hand beside the contract rather than derived from handler annotations: the
//! handlers read raw bodies (upstream's loose parsing rules), so there are no request types
//! to derive schemas from. Drift is caught by tests instead: `tests/e2e/tests/openapi.rs`
//! compares the document with what the routers really serve and with template.yaml's routes.

mod agents;
mod chat;
mod dataset_tasks;
mod files;
mod knowledge;
mod memories;
mod searches;
mod v027;

use std::sync::OnceLock;

use serde_json::{json, Map, Value};

/// The browsable page: a self-contained HTML renderer of the document (no CDN, no build).
pub const DOCS_HTML: &str = include_str!("docs.html");

/// The whole document, built once.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build)
}

/// Every documented operation as `(METHOD, path)`, paths as written in the document.
pub fn operations() -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(paths) = document()["paths"].as_object() {
        for (path, item) in paths {
            for method in item.as_object().into_iter().flat_map(Map::keys) {
                out.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// Whether a concrete request path matches a documented path template (any method). The
/// 404 fallback uses it to answer upstream's wrong-method reply on deployments whose
/// gateway routes by method (an unrouted method lands on the `$default` function).
pub fn is_documented_path(path: &str) -> bool {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    document()["paths"]
        .as_object()
        .is_some_and(|paths| paths.keys().any(|t| template_matches(t, &segs)))
}

fn template_matches(template: &str, segs: &[&str]) -> bool {
    let tsegs: Vec<&str> = template.split('/').collect();
    tsegs.len() == segs.len()
        // A parameter matches any one segment, even an empty one, as the router's does.
        && tsegs
            .iter()
            .zip(segs)
            .all(|(t, s)| (t.starts_with('{') && t.ends_with('}')) || t == s)
}

fn build() -> Value {
    let mut paths = Map::new();
    for (path, method, op) in knowledge::operations()
        .into_iter()
        .chain(dataset_tasks::operations())
        .chain(chat::operations())
        .chain(v027::operations())
        .chain(memories::operations())
        .chain(files::operations())
        .chain(searches::operations())
        .chain(agents::operations())
    {
        let item = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        if let Some(item) = item.as_object_mut() {
            item.insert(method.to_string(), op);
        }
    }
    let mut schemas = common_schemas();
    schemas.extend(knowledge::schemas());
    schemas.extend(chat::schemas());
    schemas.extend(memories::schemas());
    schemas.extend(files::schemas());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "lambdarag /api/v1",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "RAGFlow-compatible HTTP API. Replies are HTTP 200 with a \
                `{code, message, data}` envelope unless an operation says otherwise: `code` 0 \
                is success (successful replies usually carry no `message`); errors carry the \
                upstream code (100 exception, 101 argument, 102 data, 108 permission, 109 \
                authentication) and a message. Unknown paths answer HTTP 404 with the \
                envelope; a known path with another method answers code 100 \
                `<MethodNotAllowed '405: Method Not Allowed'>`. Trailing slashes are ignored.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "tags": [
            {"name": "datasets", "description": "Datasets (knowledge bases) and their graph / RAPTOR tasks"},
            {"name": "documents", "description": "Documents of a dataset: upload, list, update, download, delete, parse"},
            {"name": "chunks", "description": "Chunks of a document"},
            {"name": "retrieval", "description": "Retrieval over datasets, and Dify's external-knowledge API"},
            {"name": "chats", "description": "Chat assistants"},
            {"name": "sessions", "description": "Chat sessions and completions"},
            {"name": "audio", "description": "Text to speech and speech to text with the tenant's default audio models"},
            {"name": "openai", "description": "OpenAI-compatible chat completions"},
            {"name": "files", "description": "The personal file manager (`/file/*` and v0.27's `/files*`)"},
            {"name": "meta", "description": "This document and its browsable page"},
            {"name": "memories", "description": "Agent memories (HTTP 401 on a bad key)"},
            {"name": "messages", "description": "Messages of memories: add, search, recall, forget"},
            {"name": "searches", "description": "Search apps: saved retrieval settings plus an answer (v0.27)"},
            {"name": "agents", "description": "Agents: canvases, sessions and completions"},
            {"name": "system", "description": "Health, liveness and version (no key)"},
        ],
        "security": [{"ApiKey": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "ApiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`Authorization: Bearer <API key>`; a key belongs to one \
                        tenant (`lambdarag tenant create`). The scheme word is not checked: the \
                        second whitespace-separated token is the key. A missing header answers \
                        code 0 with data false; an unknown key answers code 109.",
                }
            },
            "schemas": schemas,
        },
    })
}

// ---------------------------------------------------------------------------------------
// Builders shared by the path files
// ---------------------------------------------------------------------------------------

pub(super) fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// One operation. `params` and `body` may be empty / None; `responses` is the full map.
pub(super) fn operation(
    tag: &str,
    id: &str,
    summary: &str,
    params: Vec<Value>,
    body: Option<Value>,
    responses: Value,
) -> Value {
    let mut op = json!({
        "tags": [tag],
        "operationId": id,
        "summary": summary,
        "responses": responses,
    });
    if !params.is_empty() {
        op["parameters"] = Value::Array(params);
    }
    if let Some(body) = body {
        op["requestBody"] = body;
    }
    op
}

pub(super) fn path_param(name: &str, description: &str) -> Value {
    json!({
        "name": name, "in": "path", "required": true, "description": description,
        "schema": {"type": "string"},
    })
}

pub(super) fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({
        "name": name, "in": "query", "required": false, "description": description,
        "schema": schema,
    })
}

/// The paging / ordering parameters of the list routes.
pub(super) fn paging(default_size: u32) -> Vec<Value> {
    vec![
        query(
            "page",
            "1-based page (default 1)",
            json!({"type": "integer", "minimum": 1}),
        ),
        query(
            "page_size",
            &format!("page size (default {default_size})"),
            json!({"type": "integer", "minimum": 1}),
        ),
        query(
            "orderby",
            "order column (default create_time)",
            json!({"type": "string", "enum": ["create_time", "update_time"]}),
        ),
        query(
            "desc",
            "descending order (default true)",
            json!({"type": "boolean"}),
        ),
    ]
}

/// An optional JSON body (the loose routes treat an empty body as `{}`).
pub(super) fn json_body(schema: Value, required: bool) -> Option<Value> {
    Some(json!({
        "required": required,
        "content": {"application/json": {"schema": schema}},
    }))
}

/// HTTP 200 with the envelope; `data` on success (code 0) is `success`, on errors absent,
/// null or false.
pub(super) fn envelope_reply(description: &str, success: Value) -> Value {
    json!({"200": {
        "description": description,
        "content": {"application/json": {"schema": envelope_of(success)}},
    }})
}

pub(super) fn envelope_of(success: Value) -> Value {
    json!({
        "allOf": [schema_ref("Envelope")],
        "properties": {
            // Separate alternatives, not `"type": ["null", "boolean"]`: schemathesis 4.32's
            // dependency analysis fails on a type list inside a composition.
            "data": {"anyOf": [success, {"type": "null"}, {"type": "boolean"}]},
        },
    })
}

/// A reply whose success carries no data (`{"code":0}`), or a batch's partial-success counts.
pub(super) fn batch_reply(description: &str) -> Value {
    envelope_reply(description, schema_ref("BatchResult"))
}

fn common_schemas() -> Map<String, Value> {
    let v = json!({
        "Envelope": {
            "type": "object",
            "description": "Every JSON reply of the RAGFlow contract. Successful replies have \
                code 0 and usually no message; errors have a nonzero code and a message. \
                Some replies add keys (`total_datasets` on the dataset list, `error` on 404).",
            "required": ["code"],
            "properties": {
                "code": {"type": "integer", "description": "0 success; else an upstream RetCode"},
                "message": {"type": ["string", "boolean"]},
                "data": {},
            },
        },
        "BatchResult": {
            "type": "object",
            "description": "Partial success of a batch (duplicates or unknown ids skipped).",
            "properties": {
                "success_count": {"type": "integer"},
                "errors": {"type": "array", "items": {"type": "string"}},
            },
        },
        "Ids": {
            "type": "object",
            "properties": {
                "ids": {
                    "type": ["array", "null"],
                    "items": {"type": "string"},
                    "description": "ids to delete; absent, null or [] selects all (datasets: \
                        required; null selects all, [] none)",
                },
            },
        },
        "MetadataCondition": {
            "type": "object",
            "properties": {
                "logic": {"type": "string", "enum": ["and", "or"]},
                "conditions": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string"},
                            "comparison_operator": {"type": "string", "enum": [
                                "is", "not is", "=", "≠", ">", "<", "≥", "≤", "contains",
                                "not contains", "in", "not in", "start with", "end with",
                                "empty", "not empty",
                            ]},
                            "value": {},
                        },
                    },
                },
            },
        },
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A `json!` object literal as a map (the path files' schema tables).
pub(super) fn object_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_paths_match_concrete_paths() {
        assert!(is_documented_path("/api/v1/datasets"));
        assert!(is_documented_path(
            "/api/v1/datasets/abc/documents/x/chunks"
        ));
        assert!(is_documented_path("/api/v1/chats/abc/"));
        assert!(is_documented_path("/api/v1/datasets//documents"));
        assert!(!is_documented_path("/api/v1/datasets/x/chunks/y"));
        assert!(!is_documented_path("/api/v1/nothing"));
    }

    #[test]
    fn every_operation_has_an_id_a_tag_and_a_200_reply() {
        let mut ids = std::collections::HashSet::new();
        for (method, path) in operations() {
            let op = &document()["paths"][&path][method.to_lowercase()];
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(!id.is_empty(), "{method} {path}: no operationId");
            assert!(ids.insert(id.to_string()), "duplicate operationId {id}");
            assert!(op["tags"][0].is_string(), "{method} {path}: no tag");
            assert!(
                op["responses"]["200"].is_object(),
                "{method} {path}: no 200"
            );
        }
    }

    #[test]
    fn every_schema_reference_resolves() {
        let text = document().to_string();
        let schemas = &document()["components"]["schemas"];
        for part in text.split("\"#/components/schemas/").skip(1) {
            let name = part.split('"').next().unwrap_or_default();
            assert!(schemas[name].is_object(), "dangling $ref {name}");
        }
    }
}
