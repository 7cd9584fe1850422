//! Token counting as upstream counts: OpenAI's cl100k_base BPE (`tiktoken`).
//!
//! The byte-pair merges are `bpe-openai`'s (same counts as tiktoken: a test below compares
//! them; counted without building token lists). The text is cut into pre-tokenizer pieces
//! here rather than inside `bpe-openai`, for two reasons measured on the ingestion
//! benchmark: its one regex cache is taken and returned for every piece by every parse
//! worker (a contended pool), and most pieces are words seen before, whose remembered
//! counts save running the merges again. Tables are compiled in (no download), loaded on first use.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};

use regex_automata::meta::{Cache, Regex};
use regex_automata::{Anchored, Input};

/// cl100k_base's pre-tokenizer, with its negative look-ahead (`\s+(?!\S)`) written as a
/// second pattern whose last character is dropped from the match (`bpe-openai`'s rewrite;
/// `regex-automata` has no look-around).
static PIECES: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new_many(&[
        r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+$",
        r"\s+\s",
        r"\s+",
    ])
    .ok()
});
/// The pattern whose match ends with one look-ahead character.
const LOOKAHEAD_PATTERN: usize = 1;

/// Longest piece counted as one (BPE cost grows with a piece's length, so a megabyte-long
/// "word" such as a base64 blob is counted in slices of this size).
const MAX_RUN_BYTES: usize = 256;
/// Pieces up to this length are remembered, and at most this many of them per scratch.
const CACHED_PIECE_BYTES: usize = 24;
const CACHED_PIECES: usize = 1 << 14;
/// Scratch states kept between calls (more are made while more threads count at once).
const POOLED_SCRATCH: usize = 8;

/// Piece → count (a faster hasher measured no different).
type PieceCounts = HashMap<Box<str>, u32>;

/// What one count needs: the pre-tokenizer's search cache and the remembered pieces.
/// Taken from a small shared pool for a whole count, not per piece (per piece, the shared
/// cache of `regex` was contended), and not per thread (the blocking pool's many threads
/// would each keep one).
struct Scratch {
    cache: Cache,
    seen: PieceCounts,
}

static SCRATCH: Mutex<Vec<Scratch>> = Mutex::new(Vec::new());

fn with_scratch<R>(pieces: &Regex, f: impl FnOnce(&mut Scratch) -> R) -> R {
    let pooled = SCRATCH.lock().unwrap_or_else(PoisonError::into_inner).pop();
    let mut scratch = pooled.unwrap_or_else(|| Scratch {
        cache: pieces.create_cache(),
        seen: PieceCounts::default(),
    });
    let out = f(&mut scratch);
    let mut pool = SCRATCH.lock().unwrap_or_else(PoisonError::into_inner);
    if pool.len() < POOLED_SCRATCH {
        pool.push(scratch);
    }
    out
}

/// The number of cl100k_base tokens in `text` (special tokens count as plain text).
pub fn count_tokens(text: &str) -> usize {
    count_up_to(text, usize::MAX).unwrap_or(usize::MAX)
}

/// `count_tokens(text)` if it is at most `limit`, else None, found without counting the
/// rest of a long text once the count is past `limit` (the chunkers ask "does it fit?" of
/// whole documents).
pub fn count_tokens_within(text: &str, limit: usize) -> Option<usize> {
    count_up_to(text, limit)
}

fn count_up_to(text: &str, limit: usize) -> Option<usize> {
    if text.is_empty() {
        return Some(0);
    }
    let Some(pieces) = PIECES.as_ref() else {
        // Unreachable in practice (the pattern is a constant); a rough estimate otherwise.
        return Some(text.chars().count().div_ceil(4)).filter(|&n| n <= limit);
    };
    with_scratch(pieces, |Scratch { cache, seen }| {
        let mut total = 0usize;
        let mut at = 0;
        while at < text.len() {
            let input = Input::new(&text[at..]).anchored(Anchored::Yes);
            let Some(m) = pieces.search_with(cache, &input) else {
                // Every non-empty text matches one of the patterns; count the rest whole.
                total += count_piece(&text[at..], seen);
                break;
            };
            let mut end = at + m.end();
            if m.pattern().as_usize() == LOOKAHEAD_PATTERN {
                end -= text[at..end].chars().next_back().map_or(0, char::len_utf8);
            }
            if end <= at {
                total += count_piece(&text[at..], seen);
                break;
            }
            total += count_piece(&text[at..end], seen);
            if total > limit {
                return None;
            }
            at = end;
        }
        (total <= limit).then_some(total)
    })
}

fn count_piece(piece: &str, seen: &mut PieceCounts) -> usize {
    let bpe = &bpe_openai::cl100k_base().bpe;
    if piece.len() <= CACHED_PIECE_BYTES {
        if let Some(&n) = seen.get(piece) {
            return n as usize;
        }
        let n = bpe.count(piece.as_bytes());
        if seen.len() >= CACHED_PIECES {
            seen.clear();
        }
        seen.insert(piece.into(), u32::try_from(n).unwrap_or(u32::MAX));
        return n;
    }
    if piece.len() <= MAX_RUN_BYTES {
        return bpe.count(piece.as_bytes());
    }
    let mut total = 0;
    let mut rest = piece;
    while !rest.is_empty() {
        let mut cut = rest.len().min(MAX_RUN_BYTES);
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        total += bpe.count(&rest.as_bytes()[..cut]);
        rest = &rest[cut..];
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_agrees_with_the_full_count() {
        let text = "The quick brown fox jumps over the lazy dog. ".repeat(2000);
        let n = count_tokens(&text);
        assert_eq!(count_tokens_within(&text, n), Some(n));
        assert_eq!(count_tokens_within(&text, n - 1), None);
        assert_eq!(count_tokens_within(&text, 512), None);
        assert_eq!(count_tokens_within("hello world", 2), Some(2));
        assert_eq!(count_tokens_within("hello world", 1), None);
        assert_eq!(count_tokens_within("", 0), Some(0));
    }

    /// Texts of every kind the pre-tokenizer treats apart: contractions, digits runs,
    /// punctuation, runs of spaces and newlines, non-Latin scripts, emoji, special-token text.
    const MIXED: &[&str] = &[
        "I'm sure they'll've DONE it, isn't it?  Yes!!\n\n\tTabs\r\nand CRLF   ",
        "1234567 + 89 = 1234656; π≈3.14159, 10^9 ns; 2026-12-04T07:00:00Z",
        "数据集中的文档被切分为块。日本語のテキストも。한국어 문장도 있습니다.",
        "Emoji 👍🏽 and 👨‍👩‍👧 and flags 🇫🇷; <|endoftext|> stays plain text",
        "    indented code(x) { return x->y[0] && !z; }\n\n\n    # comment",
        "Ünïcödé àccents, Ελληνικά, русский текст, עברית, العربية",
    ];

    #[test]
    fn same_counts_as_tiktoken() {
        let reference = tiktoken_rs::cl100k_base().unwrap();
        for text in MIXED {
            assert_eq!(
                count_tokens(text),
                reference.encode_ordinary(text).len(),
                "{text:?}"
            );
        }
        let long = MIXED.concat().repeat(300);
        assert_eq!(count_tokens(&long), reference.encode_ordinary(&long).len());
    }

    #[test]
    fn counts_like_tiktoken() {
        assert_eq!(count_tokens(""), 0);
        // Known cl100k_base counts.
        assert_eq!(count_tokens("hello world"), 2);
        assert_eq!(count_tokens("tiktoken is great!"), 6);
    }

    #[test]
    fn long_texts_count_exactly() {
        let reference = tiktoken_rs::cl100k_base().unwrap();
        let text = "The quick brown fox jumps over the lazy dog.  \n".repeat(2000);
        assert_eq!(count_tokens(&text), reference.encode_ordinary(&text).len());
        // A long run without spaces is counted in slices: fast, and close to the whole.
        let blob = "QUJD".repeat(100_000);
        let (n, whole) = (count_tokens(&blob), reference.encode_ordinary(&blob).len());
        assert!(n.abs_diff(whole) <= whole / 20, "{n} vs {whole}");
    }
}
