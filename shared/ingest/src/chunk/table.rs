//! Tables: groups of rows within the limit, the header row repeated in each.

use super::*;

/// Table chunks: row groups within the limit, the header repeated in each.
pub(super) fn table_chunks(
    block: &Block,
    rows: &[Vec<String>],
    cfg: &Config,
    prefix: &str,
) -> Vec<ChunkDraft> {
    let pages: Vec<u32> = block.page.into_iter().collect();
    let mut head = prefix.to_string();
    if let Some(sheet) = &block.sheet {
        head.push_str(&format!("Sheet: {sheet}\n"));
    }
    let mut out = Vec::new();
    let Some((header, data)) = rows.split_first() else {
        return out;
    };
    if data.is_empty() {
        emit_table(&head, std::slice::from_ref(header), &pages, cfg, &mut out);
        return out;
    }
    let header_tokens =
        count_tokens(&head) + count_tokens(&render_table(std::slice::from_ref(header)));
    let mut group: Vec<Vec<String>> = vec![header.clone()];
    let mut tokens = header_tokens;
    for row in data {
        let row_tokens = count_tokens(&row.join(" | ")) + row.len() + 2;
        if group.len() > 1 && tokens + row_tokens > cfg.limit {
            emit_table(&head, &group, &pages, cfg, &mut out);
            group.truncate(1);
            tokens = header_tokens;
        }
        group.push(row.clone());
        tokens += row_tokens;
    }
    emit_table(&head, &group, &pages, cfg, &mut out);
    out
}

pub(super) fn emit_table(
    head: &str,
    group: &[Vec<String>],
    pages: &[u32],
    cfg: &Config,
    out: &mut Vec<ChunkDraft>,
) {
    let content = format!("{head}{}", render_table(group));
    if count_tokens(&content) <= cfg.limit {
        out.push(ChunkDraft::new(content, pages, "table"));
    } else if group.len() > 2 {
        // Over the limit after all: halve the rows, header kept in both halves.
        let mid = 1 + (group.len() - 1) / 2;
        let mut second = vec![group[0].clone()];
        second.extend_from_slice(&group[mid..]);
        emit_table(head, &group[..mid], pages, cfg, out);
        emit_table(head, &second, pages, cfg, out);
    } else {
        // One row (or the header alone) larger than a chunk: split its text.
        for (piece, _) in split_to_fit(&content, cfg.limit, &cfg.delimiters) {
            let piece = piece.trim().to_string();
            if !piece.is_empty() {
                out.push(ChunkDraft::new(piece, pages, "table"));
            }
        }
    }
}
