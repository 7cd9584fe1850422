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
