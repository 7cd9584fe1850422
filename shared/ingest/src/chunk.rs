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

use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ParseError;
use crate::model::{render_table, Block, BlockKind, ParsedDocument};
use crate::parse::extension;
use crate::tokens::count_tokens;

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
        let token_count = count_tokens(&content);
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
// Splitting a text into pieces that each fit
// ---------------------------------------------------------------------------------------

/// Cut points are after each match; pieces concatenate back to the text.
fn split_after_delimiters<'a>(text: &'a str, delimiters: &[String]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        if let Some(d) = delimiters.iter().find(|d| rest.starts_with(d.as_str())) {
            i += d.len();
            out.push(&text[start..i]);
            start = i;
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

fn split_sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let end = i + c.len_utf8();
        let cut = match c {
            '。' | '！' | '？' | '；' | '…' => Some(end),
            '.' | '!' | '?' | ';' => match chars.peek() {
                Some((_, n)) if n.is_whitespace() => Some(end),
                _ => None,
            },
            _ => None,
        };
        if let Some(mut cut) = cut {
            // Keep the whitespace after the sentence with it.
            while let Some(&(j, n)) = chars.peek() {
                if !n.is_whitespace() {
                    break;
                }
                cut = j + n.len_utf8();
                chars.next();
            }
            out.push(&text[start..cut]);
            start = cut;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

fn split_words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev_ws = false;
    for (i, c) in text.char_indices() {
        let ws = c.is_whitespace();
        if prev_ws && !ws {
            out.push(&text[start..i]);
            start = i;
        }
        prev_ws = ws;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Longest prefixes within the limit, found by binary search (for text with no spaces).
fn split_chars(text: &str, limit: usize, out: &mut Vec<(String, usize)>) {
    let mut rest = text;
    while !rest.is_empty() {
        let bounds: Vec<usize> = rest
            .char_indices()
            .map(|(i, _)| i)
            .skip(1)
            .chain(std::iter::once(rest.len()))
            .take(limit.saturating_mul(32).max(1))
            .collect();
        // bounds[k] is the byte end of the first k+1 characters.
        let (mut lo, mut hi) = (0usize, bounds.len() - 1);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if count_tokens(&rest[..bounds[mid]]) <= limit {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let end = bounds[lo];
        let piece = &rest[..end];
        out.push((piece.to_string(), count_tokens(piece)));
        rest = &rest[end..];
    }
}

fn split_level(
    text: &str,
    limit: usize,
    delimiters: &[String],
    level: u8,
    out: &mut Vec<(String, usize)>,
) {
    if text.trim().is_empty() {
        return;
    }
    let tokens = count_tokens(text);
    if tokens <= limit {
        out.push((text.to_string(), tokens));
        return;
    }
    let parts = match level {
        0 => split_after_delimiters(text, delimiters),
        1 => split_sentences(text),
        2 => split_words(text),
        _ => return split_chars(text, limit, out),
    };
    if parts.len() <= 1 {
        return split_level(text, limit, delimiters, level + 1, out);
    }
    for p in parts {
        split_level(p, limit, delimiters, level + 1, out);
    }
}

/// Split `text` into pieces of at most `limit` tokens each (with their counts), cutting at
/// delimiters first, then sentence ends, then spaces, then between characters.
fn split_to_fit(text: &str, limit: usize, delimiters: &[String]) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    split_level(text, limit.max(1), delimiters, 0, &mut out);
    out
}

// ---------------------------------------------------------------------------------------
// Merging pieces into chunks
// ---------------------------------------------------------------------------------------

struct Part {
    /// Text put before this part when it is not the first of its chunk.
    joiner: &'static str,
    text: String,
    tokens: usize,
    page: Option<u32>,
    /// A heading: never left as the last part of a chunk.
    heading: bool,
}

/// Greedy merge of pieces into chunks within the limit, each chunk starting with `prefix`.
struct Merger<'a> {
    cfg: &'a Config,
    prefix: String,
    body_limit: usize,
    parts: Vec<Part>,
    estimate: usize,
    out: Vec<ChunkDraft>,
}

impl<'a> Merger<'a> {
    fn new(cfg: &'a Config) -> Self {
        Merger {
            cfg,
            prefix: String::new(),
            body_limit: cfg.limit,
            parts: Vec::new(),
            estimate: 0,
            out: Vec::new(),
        }
    }

    /// Start a new heading path (flushes what is pending).
    fn set_prefix(&mut self, prefix: String) {
        self.flush();
        let tokens = count_tokens(&prefix);
        if tokens * 2 > self.cfg.limit {
            self.prefix = String::new();
            self.body_limit = self.cfg.limit;
        } else {
            self.prefix = prefix;
            self.body_limit = (self.cfg.limit - tokens).max(1);
        }
    }

    /// Add a block's (or segment's) text; it starts on a new line of the current chunk.
    fn add_text(&mut self, text: &str, page: Option<u32>) {
        self.add_block(text, page, false);
    }

    fn add_block(&mut self, text: &str, page: Option<u32>, heading: bool) {
        let pieces = split_to_fit(text, self.body_limit, &self.cfg.delimiters);
        for (i, (text, tokens)) in pieces.into_iter().enumerate() {
            let joiner = if i == 0 { "\n" } else { "" };
            self.add_piece(Part {
                joiner,
                text,
                tokens,
                page,
                heading,
            });
        }
    }

    fn add_piece(&mut self, part: Part) {
        let join_cost = usize::from(!self.parts.is_empty() && !part.joiner.is_empty());
        if !self.parts.is_empty() && self.estimate + join_cost + part.tokens > self.body_limit {
            // Headings at the end move on with the text they introduce.
            let keep = self
                .parts
                .iter()
                .rposition(|p| !p.heading)
                .map_or(0, |i| i + 1);
            let carry = if keep > 0 {
                self.parts.split_off(keep)
            } else {
                Vec::new()
            };
            self.flush();
            for p in carry {
                self.push_part(p);
            }
            if !self.parts.is_empty() && self.estimate + 1 + part.tokens > self.body_limit {
                self.flush();
            }
        }
        self.push_part(part);
    }

    fn push_part(&mut self, part: Part) {
        let join_cost = usize::from(!self.parts.is_empty() && !part.joiner.is_empty());
        self.estimate += join_cost + part.tokens;
        self.parts.push(part);
    }

    fn flush(&mut self) {
        let parts = std::mem::take(&mut self.parts);
        self.estimate = 0;
        self.emit(parts);
    }

    fn emit(&mut self, parts: Vec<Part>) {
        if parts.is_empty() {
            return;
        }
        let mut body = String::new();
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                body.push_str(p.joiner);
            }
            body.push_str(&p.text);
        }
        let body = body.trim();
        if body.is_empty() {
            return;
        }
        let content = format!("{}{}", self.prefix, body);
        // Counts of pieces are close to, not exactly, the count of their concatenation:
        // split a chunk that came out over the limit.
        if parts.len() > 1 && count_tokens(&content) > self.cfg.limit {
            let mut parts = parts;
            let tail = parts.split_off(parts.len() / 2);
            self.emit(parts);
            self.emit(tail);
            return;
        }
        let pages: Vec<u32> = parts.iter().filter_map(|p| p.page).collect();
        self.out.push(ChunkDraft::new(content, &pages, ""));
    }

    /// Flush what is pending except trailing headings, which are returned (one per line,
    /// newline-terminated) to introduce what follows (a table).
    fn take_trailing_headings(&mut self) -> String {
        let keep = self
            .parts
            .iter()
            .rposition(|p| !p.heading)
            .map_or(0, |i| i + 1);
        let tail = self.parts.split_off(keep);
        self.flush();
        let mut out = String::new();
        for p in tail {
            out.push_str(p.text.trim());
            out.push('\n');
        }
        out
    }

    /// Flush, then append ready-made chunks (tables) in order.
    fn push_chunks(&mut self, chunks: Vec<ChunkDraft>) {
        self.flush();
        self.out.extend(chunks);
    }

    fn finish(mut self) -> Vec<ChunkDraft> {
        self.flush();
        self.out
    }
}

// ---------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------

/// Table chunks: row groups within the limit, the header repeated in each.
fn table_chunks(
    block: &Block,
    rows: &[Vec<String>],
    cfg: &Config,
    prefix: &str,
) -> Vec<ChunkDraft> {
    let pages: Vec<u32> = block.page.into_iter().collect();
    let mut head = prefix.to_string();
    if let Some(sheet) = &block.sheet {
        head.push_str(&format!("Sheet: {sheet}\n"));
    }
    let mut out = Vec::new();
    let Some((header, data)) = rows.split_first() else {
        return out;
    };
    if data.is_empty() {
        emit_table(&head, std::slice::from_ref(header), &pages, cfg, &mut out);
        return out;
    }
    let header_tokens =
        count_tokens(&head) + count_tokens(&render_table(std::slice::from_ref(header)));
    let mut group: Vec<Vec<String>> = vec![header.clone()];
    let mut tokens = header_tokens;
    for row in data {
        let row_tokens = count_tokens(&row.join(" | ")) + row.len() + 2;
        if group.len() > 1 && tokens + row_tokens > cfg.limit {
            emit_table(&head, &group, &pages, cfg, &mut out);
            group.truncate(1);
            tokens = header_tokens;
        }
        group.push(row.clone());
        tokens += row_tokens;
    }
    emit_table(&head, &group, &pages, cfg, &mut out);
    out
}

fn emit_table(
    head: &str,
    group: &[Vec<String>],
    pages: &[u32],
    cfg: &Config,
    out: &mut Vec<ChunkDraft>,
) {
    let content = format!("{head}{}", render_table(group));
    if count_tokens(&content) <= cfg.limit {
        out.push(ChunkDraft::new(content, pages, "table"));
    } else if group.len() > 2 {
        // Over the limit after all: halve the rows, header kept in both halves.
        let mid = 1 + (group.len() - 1) / 2;
        let mut second = vec![group[0].clone()];
        second.extend_from_slice(&group[mid..]);
        emit_table(head, &group[..mid], pages, cfg, out);
        emit_table(head, &second, pages, cfg, out);
    } else {
        // One row (or the header alone) larger than a chunk: split its text.
        for (piece, _) in split_to_fit(&content, cfg.limit, &cfg.delimiters) {
            let piece = piece.trim().to_string();
            if !piece.is_empty() {
                out.push(ChunkDraft::new(piece, pages, "table"));
            }
        }
    }
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

// ---- section-aware (manual / paper / book / laws) ----

const CN_NUM: &str = "一二三四五六七八九十百千零〇两0-9０-９";

/// A regex compiled once; `None` only if the pattern were invalid (they are constants).
fn cached(
    cell: &'static OnceLock<Option<Regex>>,
    pattern: impl FnOnce() -> String,
) -> Option<&'static Regex> {
    cell.get_or_init(|| Regex::new(&pattern()).ok()).as_ref()
}

fn matches(re: Option<&Regex>, text: &str) -> bool {
    re.is_some_and(|r| r.is_match(text))
}

fn article_re() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    cached(&RE, || {
        format!(r"^\s*(?:(?:Article|ARTICLE|Art\.)\s+\d+[A-Za-z]?\b|第[{CN_NUM}]+条|§+\s*\d+)")
    })
}

fn heading_res() -> &'static [(Regex, u8)] {
    static RES: OnceLock<Vec<(Regex, u8)>> = OnceLock::new();
    RES.get_or_init(|| {
        [
            (
                format!(r"^(?:PART|Part)\s+(?:\d+|[IVXLC]+)\b|^第[{CN_NUM}]+[编部篇]"),
                1,
            ),
            (
                format!(r"^(?:CHAPTER|Chapter)\s+(?:\d+|[IVXLC]+)\b|^第[{CN_NUM}]+章"),
                2,
            ),
            (
                format!(r"^(?:SECTION|Section)\s+\d+(?:\.\d+)*\b|^第[{CN_NUM}]+节"),
                3,
            ),
        ]
        .into_iter()
        .filter_map(|(re, level)| Regex::new(&re).ok().map(|r| (r, level)))
        .collect()
    })
}

fn numbered_re() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    cached(&RE, || {
        r"^(\d{1,3}(?:\.\d{1,3}){0,4})\.?\s+(\S)".to_string()
    })
}

/// The level of a line that looks like a heading in a document without heading blocks.
fn heading_like(line: &str) -> Option<u8> {
    let t = line.trim();
    if t.is_empty() || t.chars().count() > 80 {
        return None;
    }
    if t.ends_with([
        '.', '。', ',', '，', ';', '；', ':', '：', '!', '?', '！', '？',
    ]) {
        return None;
    }
    for (re, level) in heading_res() {
        if re.is_match(t) {
            return Some(*level);
        }
    }
    let caps = numbered_re()?.captures(t)?;
    let first = caps.get(2)?.as_str().chars().next()?;
    if !(first.is_uppercase() || !first.is_ascii() && first.is_alphabetic()) {
        return None;
    }
    if t.split_whitespace().count() > 12 {
        return None;
    }
    let depth = caps.get(1)?.as_str().matches('.').count();
    Some((3 + depth).min(6) as u8)
}

fn path_prefix(path: &[(u8, String)]) -> String {
    if path.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = path.iter().map(|(_, t)| t.as_str()).collect();
    format!("{}\n", names.join(" > "))
}

fn enter_heading(path: &mut Vec<(u8, String)>, level: u8, text: &str) {
    path.retain(|(l, _)| *l < level);
    path.push((level, crate::parse::squash_ws(text)));
}

fn sections(doc: &ParsedDocument, cfg: &Config, laws: bool) -> Vec<ChunkDraft> {
    let has_headings = doc
        .blocks
        .iter()
        .any(|b| matches!(b.kind, BlockKind::Heading(_) | BlockKind::Title));
    let mut m = Merger::new(cfg);
    let mut path: Vec<(u8, String)> = Vec::new();
    for b in &doc.blocks {
        match &b.kind {
            BlockKind::Title => {
                enter_heading(&mut path, 0, &b.text);
                m.set_prefix(path_prefix(&path));
            }
            BlockKind::Heading(level) => {
                enter_heading(&mut path, (*level).max(1), &b.text);
                m.set_prefix(path_prefix(&path));
            }
            BlockKind::Table { rows } => {
                let prefix = path_prefix(&path);
                m.push_chunks(table_chunks(b, rows, cfg, &prefix));
            }
            _ => {
                let mut segment = String::new();
                for line in b.text.lines() {
                    if !has_headings {
                        if let Some(level) = heading_like(line) {
                            if laws && matches(article_re(), line) {
                                // An article title line belongs to its article.
                            } else {
                                m.add_text(std::mem::take(&mut segment).trim_end(), b.page);
                                enter_heading(&mut path, level, line);
                                m.set_prefix(path_prefix(&path));
                                continue;
                            }
                        }
                    }
                    if laws && matches(article_re(), line) && !segment.trim().is_empty() {
                        m.add_text(std::mem::take(&mut segment).trim_end(), b.page);
                    }
                    segment.push_str(line);
                    segment.push('\n');
                }
                m.add_text(segment.trim_end(), b.page);
            }
        }
    }
    m.finish()
}

// ---- qa / table / tag ----

const HEADER_WORDS: &[&str] = &[
    "q",
    "question",
    "questions",
    "query",
    "a",
    "answer",
    "answers",
    "content",
    "text",
    "tag",
    "tags",
    "label",
    "labels",
    "keyword",
    "keywords",
    "问题",
    "答案",
    "回答",
    "内容",
    "标签",
];

/// Whether a table's first row is a header naming its columns.
fn header_like(row: &[String]) -> bool {
    row.iter().any(|c| {
        HEADER_WORDS.contains(
            &c.trim()
                .trim_end_matches([':', '：'])
                .to_lowercase()
                .as_str(),
        )
    })
}

fn q_re() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    cached(&RE, || {
        r"^\s*(?i:q|question|问题|问)\s*\d{0,4}\s*[:：]\s*(.*)$".to_string()
    })
}

fn a_re() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    cached(&RE, || {
        r"^\s*(?i:a|answer|答案|回答|答)\s*\d{0,4}\s*[:：]\s*(.*)$".to_string()
    })
}

struct Pair {
    order: usize,
    q: String,
    a: String,
    page: Option<u32>,
}

/// Lines of the text blocks, with the index and page of their block.
fn text_lines(doc: &ParsedDocument) -> Vec<(usize, Option<u32>, &str)> {
    doc.blocks
        .iter()
        .enumerate()
        .filter(|(_, b)| !matches!(b.kind, BlockKind::Table { .. }))
        .flat_map(|(i, b)| b.text.lines().map(move |l| (i, b.page, l)))
        .filter(|(_, _, l)| !l.trim().is_empty())
        .collect()
}

fn marker_pairs(lines: &[(usize, Option<u32>, &str)]) -> Vec<Pair> {
    let mut out = Vec::new();
    let mut cur: Option<Pair> = None;
    let mut in_answer = false;
    for &(i, page, line) in lines {
        if let Some(c) = q_re().and_then(|r| r.captures(line)) {
            if let Some(p) = cur.take() {
                out.push(p);
            }
            cur = Some(Pair {
                order: i,
                q: c.get(1).map_or("", |m| m.as_str()).trim().to_string(),
                a: String::new(),
                page,
            });
            in_answer = false;
        } else if let Some(c) = a_re().and_then(|r| r.captures(line)) {
            if let Some(p) = cur.as_mut() {
                push_line(&mut p.a, c.get(1).map_or("", |m| m.as_str()));
                in_answer = true;
            }
        } else if let Some(p) = cur.as_mut() {
            if in_answer {
                push_line(&mut p.a, line);
            } else {
                push_line(&mut p.q, line);
            }
        }
    }
    out.extend(cur);
    out
}

fn push_line(s: &mut String, line: &str) {
    let line = line.trim();
    if line.is_empty() {
        return;
    }
    if !s.is_empty() {
        s.push('\n');
    }
    s.push_str(line);
}

fn heading_pairs(doc: &ParsedDocument) -> Vec<Pair> {
    let mut out = Vec::new();
    let mut cur: Option<Pair> = None;
    for (i, b) in doc.blocks.iter().enumerate() {
        match b.kind {
            BlockKind::Heading(_) => {
                out.extend(cur.take());
                cur = Some(Pair {
                    order: i,
                    q: b.text.trim().to_string(),
                    a: String::new(),
                    page: b.page,
                });
            }
            BlockKind::Table { .. } | BlockKind::Title => {}
            _ => {
                if let Some(p) = cur.as_mut() {
                    push_line(&mut p.a, &b.text);
                }
            }
        }
    }
    out.extend(cur);
    out
}

fn tab_pairs(lines: &[(usize, Option<u32>, &str)]) -> Vec<Pair> {
    lines
        .iter()
        .filter_map(|&(i, page, l)| {
            let (q, a) = l.split_once('\t')?;
            Some(Pair {
                order: i,
                q: q.trim().to_string(),
                a: a.trim().to_string(),
                page,
            })
        })
        .collect()
}

fn question_mark_pairs(lines: &[(usize, Option<u32>, &str)]) -> Vec<Pair> {
    let mut out = Vec::new();
    let mut cur: Option<Pair> = None;
    for &(i, page, line) in lines {
        let t = line.trim();
        if t.ends_with('?') || t.ends_with('？') {
            out.extend(cur.take());
            cur = Some(Pair {
                order: i,
                q: t.to_string(),
                a: String::new(),
                page,
            });
        } else if let Some(p) = cur.as_mut() {
            push_line(&mut p.a, t);
        }
    }
    out.extend(cur);
    out
}

/// Rows of the document's tables (header rows dropped when they name the columns), or, for
/// a text document, its tab- or comma-separated lines.
fn data_rows(doc: &ParsedDocument, ext: &str) -> Vec<(usize, Option<u32>, Vec<String>)> {
    let mut out = Vec::new();
    for (i, b) in doc.blocks.iter().enumerate() {
        if let BlockKind::Table { rows } = &b.kind {
            let skip = usize::from(rows.first().is_some_and(|r| header_like(r)));
            out.extend(rows.iter().skip(skip).map(|r| (i, b.page, r.clone())));
        }
    }
    if !out.is_empty() {
        return out;
    }
    let lines = text_lines(doc);
    let comma_ok = matches!(ext, "txt" | "csv" | "tsv" | "text");
    let tabbed = lines.iter().filter(|(_, _, l)| l.contains('\t')).count();
    let rows: Vec<(usize, Option<u32>, Vec<String>)> = if tabbed * 2 >= lines.len() && tabbed > 0 {
        lines
            .iter()
            .map(|&(i, p, l)| (i, p, l.split('\t').map(|c| c.trim().to_string()).collect()))
            .collect()
    } else if comma_ok && lines.iter().all(|(_, _, l)| l.contains(',')) {
        lines
            .iter()
            .map(|&(i, p, l)| {
                let cells = crate::parse::csv_line(l).unwrap_or_else(|| vec![l.to_string()]);
                (i, p, cells)
            })
            .collect()
    } else {
        Vec::new()
    };
    let skip = usize::from(rows.first().is_some_and(|r| header_like(&r.2)));
    rows.into_iter().skip(skip).collect()
}

fn qa(doc: &ParsedDocument, ext: &str) -> Result<Vec<ChunkDraft>, ParseError> {
    let mut pairs: Vec<Pair> = Vec::new();
    for (i, b) in doc.blocks.iter().enumerate() {
        if let BlockKind::Table { rows } = &b.kind {
            let skip = usize::from(rows.first().is_some_and(|r| header_like(r)));
            for r in rows.iter().skip(skip) {
                let mut cells = r.iter().map(|c| c.trim()).filter(|c| !c.is_empty());
                if let (Some(q), Some(a)) = (cells.next(), cells.next()) {
                    pairs.push(Pair {
                        order: i,
                        q: q.to_string(),
                        a: a.to_string(),
                        page: b.page,
                    });
                }
            }
        }
    }
    let lines = text_lines(doc);
    let mut text_pairs = marker_pairs(&lines);
    if text_pairs.is_empty() {
        text_pairs = heading_pairs(doc);
    }
    if text_pairs.is_empty() {
        text_pairs = tab_pairs(&lines);
    }
    if text_pairs.is_empty() {
        text_pairs = question_mark_pairs(&lines);
    }
    if pairs.is_empty() && text_pairs.is_empty() && matches!(ext, "txt" | "csv") {
        for (order, page, r) in data_rows(doc, ext) {
            if let (Some(q), Some(a)) = (r.first(), r.get(1)) {
                pairs.push(Pair {
                    order,
                    q: q.clone(),
                    a: a.clone(),
                    page,
                });
            }
        }
    }
    pairs.extend(text_pairs);
    pairs.retain(|p| !p.q.trim().is_empty() && !p.a.trim().is_empty());
    pairs.sort_by_key(|p| p.order);
    if pairs.is_empty() {
        return Err(ParseError::NoContent(
            "No question/answer pairs were found. The qa method reads a two-column table (question, answer), Q:/A: lines, headings followed by their answers, tab-separated question and answer lines, or questions ending in '?' followed by their answers.".to_string(),
        ));
    }
    Ok(pairs
        .into_iter()
        .map(|p| {
            let pages: Vec<u32> = p.page.into_iter().collect();
            let mut d = ChunkDraft::new(format!("Question: {}\tAnswer: {}", p.q, p.a), &pages, "");
            d.questions = vec![p.q];
            d
        })
        .collect())
}

fn table_method(doc: &ParsedDocument, ext: &str) -> Result<Vec<ChunkDraft>, ParseError> {
    let mut out = Vec::new();
    let mut any_table = false;
    for b in &doc.blocks {
        if let BlockKind::Table { rows } = &b.kind {
            any_table = true;
            out.extend(row_chunks(rows, b.page));
        }
    }
    if !any_table {
        let rows: Vec<Vec<String>> = data_rows_with_header(doc, ext);
        if rows.len() >= 2 {
            out.extend(row_chunks(&rows, None));
        }
    }
    if out.is_empty() {
        return Err(ParseError::NoContent(
            "No table was found. The table method reads spreadsheets, CSV files and text files of tab-separated lines (first row: the column names).".to_string(),
        ));
    }
    Ok(out)
}

/// Text lines read as rows, keeping the first row (the column names).
fn data_rows_with_header(doc: &ParsedDocument, ext: &str) -> Vec<Vec<String>> {
    let lines = text_lines(doc);
    let tabbed = lines.iter().filter(|(_, _, l)| l.contains('\t')).count();
    if tabbed > 0 && tabbed * 2 >= lines.len() {
        return lines
            .iter()
            .map(|(_, _, l)| l.split('\t').map(|c| c.trim().to_string()).collect())
            .collect();
    }
    if matches!(ext, "txt" | "csv" | "tsv" | "text")
        && lines.iter().all(|(_, _, l)| l.contains(','))
    {
        return lines
            .iter()
            .map(|(_, _, l)| crate::parse::csv_line(l).unwrap_or_else(|| vec![l.to_string()]))
            .collect();
    }
    Vec::new()
}

fn row_chunks(rows: &[Vec<String>], page: Option<u32>) -> Vec<ChunkDraft> {
    let Some((header, data)) = rows.split_first() else {
        return Vec::new();
    };
    let pages: Vec<u32> = page.into_iter().collect();
    data.iter()
        .filter_map(|row| {
            let fields: Vec<String> = row
                .iter()
                .enumerate()
                .filter(|(_, v)| !v.trim().is_empty())
                .map(|(i, v)| {
                    let name = header
                        .get(i)
                        .map(|h| h.trim())
                        .filter(|h| !h.is_empty())
                        .map_or_else(|| format!("Column {}", i + 1), str::to_string);
                    format!("{name}: {}", v.trim())
                })
                .collect();
            (!fields.is_empty()).then(|| ChunkDraft::new(fields.join("; "), &pages, ""))
        })
        .collect()
}

fn tag_method(doc: &ParsedDocument, ext: &str) -> Result<Vec<ChunkDraft>, ParseError> {
    let out: Vec<ChunkDraft> = data_rows(doc, ext)
        .into_iter()
        .filter_map(|(_, page, row)| {
            let content = row.first()?.trim().to_string();
            if content.is_empty() {
                return None;
            }
            let tags: Vec<String> = row
                .get(1)
                .map(|t| {
                    t.split([',', ';', '，', '；', '、'])
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            let pages: Vec<u32> = page.into_iter().collect();
            let mut d = ChunkDraft::new(content, &pages, "");
            d.important_keywords = tags;
            Some(d)
        })
        .collect();
    if out.is_empty() {
        return Err(ParseError::NoContent(
            "No tag rows were found. The tag method reads a table (or tab-separated lines) whose first column is the content and second column its comma-separated tags.".to_string(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_parse_like_upstream() {
        assert_eq!(parse_delimiters("\\n"), vec!["\n"]);
        assert_eq!(parse_delimiters("\n"), vec!["\n"]);
        assert_eq!(parse_delimiters("`##`\\n;"), vec!["##", "\n", ";"]);
        assert_eq!(parse_delimiters(""), vec!["\n"]);
        assert_eq!(parse_delimiters("\\t"), vec!["\t"]);
    }

    #[test]
    fn splitters_keep_all_text() {
        let t = "One. Two! Three?  Four";
        assert_eq!(split_sentences(t).concat(), t);
        assert_eq!(split_sentences(t).len(), 4);
        let d = vec!["##".to_string(), "\n".to_string()];
        let t = "a##b\nc";
        assert_eq!(split_after_delimiters(t, &d), vec!["a##", "b\n", "c"]);
        assert_eq!(split_words("a  b c").concat(), "a  b c");
        let mut out = Vec::new();
        split_chars(&"x".repeat(5000), 10, &mut out);
        assert!(out.iter().all(|(p, n)| *n <= 10 && count_tokens(p) <= 10));
        assert_eq!(
            out.iter().map(|(p, _)| p.as_str()).collect::<String>(),
            "x".repeat(5000)
        );
    }

    #[test]
    fn heading_heuristics() {
        assert_eq!(heading_like("Chapter 3 Payments"), Some(2));
        assert_eq!(heading_like("第二章 总则"), Some(2));
        assert_eq!(heading_like("1.2 Scope of work"), Some(4));
        assert_eq!(heading_like("1. buy milk"), None);
        assert_eq!(heading_like("This is a sentence."), None);
        assert!(matches(article_re(), "Article 12 The tenant shall pay."));
        assert!(matches(article_re(), "第十二条 租户应当"));
        assert!(matches(article_re(), "§ 3 Geltungsbereich"));
        assert!(!matches(article_re(), "The article 12 says"));
    }

    #[test]
    fn config_reads_numbers_and_strings() {
        let c = config(&serde_json::json!({"chunk_token_num": "128", "delimiter": "\\n!"}));
        assert_eq!(c.limit, 128);
        assert_eq!(c.delimiters, vec!["\n", "!"]);
        let c = config(&serde_json::json!({"chunk_token_num": 0}));
        assert_eq!(c.limit, DEFAULT_CHUNK_TOKENS);
        let c = config(&Value::Null);
        assert_eq!(c.limit, DEFAULT_CHUNK_TOKENS);
    }
}
