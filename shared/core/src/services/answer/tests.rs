//! Unit tests of the answering pieces: frames, buffering, prompts, numbered answers.

use serde_json::{json, Map};

use super::default_model::numbered_lines;
use super::prompt::{conversation, fill_system_prompt, fit_history, format_knowledge};
use super::sse::sse_frame;
use super::*;
use crate::ports::chat::ContextChunk;

#[test]
fn frames_have_no_space_and_keep_unicode() {
    let b = sse_frame(&json!({"code": 0, "data": {"answer": "é ü"}}));
    assert_eq!(
        std::str::from_utf8(&b).unwrap_or(""),
        "data:{\"code\":0,\"data\":{\"answer\":\"é ü\"}}\n\n"
    );
}

#[test]
fn chunker_buffers_and_marks_thinking() {
    let mut c = Chunker::new(estimate_tokens, 4);
    assert!(c.push(&ChatDelta::text("one ")).is_empty());
    assert!(c.push(&ChatDelta::text("two ")).is_empty());
    assert_eq!(
        c.push(&ChatDelta::text("three four ")),
        vec![Piece::Text("one two three four ".into())]
    );
    assert_eq!(
        c.push(&ChatDelta::reasoning("hmm")),
        vec![Piece::StartThink]
    );
    assert_eq!(
        c.push(&ChatDelta::text("five")),
        vec![Piece::Reasoning("hmm".into()), Piece::EndThink]
    );
    assert_eq!(c.finish(), vec![Piece::Text("five".into())]);
    let mut t = Transcript::default();
    for p in [
        Piece::StartThink,
        Piece::Reasoning("r".into()),
        Piece::EndThink,
        Piece::Text("a".into()),
    ] {
        t.add(&p);
    }
    assert_eq!(t.stored, "<think>r</think>a");
    assert_eq!(t.answer, "a");
}

#[test]
fn system_prompt_variables() {
    let cfg = json!({
        "system": "K: {knowledge} / lang {lang} / opt {style}",
        "parameters": [
            {"key": "knowledge", "optional": false},
            {"key": "lang", "optional": false},
            {"key": "style", "optional": true}
        ]
    });
    let cfg = cfg.as_object().cloned().unwrap_or_default();
    let mut vars = Map::new();
    assert_eq!(
        fill_system_prompt(&cfg, "KB", &vars).unwrap_err(),
        "Miss parameter: lang"
    );
    vars.insert("lang".into(), json!("fr"));
    assert_eq!(
        fill_system_prompt(&cfg, "KB", &vars).unwrap(),
        "K: KB / lang fr / opt  "
    );
}

#[test]
fn knowledge_is_numbered_for_citations() {
    let k = format_knowledge(&[
        ContextChunk {
            content: " first ".into(),
            document_name: "a.txt".into(),
        },
        ContextChunk {
            content: "second".into(),
            document_name: "b.md".into(),
        },
    ]);
    assert_eq!(
        k,
        "[ID:0] (from \"a.txt\")\nfirst\n\n[ID:1] (from \"b.md\")\nsecond"
    );
}

#[test]
fn conversation_drops_system_and_leading_assistant() {
    let msgs = vec![
        json!({"role": "assistant", "content": "Hi"}),
        json!({"role": "system", "content": "s"}),
        json!({"role": "user", "content": "q"}),
        json!({"role": "assistant", "content": null}),
    ];
    let c = conversation(&msgs);
    assert_eq!(c, vec![ChatMessage::user("q"), ChatMessage::assistant("")]);
    let long = vec![
        ChatMessage::user("x".repeat(10)),
        ChatMessage::assistant("y".repeat(10)),
        ChatMessage::user("z".repeat(30)),
    ];
    assert_eq!(fit_history(long.clone(), 35).len(), 1);
    assert_eq!(fit_history(long.clone(), 40).len(), 2);
    assert_eq!(fit_history(long, 1).len(), 1, "the question always stays");
}

#[test]
fn related_question_lines() {
    assert_eq!(
        numbered_lines("Here:\n1. What is X?\n2. How does X work?\n10. no\n- x"),
        vec!["What is X?", "How does X work?"]
    );
}
