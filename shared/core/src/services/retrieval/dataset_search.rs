//! v0.27's retrieval test: `POST /datasets/search` and `POST /datasets/{id}/search`. The
//! same search as R1 with another body (pydantic-checked, `size` for the page size, a
//! threshold of 0 by default), an optional saved search app and saved metadata filter,
//! and chunks under the index's own field names rather than R1's.

use serde_json::{json, Map, Value};

use super::reply::doc_aggs;
use super::{RetrievalRequest, RetrievalResult};
use crate::contract::envelope::ApiError;
use crate::contract::pyfmt::{py_str, truthy};
use crate::contract::validation::{
    format_errors, ge_msg, lax_bool, lax_int, le_msg, ObjectCheck, MSG_BOOL, MSG_INT, MSG_LIST,
    MSG_NUMBER, MSG_STR,
};
use crate::services::chunks::lowercase_tokens as tokens;
use crate::services::saved_filter::{self, SavedScope};
use crate::state::AppState;

/// Upstream clamps `top_k` to this.
const TOP_K_LIMIT: usize = 2048;

/// The checked body.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchBody {
    pub request: RetrievalRequest,
    pub search_id: Option<String>,
    pub meta_data_filter: Option<Value>,
    /// `rerank_id` as sent (a saved app's is used only when this is absent).
    pub rerank_id: Option<String>,
}

fn int_field(c: &mut ObjectCheck, name: &'static str, default: i64) -> i64 {
    let Some(v) = c.field(name) else {
        return default;
    };
    let n = match v {
        Value::Number(n) if !n.is_f64() => n.as_i64().ok_or(MSG_INT),
        Value::Number(n) => n
            .as_f64()
            .filter(|f| f.fract() == 0.0)
            .map(|f| f as i64)
            .ok_or("Input should be a valid integer, got a number with a fractional part"),
        Value::String(s) => lax_int(s),
        _ => Err(MSG_INT),
    };
    match n {
        Ok(n) if n >= 1 => n,
        Ok(_) => {
            c.fail(name, ge_msg(1), v);
            default
        }
        Err(msg) => {
            c.fail(name, msg, v);
            default
        }
    }
}

fn unit_field(c: &mut ObjectCheck, name: &'static str, default: f64) -> f64 {
    let Some(v) = c.field(name) else {
        return default;
    };
    let x = match v {
        Value::Number(n) => n.as_f64().ok_or(MSG_NUMBER),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| "Input should be a valid number, unable to parse string as a number"),
        _ => Err(MSG_NUMBER),
    };
    match x {
        Ok(x) if x < 0.0 => {
            c.fail(name, ge_msg(0), v);
            default
        }
        Ok(x) if x > 1.0 => {
            c.fail(name, le_msg(1), v);
            default
        }
        Ok(x) => x,
        Err(msg) => {
            c.fail(name, msg, v);
            default
        }
    }
}

fn bool_field(c: &mut ObjectCheck, name: &'static str) -> bool {
    match c.field(name) {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(v @ Value::Number(n)) => match n.as_f64() {
            Some(0.0) => false,
            Some(1.0) => true,
            _ => {
                c.fail(
                    name,
                    "Input should be a valid boolean, unable to interpret input",
                    v,
                );
                false
            }
        },
        Some(v @ Value::String(s)) => lax_bool(s).unwrap_or_else(|msg| {
            c.fail(name, msg, v);
            false
        }),
        Some(v) => {
            c.fail(name, MSG_BOOL, v);
            false
        }
    }
}

fn str_list(c: &mut ObjectCheck, name: &'static str, min: usize, required: bool) -> Vec<String> {
    let v = if required {
        c.required(name)
    } else {
        c.field(name)
    };
    let Some(v) = v else {
        return Vec::new();
    };
    let Some(items) = v.as_array() else {
        c.fail(name, MSG_LIST, v);
        return Vec::new();
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some(s) => out.push(s.to_string()),
            None => c.fail(&format!("{name}.{i}"), MSG_STR, item),
        }
    }
    if items.len() < min {
        c.fail(
            name,
            format!(
                "List should have at least {min} item after validation, not {}",
                items.len()
            ),
            v,
        );
    }
    out
}

fn opt_str(c: &mut ObjectCheck, name: &'static str) -> Option<String> {
    match c.field(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => {
            c.fail(name, MSG_STR, v);
            None
        }
    }
}

/// Check a body as upstream's `SearchDatasetsReq` / `SearchDatasetReq` do (unknown keys
/// are ignored). `dataset_id` is the per-dataset route's path id, which replaces any
/// `dataset_ids` in the body.
pub fn validate(
    req: &Map<String, Value>,
    dataset_id: Option<&str>,
) -> Result<SearchBody, ApiError> {
    let mut c = ObjectCheck::new(req, "");
    let dataset_ids = match dataset_id {
        Some(id) => vec![id.to_string()],
        None => str_list(&mut c, "dataset_ids", 1, true),
    };
    let question = match c.required("question") {
        None => String::new(),
        Some(Value::String(s)) => {
            let q = s.trim().to_string();
            if q.is_empty() {
                c.fail(
                    "question",
                    "String should have at least 1 character",
                    &json!(s),
                );
            }
            q
        }
        Some(v) => {
            c.fail("question", MSG_STR, v);
            String::new()
        }
    };
    let doc_ids = str_list(&mut c, "doc_ids", 0, false);
    let page = int_field(&mut c, "page", 1);
    let size = int_field(&mut c, "size", 30);
    let top_k = int_field(&mut c, "top_k", 1024);
    let similarity_threshold = unit_field(&mut c, "similarity_threshold", 0.0);
    let vector_similarity_weight = unit_field(&mut c, "vector_similarity_weight", 0.3);
    let use_kg = bool_field(&mut c, "use_kg");
    let cross_languages = str_list(&mut c, "cross_languages", 0, false);
    let keyword = bool_field(&mut c, "keyword");
    let search_id = opt_str(&mut c, "search_id");
    let rerank_id = opt_str(&mut c, "rerank_id");
    let meta_data_filter = match c.field("meta_data_filter") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(v) => {
            c.fail("meta_data_filter", "Input should be a valid dictionary", v);
            None
        }
    };
    if !c.errors.is_empty() {
        return Err(ApiError::argument(format_errors(&c.errors)));
    }
    Ok(SearchBody {
        request: RetrievalRequest {
            dataset_ids,
            document_ids: (!doc_ids.is_empty()).then_some(doc_ids),
            question,
            page: usize::try_from(page).unwrap_or(1),
            page_size: usize::try_from(size).unwrap_or(30),
            similarity_threshold: similarity_threshold as f32,
            vector_similarity_weight: vector_similarity_weight as f32,
            top_k: usize::try_from(top_k).unwrap_or(1024).min(TOP_K_LIMIT),
            keyword,
            cross_languages,
            use_kg,
            ..RetrievalRequest::default()
        },
        search_id,
        meta_data_filter,
        rerank_id,
    })
}

/// Run the search. Every dataset must be the caller's (upstream also lets team members
/// in; lambdarag has no teams).
pub async fn search(
    state: &AppState,
    tenant_id: &str,
    body: SearchBody,
) -> Result<Value, ApiError> {
    let SearchBody {
        mut request,
        search_id,
        mut meta_data_filter,
        rerank_id,
    } = body;
    for id in &request.dataset_ids {
        if state.meta.get_dataset(tenant_id, id).await?.is_none() {
            return Err(ApiError::data(format!(
                "Only owner of dataset {id} authorized for this operation."
            )));
        }
    }
    let datasets = super::load_datasets(state, tenant_id, &request.dataset_ids).await?;
    // A saved search app's configuration replaces the request's retrieval settings.
    let mut saved_rerank = None;
    let mut chat_id = None;
    if let Some(id) = search_id.filter(|s| !s.is_empty()) {
        let Some(app) = state.searches.get_search(tenant_id, &id).await? else {
            return Err(ApiError::data("Invalid search_id"));
        };
        let config = &app.search_config;
        let number = |key: &str| config.get(key).and_then(Value::as_f64);
        if let Some(x) = number("similarity_threshold") {
            request.similarity_threshold = x as f32;
        }
        if let Some(x) = number("vector_similarity_weight") {
            request.vector_similarity_weight = (x as f32).clamp(0.0, 1.0);
        }
        if let Some(k) = config.get("top_k").and_then(Value::as_u64) {
            request.top_k = usize::try_from(k).unwrap_or(1024).clamp(1, TOP_K_LIMIT);
        }
        if let Some(b) = config.get("use_kg") {
            request.use_kg = truthy(b);
        }
        if let Some(b) = config.get("keyword") {
            request.keyword = truthy(b);
        }
        if let Some(langs) = config.get("cross_languages").and_then(Value::as_array) {
            request.cross_languages = langs.iter().map(py_str).collect();
        }
        if let Some(f) = config.get("meta_data_filter").filter(|v| truthy(v)) {
            meta_data_filter = Some(f.clone());
        }
        saved_rerank = config.get("rerank_id").filter(|v| truthy(v)).map(py_str);
        chat_id = config.get("chat_id").filter(|v| truthy(v)).map(py_str);
    }
    let rerank = rerank_id.filter(|r| !r.is_empty()).or(saved_rerank);
    request.rerank_id = match rerank {
        Some(r) => crate::services::completion::chat_reranker(state, tenant_id, &r).await,
        None => None,
    };
    if let Some(saved) = meta_data_filter {
        let model =
            crate::services::answer::mind_map::filter_model(state, tenant_id, chat_id.as_deref())
                .await?;
        match saved_filter::resolve(
            state,
            tenant_id,
            &model,
            &saved,
            &request.dataset_ids,
            &request.question,
        )
        .await
        {
            SavedScope::Condition(c) => request.metadata_condition = Some(c),
            SavedScope::Documents(found) => request.document_ids = Some(found),
            SavedScope::Unrestricted => {}
        }
    }
    let result = super::retrieve(state, tenant_id, &datasets, &request).await?;
    Ok(reply(&result))
}

/// The reply: chunks under the index's field names; `total` is the page's length, as
/// upstream overwrites it.
fn reply(result: &RetrievalResult) -> Value {
    let chunks: Vec<Value> = result
        .hits
        .iter()
        .map(|h| {
            let c = &h.scored.chunk;
            json!({
                "chunk_id": c.id,
                "content_ltks": tokens(&c.content),
                "content_with_weight": c.content,
                "doc_id": c.document_id,
                "docnm_kwd": h.document_name,
                "kb_id": c.dataset_id,
                "important_kwd": c.important_keywords,
                "question_kwd": c.questions,
                "image_id": c.image_id,
                "similarity": h.similarity,
                "vector_similarity": h.scored.vector_score,
                "term_similarity": h.term_similarity,
                "positions": c.positions,
                "doc_type_kwd": c.doc_type,
            })
        })
        .collect();
    json!({"total": chunks.len(), "chunks": chunks, "doc_aggs": doc_aggs(result), "labels": null})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn defaults_and_path_dataset() {
        let got = validate(&body(json!({"question": "  why  "})), Some("ds1")).expect("valid");
        let r = got.request;
        assert_eq!(r.dataset_ids, vec!["ds1"]);
        assert_eq!(r.question, "why");
        assert_eq!((r.page, r.page_size, r.top_k), (1, 30, 1024));
        assert_eq!(r.similarity_threshold, 0.0);
        assert!((r.vector_similarity_weight - 0.3).abs() < 1e-6);
        assert_eq!(r.document_ids, None);
        let big = validate(&body(json!({"question": "q", "top_k": 5000})), Some("d")).expect("ok");
        assert_eq!(big.request.top_k, TOP_K_LIMIT);
    }

    #[test]
    fn pydantic_messages() {
        let e = validate(&body(json!({})), None).expect_err("missing");
        assert_eq!(
            e.message,
            "Field: <dataset_ids> - Message: <Field required> - Value: <{}>\nField: <question> - Message: <Field required> - Value: <{}>"
        );
        let e =
            validate(&body(json!({"dataset_ids": [], "question": "q"})), None).expect_err("empty");
        assert_eq!(
            e.message,
            "Field: <dataset_ids> - Message: <List should have at least 1 item after validation, not 0> - Value: <[]>"
        );
        let e = validate(
            &body(json!({"question": "q", "page": 0, "similarity_threshold": 2})),
            Some("d"),
        )
        .expect_err("bounds");
        assert_eq!(
            e.message,
            "Field: <page> - Message: <Input should be greater than or equal to 1> - Value: <0>\nField: <similarity_threshold> - Message: <Input should be less than or equal to 1> - Value: <2>"
        );
        assert_eq!(e.code, 101);
    }
}
