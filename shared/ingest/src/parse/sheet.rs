//! Excel workbooks (.xlsx/.xlsm and legacy .xls) via calamine: every non-empty sheet
//! becomes a table block named after the sheet.
//!
//! Cells are read sparsely (a workbook that declares a huge used range costs nothing); an
//! .xlsx container is first checked by [`SafeZip::scan_all`] so calamine never inflates
//! more than the limits allow.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;

use calamine::{Data, DataRef, ExcelDateTime, Reader, Xls, XlsError, Xlsx, XlsxError};

use super::zipsafe::{has_encrypted_package, SafeZip, CFB_MAGIC};
use super::{wrong_content, DocBuilder};
use crate::error::ParseError;
use crate::limits::ParseLimits;
use crate::model::Block;

const FORMAT: &str = "Excel";

/// Non-empty cells of one sheet, by row then column, with a running size for the limit.
struct Cells<'a> {
    rows: BTreeMap<u32, BTreeMap<u32, String>>,
    chars: &'a mut usize,
    max_chars: usize,
}

impl Cells<'_> {
    fn put(&mut self, row: u32, col: u32, value: String) -> Result<(), ParseError> {
        let value = value.trim().to_string();
        if value.is_empty() {
            return Ok(());
        }
        *self.chars = self.chars.saturating_add(value.chars().count() + 1);
        if *self.chars > self.max_chars {
            return Err(ParseError::LimitExceeded(format!(
                "the workbook holds more than {} characters of text",
                self.max_chars
            )));
        }
        self.rows.entry(row).or_default().insert(col, value);
        Ok(())
    }

    /// Dense rows over the columns that hold anything.
    fn into_table(self) -> Vec<Vec<String>> {
        let cols: BTreeSet<u32> = self.rows.values().flat_map(|r| r.keys().copied()).collect();
        let index: BTreeMap<u32, usize> = cols.iter().enumerate().map(|(i, c)| (*c, i)).collect();
        self.rows
            .into_values()
            .map(|cells| {
                let mut row = vec![String::new(); index.len()];
                for (c, v) in cells {
                    if let Some(&i) = index.get(&c) {
                        row[i] = v;
                    }
                }
                while row.last().is_some_and(String::is_empty) {
                    row.pop();
                }
                row
            })
            .collect()
    }
}

fn format_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

fn format_datetime(dt: &ExcelDateTime) -> String {
    if dt.is_duration() {
        let secs = (dt.as_f64() * 86_400.0).round();
        if !secs.is_finite() || secs.abs() > 1e12 {
            return format_float(dt.as_f64());
        }
        let secs = secs as i64;
        let (sign, secs) = if secs < 0 { ("-", -secs) } else { ("", secs) };
        return format!(
            "{sign}{}:{:02}:{:02}",
            secs / 3600,
            (secs / 60) % 60,
            secs % 60
        );
    }
    let v = dt.as_f64();
    if !v.is_finite() || !(0.0..2_958_466.0).contains(&v) {
        return format_float(v);
    }
    let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
    if v < 1.0 {
        format!("{h:02}:{mi:02}:{s:02}")
    } else if h == 0 && mi == 0 && s == 0 {
        format!("{y:04}-{mo:02}-{d:02}")
    } else {
        format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
    }
}

fn data_ref_text(v: &DataRef<'_>) -> String {
    match v {
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => format_float(*f),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        DataRef::DateTime(dt) => format_datetime(dt),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => e.to_string(),
        DataRef::Empty => String::new(),
    }
}

fn data_text(v: &Data) -> String {
    match v {
        Data::Int(i) => i.to_string(),
        Data::Float(f) => format_float(*f),
        Data::String(s) => s.clone(),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(dt) => format_datetime(dt),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => e.to_string(),
        Data::Empty => String::new(),
    }
}

fn push_sheet(doc: &mut DocBuilder, name: &str, cells: Cells<'_>) -> Result<(), ParseError> {
    let rows = cells.into_table();
    if rows.is_empty() {
        return Ok(());
    }
    let mut block = Block::table(rows);
    block.sheet = Some(name.to_string());
    doc.push(block)
}

fn xlsx_error(e: XlsxError) -> ParseError {
    match e {
        XlsxError::Password => ParseError::Encrypted { format: FORMAT },
        other => ParseError::corrupt(FORMAT, other),
    }
}

fn xls_error(e: XlsError) -> ParseError {
    match e {
        XlsError::Password => ParseError::Encrypted { format: FORMAT },
        other => ParseError::corrupt(FORMAT, other),
    }
}

pub(crate) fn parse(
    ext: &str,
    bytes: &[u8],
    limits: &ParseLimits,
    doc: &mut DocBuilder,
) -> Result<(), ParseError> {
    if bytes.starts_with(b"PK\x03\x04") {
        parse_xlsx(ext, bytes, limits, doc)
    } else if bytes.starts_with(&CFB_MAGIC) {
        if has_encrypted_package(bytes) {
            return Err(ParseError::Encrypted { format: FORMAT });
        }
        parse_xls(bytes, limits, doc)
    } else {
        Err(wrong_content(ext, "an Excel workbook", bytes))
    }
}

fn parse_xlsx(
    ext: &str,
    bytes: &[u8],
    limits: &ParseLimits,
    doc: &mut DocBuilder,
) -> Result<(), ParseError> {
    let mut zip = SafeZip::open(ext, FORMAT, "an Excel workbook", bytes, limits)?;
    if !zip.has("xl/workbook.xml") && !zip.has("xl/workbook.bin") {
        return Err(ParseError::WrongContent {
            ext: ext.to_string(),
            expected: "an Excel workbook",
            hint: " (it is a ZIP archive without xl/workbook.xml)".to_string(),
        });
    }
    if zip.has("xl/workbook.bin") && !zip.has("xl/workbook.xml") {
        return Err(ParseError::Unsupported(
            "binary Excel workbooks (.xlsb)".to_string(),
        ));
    }
    zip.scan_all()?;
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(xlsx_error)?;
    let mut chars = 0usize;
    for name in wb.sheet_names() {
        let mut cells = Cells {
            rows: BTreeMap::new(),
            chars: &mut chars,
            max_chars: limits.max_text_chars,
        };
        let mut reader = match wb.worksheet_cells_reader(&name) {
            Ok(r) => r,
            // Chart sheets and dialog sheets have no cells.
            Err(XlsxError::WorksheetNotFound(_)) => continue,
            Err(e) => return Err(xlsx_error(e)),
        };
        while let Some(cell) = reader.next_cell().map_err(xlsx_error)? {
            let (row, col) = cell.get_position();
            cells.put(row, col, data_ref_text(cell.get_value()))?;
        }
        drop(reader);
        push_sheet(doc, &name, cells)?;
    }
    Ok(())
}

fn parse_xls(bytes: &[u8], limits: &ParseLimits, doc: &mut DocBuilder) -> Result<(), ParseError> {
    let mut wb: Xls<_> = Xls::new(Cursor::new(bytes)).map_err(xls_error)?;
    let mut chars = 0usize;
    for name in wb.sheet_names() {
        let range = match wb.worksheet_range(&name) {
            Ok(r) => r,
            Err(XlsError::WorksheetNotFound(_)) => continue,
            Err(e) => return Err(xls_error(e)),
        };
        let mut cells = Cells {
            rows: BTreeMap::new(),
            chars: &mut chars,
            max_chars: limits.max_text_chars,
        };
        for (row, col, value) in range.used_cells() {
            let (row, col) = (
                u32::try_from(row).unwrap_or(u32::MAX),
                u32::try_from(col).unwrap_or(u32::MAX),
            );
            cells.put(row, col, data_text(value))?;
        }
        push_sheet(doc, &name, cells)?;
    }
    Ok(())
}
