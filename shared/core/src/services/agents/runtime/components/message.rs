//! Message: the text the user sees, streamed in pieces, with the turn's reference.

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::Component;
use crate::services::agents::runtime::dsl::Node;
use crate::services::agents::runtime::engine::{Step, StepResult, Turn};
use crate::services::agents::runtime::AgentEvent;

pub(crate) struct Message;

/// Words per streamed piece.
const WORDS_PER_PIECE: usize = 4;

/// Split a text into pieces of a few words each; the pieces concatenate to the text.
pub(crate) fn pieces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut words = 0;
    let mut in_word = false;
    for ch in text.chars() {
        let space = ch.is_whitespace();
        if !space && !in_word {
            if words == WORDS_PER_PIECE {
                out.push(std::mem::take(&mut cur));
                words = 0;
            }
            words += 1;
        }
        in_word = !space;
        cur.push(ch);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[async_trait]
impl Component for Message {
    async fn run(&self, node: &Node, turn: &mut Turn<'_>) -> StepResult {
        let template = match node.params.get("content") {
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(Value::as_str)
                .find(|s| !s.trim().is_empty())
                .unwrap_or_default()
                .to_string(),
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        let (text, _) = turn.vars.render(&template);
        for piece in pieces(&text) {
            turn.emit(AgentEvent::Message { content: piece }).await;
        }
        turn.emit(AgentEvent::MessageEnd {
            reference: turn.reference(),
        })
        .await;
        turn.content.push_str(&text);
        let mut inputs = Map::new();
        inputs.insert("content".into(), json!(template));
        let mut outputs = Map::new();
        outputs.insert("content".into(), json!(text));
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
    use crate::services::agents::runtime::testkit::{chunk, drain, node, obj, turn, FakeEnv};

    #[test]
    fn pieces_cover_the_text() {
        let text = "one two three four five six seven eight nine\nten ";
        let p = pieces(text);
        assert_eq!(p.len(), 3);
        assert_eq!(p.concat(), text);
        assert!(pieces("").is_empty());
    }

    #[tokio::test]
    async fn streams_the_first_non_empty_content_then_the_reference() {
        let env = FakeEnv::echo();
        let canvas = Canvas::default();
        let (mut t, mut rx) = turn(&env, &canvas);
        t.vars.ids.insert("g".into());
        t.vars
            .outputs
            .insert("g".into(), obj(json!({"content": "a b c d e f"})));
        t.add_chunks(&[chunk("c1", "a.md", "x"), chunk("c2", "a.md", "y")]);
        let n = node(
            "m",
            "Message",
            json!({"content": ["", "Answer: {g@content}", "later"]}),
        );
        let step = Message.run(&n, &mut t).await.unwrap();
        assert_eq!(step.outputs["content"], json!("Answer: a b c d e f"));
        assert_eq!(t.content, "Answer: a b c d e f");
        let events = drain(&mut rx);
        assert_eq!(events.len(), 3);
        assert_eq!(
            events[0],
            AgentEvent::Message {
                content: "Answer: a b c ".into()
            }
        );
        let AgentEvent::MessageEnd { reference } = &events[2] else {
            panic!("{events:?}")
        };
        assert_eq!(reference["chunks"]["1"]["id"], json!("c2"));
        assert_eq!(reference["doc_aggs"]["a.md"]["count"], json!(2));
    }
}
