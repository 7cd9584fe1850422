//! Search apps (v0.27 `/searches`) and the system routes (`/system/...`, and the pinned
//! `/v1/system/healthz` alias outside /api/v1).

use serde_json::{json, Value};

use super::{envelope_reply, json_body, operation, path_param, query};

type Op = (&'static str, &'static str, Value);

fn search() -> Value {
    path_param("search_id", "search app id")
}

fn search_config() -> Value {
    json!({
        "type": "object",
        "description": "Saved retrieval settings; missing keys keep upstream's defaults \
            (kb_ids [], doc_ids [], similarity_threshold 0.2, vector_similarity_weight 0.3, \
            top_k 1024, rerank_id \"\", chat_id \"\" = the tenant's default chat model, \
            llm_setting {}, summary/use_kg/highlight/keyword/web_search/related_search/\
            query_mindmap false, chat_setting_cross_languages [])",
        "properties": {
            "kb_ids": {"type": "array", "items": {"type": "string"}},
            "doc_ids": {"type": "array", "items": {"type": "string"}},
            "similarity_threshold": {"type": "number"},
            "vector_similarity_weight": {"type": "number"},
            "top_k": {"type": "integer"},
            "rerank_id": {"type": "string"},
            "chat_id": {"type": "string"},
            "llm_setting": {"type": "object"},
        },
    })
}

fn search_app() -> Value {
    json!({"type": "object", "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "description": {"type": "string"},
        "avatar": {"type": ["string", "null"]},
        "tenant_id": {"type": "string"},
        "created_by": {"type": "string"},
        // Values are kept as the client sent them (upstream validates none of them), so the
        // reply promises only an object.
        "search_config": {"type": "object", "description": "the saved settings, as sent over the defaults"},
        "create_time": {"type": "integer"},
        "update_time": {"type": "integer"},
    }})
}

fn sse(description: &str) -> Value {
    json!({"200": {
        "description": description,
        "content": {
            "text/event-stream": {"schema": {
                "type": "object",
                "properties": {"data": {"type": "string", "description": "one JSON frame"}},
            }},
            "application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}},
        },
    }})
}

fn health() -> Value {
    let body = json!({"type": "object", "properties": {
        "db": {"enum": ["ok", "nok"]},
        "redis": {"enum": ["ok", "nok"], "description": "the task queue (lambdarag has no redis)"},
        "doc_engine": {"enum": ["ok", "nok"]},
        "storage": {"enum": ["ok", "nok"]},
        "queue": {"enum": ["ok", "nok"]},
        "status": {"enum": ["ok", "nok"]},
        "_meta": {"type": "object", "description": "per failed component: elapsed (ms) and error"},
    }});
    let mut op = operation(
        "system",
        "healthz",
        "Health of every store the deployment uses (HTTP 200 all ok, 500 otherwise; no key)",
        vec![],
        None,
        json!({
            "200": {"description": "all ok", "content": {"application/json": {"schema": body.clone()}}},
            "500": {"description": "a store is down", "content": {"application/json": {"schema": body}}},
        }),
    );
    op["security"] = json!([]);
    op
}

pub(super) fn operations() -> Vec<Op> {
    let mut legacy_health = health();
    legacy_health["operationId"] = json!("healthzLegacy");
    legacy_health["summary"] = json!("The pinned path of GET /api/v1/system/healthz (same reply)");
    let mut ping = operation(
        "system",
        "ping",
        "Liveness: plain text `pong` (no key)",
        vec![],
        None,
        json!({"200": {"description": "pong", "content": {"text/plain": {"schema": {"type": "string"}}}}}),
    );
    ping["security"] = json!([]);
    let mut version = operation(
        "system",
        "version",
        "lambdarag's version (no key)",
        vec![],
        None,
        envelope_reply("the version string", json!({"type": "string"})),
    );
    version["security"] = json!([]);
    let mut config = operation(
        "system",
        "config",
        "What a login page reads (no key): lambdarag has no registration or password login",
        vec![],
        None,
        envelope_reply(
            "the flags",
            json!({"type": "object", "properties": {
                "registerEnabled": {"type": "integer"},
                "disablePasswordLogin": {"type": "boolean"},
            }}),
        ),
    );
    config["security"] = json!([]);
    let completion = |id: &'static str| {
        operation(
            "searches",
            id,
            "Answer a question with the app's saved configuration (SSE like /sessions/ask)",
            vec![search()],
            json_body(
                json!({"type": "object", "required": ["question"], "properties": {
                    "question": {"type": "string"},
                    "kb_ids": {"type": "array", "items": {"type": "string"},
                               "description": "used only when the app's config has none"},
                }}),
                true,
            ),
            sse("answer frames and `{\"code\":0,\"message\":\"\",\"data\":true}`, or an error envelope"),
        )
    };
    vec![
        (
            "/api/v1/searches",
            "post",
            operation(
                "searches",
                "createSearch",
                "Create a search app (a taken name gets a `(n)` suffix)",
                vec![],
                json_body(
                    json!({"type": "object", "required": ["name"], "properties": {
                        "name": {"type": "string", "maxLength": 255},
                        "description": {"type": "string"},
                        "avatar": {"type": "string"},
                        "search_config": search_config(),
                    }}),
                    true,
                ),
                envelope_reply(
                    "the new app's id",
                    json!({"type": "object", "properties": {"search_id": {"type": "string"}}}),
                ),
            ),
        ),
        (
            "/api/v1/searches",
            "get",
            operation(
                "searches",
                "listSearches",
                "List the tenant's search apps",
                vec![
                    query(
                        "keywords",
                        "case-insensitive name substring",
                        json!({"type": "string"}),
                    ),
                    query(
                        "page",
                        "1-based page; 0 (default) = no paging",
                        json!({"type": "integer"}),
                    ),
                    query(
                        "page_size",
                        "page size (at most 100); 0 (default) = no paging",
                        json!({"type": "integer", "maximum": 100}),
                    ),
                    query(
                        "orderby",
                        "order column (default create_time)",
                        json!({"enum": ["create_time", "update_time", "name", "id"]}),
                    ),
                    query(
                        "desc",
                        "descending (default true; only `false` turns it off)",
                        json!({"type": "boolean"}),
                    ),
                    query(
                        "owner_ids",
                        "only these owners' apps (repeatable)",
                        json!({"type": "string"}),
                    ),
                ],
                None,
                envelope_reply(
                    "a page and the total",
                    json!({"type": "object", "properties": {
                        "search_apps": {"type": "array", "items": search_app()},
                        "total": {"type": "integer"},
                    }}),
                ),
            ),
        ),
        (
            "/api/v1/searches/{search_id}",
            "get",
            operation(
                "searches",
                "getSearch",
                "One search app",
                vec![search()],
                None,
                envelope_reply("the app", search_app()),
            ),
        ),
        (
            "/api/v1/searches/{search_id}",
            "put",
            operation(
                "searches",
                "updateSearch",
                "Rename a search app and merge into its search_config",
                vec![search()],
                json_body(
                    json!({"type": "object", "required": ["name", "search_config"], "properties": {
                        "name": {"type": "string", "maxLength": 255},
                        "search_config": search_config(),
                        "description": {"type": "string"},
                        "avatar": {"type": "string"},
                    }}),
                    true,
                ),
                envelope_reply("the updated row", search_app()),
            ),
        ),
        (
            "/api/v1/searches/{search_id}",
            "delete",
            operation(
                "searches",
                "deleteSearch",
                "Delete a search app",
                vec![search()],
                None,
                envelope_reply("true", json!({"type": "boolean"})),
            ),
        ),
        (
            "/api/v1/searches/{search_id}/completion",
            "post",
            completion("searchCompletion"),
        ),
        (
            "/api/v1/searches/{search_id}/completions",
            "post",
            completion("searchCompletions"),
        ),
        ("/api/v1/system/healthz", "get", health()),
        ("/v1/system/healthz", "get", legacy_health),
        ("/api/v1/system/ping", "get", ping),
        ("/api/v1/system/version", "get", version),
        ("/api/v1/system/config", "get", config),
        (
            "/api/v1/system/status",
            "get",
            operation(
                "system",
                "status",
                "Each store's status (green/red, elapsed ms, error)",
                vec![],
                None,
                envelope_reply("per component", json!({"type": "object"})),
            ),
        ),
        (
            "/api/v1/system/tokens",
            "get",
            operation(
                "system",
                "listTokens",
                "The tenant's API keys (`token` is the key's hint: keys are stored hashed)",
                vec![],
                None,
                envelope_reply("the keys", json!({"type": "array", "items": token_row()})),
            ),
        ),
        (
            "/api/v1/system/tokens",
            "post",
            operation(
                "system",
                "createToken",
                "Mint an API key for the tenant (the full key is in `token`, shown this once)",
                vec![],
                None,
                envelope_reply("the new key", token_row()),
            ),
        ),
        (
            "/api/v1/system/tokens/{token}",
            "delete",
            operation(
                "system",
                "deleteToken",
                "Revoke one of the tenant's keys (the key, or its `key_id`); a missing one succeeds",
                vec![path_param("token", "the key or its key_id")],
                None,
                envelope_reply("true", json!({"type": "boolean"})),
            ),
        ),
    ]
}

fn token_row() -> Value {
    json!({"type": "object", "properties": {
        "tenant_id": {"type": "string"},
        "token": {"type": "string"},
        "key_id": {"type": "string"},
        "beta": {"type": "null"},
        "create_time": {"type": "integer"},
        "update_time": {"type": "null"},
    }})
}
