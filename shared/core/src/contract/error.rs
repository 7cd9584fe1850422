//! Errors raised by the ports (adapters) and their one mapping to an envelope.

use crate::contract::envelope::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was hit (a dataset name, an id); the caller decides what it means.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// The backing engine failed (SQLite, DynamoDB, ...). The text is for logs, not clients.
    #[error("backend error: {0}")]
    Backend(String),
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn backend(e: impl std::fmt::Display) -> Self {
        StoreError::Backend(e.to_string())
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// The single mapping from a storage failure to what a client sees. Upstream answers
/// database failures with 102 `Database operation failed`; details go to the log only.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store operation failed");
        ApiError::data("Database operation failed")
    }
}
