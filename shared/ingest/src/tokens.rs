//! Token counting as upstream counts: OpenAI's cl100k_base BPE (`tiktoken`).
//!
//! The BPE ranks are compiled into `tiktoken-rs` (no download); the encoder is built once on
//! first use.

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

static BPE: OnceLock<Option<CoreBPE>> = OnceLock::new();

fn bpe() -> Option<&'static CoreBPE> {
    BPE.get_or_init(|| tiktoken_rs::cl100k_base().ok()).as_ref()
}

/// Byte length after which a text is counted in segments cut before whitespace.
const SEGMENT_BYTES: usize = 8 * 1024;
/// Longest run of letters/digits counted as one piece (BPE is quadratic in a piece's
/// length, so a megabyte-long "word" such as a base64 blob would otherwise stall).
const MAX_RUN_BYTES: usize = 256;

/// The number of cl100k_base tokens in `text` (special tokens count as plain text).
///
/// Long texts are counted in segments cut just before whitespace, which matches counting
/// the whole text except for pathological runs of hundreds of characters without a space.
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
    let fits = |n: usize| (n <= limit).then_some(n);
    let Some(bpe) = bpe() else {
        // Unreachable in practice (the ranks are compiled in); a rough estimate otherwise.
        return fits(text.chars().count().div_ceil(4));
    };
    if text.len() <= MAX_RUN_BYTES {
        return fits(bpe.encode_ordinary(text).len());
    }
    let mut total = 0;
    let mut seg_start = 0;
    let mut run = 0usize;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if i - seg_start >= SEGMENT_BYTES {
                total += bpe.encode_ordinary(&text[seg_start..i]).len();
                if total > limit {
                    return None;
                }
                seg_start = i;
            }
            run = 0;
        } else if !c.is_alphanumeric() {
            // Punctuation ends a BPE piece too.
            run = 0;
        } else {
            run += c.len_utf8();
            if run > MAX_RUN_BYTES {
                total += bpe.encode_ordinary(&text[seg_start..i]).len();
                if total > limit {
                    return None;
                }
                seg_start = i;
                run = c.len_utf8();
            }
        }
    }
    if seg_start < text.len() {
        total += bpe.encode_ordinary(&text[seg_start..]).len();
    }
    fits(total)
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

    #[test]
    fn counts_like_tiktoken() {
        assert_eq!(count_tokens(""), 0);
        // Known cl100k_base counts.
        assert_eq!(count_tokens("hello world"), 2);
        assert_eq!(count_tokens("tiktoken is great!"), 6);
    }

    #[test]
    fn long_texts_count_close_to_whole() {
        let text = "The quick brown fox jumps over the lazy dog. ".repeat(2000);
        let whole = bpe().map(|b| b.encode_ordinary(&text).len()).unwrap_or(0);
        let segmented = count_tokens(&text);
        assert!(
            whole.abs_diff(segmented) <= whole / 100 + 2,
            "{whole} vs {segmented}"
        );
        // A long run without spaces stays fast and roughly right.
        let blob = "QUJD".repeat(100_000);
        let n = count_tokens(&blob);
        assert!(n > 10_000, "{n}");
    }
}
