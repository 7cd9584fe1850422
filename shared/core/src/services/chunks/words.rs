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
    for (start, end) in word_spans(text) {
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
    let mut out = String::with_capacity(text.len());
    for (start, end) in word_spans(text) {
        if !out.is_empty() {
            out.push(' ');
        }
        push_lowercase(&mut out, &text[start..end]);
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
