//! Dify's external knowledge API: the request forms the retrieval handler accepts.

use serde_json::{json, Map, Value};

use crate::contract::envelope::ApiError;
use crate::contract::http::first;

/// v0.27's GET form (`knowledge_id`, `query`, `use_kg`, `top_k`, `score_threshold` in the
/// query string) as the POST body it stands for. A number that does not parse is v0.27's
/// HTTP 400 with code 101.
pub fn request_from_query(pairs: &[(String, String)]) -> Result<Map<String, Value>, ApiError> {
    let mut req = Map::new();
    for key in ["knowledge_id", "query"] {
        if let Some(v) = first(pairs, key).filter(|v| !v.is_empty()) {
            req.insert(key.into(), json!(v));
        }
    }
    if let Some(v) = first(pairs, "use_kg") {
        req.insert("use_kg".into(), json!(v.eq_ignore_ascii_case("true")));
    }
    let mut setting = Map::new();
    for key in ["top_k", "score_threshold"] {
        if let Some(v) = first(pairs, key).filter(|v| !v.is_empty()) {
            let n: f64 = v.trim().parse().map_err(|_| {
                ApiError::argument(format!(
                    "invalid or malformed arguments: {key} must be a number, not {v:?}; "
                ))
                .with_status(400)
            })?;
            setting.insert(key.into(), json!(n));
        }
    }
    if !setting.is_empty() {
        req.insert("retrieval_setting".into(), Value::Object(setting));
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_string_becomes_the_post_body() {
        let p = |s: &str| crate::contract::http::query_pairs(Some(s));
        let req = request_from_query(&p(
            "knowledge_id=kb&query=solar+panels&top_k=3&score_threshold=0.25&use_kg=TRUE",
        ))
        .unwrap();
        assert_eq!(
            Value::Object(req),
            json!({"knowledge_id": "kb", "query": "solar panels", "use_kg": true,
                   "retrieval_setting": {"top_k": 3.0, "score_threshold": 0.25}})
        );
        assert_eq!(request_from_query(&p("query=")).unwrap(), Map::new());
        let e = request_from_query(&p("knowledge_id=kb&query=q&top_k=many")).unwrap_err();
        assert_eq!(e.code, 101);
        assert_eq!(
            e.message,
            "invalid or malformed arguments: top_k must be a number, not \"many\"; "
        );
    }
}
