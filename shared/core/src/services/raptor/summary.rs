//! Summaries of one cluster: the prompt a chat model gets, the cleaning of its answer, and
//! the extractive summary used when the tenant has only the built-in answerer (which
//! quotes, and cannot write a summary): the sentences nearest the cluster's centroid.

use super::cluster::dot;

/// Tokens a cluster's text may take in the prompt, before the answer's `max_token`.
pub const PROMPT_BUDGET: usize = 8192;

/// A rough token count: words, and each CJK character as one.
pub fn approx_tokens(text: &str) -> usize {
    text.split_whitespace()
        .map(|w| {
            let cjk = w.chars().filter(|c| is_cjk(*c)).count();
            if cjk == 0 {
                1
            } else {
                cjk + usize::from(w.chars().any(|c| !is_cjk(c)))
            }
        })
        .sum()
}

fn is_cjk(c: char) -> bool {
    matches!(u32::from(c), 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF)
}

/// The first `max` tokens of `text` (whole words).
pub fn truncate_tokens(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for w in text.split_whitespace() {
        let t = approx_tokens(w);
        if used + t > max && used > 0 {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
        used += t;
    }
    out
}

/// The user message: the configured prompt with `{cluster_content}` replaced by the
/// members' texts, each cut to its share of the prompt budget.
pub fn prompt(template: &str, texts: &[&str], max_token: usize) -> String {
    let share = (PROMPT_BUDGET.saturating_sub(max_token) / texts.len().max(1)).max(1);
    let content = texts
        .iter()
        .map(|t| truncate_tokens(t, share))
        .collect::<Vec<_>>()
        .join("\n");
    if template.contains("{cluster_content}") {
        template.replace("{cluster_content}", &content)
    } else {
        format!("{template}\n{content}")
    }
}

/// A model's answer without its reasoning and the truncation notice upstream strips.
pub fn clean_answer(answer: &str) -> String {
    let after_think = match answer.rfind("</think>") {
        Some(i) => &answer[i + "</think>".len()..],
        None => answer,
    };
    after_think
        .replace("For the content length reason, it stopped, continue?", "")
        .trim()
        .to_string()
}

/// Sentences of a text: cut after `.`, `!`, `?` (followed by a space or the end), CJK
/// sentence marks, and line breaks.
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' || c == '\r' {
            push_sentence(&mut out, &mut cur);
            continue;
        }
        cur.push(c);
        let end = match c {
            '。' | '！' | '？' | '；' => true,
            '.' | '!' | '?' => chars.peek().is_none_or(|n| n.is_whitespace()),
            _ => false,
        };
        if end {
            push_sentence(&mut out, &mut cur);
        }
    }
    push_sentence(&mut out, &mut cur);
    out
}

fn push_sentence(out: &mut Vec<String>, cur: &mut String) {
    let s = cur.trim();
    if !s.is_empty() {
        out.push(s.to_string());
    }
    cur.clear();
}

/// The most central sentences: ranked by cosine to `centroid`, taken while they fit in
/// `max_token` (at least one), and given back in their original order.
pub fn extractive(
    sentences: &[String],
    vectors: &[Vec<f32>],
    centroid: &[f32],
    max_token: usize,
) -> String {
    let mut ranked: Vec<(usize, f32)> = sentences
        .iter()
        .enumerate()
        .map(|(i, _)| {
            let score = vectors
                .get(i)
                .filter(|v| v.len() == centroid.len())
                .map(|v| dot(&super::cluster::normalised(v), centroid))
                .unwrap_or(f32::NEG_INFINITY);
            (i, score)
        })
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut chosen = Vec::new();
    let mut used = 0;
    for (i, _) in ranked {
        let t = approx_tokens(&sentences[i]);
        if used + t > max_token && !chosen.is_empty() {
            continue;
        }
        chosen.push(i);
        used += t;
    }
    chosen.sort_unstable();
    chosen
        .iter()
        .map(|i| sentences[*i].as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_split_on_marks_and_lines() {
        assert_eq!(
            sentences("One. Two! Is it 3.5? Yes\nnew line。中文句子。"),
            vec![
                "One.",
                "Two!",
                "Is it 3.5?",
                "Yes",
                "new line。",
                "中文句子。"
            ]
        );
        assert!(sentences("  \n ").is_empty());
    }

    #[test]
    fn the_prompt_fills_cluster_content_and_cuts_long_members() {
        let p = prompt("Sum up:\n {cluster_content}\nDone.", &["a b c", "d e"], 256);
        assert_eq!(p, "Sum up:\n a b c\nd e\nDone.");
        let long = "w ".repeat(10_000);
        let p = prompt("{cluster_content}", &[&long, "x"], 192);
        assert_eq!(
            approx_tokens(&p),
            4000 + 1,
            "each member gets half the budget"
        );
        assert_eq!(prompt("No slot", &["t"], 10), "No slot\nt");
    }

    #[test]
    fn answers_lose_reasoning_and_the_truncation_notice() {
        assert_eq!(clean_answer("<think>hmm</think>\n Summary."), "Summary.");
        assert_eq!(
            clean_answer("Text For the content length reason, it stopped, continue?"),
            "Text"
        );
    }

    #[test]
    fn extractive_summaries_keep_the_central_sentences_in_order() {
        let s: Vec<String> = ["far away", "close one", "closest", "also close"]
            .iter()
            .map(|x| x.to_string())
            .collect();
        let v = vec![
            vec![0.0, 1.0],
            vec![0.8, 0.6],
            vec![1.0, 0.0],
            vec![0.6, 0.8],
        ];
        let c = [1.0, 0.0];
        assert_eq!(extractive(&s, &v, &c, 4), "close one closest");
        assert_eq!(
            extractive(&s, &v, &c, 1),
            "closest",
            "at least one sentence"
        );
        assert_eq!(
            extractive(&s, &v, &c, 100),
            "far away close one closest also close"
        );
    }

    #[test]
    fn token_counts() {
        assert_eq!(approx_tokens("two words"), 2);
        assert_eq!(approx_tokens("检索增强 rag"), 5);
        assert_eq!(truncate_tokens("a b c d", 2), "a b");
        assert_eq!(
            truncate_tokens("检索增强", 2),
            "检索增强",
            "one overlong word is kept"
        );
    }
}
