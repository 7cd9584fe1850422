//! Variables of a turn and the references that read them: `{cpn@out}`, `{sys.query}`,
//! `{env.x}`, and, where a parameter is itself a reference, the bare `cpn@out` / `sys.query`.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

/// What references can read during a turn: the globals and every output so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct Vars {
    pub globals: Map<String, Value>,
    pub outputs: HashMap<String, Map<String, Value>>,
    pub ids: HashSet<String>,
}

/// A value as text: strings as they are, null as nothing, anything else as JSON.
pub(crate) fn to_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether a value counts as empty (null, "", [], {}).
pub(crate) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

impl Vars {
    /// Whether `r` (without braces) is a reference: a global, or `id@output` of a component
    /// of this canvas.
    pub fn is_ref(&self, r: &str) -> bool {
        if r.is_empty() || r.contains(['{', '}', '"', '\n']) {
            return false;
        }
        if r.starts_with("sys.") || r.starts_with("env.") {
            return true;
        }
        match r.split_once('@') {
            Some((id, out)) => !out.is_empty() && self.ids.contains(id),
            None => false,
        }
    }

    /// The value a reference reads; unknown references read as null.
    pub fn get(&self, r: &str) -> Value {
        if r.starts_with("sys.") || r.starts_with("env.") {
            return self.globals.get(r).cloned().unwrap_or(Value::Null);
        }
        let Some((id, out)) = r.split_once('@') else {
            return Value::Null;
        };
        let Some(outputs) = self.outputs.get(id) else {
            return Value::Null;
        };
        if let Some(v) = outputs.get(out) {
            return v.clone();
        }
        // `out.field.field`: a path into a structured output.
        let mut parts = out.split('.');
        let mut cur = parts.next().and_then(|p| outputs.get(p));
        for p in parts {
            cur = cur.and_then(|v| match v {
                Value::Object(o) => o.get(p),
                Value::Array(a) => p.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            });
        }
        cur.cloned().unwrap_or(Value::Null)
    }

    /// Replace every `{reference}` in `template`; other braces stay as written. Returns the
    /// text and the references it read, in order.
    pub fn render(&self, template: &str) -> (String, Vec<String>) {
        let mut out = String::with_capacity(template.len());
        let mut found = Vec::new();
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            match after.find('}') {
                Some(end) if self.is_ref(after[..end].trim()) => {
                    let r = after[..end].trim();
                    out.push_str(&to_text(&self.get(r)));
                    found.push(r.to_string());
                    rest = &after[end + 1..];
                }
                _ => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        (out, found)
    }

    /// A parameter that names a value: a bare reference, a `{reference}` template, or a
    /// literal.
    pub fn param(&self, p: &str) -> Value {
        let t = p.trim();
        if self.is_ref(t) {
            return self.get(t);
        }
        if let Some(inner) = t.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            if self.is_ref(inner.trim()) {
                return self.get(inner.trim());
            }
        }
        Value::String(self.render(p).0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Vars {
        let mut v = Vars::default();
        v.globals.insert("sys.query".into(), json!("what is rust"));
        v.globals.insert("sys.conversation_turns".into(), json!(2));
        v.ids.insert("begin".into());
        v.ids.insert("retrieval:0".into());
        v.ids.insert("Agent:X".into());
        let mut out = Map::new();
        out.insert("knowledge base".into(), json!("kb1"));
        out.insert("obj".into(), json!({"a": [1, {"b": "deep"}]}));
        v.outputs.insert("begin".into(), out);
        v
    }

    #[test]
    fn renders_references_and_leaves_other_braces() {
        let v = vars();
        let (text, refs) = v.render(
            "Q: {sys.query} turn {sys.conversation_turns} kb {begin@knowledge base} \
             none {retrieval:0@formalized_content}|{Agent:X@content}| json {\"a\": 1} {x}",
        );
        assert_eq!(
            text,
            "Q: what is rust turn 2 kb kb1 none || json {\"a\": 1} {x}"
        );
        assert_eq!(refs.len(), 5);
        assert_eq!(v.render("{unknown@out} {").0, "{unknown@out} {");
    }

    #[test]
    fn params_read_bare_references_and_paths() {
        let v = vars();
        assert_eq!(v.param("sys.query"), json!("what is rust"));
        assert_eq!(v.param("{sys.query}"), json!("what is rust"));
        assert_eq!(v.param("begin@obj.a.1.b"), json!("deep"));
        assert_eq!(v.param("begin@obj"), json!({"a": [1, {"b": "deep"}]}));
        assert_eq!(v.param("plain words"), json!("plain words"));
        assert_eq!(v.param("sys.nothing"), Value::Null);
        assert_eq!(to_text(&json!([1, 2])), "[1,2]");
        assert!(is_empty(&json!(" ")) && !is_empty(&json!(0)));
    }
}
