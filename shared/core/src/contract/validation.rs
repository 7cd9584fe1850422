//! Request validation with upstream's field-level messages.
//!
//! Upstream validates the dataset routes with pydantic v2 and renders each error as
//! `Field: <{loc}> - Message: <{msg}> - Value: <{input}>`, one per line. The message texts
//! are pydantic's, so clients and tests match them; this module reproduces the checks we
//! need (strict JSON types, lax query-string coercion, bounds, literals) with those texts.

use serde_json::{Map, Value};

use crate::contract::pyfmt::{py_str, py_type_name};

/// One validation failure.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// Dotted location (`parser_config.raptor.max_token`); empty for model-level rules.
    pub loc: String,
    pub msg: String,
    /// `str(input)` already rendered.
    pub input: String,
}

impl FieldError {
    pub fn new(loc: impl Into<String>, msg: impl Into<String>, input: &Value) -> Self {
        FieldError {
            loc: loc.into(),
            msg: msg.into(),
            input: py_str(input),
        }
    }
}

/// Render errors as upstream's `format_validation_error_message` does.
pub fn format_errors(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| {
            let input = if e.input.chars().count() > 128 {
                let head: String = e.input.chars().take(125).collect();
                format!("{head}...")
            } else {
                e.input.clone()
            };
            format!(
                "Field: <{}> - Message: <{}> - Value: <{}>",
                e.loc, e.msg, input
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub const MSG_REQUIRED: &str = "Field required";
pub const MSG_EXTRA: &str = "Extra inputs are not permitted";
pub const MSG_STR: &str = "Input should be a valid string";
pub const MSG_INT: &str = "Input should be a valid integer";
pub const MSG_INT_PARSE: &str =
    "Input should be a valid integer, unable to parse string as an integer";
pub const MSG_BOOL: &str = "Input should be a valid boolean";
pub const MSG_BOOL_PARSE: &str = "Input should be a valid boolean, unable to interpret input";
pub const MSG_NUMBER: &str = "Input should be a valid number";
pub const MSG_LIST: &str = "Input should be a valid list";

/// Collects errors while walking one object, in field order, like a pydantic model.
pub struct ObjectCheck<'a> {
    obj: &'a Map<String, Value>,
    prefix: String,
    pub errors: Vec<FieldError>,
    known: Vec<&'static str>,
}

impl<'a> ObjectCheck<'a> {
    pub fn new(obj: &'a Map<String, Value>, prefix: &str) -> Self {
        ObjectCheck {
            obj,
            prefix: prefix.to_string(),
            errors: Vec::new(),
            known: Vec::new(),
        }
    }

    pub fn loc(&self, field: &str) -> String {
        if self.prefix.is_empty() {
            field.to_string()
        } else {
            format!("{}.{}", self.prefix, field)
        }
    }

    /// Declare a field; returns its value if present.
    pub fn field(&mut self, name: &'static str) -> Option<&'a Value> {
        self.known.push(name);
        self.obj.get(name)
    }

    pub fn fail(&mut self, field: &str, msg: impl Into<String>, input: &Value) {
        let loc = self.loc(field);
        self.errors.push(FieldError::new(loc, msg, input));
    }

    /// A required field: reports `Field required` with the whole object as the value.
    pub fn required(&mut self, name: &'static str) -> Option<&'a Value> {
        let v = self.field(name);
        if v.is_none() {
            let whole = Value::Object(self.obj.clone());
            self.fail(name, MSG_REQUIRED, &whole);
        }
        v
    }

    /// Report every key not declared with `field`/`required` (pydantic's `extra="forbid"`).
    pub fn forbid_extra(&mut self) {
        let extras: Vec<(String, Value)> = self
            .obj
            .iter()
            .filter(|(k, _)| !self.known.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in extras {
            self.fail(&k, MSG_EXTRA, &v);
        }
    }
}

/// Strict string (JSON string only).
pub fn strict_str(v: &Value) -> Result<&str, &'static str> {
    v.as_str().ok_or(MSG_STR)
}

/// Strict integer: JSON integers only (no bools, floats or numeric strings).
pub fn strict_int(v: &Value) -> Result<i64, &'static str> {
    match v {
        Value::Number(n) if !n.is_f64() => n.as_i64().ok_or(MSG_INT),
        _ => Err(MSG_INT),
    }
}

/// Strict float: JSON numbers (ints allowed), no bools or strings.
pub fn strict_float(v: &Value) -> Result<f64, &'static str> {
    match v {
        Value::Number(n) => n.as_f64().ok_or(MSG_NUMBER),
        _ => Err(MSG_NUMBER),
    }
}

pub fn strict_bool(v: &Value) -> Result<bool, &'static str> {
    v.as_bool().ok_or(MSG_BOOL)
}

/// Lax integer from a query-string value.
pub fn lax_int(s: &str) -> Result<i64, &'static str> {
    s.trim().parse::<i64>().map_err(|_| MSG_INT_PARSE)
}

/// Lax boolean from a query-string value, with pydantic's accepted spellings.
pub fn lax_bool(s: &str) -> Result<bool, &'static str> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "on" | "t" | "true" | "y" | "yes" => Ok(true),
        "0" | "off" | "f" | "false" | "n" | "no" => Ok(false),
        _ => Err(MSG_BOOL_PARSE),
    }
}

pub fn ge_msg(bound: impl std::fmt::Display) -> String {
    format!("Input should be greater than or equal to {bound}")
}

pub fn le_msg(bound: impl std::fmt::Display) -> String {
    format!("Input should be less than or equal to {bound}")
}

pub fn min_len_msg(n: usize) -> String {
    format!(
        "String should have at least {n} character{}",
        if n == 1 { "" } else { "s" }
    )
}

pub fn max_len_msg(n: usize) -> String {
    format!(
        "String should have at most {n} character{}",
        if n == 1 { "" } else { "s" }
    )
}

/// `Input should be 'a', 'b' or 'c'`.
pub fn literal_msg(options: &[&str]) -> String {
    let quoted: Vec<String> = options.iter().map(|o| format!("'{o}'")).collect();
    match quoted.len() {
        0 => "Input should be".into(),
        1 => format!("Input should be {}", quoted[0]),
        n => format!(
            "Input should be {} or {}",
            quoted[..n - 1].join(", "),
            quoted[n - 1]
        ),
    }
}

/// Python's `type(v).__name__`, re-exported for body-shape messages.
pub fn type_name(v: &Value) -> &'static str {
    py_type_name(v)
}

/// Check an integer against inclusive bounds, reporting like pydantic.
pub fn int_in(
    check: &mut ObjectCheck<'_>,
    field: &str,
    v: &Value,
    min: Option<i64>,
    max: Option<i64>,
) -> Option<i64> {
    match strict_int(v) {
        Err(m) => {
            check.fail(field, m, v);
            None
        }
        Ok(n) => {
            if let Some(lo) = min {
                if n < lo {
                    check.fail(field, ge_msg(lo), v);
                    return None;
                }
            }
            if let Some(hi) = max {
                if n > hi {
                    check.fail(field, le_msg(hi), v);
                    return None;
                }
            }
            Some(n)
        }
    }
}

/// Check a float against inclusive bounds.
pub fn float_in(
    check: &mut ObjectCheck<'_>,
    field: &str,
    v: &Value,
    min: Option<f64>,
    max: Option<f64>,
) -> Option<f64> {
    match strict_float(v) {
        Err(m) => {
            check.fail(field, m, v);
            None
        }
        Ok(n) => {
            if let Some(lo) = min {
                if n < lo {
                    check.fail(field, ge_msg(lo), v);
                    return None;
                }
            }
            if let Some(hi) = max {
                if n > hi {
                    check.fail(field, le_msg(hi), v);
                    return None;
                }
            }
            Some(n)
        }
    }
}

/// A string with length bounds counted in characters, optionally stripped first.
pub fn str_len(
    check: &mut ObjectCheck<'_>,
    field: &str,
    v: &Value,
    strip: bool,
    min: Option<usize>,
    max: Option<usize>,
) -> Option<String> {
    let s = match strict_str(v) {
        Ok(s) => s,
        Err(m) => {
            check.fail(field, m, v);
            return None;
        }
    };
    let s = if strip { s.trim() } else { s };
    let n = s.chars().count();
    // Pydantic reports the input as sent, before stripping.
    if let Some(lo) = min {
        if n < lo {
            check.fail(field, min_len_msg(lo), v);
            return None;
        }
    }
    if let Some(hi) = max {
        if n > hi {
            check.fail(field, max_len_msg(hi), v);
            return None;
        }
    }
    Some(s.to_string())
}

/// A `list[str]`; reports per-item errors at `field.i`.
pub fn str_list(check: &mut ObjectCheck<'_>, field: &str, v: &Value) -> Option<Vec<String>> {
    let Some(items) = v.as_array() else {
        check.fail(field, MSG_LIST, v);
        return None;
    };
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some(s) => out.push(s.to_string()),
            None => {
                check.fail(&format!("{field}.{i}"), MSG_STR, item);
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formats_like_pydantic_handler() {
        let e = FieldError::new("name", MSG_STR, &json!(1));
        assert_eq!(
            format_errors(&[e]),
            "Field: <name> - Message: <Input should be a valid string> - Value: <1>"
        );
        let long = "a".repeat(200);
        let e = FieldError::new("x", "m", &json!(long));
        let text = format_errors(&[e]);
        assert!(text.ends_with(&format!("{}...>", "a".repeat(125))));
    }

    #[test]
    fn literal_messages() {
        assert_eq!(
            literal_msg(&["me", "team"]),
            "Input should be 'me' or 'team'"
        );
        assert_eq!(
            literal_msg(&["a", "b", "c"]),
            "Input should be 'a', 'b' or 'c'"
        );
    }

    #[test]
    fn required_and_extra() {
        let obj = json!({"zzz": 1}).as_object().cloned().unwrap_or_default();
        let mut c = ObjectCheck::new(&obj, "");
        c.required("name");
        c.forbid_extra();
        assert_eq!(
            format_errors(&c.errors),
            "Field: <name> - Message: <Field required> - Value: <{'zzz': 1}>\nField: <zzz> - Message: <Extra inputs are not permitted> - Value: <1>"
        );
    }

    #[test]
    fn lax_query_values() {
        assert_eq!(lax_int("2"), Ok(2));
        assert_eq!(lax_int("a"), Err(MSG_INT_PARSE));
        assert_eq!(lax_bool("True"), Ok(true));
        assert_eq!(lax_bool("off"), Ok(false));
        assert_eq!(lax_bool("maybe"), Err(MSG_BOOL_PARSE));
    }

    #[test]
    fn strict_types() {
        assert_eq!(strict_int(&json!(true)), Err(MSG_INT));
        assert_eq!(strict_int(&json!(1.0)), Err(MSG_INT));
        assert_eq!(strict_float(&json!(1)), Ok(1.0));
        assert_eq!(strict_float(&json!("1")), Err(MSG_NUMBER));
        assert_eq!(ge_msg(0.0f64), "Input should be greater than or equal to 0");
    }
}
