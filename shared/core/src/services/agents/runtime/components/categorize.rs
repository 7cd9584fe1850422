//! Categorize: puts the query into one of the described categories and goes on only to that
//! category's components.

use std::collections::HashSet;

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::llm::{ask, gen_options, is_builtin};
use super::{p_ids, p_str, p_usize, terms, Component};
use crate::ports::chat::ChatMessage;
use crate::services::agents::runtime::dsl::Node;
use crate::services::agents::runtime::engine::{Step, StepResult, Turn};
use crate::services::agents::runtime::refs::to_text;

pub(crate) struct Categorize;

/// Words too common to tell categories apart.
const STOPWORDS: &[&str] = &[
    "a", "an", "the", "is", "are", "was", "be", "to", "of", "and", "or", "in", "on", "it", "i",
    "you", "my", "your", "this", "that", "what", "how", "do", "does", "can", "for", "with",
    "about", "not", "just", "me", "we", "s", "t",
];

struct Category {
    name: String,
    description: String,
    examples: Vec<String>,
    to: Vec<String>,
}

fn categories(params: &Map<String, Value>) -> Vec<Category> {
    let Some(described) = params
        .get("category_description")
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    described
        .iter()
        .map(|(name, d)| Category {
            name: name.clone(),
            description: d.get("description").map(to_text).unwrap_or_default(),
            examples: match d.get("examples") {
                Some(Value::Array(a)) => a.iter().map(to_text).collect(),
                Some(Value::String(s)) => vec![s.clone()],
                _ => Vec::new(),
            },
            to: p_ids(d.get("to")),
        })
        .collect()
}

/// The category the reply names (the earliest mention; a longer name wins at the same place).
fn named_in(reply: &str, cats: &[Category]) -> Option<usize> {
    let reply = reply.to_lowercase();
    cats.iter()
        .enumerate()
        .filter_map(|(i, c)| reply.find(&c.name.to_lowercase()).map(|at| (at, i)))
        .min_by(|(a, i), (b, j)| a.cmp(b).then(cats[*j].name.len().cmp(&cats[*i].name.len())))
        .map(|(_, i)| i)
}

/// The category sharing most query terms with its name, description and examples (ties:
/// the first listed).
fn by_overlap(query: &str, cats: &[Category]) -> usize {
    let q: HashSet<String> = terms(query)
        .into_iter()
        .filter(|t| !STOPWORDS.contains(&t.as_str()))
        .collect();
    let mut best = (0usize, 0usize);
    for (i, c) in cats.iter().enumerate() {
        let text = format!("{} {} {}", c.name, c.description, c.examples.join(" "));
        let words: HashSet<String> = terms(&text).into_iter().collect();
        let score = q.iter().filter(|t| words.contains(*t)).count();
        if score > best.1 {
            best = (i, score);
        }
    }
    best.0
}

fn instructions(cats: &[Category]) -> String {
    let mut s = String::from(
        "Decide which category the user's message belongs to. Reply with the category name \
         only, exactly as written below.\n\nCategories:\n",
    );
    for c in cats {
        s.push_str(&format!("- {}: {}\n", c.name, c.description));
        let examples: Vec<&String> = c.examples.iter().filter(|e| !e.trim().is_empty()).collect();
        if !examples.is_empty() {
            let joined: Vec<&str> = examples.iter().map(|e| e.as_str()).collect();
            s.push_str(&format!("  Examples: {}\n", joined.join(" | ")));
        }
    }
    s
}

#[async_trait]
impl Component for Categorize {
    async fn run(&self, node: &Node, turn: &mut Turn<'_>) -> StepResult {
        let params = &node.params;
        let cats = categories(params);
        if cats.is_empty() {
            return Err("no categories are described".into());
        }
        let q = p_str(params, "query");
        let mut query = if q.trim().is_empty() {
            String::new()
        } else {
            to_text(&turn.vars.param(q))
        };
        if query.trim().is_empty() {
            query = turn.query.clone();
        }
        let llm_id = p_str(params, "llm_id");
        let mut reply = String::new();
        let mut chosen = None;
        if !is_builtin(llm_id) {
            let mut messages = vec![ChatMessage::system(instructions(&cats))];
            let window = p_usize(params, "message_history_window_size", 1);
            messages.extend(turn.history_messages(window));
            messages.push(ChatMessage::user(query.clone()));
            let (model, text) = ask(turn, llm_id, &messages, &gen_options(params)).await?;
            if !is_builtin(&model) {
                chosen = named_in(&text, &cats);
            }
            reply = text;
        }
        let (index, how) = match chosen {
            Some(i) => (i, "model"),
            None => (by_overlap(&query, &cats), "lexical overlap"),
        };
        let cat = &cats[index];
        let mut inputs = Map::new();
        inputs.insert("query".into(), json!(query));
        let mut outputs = Map::new();
        outputs.insert("category_name".into(), json!(cat.name));
        outputs.insert("_chosen_by".into(), json!(how));
        if !reply.is_empty() {
            outputs.insert("_reply".into(), json!(reply));
        }
        outputs.insert("_next".into(), json!(cat.to));
        Ok(Step {
            inputs,
            outputs,
            next: Some(cat.to.clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::agents::runtime::dsl::Canvas;
    use crate::services::agents::runtime::testkit::{node, turn, FakeEnv};

    fn cats_node(llm: &str) -> Node {
        node(
            "cat",
            "Categorize",
            json!({"llm_id": llm, "query": "sys.query", "category_description": {
                "1. contact": {"description": "Contact information like e-mail or phone number.",
                               "examples": ["My phone number is 203921"], "to": ["m:contact"]},
                "2. product related": {"description": "The question is about the product usage.",
                               "examples": "How to install it onto the wall?", "to": ["r:0"]}
            }}),
        )
    }

    #[tokio::test]
    async fn the_model_names_the_category() {
        let env = FakeEnv::scripted(&["Category: 2. product related"]);
        let canvas = Canvas::default();
        let (mut t, _rx) = turn(&env, &canvas);
        let step = Categorize.run(&cats_node("m@X"), &mut t).await.unwrap();
        assert_eq!(step.outputs["category_name"], json!("2. product related"));
        assert_eq!(step.next, Some(vec!["r:0".to_string()]));
        let (_, messages, _) = env.generation_calls().remove(0);
        assert!(messages[0]
            .content
            .contains("- 1. contact: Contact information"));
        assert_eq!(messages.last().unwrap().content, "what is rust");
    }

    #[tokio::test]
    async fn lexical_overlap_when_the_reply_names_none_or_builtin() {
        let env = FakeEnv::scripted(&["I am not sure"]);
        let canvas = Canvas::default();
        let (mut t, _rx) = turn(&env, &canvas);
        t.vars
            .globals
            .insert("sys.query".into(), json!("here is my phone number"));
        let step = Categorize.run(&cats_node("m@X"), &mut t).await.unwrap();
        assert_eq!(step.outputs["category_name"], json!("1. contact"));
        assert_eq!(step.outputs["_chosen_by"], json!("lexical overlap"));

        let env = FakeEnv::builtin();
        let (mut t, _rx) = turn(&env, &canvas);
        t.vars
            .globals
            .insert("sys.query".into(), json!("how do I install the product?"));
        let step = Categorize.run(&cats_node(""), &mut t).await.unwrap();
        assert_eq!(step.next, Some(vec!["r:0".to_string()]));
        // Nothing in common: the first category.
        t.vars.globals.insert("sys.query".into(), json!("zzz"));
        let step = Categorize
            .run(&cats_node("x@Builtin"), &mut t)
            .await
            .unwrap();
        assert_eq!(step.outputs["category_name"], json!("1. contact"));
    }
}
