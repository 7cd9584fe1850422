//! PDF: the text layer of each page (lopdf), one paragraph block per text paragraph with
//! the page number. Pages without text get a note; OCR is out of scope.
//!
//! lopdf bounds every stream it inflates; on top of that the total decompressed page
//! content of a file is held to `max_uncompressed_bytes`, the page count to `max_pages`,
//! and any panic inside lopdf is caught by [`crate::parse`].

use std::collections::BTreeMap;

use lopdf::content::Content;
use lopdf::{
    DecompressError, Document, Encoding, Error as PdfError, LoadOptions, Object, ObjectId,
};

use super::{paragraphs, wrong_content, DocBuilder};
use crate::error::ParseError;
use crate::limits::ParseLimits;
use crate::model::{Block, BlockKind};

const FORMAT: &str = "PDF";
/// Per-page "no text layer" notes before they are summarised.
const MAX_PAGE_NOTES: usize = 20;

fn map_error(e: PdfError, limit: u64) -> ParseError {
    match e {
        PdfError::InvalidPassword | PdfError::Decryption(_) => ParseError::Encrypted { format: FORMAT },
        PdfError::Decompress(DecompressError::MemoryLimitExceeded { .. }) => {
            ParseError::LimitExceeded(format!(
                "a PDF stream decompresses to more than {limit} bytes; this looks like a decompression bomb"
            ))
        }
        other => ParseError::corrupt(FORMAT, other),
    }
}

fn no_text_note(page: u32) -> String {
    format!("Page {page} has no text layer; OCR is not available in lambdarag.")
}

fn num(o: &Object) -> Option<f32> {
    o.as_float().ok().filter(|f| f.is_finite())
}

/// Text state while walking a content stream: enough of the text matrix to tell a new
/// line (and a paragraph gap) from a move along the same line.
struct Walk<'a> {
    encodings: &'a BTreeMap<Vec<u8>, Encoding<'a>>,
    encoding: Option<&'a Encoding<'a>>,
    font_size: f32,
    leading: f32,
    /// Text matrix [a b c d e f] and the start of the current line.
    tm: [f32; 6],
    line: [f32; 6],
    last_y: Option<f32>,
    out: String,
}

impl Walk<'_> {
    fn scale(&self) -> f32 {
        let [a, b, c, d, ..] = self.tm;
        (a * d - b * c).abs().sqrt().max(0.01)
    }

    fn set_line(&mut self, m: [f32; 6]) {
        self.line = m;
        self.tm = m;
    }

    fn translate(&mut self, tx: f32, ty: f32) {
        let [a, b, c, d, e, f] = self.line;
        self.set_line([a, b, c, d, tx * a + ty * c + e, tx * b + ty * d + f]);
        if ty == 0.0
            && tx != 0.0
            && !self.out.is_empty()
            && !self.out.ends_with(char::is_whitespace)
        {
            // A move along the line: a word or column gap.
            self.out.push(' ');
        }
    }

    fn newline(&mut self) {
        let leading = if self.leading != 0.0 {
            self.leading
        } else {
            self.font_size * 1.2
        };
        self.translate(0.0, -leading);
    }

    /// Before showing text: break the line if the baseline moved.
    fn position(&mut self) {
        let y = self.tm[5];
        if let Some(last) = self.last_y {
            let height = (self.font_size * self.scale()).abs().max(1.0);
            let dy = (last - y).abs();
            if dy > height * 0.5 {
                let trimmed = self.out.trim_end_matches([' ', '\t']).len();
                self.out.truncate(trimmed);
                self.out.push('\n');
                if dy > height * 1.9 {
                    self.out.push('\n');
                }
            }
        }
        self.last_y = Some(y);
    }

    fn show(&mut self, operand: &Object) {
        let Some(enc) = self.encoding else { return };
        match operand {
            Object::String(bytes, _) => {
                let _ = enc.write_to_string(bytes, &mut self.out);
            }
            Object::Array(items) => {
                for item in items {
                    match item {
                        Object::String(bytes, _) => {
                            let _ = enc.write_to_string(bytes, &mut self.out);
                        }
                        other => {
                            // Large negative adjustments are word gaps.
                            if num(other).is_some_and(|n| n < -180.0)
                                && !self.out.ends_with(char::is_whitespace)
                            {
                                self.out.push(' ');
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// The text of one page, with line breaks where the baseline moves and blank lines at
/// larger gaps. Strings in fonts whose encoding cannot be read are skipped.
fn page_text(
    pdf: &Document,
    page_id: ObjectId,
    content: &[u8],
    limit: usize,
) -> Result<String, ParseError> {
    let Ok(content) = Content::decode(content) else {
        return Ok(String::new());
    };
    let fonts = pdf.get_page_fonts(page_id).unwrap_or_default();
    let mut encodings: BTreeMap<Vec<u8>, Encoding<'_>> = BTreeMap::new();
    for (name, font) in fonts {
        match font.get_font_encoding_with_limit(pdf, limit) {
            Ok(enc) => {
                encodings.insert(name, enc);
            }
            Err(PdfError::Decompress(DecompressError::MemoryLimitExceeded { .. })) => {
                return Err(ParseError::LimitExceeded(
                    "a PDF font stream decompresses past the size limit".to_string(),
                ));
            }
            Err(_) => {}
        }
    }
    const IDENTITY: [f32; 6] = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
    let mut w = Walk {
        encodings: &encodings,
        encoding: None,
        font_size: 12.0,
        leading: 0.0,
        tm: IDENTITY,
        line: IDENTITY,
        last_y: None,
        out: String::new(),
    };
    for op in &content.operations {
        let o = &op.operands;
        match op.operator.as_str() {
            "BT" => w.set_line(IDENTITY),
            "Tf" => {
                w.encoding = o
                    .first()
                    .and_then(|n| n.as_name().ok())
                    .and_then(|n| w.encodings.get(n));
                if let Some(size) = o.get(1).and_then(num) {
                    w.font_size = size;
                }
            }
            "TL" => w.leading = o.first().and_then(num).unwrap_or(0.0),
            "Td" | "TD" => {
                let (tx, ty) = (
                    o.first().and_then(num).unwrap_or(0.0),
                    o.get(1).and_then(num).unwrap_or(0.0),
                );
                if op.operator == "TD" {
                    w.leading = -ty;
                }
                w.translate(tx, ty);
            }
            "Tm" => {
                let m: Vec<f32> = o.iter().filter_map(num).collect();
                if let [a, b, c, d, e, f] = m[..] {
                    w.set_line([a, b, c, d, e, f]);
                }
            }
            "T*" => w.newline(),
            "Tj" | "TJ" => {
                w.position();
                if let Some(x) = o.first() {
                    w.show(x);
                }
            }
            "'" => {
                w.newline();
                w.position();
                if let Some(x) = o.first() {
                    w.show(x);
                }
            }
            "\"" => {
                w.newline();
                w.position();
                if let Some(x) = o.get(2) {
                    w.show(x);
                }
            }
            _ => {}
        }
    }
    Ok(w.out)
}

/// Tidy extracted text: trim lines, drop repeated blank lines.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            blank = true;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank { "\n\n" } else { "\n" });
        }
        blank = false;
        out.push_str(line);
    }
    out
}

pub(crate) fn parse(
    ext: &str,
    bytes: &[u8],
    limits: &ParseLimits,
    doc: &mut DocBuilder,
) -> Result<(), ParseError> {
    // The header may follow a little junk (some producers prepend bytes).
    let head = &bytes[..bytes.len().min(1024)];
    if !head.windows(5).any(|w| w == b"%PDF-") {
        return Err(wrong_content(ext, "a PDF document", bytes));
    }
    let budget = limits.max_uncompressed_bytes;
    let stream_limit = usize::try_from(budget).unwrap_or(usize::MAX);
    let options = LoadOptions {
        max_decompressed_size: Some(stream_limit),
        ..Default::default()
    };
    let pdf = Document::load_mem_with_options(bytes, options).map_err(|e| map_error(e, budget))?;
    if pdf.is_encrypted() && !pdf.was_encrypted() {
        return Err(ParseError::Encrypted { format: FORMAT });
    }
    let pages = pdf.get_pages();
    if pages.is_empty() {
        return Err(ParseError::corrupt(FORMAT, "the document has no pages"));
    }
    if pages.len() > limits.max_pages {
        return Err(ParseError::LimitExceeded(format!(
            "the PDF has {} pages (limit {})",
            pages.len(),
            limits.max_pages
        )));
    }
    let mut remaining = budget;
    let mut empty_pages = Vec::new();
    for (&number, &page_id) in &pages {
        let allowed = usize::try_from(remaining).unwrap_or(usize::MAX);
        let content = match pdf.get_page_content_with_limit(page_id, allowed) {
            Ok(c) => c,
            Err(PdfError::Decompress(DecompressError::MemoryLimitExceeded { .. })) => {
                return Err(ParseError::LimitExceeded(format!(
                    "the PDF's page content decompresses to more than {budget} bytes"
                )));
            }
            // A page whose content cannot be read has no text to give.
            Err(_) => Vec::new(),
        };
        remaining = remaining.saturating_sub(content.len() as u64);
        let text = if content.is_empty() {
            String::new()
        } else {
            let limit = usize::try_from(remaining).unwrap_or(usize::MAX);
            tidy(&page_text(&pdf, page_id, &content, limit)?)
        };
        if text.is_empty() {
            empty_pages.push(number);
            continue;
        }
        for p in paragraphs(&text) {
            doc.push(Block::new(BlockKind::Paragraph, p).with_page(Some(number)))?;
        }
    }
    for &page in empty_pages.iter().take(MAX_PAGE_NOTES) {
        doc.note(no_text_note(page));
    }
    if empty_pages.len() > MAX_PAGE_NOTES {
        doc.note(format!(
            "{} more pages have no text layer; OCR is not available in lambdarag.",
            empty_pages.len() - MAX_PAGE_NOTES
        ));
    }
    Ok(())
}
