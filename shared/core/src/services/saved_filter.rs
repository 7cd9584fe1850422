//! A chat's (or search app's) saved `meta_data_filter`, resolved for one question:
//! `manual` conditions apply as they are; `auto` and `semi_auto` have the chat model write
//! the conditions from the question and the datasets' metadata (`semi_auto` offers it only
//! the keys the filter selects, with their operators fixed when given).
//!
//! Never fails a turn: a model that errs or answers nothing usable, or conditions that
//! match no document, leave retrieval unrestricted, as upstream falls back.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::StreamExt;
use serde_json::{json, Map, Value};

use crate::domain::DocumentListQuery;
use crate::ports::chat::{ChatMessage, ChatModel, GenOptions, Purpose};
use crate::services::metadata_filter::{self, Op};
use crate::state::AppState;

/// How a saved filter narrows a turn's retrieval.
#[derive(Debug, Clone, PartialEq)]
pub enum SavedScope {
    /// Search every document.
    Unrestricted,
    /// A `metadata_condition` for retrieval to apply (`manual`).
    Condition(Value),
    /// Only these documents (`auto` / `semi_auto`, already matched).
    Documents(Vec<String>),
}

/// Values offered to the model per key at most (a key with thousands of distinct values
/// would crowd out the question).
const VALUES_PER_KEY: usize = 50;

/// Instructions for writing conditions (lambdarag's own wording).
pub const FILTER_PROMPT: &str = "You write metadata filters for a document search. Below \
are the metadata keys of the documents, each with values it takes. Choose conditions that \
the documents answering the user's question must meet, using only these keys and, where \
possible, exactly these values. Operators: =, ≠, >, <, ≥, ≤, contains, not contains, \
start with, end with. Answer with one JSON object and nothing else: \
{\"logic\": \"and\" or \"or\", \"conditions\": [{\"key\": ..., \"op\": ..., \"value\": ...}]}. \
If the question implies no condition, answer {\"logic\": \"and\", \"conditions\": []}.";

/// The metadata of the datasets' enabled documents: key → value → document ids.
pub type Metas = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// A metadata value as the texts a filter matches: strings, numbers and booleans as text,
/// lists element by element; blanks and objects give none.
pub fn value_texts(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => vec![s.clone()],
        Value::Number(n) => vec![n.to_string()],
        Value::Bool(b) => vec![b.to_string()],
        Value::Array(a) => a.iter().flat_map(value_texts).collect(),
        _ => Vec::new(),
    }
}

/// Record a document's `meta_fields` under each key and value it holds.
pub fn add_document(metas: &mut Metas, doc_id: &str, meta_fields: &Value) {
    let Value::Object(fields) = meta_fields else {
        return;
    };
    for (k, v) in fields {
        for text in value_texts(v) {
            let ids = metas.entry(k.clone()).or_default().entry(text).or_default();
            if !ids.iter().any(|i| i == doc_id) {
                ids.push(doc_id.to_string());
            }
        }
    }
}

async fn dataset_metas(
    state: &AppState,
    tenant_id: &str,
    dataset_ids: &[String],
) -> Result<(Metas, Vec<(String, Value)>), crate::contract::error::StoreError> {
    let mut metas = Metas::new();
    let mut docs = Vec::new();
    for ds in dataset_ids {
        let (list, _) = state
            .docs
            .list_documents(tenant_id, ds, &DocumentListQuery::all())
            .await?;
        for d in list.into_iter().filter(|d| d.status == "1") {
            add_document(&mut metas, &d.id, &d.meta_fields);
            docs.push((d.id, d.meta_fields));
        }
    }
    Ok((metas, docs))
}

/// The keys `semi_auto` selects (strings or `{key, op}`), with their fixed operators.
fn selection(saved: &Map<String, Value>) -> Vec<(String, Option<String>)> {
    let Some(Value::Array(items)) = saved.get("semi_auto") else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| match item {
            Value::String(k) => Some((k.clone(), None)),
            Value::Object(o) => {
                let key = o.get("key")?.as_str()?.to_string();
                let op = o.get("op").and_then(Value::as_str).map(str::to_string);
                Some((key, op.filter(|s| !s.is_empty())))
            }
            _ => None,
        })
        .collect()
}

/// The system message: the instructions, then each key with its values (and its fixed
/// operator, for `semi_auto`).
pub fn filter_prompt(metas: &Metas, fixed_ops: &BTreeMap<String, String>) -> String {
    let mut out = format!("{FILTER_PROMPT}\n\nMetadata:\n");
    for (key, values) in metas {
        let shown: Vec<&str> = values
            .keys()
            .take(VALUES_PER_KEY)
            .map(String::as_str)
            .collect();
        out.push_str(&format!(
            "- {key}: {}",
            serde_json::to_string(&shown).unwrap_or_default()
        ));
        if let Some(op) = fixed_ops.get(key) {
            out.push_str(&format!(" (use the operator {op})"));
        }
        out.push('\n');
    }
    out
}

/// The model's conditions as a `metadata_condition`, keeping only conditions on offered
/// keys with known operators (a `semi_auto` key's operator is the one fixed for it).
/// `None` when nothing usable remains.
pub fn conditions_from_answer(
    answer: &str,
    keys: &Metas,
    fixed_ops: &BTreeMap<String, String>,
) -> Option<Value> {
    let start = answer.find('{')?;
    let end = answer.rfind('}')?;
    let parsed: Value = serde_json::from_str(answer.get(start..=end)?).ok()?;
    let logic = match parsed.get("logic").and_then(Value::as_str) {
        Some(l) if l.eq_ignore_ascii_case("or") => "or",
        _ => "and",
    };
    let conditions: Vec<Value> = parsed
        .get("conditions")?
        .as_array()?
        .iter()
        .filter_map(|c| {
            let key = c.get("key").and_then(Value::as_str)?;
            if !keys.contains_key(key) {
                return None;
            }
            let op = match fixed_ops.get(key) {
                Some(op) => op.clone(),
                None => c.get("op").and_then(Value::as_str)?.to_string(),
            };
            Op::parse(&op)?;
            Some(json!({"name": key, "comparison_operator": op, "value": c.get("value")?.clone()}))
        })
        .collect();
    (!conditions.is_empty()).then(|| json!({"logic": logic, "conditions": conditions}))
}

async fn ask(model: &Arc<dyn ChatModel>, system: String, question: &str) -> Option<String> {
    let opts = GenOptions {
        temperature: Some(0.1),
        purpose: Purpose::MetadataFilter,
        ..Default::default()
    };
    let messages = [ChatMessage::system(system), ChatMessage::user(question)];
    let mut stream = match model.stream(&messages, &opts).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "metadata filter: the chat model failed; no filter applied");
            return None;
        }
    };
    let mut out = String::new();
    while let Some(piece) = stream.next().await {
        match piece {
            Ok(d) => out.push_str(&d.content),
            Err(e) => {
                tracing::warn!(error = %e, "metadata filter: the chat model failed; no filter applied");
                return None;
            }
        }
    }
    Some(out)
}

/// Resolve `saved` for `question` over the datasets' documents.
pub async fn resolve(
    state: &AppState,
    tenant_id: &str,
    model: &Arc<dyn ChatModel>,
    saved: &Value,
    dataset_ids: &[String],
    question: &str,
) -> SavedScope {
    let Some(saved_map) = saved.as_object() else {
        return SavedScope::Unrestricted;
    };
    let method = saved_map
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or("");
    if method == "manual" {
        return match metadata_filter::from_saved_filter(saved) {
            Some(c) => SavedScope::Condition(c),
            None => SavedScope::Unrestricted,
        };
    }
    if method != "auto" && method != "semi_auto" {
        return SavedScope::Unrestricted;
    }
    let (mut metas, docs) = match dataset_metas(state, tenant_id, dataset_ids).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "metadata filter: documents unreadable; no filter applied");
            return SavedScope::Unrestricted;
        }
    };
    let mut fixed_ops = BTreeMap::new();
    if method == "semi_auto" {
        let chosen = selection(saved_map);
        metas.retain(|k, _| chosen.iter().any(|(key, _)| key == k));
        for (key, op) in chosen {
            if let Some(op) = op {
                fixed_ops.insert(key, op);
            }
        }
    }
    if metas.is_empty() {
        return SavedScope::Unrestricted;
    }
    let Some(answer) = ask(model, filter_prompt(&metas, &fixed_ops), question).await else {
        return SavedScope::Unrestricted;
    };
    let Some(condition) = conditions_from_answer(&answer, &metas, &fixed_ops) else {
        return SavedScope::Unrestricted;
    };
    let Ok(Some(filter)) = metadata_filter::parse(Some(&condition)) else {
        return SavedScope::Unrestricted;
    };
    let matched: Vec<String> = docs
        .into_iter()
        .filter(|(_, meta)| filter.matches(meta))
        .map(|(id, _)| id)
        .collect();
    if matched.is_empty() {
        SavedScope::Unrestricted
    } else {
        SavedScope::Documents(matched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metas() -> Metas {
        let mut m = Metas::new();
        m.entry("topic".into())
            .or_default()
            .insert("energy".into(), vec!["d1".into()]);
        m.entry("topic".into())
            .or_default()
            .insert("insects".into(), vec!["d2".into()]);
        m.entry("year".into())
            .or_default()
            .insert("2024".into(), vec!["d1".into(), "d2".into()]);
        m
    }

    #[test]
    fn the_prompt_lists_keys_values_and_fixed_operators() {
        let fixed = BTreeMap::from([("year".to_string(), "≥".to_string())]);
        let p = filter_prompt(&metas(), &fixed);
        assert!(p.starts_with(FILTER_PROMPT));
        assert!(p.contains("- topic: [\"energy\",\"insects\"]\n"));
        assert!(p.contains("- year: [\"2024\"] (use the operator ≥)\n"));
    }

    #[test]
    fn answers_become_conditions_on_offered_keys_only() {
        let answer = "```json\n{\"logic\": \"OR\", \"conditions\": [\
            {\"key\": \"topic\", \"op\": \"=\", \"value\": \"energy\"},\
            {\"key\": \"colour\", \"op\": \"=\", \"value\": \"red\"},\
            {\"key\": \"year\", \"op\": \"bogus\", \"value\": 2024}]}\n```";
        assert_eq!(
            conditions_from_answer(answer, &metas(), &BTreeMap::new()),
            Some(json!({"logic": "or", "conditions": [
                {"name": "topic", "comparison_operator": "=", "value": "energy"}]}))
        );
        // A fixed operator replaces the model's (and rescues an unknown one).
        let fixed = BTreeMap::from([("year".to_string(), "≥".to_string())]);
        assert_eq!(
            conditions_from_answer(answer, &metas(), &fixed),
            Some(json!({"logic": "or", "conditions": [
                {"name": "topic", "comparison_operator": "=", "value": "energy"},
                {"name": "year", "comparison_operator": "≥", "value": 2024}]}))
        );
        assert_eq!(
            conditions_from_answer("no idea", &metas(), &BTreeMap::new()),
            None
        );
        assert_eq!(
            conditions_from_answer("{\"conditions\": []}", &metas(), &BTreeMap::new()),
            None
        );
    }

    #[test]
    fn semi_auto_selections_take_strings_and_objects() {
        let saved = json!({"method": "semi_auto", "semi_auto": ["topic", {"key": "year", "op": ">"}, {"key": "x", "op": ""}, 3]});
        assert_eq!(
            selection(saved.as_object().unwrap()),
            vec![
                ("topic".to_string(), None),
                ("year".to_string(), Some(">".to_string())),
                ("x".to_string(), None)
            ]
        );
    }
}
