//! JSON and JSON Lines: each record flattened to readable `key: value` lines.

use serde_json::Value;

use super::text::decode_checked;
use super::DocBuilder;
use crate::error::{one_line, ParseError};
use crate::model::BlockKind;

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

fn flatten(v: &Value, path: &str, out: &mut Vec<String>) {
    let line = |out: &mut Vec<String>, text: String| {
        if path.is_empty() {
            out.push(text);
        } else {
            out.push(format!("{path}: {text}"));
        }
    };
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                flatten(child, &p, out);
            }
        }
        Value::Array(items) => {
            if items.iter().all(|i| !i.is_object() && !i.is_array()) {
                let parts: Vec<String> = items.iter().filter_map(scalar).collect();
                if !parts.is_empty() {
                    line(out, parts.join(", "));
                }
            } else {
                for (i, child) in items.iter().enumerate() {
                    flatten(child, &format!("{path}[{i}]"), out);
                }
            }
        }
        other => {
            if let Some(s) = scalar(other) {
                line(out, s);
            }
        }
    }
}

/// One record's readable text.
pub(crate) fn record_text(v: &Value) -> String {
    let mut lines = Vec::new();
    flatten(v, "", &mut lines);
    lines.join("\n")
}

pub(crate) fn parse_json(ext: &str, bytes: &[u8], doc: &mut DocBuilder) -> Result<(), ParseError> {
    let text = decode_checked(ext, bytes, doc)?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| ParseError::InvalidJson(one_line(&e.to_string())))?;
    // Records: a top-level array, or the array of objects under an object's only key.
    let records: Option<&Vec<Value>> = match &value {
        Value::Array(items) => Some(items),
        Value::Object(map) if map.len() == 1 => map
            .values()
            .next()
            .and_then(Value::as_array)
            .filter(|a| a.iter().any(Value::is_object)),
        _ => None,
    };
    match records {
        Some(items) => {
            for item in items {
                doc.add(BlockKind::Paragraph, &record_text(item))?;
            }
        }
        None => doc.add(BlockKind::Paragraph, &record_text(&value))?,
    }
    Ok(())
}

pub(crate) fn parse_jsonl(ext: &str, bytes: &[u8], doc: &mut DocBuilder) -> Result<(), ParseError> {
    let text = decode_checked(ext, bytes, doc)?;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line).map_err(|e| ParseError::InvalidJsonLine {
            line: i + 1,
            detail: one_line(&e.to_string()),
        })?;
        doc.add(BlockKind::Paragraph, &record_text(&value))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_nested_records() {
        let v: Value = serde_json::from_str(
            r#"{"name":"Ann","tags":["a","b"],"address":{"city":"Oslo","zip":null},"jobs":[{"t":"x"}]}"#,
        )
        .unwrap_or_default();
        assert_eq!(
            record_text(&v),
            "name: Ann\ntags: a, b\naddress.city: Oslo\njobs[0].t: x"
        );
        assert_eq!(record_text(&Value::from("plain")), "plain");
    }
}
