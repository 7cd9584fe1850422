//! Retrieval: searches datasets for the query and renders what it found for prompts.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::{p_bool, p_f64, p_str, p_usize, Component};
use crate::services::agents::runtime::dsl::Node;
use crate::services::agents::runtime::engine::{Step, StepResult, Turn};
use crate::services::agents::runtime::refs::to_text;
use crate::services::agents::runtime::RetrievalCall;

pub(crate) struct Retrieval;

/// What one retrieval found, rendered.
pub(crate) struct Found {
    pub question: String,
    /// Numbered passages (`[ID:n]`, n = the chunk's place in the turn's reference), or the
    /// `empty_response` when nothing was found.
    pub formalized: String,
    pub chunks: Vec<Value>,
}

/// The datasets a Retrieval (or an Agent's retrieval tool) searches: ids, or references to
/// variables holding ids (Begin's `begin@knowledge base`).
fn dataset_ids(params: &Map<String, Value>, turn: &Turn<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let listed = match params.get("kb_ids") {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::String(s)) if !s.is_empty() => vec![json!(s)],
        _ => Vec::new(),
    };
    for entry in listed {
        let Some(s) = entry.as_str() else { continue };
        let value = if turn.vars.is_ref(s.trim()) || s.trim().starts_with('{') {
            turn.vars.param(s)
        } else {
            json!(s)
        };
        match value {
            Value::Array(a) => out.extend(a.iter().map(to_text)),
            Value::Null => {}
            v => out.push(to_text(&v)),
        }
    }
    out.retain(|id| !id.trim().is_empty());
    out
}

/// Number each chunk by its place in the turn's reference, so `[ID:n]` citations resolve.
pub(crate) fn formalize(chunks: &[Value], places: &[usize]) -> String {
    chunks
        .iter()
        .zip(places)
        .map(|(c, n)| {
            let doc = c
                .get("document_name")
                .or_else(|| c.get("docnm_kwd"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let text = c
                .get("content")
                .or_else(|| c.get("content_with_weight"))
                .map(to_text)
                .unwrap_or_default();
            format!("[ID:{n}] (document: {doc})\n{text}")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Search with `params` for `question` on behalf of component `owner`; the chunks join the
/// turn's reference.
pub(crate) async fn retrieve(
    params: &Map<String, Value>,
    question: &str,
    owner: &str,
    turn: &mut Turn<'_>,
) -> Result<Found, String> {
    let call = RetrievalCall {
        dataset_ids: dataset_ids(params, turn),
        question: question.to_string(),
        top_n: p_usize(params, "top_n", 8),
        top_k: p_usize(params, "top_k", 1024),
        similarity_threshold: p_f64(params, "similarity_threshold").unwrap_or(0.2) as f32,
        keywords_similarity_weight: p_f64(params, "keywords_similarity_weight").unwrap_or(0.7)
            as f32,
        rerank_id: Some(p_str(params, "rerank_id").to_string()).filter(|r| !r.is_empty()),
        use_kg: p_bool(params, "use_kg", false),
    };
    let found = if call.dataset_ids.is_empty() || question.trim().is_empty() {
        Default::default()
    } else {
        turn.env.retrieve(&call).await?
    };
    let places = turn.add_chunks(&found.chunks);
    turn.chunk_sources
        .entry(owner.to_string())
        .or_default()
        .extend(places.iter().copied());
    let formalized = if found.chunks.is_empty() {
        p_str(params, "empty_response").to_string()
    } else {
        formalize(&found.chunks, &places)
    };
    Ok(Found {
        question: question.to_string(),
        formalized,
        chunks: found.chunks,
    })
}

#[async_trait]
impl Component for Retrieval {
    async fn run(&self, node: &Node, turn: &mut Turn<'_>) -> StepResult {
        let q = p_str(&node.params, "query");
        let mut question = if q.trim().is_empty() {
            String::new()
        } else {
            to_text(&turn.vars.param(q))
        };
        if question.trim().is_empty() {
            question = turn.query.clone();
        }
        let found = retrieve(&node.params, &question, &node.id, turn).await?;
        let mut inputs = Map::new();
        inputs.insert("query".into(), json!(found.question));
        let mut outputs = Map::new();
        outputs.insert("formalized_content".into(), json!(found.formalized));
        outputs.insert("json".into(), Value::Array(found.chunks));
        Ok(Step {
            inputs,
            outputs,
            next: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::agents::runtime::dsl::Canvas;
    use crate::services::agents::runtime::testkit::{node, turn, FakeEnv};

    #[tokio::test]
    async fn searches_with_params_and_numbers_the_passages() {
        let env = FakeEnv::echo();
        let canvas = Canvas::default();
        let (mut t, _rx) = turn(&env, &canvas);
        t.vars.ids.insert("begin".into());
        t.vars.outputs.insert(
            "begin".into(),
            json!({"knowledge base": "kb9"})
                .as_object()
                .cloned()
                .unwrap(),
        );
        let n = node(
            "retrieval:0",
            "Retrieval",
            json!({"kb_ids": ["kb1", "begin@knowledge base"], "query": "sys.query", "top_n": 6,
                   "similarity_threshold": "0.3", "rerank_id": "", "use_kg": true}),
        );
        let step = Retrieval.run(&n, &mut t).await.unwrap();
        let call = &env.retrieval_calls()[0];
        assert_eq!(call.dataset_ids, ["kb1", "kb9"]);
        assert_eq!(call.question, "what is rust");
        assert_eq!((call.top_n, call.top_k), (6, 1024));
        assert!((call.similarity_threshold - 0.3).abs() < 1e-6);
        assert!((call.keywords_similarity_weight - 0.7).abs() < 1e-6);
        assert_eq!(call.rerank_id, None);
        assert!(call.use_kg);
        let text = step.outputs["formalized_content"].as_str().unwrap();
        assert!(
            text.starts_with("[ID:0] (document: rust.md)\nRust is"),
            "{text}"
        );
        assert!(text.contains("[ID:1] (document: go.md)"));
        assert_eq!(step.outputs["json"].as_array().unwrap().len(), 2);
        assert_eq!(t.chunks.len(), 2);
        assert_eq!(t.chunk_sources["retrieval:0"], [0, 1]);

        // A second retrieval of the same chunks keeps their places.
        let again = Retrieval.run(&n, &mut t).await.unwrap();
        assert_eq!(t.chunks.len(), 2);
        assert!(again.outputs["formalized_content"]
            .as_str()
            .unwrap()
            .starts_with("[ID:0]"));
    }

    #[tokio::test]
    async fn nothing_found_gives_the_empty_response_and_errors_stop() {
        let env = FakeEnv::echo();
        let canvas = Canvas::default();
        let (mut t, _rx) = turn(&env, &canvas);
        let n = node(
            "r",
            "Retrieval",
            json!({"kb_ids": [], "empty_response": "Nothing found"}),
        );
        let step = Retrieval.run(&n, &mut t).await.unwrap();
        assert_eq!(step.outputs["formalized_content"], json!("Nothing found"));
        assert!(t.chunks.is_empty());

        let mut env = FakeEnv::echo();
        env.fail_retrieval = true;
        let (mut t, _rx) = turn(&env, &canvas);
        let n = node("r", "Retrieval", json!({"kb_ids": ["kb1"]}));
        let err = Retrieval.run(&n, &mut t).await.unwrap_err();
        assert!(err.contains("index is down"));
    }
}
