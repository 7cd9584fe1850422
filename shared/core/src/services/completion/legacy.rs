//! v0.27's `legacy: true` on `POST /chat/completions`: frames as v0.23 clients read them.
//! Each frame's `answer` is the whole answer so far instead of the new piece, reasoning is
//! wrapped in literal `<think>`…`</think>` inside it (the `start_to_think` / `end_to_think`
//! marker frames go away), and the final frame carries the full answer.

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::Value;

use crate::ports::chat::FrameStream;

/// The running state of one legacy stream.
#[derive(Default)]
struct Cumulative {
    text: String,
    pending: String,
}

impl Cumulative {
    /// Rewrite one SSE frame; `None` drops it.
    fn frame(&mut self, frame: &str) -> Option<String> {
        let payload = frame.trim().strip_prefix("data:")?.trim();
        let mut v: Value = match serde_json::from_str(payload) {
            Ok(v) => v,
            Err(_) => return Some(format!("{frame}\n\n")),
        };
        let Some(data) = v.get_mut("data").and_then(Value::as_object_mut) else {
            return Some(format!("data:{v}\n\n"));
        };
        if data.remove("start_to_think").is_some() {
            self.text.push_str("<think>");
            return None;
        }
        if data.remove("end_to_think").is_some() {
            self.text.push_str("</think>");
            return None;
        }
        let is_final = data.get("final").and_then(Value::as_bool) == Some(true);
        if let Some(piece) = data.get("answer").and_then(Value::as_str) {
            if !is_final || !piece.is_empty() {
                self.text.push_str(piece);
            }
            data.insert("answer".into(), Value::String(self.text.clone()));
        }
        Some(format!("data:{v}\n\n"))
    }

    /// Whole frames out of the bytes received so far.
    fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        self.pending.push_str(&String::from_utf8_lossy(bytes));
        let mut out = Vec::new();
        while let Some(end) = self.pending.find("\n\n") {
            let frame: String = self.pending.drain(..end + 2).collect();
            if let Some(f) = self.frame(frame.trim_end()) {
                out.push(f);
            }
        }
        out
    }
}

/// The legacy form of a unified completion's frames.
pub fn legacy_frames(frames: FrameStream) -> FrameStream {
    let mut state = Cumulative::default();
    Box::pin(frames.flat_map(move |item| {
        let out: Vec<Result<Bytes, std::convert::Infallible>> = match item {
            Ok(bytes) => state
                .feed(&bytes)
                .into_iter()
                .map(|f| Ok(Bytes::from(f)))
                .collect(),
            Err(e) => vec![Err(e)],
        };
        futures_util::stream::iter(out)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(frames: &[Value]) -> Vec<Value> {
        let mut c = Cumulative::default();
        let text: String = frames.iter().map(|f| format!("data:{f}\n\n")).collect();
        // Split mid-frame to check the buffering.
        let (a, b) = text.split_at(text.len() / 2);
        let mut out = c.feed(a.as_bytes());
        out.extend(c.feed(b.as_bytes()));
        out.iter()
            .map(|f| serde_json::from_str(f.trim().trim_start_matches("data:")).unwrap())
            .collect()
    }

    #[test]
    fn answers_accumulate_with_reasoning_wrapped() {
        let got = run(&[
            json!({"code": 0, "message": "", "data": {"answer": "", "start_to_think": true}}),
            json!({"code": 0, "message": "", "data": {"answer": "hmm", "final": false}}),
            json!({"code": 0, "message": "", "data": {"answer": "", "end_to_think": true}}),
            json!({"code": 0, "message": "", "data": {"answer": "Hello", "final": false}}),
            json!({"code": 0, "message": "", "data": {"answer": " world", "final": false}}),
            json!({"code": 0, "message": "", "data": {"answer": "", "final": true, "reference": {}}}),
            json!({"code": 0, "message": "", "data": true}),
        ]);
        let answers: Vec<&str> = got
            .iter()
            .filter_map(|f| f["data"]["answer"].as_str())
            .collect();
        assert_eq!(
            answers,
            [
                "<think>hmm",
                "<think>hmm</think>Hello",
                "<think>hmm</think>Hello world",
                "<think>hmm</think>Hello world"
            ]
        );
        assert!(got
            .iter()
            .all(|f| f["data"].get("start_to_think").is_none()));
        assert_eq!(got.last().unwrap()["data"], json!(true));
    }
}
