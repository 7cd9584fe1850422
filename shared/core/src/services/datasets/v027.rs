//! What the v0.27 generation (ragflow-sdk 0.26) adds to the dataset routes: the
//! auto-metadata configuration (create key, GET/PUT …/metadata/config), `delete_all` on
//! DELETE /datasets, `include_parsing_status` on the list, and GET /datasets/{id}.

use serde_json::{json, Map, Value};

use crate::contract::batch::delete_all_flag;
use crate::contract::envelope::ApiError;
use crate::contract::ids::parse_uuid1;
use crate::contract::time::now_ms;
use crate::contract::validation::{
    format_errors, literal_msg, max_len_msg, str_len, str_list, FieldError, ObjectCheck,
};
use crate::domain::{Dataset, DocumentListQuery, RunStatus};
use crate::state::AppState;

const FIELD_TYPES: &[&str] = &["string", "list", "time", "number"];

/// Check one `{key, type, description?, enum?}` entry at `loc`; returns it normalised.
fn check_field(errors: &mut Vec<FieldError>, loc: &str, v: &Value) -> Option<Value> {
    let Some(obj) = v.as_object() else {
        errors.push(FieldError::new(
            loc,
            "Input should be a valid dictionary or instance of MetadataField",
            v,
        ));
        return None;
    };
    let mut c = ObjectCheck::new(obj, loc);
    let key = c
        .required("key")
        .and_then(|k| str_len(&mut c, "key", k, true, Some(1), Some(255)));
    let kind = c.required("type").and_then(|t| match t.as_str() {
        Some(s) if FIELD_TYPES.contains(&s) => Some(s.to_string()),
        _ => {
            c.fail("type", literal_msg(FIELD_TYPES), t);
            None
        }
    });
    let description = match c.field("description") {
        None | Some(Value::Null) => None,
        Some(d) => match d.as_str() {
            Some(s) if s.chars().count() > 65535 => {
                c.fail("description", max_len_msg(65535), d);
                None
            }
            Some(s) => Some(s.to_string()),
            None => {
                c.fail("description", crate::contract::validation::MSG_STR, d);
                None
            }
        },
    };
    let enum_values = match c.field("enum") {
        None | Some(Value::Null) => None,
        Some(e) => str_list(&mut c, "enum", e),
    };
    let failed = !c.errors.is_empty();
    errors.append(&mut c.errors);
    if failed {
        return None;
    }
    let mut out = Map::new();
    out.insert("key".into(), json!(key));
    out.insert("type".into(), json!(kind));
    out.insert("description".into(), json!(description));
    out.insert("enum".into(), json!(enum_values));
    Some(Value::Object(out))
}

/// Validate an auto-metadata configuration (`{metadata: [...], built_in_metadata: [...]}`),
/// reporting at `prefix` (`auto_metadata_config` inside a create body, empty for the PUT
/// body). Returns the normalised config, both lists present.
pub fn check_auto_metadata(errors: &mut Vec<FieldError>, prefix: &str, v: &Value) -> Option<Value> {
    let Some(obj) = v.as_object() else {
        let loc = if prefix.is_empty() { "body" } else { prefix };
        errors.push(FieldError::new(
            loc,
            "Input should be a valid dictionary or instance of AutoMetadataConfig",
            v,
        ));
        return None;
    };
    let mut out = Map::new();
    let before = errors.len();
    for list in ["metadata", "built_in_metadata"] {
        let loc = if prefix.is_empty() {
            list.to_string()
        } else {
            format!("{prefix}.{list}")
        };
        let items = match obj.get(list) {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .filter_map(|(i, f)| check_field(errors, &format!("{loc}.{i}"), f))
                .collect(),
            Some(other) => {
                errors.push(FieldError::new(
                    loc,
                    crate::contract::validation::MSG_LIST,
                    other,
                ));
                vec![]
            }
        };
        out.insert(list.into(), Value::Array(items));
    }
    (errors.len() == before).then_some(Value::Object(out))
}

/// The configuration a dataset reports when none was ever set.
pub fn default_auto_metadata() -> Value {
    json!({"metadata": [], "built_in_metadata": []})
}

/// A dataset of the caller's, by path id, with v0.27's messages.
async fn owned(state: &AppState, tenant_id: &str, dataset_id: &str) -> Result<Dataset, ApiError> {
    let Some(id) = parse_uuid1(dataset_id) else {
        return Err(ApiError::data("Invalid Dataset ID"));
    };
    state
        .meta
        .get_dataset(tenant_id, &id)
        .await?
        .ok_or_else(|| {
            ApiError::data(format!(
                "User '{tenant_id}' lacks permission for dataset '{dataset_id}'"
            ))
        })
}

/// GET /datasets/{id}: the dataset object plus `size` (bytes of its documents) and
/// `connectors` (none: lambdarag has no data-source connectors).
pub async fn get_one(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
) -> Result<Value, ApiError> {
    let ds = owned(state, tenant_id, dataset_id).await?;
    let mut row = super::render(state, &ds).await?;
    let (docs, _) = state
        .docs
        .list_documents(tenant_id, &ds.id, &DocumentListQuery::all())
        .await?;
    if let Value::Object(m) = &mut row {
        m.insert(
            "size".into(),
            json!(docs.iter().map(|d| d.size).sum::<i64>()),
        );
        m.insert("connectors".into(), json!([]));
    }
    Ok(row)
}

/// GET /datasets/{id}/metadata/config.
pub async fn get_metadata_config(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
) -> Result<Value, ApiError> {
    let ds = owned(state, tenant_id, dataset_id).await?;
    Ok(ds
        .auto_metadata_config
        .unwrap_or_else(default_auto_metadata))
}

/// PUT /datasets/{id}/metadata/config: replace the configuration; answers the stored one.
pub async fn put_metadata_config(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    body: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let mut ds = owned(state, tenant_id, dataset_id).await?;
    let mut errors = Vec::new();
    let config = check_auto_metadata(&mut errors, "", &Value::Object(body.clone()));
    let Some(config) = config.filter(|_| errors.is_empty()) else {
        return Err(ApiError::argument(format_errors(&errors)));
    };
    ds.auto_metadata_config = Some(config.clone());
    ds.update_time = now_ms();
    state.meta.update_dataset(&ds).await?;
    Ok(config)
}

/// A DELETE /datasets body with `delete_all` (v0.27): ids optional, nothing deleted
/// without ids unless `delete_all` is true.
pub enum DeleteRequest {
    /// The pinned body: `None` = every dataset of the caller's.
    Pinned(Option<Vec<String>>),
    /// v0.27: `None` = every dataset of the caller's, `Some([])` = nothing.
    V027(Option<Vec<String>>),
}

pub fn validate_delete(body: &Map<String, Value>) -> Result<DeleteRequest, ApiError> {
    let Some(delete_all) = delete_all_flag(body)? else {
        return super::request::validate_delete(body).map(DeleteRequest::Pinned);
    };
    if delete_all {
        return Ok(DeleteRequest::V027(None));
    }
    // Same id rules as the pinned body, minus `ids` being required.
    let mut rest = body.clone();
    rest.remove("delete_all");
    rest.entry("ids").or_insert(Value::Null);
    let ids = super::request::validate_delete(&rest)?;
    Ok(DeleteRequest::V027(Some(ids.unwrap_or_default())))
}

/// `include_parsing_status`: per-dataset counts of its documents by run status, both as
/// the five flat keys upstream's reference shows and under `parsing_status`.
pub async fn add_parsing_status(
    state: &AppState,
    tenant_id: &str,
    row: &mut Value,
) -> Result<(), ApiError> {
    let Some(m) = row.as_object_mut() else {
        return Ok(());
    };
    let Some(id) = m.get("id").and_then(Value::as_str).map(str::to_string) else {
        return Ok(());
    };
    let (docs, _) = state
        .docs
        .list_documents(tenant_id, &id, &DocumentListQuery::all())
        .await?;
    let counts = parsing_counts(docs.iter().map(|d| d.run));
    if let Value::Object(c) = &counts {
        for (k, v) in c {
            m.insert(k.clone(), v.clone());
        }
    }
    m.insert("parsing_status".into(), counts);
    Ok(())
}

pub fn parsing_counts(runs: impl Iterator<Item = RunStatus>) -> Value {
    let mut n = [0u64; 5];
    for r in runs {
        let i = match r {
            RunStatus::Unstart => 0,
            RunStatus::Running => 1,
            RunStatus::Cancel => 2,
            RunStatus::Done => 3,
            RunStatus::Fail => 4,
        };
        n[i] += 1;
    }
    json!({
        "unstart_count": n[0],
        "running_count": n[1],
        "cancel_count": n[2],
        "done_count": n[3],
        "fail_count": n[4],
    })
}

/// v0.27's list-item keys beside the pinned ones: `nickname` (the tenant's name: lambdarag
/// has tenants, not users), `tenant_avatar` (none) and `embedding_model_name` (the model as
/// `name@factory`, which is what `embedding_model` already holds here).
pub fn add_list_keys(row: &mut Value, nickname: &str) {
    let Some(m) = row.as_object_mut() else {
        return;
    };
    let model = m.get("embedding_model").cloned().unwrap_or(Value::Null);
    m.insert("nickname".into(), json!(nickname));
    m.insert("tenant_avatar".into(), Value::Null);
    m.insert("embedding_model_name".into(), model);
}

/// v0.27's `GET /datasets?type=filter`: the owners of the datasets the caller can see, each
/// with its count (`{"filter": {"owner": [{id, label, count}]}, "total": n}`). A key sees its
/// own tenant's datasets only, so there is one owner at most.
pub async fn list_filter_counts(state: &AppState, tenant_id: &str) -> Result<Value, ApiError> {
    let (_, total) = state
        .meta
        .list_datasets(
            tenant_id,
            &crate::domain::DatasetListQuery {
                page_size: 1,
                ..crate::domain::DatasetListQuery::all()
            },
        )
        .await?;
    let owners = owner_facet(state, tenant_id, total as usize).await?;
    Ok(json!({"filter": {"owner": owners}, "total": total}))
}

/// The `owner` facet of v0.27's `type=filter` listings: `[{id, label, count}]` with the
/// caller's tenant as the one owner (a key sees its own tenant's rows only), or `[]` when
/// it owns none.
pub async fn owner_facet(
    state: &AppState,
    tenant_id: &str,
    count: usize,
) -> Result<Vec<Value>, ApiError> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let label = state
        .meta
        .get_tenant(tenant_id)
        .await?
        .map(|t| t.name)
        .unwrap_or_default();
    Ok(vec![
        json!({"id": tenant_id, "label": label, "count": count}),
    ])
}

/// Whether the list query asks for parsing status (lax bool, as upstream's query parsing).
pub fn wants_parsing_status(pairs: &[(String, String)]) -> bool {
    crate::contract::http::first(pairs, "include_parsing_status")
        .is_some_and(|v| crate::contract::validation::lax_bool(v).unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(v: Value) -> Result<Value, String> {
        let mut errors = Vec::new();
        let out = check_auto_metadata(&mut errors, "auto_metadata_config", &v);
        if errors.is_empty() {
            out.ok_or_else(String::new)
        } else {
            Err(format_errors(&errors))
        }
    }

    #[test]
    fn auto_metadata_config_is_validated_and_normalised() {
        assert_eq!(
            check(json!({"metadata": [{"key": " author ", "type": "string"}]})),
            Ok(
                json!({"metadata": [{"key": "author", "type": "string", "description": null, "enum": null}], "built_in_metadata": []})
            )
        );
        assert_eq!(
            check(json!({"metadata": [{"key": "a", "type": "date"}]})),
            Err("Field: <auto_metadata_config.metadata.0.type> - Message: <Input should be 'string', 'list', 'time' or 'number'> - Value: <date>".into())
        );
        assert_eq!(
            check(json!({"metadata": [{"type": "list"}]})),
            Err("Field: <auto_metadata_config.metadata.0.key> - Message: <Field required> - Value: <{'type': 'list'}>".into())
        );
        assert!(check(json!({"metadata": [{"key": "", "type": "list"}]})).is_err());
        assert!(check(json!({"metadata": "x"})).is_err());
        assert!(check(json!([1])).is_err());
        assert!(
            check(json!({"built_in_metadata": [{"key": "k", "type": "time", "enum": [1]}]}))
                .is_err()
        );
    }

    #[test]
    fn delete_all_selects_the_v027_body() {
        let body = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert!(matches!(
            validate_delete(&body(json!({"ids": null}))),
            Ok(DeleteRequest::Pinned(None))
        ));
        assert!(matches!(
            validate_delete(&body(json!({"ids": null, "delete_all": false}))),
            Ok(DeleteRequest::V027(Some(ref v))) if v.is_empty()
        ));
        assert!(matches!(
            validate_delete(&body(json!({"delete_all": true}))),
            Ok(DeleteRequest::V027(None))
        ));
        // Without delete_all, `ids` stays required as pinned.
        assert!(validate_delete(&body(json!({}))).is_err());
        assert!(validate_delete(&body(json!({"delete_all": false, "x": 1}))).is_err());
    }

    #[test]
    fn parsing_counts_by_run_status() {
        let c = parsing_counts([RunStatus::Done, RunStatus::Done, RunStatus::Fail].into_iter());
        assert_eq!(c["done_count"], 2);
        assert_eq!(c["fail_count"], 1);
        assert_eq!(c["unstart_count"], 0);
    }
}

/// v0.27's extra filters on `GET /datasets`: `ids` (repeatable or comma-separated, at most
/// 100) and `ext`, JSON text with `keywords` (name contains), `parser_id` (chunk method)
/// and `owner_ids` (owning tenants; a caller only owns its own).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ListFilters {
    pub ids: Vec<String>,
    pub keywords: Option<String>,
    pub parser_id: Option<String>,
    pub owner_ids: Vec<String>,
}

impl ListFilters {
    pub fn is_empty(&self) -> bool {
        self == &ListFilters::default()
    }

    fn keeps(&self, tenant_id: &str, d: &Dataset) -> bool {
        (self.ids.is_empty() || self.ids.contains(&d.id))
            && self
                .keywords
                .as_ref()
                .is_none_or(|k| d.name.to_lowercase().contains(&k.to_lowercase()))
            && self.parser_id.as_ref().is_none_or(|p| &d.chunk_method == p)
            && (self.owner_ids.is_empty() || self.owner_ids.iter().any(|o| o == tenant_id))
    }
}

pub fn list_filters(pairs: &[(String, String)]) -> Result<ListFilters, ApiError> {
    let ids = crate::contract::http::repeated_csv(pairs, &["ids"]);
    if ids.len() > crate::contract::http::MAX_LIST_IDS {
        return Err(ApiError::argument(format!(
            "ids must contain at most {} IDs",
            crate::contract::http::MAX_LIST_IDS
        )));
    }
    let mut filters = ListFilters {
        ids,
        ..Default::default()
    };
    if let Some(text) = crate::contract::http::first(pairs, "ext").filter(|t| !t.trim().is_empty())
    {
        let ext = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m,
            _ => return Err(ApiError::data("ext must be a JSON object.")),
        };
        let text_of = |k: &str| {
            ext.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        filters.keywords = text_of("keywords");
        filters.parser_id = text_of("parser_id");
        filters.owner_ids = match ext.get("owner_ids") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(Value::String(s)) if !s.is_empty() => {
                s.split(',').map(|x| x.trim().to_string()).collect()
            }
            _ => Vec::new(),
        };
    }
    Ok(filters)
}

/// The page of datasets passing `filters`, in `query`'s order, and their total.
pub fn apply_list_filters(
    tenant_id: &str,
    all: Vec<Dataset>,
    filters: &ListFilters,
    query: &crate::domain::DatasetListQuery,
) -> (Vec<Dataset>, u64) {
    let kept: Vec<Dataset> = all
        .into_iter()
        .filter(|d| filters.keeps(tenant_id, d))
        .collect();
    let total = kept.len() as u64;
    let start = query.page.saturating_sub(1).saturating_mul(query.page_size);
    let page = kept
        .into_iter()
        .skip(usize::try_from(start).unwrap_or(usize::MAX))
        .take(usize::try_from(query.page_size).unwrap_or(usize::MAX))
        .collect();
    (page, total)
}
