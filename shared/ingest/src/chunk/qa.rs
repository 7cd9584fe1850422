//! The qa, table and tag methods: question/answer pairs and one chunk per row.

use super::*;

// ---- qa / table / tag ----

pub(super) const HEADER_WORDS: &[&str] = &[
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
pub(super) fn header_like(row: &[String]) -> bool {
    row.iter().any(|c| {
        HEADER_WORDS.contains(
            &c.trim()
                .trim_end_matches([':', '：'])
                .to_lowercase()
                .as_str(),
        )
    })
}

pub(super) fn q_re() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    cached(&RE, || {
        r"^\s*(?i:q|question|问题|问)\s*\d{0,4}\s*[:：]\s*(.*)$".to_string()
    })
}

pub(super) fn a_re() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    cached(&RE, || {
        r"^\s*(?i:a|answer|答案|回答|答)\s*\d{0,4}\s*[:：]\s*(.*)$".to_string()
    })
}

pub(super) struct Pair {
    pub(super) order: usize,
    pub(super) q: String,
    pub(super) a: String,
    pub(super) page: Option<u32>,
}

/// Lines of the text blocks, with the index and page of their block.
pub(super) fn text_lines(doc: &ParsedDocument) -> Vec<(usize, Option<u32>, &str)> {
    doc.blocks
        .iter()
        .enumerate()
        .filter(|(_, b)| !matches!(b.kind, BlockKind::Table { .. }))
        .flat_map(|(i, b)| b.text.lines().map(move |l| (i, b.page, l)))
        .filter(|(_, _, l)| !l.trim().is_empty())
        .collect()
}

pub(super) fn marker_pairs(lines: &[(usize, Option<u32>, &str)]) -> Vec<Pair> {
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

pub(super) fn push_line(s: &mut String, line: &str) {
    let line = line.trim();
    if line.is_empty() {
        return;
    }
    if !s.is_empty() {
        s.push('\n');
    }
    s.push_str(line);
}

pub(super) fn heading_pairs(doc: &ParsedDocument) -> Vec<Pair> {
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

pub(super) fn tab_pairs(lines: &[(usize, Option<u32>, &str)]) -> Vec<Pair> {
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

pub(super) fn question_mark_pairs(lines: &[(usize, Option<u32>, &str)]) -> Vec<Pair> {
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
pub(super) fn data_rows(doc: &ParsedDocument, ext: &str) -> Vec<(usize, Option<u32>, Vec<String>)> {
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

pub(super) fn qa(doc: &ParsedDocument, ext: &str) -> Result<Vec<ChunkDraft>, ParseError> {
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

pub(super) fn table_method(doc: &ParsedDocument, ext: &str) -> Result<Vec<ChunkDraft>, ParseError> {
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
pub(super) fn data_rows_with_header(doc: &ParsedDocument, ext: &str) -> Vec<Vec<String>> {
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

pub(super) fn row_chunks(rows: &[Vec<String>], page: Option<u32>) -> Vec<ChunkDraft> {
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

pub(super) fn tag_method(doc: &ParsedDocument, ext: &str) -> Result<Vec<ChunkDraft>, ParseError> {
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
