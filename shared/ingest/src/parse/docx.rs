//! Word (.docx): paragraphs with heading styles, list items, tables.

use std::collections::HashMap;

use quick_xml::events::Event;

use super::xml::{attr, reader, relationships, resolve_ref, resolve_target, xml_error};
use super::zipsafe::SafeZip;
use super::DocBuilder;
use crate::error::ParseError;
use crate::limits::ParseLimits;
use crate::model::{Block, BlockKind};

const FORMAT: &str = "DOCX";

/// What a paragraph style makes of a paragraph.
#[derive(Debug, Clone, Copy, PartialEq)]
enum StyleKind {
    Title,
    Heading(u8),
    List,
}

fn style_kind_from_name(name: &str) -> Option<StyleKind> {
    let n = name.trim().to_ascii_lowercase();
    if n == "title" {
        return Some(StyleKind::Title);
    }
    if n == "subtitle" {
        return Some(StyleKind::Heading(1));
    }
    if let Some(rest) = n.strip_prefix("heading") {
        if let Ok(level) = rest.trim().parse::<u8>() {
            return Some(StyleKind::Heading(level.clamp(1, 6)));
        }
    }
    if n.starts_with("list") {
        return Some(StyleKind::List);
    }
    None
}

/// styleId → kind, from word/styles.xml (names such as "heading 1", outline levels).
fn read_styles(xml: &str) -> Result<HashMap<String, StyleKind>, ParseError> {
    let mut r = reader(xml);
    let mut out = HashMap::new();
    let mut current: Option<(String, Option<StyleKind>, Option<u8>)> = None;
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => match e.local_name().as_ref() {
                "style" => {
                    if let Some((id, kind, outline)) = current.take() {
                        insert_style(&mut out, id, kind, outline);
                    }
                    current = attr(&e, "styleId").map(|id| (id, None, None));
                }
                "name" => {
                    if let (Some(cur), Some(v)) = (current.as_mut(), attr(&e, "val")) {
                        cur.1 = style_kind_from_name(&v);
                    }
                }
                "outlineLvl" => {
                    if let (Some(cur), Some(v)) = (current.as_mut(), attr(&e, "val")) {
                        cur.2 = v.parse::<u8>().ok();
                    }
                }
                _ => {}
            },
            Ok(Event::End(e)) if e.local_name().as_ref() == "style" => {
                if let Some((id, kind, outline)) = current.take() {
                    insert_style(&mut out, id, kind, outline);
                }
            }
            Ok(Event::Eof) => return Ok(out),
            Ok(_) => {}
            Err(e) => return Err(xml_error(FORMAT, "word/styles.xml", e)),
        }
    }
}

fn insert_style(
    out: &mut HashMap<String, StyleKind>,
    id: String,
    kind: Option<StyleKind>,
    outline: Option<u8>,
) {
    let kind = kind.or_else(|| {
        outline
            .filter(|&l| l < 9)
            .map(|l| StyleKind::Heading((l + 1).min(6)))
    });
    if let Some(k) = kind {
        out.insert(id, k);
    }
}

#[derive(Default)]
struct Para {
    text: String,
    style: Option<String>,
    outline: Option<u8>,
    numbered: bool,
}

#[derive(Default)]
struct Tbl {
    rows: Vec<Vec<String>>,
    row: Option<Vec<String>>,
    cell: Option<String>,
}

/// The main document part's path, from the package relationships.
fn main_part(zip: &mut SafeZip<'_>) -> Result<String, ParseError> {
    if let Some(rels) = zip.read_text("_rels/.rels")? {
        for (_, ty, target) in relationships(FORMAT, "_rels/.rels", &rels)? {
            if ty.ends_with("/officeDocument") {
                let path = resolve_target("", &target);
                if zip.has(&path) {
                    return Ok(path);
                }
            }
        }
    }
    Ok("word/document.xml".to_string())
}

pub(crate) fn parse(
    ext: &str,
    bytes: &[u8],
    limits: &ParseLimits,
    doc: &mut DocBuilder,
) -> Result<(), ParseError> {
    let mut zip = SafeZip::open(ext, FORMAT, "a Word document (DOCX)", bytes, limits)?;
    let part = main_part(&mut zip)?;
    let Some(xml) = zip.read_text(&part)? else {
        return Err(ParseError::WrongContent {
            ext: ext.to_string(),
            expected: "a Word document (DOCX)",
            hint: " (it is a ZIP archive without word/document.xml)".to_string(),
        });
    };
    let styles_path = match part.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/styles.xml"),
        None => "styles.xml".to_string(),
    };
    let styles = match zip.read_text(&styles_path)? {
        Some(s) => read_styles(&s)?,
        None => HashMap::new(),
    };
    read_document(&part, &xml, &styles, doc)
}

fn para_kind(p: &Para, styles: &HashMap<String, StyleKind>) -> BlockKind {
    let from_style = p.style.as_deref().and_then(|id| {
        styles
            .get(id)
            .copied()
            .or_else(|| style_kind_from_name(id))
            .or_else(|| {
                // Style ids without a styles part: "Heading1", "Title".
                let lower = id.to_ascii_lowercase();
                lower
                    .strip_prefix("heading")
                    .and_then(|n| n.parse::<u8>().ok())
                    .map(|n| StyleKind::Heading(n.clamp(1, 6)))
            })
    });
    match from_style {
        Some(StyleKind::Title) => BlockKind::Title,
        Some(StyleKind::Heading(l)) => BlockKind::Heading(l),
        Some(StyleKind::List) => BlockKind::ListItem,
        None => match p.outline {
            Some(l) if l < 9 => BlockKind::Heading((l + 1).min(6)),
            _ if p.numbered => BlockKind::ListItem,
            _ => BlockKind::Paragraph,
        },
    }
}

fn read_document(
    part: &str,
    xml: &str,
    styles: &HashMap<String, StyleKind>,
    doc: &mut DocBuilder,
) -> Result<(), ParseError> {
    let mut r = reader(xml);
    let mut paras: Vec<Para> = Vec::new();
    let mut tables: Vec<Tbl> = Vec::new();
    let mut in_t = false;
    let mut in_run = 0usize;
    let mut skip = 0usize;
    loop {
        let event = r.read_event().map_err(|e| xml_error(FORMAT, part, e))?;
        match event {
            Event::Start(e) => match e.local_name().as_ref() {
                "Fallback" | "delText" | "instrText" => skip += 1,
                _ if skip > 0 => {}
                "p" => paras.push(Para::default()),
                "r" => in_run += 1,
                "t" => in_t = true,
                "tbl" => tables.push(Tbl::default()),
                "tr" => {
                    if let Some(t) = tables.last_mut() {
                        t.row = Some(Vec::new());
                    }
                }
                "tc" => {
                    if let Some(t) = tables.last_mut() {
                        t.cell = Some(String::new());
                    }
                }
                _ => {}
            },
            Event::Empty(e) => {
                if skip > 0 {
                    continue;
                }
                let Some(p) = paras.last_mut() else {
                    continue;
                };
                match e.local_name().as_ref() {
                    "pStyle" => p.style = attr(&e, "val"),
                    "outlineLvl" => p.outline = attr(&e, "val").and_then(|v| v.parse().ok()),
                    "numId" => p.numbered = attr(&e, "val").is_some_and(|v| v != "0"),
                    "tab" if in_run > 0 => p.text.push('\t'),
                    "br" | "cr" if in_run > 0 => p.text.push('\n'),
                    _ => {}
                }
            }
            Event::Text(t) if in_t && skip == 0 => {
                if let Some(p) = paras.last_mut() {
                    p.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) if in_t && skip == 0 => {
                if let Some(p) = paras.last_mut() {
                    p.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(g) if in_t && skip == 0 => {
                if let Some(p) = paras.last_mut() {
                    p.text.push_str(&resolve_ref(&g));
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                "Fallback" | "delText" | "instrText" => skip = skip.saturating_sub(1),
                _ if skip > 0 => {}
                "t" => in_t = false,
                "r" => in_run = in_run.saturating_sub(1),
                "p" => {
                    let Some(p) = paras.pop() else { continue };
                    let text = p.text.trim().to_string();
                    if text.is_empty() {
                        continue;
                    }
                    if let Some(cell) = tables.last_mut().and_then(|t| t.cell.as_mut()) {
                        if !cell.is_empty() {
                            cell.push('\n');
                        }
                        cell.push_str(&text);
                    } else {
                        doc.push(Block::new(para_kind(&p, styles), text))?;
                    }
                }
                "tc" => {
                    if let Some(t) = tables.last_mut() {
                        if let Some(cell) = t.cell.take() {
                            t.row.get_or_insert_with(Vec::new).push(cell);
                        }
                    }
                }
                "tr" => {
                    if let Some(t) = tables.last_mut() {
                        if let Some(row) = t.row.take() {
                            if row.iter().any(|c| !c.trim().is_empty()) {
                                t.rows.push(row);
                            }
                        }
                    }
                }
                "tbl" => {
                    let Some(t) = tables.pop() else { continue };
                    if t.rows.is_empty() {
                        continue;
                    }
                    if let Some(outer) = tables.last_mut().and_then(|o| o.cell.as_mut()) {
                        let flat: Vec<String> = t.rows.iter().map(|r| r.join(" ")).collect();
                        if !outer.is_empty() {
                            outer.push('\n');
                        }
                        outer.push_str(&flat.join("\n"));
                    } else if tables.is_empty() {
                        doc.push(Block::table(t.rows))?;
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(())
}
