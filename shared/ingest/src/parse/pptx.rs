//! PowerPoint (.pptx): one block per slide (slide number as page), title first, tables
//! rendered as text.

use quick_xml::events::Event;

use super::xml::{
    attr, attr_prefixed, reader, relationships, resolve_ref, resolve_target, xml_error,
};
use super::zipsafe::SafeZip;
use super::DocBuilder;
use crate::error::ParseError;
use crate::limits::ParseLimits;
use crate::model::{render_table, Block, BlockKind};

const FORMAT: &str = "PPTX";

/// Slide part paths in presentation order.
fn slide_order(zip: &mut SafeZip<'_>) -> Result<Vec<String>, ParseError> {
    let mut ordered = Vec::new();
    if let (Some(pres), Some(rels)) = (
        zip.read_text("ppt/presentation.xml")?,
        zip.read_text("ppt/_rels/presentation.xml.rels")?,
    ) {
        let rels = relationships(FORMAT, "ppt/_rels/presentation.xml.rels", &rels)?;
        let mut r = reader(&pres);
        loop {
            match r.read_event() {
                Ok(Event::Start(e)) | Ok(Event::Empty(e)) if e.local_name().as_ref() == "sldId" => {
                    if let Some(rid) = attr_prefixed(&e, "id") {
                        if let Some((_, _, target)) = rels.iter().find(|(id, _, _)| *id == rid) {
                            let path = resolve_target("ppt", target);
                            if zip.has(&path) && !ordered.contains(&path) {
                                ordered.push(path);
                            }
                        }
                    }
                }
                Ok(Event::Eof) => break,
                Ok(_) => {}
                Err(e) => return Err(xml_error(FORMAT, "ppt/presentation.xml", e)),
            }
        }
    }
    if ordered.is_empty() {
        // No usable presentation part: slides by number.
        let mut numbered: Vec<(u32, String)> = zip
            .names()
            .into_iter()
            .filter_map(|n| {
                let num = n
                    .strip_prefix("ppt/slides/slide")?
                    .strip_suffix(".xml")?
                    .parse::<u32>()
                    .ok()?;
                Some((num, n))
            })
            .collect();
        numbered.sort();
        ordered = numbered.into_iter().map(|(_, n)| n).collect();
    }
    Ok(ordered)
}

pub(crate) fn parse(
    ext: &str,
    bytes: &[u8],
    limits: &ParseLimits,
    doc: &mut DocBuilder,
) -> Result<(), ParseError> {
    let mut zip = SafeZip::open(
        ext,
        FORMAT,
        "a PowerPoint presentation (PPTX)",
        bytes,
        limits,
    )?;
    if !zip.has("ppt/presentation.xml") {
        return Err(ParseError::WrongContent {
            ext: ext.to_string(),
            expected: "a PowerPoint presentation (PPTX)",
            hint: " (it is a ZIP archive without ppt/presentation.xml)".to_string(),
        });
    }
    let slides = slide_order(&mut zip)?;
    if slides.len() > limits.max_pages {
        return Err(ParseError::LimitExceeded(format!(
            "the presentation has {} slides (limit {})",
            slides.len(),
            limits.max_pages
        )));
    }
    for (i, path) in slides.iter().enumerate() {
        let Some(xml) = zip.read_text(path)? else {
            continue;
        };
        let text = slide_text(path, &xml)?;
        let number = u32::try_from(i + 1).unwrap_or(u32::MAX);
        doc.push(Block::new(BlockKind::Slide, text).with_page(Some(number)))?;
    }
    Ok(())
}

#[derive(Default)]
struct Shape {
    title: bool,
    paras: Vec<String>,
}

#[derive(Default)]
struct Tbl {
    rows: Vec<Vec<String>>,
    row: Option<Vec<String>>,
    cell: Option<String>,
}

/// The text of one slide: title shape(s) first, then the other shapes in order.
fn slide_text(part: &str, xml: &str) -> Result<String, ParseError> {
    let mut r = reader(xml);
    let mut shapes: Vec<Shape> = Vec::new();
    let mut shape_depth = 0usize;
    let mut para: Option<String> = None;
    let mut in_t = false;
    let mut tables: Vec<Tbl> = Vec::new();
    let mut pieces: Vec<(bool, String)> = Vec::new();
    loop {
        let event = r.read_event().map_err(|e| xml_error(FORMAT, part, e))?;
        match event {
            Event::Start(e) => match e.local_name().as_ref() {
                "sp" => {
                    shape_depth += 1;
                    shapes.push(Shape::default());
                }
                "p" => para = Some(String::new()),
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
                "ph" => mark_title(&mut shapes, &e),
                _ => {}
            },
            Event::Empty(e) => match e.local_name().as_ref() {
                "ph" => mark_title(&mut shapes, &e),
                "br" => {
                    if let Some(p) = para.as_mut() {
                        p.push('\n');
                    }
                }
                _ => {}
            },
            Event::Text(t) if in_t => {
                if let Some(p) = para.as_mut() {
                    p.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(g) if in_t => {
                if let Some(p) = para.as_mut() {
                    p.push_str(&resolve_ref(&g));
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                "t" => in_t = false,
                "p" => {
                    let Some(text) = para.take() else { continue };
                    let text = text.trim().to_string();
                    if text.is_empty() {
                        continue;
                    }
                    if let Some(cell) = tables.last_mut().and_then(|t| t.cell.as_mut()) {
                        if !cell.is_empty() {
                            cell.push(' ');
                        }
                        cell.push_str(&text);
                    } else if let Some(s) = shapes.last_mut().filter(|_| shape_depth > 0) {
                        s.paras.push(text);
                    } else {
                        pieces.push((false, text));
                    }
                }
                "sp" => {
                    shape_depth = shape_depth.saturating_sub(1);
                    if let Some(s) = shapes.pop() {
                        if !s.paras.is_empty() {
                            pieces.push((s.title, s.paras.join("\n")));
                        }
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
                            if row.iter().any(|c| !c.is_empty()) {
                                t.rows.push(row);
                            }
                        }
                    }
                }
                "tbl" => {
                    if let Some(t) = tables.pop() {
                        if !t.rows.is_empty() {
                            pieces.push((false, render_table(&t.rows)));
                        }
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    let mut ordered: Vec<String> = pieces.iter().filter(|p| p.0).map(|p| p.1.clone()).collect();
    ordered.extend(pieces.into_iter().filter(|p| !p.0).map(|p| p.1));
    Ok(ordered.join("\n"))
}

fn mark_title(shapes: &mut [Shape], e: &quick_xml::events::BytesStart<'_>) {
    if let Some(s) = shapes.last_mut() {
        if matches!(attr(e, "type").as_deref(), Some("title" | "ctrTitle")) {
            s.title = true;
        }
    }
}
