//! Agents (contract 7.9, 8.3, 8.4; v0.27 delta §1.7): canvases, agent sessions and
//! completions.

use serde_json::{json, Value};

use super::{envelope_reply, json_body, operation, path_param, query};

type Op = (&'static str, &'static str, Value);

fn attachment_reply() -> Value {
    json!({"200": {
        "description": "the attachment's bytes, or the envelope with an error",
        "content": {
            "*/*": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": super::schema_ref("Envelope")},
        },
    }})
}

fn agent() -> Value {
    path_param("agent_id", "agent (canvas) id")
}

fn session() -> Value {
    path_param("session_id", "agent session id")
}

fn canvas() -> Value {
    json!({"type": "object", "properties": {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "description": {"type": ["string", "null"]},
        "avatar": {"type": ["string", "null"]},
        "user_id": {"type": "string"},
        "canvas_type": {"type": ["string", "null"]},
        "canvas_category": {"type": "string"},
        "permission": {"type": "string"},
        "dsl": {"type": "object"},
        "create_time": {"type": "integer"},
        "update_time": {"type": "integer"},
    }})
}

fn canvas_body(required: &[&str]) -> Option<Value> {
    json_body(
        json!({"type": "object", "required": required, "properties": {
            "title": {"type": "string", "minLength": 1},
            "dsl": {"description": "the canvas: an object, or JSON text of one", "anyOf": [{"type": "object"}, {"type": "string"}]},
            "description": {"type": "string"},
            "avatar": {"type": "string"},
            "canvas_type": {"type": "string"},
        }}),
        true,
    )
}

fn agent_session() -> Value {
    json!({"type": "object", "properties": {
        "id": {"type": "string"},
        "agent_id": {"type": "string"},
        "user_id": {"type": "string"},
        "messages": {"type": "array", "items": {"type": "object"}},
        "message": {"type": "array", "items": {"type": "object"}},
        "dsl": {"type": "object"},
    }})
}

fn sse_or_json(description: &str) -> Value {
    json!({"200": {
        "description": description,
        "content": {
            "text/event-stream": {"schema": {
                "type": "object",
                "properties": {"data": {"type": "string", "description": "one JSON frame, then [DONE]"}},
            }},
            "application/json": {"schema": {"type": "object"}},
        },
    }})
}

fn completion_body(with_agent_id: bool) -> Option<Value> {
    let mut props = json!({
        "question": {"type": "string"},
        "query": {"type": "string", "description": "v0.27's name of `question`"},
        "stream": {"type": "boolean"},
        "session_id": {"type": "string", "description": "none: a new session"},
        "inputs": {"type": "object", "description": "Begin's variables, {name: {type, value}}"},
        "user_id": {"type": "string"},
        "return_trace": {"type": "boolean"},
    });
    if with_agent_id {
        props["agent_id"] = json!({"type": "string"});
        props["openai-compatible"] = json!({"type": "boolean"});
    }
    json_body(json!({"type": "object", "properties": props}), true)
}

pub(super) fn operations() -> Vec<Op> {
    let any = json!({});
    vec![
        (
            "/api/v1/agents",
            "get",
            operation(
                "agents",
                "listAgents",
                "List agents: a bare list for pinned keys, `{canvas, total}` for v0.27 keys",
                vec![
                    query(
                        "page",
                        "1-based page (default 1)",
                        json!({"type": "integer"}),
                    ),
                    query(
                        "page_size",
                        "page size (default 30)",
                        json!({"type": "integer"}),
                    ),
                    query(
                        "orderby",
                        "update_time (default) or create_time",
                        json!({"type": "string"}),
                    ),
                    query(
                        "desc",
                        "descending (pinned default false, v0.27 true)",
                        json!({"type": "boolean"}),
                    ),
                    query(
                        "id",
                        "only this agent (pinned; 102 when none)",
                        json!({"type": "string"}),
                    ),
                    query(
                        "title",
                        "exact title (pinned; 102 when none)",
                        json!({"type": "string"}),
                    ),
                ],
                None,
                envelope_reply(
                    "the agents",
                    json!({"anyOf": [
                        {"type": "array", "items": canvas()},
                        {"type": "object", "properties": {"canvas": {"type": "array", "items": canvas()}, "total": {"type": "integer"}}},
                    ]}),
                ),
            ),
        ),
        (
            "/api/v1/agents",
            "post",
            operation(
                "agents",
                "createAgent",
                "Create an agent from a DSL (components we do not run are refused by name); \
                 `true` for pinned keys, the row for v0.27 keys",
                vec![],
                canvas_body(&["title", "dsl"]),
                envelope_reply("true, or the new agent", any.clone()),
            ),
        ),
        (
            "/api/v1/agents/{agent_id}",
            "get",
            operation(
                "agents",
                "getAgent",
                "One agent (v0.27)",
                vec![agent()],
                None,
                envelope_reply("the agent", canvas()),
            ),
        ),
        (
            "/api/v1/agents/{agent_id}",
            "put",
            operation(
                "agents",
                "updateAgent",
                "Update an agent's title, description or DSL (null values ignored)",
                vec![agent()],
                canvas_body(&[]),
                envelope_reply("true, or {update_time}", any.clone()),
            ),
        ),
        (
            "/api/v1/agents/{agent_id}",
            "delete",
            operation(
                "agents",
                "deleteAgent",
                "Delete an agent (its sessions stay)",
                vec![agent()],
                None,
                envelope_reply("true", any.clone()),
            ),
        ),
        (
            "/api/v1/agents/{agent_id}/sessions",
            "post",
            operation(
                "agents",
                "createAgentSession",
                "Open a session with an agent (the prologue is its first message)",
                vec![
                    agent(),
                    query(
                        "user_id",
                        "whose session (default: the tenant)",
                        json!({"type": "string"}),
                    ),
                ],
                json_body(
                    json!({"type": "object", "properties": {
                        "user_id": {"type": "string"}, "name": {"type": "string"},
                    }}),
                    false,
                ),
                envelope_reply("the session", agent_session()),
            ),
        ),
        (
            "/api/v1/agents/{agent_id}/sessions",
            "get",
            operation(
                "agents",
                "listAgentSessions",
                "List an agent's sessions",
                vec![
                    agent(),
                    query(
                        "page",
                        "1-based page (default 1)",
                        json!({"type": "integer"}),
                    ),
                    query(
                        "page_size",
                        "page size (default 30)",
                        json!({"type": "integer"}),
                    ),
                    query(
                        "orderby",
                        "update_time (default) or create_time",
                        json!({"type": "string"}),
                    ),
                    query(
                        "desc",
                        "descending (default true)",
                        json!({"type": "boolean"}),
                    ),
                    query("id", "only this session", json!({"type": "string"})),
                    query(
                        "user_id",
                        "only this user's sessions",
                        json!({"type": "string"}),
                    ),
                    query(
                        "dsl",
                        "include each session's canvas (default true)",
                        json!({"type": "boolean"}),
                    ),
                ],
                None,
                envelope_reply(
                    "the sessions",
                    json!({"type": "array", "items": agent_session()}),
                ),
            ),
        ),
        (
            "/api/v1/agents/{agent_id}/sessions",
            "delete",
            operation(
                "agents",
                "deleteAgentSessions",
                "Delete sessions by id (pinned: no ids = all; with `delete_all`: v0.27 rules)",
                vec![agent()],
                json_body(
                    json!({"type": "object", "properties": {
                        "ids": {"type": ["array", "null"], "items": {"type": "string"}},
                        "delete_all": {"type": "boolean"},
                    }}),
                    false,
                ),
                envelope_reply("nothing, or partial-success counts", any.clone()),
            ),
        ),
        (
            "/api/v1/agents/{agent_id}/sessions/{session_id}",
            "get",
            operation(
                "agents",
                "getAgentSession",
                "One agent session (v0.27)",
                vec![agent(), session()],
                None,
                envelope_reply("the session", agent_session()),
            ),
        ),
        (
            "/api/v1/agents/{agent_id}/sessions/{session_id}",
            "delete",
            operation(
                "agents",
                "deleteAgentSession",
                "Delete one agent session (v0.27)",
                vec![agent(), session()],
                None,
                envelope_reply("the number deleted", json!({"type": "integer"})),
            ),
        ),
        (
            "/api/v1/agents/{agent_id}/completions",
            "post",
            operation(
                "agents",
                "agentCompletion",
                "Run one turn (stream default true): `message`, `message_end`, `node_finished` \
                 frames then `data:[DONE]`, or the final event in an envelope",
                vec![agent()],
                completion_body(false),
                sse_or_json("frames, or the envelope"),
            ),
        ),
        (
            "/api/v1/agents/chat/completions",
            "post",
            operation(
                "agents",
                "agentUnifiedCompletion",
                "v0.27's agent completion (`agent_id` in the body, stream default false; \
                 `openai-compatible` answers like /agents_openai)",
                vec![],
                completion_body(true),
                sse_or_json("frames, the envelope, or an OpenAI chat.completion"),
            ),
        ),
        (
            "/api/v1/agents/attachments/{attachment_id}/download",
            "get",
            operation(
                "agents",
                "agentAttachmentDownload",
                "An attachment stored by POST /documents/upload, as a download (`disposition=inline` to preview), typed by `ext` (v0.27)",
                vec![
                    path_param("attachment_id", "the id POST /documents/upload returned"),
                    query("ext", "the type to serve it as (default markdown)", json!({"type": "string"})),
                    query("disposition", "`inline` to preview", json!({"type": "string"})),
                ],
                None,
                attachment_reply(),
            ),
        ),
        (
            "/api/v1/agents/attachments/{attachment_id}/preview",
            "get",
            operation(
                "agents",
                "agentAttachmentPreview",
                "An attachment stored by POST /documents/upload, inline (active types still download), typed by `ext` (v0.27)",
                vec![
                    path_param("attachment_id", "the id POST /documents/upload returned"),
                    query("ext", "the type to serve it as (default markdown)", json!({"type": "string"})),
                ],
                None,
                attachment_reply(),
            ),
        ),
        (
            "/api/v1/agents_openai/{agent_id}/chat/completions",
            "post",
            operation(
                "agents",
                "agentOpenAiCompletion",
                "OpenAI-compatible agent completion (stream default false; `data: ` frames)",
                vec![agent()],
                json_body(
                    json!({"type": "object", "required": ["model", "messages"], "properties": {
                        "model": {"type": "string"},
                        "messages": {"type": "array", "items": {"type": "object", "properties": {
                            "role": {"type": "string"}, "content": {"type": "string"},
                        }}},
                        "stream": {"type": "boolean"},
                        "session_id": {"type": "string"},
                    }}),
                    true,
                ),
                sse_or_json("chunks then `data: [DONE]`, a chat.completion, or an error envelope"),
            ),
        ),
    ]
}
