//! v0.27's `POST /documents/ingest`: start (`run: "1"`) or cancel (`run: "2"`) the processing
//! of documents named by id alone, wherever they are among the caller's datasets. The work
//! is F6 / F7's, per dataset.

use std::collections::BTreeMap;

use super::*;
use crate::domain::DatasetListQuery;

/// What `run` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestAction {
    Start,
    Cancel,
}

/// The request's document ids and action (101 for a malformed one).
pub fn validate_ingest(req: &Map<String, Value>) -> Result<(Vec<String>, IngestAction), ApiError> {
    let ids: Vec<String> = match req.get("doc_ids") {
        Some(Value::Array(a)) if !a.is_empty() => {
            let mut ids = Vec::with_capacity(a.len());
            for v in a {
                match v.as_str() {
                    Some(s) if !s.is_empty() => ids.push(s.to_string()),
                    _ => {
                        return Err(ApiError::argument(
                            "`doc_ids` must be a list of document ids.",
                        ))
                    }
                }
            }
            ids
        }
        Some(Value::Array(_)) | None | Some(Value::Null) => {
            return Err(ApiError::argument("`doc_ids` is required."))
        }
        Some(_) => {
            return Err(ApiError::argument(
                "`doc_ids` must be a list of document ids.",
            ))
        }
    };
    let action = match req.get("run") {
        Some(Value::String(s)) if s == "1" => IngestAction::Start,
        Some(Value::String(s)) if s == "2" => IngestAction::Cancel,
        Some(Value::Number(n)) if n.as_i64() == Some(1) => IngestAction::Start,
        Some(Value::Number(n)) if n.as_i64() == Some(2) => IngestAction::Cancel,
        None | Some(Value::Null) => return Err(ApiError::argument("`run` is required.")),
        Some(_) => {
            return Err(ApiError::argument(
                "`run` must be \"1\" (start) or \"2\" (cancel).",
            ))
        }
    };
    if req
        .get("delete")
        .is_some_and(|v| !v.is_null() && !v.is_boolean())
    {
        return Err(ApiError::argument("`delete` must be a boolean."));
    }
    Ok((ids, action))
}

/// Start or cancel the documents' processing. Every id must name one of the caller's
/// documents (else 102 `document not found`, and nothing changes); each dataset's share then
/// goes through F6 or F7 with their rules and messages.
pub async fn ingest(
    state: &AppState,
    tenant_id: &str,
    req: &Map<String, Value>,
) -> Result<(), ApiError> {
    let (ids, action) = validate_ingest(req)?;
    let (datasets, _) = state
        .meta
        .list_datasets(tenant_id, &DatasetListQuery::all())
        .await?;
    let dataset_ids: Vec<String> = datasets.into_iter().map(|d| d.id).collect();
    let found = state
        .docs
        .get_documents(tenant_id, &dataset_ids, &ids)
        .await?;
    if ids.iter().any(|id| !found.iter().any(|d| &d.id == id)) {
        return Err(ApiError::data("document not found"));
    }
    let mut by_dataset: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for d in found {
        by_dataset
            .entry(d.dataset_id.clone())
            .or_default()
            .push(json!(d.id));
    }
    for (dataset_id, doc_ids) in by_dataset {
        let body = json!({"document_ids": doc_ids});
        let body = body.as_object().cloned().unwrap_or_default();
        match action {
            IngestAction::Start => super::parse(state, tenant_id, &dataset_id, &body).await?,
            IngestAction::Cancel => super::stop(state, tenant_id, &dataset_id, &body).await?,
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(x: Value) -> Map<String, Value> {
        x.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn requests() {
        let ok = validate_ingest(&v(
            json!({"doc_ids": ["a", "b"], "run": "1", "delete": true}),
        ));
        assert_eq!(
            ok.unwrap(),
            (vec!["a".into(), "b".into()], IngestAction::Start)
        );
        let ok = validate_ingest(&v(json!({"doc_ids": ["a"], "run": 2})));
        assert_eq!(ok.unwrap().1, IngestAction::Cancel);
        let msg = |x: Value| validate_ingest(&v(x)).unwrap_err();
        let e = msg(json!({"run": "1"}));
        assert_eq!(
            (e.code, e.message.as_str()),
            (101, "`doc_ids` is required.")
        );
        assert_eq!(
            msg(json!({"doc_ids": [], "run": "1"})).message,
            "`doc_ids` is required."
        );
        assert_eq!(
            msg(json!({"doc_ids": "a", "run": "1"})).message,
            "`doc_ids` must be a list of document ids."
        );
        assert_eq!(
            msg(json!({"doc_ids": [1], "run": "1"})).message,
            "`doc_ids` must be a list of document ids."
        );
        assert_eq!(msg(json!({"doc_ids": ["a"]})).message, "`run` is required.");
        assert_eq!(
            msg(json!({"doc_ids": ["a"], "run": "3"})).message,
            "`run` must be \"1\" (start) or \"2\" (cancel)."
        );
        assert_eq!(
            msg(json!({"doc_ids": ["a"], "run": "1", "delete": "yes"})).message,
            "`delete` must be a boolean."
        );
    }
}
