//! Section-aware methods (manual, paper, book, laws): heading paths, articles kept whole.

use super::*;

// ---- section-aware (manual / paper / book / laws) ----

pub(super) const CN_NUM: &str = "一二三四五六七八九十百千零〇两0-9０-９";

/// A regex compiled once; `None` only if the pattern were invalid (they are constants).
pub(super) fn cached(
    cell: &'static OnceLock<Option<Regex>>,
    pattern: impl FnOnce() -> String,
) -> Option<&'static Regex> {
    cell.get_or_init(|| Regex::new(&pattern()).ok()).as_ref()
}

pub(super) fn matches(re: Option<&Regex>, text: &str) -> bool {
    re.is_some_and(|r| r.is_match(text))
}

pub(super) fn article_re() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    cached(&RE, || {
        format!(r"^\s*(?:(?:Article|ARTICLE|Art\.)\s+\d+[A-Za-z]?\b|第[{CN_NUM}]+条|§+\s*\d+)")
    })
}

pub(super) fn heading_res() -> &'static [(Regex, u8)] {
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

pub(super) fn numbered_re() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    cached(&RE, || {
        r"^(\d{1,3}(?:\.\d{1,3}){0,4})\.?\s+(\S)".to_string()
    })
}

/// The level of a line that looks like a heading in a document without heading blocks.
pub(super) fn heading_like(line: &str) -> Option<u8> {
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

pub(super) fn path_prefix(path: &[(u8, String)]) -> String {
    if path.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = path.iter().map(|(_, t)| t.as_str()).collect();
    format!("{}\n", names.join(" > "))
}

pub(super) fn enter_heading(path: &mut Vec<(u8, String)>, level: u8, text: &str) {
    path.retain(|(l, _)| *l < level);
    path.push((level, crate::parse::squash_ws(text)));
}

pub(super) fn sections(doc: &ParsedDocument, cfg: &Config, laws: bool) -> Vec<ChunkDraft> {
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
