//! Metadata filters (`metadata_condition`), one implementation for document listing,
//! retrieval, chats, the OpenAI endpoint and Dify.
//!
//! Accepts the union of RAGFlow's and Dify's vocabularies. Semantics are the intended ones,
//! not upstream's accidents: `contains` means the document's value contains the
//! condition's value, and a condition that matches nothing yields nothing — never
//! everything (upstream ignores conditions on keys no document has).

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Is,
    IsNot,
    In,
    NotIn,
    Contains,
    NotContains,
    StartWith,
    EndWith,
    Empty,
    NotEmpty,
    Gt,
    Lt,
    Ge,
    Le,
    Before,
    After,
}

impl Op {
    pub fn parse(s: &str) -> Option<Op> {
        let s = s.trim().to_lowercase();
        Some(match s.as_str() {
            "is" | "=" | "==" | "eq" => Op::Is,
            "is not" | "not is" | "≠" | "!=" | "ne" => Op::IsNot,
            "in" => Op::In,
            "not in" => Op::NotIn,
            "contains" => Op::Contains,
            "not contains" => Op::NotContains,
            "start with" | "starts with" => Op::StartWith,
            "end with" | "ends with" => Op::EndWith,
            "empty" | "is empty" => Op::Empty,
            "not empty" | "is not empty" => Op::NotEmpty,
            ">" | "gt" => Op::Gt,
            "<" | "lt" => Op::Lt,
            "≥" | ">=" | "ge" => Op::Ge,
            "≤" | "<=" | "le" => Op::Le,
            "before" => Op::Before,
            "after" => Op::After,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// One key, or several (Dify allows a list): the condition holds if it holds for any.
    pub names: Vec<String>,
    pub op: Op,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetaFilter {
    pub all: bool,
    pub conditions: Vec<Condition>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FilterError {
    #[error("metadata_condition must be an object.")]
    NotObject,
    #[error("metadata_condition.conditions must be a list.")]
    ConditionsNotList,
    #[error("Unsupported comparison operator: {0}")]
    BadOperator(String),
    #[error("Each condition requires name and comparison_operator.")]
    Incomplete,
}

/// Parse a `metadata_condition`. `Ok(None)` when absent, null or without conditions.
pub fn parse(v: Option<&Value>) -> Result<Option<MetaFilter>, FilterError> {
    let Some(v) = v else { return Ok(None) };
    if v.is_null() {
        return Ok(None);
    }
    let obj = v.as_object().ok_or(FilterError::NotObject)?;
    let logic = obj
        .get("logic")
        .or_else(|| obj.get("logical_operator"))
        .and_then(Value::as_str)
        .unwrap_or("and");
    let conds = match obj.get("conditions") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(FilterError::ConditionsNotList),
    };
    let mut conditions = Vec::with_capacity(conds.len());
    for c in conds {
        let c = c.as_object().ok_or(FilterError::Incomplete)?;
        let names: Vec<String> = match c.get("name") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => return Err(FilterError::Incomplete),
        };
        let op_text = c
            .get("comparison_operator")
            .and_then(Value::as_str)
            .ok_or(FilterError::Incomplete)?;
        let op = Op::parse(op_text).ok_or_else(|| FilterError::BadOperator(op_text.to_string()))?;
        conditions.push(Condition {
            names,
            op,
            value: c.get("value").cloned().unwrap_or(Value::Null),
        });
    }
    if conditions.is_empty() {
        return Ok(None);
    }
    Ok(Some(MetaFilter {
        all: !logic.eq_ignore_ascii_case("or"),
        conditions,
    }))
}

/// A chat's or search app's saved `meta_data_filter` as a `metadata_condition`, when it can
/// be applied without a model: method `manual`, whose `manual` list holds `{key, op,
/// value}` conditions joined by `logic`. The `auto` and `semi_auto` methods have the chat
/// model write the conditions from the question; they give None here (no filter), as does
/// an empty or malformed filter, so a chat never fails over its saved filter.
pub fn from_saved_filter(saved: &Value) -> Option<Value> {
    let saved = saved.as_object()?;
    if saved.get("method").and_then(Value::as_str) != Some("manual") {
        return None;
    }
    let conditions: Vec<Value> = saved
        .get("manual")?
        .as_array()?
        .iter()
        .filter_map(|c| {
            let key = c.get("key").and_then(Value::as_str)?;
            let op = c.get("op").and_then(Value::as_str)?;
            Op::parse(op)?;
            Some(serde_json::json!({
                "name": key,
                "comparison_operator": op,
                "value": c.get("value").cloned().unwrap_or(Value::Null),
            }))
        })
        .collect();
    if conditions.is_empty() {
        return None;
    }
    let logic = saved.get("logic").and_then(Value::as_str).unwrap_or("and");
    Some(serde_json::json!({ "logic": logic, "conditions": conditions }))
}

impl MetaFilter {
    /// Does a document with these `meta_fields` pass?
    pub fn matches(&self, meta: &Value) -> bool {
        let test = |c: &Condition| c.names.iter().any(|n| condition_holds(c, meta.get(n)));
        if self.all {
            self.conditions.iter().all(test)
        } else {
            self.conditions.iter().any(test)
        }
    }
}

fn is_blank(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        _ => false,
    }
}

/// Text form for comparisons: strings as they are, numbers and bools as JSON text.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.trim().to_lowercase(),
        other => other.to_string().to_lowercase(),
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
}

/// Dates as comparable text: ISO dates and datetimes sort correctly as strings once the
/// separator is normalised.
fn date_key(v: &Value) -> Option<String> {
    let s = v.as_str()?.trim();
    let valid = s.len() >= 10
        && s.as_bytes()[4] == b'-'
        && s.as_bytes()[7] == b'-'
        && s[..4].chars().all(|c| c.is_ascii_digit());
    valid.then(|| s.replacen('T', " ", 1))
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y),
        _ => match (date_key(a), date_key(b)) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => Some(text(a).cmp(&text(b))),
        },
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    compare(a, b) == Some(std::cmp::Ordering::Equal)
}

/// The condition's value as a set, for `in` / `not in` (a list, or comma-separated text).
fn as_set(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::String(s) => s
            .split(',')
            .map(|p| Value::String(p.trim().to_string()))
            .collect(),
        other => vec![other.clone()],
    }
}

/// The document's value as the items a condition is tested against (lists test each item).
fn items(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    }
}

fn condition_holds(c: &Condition, doc_value: Option<&Value>) -> bool {
    match c.op {
        Op::Empty => return is_blank(doc_value),
        Op::NotEmpty => return !is_blank(doc_value),
        _ => {}
    }
    let Some(dv) = doc_value.filter(|v| !v.is_null()) else {
        // A document without the key satisfies only the negative operators.
        return matches!(c.op, Op::IsNot | Op::NotIn | Op::NotContains);
    };
    let cv = &c.value;
    let any = |f: &dyn Fn(&Value) -> bool| items(dv).into_iter().any(f);
    match c.op {
        Op::Is => any(&|x| equal(x, cv)),
        Op::IsNot => !any(&|x| equal(x, cv)),
        Op::In => {
            let set = as_set(cv);
            any(&|x| set.iter().any(|s| equal(x, s)))
        }
        Op::NotIn => {
            let set = as_set(cv);
            !any(&|x| set.iter().any(|s| equal(x, s)))
        }
        Op::Contains => any(&|x| text(x).contains(&text(cv))),
        Op::NotContains => !any(&|x| text(x).contains(&text(cv))),
        Op::StartWith => any(&|x| text(x).starts_with(&text(cv))),
        Op::EndWith => any(&|x| text(x).ends_with(&text(cv))),
        Op::Gt | Op::After => any(&|x| compare(x, cv) == Some(std::cmp::Ordering::Greater)),
        Op::Lt | Op::Before => any(&|x| compare(x, cv) == Some(std::cmp::Ordering::Less)),
        Op::Ge => any(&|x| {
            matches!(
                compare(x, cv),
                Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)
            )
        }),
        Op::Le => any(&|x| {
            matches!(
                compare(x, cv),
                Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
            )
        }),
        Op::Empty | Op::NotEmpty => unreachable_ops(),
    }
}

// Handled before the match above; kept total without a panic.
fn unreachable_ops() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(v: Value) -> MetaFilter {
        parse(Some(&v)).unwrap().unwrap()
    }

    fn cond(name: &str, op: &str, value: Value) -> MetaFilter {
        f(json!({"conditions": [{"name": name, "comparison_operator": op, "value": value}]}))
    }

    #[test]
    fn every_operator() {
        let meta = json!({"author": "Alice Smith", "year": 2021, "tags": ["rust", "rag"], "date": "2024-05-01", "empty": ""});
        let yes = |op: &str, name: &str, v: Value| {
            assert!(cond(name, op, v.clone()).matches(&meta), "{op} {name} {v}")
        };
        let no = |op: &str, name: &str, v: Value| {
            assert!(!cond(name, op, v.clone()).matches(&meta), "{op} {name} {v}")
        };
        yes("is", "author", json!("alice smith"));
        yes("=", "year", json!("2021"));
        no("is", "author", json!("bob"));
        yes("is not", "author", json!("bob"));
        yes("not is", "author", json!("bob"));
        yes("≠", "year", json!(2020));
        yes("contains", "author", json!("smith"));
        no("contains", "author", json!("alice smith jr"));
        yes("not contains", "author", json!("bob"));
        yes("contains", "tags", json!("rus"));
        yes("in", "author", json!(["Alice Smith", "Bob"]));
        yes("in", "tags", json!("go, rag"));
        no("not in", "tags", json!(["rag"]));
        yes("start with", "author", json!("ali"));
        yes("end with", "author", json!("SMITH"));
        yes("empty", "empty", json!(null));
        yes("empty", "missing", json!(null));
        yes("not empty", "author", json!(null));
        yes(">", "year", json!(2020));
        yes("<", "year", json!("2022"));
        yes("≥", "year", json!(2021));
        yes(">=", "year", json!(2021));
        yes("≤", "year", json!(2021));
        yes("<=", "year", json!(2022));
        yes("before", "date", json!("2024-06-01"));
        yes("after", "date", json!("2024-04-30T10:00:00"));
        no("after", "date", json!("2024-05-02"));
    }

    #[test]
    fn missing_keys_match_nothing_positive() {
        let meta = json!({"a": 1});
        assert!(!cond("nokey", "is", json!(1)).matches(&meta));
        assert!(cond("nokey", "not in", json!([1])).matches(&meta));
    }

    #[test]
    fn logic_and_dify_vocabulary() {
        let meta = json!({"a": "x", "b": "y"});
        let or = f(json!({"logical_operator": "or", "conditions": [
            {"name": ["a"], "comparison_operator": "is", "value": "nope"},
            {"name": "b", "comparison_operator": "is", "value": "y"}]}));
        assert!(or.matches(&meta));
        let and = f(json!({"logic": "and", "conditions": [
            {"name": "a", "comparison_operator": "is", "value": "nope"},
            {"name": "b", "comparison_operator": "is", "value": "y"}]}));
        assert!(!and.matches(&meta));
        assert_eq!(parse(Some(&json!("x"))), Err(FilterError::NotObject));
        assert_eq!(parse(Some(&json!({"conditions": []}))), Ok(None));
        assert!(matches!(
            parse(Some(
                &json!({"conditions": [{"name": "a", "comparison_operator": "~", "value": 1}]})
            )),
            Err(FilterError::BadOperator(_))
        ));
    }

    #[test]
    fn saved_manual_filters_become_conditions() {
        let saved = json!({"method": "manual", "logic": "or", "manual": [
            {"key": "author", "op": "=", "value": "Ada"},
            {"key": "year", "op": "≥", "value": "1843"},
        ]});
        let cond = from_saved_filter(&saved).unwrap();
        let f = parse(Some(&cond)).unwrap().unwrap();
        assert!(!f.all);
        assert!(f.matches(&json!({"author": "ada"})));
        assert!(f.matches(&json!({"year": 1900})));
        assert!(!f.matches(&json!({"author": "Bob", "year": 1800})));
        // Needs a model, empty, unknown operator only, or not a filter: no filter at all.
        for saved in [
            json!({"method": "auto"}),
            json!({"method": "semi_auto", "semi_auto": ["author"]}),
            json!({"method": "manual", "manual": []}),
            json!({"method": "manual", "manual": [{"key": "a", "op": "~", "value": 1}]}),
            json!({}),
            Value::Null,
        ] {
            assert_eq!(from_saved_filter(&saved), None, "{saved}");
        }
    }
}
