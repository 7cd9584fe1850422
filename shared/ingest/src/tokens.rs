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
            let end = piece_end(pieces, cache, text, at);
            total += count_piece(&text[at..end], seen);
            if total > limit {
                return None;
            }
            at = end;
        }
        (total <= limit).then_some(total)
    })
}

/// The end of the pre-tokenizer piece that starts at `at` (< `text.len()`; the result is
/// past it).
fn piece_end(pieces: &Regex, cache: &mut Cache, text: &str, at: usize) -> usize {
    if let Some(end) = ascii_piece_end(text.as_bytes(), at) {
        return end;
    }
    let input = Input::new(&text[at..]).anchored(Anchored::Yes);
    let Some(m) = pieces.search_with(cache, &input) else {
        // Every non-empty text matches one of the patterns; count the rest whole.
        return text.len();
    };
    let mut end = at + m.end();
    if m.pattern().as_usize() == LOOKAHEAD_PATTERN {
        end -= text[at..end].chars().next_back().map_or(0, char::len_utf8);
    }
    if end <= at {
        text.len()
    } else {
        end
    }
}

/// How cl100k's pre-tokenizer sees an ASCII byte.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ascii {
    Letter,
    Digit,
    /// `\r` or `\n`.
    Newline,
    /// Other white space (Unicode `White_Space`: space, tab, vertical tab, form feed).
    Space,
    /// Neither letter, digit nor white space (punctuation, symbols, control characters).
    Other,
}

/// The class of `t[i]`: `Ok(None)` past the end, `Err(())` for a byte past ASCII (whose
/// character only the regex can classify).
fn class_at(t: &[u8], i: usize) -> Result<Option<Ascii>, ()> {
    let Some(&b) = t.get(i) else {
        return Ok(None);
    };
    Ok(Some(match b {
        b'a'..=b'z' | b'A'..=b'Z' => Ascii::Letter,
        b'0'..=b'9' => Ascii::Digit,
        b'\r' | b'\n' => Ascii::Newline,
        b' ' | b'\t' | 0x0b | 0x0c => Ascii::Space,
        0x80.. => return Err(()),
        _ => Ascii::Other,
    }))
}

/// The first index from `i` whose byte is not of class `c` (`Err` on a byte past ASCII
/// within the run, which might continue it).
fn run_end(t: &[u8], mut i: usize, c: Ascii) -> Result<usize, ()> {
    while class_at(t, i)? == Some(c) {
        i += 1;
    }
    Ok(i)
}

/// The piece at `at` found from ASCII bytes alone, the same as the regex's; `None` when
/// the answer depends on a byte past ASCII. Most text is ASCII, and a regex search per
/// piece was ~10 % of ingesting large text files (docs/benchmarks.md, "Fourth round").
/// The alternatives, in the pattern's order:
/// contraction, `[^\r\n\p{L}\p{N}]?\p{L}+`, `\p{N}{1,3}`, ` ?[^\s\p{L}\p{N}]+[\r\n]*`,
/// `\s*[\r\n]+`, `\s+$`, `\s+(?!\S)`, `\s+`.
fn ascii_piece_end(t: &[u8], at: usize) -> Option<usize> {
    let c0 = class_at(t, at).ok()??;
    if t[at] == b'\'' {
        let lower = |i: usize| t.get(i).map(u8::to_ascii_lowercase);
        if t.get(at + 1).is_some_and(|&b| b >= 0x80) {
            return None;
        }
        match lower(at + 1) {
            Some(b's' | b't' | b'm' | b'd') => return Some(at + 2),
            Some(second @ (b'r' | b'v' | b'l')) => {
                if t.get(at + 2).is_some_and(|&b| b >= 0x80) {
                    return None;
                }
                let third = if second == b'l' { b'l' } else { b'e' };
                if lower(at + 2) == Some(third) {
                    return Some(at + 3);
                }
            }
            _ => {}
        }
    }
    let c1 = class_at(t, at + 1);
    match c0 {
        Ascii::Letter => return run_end(t, at, Ascii::Letter).ok(),
        Ascii::Digit => {
            let mut end = at + 1;
            while end < at + 3 && class_at(t, end).ok()? == Some(Ascii::Digit) {
                end += 1;
            }
            return Some(end);
        }
        Ascii::Space | Ascii::Other => {
            let c1 = c1.ok()?;
            if c1 == Some(Ascii::Letter) {
                return run_end(t, at + 1, Ascii::Letter).ok();
            }
            let others_from = if c0 == Ascii::Other {
                Some(at)
            } else if t[at] == b' ' && c1 == Some(Ascii::Other) {
                Some(at + 1)
            } else {
                None
            };
            if let Some(from) = others_from {
                let mut end = run_end(t, from, Ascii::Other).ok()?;
                while matches!(t.get(end), Some(b'\r' | b'\n')) {
                    end += 1;
                }
                return Some(end);
            }
        }
        Ascii::Newline => {}
    }
    // A run of white space.
    let mut end = at;
    let mut last_newline = None;
    loop {
        match class_at(t, end).ok()? {
            Some(Ascii::Newline) => last_newline = Some(end),
            Some(Ascii::Space) => {}
            _ => break,
        }
        end += 1;
    }
    Some(match last_newline {
        Some(i) => i + 1,
        None if end == t.len() => end,
        None if end - at >= 2 => end - 1,
        None => end,
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

    /// The pieces the regex alone finds.
    fn regex_pieces(text: &str) -> Vec<usize> {
        let pieces = PIECES.as_ref().unwrap();
        let mut cache = pieces.create_cache();
        let mut ends = Vec::new();
        let mut at = 0;
        while at < text.len() {
            let m = pieces
                .search_with(&mut cache, &Input::new(&text[at..]).anchored(Anchored::Yes))
                .unwrap();
            let mut end = at + m.end();
            if m.pattern().as_usize() == LOOKAHEAD_PATTERN {
                end -= text[at..end].chars().next_back().map_or(0, char::len_utf8);
            }
            assert!(end > at, "{text:?} at {at}");
            ends.push(end);
            at = end;
        }
        ends
    }

    #[test]
    fn the_ascii_pieces_are_the_regex_pieces() {
        let pieces = PIECES.as_ref().unwrap();
        let mut cache = pieces.create_cache();
        // Every class the pattern tells apart, and characters past ASCII that continue or
        // end a run of each (letters, digits, white space, symbols, a folding `ſ`).
        const ALPHABET: &[&str] = &[
            "a", "Z", "s", "S", "t", "r", "R", "e", "E", "v", "l", "L", "m", "d", "x", "0", "7",
            " ", " ", "\t", "\n", "\r", "\u{b}", "\u{c}", "'", "'", ".", "!", "-", "\u{1}",
            "\u{1f}", "\u{7f}", "é", "ſ", "\u{a0}", "\u{85}", "٣", "—", "日", "👍",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..30_000 {
            let len = (next() % 12) as usize + 1;
            let text: String = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            let mut ends = Vec::new();
            let mut at = 0;
            while at < text.len() {
                at = piece_end(pieces, &mut cache, &text, at);
                ends.push(at);
            }
            assert_eq!(ends, regex_pieces(&text), "{text:?}");
        }
        for text in MIXED {
            let mut ends = Vec::new();
            let mut at = 0;
            while at < text.len() {
                at = piece_end(pieces, &mut cache, text, at);
                ends.push(at);
            }
            assert_eq!(ends, regex_pieces(text), "{text:?}");
        }
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
