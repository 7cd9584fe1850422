//! lambdarag's shared library, grouped by role:
//!
//! - [`contract`]: what every route speaks: the `{code, message, data}` envelope and its
//!   codes, the one mapping from store errors to it, request validation with upstream's
//!   messages, Python-style formatting, ids and times;
//! - [`domain`]: the records (datasets, documents, chunks, tenants, keys, tasks) and the
//!   model catalogue, with no I/O;
//! - [`ports`]: the traits every adapter implements, each with its conformance suite;
//! - [`services`]: one module per resource, the logic behind each route group;
//! - [`state`]: the ports a deployment wires together.
//!
//! Adapters that pull heavy engines live in sibling crates (`lambdarag-embedded`,
//! `lambdarag-aws`) so a Lambda binary links only what it uses.

pub mod contract;
pub mod domain;
pub mod ports;
pub mod services;
pub mod state;

pub use contract::envelope::{ApiError, RetCode};
pub use contract::error::StoreError;
pub use state::AppState;
