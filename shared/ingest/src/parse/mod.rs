//! `parse`: file bytes → [`ParsedDocument`], dispatching on the extension.

mod delimited;
mod docx;
mod email;
mod html;
mod json;
mod pdf;
mod pptx;
mod sheet;
mod text;
mod xml;
mod zipsafe;

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::ParseError;
use crate::limits::ParseLimits;
use crate::model::{Block, BlockKind, ParsedDocument};

pub(crate) use delimited::csv_line;

/// The note attached to images (and image-only inputs).
pub const IMAGE_NOTE: &str =
    "Image stored; OCR is not available in lambdarag, so no text was extracted.";

/// The kind of reader an extension maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Code,
    Markdown,
    Html,
    Json,
    Jsonl,
    Csv,
    Spreadsheet,
    Docx,
    Pptx,
    Pdf,
    Email,
    Image,
}

impl Kind {
    fn of(ext: &str) -> Option<Kind> {
        Some(match ext {
            "txt" | "text" | "log" | "rst" => Kind::Text,
            "py" | "js" | "mjs" | "cjs" | "ts" | "tsx" | "jsx" | "java" | "c" | "cc" | "cpp"
            | "cxx" | "h" | "hpp" | "php" | "go" | "sh" | "bash" | "cs" | "kt" | "kts" | "sql"
            | "ini" | "cfg" | "conf" | "toml" | "yml" | "yaml" | "xml" | "rs" | "rb" | "swift"
            | "scala" | "lua" | "r" | "pl" | "css" | "scss" | "vue" | "properties" | "tex"
            | "bat" | "ps1" | "dart" => Kind::Code,
            "md" | "mdx" | "markdown" => Kind::Markdown,
            "html" | "htm" | "xhtml" => Kind::Html,
            "json" => Kind::Json,
            "jsonl" | "ldjson" | "ndjson" => Kind::Jsonl,
            "csv" | "tsv" => Kind::Csv,
            "xlsx" | "xlsm" | "xls" => Kind::Spreadsheet,
            "docx" => Kind::Docx,
            "pptx" => Kind::Pptx,
            "pdf" => Kind::Pdf,
            "eml" => Kind::Email,
            "jpg" | "jpeg" | "png" | "gif" | "webp" | "bmp" | "tif" | "tiff" => Kind::Image,
            _ => return None,
        })
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Text | Kind::Code => "text",
            Kind::Markdown => "Markdown",
            Kind::Html => "HTML",
            Kind::Json | Kind::Jsonl => "JSON",
            Kind::Csv => "CSV",
            Kind::Spreadsheet => "Excel",
            Kind::Docx => "DOCX",
            Kind::Pptx => "PPTX",
            Kind::Pdf => "PDF",
            Kind::Email => "e-mail",
            Kind::Image => "image",
        }
    }
}

/// The lower-cased extension of a file name ("" when there is none).
pub(crate) fn extension(file_name: &str) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    match base.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() || !ext.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    }
}

/// Whether [`parse`] can read files with this extension (with or without the dot, any case).
pub fn parser_supports(ext: &str) -> bool {
    Kind::of(&ext.trim_start_matches('.').to_ascii_lowercase()).is_some()
}

/// Parse a file into blocks, choosing the reader by the file name's extension.
///
/// Never panics: a damaged, hostile or mislabelled file is an `Err` with a one-line message.
pub fn parse(
    file_name: &str,
    bytes: &[u8],
    limits: &ParseLimits,
) -> Result<ParsedDocument, ParseError> {
    let ext = extension(file_name);
    let Some(kind) = Kind::of(&ext) else {
        return Err(ParseError::Unsupported(if ext.is_empty() {
            "a file without an extension".to_string()
        } else {
            format!(".{ext}")
        }));
    };
    let size = bytes.len() as u64;
    if size > limits.max_file_bytes {
        return Err(ParseError::TooLarge {
            size,
            limit: limits.max_file_bytes,
        });
    }
    if bytes.is_empty() {
        return Err(ParseError::Empty);
    }
    // The parsers below are written not to panic, and the libraries they use are checked
    // for it; this is the last line of defence for a library bug on a hostile file.
    match catch_unwind(AssertUnwindSafe(|| dispatch(kind, &ext, bytes, limits))) {
        Ok(result) => result,
        Err(_) => Err(ParseError::Internal {
            format: kind.label(),
        }),
    }
}

fn dispatch(
    kind: Kind,
    ext: &str,
    bytes: &[u8],
    limits: &ParseLimits,
) -> Result<ParsedDocument, ParseError> {
    let mut doc = DocBuilder::new(limits);
    match kind {
        Kind::Text => text::parse_plain(ext, bytes, false, &mut doc)?,
        Kind::Code => text::parse_plain(ext, bytes, true, &mut doc)?,
        Kind::Markdown => text::parse_markdown(ext, bytes, &mut doc)?,
        Kind::Html => html::parse(ext, bytes, &mut doc)?,
        Kind::Json => json::parse_json(ext, bytes, &mut doc)?,
        Kind::Jsonl => json::parse_jsonl(ext, bytes, &mut doc)?,
        Kind::Csv => delimited::parse(ext, bytes, &mut doc)?,
        Kind::Spreadsheet => sheet::parse(ext, bytes, limits, &mut doc)?,
        Kind::Docx => docx::parse(ext, bytes, limits, &mut doc)?,
        Kind::Pptx => pptx::parse(ext, bytes, limits, &mut doc)?,
        Kind::Pdf => pdf::parse(ext, bytes, limits, &mut doc)?,
        Kind::Email => email::parse(ext, bytes, &mut doc)?,
        Kind::Image => parse_image(ext, bytes, &mut doc)?,
    }
    Ok(doc.finish())
}

/// Images: checked to be what they claim, stored without text.
fn parse_image(ext: &str, bytes: &[u8], doc: &mut DocBuilder) -> Result<(), ParseError> {
    let (ok, expected) = match ext {
        "jpg" | "jpeg" => (bytes.starts_with(&[0xFF, 0xD8, 0xFF]), "a JPEG image"),
        "png" => (bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG image"),
        "gif" => (
            bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a"),
            "a GIF image",
        ),
        "webp" => (
            bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP",
            "a WebP image",
        ),
        "bmp" => (bytes.starts_with(b"BM"), "a BMP image"),
        _ => (
            bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*"),
            "a TIFF image",
        ),
    };
    if !ok {
        return Err(wrong_content(ext, expected, bytes));
    }
    doc.note(IMAGE_NOTE);
    Ok(())
}

/// A `WrongContent` error with a hint at what the bytes look like.
pub(crate) fn wrong_content(ext: &str, expected: &'static str, bytes: &[u8]) -> ParseError {
    ParseError::WrongContent {
        ext: ext.to_string(),
        expected,
        hint: sniff_hint(bytes),
    }
}

fn sniff_hint(bytes: &[u8]) -> String {
    let what = if bytes.starts_with(b"%PDF") {
        "a PDF"
    } else if bytes.starts_with(b"PK\x03\x04") {
        "a ZIP archive"
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        "an OLE2 container: a legacy Office file or a password-protected document"
    } else if bytes.starts_with(b"\x89PNG") {
        "a PNG image"
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "a JPEG image"
    } else if text::looks_like_text(bytes) {
        "plain text"
    } else {
        return String::new();
    };
    format!(" (it looks like {what})")
}

/// Collects blocks and notes, enforcing the text-size limit.
pub(crate) struct DocBuilder {
    doc: ParsedDocument,
    chars: usize,
    max_chars: usize,
}

impl DocBuilder {
    pub(crate) fn new(limits: &ParseLimits) -> Self {
        DocBuilder {
            doc: ParsedDocument::default(),
            chars: 0,
            max_chars: limits.max_text_chars,
        }
    }

    /// Add a block; blocks with only whitespace are dropped.
    pub(crate) fn push(&mut self, block: Block) -> Result<(), ParseError> {
        if block.text.trim().is_empty() {
            return Ok(());
        }
        self.chars = self.chars.saturating_add(block.text.chars().count());
        if self.chars > self.max_chars {
            return Err(ParseError::LimitExceeded(format!(
                "more than {} characters of text were extracted",
                self.max_chars
            )));
        }
        self.doc.blocks.push(block);
        Ok(())
    }

    /// Add a block of `kind` with `text` (trimmed).
    pub(crate) fn add(&mut self, kind: BlockKind, text: &str) -> Result<(), ParseError> {
        self.push(Block::new(kind, text.trim()))
    }

    pub(crate) fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        if !self.doc.notes.contains(&note) {
            self.doc.notes.push(note);
        }
    }

    pub(crate) fn finish(self) -> ParsedDocument {
        self.doc
    }
}

/// Split text into paragraphs at blank lines, trimming each.
pub(crate) fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            if !cur.is_empty() {
                cur.push('\n');
            }
            cur.push_str(line);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Collapse runs of whitespace into one space and trim.
pub(crate) fn squash_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions() {
        assert_eq!(extension("a/b/Report.PDF"), "pdf");
        assert_eq!(extension("noext"), "");
        assert_eq!(extension("archive.tar.gz"), "gz");
        assert_eq!(extension(".bashrc"), "bashrc");
        assert!(parser_supports("DOCX"));
        assert!(parser_supports(".md"));
        assert!(!parser_supports("exe"));
        assert!(!parser_supports(""));
    }

    #[test]
    fn paragraphs_split_on_blank_lines() {
        assert_eq!(
            paragraphs("a\nb\n\n  \nc  \n"),
            vec!["a\nb".to_string(), "c".to_string()]
        );
    }
}
