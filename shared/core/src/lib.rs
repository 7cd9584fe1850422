//! lambdarag's shared library: the `/api/v1` contract (envelope, codes, auth, validation),
//! the domain, the ports every adapter implements, and engine-free logic.
//!
//! Adapters that pull heavy engines live in sibling crates (`lambdarag-embedded`,
//! `lambdarag-aws`) so a Lambda binary links only what it uses.

pub mod auth;
pub mod chats;
pub mod chunks;
pub mod completion;
pub mod datasets;
pub mod documents;
pub mod domain;
pub mod envelope;
pub mod error;
pub mod http;
pub mod ids;
pub mod metadata_filter;
pub mod models;
pub mod openai_compat;
pub mod openapi;
pub mod ports;
pub mod pyfmt;
pub mod retrieval;
pub mod sessions;
pub mod state;
pub mod time;
pub mod validation;

pub use envelope::{ApiError, RetCode};
pub use error::StoreError;
pub use state::AppState;
