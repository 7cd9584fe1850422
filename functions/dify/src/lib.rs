//! `POST /api/v1/dify/retrieval`: Dify's external knowledge API (contract DF1), and v0.27's
//! GET form of it plus `GET /api/v1/dify/retrieval/health`.
//!
//! Replies are bare `{"records": [...]}` on success; errors use HTTP statuses Dify
//! understands (403 bad key, 404 unknown knowledge base, 500 failures) with upstream's
//! `{code, message}` bodies.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};

use lambdarag::contract::envelope::{json_response, ApiError, RetCode};
use lambdarag::contract::http::{loose_json_body, query_pairs};
use lambdarag::services::auth::DifyTenant;
use lambdarag::services::retrieval::{self, RetrievalRequest};
use lambdarag::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/api/v1/dify/retrieval",
            post(dify_retrieval).get(dify_retrieval_get),
        )
        .route("/api/v1/dify/retrieval/health", get(health))
        .with_state(state)
}

async fn dify_retrieval(
    State(state): State<AppState>,
    DifyTenant(tenant): DifyTenant,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = loose_json_body(&headers, &body).unwrap_or_default();
    reply(run(&state, &tenant, req).await)
}

/// v0.27's GET form: the same request from the query string.
async fn dify_retrieval_get(
    State(state): State<AppState>,
    DifyTenant(tenant): DifyTenant,
    RawQuery(q): RawQuery,
) -> Response {
    match lambdarag::services::dify::request_from_query(&query_pairs(q.as_deref())) {
        Ok(req) => reply(run(&state, &tenant, req).await),
        Err(e) => e.into_response(),
    }
}

/// v0.27's liveness probe for Dify's settings page (no key needed).
async fn health() -> Response {
    json_response(
        StatusCode::OK,
        &json!({"code": 0, "message": "success", "data": true}),
    )
}

fn reply(result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => e.into_response(),
    }
}

async fn run(state: &AppState, tenant: &str, req: Map<String, Value>) -> Result<Value, ApiError> {
    let missing: Vec<&str> = ["knowledge_id", "query"]
        .into_iter()
        .filter(|k| req.get(*k).is_none_or(Value::is_null))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::argument(format!(
            "required argument are missing: {}; ",
            missing.join(",")
        ))
        .with_data(Value::Null));
    }
    let kb_id = lambdarag::contract::pyfmt::py_str(&req["knowledge_id"]);
    let query = lambdarag::contract::pyfmt::py_str(&req["query"]);
    let setting = req.get("retrieval_setting").cloned().unwrap_or(json!({}));
    let threshold = setting
        .get("score_threshold")
        .and_then(Value::as_f64)
        .unwrap_or(0.0) as f32;
    let top_k = setting
        .get("top_k")
        .and_then(Value::as_f64)
        .map(|k| k.max(1.0) as usize)
        .unwrap_or(1024);
    let Some(dataset) = state
        .meta
        .get_dataset(tenant, &kb_id)
        .await
        .map_err(server_error)?
    else {
        return Err(ApiError::http(
            RetCode::NotFound,
            "Knowledgebase not found!",
        ));
    };
    let condition = req
        .get("metadata_condition")
        .filter(|v| !v.is_null())
        .cloned();
    // A malformed condition is the caller's error: HTTP 400 (a status Dify reports as a
    // bad request), not the 500 that retrieval failures get below.
    if condition.as_ref().is_some_and(|c| !c.is_object()) {
        return Err(ApiError::http(
            RetCode::BadRequest,
            "metadata_condition must be an object.",
        ));
    }
    lambdarag::services::metadata_filter::parse(condition.as_ref())
        .map_err(|e| ApiError::http(RetCode::BadRequest, e.to_string()))?;
    let request = RetrievalRequest {
        dataset_ids: vec![kb_id],
        question: query,
        page: 1,
        page_size: top_k,
        similarity_threshold: threshold,
        vector_similarity_weight: 0.3,
        top_k,
        highlight: false,
        metadata_condition: condition,
        use_kg: req
            .get("use_kg")
            .is_some_and(lambdarag::contract::pyfmt::truthy),
        ..Default::default()
    };
    let datasets = [dataset];
    let result = retrieval::retrieve(state, tenant, &datasets, &request)
        .await
        .map_err(|e| ApiError::http(RetCode::ServerError, e.message))?;
    // Metadata of each hit's document: its meta_fields plus its id under both names.
    let mut metas = std::collections::HashMap::new();
    for h in &result.hits {
        let id = &h.scored.chunk.document_id;
        if !metas.contains_key(id) {
            let mut m = result
                .documents
                .get(id)
                .and_then(|d| d.meta_fields.as_object().cloned())
                .unwrap_or_default();
            m.insert("doc_id".into(), json!(id));
            m.insert("document_id".into(), json!(id));
            metas.insert(id.clone(), Value::Object(m));
        }
    }
    let records: Vec<Value> = result
        .hits
        .iter()
        .map(|h| {
            json!({
                "content": h.scored.chunk.content,
                "score": h.similarity,
                "title": h.document_name,
                "metadata": metas.get(&h.scored.chunk.document_id).cloned().unwrap_or(json!({})),
            })
        })
        .collect();
    Ok(json!({"records": records}))
}

fn server_error(e: lambdarag::StoreError) -> ApiError {
    tracing::error!(error = %e, "dify retrieval: store operation failed");
    ApiError::http(RetCode::ServerError, "Database operation failed")
}
