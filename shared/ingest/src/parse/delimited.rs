//! CSV and TSV: one table block (first row as header).

use super::text::decode_checked;
use super::DocBuilder;
use crate::error::ParseError;
use crate::model::Block;

/// Guess the delimiter from the first line: the most frequent of tab, comma, semicolon, pipe.
fn sniff_delimiter(ext: &str, text: &str) -> u8 {
    if ext == "tsv" {
        return b'\t';
    }
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut best = (b',', 0usize);
    for d in [b',', b'\t', b';', b'|'] {
        let n = first.bytes().filter(|&b| b == d).count();
        if n > best.1 {
            best = (d, n);
        }
    }
    best.0
}

/// Parse delimited text into rows; trailing empty cells are dropped and empty rows skipped.
pub(crate) fn rows_of(text: &str, delimiter: u8) -> Result<Vec<Vec<String>>, csv::Error> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record?;
        let mut row: Vec<String> = record.iter().map(|c| c.trim().to_string()).collect();
        while row.last().is_some_and(String::is_empty) {
            row.pop();
        }
        if !row.is_empty() {
            rows.push(row);
        }
    }
    Ok(rows)
}

pub(crate) fn parse(ext: &str, bytes: &[u8], doc: &mut DocBuilder) -> Result<(), ParseError> {
    let text = decode_checked(ext, bytes, doc)?;
    let delimiter = sniff_delimiter(ext, &text);
    let rows = rows_of(&text, delimiter).map_err(|e| ParseError::corrupt("CSV", e))?;
    if !rows.is_empty() {
        doc.push(Block::table(rows))?;
    }
    Ok(())
}

/// One comma-separated line as cells (quotes honoured); `None` if it is not valid CSV.
pub(crate) fn csv_line(line: &str) -> Option<Vec<String>> {
    rows_of(line, b',').ok()?.into_iter().next()
}
