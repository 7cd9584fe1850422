//! What a parser produces: typed blocks in reading order, plus notes for the user.

use serde::{Deserialize, Serialize};

/// The text of a file, as blocks in reading order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParsedDocument {
    pub blocks: Vec<Block>,
    /// Things the user should know (pages without text, lossy decoding, images not OCR'd),
    /// one line each, meant for `progress_msg`.
    pub notes: Vec<String>,
}

impl ParsedDocument {
    /// All block texts joined by newlines.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for b in &self.blocks {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&b.text);
        }
        out
    }
}

/// One unit of a document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    pub kind: BlockKind,
    /// The block's text; tables are also rendered here (see [`render_table`]).
    pub text: String,
    /// 1-based page (PDF) or slide (PPTX) number.
    pub page: Option<u32>,
    /// Worksheet name (spreadsheets).
    pub sheet: Option<String>,
}

impl Block {
    pub fn new(kind: BlockKind, text: impl Into<String>) -> Self {
        Block {
            kind,
            text: text.into(),
            page: None,
            sheet: None,
        }
    }

    pub fn with_page(mut self, page: Option<u32>) -> Self {
        self.page = page;
        self
    }

    /// A table block; its text is the rendered table.
    pub fn table(rows: Vec<Vec<String>>) -> Self {
        let text = render_table(&rows);
        Block::new(BlockKind::Table { rows }, text)
    }
}

/// What a block is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BlockKind {
    /// The document's title.
    Title,
    /// A heading of level 1..=6.
    Heading(u8),
    Paragraph,
    ListItem,
    /// Preformatted text or source code.
    Code,
    /// A table; the first row is the header.
    Table {
        rows: Vec<Vec<String>>,
    },
    /// All the text of one slide (its number is the block's page).
    Slide,
    /// An e-mail's Subject/From/To/Date lines.
    EmailHeader,
}

fn cell_text(cell: &str) -> String {
    let mut s = String::with_capacity(cell.len());
    for word in cell.split_whitespace() {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(word);
    }
    s.replace('|', "\\|")
}

/// Render rows as a Markdown pipe table, the first row as the header.
pub fn render_table(rows: &[Vec<String>]) -> String {
    let Some(header) = rows.first() else {
        return String::new();
    };
    let width = rows.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let mut out = String::new();
    let line = |out: &mut String, row: &[String]| {
        out.push('|');
        for i in 0..width {
            out.push(' ');
            out.push_str(&cell_text(row.get(i).map(String::as_str).unwrap_or("")));
            out.push_str(" |");
        }
    };
    line(&mut out, header);
    out.push_str("\n|");
    for _ in 0..width {
        out.push_str(" --- |");
    }
    for row in &rows[1..] {
        out.push('\n');
        line(&mut out, row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_pipe_tables() {
        let rows = vec![
            vec!["Name".to_string(), "Age".to_string()],
            vec!["Ann | B".to_string(), "3\n4".to_string()],
            vec!["Solo".to_string()],
        ];
        assert_eq!(
            render_table(&rows),
            "| Name | Age |\n| --- | --- |\n| Ann \\| B | 3 4 |\n| Solo |  |"
        );
        assert_eq!(render_table(&[]), "");
    }
}
