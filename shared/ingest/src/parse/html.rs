//! HTML: visible text by block, headings kept, tables as table blocks, script/style dropped.
//!
//! html5ever (through `scraper`) builds the tree exactly as a browser would, whatever the
//! markup's state; the walk over it is iterative, so deeply nested markup cannot overflow
//! the stack.

use ego_tree::iter::Edge;
use scraper::{Html, Node};

use super::text::decode_checked;
use super::{squash_ws, DocBuilder};
use crate::error::ParseError;
use crate::model::{Block, BlockKind};

#[derive(Default)]
struct TableCtx {
    rows: Vec<Vec<String>>,
    row: Option<Vec<String>>,
    cell: Option<String>,
}

#[derive(Default)]
struct Walker {
    skip: usize,
    pre: usize,
    in_title: bool,
    title: String,
    buf: String,
    heading: Option<u8>,
    list_item: usize,
    tables: Vec<TableCtx>,
}

fn push_inline(out: &mut String, text: &str) {
    for c in text.chars() {
        if c.is_whitespace() {
            if !out.is_empty() && !out.ends_with([' ', '\n']) {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "section"
            | "article"
            | "header"
            | "footer"
            | "main"
            | "nav"
            | "aside"
            | "blockquote"
            | "dl"
            | "dt"
            | "dd"
            | "ul"
            | "ol"
            | "figure"
            | "figcaption"
            | "form"
            | "fieldset"
            | "address"
            | "hr"
            | "caption"
            | "details"
            | "summary"
            | "body"
    )
}

fn is_skipped(name: &str) -> bool {
    matches!(
        name,
        "script"
            | "style"
            | "noscript"
            | "template"
            | "svg"
            | "math"
            | "canvas"
            | "iframe"
            | "object"
    )
}

fn heading_level(name: &str) -> Option<u8> {
    match name {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}

impl Walker {
    fn cell(&mut self) -> Option<&mut String> {
        self.tables.last_mut().and_then(|t| t.cell.as_mut())
    }

    fn in_table(&self) -> bool {
        !self.tables.is_empty()
    }

    fn text(&mut self, t: &str) {
        if self.skip > 0 {
            return;
        }
        if self.in_title {
            self.title.push_str(t);
            return;
        }
        if self.in_table() {
            if let Some(cell) = self.cell() {
                push_inline(cell, t);
            }
            return;
        }
        if self.pre > 0 {
            self.buf.push_str(t);
        } else {
            push_inline(&mut self.buf, t);
        }
    }

    fn flush(&mut self, doc: &mut DocBuilder) -> Result<(), ParseError> {
        if self.buf.trim().is_empty() {
            self.buf.clear();
            return Ok(());
        }
        let raw = std::mem::take(&mut self.buf);
        if self.pre > 0 {
            return doc.add(BlockKind::Code, raw.trim_matches('\n'));
        }
        let text: Vec<String> = raw
            .lines()
            .map(squash_ws)
            .filter(|l| !l.is_empty())
            .collect();
        let kind = match self.heading {
            Some(level) => BlockKind::Heading(level),
            None if self.list_item > 0 => BlockKind::ListItem,
            None => BlockKind::Paragraph,
        };
        doc.add(kind, &text.join("\n"))
    }

    fn open(&mut self, name: &str, doc: &mut DocBuilder) -> Result<(), ParseError> {
        if is_skipped(name) {
            self.skip += 1;
            return Ok(());
        }
        if self.skip > 0 {
            return Ok(());
        }
        if name == "title" && !self.in_table() {
            self.in_title = true;
            return Ok(());
        }
        if name == "table" {
            if !self.in_table() {
                self.flush(doc)?;
            }
            self.tables.push(TableCtx::default());
            return Ok(());
        }
        if let Some(t) = self.tables.last_mut() {
            match name {
                "tr" => t.row = Some(Vec::new()),
                "td" | "th" => t.cell = Some(String::new()),
                "br" => {
                    if let Some(c) = t.cell.as_mut() {
                        c.push(' ');
                    }
                }
                _ if is_block(name) || heading_level(name).is_some() || name == "li" => {
                    if let Some(c) = t.cell.as_mut() {
                        if !c.is_empty() && !c.ends_with(' ') {
                            c.push(' ');
                        }
                    }
                }
                _ => {}
            }
            return Ok(());
        }
        if name == "br" {
            self.buf.push('\n');
        } else if let Some(level) = heading_level(name) {
            self.flush(doc)?;
            self.heading = Some(level);
        } else if name == "li" {
            self.flush(doc)?;
            self.list_item += 1;
        } else if name == "pre" {
            self.flush(doc)?;
            self.pre += 1;
        } else if is_block(name) {
            self.flush(doc)?;
        }
        Ok(())
    }

    fn close(&mut self, name: &str, doc: &mut DocBuilder) -> Result<(), ParseError> {
        if is_skipped(name) {
            self.skip = self.skip.saturating_sub(1);
            return Ok(());
        }
        if self.skip > 0 {
            return Ok(());
        }
        if name == "title" && self.in_title {
            self.in_title = false;
            let title = squash_ws(&std::mem::take(&mut self.title));
            return doc.add(BlockKind::Title, &title);
        }
        if name == "table" {
            let Some(t) = self.tables.pop() else {
                return Ok(());
            };
            let mut rows = t.rows;
            if let Some(row) = t.row.filter(|r| r.iter().any(|c| !c.is_empty())) {
                rows.push(row);
            }
            if rows.is_empty() {
                return Ok(());
            }
            if let Some(outer) = self.cell() {
                // A nested table: its text joins the enclosing cell.
                let flat: Vec<String> = rows.iter().map(|r| r.join(" ")).collect();
                if !outer.is_empty() && !outer.ends_with(' ') {
                    outer.push(' ');
                }
                push_inline(outer, &flat.join(" "));
                return Ok(());
            }
            if self.in_table() {
                return Ok(());
            }
            return doc.push(Block::table(rows));
        }
        if let Some(t) = self.tables.last_mut() {
            match name {
                "td" | "th" => {
                    if let Some(cell) = t.cell.take() {
                        t.row.get_or_insert_with(Vec::new).push(squash_ws(&cell));
                    }
                }
                "tr" => {
                    if let Some(row) = t.row.take() {
                        if row.iter().any(|c| !c.is_empty()) {
                            t.rows.push(row);
                        }
                    }
                }
                _ => {}
            }
            return Ok(());
        }
        if heading_level(name).is_some() {
            self.flush(doc)?;
            self.heading = None;
        } else if name == "li" {
            self.flush(doc)?;
            self.list_item = self.list_item.saturating_sub(1);
        } else if name == "pre" {
            self.flush(doc)?;
            self.pre = self.pre.saturating_sub(1);
        } else if is_block(name) {
            self.flush(doc)?;
        }
        Ok(())
    }
}

pub(crate) fn parse(ext: &str, bytes: &[u8], doc: &mut DocBuilder) -> Result<(), ParseError> {
    let source = decode_checked(ext, bytes, doc)?;
    parse_str(&source, doc)
}

/// Nesting deeper than this is read as plain text: building a tree for pathologically
/// nested markup costs time quadratic in the depth (100,000 nested `<div>`s take a minute).
const MAX_DEPTH: usize = 512;

fn is_void(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
    )
}

/// Elements whose end tag may be left out (they do not nest in practice).
fn optional_end(name: &str) -> bool {
    matches!(
        name,
        "p" | "li"
            | "dt"
            | "dd"
            | "tr"
            | "td"
            | "th"
            | "option"
            | "optgroup"
            | "thead"
            | "tbody"
            | "tfoot"
            | "rb"
            | "rt"
            | "rp"
            | "colgroup"
            | "caption"
            | "html"
            | "head"
            | "body"
    )
}

/// A tag found by the cheap scanner.
enum Tag {
    Open {
        name: String,
        self_closing: bool,
        end: usize,
    },
    Close {
        name: String,
        end: usize,
    },
    /// A comment, doctype or processing instruction, skipped.
    Other {
        end: usize,
    },
}

/// The tag starting at `i` (which holds `<`), if any.
fn tag_at(s: &str, i: usize) -> Option<Tag> {
    let rest = &s[i..];
    if rest.starts_with("<!--") {
        let end = rest.find("-->").map_or(s.len(), |e| i + e + 3);
        return Some(Tag::Other { end });
    }
    if rest.starts_with("<!") || rest.starts_with("<?") {
        let end = rest.find('>').map_or(s.len(), |e| i + e + 1);
        return Some(Tag::Other { end });
    }
    let (closing, body) = match rest.strip_prefix("</") {
        Some(b) => (true, b),
        None => (false, &rest[1..]),
    };
    let name_len = body
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b':')
        .count();
    if name_len == 0 || !body.as_bytes()[0].is_ascii_alphabetic() {
        return None;
    }
    let name = body[..name_len].to_ascii_lowercase();
    let close = rest.find('>')?;
    let end = i + close + 1;
    if closing {
        Some(Tag::Close { name, end })
    } else {
        let self_closing = rest[..close].ends_with('/');
        Some(Tag::Open {
            name,
            self_closing,
            end,
        })
    }
}

/// Where the raw-text element `name` (script/style) that ends its start tag at `from` ends.
fn raw_text_end(s: &str, from: usize, name: &str) -> usize {
    let bytes = s.as_bytes();
    let mut i = from;
    while let Some(off) = s[i..].find("</") {
        let at = i + off;
        let cand = &bytes[at + 2..];
        if cand.len() >= name.len() && cand[..name.len()].eq_ignore_ascii_case(name.as_bytes()) {
            return at;
        }
        i = at + 2;
    }
    s.len()
}

/// An upper bound on the element nesting depth, from a linear scan of the tags.
fn nesting_depth(s: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut i = 0;
    while let Some(off) = s[i..].find('<') {
        let at = i + off;
        match tag_at(s, at) {
            Some(Tag::Open {
                name,
                self_closing,
                end,
                ..
            }) => {
                i = end;
                if name == "script" || name == "style" {
                    i = raw_text_end(s, end, &name);
                } else if !self_closing && !is_void(&name) && !optional_end(&name) {
                    depth += 1;
                    max = max.max(depth);
                }
            }
            Some(Tag::Close { name, end }) => {
                i = end;
                if !is_void(&name) && !optional_end(&name) {
                    depth = depth.saturating_sub(1);
                }
            }
            Some(Tag::Other { end }) => i = end,
            None => i = at + 1,
        }
    }
    max
}

fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let semi = tail.find(';').filter(|&p| p <= 10);
        let decoded = semi.and_then(|p| {
            let name = &tail[1..p];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => name.strip_prefix('#').and_then(|n| {
                    let code = match n.strip_prefix(['x', 'X']) {
                        Some(h) => u32::from_str_radix(h, 16).ok(),
                        None => n.parse::<u32>().ok(),
                    };
                    code.and_then(char::from_u32)
                }),
            };
            c.map(|c| (c, p))
        });
        match decoded {
            Some((c, p)) => {
                out.push(c);
                rest = &tail[p + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Plain text of markup without building a tree: tags dropped (block tags become line
/// breaks), script/style skipped, entities decoded.
fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len() / 2);
    let mut i = 0;
    while let Some(off) = s[i..].find('<') {
        let at = i + off;
        out.push_str(&decode_entities(&s[i..at]));
        match tag_at(s, at) {
            Some(Tag::Open { name, end, .. }) => {
                i = end;
                if is_skipped(&name) || name == "script" || name == "style" {
                    i = raw_text_end(s, end, &name);
                }
                if is_block(&name)
                    || heading_level(&name).is_some()
                    || matches!(name.as_str(), "br" | "li" | "tr" | "table" | "pre")
                {
                    out.push('\n');
                } else {
                    out.push(' ');
                }
            }
            Some(Tag::Close { name, end }) => {
                i = end;
                if is_block(&name)
                    || heading_level(&name).is_some()
                    || matches!(name.as_str(), "li" | "tr" | "table" | "pre")
                {
                    out.push('\n');
                } else {
                    out.push(' ');
                }
            }
            Some(Tag::Other { end }) => i = end,
            None => {
                out.push('<');
                i = at + 1;
            }
        }
    }
    out.push_str(&decode_entities(&s[i..]));
    out
}

/// Extract blocks from an HTML string (also used for HTML e-mail bodies).
pub(crate) fn parse_str(source: &str, doc: &mut DocBuilder) -> Result<(), ParseError> {
    if nesting_depth(source) > MAX_DEPTH {
        doc.note(format!(
            "The HTML is nested more than {MAX_DEPTH} elements deep; its text was extracted without structure."
        ));
        let text = strip_tags(source);
        for line in text.lines() {
            let line = squash_ws(line);
            if !line.is_empty() {
                doc.add(BlockKind::Paragraph, &line)?;
            }
        }
        return Ok(());
    }
    let html = Html::parse_document(source);
    let mut w = Walker::default();
    for edge in html.tree.root().traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                Node::Element(e) => w.open(e.name(), doc)?,
                Node::Text(t) => w.text(t),
                _ => {}
            },
            Edge::Close(node) => {
                if let Node::Element(e) = node.value() {
                    w.close(e.name(), doc)?;
                }
            }
        }
    }
    w.flush(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_scan() {
        assert_eq!(nesting_depth("<div><p>a<p>b<div><br><img/></div></div>"), 2);
        assert_eq!(
            nesting_depth("<script>if (a<b) { x = '<div><div>'; }</script><i>x</i>"),
            1
        );
        assert_eq!(nesting_depth("<!-- <div><div> --> a < b"), 0);
        assert_eq!(nesting_depth(&"<span>".repeat(600)), 600);
    }

    #[test]
    fn plain_fallback() {
        let t = strip_tags("<h1>T&amp;C</h1><script>x<y</script><p>a&#x41;&nbsp;b</p>");
        let lines: Vec<String> = t.lines().map(squash_ws).filter(|l| !l.is_empty()).collect();
        assert_eq!(lines, ["T&C", "aA b"]);
    }
}
