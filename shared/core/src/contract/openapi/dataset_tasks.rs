//! The dataset tasks (contract D5–D10): the knowledge graph and the GraphRAG and RAPTOR
//! runs and traces.

use serde_json::{json, Value};

use super::{envelope_reply, operation, path_param};

type Op = (&'static str, &'static str, Value);

pub(super) fn operations() -> Vec<Op> {
    let task = |id: &str, summary: &str, data: Value| {
        operation(
            "datasets",
            id,
            summary,
            vec![path_param("dataset_id", "dataset id (32 hex characters)")],
            None,
            envelope_reply(summary, data),
        )
    };
    vec![
        (
            "/api/v1/datasets/{dataset_id}/knowledge_graph",
            "get",
            task(
                "getKnowledgeGraph",
                "The dataset's knowledge graph (nodes: the 256 highest PageRank; edges: the 128 heaviest among them) and its mind map; `{}` each before a GraphRAG run",
                knowledge_graph_schema(),
            ),
        ),
        (
            "/api/v1/datasets/{dataset_id}/graph",
            "get",
            task(
                "getGraph",
                "v0.27's name for GET knowledge_graph",
                knowledge_graph_schema(),
            ),
        ),
        (
            "/api/v1/datasets/{dataset_id}/knowledge_graph",
            "delete",
            task(
                "deleteKnowledgeGraph",
                "Delete the dataset's knowledge graph (a GraphRAG run in progress is cancelled)",
                json!({"type": "boolean"}),
            ),
        ),
        (
            "/api/v1/datasets/{dataset_id}/graph",
            "delete",
            task(
                "deleteGraph",
                "v0.27's name for DELETE knowledge_graph",
                json!({"type": "boolean"}),
            ),
        ),
        (
            "/api/v1/datasets/{dataset_id}/run_graphrag",
            "post",
            task(
                "runGraphrag",
                "Start a GraphRAG task (`task_id` is v0.27's name for the same id)",
                json!({"type": "object", "properties": {"graphrag_task_id": {"type": "string"}, "task_id": {"type": "string"}}}),
            ),
        ),
        (
            "/api/v1/datasets/{dataset_id}/trace_graphrag",
            "get",
            task(
                "traceGraphrag",
                "The GraphRAG task's status: `{}` if it never ran, else the task row",
                task_row_schema("graphrag", "says whether entities came from a chat model or the built-in extractor"),
            ),
        ),
        (
            "/api/v1/datasets/{dataset_id}/run_raptor",
            "post",
            task(
                "runRaptor",
                "Start a RAPTOR task",
                json!({"type": "object", "properties": {"raptor_task_id": {"type": "string"}, "task_id": {"type": "string"}}}),
            ),
        ),
        (
            "/api/v1/datasets/{dataset_id}/trace_raptor",
            "get",
            task(
                "traceRaptor",
                "The RAPTOR task's status: `{}` if it never ran, else the task row",
                task_row_schema("raptor", "says whether summaries were written by a chat model or extracted"),
            ),
        ),
    ]
}

/// A dataset task's row, as the trace routes return it.
fn task_row_schema(task_type: &str, progress_note: &str) -> Value {
    json!({"type": "object", "properties": {
        "id": {"type": "string"},
        "doc_id": {"type": "string"},
        "from_page": {"type": "integer"},
        "to_page": {"type": "integer"},
        "task_type": {"type": "string", "enum": [task_type]},
        "priority": {"type": "integer"},
        "begin_at": {"type": ["string", "null"], "description": "RFC 1123 date"},
        "process_duration": {"type": "number", "description": "seconds"},
        "progress": {"type": "number", "description": "0…1 running, 1 done, -1 failed"},
        "progress_msg": {"type": "string", "description": format!("one `HH:MM:SS text` line per step; {progress_note}")},
        "retry_count": {"type": "integer"},
        "digest": {"type": "string"},
        "chunk_ids": {"type": "string", "description": "the chunks written, space-separated"},
        "create_time": {"type": "integer"},
        "create_date": {"type": "string"},
        "update_time": {"type": "integer"},
        "update_date": {"type": "string"}
    }})
}

/// D5's reply: `node_link_data` graph and `{id, children}` mind map (both `{}` if none).
fn knowledge_graph_schema() -> Value {
    json!({"type": "object", "properties": {
        "graph": {"type": "object", "properties": {
            "directed": {"type": "boolean"},
            "multigraph": {"type": "boolean"},
            "graph": {"type": "object"},
            "nodes": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string"},
                "entity_type": {"type": "string"},
                "description": {"type": "string"},
                "source_id": {"type": "array", "items": {"type": "string"}},
                "pagerank": {"type": "number"}
            }}},
            "edges": {"type": "array", "items": {"type": "object", "properties": {
                "source": {"type": "string"},
                "target": {"type": "string"},
                "description": {"type": "string"},
                "keywords": {"type": "array", "items": {"type": "string"}},
                "weight": {"type": "number"},
                "source_id": {"type": "array", "items": {"type": "string"}}
            }}}
        }},
        "mind_map": {"type": "object", "properties": {
            "id": {"type": "string"},
            "children": {"type": "array", "items": {"type": "object"}}
        }}
    }})
}
