//! Splitting a text into pieces that each fit: at the delimiters, then sentence ends, then
//! spaces, then between characters.

use super::*;

/// Cut points are after each match; pieces concatenate back to the text.
pub(super) fn split_after_delimiters<'a>(text: &'a str, delimiters: &[String]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        if let Some(d) = delimiters.iter().find(|d| rest.starts_with(d.as_str())) {
            i += d.len();
            out.push(&text[start..i]);
            start = i;
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

pub(super) fn split_sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let end = i + c.len_utf8();
        let cut = match c {
            '。' | '！' | '？' | '；' | '…' => Some(end),
            '.' | '!' | '?' | ';' => match chars.peek() {
                Some((_, n)) if n.is_whitespace() => Some(end),
                _ => None,
            },
            _ => None,
        };
        if let Some(mut cut) = cut {
            // Keep the whitespace after the sentence with it.
            while let Some(&(j, n)) = chars.peek() {
                if !n.is_whitespace() {
                    break;
                }
                cut = j + n.len_utf8();
                chars.next();
            }
            out.push(&text[start..cut]);
            start = cut;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

pub(super) fn split_words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev_ws = false;
    for (i, c) in text.char_indices() {
        let ws = c.is_whitespace();
        if prev_ws && !ws {
            out.push(&text[start..i]);
            start = i;
        }
        prev_ws = ws;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Longest prefixes within the limit, found by binary search (for text with no spaces).
pub(super) fn split_chars(text: &str, limit: usize, out: &mut Vec<(String, usize)>) {
    let mut rest = text;
    while !rest.is_empty() {
        let bounds: Vec<usize> = rest
            .char_indices()
            .map(|(i, _)| i)
            .skip(1)
            .chain(std::iter::once(rest.len()))
            .take(limit.saturating_mul(32).max(1))
            .collect();
        // bounds[k] is the byte end of the first k+1 characters.
        let (mut lo, mut hi) = (0usize, bounds.len() - 1);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if count_tokens_within(&rest[..bounds[mid]], limit).is_some() {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let end = bounds[lo];
        let piece = &rest[..end];
        out.push((piece.to_string(), count_tokens(piece)));
        rest = &rest[end..];
    }
}

pub(super) fn split_level(
    text: &str,
    limit: usize,
    delimiters: &[String],
    level: u8,
    out: &mut Vec<(String, usize)>,
) {
    if text.trim().is_empty() {
        return;
    }
    if let Some(tokens) = count_tokens_within(text, limit) {
        out.push((text.to_string(), tokens));
        return;
    }
    let parts = match level {
        0 => split_after_delimiters(text, delimiters),
        1 => split_sentences(text),
        2 => split_words(text),
        _ => return split_chars(text, limit, out),
    };
    if parts.len() <= 1 {
        return split_level(text, limit, delimiters, level + 1, out);
    }
    for p in parts {
        split_level(p, limit, delimiters, level + 1, out);
    }
}

/// Split `text` into pieces of at most `limit` tokens each (with their counts), cutting at
/// delimiters first, then sentence ends, then spaces, then between characters.
pub(super) fn split_to_fit(
    text: &str,
    limit: usize,
    delimiters: &[String],
) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    split_level(text, limit.max(1), delimiters, 0, &mut out);
    out
}
