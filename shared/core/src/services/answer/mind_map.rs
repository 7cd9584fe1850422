//! v0.27's `POST /chat/mindmap`: retrieve a page of chunks for a question from the given
//! datasets (plus a saved search app's), ask a chat model for a markdown outline of them,
//! and answer that outline as a tree of `{"id", "children"}` nodes.

use serde_json::{json, Map, Value};

use super::default_model::ask_model;
use super::prompt::setting_options;
use crate::contract::envelope::ApiError;
use crate::contract::pyfmt::{py_str, truthy};
use crate::ports::chat::{GenOptions, Purpose};
use crate::services::completion::chat_reranker;
use crate::services::retrieval::{self, RetrievalRequest};
use crate::services::saved_filter::{self, SavedScope};
use crate::services::searches::{require_keys, saved_config};
use crate::state::AppState;

/// Instructions for the outline (lambdarag's own wording).
pub const MIND_MAP_PROMPT: &str = "You turn passages into a mind map. Read the passages \
below and summarise what they say about the user's question as a markdown outline: one `#` \
heading naming the central topic, `##` headings for its main branches (and `###` for \
sub-branches where useful), and short `-` bullet points for the facts under each branch. Use \
only what the passages say, in their language. Answer with the outline only.";

/// Chunks the outline is made from (upstream asks retrieval for a page of 12).
const MIND_MAP_CHUNKS: usize = 12;
/// Characters of passage text handed to the model at most.
const MIND_MAP_TEXT_BUDGET: usize = 24_000;

fn ids(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().filter(|x| truthy(x)).map(py_str).collect(),
        Some(v @ Value::String(_)) if truthy(v) => vec![py_str(v)],
        _ => Vec::new(),
    }
}

fn number(config: &Map<String, Value>, key: &str, default: f64) -> f64 {
    config.get(key).and_then(Value::as_f64).unwrap_or(default)
}

/// The empty map upstream answers when nothing was retrieved.
fn empty_map() -> Value {
    json!({"id": "root", "children": []})
}

/// POST /chat/mindmap.
pub async fn mind_map(
    state: &AppState,
    tenant_id: &str,
    req: &Map<String, Value>,
) -> Result<Value, ApiError> {
    require_keys(req, &["question", "kb_ids"])?;
    let config = saved_config(state, tenant_id, req).await?;
    let mut wanted = ids(config.get("kb_ids"));
    for id in ids(req.get("kb_ids")) {
        if !wanted.contains(&id) {
            wanted.push(id);
        }
    }
    // Only the caller's datasets are read. Unknown ids are skipped, as upstream skips them;
    // another tenant's look the same (upstream would read them).
    let mut live = Vec::new();
    for id in wanted {
        if state.meta.get_dataset(tenant_id, &id).await?.is_some() {
            live.push(id);
        }
    }
    if live.is_empty() {
        return Err(ApiError::exception("Exception('No KB selected')"));
    }
    let datasets = retrieval::load_datasets(state, tenant_id, &live).await?;
    let question = py_str(&req["question"]);
    let llm_id = config.get("chat_id").filter(|v| truthy(v)).map(py_str);
    // The app's saved filter, as a chat's: `manual` conditions, or (`auto` / `semi_auto`)
    // conditions the model writes; then its `doc_ids`.
    let mut metadata_condition = None;
    let mut document_ids = Some(ids(config.get("doc_ids"))).filter(|d| !d.is_empty());
    if let Some(saved) = config.get("meta_data_filter") {
        let model = filter_model(state, tenant_id, llm_id.as_deref()).await?;
        match saved_filter::resolve(state, tenant_id, &model, saved, &live, &question).await {
            SavedScope::Condition(c) => {
                metadata_condition = Some(c);
                document_ids = None;
            }
            SavedScope::Documents(found) => document_ids = Some(found),
            SavedScope::Unrestricted => {}
        }
    }
    let rerank_id = config.get("rerank_id").map(py_str).unwrap_or_default();
    let request = RetrievalRequest {
        dataset_ids: live,
        document_ids,
        question: question.clone(),
        page: 1,
        page_size: MIND_MAP_CHUNKS,
        similarity_threshold: number(&config, "similarity_threshold", 0.2) as f32,
        vector_similarity_weight: (number(&config, "vector_similarity_weight", 0.3) as f32)
            .clamp(0.0, 1.0),
        top_k: config
            .get("top_k")
            .and_then(Value::as_i64)
            .and_then(|k| usize::try_from(k).ok())
            .filter(|k| *k > 0)
            .unwrap_or(1024),
        metadata_condition,
        rerank_id: chat_reranker(state, tenant_id, &rerank_id).await,
        ..RetrievalRequest::default()
    };
    let found = retrieval::retrieve(state, tenant_id, &datasets, &request).await?;
    if found.hits.is_empty() {
        return Ok(empty_map());
    }
    let context = retrieval::context_of(&found.hits);
    let mut passages = String::new();
    for c in &context {
        if !passages.is_empty() && passages.len() + c.content.len() > MIND_MAP_TEXT_BUDGET {
            break;
        }
        passages.push_str(&c.content);
        passages.push_str("\n\n");
    }
    let mut opts = match config.get("llm_setting") {
        Some(Value::Object(s)) => setting_options(s),
        _ => GenOptions::default(),
    };
    opts.purpose = Purpose::MindMap;
    opts.context = context;
    let system = format!("{MIND_MAP_PROMPT}\n\nPassages:\n{passages}");
    let outline = ask_model(state, tenant_id, llm_id.as_deref(), system, question, opts).await?;
    Ok(outline_tree(&outline))
}

/// The chat model a saved filter's conditions are written with (the app's, else the
/// tenant's default).
pub(crate) async fn filter_model(
    state: &AppState,
    tenant_id: &str,
    llm_id: Option<&str>,
) -> Result<std::sync::Arc<dyn crate::ports::chat::ChatModel>, ApiError> {
    let tenant = state
        .meta
        .get_tenant(tenant_id)
        .await?
        .ok_or_else(|| ApiError::data("Tenant not found!"))?;
    let llm_id = llm_id.unwrap_or(&tenant.llm_id).to_string();
    state
        .chat_models
        .chat_model(&tenant, &llm_id)
        .map_err(|e| ApiError::exception(super::model_error(&e)))
}

/// One line of an outline: its depth (headings first, list items below every heading) and
/// its text.
fn outline_line(line: &str) -> Option<(usize, String)> {
    let trimmed = line.trim_start();
    if trimmed.starts_with("```") {
        return None;
    }
    let hashes = trimmed.chars().take_while(|c| *c == '#').count();
    let (depth, text) = if hashes > 0 && trimmed[hashes..].starts_with(' ') {
        (hashes, &trimmed[hashes..])
    } else {
        // List items nest by indentation (two columns a level, tabs as four).
        let indent: usize = line
            .chars()
            .take_while(|c| c.is_whitespace())
            .map(|c| if c == '\t' { 4 } else { 1 })
            .sum();
        let body = list_item_body(trimmed)?;
        (100 + indent / 2, body)
    };
    let text = text.replace("**", "").replace("__", "");
    let text = text.trim().trim_end_matches(':').trim();
    (!text.is_empty()).then(|| (depth, text.to_string()))
}

/// The text of a `-`, `*`, `+` or `1.` list item; `None` for any other line.
fn list_item_body(line: &str) -> Option<&str> {
    for marker in ["- ", "* ", "+ "] {
        if let Some(rest) = line.strip_prefix(marker) {
            return Some(rest);
        }
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 {
        let rest = &line[digits..];
        return rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") "));
    }
    None
}

struct Node {
    depth: usize,
    id: String,
    children: Vec<Node>,
}

impl Node {
    fn to_value(&self) -> Value {
        json!({
            "id": self.id,
            "children": self.children.iter().map(Node::to_value).collect::<Vec<_>>(),
        })
    }
}

/// A markdown outline as upstream's mind-map tree: the single top-level node as the root,
/// or several under `{"id": "root"}`. Lines that are neither headings nor list items (prose)
/// are left out; a node repeated under the same parent is merged into its first copy.
pub fn outline_tree(markdown: &str) -> Value {
    // A stack of open nodes; a line closes every open node at its depth or deeper.
    let mut top: Vec<Node> = Vec::new();
    let mut open: Vec<Node> = Vec::new();
    fn close(open: &mut Vec<Node>, top: &mut Vec<Node>) {
        if let Some(node) = open.pop() {
            let siblings = match open.last_mut() {
                Some(parent) => &mut parent.children,
                None => top,
            };
            match siblings.iter_mut().find(|s| s.id == node.id) {
                Some(twin) => twin.children.extend(node.children),
                None => siblings.push(node),
            }
        }
    }
    for line in markdown.lines() {
        let Some((depth, id)) = outline_line(line) else {
            continue;
        };
        while open.last().is_some_and(|n| n.depth >= depth) {
            close(&mut open, &mut top);
        }
        open.push(Node {
            depth,
            id,
            children: Vec::new(),
        });
    }
    while !open.is_empty() {
        close(&mut open, &mut top);
    }
    match top.len() {
        0 => empty_map(),
        1 => top[0].to_value(),
        _ => json!({
            "id": "root",
            "children": top.iter().map(Node::to_value).collect::<Vec<_>>(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_and_items_nest() {
        let md = "# Solar\n## Care\n- Clean **twice** a year\n- Check inverter:\n  - LED green\n## Warranty\n1. Keep the certificate\n";
        assert_eq!(
            outline_tree(md),
            json!({"id": "Solar", "children": [
                {"id": "Care", "children": [
                    {"id": "Clean twice a year", "children": []},
                    {"id": "Check inverter", "children": [{"id": "LED green", "children": []}]},
                ]},
                {"id": "Warranty", "children": [{"id": "Keep the certificate", "children": []}]},
            ]})
        );
    }

    #[test]
    fn several_tops_go_under_a_root_and_prose_and_fences_are_skipped() {
        let md = "```markdown\nHere is the map.\n## A\n- a1\n## B\n## A\n```";
        assert_eq!(
            outline_tree(md),
            json!({"id": "root", "children": [
                {"id": "A", "children": [{"id": "a1", "children": []}]},
                {"id": "B", "children": []},
            ]})
        );
    }

    #[test]
    fn nothing_outlined_is_the_empty_map() {
        assert_eq!(outline_tree(""), empty_map());
        assert_eq!(outline_tree("just prose\n#hashtag"), empty_map());
    }
}
