//! Words of a chunk's text as the replies show them: `<em>` highlights and the lower-cased
//! `content_ltks`. Both run on every retrieval hit (30 per default page), so they walk the
//! text's bytes with an ASCII fast path and copy unchanged stretches in one go.

/// Byte ranges of the maximal runs of alphanumeric characters (Unicode's definition, as
/// `char::is_alphanumeric`), in order.
pub fn word_spans(text: &str) -> WordSpans<'_> {
    WordSpans { text, at: 0 }
}

pub struct WordSpans<'a> {
    text: &'a str,
    at: usize,
}

/// ASCII bytes by class: 1 alphanumeric, 0 not; every byte ≥ 0x80 (part of a longer
/// character) is 2, decoded only then.
const CLASS: [u8; 256] = {
    let mut t = [2u8; 256];
    let mut b = 0;
    while b < 128 {
        t[b] = (b as u8).is_ascii_alphanumeric() as u8;
        b += 1;
    }
    t
};

impl WordSpans<'_> {
    /// At a byte ≥ 0x80: whether its character is alphanumeric, and its width.
    #[cold]
    fn wide(&self, at: usize) -> (bool, usize) {
        // `at` is always on a character boundary: the scan advances by whole characters.
        match self.text.get(at..).and_then(|rest| rest.chars().next()) {
            Some(c) => (c.is_alphanumeric(), c.len_utf8()),
            None => (false, 1),
        }
    }
}

impl Iterator for WordSpans<'_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        let bytes = self.text.as_bytes();
        let mut at = self.at;
        // Skip to the first character of a word.
        loop {
            let &b = bytes.get(at)?;
            match CLASS[usize::from(b)] {
                0 => at += 1,
                1 => break,
                _ => match self.wide(at) {
                    (true, _) => break,
                    (false, w) => at += w,
                },
            }
        }
        let start = at;
        while let Some(&b) = bytes.get(at) {
            match CLASS[usize::from(b)] {
                0 => break,
                1 => at += 1,
                _ => match self.wide(at) {
                    (true, w) => at += w,
                    (false, _) => break,
                },
            }
        }
        // The delimiter after the word (if any) is skipped by the next call.
        self.at = at;
        Some((start, at))
    }
}

/// Wrap whole-word, case-insensitive matches of the query words in `<em>`.
pub fn highlight(text: &str, query: &str) -> String {
    // Words the search ignores are not highlighted either.
    const STOP: &[&str] = &[
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is",
        "it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there",
        "these", "they", "this", "to", "was", "will", "with",
    ];
    let words: Vec<String> = word_spans(query)
        .map(|(s, e)| query[s..e].to_lowercase())
        .filter(|w| !STOP.contains(&w.as_str()))
        .collect();
    if words.is_empty() {
        return text.to_string();
    }
    // Most runs are rejected by one lookup: an ASCII run can only match a query word of its
    // length (up to 63) starting with the same letter (case-folded).
    let mut shapes = [0u64; 64];
    let shape = |w: &str| {
        (
            w.len().min(63),
            u32::from(w.as_bytes()[0].to_ascii_lowercase() & 63),
        )
    };
    for w in words.iter().filter(|w| w.is_ascii()) {
        let (len, first) = shape(w);
        shapes[len] |= 1 << first;
    }
    let hit = |run: &str| {
        if run.is_ascii() {
            let (len, first) = shape(run);
            shapes[len] & (1 << first) != 0 && words.iter().any(|w| w.eq_ignore_ascii_case(run))
        } else {
            words.contains(&run.to_lowercase())
        }
    };
    let mut out = String::with_capacity(text.len() + 16);
    let mut copied = 0;
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some((start, end, ascii)) = next_word(text, at) {
        at = end;
        if ascii {
            // The common case, rejected without slicing: an ASCII word of another shape.
            let (len, first) = (
                (end - start).min(63),
                u32::from(bytes[start].to_ascii_lowercase() & 63),
            );
            if shapes[len] & (1 << first) == 0 {
                continue;
            }
        }
        let run = &text[start..end];
        if hit(run) {
            out.push_str(&text[copied..start]);
            out.push_str("<em>");
            out.push_str(run);
            out.push_str("</em>");
            copied = end;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// The first word at or after `at` (a character boundary): its byte range and whether it is
/// all ASCII. ASCII words are found by a tight loop over the bytes; from a character past
/// ASCII, or a word that runs into one, the general scan takes over.
fn next_word(text: &str, mut at: usize) -> Option<(usize, usize, bool)> {
    let bytes = text.as_bytes();
    loop {
        match CLASS[usize::from(*bytes.get(at)?)] {
            0 => at += 1,
            1 => {
                let end = ascii_run_end(bytes, at);
                if !continues_past_ascii(bytes, end) {
                    return Some((at, end, true));
                }
                break;
            }
            _ => break,
        }
    }
    (WordSpans { text, at })
        .next()
        .map(|(start, end)| (start, end, false))
}

/// The end of the run of ASCII alphanumerics starting at `at`.
fn ascii_run_end(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(|&b| CLASS[usize::from(b)] == 1) {
        at += 1;
    }
    at
}

/// Whether the byte at `end` (just past an ASCII run) starts a character past ASCII, which
/// may continue the word; the general scan decides those.
fn continues_past_ascii(bytes: &[u8], end: usize) -> bool {
    bytes.get(end).is_some_and(|&b| b >= 0x80)
}

/// `word` lower-cased onto `out`, as `str::to_lowercase` would (ASCII without a copy).
pub fn push_lowercase(out: &mut String, word: &str) {
    if word.is_ascii() {
        let from = out.len();
        out.push_str(word);
        // Only ASCII bytes were appended, so lower-casing them in place keeps the UTF-8.
        out[from..].make_ascii_lowercase();
    } else {
        out.push_str(&word.to_lowercase());
    }
}

/// Lower-cased word tokens joined by spaces, as the `content_ltks` field shows them.
pub fn lowercase_tokens(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some((start, end, ascii)) = next_word(text, at) {
        if !out.is_empty() {
            out.push(' ');
        }
        if ascii {
            out.extend(
                bytes[start..end]
                    .iter()
                    .map(|&b| char::from(b.to_ascii_lowercase())),
            );
        } else {
            // Lower-cased whole: a final sigma depends on its place in the word.
            push_lowercase(&mut out, &text[start..end]);
        }
        at = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The obvious definition, to compare the fast paths with.
    fn slow_words(text: &str) -> Vec<&str> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect()
    }

    #[test]
    fn spans_are_the_alphanumeric_runs() {
        for text in [
            "",
            " ,; ",
            "abc",
            "Vitamin-D (25OH) levels; ÉCOLE Straße ΟΔΟΣ…  x",
            "日本語のテキスト、二つ。end",
            "trailing-",
            "é",
            "a\u{0301}b ½ ٣٤",
        ] {
            let spans: Vec<&str> = word_spans(text).map(|(s, e)| &text[s..e]).collect();
            assert_eq!(spans, slow_words(text), "{text:?}");
        }
    }

    #[test]
    fn tokens_are_lowercased_words() {
        let text = "Vitamin-D (25OH) levels; ÉCOLE Straße ΟΔΟΣ…  x";
        let slow: Vec<String> = slow_words(text)
            .into_iter()
            .map(str::to_lowercase)
            .collect();
        assert_eq!(lowercase_tokens(text), slow.join(" "));
        assert_eq!(lowercase_tokens(" ,; "), "");
    }

    /// Random texts over an alphabet of every class the scans tell apart: ASCII letters and
    /// digits, delimiters, and characters past ASCII that are letters (a final sigma, a
    /// combining mark's base), digits, marks or delimiters.
    fn random_texts() -> Vec<String> {
        const ALPHABET: &[&str] = &[
            "a", "B", "z", "0", "9", " ", "-", ".", "\n", "é", "É", "Σ", "σ", "ß", "\u{301}", "٣",
            "½", "…", "–", "日", "👍", "ab", "AB", "ab ", " Ab",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..20_000)
            .map(|_| {
                let len = (next() % 14) as usize;
                (0..len)
                    .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                    .collect()
            })
            .collect()
    }

    /// `highlight` by the obvious definition.
    fn slow_highlight(text: &str, words: &[&str]) -> String {
        let mut out = String::new();
        let mut word = String::new();
        let flush = |word: &mut String, out: &mut String| {
            if words.contains(&word.to_lowercase().as_str()) {
                out.push_str(&format!("<em>{word}</em>"));
            } else {
                out.push_str(word);
            }
            word.clear();
        };
        for c in text.chars() {
            if c.is_alphanumeric() {
                word.push(c);
            } else {
                flush(&mut word, &mut out);
                out.push(c);
            }
        }
        flush(&mut word, &mut out);
        out
    }

    #[test]
    fn the_fast_paths_agree_with_the_obvious_definitions() {
        let query = "ab é σς aé b0 日";
        let words = ["ab", "é", "σς", "aé", "b0", "日"];
        for text in random_texts() {
            let slow: Vec<String> = slow_words(&text)
                .into_iter()
                .map(str::to_lowercase)
                .collect();
            assert_eq!(lowercase_tokens(&text), slow.join(" "), "{text:?}");
            assert_eq!(
                highlight(&text, query),
                slow_highlight(&text, &words),
                "{text:?}"
            );
        }
    }

    #[test]
    fn highlight_marks_whole_words() {
        assert_eq!(
            highlight("Rust is fast; rusty is not.", "rust"),
            "<em>Rust</em> is fast; rusty is not."
        );
        assert_eq!(highlight("abc", ""), "abc");
        assert_eq!(highlight("the a of", "the of"), "the a of");
        assert_eq!(
            highlight("ÉCOLE école Straße STRASSE x-ray", "école straße ray"),
            "<em>ÉCOLE</em> <em>école</em> <em>Straße</em> STRASSE x-<em>ray</em>"
        );
        let long = "a".repeat(70);
        assert_eq!(
            highlight(&format!("{long} b"), &long),
            format!("<em>{long}</em> b")
        );
    }
}
