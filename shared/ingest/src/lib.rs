//! Document parsing and chunking for lambdarag.
//!
//! Three steps, all pure, synchronous and CPU-bound (callers run them on a blocking thread):
//!
//! 1. [`parse`]: file bytes → [`ParsedDocument`] (typed [`Block`]s plus notes for the user),
//!    dispatching on the file extension, with guard rails ([`ParseLimits`]) against zip
//!    bombs, lying extensions, truncated and hostile files. It never panics: every failure
//!    is a [`ParseError`] whose message is one line, fit for a document's `progress_msg`.
//! 2. [`chunk`]: blocks → [`ChunkDraft`]s by one of upstream's chunk methods (see the table
//!    at the top of [`chunk`](mod@chunk)).
//! 3. [`count_tokens`]: cl100k_base token counts, as upstream counts them.

pub mod chunk;
pub mod error;
pub mod limits;
pub mod model;
pub mod parse;
pub mod pipeline;
pub mod tokens;

pub use chunk::{chunk, ChunkDraft};
pub use error::ParseError;
pub use limits::ParseLimits;
pub use model::{render_table, Block, BlockKind, ParsedDocument};
pub use parse::{parse, parser_supports};
pub use tokens::{count_tokens, count_tokens_within};
