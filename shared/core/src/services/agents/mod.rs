//! Agents (contract 7.9, v0.27's `/agents*`): canvases, their sessions and completions.

pub mod runtime;
