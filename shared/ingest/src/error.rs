//! The one error type of parsing and chunking. Every message is a single line meant for a
//! user reading a document's `progress_msg`.

/// Why a file could not be parsed or chunked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The extension is not one lambdarag can read.
    #[error("Unsupported file type: {0}. lambdarag reads text, Markdown, HTML, JSON, JSONL, CSV, Excel, Word (.docx), PowerPoint (.pptx), PDF, e-mail (.eml) and image files.")]
    Unsupported(String),
    /// Zero bytes.
    #[error("The file is empty.")]
    Empty,
    /// Over [`crate::ParseLimits::max_file_bytes`].
    #[error("The file is {size} bytes, over the {limit}-byte limit for parsing.")]
    TooLarge { size: u64, limit: u64 },
    /// The content is not what the extension says.
    #[error("The file is named .{ext} but its content is not {expected}{hint}.")]
    WrongContent {
        ext: String,
        expected: &'static str,
        hint: String,
    },
    /// The container or document is damaged or cut short.
    #[error("The {format} file is damaged or truncated: {detail}")]
    Corrupt {
        format: &'static str,
        detail: String,
    },
    /// Password-protected.
    #[error("The {format} file is encrypted or password-protected; lambdarag cannot read it.")]
    Encrypted { format: &'static str },
    /// A guard rail tripped (decompressed size, entry count, ratio, pages, text length).
    #[error("The file exceeds a safety limit: {0}")]
    LimitExceeded(String),
    /// One line of a JSON Lines file is not JSON.
    #[error("Invalid JSON on line {line}: {detail}")]
    InvalidJsonLine { line: usize, detail: String },
    /// A JSON file is not JSON.
    #[error("Invalid JSON: {0}")]
    InvalidJson(String),
    /// The document has nothing the chosen chunk method can use.
    #[error("{0}")]
    NoContent(String),
    /// A parser library failed in a way it should not have (a caught panic).
    #[error("The {format} parser failed on this file; it is probably damaged or uses features lambdarag does not support.")]
    Internal { format: &'static str },
}

impl ParseError {
    pub(crate) fn corrupt(format: &'static str, detail: impl std::fmt::Display) -> Self {
        ParseError::Corrupt {
            format,
            detail: one_line(&detail.to_string()),
        }
    }
}

/// Collapse whitespace (so a message is one line) and cap its length.
pub(crate) fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(300));
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        if out.len() > 300 {
            let mut cut = 300;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push('…');
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line() {
        let e = ParseError::corrupt("PDF", "bad\nthing\r\n  here");
        assert_eq!(
            e.to_string(),
            "The PDF file is damaged or truncated: bad thing here"
        );
        let long = "x ".repeat(1000);
        assert!(one_line(&long).len() < 320);
    }
}
