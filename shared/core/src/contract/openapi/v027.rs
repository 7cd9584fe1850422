//! Operations the v0.27 generation (ragflow-sdk 0.26) added on the dataset, document and
//! chunk paths: single reads, PATCH updates, bulk chunk availability, auto-metadata config.

use serde_json::{json, Value};

use super::{envelope_reply, json_body, operation, path_param, query, schema_ref};

type Op = (&'static str, &'static str, Value);

fn ds() -> Value {
    path_param("dataset_id", "dataset id (32 hex characters)")
}

fn doc() -> Value {
    path_param("document_id", "document id")
}

fn chunk() -> Value {
    path_param("chunk_id", "chunk id")
}

fn auto_metadata() -> Value {
    let field = json!({
        "type": "object", "required": ["key", "type"],
        "properties": {
            "key": {"type": "string", "minLength": 1, "maxLength": 255},
            "type": {"enum": ["string", "list", "time", "number"]},
            "description": {"type": ["string", "null"], "maxLength": 65535},
            "enum": {"type": ["array", "null"], "items": {"type": "string"}},
        },
    });
    json!({"type": "object", "properties": {
        "metadata": {"type": "array", "items": field},
        "built_in_metadata": {"type": "array", "items": field},
    }})
}

pub(super) fn operations() -> Vec<Op> {
    const ONE_CHUNK: &str =
        "/api/v1/datasets/{dataset_id}/documents/{document_id}/chunks/{chunk_id}";
    vec![
        (
            "/api/v1/datasets/{dataset_id}",
            "get",
            operation(
                "datasets",
                "getDataset",
                "Get one dataset (v0.27): the dataset object plus size and connectors",
                vec![ds()],
                None,
                envelope_reply("the dataset", schema_ref("Dataset")),
            ),
        ),
        (
            "/api/v1/datasets/{dataset_id}/tags",
            "get",
            operation(
                "datasets",
                "listDatasetTags",
                "Each tag of the dataset's chunks with its chunk count, most used first (v0.27)",
                vec![ds()],
                None,
                envelope_reply("`[[tag, count], ...]`", json!({"type": "array", "items": {"type": "array"}})),
            ),
        ),
        (
            "/api/v1/datasets/{dataset_id}/tags",
            "delete",
            operation(
                "datasets",
                "deleteDatasetTags",
                "Remove tags from every chunk of the dataset (v0.27)",
                vec![ds()],
                json_body(json!({"type": "object", "required": ["tags"], "properties": {
                    "tags": {"type": "array", "items": {"type": "string"}},
                }}), true),
                envelope_reply("`{}`", json!({"type": "object"})),
            ),
        ),
        (
            "/api/v1/datasets/{dataset_id}/tags",
            "put",
            operation(
                "datasets",
                "renameDatasetTag",
                "Rename a tag on every chunk of the dataset (v0.27)",
                vec![ds()],
                json_body(json!({"type": "object", "required": ["from_tag", "to_tag"], "properties": {
                    "from_tag": {"type": "string"}, "to_tag": {"type": "string"},
                }}), true),
                envelope_reply("`{from, to}`", json!({"type": "object"})),
            ),
        ),
        (
            "/api/v1/datasets/tags/aggregation",
            "get",
            operation(
                "datasets",
                "aggregateDatasetTags",
                "Tag counts over several datasets (v0.27)",
                vec![query("dataset_ids", "comma-separated dataset ids, each the caller's", json!({"type": "string"}))],
                None,
                envelope_reply("`[{value, count}, ...]`", json!({"type": "array", "items": {"type": "object"}})),
            ),
        ),
        (
            "/api/v1/datasets/metadata/flattened",
            "get",
            operation(
                "datasets",
                "flattenedMetadata",
                "Metadata key → value → ids of the documents holding it, over several datasets (v0.27)",
                vec![query("dataset_ids", "comma-separated dataset ids, each the caller's", json!({"type": "string"}))],
                None,
                envelope_reply("the flattened metadata", json!({"type": "object"})),
            ),
        ),
        (
            "/api/v1/datasets/{dataset_id}/metadata/config",
            "get",
            operation(
                "datasets",
                "getAutoMetadataConfig",
                "A dataset's auto-metadata configuration (v0.27)",
                vec![ds()],
                None,
                envelope_reply("the configuration", auto_metadata()),
            ),
        ),
        (
            "/api/v1/datasets/{dataset_id}/metadata/config",
            "put",
            operation(
                "datasets",
                "putAutoMetadataConfig",
                "Replace a dataset's auto-metadata configuration (v0.27)",
                vec![ds()],
                json_body(auto_metadata(), true),
                envelope_reply("the stored configuration", auto_metadata()),
            ),
        ),
        (
            "/api/v1/datasets/{dataset_id}/documents/{document_id}",
            "patch",
            operation(
                "documents",
                "patchDocument",
                "Update a document (v0.27 name of the PUT update)",
                vec![ds(), doc()],
                json_body(schema_ref("DocumentUpdate"), false),
                envelope_reply("the updated document", schema_ref("Document")),
            ),
        ),
        (
            "/api/v1/datasets/{dataset_id}/documents/{document_id}/chunks",
            "patch",
            operation(
                "chunks",
                "setChunksAvailability",
                "Switch chunks on or off (v0.27)",
                vec![ds(), doc()],
                json_body(
                    json!({"type": "object", "required": ["chunk_ids"], "properties": {
                        "chunk_ids": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                        "available_int": {"enum": [0, 1]},
                        "available": {"type": "boolean"},
                    }}),
                    true,
                ),
                envelope_reply("true", json!({"const": true})),
            ),
        ),
        (
            ONE_CHUNK,
            "get",
            operation(
                "chunks",
                "getChunk",
                "One chunk as stored (v0.27)",
                vec![ds(), doc(), chunk()],
                None,
                envelope_reply(
                    "the chunk under its index field names",
                    json!({"type": "object", "properties": {
                        "id": {"type": "string"}, "content_with_weight": {"type": "string"},
                        "doc_id": {"type": "string"}, "kb_id": {"type": "string"},
                        "tag_kwd": {"type": "array", "items": {"type": "string"}},
                        "tag_feas": {"type": "object", "additionalProperties": {"type": "number"}},
                        "available_int": {"enum": [0, 1]},
                    }}),
                ),
            ),
        ),
        (
            ONE_CHUNK,
            "patch",
            operation(
                "chunks",
                "patchChunk",
                "Update a chunk (v0.27 name of the PUT update)",
                vec![ds(), doc(), chunk()],
                json_body(schema_ref("ChunkUpdate"), false),
                super::batch_reply("updated"),
            ),
        ),
    ]
}
