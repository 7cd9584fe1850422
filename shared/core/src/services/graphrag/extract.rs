//! Finding entities and relations in text: with the tenant's chat model (our prompt, a
//! JSON answer), or with the built-in extractor (proper-noun phrases, typed by cue words,
//! related when they share a sentence), and writing community reports either way.

use std::collections::{BTreeSet, HashSet};

use serde_json::Value;

use super::graph::{Entity, Extraction, Relation};
use crate::services::raptor::summary::sentences;

/// Marks our extraction prompt (the local stand-in model recognises it).
pub const EXTRACTION_HEADER: &str = "KNOWLEDGE-GRAPH EXTRACTION";
/// Marks our community-report prompt.
pub const REPORT_HEADER: &str = "COMMUNITY REPORT";
/// Entities kept per sentence by the built-in extractor (pairs grow quadratically).
const MAX_PER_SENTENCE: usize = 8;
const MAX_DESCRIPTION_CHARS: usize = 400;

/// Capitalised words that start a sentence or a clause without naming anything.
const LEADING_WORDS: &[&str] = &[
    "a", "an", "the", "this", "that", "these", "those", "in", "on", "at", "by", "for", "from",
    "with", "it", "he", "she", "they", "we", "i", "his", "her", "their", "its", "our", "my",
    "your", "when", "while", "after", "before", "during", "although", "but", "and", "or", "if",
    "as", "there", "here", "what", "which", "who", "how", "why", "where", "each", "every", "some",
    "many", "most", "all", "both", "one", "two", "three", "today", "then", "also", "however",
    "because", "since", "so", "to", "of", "not", "no", "yes", "you",
];
/// Lower-case words that may join the words of one name ("University of Paris").
const JOINERS: &[&str] = &[
    "of", "de", "du", "la", "van", "von", "der", "da", "del", "di",
];
const ORGANIZATION_CUES: &[&str] = &[
    "inc",
    "corp",
    "corporation",
    "ltd",
    "llc",
    "university",
    "institute",
    "company",
    "society",
    "agency",
    "council",
    "association",
    "bank",
    "museum",
    "academy",
    "laboratory",
    "school",
    "college",
    "foundation",
    "ministry",
    "department",
    "group",
    "committee",
    "club",
    "party",
    "team",
];
const PLACE_CUES: &[&str] = &["in", "at", "near", "from", "to", "across", "around"];
const PERSON_CUES: &[&str] = &["mr", "mrs", "ms", "dr", "prof", "professor", "sir", "lady"];

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

/// A word without the punctuation around it, and whether punctuation ended it.
fn bare(word: &str) -> (&str, bool) {
    let trimmed_end =
        word.trim_end_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '-');
    let ended = trimmed_end.len() < word.len();
    let w = trimmed_end
        .trim_start_matches(|c: char| !c.is_alphanumeric())
        .trim_end_matches(['\'', '-']);
    (w, ended)
}

fn capitalised(w: &str) -> bool {
    w.chars().next().is_some_and(char::is_uppercase) && w.chars().any(char::is_alphabetic)
}

/// Words written with a capital somewhere other than a sentence's start: the evidence that
/// a sentence-initial word is a name too.
fn mid_sentence_capitals(texts: &[&str]) -> HashSet<String> {
    let mut out = HashSet::new();
    for t in texts {
        for s in sentences(t) {
            for w in s.split_whitespace().skip(1) {
                let (b, _) = bare(w);
                if capitalised(b) && !LEADING_WORDS.contains(&b.to_lowercase().as_str()) {
                    out.insert(b.to_string());
                }
            }
        }
    }
    out
}

/// The names in one sentence, each with the lower-cased word before it.
fn names_in(sentence: &str, known: &HashSet<String>) -> Vec<(String, String)> {
    let words: Vec<&str> = sentence.split_whitespace().collect();
    let mut out: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let (w, _) = bare(words[i]);
        if !capitalised(w) || LEADING_WORDS.contains(&w.to_lowercase().as_str()) {
            i += 1;
            continue;
        }
        let start = i;
        let mut parts = vec![w.to_string()];
        let mut ended = bare(words[i]).1;
        i += 1;
        while !ended && i < words.len() {
            let (next, end) = bare(words[i]);
            if capitalised(next) && !LEADING_WORDS.contains(&next.to_lowercase().as_str()) {
                parts.push(next.to_string());
                ended = end;
                i += 1;
            } else if JOINERS.contains(&next)
                && !end
                && i + 1 < words.len()
                && capitalised(bare(words[i + 1]).0)
            {
                parts.push(next.to_string());
                i += 1;
            } else {
                break;
            }
        }
        // A lone capitalised word opening the sentence is a name only if the text writes
        // it capitalised elsewhere too.
        if start == 0 && parts.len() == 1 && !known.contains(&parts[0]) {
            continue;
        }
        let name = parts.join(" ");
        if name.chars().filter(|c| c.is_alphabetic()).count() < 2 {
            continue;
        }
        let before = if start == 0 {
            String::new()
        } else {
            bare(words[start - 1]).0.to_lowercase()
        };
        if !out.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            out.push((name, before));
        }
    }
    out
}

/// A type for a name from the words in and before it, among the configured types.
fn guess_type(name: &str, before: &str, types: &[String]) -> String {
    let has = |t: &str| types.iter().any(|x| x.eq_ignore_ascii_case(t));
    let lower: Vec<String> = name.split_whitespace().map(str::to_lowercase).collect();
    let pick = if lower
        .iter()
        .any(|w| ORGANIZATION_CUES.contains(&w.trim_end_matches('.')))
    {
        "organization"
    } else if PERSON_CUES.contains(&before.trim_end_matches('.')) {
        "person"
    } else if PLACE_CUES.contains(&before) {
        if has("geo") {
            "geo"
        } else {
            "location"
        }
    } else {
        "category"
    };
    if has(pick) || types.is_empty() {
        pick.to_string()
    } else {
        types
            .iter()
            .find(|t| t.eq_ignore_ascii_case("category"))
            .or_else(|| types.first())
            .cloned()
            .unwrap_or_else(|| pick.to_string())
    }
}

/// The built-in extractor over a dataset's chunks: per chunk, the names of each sentence
/// (described by that sentence) and a relation between every two names sharing one.
pub fn builtin(chunks: &[(String, String)], types: &[String]) -> Vec<(String, Extraction)> {
    let texts: Vec<&str> = chunks.iter().map(|(_, t)| t.as_str()).collect();
    let known = mid_sentence_capitals(&texts);
    chunks
        .iter()
        .map(|(doc, text)| {
            let mut x = Extraction::default();
            for s in sentences(text) {
                let mut names = names_in(&s, &known);
                names.truncate(MAX_PER_SENTENCE);
                let description = clip(&s, MAX_DESCRIPTION_CHARS);
                for (name, before) in &names {
                    x.entities.push((
                        name.clone(),
                        guess_type(name, before, types),
                        description.clone(),
                    ));
                }
                for (i, (a, _)) in names.iter().enumerate() {
                    for (b, _) in &names[i + 1..] {
                        x.relations
                            .push((a.clone(), b.clone(), description.clone(), vec![], 1.0));
                    }
                }
            }
            (doc.clone(), x)
        })
        .collect()
}

/// The extraction prompt for a batch of text.
pub fn extraction_prompt(types: &[String], text: &str) -> String {
    format!(
        "{EXTRACTION_HEADER}\n\
Read the text at the end and list:\n\
1. every entity it names whose type is one of: {types}. Give each its name as written, its \
type, and one sentence describing it using only the text.\n\
2. every pair of those entities that the text clearly relates, with one sentence describing \
the relation, a few keywords, and a strength from 1 (loosely related) to 10 (tightly related).\n\
Answer with one JSON object and nothing else, in this shape:\n\
{{\"entities\": [{{\"name\": \"...\", \"type\": \"...\", \"description\": \"...\"}}], \
\"relations\": [{{\"source\": \"...\", \"target\": \"...\", \"description\": \"...\", \
\"keywords\": [\"...\"], \"strength\": 5}}]}}\n\n\
Text:\n{text}",
        types = types.join(", ")
    )
}

/// The first JSON object in a model's answer (models wrap answers in prose or fences).
fn json_object(answer: &str) -> Option<Value> {
    let start = answer.find('{')?;
    let end = answer.rfind('}')?;
    if end <= start {
        return None;
    }
    serde_json::from_str(&answer[start..=end]).ok()
}

fn text_of(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// Read a model's extraction answer; None if it is not the JSON asked for.
pub fn parse_extraction(answer: &str) -> Option<Extraction> {
    let v = json_object(answer)?;
    let mut x = Extraction::default();
    for e in v
        .get("entities")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = text_of(e, "name");
        if !name.is_empty() {
            x.entities
                .push((name, text_of(e, "type"), text_of(e, "description")));
        }
    }
    for r in v
        .get("relations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (a, b) = (text_of(r, "source"), text_of(r, "target"));
        if a.is_empty() || b.is_empty() {
            continue;
        }
        let keywords = match r.get("keywords") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(Value::String(s)) => s.split(',').map(|k| k.trim().to_string()).collect(),
            _ => vec![],
        };
        let strength = match r.get("strength") {
            Some(Value::Number(n)) => n.as_f64().unwrap_or(1.0),
            Some(Value::String(s)) => s.trim().parse().unwrap_or(1.0),
            _ => 1.0,
        };
        x.relations.push((
            a,
            b,
            text_of(r, "description"),
            keywords,
            strength.clamp(0.0, 10.0),
        ));
    }
    if v.get("entities").is_none() && v.get("relations").is_none() {
        return None;
    }
    Some(x)
}

/// What a community's report is written from: its entities and the relations among them.
pub fn community_facts(members: &[&Entity], relations: &[&Relation]) -> String {
    let mut out = String::from("Entities:\n");
    for e in members {
        out.push_str(&format!(
            "- {} ({}): {}\n",
            e.name,
            e.entity_type,
            clip(&e.description.replace('\n', " "), MAX_DESCRIPTION_CHARS)
        ));
    }
    out.push_str("Relations:\n");
    for r in relations {
        out.push_str(&format!(
            "- {} -- {}: {}\n",
            r.source,
            r.target,
            clip(&r.description.replace('\n', " "), MAX_DESCRIPTION_CHARS)
        ));
    }
    out
}

pub fn report_prompt(facts: &str) -> String {
    format!(
        "{REPORT_HEADER}\n\
Write a short report on the community of entities below for someone who has not read the \
source documents: a title naming its key entities, a summary of how they fit together, \
up to five findings each with a one-line summary and an explanation, and an importance \
rating from 0 to 10. Use only the facts given.\n\
Answer with one JSON object and nothing else, in this shape:\n\
{{\"title\": \"...\", \"summary\": \"...\", \"findings\": [{{\"summary\": \"...\", \
\"explanation\": \"...\"}}], \"rating\": 5}}\n\n{facts}"
    )
}

/// A report as markdown, and its rating.
pub fn render_report(title: &str, summary: &str, findings: &[(String, String)]) -> String {
    let mut out = format!("# {title}\n\n{summary}\n");
    for (s, e) in findings {
        out.push_str(&format!("\n## {s}\n\n{e}\n"));
    }
    out
}

/// Read a model's report answer: (title, report markdown, rating).
pub fn parse_report(answer: &str) -> Option<(String, String, f64)> {
    let v = json_object(answer)?;
    let title = text_of(&v, "title");
    if title.is_empty() {
        return None;
    }
    let findings: Vec<(String, String)> = v
        .get("findings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|f| (text_of(f, "summary"), text_of(f, "explanation")))
        .filter(|(s, _)| !s.is_empty())
        .collect();
    let rating = v.get("rating").and_then(Value::as_f64).unwrap_or(0.0);
    Some((
        title.clone(),
        render_report(&title, &text_of(&v, "summary"), &findings),
        rating,
    ))
}

/// A report without a model: the highest-ranked names as the title, the members'
/// descriptions as the summary, the heaviest relations as findings.
pub fn builtin_report(members: &[&Entity], relations: &[&Relation]) -> (String, String, f64) {
    let mut ranked: Vec<&&Entity> = members.iter().collect();
    ranked.sort_by(|a, b| b.pagerank.total_cmp(&a.pagerank).then(a.name.cmp(&b.name)));
    let title = ranked
        .iter()
        .take(3)
        .map(|e| e.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let mut seen = BTreeSet::new();
    let summary = ranked
        .iter()
        .filter_map(|e| e.description.lines().next())
        .filter(|d| seen.insert(d.to_string()))
        .take(5)
        .collect::<Vec<_>>()
        .join(" ");
    let mut heavy: Vec<&&Relation> = relations.iter().collect();
    heavy.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.source.cmp(&b.source)));
    let findings: Vec<(String, String)> = heavy
        .iter()
        .take(5)
        .map(|r| {
            (
                format!("{} and {}", r.source, r.target),
                r.description.lines().next().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let rating = (members.len() as f64).min(10.0);
    (
        title.clone(),
        render_report(&title, &summary, &findings),
        rating,
    )
}
