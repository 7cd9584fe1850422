//! Chat assistants, sessions and completions, and the OpenAI-compatible route (contract
//! sections 7.5–7.7, 8.1–8.2).

use serde_json::{json, Map, Value};

use super::{
    batch_reply, envelope_reply, json_body, object_map, operation, paging, path_param, query,
    schema_ref,
};

type Op = (&'static str, &'static str, Value);

fn chat() -> Value {
    path_param("chat_id", "chat assistant id")
}

/// A reply that streams SSE frames (`data:{json}\n\n`) or answers one JSON body.
fn stream_or_json(description: &str, json_schema: Value) -> Value {
    json!({"200": {
        "description": description,
        "content": {
            // The schema of one event (as schemathesis reads SSE media): `data:<json>` frames.
            "text/event-stream": {"schema": {
                "type": "object",
                "properties": {"data": {"type": "string", "description": "one JSON frame, or [DONE]"}},
            }},
            "application/json": {"schema": json_schema},
        },
    }})
}

/// MP3 bytes, or an error envelope before any audio.
fn speech_reply() -> Value {
    json!({"200": {
        "description": "the audio (a model failure mid-stream ends it with a `data:` error frame), or an error envelope",
        "content": {
            "audio/mpeg": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": schema_ref("Envelope")},
        },
    }})
}

fn transcription_form() -> Value {
    json!({"required": true, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {
            "file": {"type": "string", "format": "binary", "description": ".aac .flac .m4a .mp3 .ogg .opus .wav .webm .wma"},
            "stream": {"type": "string", "enum": ["true", "false"]},
        },
    }}}})
}

pub(super) fn operations() -> Vec<Op> {
    let list_params = |extra: &[&str]| {
        let mut p = paging(30);
        for name in extra {
            p.push(query(
                name,
                &format!("filter by {name}"),
                json!({"type": "string"}),
            ));
        }
        p
    };
    let answer = schema_ref("Envelope");
    vec![
        ("/api/v1/chats", "post", operation(
            "chats", "createChat", "Create a chat assistant", vec![],
            json_body(schema_ref("ChatCreate"), true),
            envelope_reply("the new chat", schema_ref("Chat")),
        )),
        ("/api/v1/chats", "get", operation(
            "chats", "listChats", "List chat assistants", list_params(&["id", "name"]), None,
            envelope_reply("the chats", json!({"type": "array", "items": schema_ref("Chat")})),
        )),
        ("/api/v1/chats", "delete", operation(
            "chats", "deleteChats",
            "Delete chat assistants. Without `delete_all`: absent/null/[] ids delete all (pinned); \
             with `delete_all` (v0.27): only `delete_all: true` deletes all",
            vec![], json_body(schema_ref("IdsDeleteAll"), false),
            envelope_reply("deleted", json!({})),
        )),
        ("/api/v1/chats/{chat_id}", "get", operation(
            "chats", "getChat", "One chat assistant (v0.27)", vec![chat()], None,
            envelope_reply("the chat", schema_ref("Chat")),
        )),
        ("/api/v1/chats/{chat_id}", "patch", operation(
            "chats", "patchChat", "Merge-update a chat assistant (v0.27)", vec![chat()],
            json_body(schema_ref("ChatUpdate"), false),
            envelope_reply("the chat", schema_ref("Chat")),
        )),
        ("/api/v1/chats/{chat_id}", "delete", operation(
            "chats", "deleteChat", "Delete one chat assistant (v0.27)", vec![chat()], None,
            envelope_reply("deleted", json!({"type": "boolean"})),
        )),
        ("/api/v1/chats/{chat_id}", "put", operation(
            "chats", "updateChat", "Update a chat assistant", vec![chat()],
            json_body(schema_ref("ChatUpdate"), false), batch_reply("updated"),
        )),
        ("/api/v1/chats/{chat_id}/sessions", "post", operation(
            "sessions", "createSession", "Create a session", vec![chat()],
            json_body(json!({"type": "object", "properties": {
                "name": {"type": "string", "minLength": 1}, "user_id": {"type": "string"},
            }}), false),
            envelope_reply("the new session", schema_ref("Session")),
        )),
        ("/api/v1/chats/{chat_id}/sessions", "get", operation(
            "sessions", "listSessions", "List a chat's sessions",
            [vec![chat()], list_params(&["id", "name", "user_id"])].concat(), None,
            envelope_reply("the sessions", json!({"type": "array", "items": schema_ref("Session")})),
        )),
        ("/api/v1/chats/{chat_id}/sessions", "delete", operation(
            "sessions", "deleteSessions",
            "Delete sessions. Without `delete_all`: absent/null/[] ids delete all (pinned); \
             with `delete_all` (v0.27): only `delete_all: true` deletes all",
            vec![chat()], json_body(schema_ref("IdsDeleteAll"), false),
            envelope_reply("deleted", json!({})),
        )),
        ("/api/v1/chats/{chat_id}/sessions/{session_id}", "get", operation(
            "sessions", "getSession", "One session (v0.27)",
            vec![chat(), path_param("session_id", "session id")], None,
            envelope_reply("the session", schema_ref("Session")),
        )),
        ("/api/v1/chats/{chat_id}/sessions/{session_id}", "patch", operation(
            "sessions", "patchSession", "Rename a session (v0.27)",
            vec![chat(), path_param("session_id", "session id")],
            json_body(json!({"type": "object", "properties": {
                "name": {"type": "string", "minLength": 1},
            }}), false),
            envelope_reply("the session", schema_ref("Session")),
        )),
        ("/api/v1/chats/{chat_id}/sessions/{session_id}/messages/{msg_id}", "delete", operation(
            "sessions", "deleteSessionMessage", "Remove one question/answer pair (v0.27)",
            vec![chat(), path_param("session_id", "session id"), path_param("msg_id", "message id")],
            None, envelope_reply("the session", schema_ref("Session")),
        )),
        ("/api/v1/chats/{chat_id}/sessions/{session_id}/messages/{msg_id}/feedback", "put", operation(
            "sessions", "messageFeedback", "Thumb up/down an answer (v0.27)",
            vec![chat(), path_param("session_id", "session id"), path_param("msg_id", "message id")],
            json_body(json!({"type": "object", "required": ["thumbup"], "properties": {
                "thumbup": {"type": "boolean"}, "feedback": {"type": "string"},
            }}), true),
            envelope_reply("the session", schema_ref("Session")),
        )),
        ("/api/v1/chat/completions", "post", operation(
            "sessions", "unifiedChatCompletion",
            "Ask a chat named in the body (v0.27; SSE unless stream is false; answers without a session too)",
            vec![], json_body(schema_ref("UnifiedCompletionRequest"), false),
            stream_or_json("answer frames, or the answer", answer.clone()),
        )),
        ("/api/v1/chats/{chat_id}/sessions/{session_id}", "put", operation(
            "sessions", "updateSession", "Rename a session",
            vec![chat(), path_param("session_id", "session id")],
            json_body(json!({"type": "object", "properties": {
                "name": {"type": "string", "minLength": 1}, "user_id": {"type": "string"},
            }}), false),
            batch_reply("updated"),
        )),
        ("/api/v1/chats/{chat_id}/completions", "post", operation(
            "sessions", "chatCompletion",
            "Ask a chat (SSE unless stream is false; without session_id a new session is opened)",
            vec![chat()], json_body(schema_ref("CompletionRequest"), false),
            stream_or_json("answer frames, or the answer", answer.clone()),
        )),
        ("/api/v1/sessions/ask", "post", operation(
            "sessions", "ask", "Ask datasets directly (SSE)", vec![],
            json_body(json!({"type": "object", "required": ["question", "dataset_ids"], "properties": {
                "question": {"type": "string"},
                "dataset_ids": {"type": "array", "items": {"type": "string"}},
            }}), true),
            stream_or_json("answer frames, or an error envelope", answer.clone()),
        )),
        ("/api/v1/sessions/related_questions", "post", operation(
            "sessions", "relatedQuestions", "Questions related to a question", vec![],
            json_body(json!({"type": "object", "required": ["question"], "properties": {
                "question": {"type": "string"}, "industry": {"type": "string"},
            }}), true),
            envelope_reply("the questions", json!({"type": "array", "items": {"type": "string"}})),
        )),
        ("/api/v1/chat/recommendation", "post", operation(
            "sessions", "chatRecommendation",
            "Questions related to a question (v0.27's rename of related_questions; `search_id` lends a saved search app's model)",
            vec![],
            json_body(json!({"type": "object", "required": ["question"], "properties": {
                "question": {"type": "string"}, "search_id": {"type": "string"},
            }}), true),
            envelope_reply("the questions", json!({"type": "array", "items": {"type": "string"}})),
        )),
        ("/api/v1/chat/mindmap", "post", operation(
            "sessions", "chatMindMap",
            "A mind map of what the datasets say about a question (a tree of `{id, children}`)",
            vec![],
            json_body(json!({"type": "object", "required": ["question", "kb_ids"], "properties": {
                "question": {"type": "string"},
                "kb_ids": {"type": "array", "items": {"type": "string"}},
                "search_id": {"type": "string"},
            }}), true),
            envelope_reply("the mind map", json!({"type": "object", "properties": {
                "id": {"type": "string"}, "children": {"type": "array", "items": {"type": "object"}},
            }})),
        )),
        ("/api/v1/tts", "post", operation(
            "audio", "tts", "Speak a text with the tenant's default TTS model (audio/mpeg, piece by piece)", vec![],
            json_body(json!({"type": "object", "required": ["text"], "properties": {
                "text": {"type": "string"},
            }}), true),
            speech_reply(),
        )),
        ("/api/v1/chat/audio/speech", "post", operation(
            "audio", "chatAudioSpeech", "Speak a text with the tenant's default TTS model (v0.27 path of /tts)", vec![],
            json_body(json!({"type": "object", "required": ["text"], "properties": {
                "text": {"type": "string"},
            }}), true),
            speech_reply(),
        )),
        ("/api/v1/sequence2txt", "post", operation(
            "audio", "sequence2txt", "Transcribe a recording with the tenant's default ASR model", vec![],
            Some(transcription_form()),
            stream_or_json(
                "`{text}`, one `data: {event, text}` frame when `stream` is true, or an error envelope",
                schema_ref("Envelope"),
            ),
        )),
        ("/api/v1/chat/audio/transcription", "post", operation(
            "audio", "chatAudioTranscription", "Transcribe a recording with the tenant's default ASR model (v0.27 path of /sequence2txt)", vec![],
            Some(transcription_form()),
            stream_or_json(
                "`{text}`, one `data: {event, text}` frame when `stream` is true, or an error envelope",
                schema_ref("Envelope"),
            ),
        )),
        ("/api/v1/chats_openai/{chat_id}/chat/completions", "post", operation(
            "openai", "openaiChatCompletion",
            "OpenAI-compatible chat completion (SSE `chat.completion.chunk` frames unless stream is false)",
            vec![chat()], json_body(schema_ref("OpenAiChatRequest"), true),
            stream_or_json(
                "chunks and `data:[DONE]`, a chat.completion, or an error envelope",
                json!({"anyOf": [schema_ref("OpenAiChatCompletion"), schema_ref("Envelope")]}),
            ),
        )),
        ("/api/v1/openai/{chat_id}/chat/completions", "post", operation(
            "openai", "openaiChatCompletionV027",
            "OpenAI-compatible chat completion, v0.27 route (JSON unless stream is true; `model` other than \"model\" picks a tenant model)",
            vec![chat()], json_body(schema_ref("OpenAiChatRequest"), true),
            stream_or_json(
                "chunks and `data:[DONE]`, a chat.completion, or an error envelope",
                json!({"anyOf": [schema_ref("OpenAiChatCompletion"), schema_ref("Envelope")]}),
            ),
        )),
    ]
}

pub(super) fn schemas() -> Map<String, Value> {
    let str_ = json!({"type": "string"});
    let num = json!({"type": "number"});
    let str_or_null = json!({"type": ["string", "null"]});
    let mut chat_fields = json!({
        "name": {"type": "string", "minLength": 1},
        "avatar": str_,
        "description": str_,
        "dataset_ids": {"type": "array", "items": str_},
        "llm": {"type": "object", "properties": {
            "model_name": str_, "model_type": str_, "temperature": num, "top_p": num,
            "presence_penalty": num, "frequency_penalty": num, "max_tokens": {"type": "integer"},
        }},
        "prompt": {"type": "object", "properties": {
            "prompt": str_, "opener": str_, "empty_response": str_, "show_quote": {"type": "boolean"},
            "refine_multiturn": {"type": "boolean"}, "tts": {"type": "boolean"},
            "rerank_model": str_, "similarity_threshold": num, "keywords_similarity_weight": num,
            "top_n": {"type": "integer"}, "top_k": {"type": "integer"},
            "variables": {"type": "array", "items": {"type": "object", "properties": {
                "key": str_, "optional": {"type": "boolean"},
            }}},
        }},
    });
    // The v0.27 vocabulary, accepted beside the pinned one.
    if let Some(m) = chat_fields.as_object_mut() {
        for (k, v) in [
            ("icon", str_.clone()),
            ("llm_id", str_.clone()),
            ("llm_setting", json!({"type": "object"})),
            ("prompt_config", json!({"type": "object"})),
            ("similarity_threshold", num.clone()),
            ("vector_similarity_weight", num.clone()),
            ("top_n", json!({"type": "integer"})),
            ("top_k", json!({"type": "integer"})),
            ("rerank_id", str_.clone()),
        ] {
            m.insert(k.into(), v);
        }
    }
    let mut update_fields = chat_fields.clone();
    update_fields["show_quotation"] = json!({"type": "boolean"});
    object_map(json!({
        "ChatCreate": {"type": "object", "required": ["name"], "properties": chat_fields},
        "ChatUpdate": {"type": "object", "properties": update_fields},
        "Chat": {
            "type": "object",
            "properties": {
                // An update may set these to null, and the chat reads back what was stored.
                "id": str_, "name": str_, "description": str_or_null, "avatar": str_or_null,
                "llm": {"type": "object"}, "prompt": {"type": "object"},
                "icon": str_or_null, "llm_id": str_, "llm_setting": {"type": "object"},
                "prompt_config": {"type": "object"}, "similarity_threshold": num,
                "vector_similarity_weight": num, "top_n": {"type": "integer"},
                "top_k": {"type": "integer"}, "rerank_id": str_,
                "dataset_ids": {"type": "array", "items": str_},
                "datasets": {"type": "array", "items": {"type": "object"}},
                "create_time": {"type": "integer"}, "update_time": {"type": "integer"},
            },
        },
        "Session": {
            "type": "object",
            "properties": {
                "id": str_, "chat_id": str_, "name": str_, "user_id": str_,
                "messages": {"type": "array", "items": {"type": "object", "properties": {
                    "role": str_, "content": str_,
                }}},
                "create_time": {"type": "integer"}, "update_time": {"type": "integer"},
            },
        },
        "IdsDeleteAll": {
            "type": "object",
            "properties": {
                "ids": {"type": ["array", "null"], "items": str_},
                "delete_all": {"type": "boolean"},
            },
        },
        "UnifiedCompletionRequest": {
            "type": "object",
            "properties": {
                "chat_id": str_,
                "session_id": str_,
                "question": str_,
                "messages": {"type": "array", "items": {"type": "object", "properties": {
                    "role": str_, "content": str_,
                }}},
                "stream": {"type": "boolean"},
                "pass_all_history_messages": {"type": "boolean"},
                "store_history_messages": {"type": "boolean"},
                "legacy": {"type": "boolean", "description": "v0.23-style frames: cumulative `answer`, reasoning in <think>…</think>"},
            },
        },
        "CompletionRequest": {
            "type": "object",
            "properties": {
                "question": str_,
                "stream": {"type": "boolean"},
                "session_id": str_,
                "user_id": str_,
                "quote": {"type": "boolean"},
                "doc_ids": {"type": "string", "description": "comma-separated document ids"},
                "metadata_condition": schema_ref("MetadataCondition"),
            },
        },
        "OpenAiChatRequest": {
            "type": "object", "required": ["model", "messages"],
            "properties": {
                "model": str_,
                "messages": {"type": "array", "items": {"type": "object", "required": ["role", "content"], "properties": {
                    "role": {"type": "string", "enum": ["system", "user", "assistant"]},
                    "content": str_,
                }}},
                "stream": {"type": "boolean"},
                "extra_body": {"type": "object", "properties": {
                    "reference": {"type": "boolean"},
                    "metadata_condition": schema_ref("MetadataCondition"),
                }},
            },
        },
        "OpenAiChatCompletion": {
            "type": "object", "required": ["object", "choices"],
            "properties": {
                "id": str_, "object": {"const": "chat.completion"}, "created": {"type": "integer"},
                "model": str_, "usage": {"type": "object"},
                "choices": {"type": "array", "items": {"type": "object", "properties": {
                    "message": {"type": "object", "properties": {"role": str_, "content": str_}},
                    "finish_reason": str_, "index": {"type": "integer"},
                }}},
            },
        },
    }))
}
