//! `chunk`: a [`ParsedDocument`] → [`ChunkDraft`]s by one of upstream's chunk methods.
//!
//! | method | what it does |
//! |---|---|
//! | `naive` (General) | Merges consecutive blocks into chunks of at most `chunk_token_num` tokens (default 512). A block too long for one chunk is split at the `delimiter` characters (default `\n`; backslash escapes such as `\n` and `\t` are read, and a backtick-quoted string such as `` `##` `` is one multi-character delimiter), then at sentence ends, then at spaces, then between characters. Tables are chunked apart: groups of rows within the limit, the header row repeated in every group (`doc_type` `table`). |
//! | `qa` | Question/answer pairs: table rows (first column the question, second the answer; a header row such as `Question, Answer` is skipped), or in text `Q:`/`A:` lines, headings with the text under them, tab-separated `question⇥answer` lines, or lines ending in `?` followed by their answer. Content is `Question: …\tAnswer: …`, `questions` is `[question]`. No pair found is an error. |
//! | `table` | One chunk per table row: `header: value; header: value` (empty cells left out). Text files of tab- (or, for .txt/.csv, comma-) separated lines are read as a table. No table is an error. |
//! | `tag` | Like `table`, for tag sets: first column the content, second the tags (split at `,` `;` `，` `；` `、`) → `important_keywords`. No rows is an error. |
//! | `manual`, `paper`, `book` | Section-aware: sections start at headings (documents without heading blocks: lines that look like headings, e.g. `Chapter 3`, `1.2 Scope`, `第二章`); each section's text is merged up to the token limit, never across sections, and every chunk starts with its heading path (`Part > Chapter > Section`). |
//! | `laws` | As `manual`, and every article (`Article 12`, `Art. 5`, `第十二条`, `§ 3`) is kept whole unless it alone exceeds the limit. |
//! | `one` | The whole document as one chunk, whatever its length. |
//! | `presentation` | One chunk per slide (PPTX) or page (PDF); documents without pages fall back to `naive`. |
//! | `email` | The header block (subject, from, to, date, attachments) as one chunk, then the body as `naive`. |
//! | `picture` | Images give no chunks (the parse notes say OCR is unavailable); text inputs fall back to `naive`. |
//! | `knowledge_graph`, `resume`, `audio`, any other | Fall back to `naive` (no graph extraction, resume or audio model here). |
//!
//! A document without blocks gives no chunks, whatever the method. Chunk `positions` are
//! page-only boxes `[page, 0, 0, 0, 0]` for each page a chunk draws on.

mod merge;
mod qa;
mod sections;
mod split;
mod table;
#[cfg(test)]
mod tests;

use merge::*;
use qa::*;
use sections::*;
use split::*;
use table::*;

use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ParseError;
use crate::model::{render_table, Block, BlockKind, ParsedDocument};
use crate::parse::extension;
use crate::tokens::{count_tokens, count_tokens_within};

/// A chunk before it has an id, an embedding or a place in the index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkDraft {
    pub content: String,
    pub important_keywords: Vec<String>,
    pub questions: Vec<String>,
    /// `[page, x0, x1, top, bottom]`; page-only (`[page, 0, 0, 0, 0]`) where a page is known.
    pub positions: Vec<[i64; 5]>,
    /// `""`, `"table"` or `"image"`.
    pub doc_type: String,
    pub token_count: usize,
}

impl ChunkDraft {
    fn new(content: String, pages: &[u32], doc_type: &str) -> Self {
        Self::counted(content, pages, doc_type, None)
    }

    /// `new` with the content's token count when the caller already has it.
    fn counted(content: String, pages: &[u32], doc_type: &str, tokens: Option<usize>) -> Self {
        let token_count = tokens.unwrap_or_else(|| count_tokens(&content));
        let mut positions: Vec<[i64; 5]> = Vec::new();
        for &p in pages {
            let b = [i64::from(p), 0, 0, 0, 0];
            if !positions.contains(&b) {
                positions.push(b);
            }
        }
        ChunkDraft {
            content,
            important_keywords: Vec::new(),
            questions: Vec::new(),
            positions,
            doc_type: doc_type.to_string(),
            token_count,
        }
    }
}

/// Default `chunk_token_num`.
pub const DEFAULT_CHUNK_TOKENS: usize = 512;
const MAX_CHUNK_TOKENS: usize = 65_536;

struct Config {
    limit: usize,
    delimiters: Vec<String>,
}

fn config(pc: &Value) -> Config {
    let limit = match pc.get("chunk_token_num") {
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 1.0).map(|f| f as u64)),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
    .filter(|&n| n >= 1)
    .map_or(DEFAULT_CHUNK_TOKENS, |n| {
        usize::try_from(n)
            .unwrap_or(MAX_CHUNK_TOKENS)
            .min(MAX_CHUNK_TOKENS)
    });
    let delimiters = match pc.get("delimiter") {
        Some(Value::String(s)) => parse_delimiters(s),
        _ => parse_delimiters("\n"),
    };
    Config { limit, delimiters }
}

/// Read backslash escapes (`\n`, `\t`, `\r`, `\\`) as upstream's stored strings mean them.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Upstream's delimiter string: every character is a delimiter, except that text between
/// backticks is one multi-character delimiter. Longest first; never empty.
pub(crate) fn parse_delimiters(raw: &str) -> Vec<String> {
    let s = unescape(raw);
    let mut out: Vec<String> = Vec::new();
    let mut rest = s.as_str();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('`') {
            if let Some(end) = after.find('`') {
                if end > 0 {
                    out.push(after[..end].to_string());
                    rest = &after[end + 1..];
                    continue;
                }
            }
        }
        let mut it = rest.chars();
        if let Some(c) = it.next() {
            out.push(c.to_string());
        }
        rest = it.as_str();
    }
    out.sort_by_key(|d| std::cmp::Reverse(d.len()));
    out.dedup();
    if out.is_empty() {
        out.push("\n".to_string());
    }
    out
}

// ---------------------------------------------------------------------------------------
// Methods
// ---------------------------------------------------------------------------------------

/// Split `doc` into chunk drafts by `method` (see the table at the top of this module).
pub fn chunk(
    doc: &ParsedDocument,
    method: &str,
    parser_config: &Value,
    doc_name: &str,
) -> Result<Vec<ChunkDraft>, ParseError> {
    if doc.blocks.iter().all(|b| b.text.trim().is_empty()) {
        return Ok(Vec::new());
    }
    let cfg = config(parser_config);
    let ext = extension(doc_name);
    let method = method.trim().to_ascii_lowercase();
    Ok(match method.as_str() {
        "qa" => qa(doc, &ext)?,
        "table" => table_method(doc, &ext)?,
        "tag" => tag_method(doc, &ext)?,
        "manual" | "paper" | "book" => sections(doc, &cfg, false),
        "laws" => sections(doc, &cfg, true),
        "one" => one(doc),
        "presentation" => presentation(doc, &cfg),
        "email" => email(doc, &cfg),
        _ => naive(doc, &cfg),
    })
}

fn naive(doc: &ParsedDocument, cfg: &Config) -> Vec<ChunkDraft> {
    naive_blocks(doc.blocks.iter(), cfg)
}

fn naive_blocks<'b>(blocks: impl Iterator<Item = &'b Block>, cfg: &Config) -> Vec<ChunkDraft> {
    let mut m = Merger::new(cfg);
    for b in blocks {
        match &b.kind {
            BlockKind::Table { rows } => {
                let intro = m.take_trailing_headings();
                m.push_chunks(table_chunks(b, rows, cfg, &intro));
            }
            BlockKind::Heading(_) | BlockKind::Title => m.add_block(&b.text, b.page, true),
            _ => m.add_text(&b.text, b.page),
        }
    }
    m.finish()
}

fn one(doc: &ParsedDocument) -> Vec<ChunkDraft> {
    let pages: Vec<u32> = doc.blocks.iter().filter_map(|b| b.page).collect();
    vec![ChunkDraft::new(doc.text().trim().to_string(), &pages, "")]
}

fn presentation(doc: &ParsedDocument, cfg: &Config) -> Vec<ChunkDraft> {
    if doc.blocks.iter().all(|b| b.page.is_none()) {
        return naive(doc, cfg);
    }
    let mut out = Vec::new();
    let mut current: Option<(u32, Vec<&str>)> = None;
    for b in &doc.blocks {
        let page = b.page.or(current.as_ref().map(|c| c.0)).unwrap_or(1);
        match current.as_mut() {
            Some((p, texts)) if *p == page => texts.push(&b.text),
            _ => {
                if let Some((p, texts)) = current.take() {
                    out.push(ChunkDraft::new(texts.join("\n"), &[p], ""));
                }
                current = Some((page, vec![&b.text]));
            }
        }
    }
    if let Some((p, texts)) = current {
        out.push(ChunkDraft::new(texts.join("\n"), &[p], ""));
    }
    out.retain(|c| !c.content.trim().is_empty());
    out
}

fn email(doc: &ParsedDocument, cfg: &Config) -> Vec<ChunkDraft> {
    let mut out: Vec<ChunkDraft> = doc
        .blocks
        .iter()
        .filter(|b| b.kind == BlockKind::EmailHeader)
        .map(|b| ChunkDraft::new(b.text.clone(), &[], ""))
        .collect();
    out.extend(naive_blocks(
        doc.blocks
            .iter()
            .filter(|b| b.kind != BlockKind::EmailHeader),
        cfg,
    ));
    out
}
