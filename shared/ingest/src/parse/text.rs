//! Plain text, source code and Markdown.

use super::{paragraphs, DocBuilder};
use crate::error::ParseError;
use crate::model::{Block, BlockKind};

/// Text decoded from bytes, with a note when the decoding was not clean.
pub(crate) struct Decoded {
    pub text: String,
    pub note: Option<String>,
}

fn decode_utf16(bytes: &[u8], little_endian: bool) -> (String, bool) {
    let units = bytes.chunks_exact(2).map(|p| {
        if little_endian {
            u16::from_le_bytes([p[0], p[1]])
        } else {
            u16::from_be_bytes([p[0], p[1]])
        }
    });
    let mut lossy = bytes.len() % 2 == 1;
    let text = char::decode_utf16(units)
        .map(|r| {
            r.unwrap_or_else(|_| {
                lossy = true;
                char::REPLACEMENT_CHARACTER
            })
        })
        .collect();
    (text, lossy)
}

/// UTF-16 without a BOM: a zero byte on the same side of (nearly) every pair in the first KiB.
fn sniff_utf16(bytes: &[u8]) -> Option<bool> {
    let head = &bytes[..bytes.len().min(1024)];
    let pairs = head.len() / 2;
    if pairs < 2 {
        return None;
    }
    let (mut even_zero, mut odd_zero) = (0usize, 0usize);
    for p in head.chunks_exact(2) {
        if p[0] == 0 && p[1] != 0 {
            even_zero += 1;
        }
        if p[1] == 0 && p[0] != 0 {
            odd_zero += 1;
        }
    }
    // Mostly-Latin UTF-16: nearly every code unit has a zero high byte.
    if pairs >= 4 && odd_zero * 10 >= pairs * 9 && even_zero == 0 {
        Some(true)
    } else if pairs >= 4 && even_zero * 10 >= pairs * 9 && odd_zero == 0 {
        Some(false)
    } else {
        None
    }
}

/// Decode text: UTF-8 (BOM stripped), UTF-16 with a BOM or recognisably without one, else
/// UTF-8 with invalid sequences replaced (and a note saying so).
pub(crate) fn decode(bytes: &[u8]) -> Decoded {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return decode_utf8(rest);
    }
    let utf16 = if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        Some((rest, true))
    } else if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        Some((rest, false))
    } else {
        sniff_utf16(bytes).map(|le| (bytes, le))
    };
    if let Some((rest, le)) = utf16 {
        let (text, lossy) = decode_utf16(rest, le);
        let note = lossy.then(|| {
            "The file is not valid UTF-16; unreadable characters were replaced.".to_string()
        });
        return Decoded { text, note };
    }
    decode_utf8(bytes)
}

fn decode_utf8(bytes: &[u8]) -> Decoded {
    match std::str::from_utf8(bytes) {
        Ok(s) => Decoded {
            text: s.to_string(),
            note: None,
        },
        Err(_) => {
            let text = String::from_utf8_lossy(bytes).into_owned();
            let bad = text
                .chars()
                .filter(|&c| c == char::REPLACEMENT_CHARACTER)
                .count();
            Decoded {
                text,
                note: Some(format!(
                    "The file is not valid UTF-8; {bad} unreadable byte sequence(s) were replaced."
                )),
            }
        }
    }
}

/// Whether decoded text is plausibly text rather than binary data: few control characters
/// and few replacement characters in its first 64 Ki characters.
pub(crate) fn is_textual(text: &str) -> bool {
    let mut total = 0usize;
    let mut bad = 0usize;
    for c in text.chars().take(64 * 1024) {
        total += 1;
        let control = c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\x0c' | '\x1b');
        if control || c == char::REPLACEMENT_CHARACTER {
            bad += 1;
        }
    }
    total == 0 || bad * 20 <= total
}

/// Whether raw bytes look like text (used for error hints).
pub(crate) fn looks_like_text(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    let text = match std::str::from_utf8(head) {
        Ok(s) => s,
        // A cut multi-byte character at the end of the sample is fine.
        Err(e) if e.valid_up_to() + 4 >= head.len() && e.valid_up_to() > 0 => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or("")
        }
        Err(_) => return false,
    };
    !text.trim().is_empty() && is_textual(text)
}

/// Decode and reject binary data.
pub(crate) fn decode_checked(
    ext: &str,
    bytes: &[u8],
    doc: &mut DocBuilder,
) -> Result<String, ParseError> {
    let decoded = decode(bytes);
    if !is_textual(&decoded.text) {
        return Err(ParseError::WrongContent {
            ext: ext.to_string(),
            expected: "text",
            hint: " (it looks like binary data)".to_string(),
        });
    }
    if let Some(note) = decoded.note {
        doc.note(note);
    }
    Ok(decoded.text)
}

/// Plain text and code: paragraphs (code: blocks of code) split at blank lines.
pub(crate) fn parse_plain(
    ext: &str,
    bytes: &[u8],
    code: bool,
    doc: &mut DocBuilder,
) -> Result<(), ParseError> {
    let text = decode_checked(ext, bytes, doc)?;
    let kind = if code {
        BlockKind::Code
    } else {
        BlockKind::Paragraph
    };
    for p in paragraphs(&text) {
        doc.push(Block::new(kind.clone(), p))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------------------

fn atx_heading(line: &str) -> Option<(u8, &str)> {
    let t = line.trim_start();
    if line.len() - t.len() > 3 {
        return None;
    }
    let level = t.bytes().take_while(|&b| b == b'#').count();
    if level == 0 || level > 6 {
        return None;
    }
    let rest = &t[level..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    let mut text = rest.trim();
    // Optional closing sequence of #s.
    let stripped = text.trim_end_matches('#');
    if stripped.is_empty() || stripped.ends_with([' ', '\t']) {
        text = stripped.trim_end();
    }
    Some((level as u8, text))
}

fn fence(line: &str) -> Option<&str> {
    let t = line.trim_start();
    if line.len() - t.len() > 3 {
        return None;
    }
    if t.starts_with("```") {
        Some("```")
    } else if t.starts_with("~~~") {
        Some("~~~")
    } else {
        None
    }
}

fn is_table_separator(line: &str) -> bool {
    let t = line.trim();
    if !t.contains('-') || !t.contains('|') {
        return false;
    }
    let cells: Vec<&str> = t.trim_matches('|').split('|').collect();
    !cells.is_empty()
        && cells.iter().all(|c| {
            let c = c.trim();
            !c.is_empty() && c.trim_matches(':').chars().all(|ch| ch == '-') && c.contains('-')
        })
}

fn table_cells(line: &str) -> Vec<String> {
    let t = line.trim();
    let t = t.strip_prefix('|').unwrap_or(t);
    let t = t.strip_suffix('|').unwrap_or(t);
    // Split on unescaped pipes.
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&'|') {
            cur.push('|');
            chars.next();
        } else if c == '|' {
            cells.push(cur.trim().to_string());
            cur.clear();
        } else {
            cur.push(c);
        }
    }
    cells.push(cur.trim().to_string());
    cells
}

fn list_marker(line: &str) -> Option<&str> {
    let t = line.trim_start();
    for m in ["- ", "* ", "+ "] {
        if let Some(rest) = t.strip_prefix(m) {
            return Some(rest);
        }
    }
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=9).contains(&digits) {
        let rest = &t[digits..];
        if let Some(r) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some(r);
        }
    }
    None
}

fn is_rule(line: &str) -> bool {
    let t: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    t.len() >= 3
        && (t.chars().all(|c| c == '-')
            || t.chars().all(|c| c == '*')
            || t.chars().all(|c| c == '_'))
}

/// Markdown: ATX and setext headings, fenced code, pipe tables, list items, paragraphs.
/// Inline markup is kept as written.
pub(crate) fn parse_markdown(
    ext: &str,
    bytes: &[u8],
    doc: &mut DocBuilder,
) -> Result<(), ParseError> {
    let text = decode_checked(ext, bytes, doc)?;
    let lines: Vec<&str> = text.lines().collect();
    let mut para: Vec<&str> = Vec::new();
    let mut para_kind = BlockKind::Paragraph;
    let flush = |para: &mut Vec<&str>, kind: &BlockKind, doc: &mut DocBuilder| {
        if para.is_empty() {
            return Ok(());
        }
        let text = para.join("\n");
        para.clear();
        doc.add(kind.clone(), &text)
    };
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        // Fenced code.
        if let Some(marker) = fence(line) {
            flush(&mut para, &para_kind, doc)?;
            let mut code = Vec::new();
            i += 1;
            while i < lines.len() && !lines[i].trim_start().starts_with(marker) {
                code.push(lines[i]);
                i += 1;
            }
            i += 1; // the closing fence (or the end)
            doc.add(BlockKind::Code, &code.join("\n"))?;
            continue;
        }
        if line.trim().is_empty() {
            flush(&mut para, &para_kind, doc)?;
            i += 1;
            continue;
        }
        if let Some((level, title)) = atx_heading(line) {
            flush(&mut para, &para_kind, doc)?;
            doc.add(BlockKind::Heading(level), title)?;
            i += 1;
            continue;
        }
        // Setext heading: one paragraph line underlined with = or -.
        if para.len() == 1 && para_kind == BlockKind::Paragraph {
            let t = line.trim();
            if !t.is_empty() && (t.chars().all(|c| c == '=') || t.chars().all(|c| c == '-')) {
                let level = if t.starts_with('=') { 1 } else { 2 };
                let title = para[0].trim().to_string();
                para.clear();
                doc.add(BlockKind::Heading(level), &title)?;
                i += 1;
                continue;
            }
        }
        // Pipe table: a row line followed by a separator line.
        if line.contains('|') && i + 1 < lines.len() && is_table_separator(lines[i + 1]) {
            flush(&mut para, &para_kind, doc)?;
            let mut rows = vec![table_cells(line)];
            i += 2;
            while i < lines.len() && lines[i].contains('|') && !lines[i].trim().is_empty() {
                rows.push(table_cells(lines[i]));
                i += 1;
            }
            doc.push(Block::table(rows))?;
            continue;
        }
        if is_rule(line) {
            flush(&mut para, &para_kind, doc)?;
            i += 1;
            continue;
        }
        if let Some(item) = list_marker(line) {
            flush(&mut para, &para_kind, doc)?;
            para_kind = BlockKind::ListItem;
            para.push(item);
            i += 1;
            continue;
        }
        let content = line
            .trim_start()
            .strip_prefix('>')
            .map(str::trim_start)
            .unwrap_or(line);
        if para.is_empty() {
            para_kind = BlockKind::Paragraph;
        }
        para.push(content);
        i += 1;
    }
    flush(&mut para, &para_kind, doc)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_boms_and_utf16() {
        let mut le = vec![0xFF, 0xFE];
        for u in "héllo".encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode(&le).text, "héllo");
        let mut be = vec![0xFE, 0xFF];
        for u in "héllo".encode_utf16() {
            be.extend_from_slice(&u.to_be_bytes());
        }
        assert_eq!(decode(&be).text, "héllo");
        let no_bom: Vec<u8> = "plain ascii text"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(decode(&no_bom).text, "plain ascii text");
        assert_eq!(decode(b"\xEF\xBB\xBFhi").text, "hi");
        let bad = decode(b"caf\xE9 au lait");
        assert!(bad.text.contains('\u{FFFD}'));
        assert!(bad.note.unwrap_or_default().contains("not valid UTF-8"));
    }

    #[test]
    fn atx_headings() {
        assert_eq!(atx_heading("## Title ##"), Some((2, "Title")));
        assert_eq!(atx_heading("#hashtag"), None);
        assert_eq!(atx_heading("####### seven"), None);
        assert_eq!(atx_heading("# C#"), Some((1, "C#")));
    }

    #[test]
    fn table_separators() {
        assert!(is_table_separator("| --- | :---: |"));
        assert!(is_table_separator("---|---"));
        assert!(!is_table_separator("| a | b |"));
        assert!(!is_table_separator("---"));
    }
}
