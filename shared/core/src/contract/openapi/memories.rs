//! Memories and messages (M1–M12). These routes authenticate like upstream's
//! `login_required`: a missing or unknown key is HTTP 401; successes carry
//! `"message": true`.

use serde_json::{json, Map, Value};

use super::{envelope_reply, json_body, object_map, operation, path_param, query, schema_ref};

type Op = (&'static str, &'static str, Value);

fn memory() -> Value {
    path_param("memory_id", "memory id (32 hex characters)")
}

fn pair() -> Value {
    path_param(
        "pair",
        "`{memory_id}:{message_id}`: the memory id, a colon, the integer message id",
    )
}

/// The envelope reply plus the 401 of `login_required`.
fn reply(description: &str, success: Value) -> Value {
    let mut r = envelope_reply(description, success);
    r["401"] = json!({
        "description": "missing or unknown key: `{\"code\":401,\"message\":\"<Unauthorized '401: Unauthorized'>\",\"data\":null}`",
        "content": {"application/json": {"schema": schema_ref("Envelope")}},
    });
    r
}

fn ids_query(name: &str, description: &str) -> Value {
    query(
        name,
        description,
        json!({"type": "array", "items": {"type": "string"}}),
    )
}

pub(super) fn operations() -> Vec<Op> {
    let int = json!({"type": "integer"});
    let num = json!({"type": "number", "minimum": 0, "maximum": 1});
    let str_ = json!({"type": "string"});
    vec![
        (
            "/api/v1/memories",
            "post",
            operation(
                "memories",
                "createMemory",
                "Create a memory (a duplicate name becomes `name(1)`, ...)",
                vec![],
                json_body(schema_ref("MemoryCreate"), true),
                reply("the memory", schema_ref("Memory")),
            ),
        ),
        (
            "/api/v1/memories",
            "get",
            operation(
                "memories",
                "listMemories",
                "List the caller's memories, most recently updated first",
                vec![
                    ids_query("tenant_id", "owners (repeat or comma list); only the caller's own memories are listed"),
                    ids_query("owner_ids", "v0.27: owners, as tenant_id"),
                    ids_query("ids", "v0.27: only these memories (at most 100)"),
                    ids_query("memory_type", "any of these types (raw, semantic, episodic, procedural)"),
                    query("storage_type", "storage type (table)", str_.clone()),
                    query("keywords", "name contains", str_.clone()),
                    query("page", "1-based page (default 1)", int.clone()),
                    query("page_size", "page size (default 50; 30 for a v0.27 request, at most 100)", int.clone()),
                ],
                None,
                reply(
                    "the page and the total",
                    json!({"type": "object", "properties": {
                        "memory_list": {"type": "array", "items": schema_ref("MemorySummary")},
                        "total_count": {"type": "integer"},
                    }}),
                ),
            ),
        ),
        (
            "/api/v1/memories/{memory_id}",
            "put",
            operation(
                "memories",
                "updateMemory",
                "Update a memory's settings (embd_id and memory_type only while it is empty)",
                vec![memory()],
                json_body(schema_ref("MemoryUpdate"), true),
                reply("the updated memory", schema_ref("Memory")),
            ),
        ),
        (
            "/api/v1/memories/{memory_id}",
            "delete",
            operation(
                "memories",
                "deleteMemory",
                "Delete a memory and its messages (missing: code 404 with message true)",
                vec![memory()],
                None,
                reply("null", json!({"type": "null"})),
            ),
        ),
        (
            "/api/v1/memories/{memory_id}",
            "get",
            operation(
                "memories",
                "listMemoryMessages",
                "A memory's raw messages, newest first, each with what was extracted from it",
                vec![
                    memory(),
                    ids_query("agent_id", "source agents (repeat or comma list)"),
                    query("keywords", "exact session id", str_.clone()),
                    query("page", "1-based page (default 1)", int.clone()),
                    query("page_size", "page size (default 50)", int.clone()),
                ],
                None,
                reply(
                    "the messages",
                    json!({"type": "object", "properties": {
                        "messages": {"type": "object", "properties": {
                            "message_list": {"type": "array", "items": schema_ref("Message")},
                            "total_count": {"type": "integer"},
                        }},
                        "storage_type": {"type": "string"},
                    }}),
                ),
            ),
        ),
        (
            "/api/v1/memories/{memory_id}/config",
            "get",
            operation(
                "memories",
                "getMemoryConfig",
                "A memory's configuration, with its owner's name",
                vec![memory()],
                None,
                reply("the memory", schema_ref("Memory")),
            ),
        ),
        (
            "/api/v1/messages",
            "post",
            operation(
                "messages",
                "addMessage",
                "Add a conversation turn to memories: stored and embedded at once; extraction (semantic, episodic, procedural) is queued",
                vec![],
                json_body(schema_ref("MessageAdd"), true),
                reply("`message` is `All add to task.`", json!({"type": "null"})),
            ),
        ),
        (
            "/api/v1/messages",
            "get",
            operation(
                "messages",
                "recentMessages",
                "The most recent messages of memories (forgotten ones left out)",
                vec![
                    ids_query("memory_id", "memories (repeat or comma list; required)"),
                    query("agent_id", "source agent", str_.clone()),
                    query("session_id", "session", str_.clone()),
                    query("limit", "how many (default 10, at most 100)", int.clone()),
                ],
                None,
                reply("messages with content", json!({"type": "array", "items": schema_ref("Message")})),
            ),
        ),
        (
            "/api/v1/messages/search",
            "get",
            operation(
                "messages",
                "searchMessages",
                "Hybrid (keyword + vector) search over enabled, unforgotten messages",
                vec![
                    ids_query("memory_id", "memories (repeat or comma list; required)"),
                    query("query", "the question (required)", str_.clone()),
                    query("similarity_threshold", "minimum fused score (default 0.2)", num.clone()),
                    query("keywords_similarity_weight", "weight of the keyword score (default 0.7)", num),
                    query("top_n", "how many (default 5, at most 100)", int.clone()),
                    query("agent_id", "source agent", str_.clone()),
                    query("session_id", "session", str_.clone()),
                    query("user_id", "user", str_),
                ],
                None,
                reply("matching messages with content", json!({"type": "array", "items": schema_ref("Message")})),
            ),
        ),
        (
            "/api/v1/messages/{pair}",
            "delete",
            operation(
                "messages",
                "forgetMessage",
                "Forget a message: no longer searched or recalled, first to go when the memory is full",
                vec![pair()],
                None,
                reply("null", json!({"type": "null"})),
            ),
        ),
        (
            "/api/v1/messages/{pair}",
            "put",
            operation(
                "messages",
                "setMessageStatus",
                "Enable or disable a message (disabled ones are not searched)",
                vec![pair()],
                json_body(
                    json!({"type": "object", "required": ["status"], "properties": {"status": {"type": "boolean"}}}),
                    true,
                ),
                reply("null", json!({"type": "null"})),
            ),
        ),
        (
            "/api/v1/messages/{pair}/content",
            "get",
            operation(
                "messages",
                "messageContent",
                "One message with its content and vector",
                vec![pair()],
                None,
                reply("the message", schema_ref("Message")),
            ),
        ),
    ]
}

pub(super) fn schemas() -> Map<String, Value> {
    let types =
        json!({"type": "array", "items": {"enum": ["raw", "semantic", "episodic", "procedural"]}});
    object_map(json!({
        "MemoryCreate": {
            "type": "object",
            "required": ["name", "memory_type", "embd_id", "llm_id"],
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 128},
                "memory_type": types,
                "embd_id": {"type": "string", "description": "embedding model `name@factory`"},
                "llm_id": {"type": "string", "description": "chat model `name@factory` (extraction)"},
            },
        },
        "MemoryUpdate": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 128},
                "permissions": {"enum": ["me", "team"]},
                "llm_id": {"type": "string"},
                "embd_id": {"type": "string"},
                "memory_type": types,
                "memory_size": {"type": "integer", "minimum": 1, "maximum": 10485760},
                "forgetting_policy": {"enum": ["FIFO"]},
                "temperature": {"type": "number", "minimum": 0, "maximum": 1},
                "avatar": {"type": ["string", "null"]},
                "description": {"type": ["string", "null"]},
                "system_prompt": {"type": ["string", "null"]},
                "user_prompt": {"type": ["string", "null"]},
            },
        },
        "Memory": {
            "type": "object",
            "properties": {
                "id": {"type": "string"}, "name": {"type": "string"},
                "avatar": {"type": ["string", "null"]}, "tenant_id": {"type": "string"},
                "owner_name": {"type": ["string", "null"]}, "memory_type": types,
                "storage_type": {"type": "string"}, "embd_id": {"type": "string"},
                "llm_id": {"type": "string"}, "permissions": {"type": "string"},
                "description": {"type": ["string", "null"]}, "memory_size": {"type": "integer"},
                "forgetting_policy": {"type": "string"}, "temperature": {"type": "number"},
                "system_prompt": {"type": "string"}, "user_prompt": {"type": ["string", "null"]},
                "create_time": {"type": "integer"}, "create_date": {"type": "string"},
                "update_time": {"type": ["integer", "null"]}, "update_date": {"type": ["string", "null"]},
            },
        },
        "MemorySummary": {
            "type": "object",
            "properties": {
                "id": {"type": "string"}, "name": {"type": "string"},
                "avatar": {"type": ["string", "null"]}, "tenant_id": {"type": "string"},
                "owner_name": {"type": ["string", "null"]}, "memory_type": types,
                "storage_type": {"type": "string"}, "permissions": {"type": "string"},
                "description": {"type": ["string", "null"]},
                "create_time": {"type": "integer"}, "create_date": {"type": "string"},
            },
        },
        "MessageAdd": {
            "type": "object",
            "required": ["memory_id", "agent_id", "session_id", "user_input", "agent_response"],
            "properties": {
                "memory_id": {"type": "array", "items": {"type": "string"}},
                "agent_id": {"type": "string"}, "session_id": {"type": "string"},
                "user_id": {"type": ["string", "null"]},
                "user_input": {"type": "string"}, "agent_response": {"type": "string"},
            },
        },
        "Message": {
            "type": "object",
            "properties": {
                "message_id": {"type": "integer"},
                "message_type": {"enum": ["raw", "semantic", "episodic", "procedural"]},
                "source_id": {"type": "integer"}, "memory_id": {"type": "string"},
                "user_id": {"type": "string"}, "agent_id": {"type": "string"},
                "session_id": {"type": "string"}, "valid_at": {"type": "string"},
                "invalid_at": {"type": ["string", "null"]}, "forget_at": {"type": ["string", "null"]},
                "status": {"type": "boolean"}, "content": {"type": "string"},
                "task": {"type": "object", "description": "raw messages in listings: the extraction's progress"},
                "extract": {"type": "array", "description": "raw messages in listings: what was extracted"},
                "content_embed": {"type": "array", "items": {"type": "number"}},
            },
        },
    }))
}
