//! The `/api/v1` contract every route speaks: envelope and codes, the error mapping,
//! validation with upstream's messages, Python-style formatting of values, ids and times.

pub mod batch;
pub mod envelope;
pub mod error;
pub mod http;
pub mod ids;
pub mod openapi;
pub mod pyfmt;
pub mod time;
pub mod validation;
