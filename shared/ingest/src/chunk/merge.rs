//! Merging pieces into chunks up to the token limit.

use super::*;

pub(super) struct Part {
    /// Text put before this part when it is not the first of its chunk.
    pub(super) joiner: &'static str,
    pub(super) text: String,
    pub(super) tokens: usize,
    pub(super) page: Option<u32>,
    /// A heading: never left as the last part of a chunk.
    pub(super) heading: bool,
}

/// Greedy merge of pieces into chunks within the limit, each chunk starting with `prefix`.
pub(super) struct Merger<'a> {
    pub(super) cfg: &'a Config,
    pub(super) prefix: String,
    pub(super) body_limit: usize,
    pub(super) parts: Vec<Part>,
    pub(super) estimate: usize,
    pub(super) out: Vec<ChunkDraft>,
}

impl<'a> Merger<'a> {
    pub(super) fn new(cfg: &'a Config) -> Self {
        Merger {
            cfg,
            prefix: String::new(),
            body_limit: cfg.limit,
            parts: Vec::new(),
            estimate: 0,
            out: Vec::new(),
        }
    }

    /// Start a new heading path (flushes what is pending).
    pub(super) fn set_prefix(&mut self, prefix: String) {
        self.flush();
        let tokens = count_tokens(&prefix);
        if tokens * 2 > self.cfg.limit {
            self.prefix = String::new();
            self.body_limit = self.cfg.limit;
        } else {
            self.prefix = prefix;
            self.body_limit = (self.cfg.limit - tokens).max(1);
        }
    }

    /// Add a block's (or segment's) text; it starts on a new line of the current chunk.
    pub(super) fn add_text(&mut self, text: &str, page: Option<u32>) {
        self.add_block(text, page, false);
    }

    pub(super) fn add_block(&mut self, text: &str, page: Option<u32>, heading: bool) {
        let pieces = split_to_fit(text, self.body_limit, &self.cfg.delimiters);
        for (i, (text, tokens)) in pieces.into_iter().enumerate() {
            let joiner = if i == 0 { "\n" } else { "" };
            self.add_piece(Part {
                joiner,
                text,
                tokens,
                page,
                heading,
            });
        }
    }

    pub(super) fn add_piece(&mut self, part: Part) {
        let join_cost = usize::from(!self.parts.is_empty() && !part.joiner.is_empty());
        if !self.parts.is_empty() && self.estimate + join_cost + part.tokens > self.body_limit {
            // Headings at the end move on with the text they introduce.
            let keep = self
                .parts
                .iter()
                .rposition(|p| !p.heading)
                .map_or(0, |i| i + 1);
            let carry = if keep > 0 {
                self.parts.split_off(keep)
            } else {
                Vec::new()
            };
            self.flush();
            for p in carry {
                self.push_part(p);
            }
            if !self.parts.is_empty() && self.estimate + 1 + part.tokens > self.body_limit {
                self.flush();
            }
        }
        self.push_part(part);
    }

    pub(super) fn push_part(&mut self, part: Part) {
        let join_cost = usize::from(!self.parts.is_empty() && !part.joiner.is_empty());
        self.estimate += join_cost + part.tokens;
        self.parts.push(part);
    }

    pub(super) fn flush(&mut self) {
        let parts = std::mem::take(&mut self.parts);
        self.estimate = 0;
        self.emit(parts);
    }

    pub(super) fn emit(&mut self, parts: Vec<Part>) {
        if parts.is_empty() {
            return;
        }
        let mut body = String::new();
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                body.push_str(p.joiner);
            }
            body.push_str(&p.text);
        }
        let body = body.trim();
        if body.is_empty() {
            return;
        }
        let content = format!("{}{}", self.prefix, body);
        // Counts of pieces are close to, not exactly, the count of their concatenation:
        // split a chunk that came out over the limit.
        let counted = if parts.len() > 1 {
            match count_tokens_within(&content, self.cfg.limit) {
                Some(n) => Some(n),
                None => {
                    let mut parts = parts;
                    let tail = parts.split_off(parts.len() / 2);
                    self.emit(parts);
                    self.emit(tail);
                    return;
                }
            }
        } else {
            None
        };
        let pages: Vec<u32> = parts.iter().filter_map(|p| p.page).collect();
        self.out
            .push(ChunkDraft::counted(content, &pages, "", counted));
    }

    /// Flush what is pending except trailing headings, which are returned (one per line,
    /// newline-terminated) to introduce what follows (a table).
    pub(super) fn take_trailing_headings(&mut self) -> String {
        let keep = self
            .parts
            .iter()
            .rposition(|p| !p.heading)
            .map_or(0, |i| i + 1);
        let tail = self.parts.split_off(keep);
        self.flush();
        let mut out = String::new();
        for p in tail {
            out.push_str(p.text.trim());
            out.push('\n');
        }
        out
    }

    /// Flush, then append ready-made chunks (tables) in order.
    pub(super) fn push_chunks(&mut self, chunks: Vec<ChunkDraft>) {
        self.flush();
        self.out.extend(chunks);
    }

    pub(super) fn finish(mut self) -> Vec<ChunkDraft> {
        self.flush();
        self.out
    }
}
