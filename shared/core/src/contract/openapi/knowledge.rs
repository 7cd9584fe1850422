//! Datasets, documents, chunks, retrieval and Dify (contract sections 7.1–7.4, 7.8), and the
//! document's own routes.

use serde_json::{json, Map, Value};

use super::{
    batch_reply, envelope_of, envelope_reply, json_body, object_map, operation, paging, path_param,
    query, schema_ref,
};

type Op = (&'static str, &'static str, Value);

const DS: &str = "/api/v1/datasets/{dataset_id}";

fn ds() -> Value {
    path_param("dataset_id", "dataset id (32 hex characters)")
}

fn doc() -> Value {
    path_param("document_id", "document id")
}

pub(super) fn operations() -> Vec<Op> {
    let mut ops = datasets();
    ops.extend(documents());
    ops.extend(chunks());
    ops.extend(retrieval());
    ops.extend(meta());
    ops
}

fn datasets() -> Vec<Op> {
    let list_params = {
        let mut p = paging(30);
        p.push(query(
            "id",
            "only this dataset (UUID1)",
            json!({"type": "string"}),
        ));
        p.push(query(
            "name",
            "only the dataset with this exact name",
            json!({"type": "string"}),
        ));
        p.push(query(
            "ids",
            "v0.27: only these datasets (repeatable or comma-separated, at most 100)",
            json!({"type": "string"}),
        ));
        p.push(query(
            "ext",
            "v0.27: JSON text {keywords, parser_id, owner_ids}",
            json!({"type": "string"}),
        ));
        p.push(query(
            "include_parsing_status",
            "v0.27: add each dataset's document counts by parse state",
            json!({"type": "boolean"}),
        ));
        p
    };
    vec![
        (
            "/api/v1/datasets",
            "post",
            operation(
                "datasets",
                "createDataset",
                "Create a dataset",
                vec![],
                json_body(schema_ref("DatasetCreate"), true),
                envelope_reply("the new dataset", schema_ref("Dataset")),
            ),
        ),
        (
            "/api/v1/datasets",
            "get",
            operation(
                "datasets",
                "listDatasets",
                "List datasets",
                list_params,
                None,
                json!({"200": {
                    "description": "the datasets, with the total as a top-level `total_datasets`",
                    "content": {"application/json": {"schema": {
                        "allOf": [envelope_of(json!({"type": "array", "items": schema_ref("Dataset")}))],
                        "properties": {"total_datasets": {"type": "integer"}},
                    }}},
                }}),
            ),
        ),
        (
            "/api/v1/datasets",
            "delete",
            operation(
                "datasets",
                "deleteDatasets",
                "Delete datasets (with their documents and chunks)",
                vec![],
                json_body(schema_ref("Ids"), true),
                batch_reply("deleted"),
            ),
        ),
        (
            "/api/v1/datasets/{dataset_id}",
            "put",
            operation(
                "datasets",
                "updateDataset",
                "Update a dataset",
                vec![ds()],
                json_body(schema_ref("DatasetUpdate"), true),
                envelope_reply("the updated dataset", schema_ref("Dataset")),
            ),
        ),
    ]
}

fn documents() -> Vec<Op> {
    let docs = const_format(DS, "/documents");
    let one = const_format(DS, "/documents/{document_id}");
    let list_params = {
        let mut p = paging(30);
        for (name, what) in [
            ("id", "only this document"),
            ("name", "only the document with this exact name"),
            ("keywords", "name contains (case-insensitive)"),
        ] {
            p.push(query(name, what, json!({"type": "string"})));
        }
        for name in ["create_time_from", "create_time_to"] {
            p.push(query(
                name,
                "epoch milliseconds (0: open)",
                json!({"type": "integer"}),
            ));
        }
        p.push(query(
            "suffix",
            "file suffix (repeatable)",
            json!({"type": "string"}),
        ));
        p.push(query(
            "run",
            "parse state (repeatable)",
            json!({"type": "string", "enum": ["UNSTART", "RUNNING", "CANCEL", "DONE", "FAIL", "0", "1", "2", "3", "4"]}),
        ));
        p.push(query(
            "metadata_condition",
            "a MetadataCondition as JSON text",
            json!({"type": "string"}),
        ));
        p.push(query(
            "return_empty_metadata",
            "v0.27: only documents without metadata (listed with `meta_fields` {})",
            json!({"type": "boolean"}),
        ));
        p.push(query(
            "type",
            "v0.27: `filter` answers `{total, filter}`: counts by suffix, run state and metadata value",
            json!({"type": "string", "enum": ["filter"]}),
        ));
        p
    };
    vec![
        (docs, "post", operation(
            "documents", "uploadDocuments", "Upload documents (multipart, field `file`)", vec![ds()],
            Some(json!({"required": true, "content": {"multipart/form-data": {"schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "array", "items": {"type": "string", "contentMediaType": "application/octet-stream"}},
                    "parent_path": {"type": "string"},
                },
            }}}})),
            envelope_reply("the uploaded documents", json!({"type": "array", "items": schema_ref("UploadedDocument")})),
        )),
        (docs, "get", operation(
            "documents", "listDocuments", "List a dataset's documents", [vec![ds()], list_params].concat(), None,
            envelope_reply("a page of documents, or (type=filter) the filter counts", json!({
                "type": "object",
                "properties": {
                    "total": {"type": "integer"},
                    "docs": {"type": "array", "items": schema_ref("Document")},
                    "filter": {"type": "object", "properties": {
                        "suffix": {"type": "object"}, "run_status": {"type": "object"}, "metadata": {"type": "object"},
                    }},
                },
            })),
        )),
        (docs, "delete", operation(
            "documents", "deleteDocuments", "Delete documents (absent/null/[] ids: all)", vec![ds()],
            json_body(schema_ref("Ids"), false), batch_reply("deleted"),
        )),
        (const_format(DS, "/documents/upload_url"), "post", operation(
            "documents", "documentUploadUrl",
            "A presigned PUT URL for a large file (AWS deployment only; lambdarag's own route)", vec![ds()],
            json_body(json!({
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}, "expires_in": {"type": "integer", "minimum": 1}},
            }), true),
            envelope_reply("the URL", json!({"type": "object", "properties": {
                "url": {"type": "string"}, "method": {"type": "string"}, "key": {"type": "string"}, "expires_in": {"type": "integer"},
            }})),
        )),
        ("/api/v1/documents/ingest", "post", operation(
            "documents", "ingestDocuments",
            "Start (`run` \"1\") or cancel (\"2\") documents' processing by id (v0.27)", vec![],
            json_body(json!({
                "type": "object",
                "required": ["doc_ids", "run"],
                "properties": {
                    "doc_ids": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "run": {"type": "string", "enum": ["1", "2"]},
                    "delete": {"type": "boolean"},
                },
            }), true),
            envelope_reply("true", json!({"type": "boolean"})),
        )),
        (one, "put", operation(
            "documents", "updateDocument", "Update a document (name, metadata, chunking)", vec![ds(), doc()],
            json_body(schema_ref("DocumentUpdate"), false),
            envelope_reply("the updated document", schema_ref("Document")),
        )),
        (one, "get", operation(
            "documents", "downloadDocument", "Download a document's file", vec![ds(), doc()], None,
            json!({"200": {
                "description": "the file's bytes, or an envelope with the error",
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}},
                    "application/json": {"schema": schema_ref("Envelope")},
                },
            }}),
        )),
        ("/api/v1/documents/{document_id}", "get", operation(
            "documents", "downloadDocumentById",
            "Download a document's file without naming its dataset (v0.27)", vec![doc()], None,
            json!({"200": {
                "description": "the file's bytes, or an envelope with the error",
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}},
                    "application/json": {"schema": schema_ref("Envelope")},
                },
            }}),
        )),
        ("/api/v1/documents/images/{image_id}", "get", operation(
            "documents", "chunkImage",
            "A chunk's image by its `image_id` (`{dataset_id}-{name}`), inline with its type (v0.27)",
            vec![path_param("image_id", "a chunk's image_id")], None,
            json!({"200": {
                "description": "the image's bytes, or an envelope with the error",
                "content": {
                    "image/*": {"schema": {"type": "string", "format": "binary"}},
                    "application/json": {"schema": schema_ref("Envelope")},
                },
            }}),
        )),
        ("/api/v1/documents/{document_id}/preview", "get", operation(
            "documents", "previewDocument",
            "A document's file inline, with its MIME type (v0.27)", vec![doc()], None,
            json!({"200": {
                "description": "the file's bytes with its type, or an envelope with the error",
                "content": {
                    "*/*": {"schema": {"type": "string"}},
                    "application/json": {"schema": schema_ref("Envelope")},
                },
            }}),
        )),
        (const_format(DS, "/chunks"), "post", operation(
            "documents", "parseDocuments", "Start parsing documents", vec![ds()],
            json_body(schema_ref("DocumentIds"), true), batch_reply("queued"),
        )),
        (const_format(DS, "/chunks"), "delete", operation(
            "documents", "stopParsing", "Stop parsing documents", vec![ds()],
            json_body(schema_ref("DocumentIds"), true), batch_reply("stopped"),
        )),
        (const_format(DS, "/metadata/summary"), "get", operation(
            "documents", "metadataSummary",
            "Summary of the documents' metadata (an optional JSON body `{\"doc_ids\": [...]}` narrows it)",
            vec![ds()], None,
            envelope_reply("per key: type and value counts", json!({"type": "object", "properties": {"summary": {"type": "object"}}})),
        )),
        (const_format(DS, "/metadata/update"), "post", operation(
            "documents", "metadataUpdate", "Batch-edit documents' metadata", vec![ds()],
            json_body(schema_ref("MetadataUpdate"), true),
            envelope_reply("counts", json!({"type": "object", "properties": {
                "updated": {"type": "integer"}, "matched_docs": {"type": "integer"},
            }})),
        )),
    ]
}

fn chunks() -> Vec<Op> {
    let chunks = const_format(DS, "/documents/{document_id}/chunks");
    let chunk_id = path_param("chunk_id", "chunk id");
    vec![
        (
            chunks,
            "get",
            operation(
                "chunks",
                "listChunks",
                "List a document's chunks",
                vec![
                    ds(),
                    doc(),
                    query(
                        "page",
                        "1-based page (default 1)",
                        json!({"type": "integer", "minimum": 1}),
                    ),
                    query(
                        "page_size",
                        "page size (default 30)",
                        json!({"type": "integer", "minimum": 1}),
                    ),
                    query(
                        "keywords",
                        "full-text filter (matches are highlighted)",
                        json!({"type": "string"}),
                    ),
                    query("id", "only this chunk", json!({"type": "string"})),
                ],
                None,
                envelope_reply(
                    "a page of chunks and the document",
                    json!({"type": "object", "properties": {
                        "total": {"type": "integer"},
                        "chunks": {"type": "array", "items": schema_ref("Chunk")},
                        "doc": schema_ref("Document"),
                    }}),
                ),
            ),
        ),
        (
            chunks,
            "post",
            operation(
                "chunks",
                "addChunk",
                "Add a chunk",
                vec![ds(), doc()],
                json_body(schema_ref("ChunkCreate"), true),
                envelope_reply(
                    "the new chunk",
                    json!({"type": "object", "properties": {"chunk": schema_ref("Chunk")}}),
                ),
            ),
        ),
        (
            chunks,
            "delete",
            operation(
                "chunks",
                "deleteChunks",
                "Delete chunks (absent or [] chunk_ids: all)",
                vec![ds(), doc()],
                json_body(
                    json!({"type": "object", "properties": {
                        "chunk_ids": {"type": "array", "items": {"type": "string"}},
                    }}),
                    false,
                ),
                batch_reply("deleted"),
            ),
        ),
        (
            "/api/v1/datasets/{dataset_id}/documents/{document_id}/chunks/{chunk_id}",
            "put",
            operation(
                "chunks",
                "updateChunk",
                "Update a chunk",
                vec![ds(), doc(), chunk_id],
                json_body(schema_ref("ChunkUpdate"), false),
                batch_reply("updated"),
            ),
        ),
    ]
}

fn retrieval() -> Vec<Op> {
    vec![
        (
            "/api/v1/retrieval",
            "post",
            operation(
                "retrieval",
                "retrieve",
                "Retrieve chunks from datasets",
                vec![],
                json_body(schema_ref("RetrievalRequest"), true),
                envelope_reply("the ranked chunks", schema_ref("RetrievalResult")),
            ),
        ),
        (
            "/api/v1/dify/retrieval",
            "post",
            operation(
                "retrieval",
                "difyRetrieval",
                "Dify's external knowledge API (bare `records` reply; errors use HTTP statuses)",
                vec![],
                json_body(schema_ref("DifyRequest"), true),
                json!({
                    "200": {"description": "the records, or code 101 for missing arguments",
                        "content": {"application/json": {"schema": {"anyOf": [schema_ref("DifyRecords"), schema_ref("Envelope")]}}}},
                    "403": {"description": "invalid API key", "content": {"application/json": {"schema": schema_ref("Envelope")}}},
                    "404": {"description": "unknown knowledge base, or no chunks", "content": {"application/json": {"schema": schema_ref("Envelope")}}},
                    "500": {"description": "retrieval failed", "content": {"application/json": {"schema": schema_ref("Envelope")}}},
                }),
            ),
        ),
        (
            "/api/v1/dify/retrieval",
            "get",
            operation(
                "retrieval",
                "difyRetrievalGet",
                "Dify's external knowledge API from the query string (v0.27)",
                vec![
                    query("knowledge_id", "the dataset id", json!({"type": "string"})),
                    query("query", "the question", json!({"type": "string"})),
                    query(
                        "use_kg",
                        "`true` to use the knowledge graph",
                        json!({"type": "string"}),
                    ),
                    query("top_k", "how many records", json!({"type": "number"})),
                    query(
                        "score_threshold",
                        "the lowest similarity kept",
                        json!({"type": "number"}),
                    ),
                ],
                None,
                json!({
                    "200": {"description": "the records, or code 101 for missing arguments",
                        "content": {"application/json": {"schema": {"anyOf": [schema_ref("DifyRecords"), schema_ref("Envelope")]}}}},
                    "400": {"description": "a number that does not parse", "content": {"application/json": {"schema": schema_ref("Envelope")}}},
                    "403": {"description": "invalid API key", "content": {"application/json": {"schema": schema_ref("Envelope")}}},
                    "404": {"description": "unknown knowledge base, or no chunks", "content": {"application/json": {"schema": schema_ref("Envelope")}}},
                    "500": {"description": "retrieval failed", "content": {"application/json": {"schema": schema_ref("Envelope")}}},
                }),
            ),
        ),
        ("/api/v1/dify/retrieval/health", "get", {
            let mut op = operation(
                "retrieval",
                "difyHealth",
                "Liveness of the Dify endpoint (v0.27; no key needed)",
                vec![],
                None,
                envelope_reply("true", json!({"type": "boolean"})),
            );
            op["security"] = json!([]);
            op
        }),
    ]
}

fn meta() -> Vec<Op> {
    let mut doc_json = operation(
        "meta",
        "openapiDocument",
        "This OpenAPI document",
        vec![],
        None,
        json!({"200": {"description": "the document", "content": {"application/json": {"schema": {"type": "object"}}}}}),
    );
    doc_json["security"] = json!([]);
    let mut page = operation(
        "meta",
        "apiDocsPage",
        "A browsable rendering of this document",
        vec![],
        None,
        json!({"200": {"description": "an HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}}),
    );
    page["security"] = json!([]);
    vec![
        ("/api/v1/openapi.json", "get", doc_json),
        ("/api/v1/docs", "get", page),
    ]
}

/// `DS + suffix` as a `&'static str` (the document is built once, so leaking is bounded).
fn const_format(prefix: &str, suffix: &str) -> &'static str {
    Box::leak(format!("{prefix}{suffix}").into_boxed_str())
}

pub(super) fn schemas() -> Map<String, Value> {
    let str_ = json!({"type": "string"});
    let opt_str = json!({"type": ["string", "null"]});
    // Set once the dataset's current task of that kind succeeded.
    let finish_at = json!({"type": ["string", "null"], "description": "RFC 1123 date"});
    let str_list = json!({"type": "array", "items": {"type": "string"}});
    let chunk_methods = json!([
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
        "tag"
    ]);
    let dataset_fields = json!({
        "name": {"type": "string", "minLength": 1, "maxLength": 128},
        "avatar": {"type": ["string", "null"], "description": "data:image/png;base64,… or data:image/jpeg;base64,…"},
        "description": {"type": ["string", "null"], "maxLength": 65535},
        "embedding_model": {"type": ["string", "null"], "description": "model@provider", "maxLength": 255},
        "permission": {"type": "string", "enum": ["me", "team"]},
        "chunk_method": {"type": "string", "enum": chunk_methods},
        "parse_type": {"type": "integer", "minimum": 0, "maximum": 64},
        "pipeline_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        "parser_config": {"anyOf": [schema_ref("ParserConfig"), {"type": "null"}]},
    });
    let mut update_fields = dataset_fields.clone();
    update_fields["pagerank"] = json!({"type": "integer", "minimum": 0, "maximum": 100});
    object_map(json!({
        "DatasetCreate": {
            "type": "object", "required": ["name"], "additionalProperties": false,
            "properties": dataset_fields,
        },
        "DatasetUpdate": {
            "type": "object", "additionalProperties": false, "properties": update_fields,
        },
        "ParserConfig": {
            "type": "object",
            "description": "chunking settings; deep-merged over the chunk method's defaults",
            "properties": {
                "chunk_token_num": {"type": "integer", "minimum": 1, "maximum": 2048},
                "delimiter": {"type": "string", "minLength": 1},
                "auto_keywords": {"type": "integer", "minimum": 0, "maximum": 32},
                "auto_questions": {"type": "integer", "minimum": 0, "maximum": 10},
                "html4excel": {"type": "boolean"},
                "layout_recognize": {"type": "string"},
                "topn_tags": {"type": "integer", "minimum": 1, "maximum": 10},
                "tag_kb_ids": str_list,
                "filename_embd_weight": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
                "task_page_size": {"type": ["integer", "null"], "minimum": 1},
                "raptor": {"type": "object", "properties": {"use_raptor": {"type": "boolean"}}},
                "graphrag": {"type": "object", "properties": {"use_graphrag": {"type": "boolean"}}},
            },
        },
        "Dataset": {
            "type": "object",
            "properties": {
                "id": str_, "name": str_, "avatar": {}, "tenant_id": str_, "language": str_,
                "description": {}, "embedding_model": str_, "permission": str_,
                "created_by": str_, "document_count": {"type": "integer"},
                "token_num": {"type": "integer"}, "chunk_count": {"type": "integer"},
                "similarity_threshold": {"type": "number"},
                "vector_similarity_weight": {"type": "number"}, "chunk_method": str_,
                "parser_config": {"type": "object"}, "pagerank": {"type": "integer"},
                "status": str_, "create_time": {"type": "integer"}, "create_date": str_,
                "update_time": {"type": "integer"}, "update_date": str_,
                "graphrag_task_id": opt_str, "raptor_task_id": opt_str,
                "mindmap_task_id": opt_str,
                "graphrag_task_finish_at": finish_at, "raptor_task_finish_at": finish_at,
                "mindmap_task_finish_at": finish_at,
            },
        },
        "UploadedDocument": {
            "type": "object",
            "properties": {
                "id": str_, "dataset_id": str_, "name": str_, "chunk_method": str_,
                "parser_config": {"type": "object"}, "type": str_, "suffix": str_,
                "location": str_, "size": {"type": "integer"}, "run": str_,
            },
        },
        "Document": {
            "type": "object",
            "properties": {
                "id": str_, "dataset_id": str_, "name": str_, "chunk_method": str_,
                "parser_config": {"type": "object"}, "type": str_, "suffix": str_,
                "size": {"type": "integer"}, "token_count": {"type": "integer"},
                "chunk_count": {"type": "integer"}, "progress": {"type": "number"},
                "progress_msg": str_, "run": {"type": ["string", "null"]},
                "status": str_, "meta_fields": {"type": "object"},
                "create_time": {"type": "integer"}, "update_time": {"type": "integer"},
            },
        },
        "DocumentUpdate": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "maxLength": 255},
                "meta_fields": {"type": "object"},
                "chunk_method": {"type": "string", "enum": ["naive", "manual", "qa", "table", "paper", "book", "laws", "presentation", "picture", "one", "knowledge_graph", "email", "tag"]},
                "parser_config": schema_ref("ParserConfig"),
                "enabled": {"type": ["boolean", "integer"]},
            },
        },
        "DocumentIds": {
            "type": "object", "required": ["document_ids"],
            "properties": {"document_ids": {"type": "array", "items": str_, "minItems": 1}},
        },
        "MetadataUpdate": {
            "type": "object",
            "properties": {
                "selector": {"type": "object", "properties": {
                    "document_ids": str_list, "metadata_condition": schema_ref("MetadataCondition"),
                }},
                "updates": {"type": "array", "items": {"type": "object", "required": ["key", "value"], "properties": {
                    "key": str_, "value": {}, "match": {},
                }}},
                "deletes": {"type": "array", "items": {"type": "object", "required": ["key"], "properties": {
                    "key": str_, "value": {},
                }}},
            },
        },
        "Chunk": {
            "type": "object",
            "properties": {
                "id": str_, "content": str_, "document_id": str_, "dataset_id": str_,
                "important_keywords": str_list, "questions": str_list,
                "available": {"type": "boolean"}, "tag_kwd": str_list,
            },
        },
        "ChunkCreate": {
            "type": "object", "required": ["content"],
            "properties": {
                "content": {"type": "string", "minLength": 1}, "important_keywords": str_list, "questions": str_list,
                "tag_kwd": str_list,
                "tag_feas": {"type": "object", "additionalProperties": {"type": "number"},
                             "description": "tag scores (v0.27): tag → finite number"},
                "image_base64": {"type": "string", "description": "an image for the chunk (base64 or data URI); sets image_id"},
            },
        },
        "ChunkUpdate": {
            "type": "object",
            "properties": {
                "content": {"type": ["string", "null"]}, "important_keywords": str_list,
                "questions": str_list, "available": {"type": "boolean"},
                "positions": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
                "tag_kwd": str_list,
                "tag_feas": {"type": "object", "additionalProperties": {"type": "number"},
                             "description": "tag scores (v0.27): tag → finite number"},
                "image_base64": {"type": "string", "description": "an image for the chunk (base64 or data URI); sets image_id"},
            },
        },
        "RetrievalRequest": {
            "type": "object", "required": ["dataset_ids", "question"],
            "properties": {
                "dataset_ids": {"type": "array", "items": str_, "minItems": 1},
                "question": str_,
                "document_ids": str_list,
                "page": {"type": "integer", "minimum": 1},
                "page_size": {"type": "integer", "minimum": 1},
                "similarity_threshold": {"type": "number", "minimum": 0, "maximum": 1},
                "vector_similarity_weight": {"type": "number", "minimum": 0, "maximum": 1},
                "top_k": {"type": "integer", "minimum": 1},
                "rerank_id": str_,
                "keyword": {"type": "boolean"},
                "highlight": {"type": ["boolean", "string"]},
                "cross_languages": str_list,
                "metadata_condition": schema_ref("MetadataCondition"),
                "use_kg": {"type": "boolean"},
                "toc_enhance": {"type": "boolean"},
            },
        },
        "RetrievalResult": {
            "type": "object",
            "properties": {
                "total": {"type": "integer"},
                "chunks": {"type": "array", "items": {"type": "object", "properties": {
                    "id": str_, "content": str_, "document_id": str_, "dataset_id": str_,
                    "similarity": {"type": "number"}, "vector_similarity": {"type": "number"},
                    "term_similarity": {"type": "number"},
                }}},
                "doc_aggs": {"type": ["array", "object"]},
            },
        },
        "DifyRequest": {
            "type": "object", "required": ["knowledge_id", "query"],
            "properties": {
                "knowledge_id": str_,
                "query": str_,
                "retrieval_setting": {"type": "object", "properties": {
                    "score_threshold": {"type": "number", "minimum": 0, "maximum": 1},
                    "top_k": {"type": "integer", "minimum": 1},
                }},
                "metadata_condition": schema_ref("MetadataCondition"),
                "use_kg": {"type": "boolean"},
            },
        },
        "DifyRecords": {
            "type": "object", "required": ["records"],
            "properties": {"records": {"type": "array", "items": {"type": "object", "properties": {
                "content": str_, "score": {"type": "number"}, "title": str_, "metadata": {"type": "object"},
            }}}},
        },
    }))
}
