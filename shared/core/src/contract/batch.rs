//! Batch routes' endings in upstream's shape: duplicate ids reported, partial success
//! counted.

use crate::contract::envelope::ApiError;

/// De-duplicate ids, reporting repeats as upstream does (`Duplicate {kind} ids: {id}`).
pub fn dedupe_ids(ids: &[String], kind: &str) -> (Vec<String>, Vec<String>) {
    let mut unique: Vec<String> = Vec::new();
    let mut errors = Vec::new();
    for id in ids {
        if unique.contains(id) {
            let msg = format!("Duplicate {kind} ids: {id}");
            if !errors.contains(&msg) {
                errors.push(msg);
            }
        } else {
            unique.push(id.clone());
        }
    }
    (unique, errors)
}

/// The result of a batch operation with upstream's partial-success shape.
pub enum BatchOutcome {
    Done,
    Partial {
        success_count: u64,
        errors: Vec<String>,
    },
}

/// Upstream's ending for batch routes with duplicate ids: all fine → code 0; duplicates
/// but some work done → code 0 with counts; nothing done → 102 joining the messages.
pub fn batch_result(success_count: u64, dup_errors: Vec<String>) -> Result<BatchOutcome, ApiError> {
    if dup_errors.is_empty() {
        return Ok(BatchOutcome::Done);
    }
    if success_count == 0 {
        return Err(ApiError::data(dup_errors.join(";")));
    }
    Ok(BatchOutcome::Partial {
        success_count,
        errors: dup_errors,
    })
}

/// Upstream's ending for batch deletes that can miss ids (chats, sessions): misses beside
/// some success → code 0 with counts and the misses; only misses → 102 joining them with
/// `"; "`; no miss → [`batch_result`] over the duplicate-id messages.
pub fn batch_result_with_misses(
    success_count: u64,
    misses: Vec<String>,
    dup_errors: Vec<String>,
) -> Result<BatchOutcome, ApiError> {
    if misses.is_empty() {
        return batch_result(success_count, dup_errors);
    }
    if success_count == 0 {
        return Err(ApiError::data(misses.join("; ")));
    }
    Ok(BatchOutcome::Partial {
        success_count,
        errors: misses,
    })
}

/// The `delete_all` key of a v0.27 batch-delete body read as pydantic reads a `bool` field
/// (lax mode): `None` when the key is absent, which selects the pinned rules for the
/// request. Used by the routes whose v0.27 model is pydantic (datasets, documents).
pub fn delete_all_flag(
    req: &serde_json::Map<String, serde_json::Value>,
) -> Result<Option<bool>, ApiError> {
    use serde_json::Value;
    let Some(v) = req.get("delete_all") else {
        return Ok(None);
    };
    let parsed = match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64() {
            Some(0.0) => Some(false),
            Some(1.0) => Some(true),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "0" | "off" | "f" | "false" | "n" | "no" => Some(false),
            "1" | "on" | "t" | "true" | "y" | "yes" => Some(true),
            _ => None,
        },
        _ => None,
    };
    parsed.map(Some).ok_or_else(|| {
        let msg = if matches!(v, Value::String(_)) {
            "Input should be a valid boolean, unable to interpret input"
        } else {
            "Input should be a valid boolean"
        };
        ApiError::argument(crate::contract::validation::format_errors(&[
            crate::contract::validation::FieldError::new("delete_all", msg, v),
        ]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flag(v: serde_json::Value) -> Result<Option<bool>, String> {
        delete_all_flag(v.as_object().unwrap_or(&Default::default())).map_err(|e| e.message)
    }

    #[test]
    fn delete_all_reads_like_a_pydantic_bool() {
        assert_eq!(flag(json!({})), Ok(None));
        assert_eq!(flag(json!({"delete_all": false})), Ok(Some(false)));
        assert_eq!(flag(json!({"delete_all": "yes"})), Ok(Some(true)));
        assert_eq!(flag(json!({"delete_all": 1})), Ok(Some(true)));
        assert_eq!(
            flag(json!({"delete_all": null})),
            Err(
                "Field: <delete_all> - Message: <Input should be a valid boolean> - Value: <None>"
                    .into()
            )
        );
        assert_eq!(
            flag(json!({"delete_all": "maybe"})),
            Err("Field: <delete_all> - Message: <Input should be a valid boolean, unable to interpret input> - Value: <maybe>".into())
        );
    }
}
