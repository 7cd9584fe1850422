//! The built-in offline chat model, `extractive-answerer@Builtin`: it does not generate
//! text, it quotes. From the retrieved chunks it picks the sentences that share the most
//! terms with the question and writes them with `[ID:n]` citations, under a first line that
//! says plainly what it is. It needs no provider and no network, so a fresh deployment can
//! answer (with citations) out of the box.

use async_trait::async_trait;
use lambdarag::domain::models::{BUILTIN_CHAT_MODEL, BUILTIN_FACTORY};
use lambdarag::ports::chat::{
    iter_stream, ChatDelta, ChatMessage, ChatModel, ContextChunk, DeltaStream, GenOptions, Purpose,
};
use lambdarag::ports::ModelError;

/// The first line of every answer.
pub const BUILTIN_ANSWER_HEADER: &str =
    "(Built-in extractive answer — configure a chat model provider for generated answers.)";
/// The first line of related-question suggestions.
pub const BUILTIN_SUGGESTIONS_HEADER: &str =
    "(Built-in keyword suggestions — configure a chat model provider for generated ones.)";

/// Sentences quoted at most.
const MAX_SENTENCES: usize = 4;
/// Characters quoted at most (a sentence that alone exceeds it is still quoted).
const MAX_CHARS: usize = 900;
/// Words per streamed delta.
const WORDS_PER_DELTA: usize = 3;

const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did", "do",
    "does", "for", "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its",
    "me", "my", "of", "on", "or", "our", "please", "should", "so", "tell", "than", "that", "the",
    "their", "them", "then", "there", "these", "they", "this", "those", "to", "us", "was", "we",
    "were", "what", "when", "where", "which", "who", "whom", "why", "will", "with", "would", "you",
    "your", "about", "any", "all", "some", "much", "many", "there", "give",
];

/// The built-in extractive answerer.
#[derive(Debug, Clone)]
pub struct ExtractiveAnswerer {
    model_id: String,
}

impl Default for ExtractiveAnswerer {
    fn default() -> Self {
        ExtractiveAnswerer {
            model_id: format!("{BUILTIN_CHAT_MODEL}@{BUILTIN_FACTORY}"),
        }
    }
}

impl ExtractiveAnswerer {
    pub fn new() -> Self {
        Self::default()
    }
}

/// A term as matched: lower-case; words of 5+ characters compare by their first 5, a crude
/// stem that lets `panels` meet `panel` and `converts` meet `convert`.
fn term_key(word: &str) -> String {
    let w = word.to_lowercase();
    if w.chars().count() > 5 {
        w.chars().take(5).collect()
    } else {
        w
    }
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// The distinct terms of a question that carry meaning.
pub fn question_terms(question: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in words(question) {
        let lower = w.to_lowercase();
        if STOP_WORDS.contains(&lower.as_str()) {
            continue;
        }
        if lower.chars().count() < 2 && !lower.chars().all(|c| c.is_numeric()) {
            continue;
        }
        let key = term_key(&lower);
        if !out.contains(&key) {
            out.push(key);
        }
    }
    out
}

/// Split a passage into sentences: at line breaks and after `.`, `!`, `?` (and their
/// full-width forms) followed by whitespace or the end.
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut current = String::new();
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            current.push(c);
            let ends = matches!(c, '.' | '!' | '?' | '。' | '！' | '？')
                && chars.peek().is_none_or(|n| n.is_whitespace());
            if ends {
                push_sentence(&mut out, &current);
                current.clear();
            }
        }
        push_sentence(&mut out, &current);
    }
    out
}

fn push_sentence(out: &mut Vec<String>, s: &str) {
    let s = s.trim();
    if s.chars().filter(|c| c.is_alphanumeric()).count() >= 3 {
        out.push(s.to_string());
    }
}

/// A candidate sentence: where it comes from and how many question terms it holds.
struct Candidate {
    chunk: usize,
    position: usize,
    text: String,
    matched: usize,
}

fn candidates(terms: &[String], context: &[ContextChunk]) -> Vec<Candidate> {
    let mut out = Vec::new();
    for (chunk, c) in context.iter().enumerate() {
        for (position, text) in sentences(&c.content).into_iter().enumerate() {
            let keys: Vec<String> = words(&text).map(term_key).collect();
            let matched = terms.iter().filter(|t| keys.contains(t)).count();
            out.push(Candidate {
                chunk,
                position,
                text,
                matched,
            });
        }
    }
    out
}

fn cite(text: &str, chunk: usize, on: bool) -> String {
    if on {
        format!("{text} [ID:{chunk}]")
    } else {
        text.to_string()
    }
}

/// The full answer for a question over the retrieved chunks.
pub fn compose_answer(question: &str, context: &[ContextChunk], cite_on: bool) -> String {
    let mut out = String::from(BUILTIN_ANSWER_HEADER);
    out.push_str("\n\n");
    if context.is_empty() {
        out.push_str(
            "Nothing relevant to this question was found in the chat's datasets, so there is \
             no passage to quote.",
        );
        return out;
    }
    let terms = question_terms(question);
    let mut all = candidates(&terms, context);
    all.sort_by(|a, b| {
        b.matched
            .cmp(&a.matched)
            .then(a.chunk.cmp(&b.chunk))
            .then(a.position.cmp(&b.position))
    });
    let mut picked: Vec<&Candidate> = Vec::new();
    let mut used = 0usize;
    for c in all.iter().filter(|c| c.matched > 0) {
        if picked.len() >= MAX_SENTENCES {
            break;
        }
        let len = c.text.chars().count();
        if !picked.is_empty() && used + len > MAX_CHARS {
            continue;
        }
        if picked.iter().any(|p| p.text == c.text) {
            continue;
        }
        used += len;
        picked.push(c);
    }
    if picked.is_empty() {
        // Retrieval found passages, but none shares a word with the question (a match by
        // meaning only): quote the best-ranked passage's opening.
        out.push_str(
            "No sentence of the retrieved passages shares words with the question; the \
             best-ranked passage says:\n\n",
        );
        let first = all
            .iter()
            .filter(|c| c.chunk == 0)
            .min_by_key(|c| c.position)
            .map(|c| c.text.clone())
            .unwrap_or_else(|| context[0].content.trim().to_string());
        out.push_str(&cite(&first, 0, cite_on));
        return out;
    }
    let lines: Vec<String> = picked
        .iter()
        .map(|c| cite(&c.text, c.chunk, cite_on))
        .collect();
    out.push_str(&lines.join("\n"));
    out
}

/// Sentences under one branch of the built-in mind map at most.
const MIND_MAP_LEAVES: usize = 3;
/// Characters of one mind-map leaf at most (longer sentences are cut at a word).
const MIND_MAP_LEAF_CHARS: usize = 160;

fn shortened(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let cut: String = text.chars().take(limit).collect();
    let cut = match cut.rfind(char::is_whitespace) {
        Some(i) if i > limit / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end())
}

/// A markdown outline without generation: the question as the topic, one branch per
/// source document (in rank order), under each the sentences that share the most terms
/// with the question first, then its others in reading order.
pub fn compose_mind_map(question: &str, context: &[ContextChunk]) -> String {
    let topic = question.trim();
    let mut out = format!("# {}\n", if topic.is_empty() { "Topic" } else { topic });
    let terms = question_terms(question);
    let all = candidates(&terms, context);
    let mut documents: Vec<&str> = Vec::new();
    for c in context {
        if !documents.contains(&c.document_name.as_str()) {
            documents.push(&c.document_name);
        }
    }
    for doc in documents {
        let mut mine: Vec<&Candidate> = all
            .iter()
            .filter(|c| context[c.chunk].document_name == doc)
            .collect();
        // Best-matching first; rank order, then reading order, among equals.
        mine.sort_by(|a, b| {
            b.matched
                .cmp(&a.matched)
                .then(a.chunk.cmp(&b.chunk))
                .then(a.position.cmp(&b.position))
        });
        let mut leaves: Vec<String> = Vec::new();
        for c in mine {
            let leaf = shortened(&c.text, MIND_MAP_LEAF_CHARS);
            if !leaves.contains(&leaf) {
                leaves.push(leaf);
            }
            if leaves.len() == MIND_MAP_LEAVES {
                break;
            }
        }
        let name = if doc.trim().is_empty() {
            "Passages"
        } else {
            doc
        };
        out.push_str(&format!("## {name}\n"));
        for leaf in leaves {
            out.push_str(&format!("- {leaf}\n"));
        }
    }
    out
}

/// Related search questions built from the question's keywords (no generation).
pub fn compose_suggestions(user_message: &str) -> String {
    let keywords = user_message
        .trim()
        .trim_start_matches("Keywords:")
        .split("\nRelated search terms:")
        .next()
        .unwrap_or("")
        .trim();
    let terms: Vec<&str> = words(keywords)
        .filter(|w| !STOP_WORDS.contains(&w.to_lowercase().as_str()))
        .collect();
    let topic = if terms.is_empty() {
        keywords.to_string()
    } else {
        terms.join(" ")
    };
    let mut out = String::from(BUILTIN_SUGGESTIONS_HEADER);
    out.push('\n');
    if topic.is_empty() {
        return out;
    }
    let templates = [
        format!("What is {topic}?"),
        format!("How does {topic} work?"),
        format!("What are the benefits of {topic}?"),
        format!("What are common problems with {topic}?"),
        format!("{topic} examples"),
    ];
    for (i, t) in templates.iter().enumerate() {
        out.push_str(&format!("{}. {t}\n", i + 1));
    }
    out
}

/// Cut a text into small deltas (a few words each, whitespace kept), as a model streams.
pub fn deltas(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut words_in = 0usize;
    let mut in_word = false;
    for c in text.chars() {
        let space = c.is_whitespace();
        if !space && !in_word {
            words_in += 1;
            if words_in > WORDS_PER_DELTA {
                out.push(std::mem::take(&mut current));
                words_in = 1;
            }
        }
        in_word = !space;
        current.push(c);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[async_trait]
impl ChatModel for ExtractiveAnswerer {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    async fn stream(
        &self,
        messages: &[ChatMessage],
        opts: &GenOptions,
    ) -> Result<DeltaStream, ModelError> {
        let question = messages
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .map(|m| m.content.as_str())
            .unwrap_or("");
        let text = match opts.purpose {
            Purpose::Answer => compose_answer(question, &opts.context, opts.cite),
            Purpose::RelatedQuestions => compose_suggestions(question),
            // Keywords would only repeat the question's own words, which BM25 already
            // weighs; with no model to add synonyms, the built-in adds nothing.
            Purpose::Keywords => String::new(),
            // No translation model in-process: the question is searched as asked.
            Purpose::Translate => String::new(),
            Purpose::MindMap => compose_mind_map(question, &opts.context),
            // Choosing conditions from a question needs understanding it: the built-in
            // writes none, and retrieval stays unrestricted.
            Purpose::MetadataFilter => String::new(),
        };
        Ok(iter_stream(
            deltas(&text)
                .into_iter()
                .map(|d| Ok(ChatDelta::text(d)))
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(text: &str) -> ContextChunk {
        ContextChunk {
            content: text.into(),
            document_name: "d.txt".into(),
        }
    }

    #[test]
    fn mind_map_branches_by_document_with_the_best_sentences() {
        let mut other = chunk("Inverters turn DC into AC. Panels face south.");
        other.document_name = "e.txt".into();
        let ctx = vec![
            chunk("The weather was mild. Solar panels convert sunlight into electricity."),
            other,
            chunk("Clean the panels twice a year."),
        ];
        let m = compose_mind_map("solar panels", &ctx);
        assert_eq!(
            m,
            "# solar panels\n## d.txt\n- Solar panels convert sunlight into electricity.\n\
             - Clean the panels twice a year.\n- The weather was mild.\n\
             ## e.txt\n- Panels face south.\n- Inverters turn DC into AC.\n"
        );
        assert_eq!(compose_mind_map("", &[]), "# Topic\n");
    }

    #[test]
    fn picks_overlapping_sentences_with_citations() {
        let ctx = vec![
            chunk("The weather was mild. Solar panels convert sunlight into electricity."),
            chunk("Wind turbines use moving air.\nPanels need cleaning twice a year!"),
        ];
        let a = compose_answer("How do solar panels work?", &ctx, true);
        let lines: Vec<&str> = a.lines().collect();
        assert_eq!(lines[0], BUILTIN_ANSWER_HEADER);
        assert_eq!(
            lines[2],
            "Solar panels convert sunlight into electricity. [ID:0]"
        );
        assert_eq!(lines[3], "Panels need cleaning twice a year! [ID:1]");
        assert!(
            !a.contains("weather"),
            "sentences without question terms are left out"
        );
        assert!(!a.contains("Wind"));
        let plain = compose_answer("How do solar panels work?", &ctx, false);
        assert!(!plain.contains("[ID:"), "no markers when quoting is off");
    }

    #[test]
    fn says_so_when_nothing_was_retrieved_or_matched() {
        let a = compose_answer("anything", &[], true);
        assert!(a.starts_with(BUILTIN_ANSWER_HEADER));
        assert!(a.contains("Nothing relevant"));
        let a = compose_answer(
            "photosynthesis",
            &[chunk("Plants grow in light. More text.")],
            true,
        );
        assert!(a.contains("best-ranked passage"));
        assert!(a.ends_with("Plants grow in light. [ID:0]"));
    }

    #[test]
    fn streams_in_small_deltas_that_rebuild_the_text() {
        let text = "one two three four five six seven";
        let d = deltas(text);
        assert_eq!(d, vec!["one two three ", "four five six ", "seven"]);
        assert_eq!(d.concat(), text);
        let long = compose_answer("solar", &[chunk("Solar power is great.")], true);
        assert_eq!(deltas(&long).concat(), long);
        assert!(deltas(&long).len() > 3);
    }

    #[test]
    fn suggestions_are_numbered_lines() {
        let s = compose_suggestions("Keywords: solar panels\nRelated search terms:\n");
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], BUILTIN_SUGGESTIONS_HEADER);
        assert_eq!(lines[1], "1. What is solar panels?");
        assert_eq!(lines.len(), 6);
    }

    #[test]
    fn question_terms_drop_stop_words_and_stem() {
        assert_eq!(
            question_terms("What are the Solar Panels of 2024?"),
            vec!["solar", "panel", "2024"]
        );
    }
}
