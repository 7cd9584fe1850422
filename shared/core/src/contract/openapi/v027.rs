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
        (
            "/api/v1/datasets/{dataset_id}/documents/parse",
            "post",
            operation(
                "documents",
                "parseDocumentsV027",
                "Queue documents for parsing, whatever their state (v0.27); unknown ids give 102 after the others were queued",
                vec![ds()],
                json_body(document_ids(), true),
                envelope_reply("`{success_count[, errors]}`", counted()),
            ),
        ),
        (
            "/api/v1/datasets/{dataset_id}/documents/stop",
            "post",
            operation(
                "documents",
                "stopDocumentsV027",
                "Stop parsing documents (v0.27); documents not running are skipped with a message",
                vec![ds()],
                json_body(document_ids(), true),
                envelope_reply("`{success_count[, errors]}`", counted()),
            ),
        ),
        (
            "/api/v1/datasets/{dataset_id}/documents/batch-update-status",
            "post",
            operation(
                "documents",
                "batchUpdateDocumentStatus",
                "Enable (`1`) or disable (`0`) documents (v0.27); any failed document makes the reply code 500 `Partial failure` with the same map",
                vec![ds()],
                json_body(json!({"type": "object", "required": ["doc_ids", "status"], "properties": {
                    "doc_ids": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
                    "status": {"enum": ["0", "1", 0, 1]},
                }}), true),
                envelope_reply("document id → `{status}` or `{error}`", json!({"type": "object"})),
            ),
        ),
        (
            "/api/v1/datasets/{dataset_id}/documents/metadatas",
            "patch",
            operation(
                "documents",
                "patchDocumentsMetadata",
                "Batch-edit documents' metadata (v0.27 form of POST …/metadata/update)",
                vec![ds()],
                json_body(schema_ref("MetadataUpdate"), true),
                envelope_reply("counts", json!({"type": "object", "properties": {
                    "updated": {"type": "integer"}, "matched_docs": {"type": "integer"},
                }})),
            ),
        ),
        (
            "/api/v1/datasets/{dataset_id}/documents/{document_id}/metadata/config",
            "put",
            operation(
                "documents",
                "setDocumentMetadataConfig",
                "Set a document's own auto-metadata config, merged into its parser_config.metadata (v0.27)",
                vec![ds(), doc()],
                json_body(json!({"type": "object", "required": ["metadata"], "properties": {
                    "metadata": {},
                }}), true),
                envelope_reply("the document, with its stored-row names too", schema_ref("Document")),
            ),
        ),
        (
            "/api/v1/datasets/search",
            "post",
            operation(
                "retrieval",
                "searchDatasets",
                "Retrieval test over several datasets (v0.27): R1's search with `size`, threshold 0 by default, an optional saved search app, chunks under index field names",
                vec![],
                json_body(dataset_search_body(true), true),
                envelope_reply("`{total, chunks, doc_aggs, labels}`", json!({"type": "object", "properties": {
                    "total": {"type": "integer"},
                    "chunks": {"type": "array", "items": {"type": "object"}},
                    "doc_aggs": {},
                    "labels": {},
                }})),
            ),
        ),
        (
            "/api/v1/datasets/{dataset_id}/search",
            "post",
            operation(
                "retrieval",
                "searchDataset",
                "Retrieval test over one dataset (v0.27); `dataset_ids` in the body is ignored",
                vec![ds()],
                json_body(dataset_search_body(false), true),
                envelope_reply("`{total, chunks, doc_aggs, labels}`", json!({"type": "object", "properties": {
                    "total": {"type": "integer"},
                    "chunks": {"type": "array", "items": {"type": "object"}},
                    "doc_aggs": {},
                    "labels": {},
                }})),
            ),
        ),
        (
            "/api/v1/datasets/{dataset_id}/embedding/check",
            "post",
            operation(
                "datasets",
                "checkEmbedding",
                "Embed a sample of the dataset's chunks with a candidate model and compare with the stored vectors (v0.27); an average cosine under 0.9 answers code 10 with the same figures",
                vec![ds()],
                json_body(json!({"type": "object", "required": ["embd_id"], "properties": {
                    "embd_id": {"type": "string"},
                    "check_num": {"type": "integer", "minimum": 1, "default": 5},
                }}), true),
                envelope_reply("`{summary, results}`", json!({"type": "object", "properties": {
                    "summary": {"type": "object"},
                    "results": {"type": "array", "items": {"type": "object"}},
                }})),
            ),
        ),
        (
            "/api/v1/thumbnails",
            "get",
            operation(
                "documents",
                "documentThumbnails",
                "Thumbnails of the caller's documents by id (v0.27); unknown ids are left out",
                vec![query("doc_ids", "a document id; repeat the key for more (at most 100)", json!({"type": "string"}))],
                None,
                envelope_reply("document id → thumbnail (a data URI, an image URL, or null)", json!({"type": "object"})),
            ),
        ),
    ]
}

fn document_ids() -> Value {
    json!({"type": "object", "required": ["document_ids"], "properties": {
        "document_ids": {"type": "array", "minItems": 1, "items": {"type": "string"}},
    }})
}

fn counted() -> Value {
    json!({"type": "object", "properties": {
        "success_count": {"type": "integer"},
        "errors": {"type": "array", "items": {"type": "string"}},
    }})
}

fn dataset_search_body(with_datasets: bool) -> Value {
    let mut body = json!({"type": "object", "required": ["question"], "properties": {
        "question": {"type": "string", "minLength": 1},
        "doc_ids": {"type": "array", "items": {"type": "string"}},
        "page": {"type": "integer", "minimum": 1, "default": 1},
        "size": {"type": "integer", "minimum": 1, "default": 30},
        "top_k": {"type": "integer", "minimum": 1, "default": 1024},
        "similarity_threshold": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.0},
        "vector_similarity_weight": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.3},
        "use_kg": {"type": "boolean"},
        "cross_languages": {"type": "array", "items": {"type": "string"}},
        "keyword": {"type": "boolean"},
        "search_id": {"type": ["string", "null"]},
        "rerank_id": {"type": ["string", "null"]},
        "meta_data_filter": {"type": ["object", "null"]},
    }});
    if with_datasets {
        body["required"] = json!(["dataset_ids", "question"]);
        body["properties"]["dataset_ids"] =
            json!({"type": "array", "minItems": 1, "items": {"type": "string"}});
    }
    body
}
