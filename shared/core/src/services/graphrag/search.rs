//! `use_kg`: the knowledge graph's answer to a question, as one chunk that retrieval and
//! chats put first (upstream's "Related content in Knowledge Graph" chunk): the entities
//! nearest the question, the relations nearest it or between those entities, and the
//! report of the community most of those entities belong to, as CSV tables and markdown.

use std::collections::HashSet;

use super::graph::{Community, Entity, KnowledgeGraph, Relation};

/// The name upstream gives the graph's chunk in place of a document name.
pub const GRAPH_CHUNK_NAME: &str = "Related content in Knowledge Graph";
/// Entities and relations below this similarity are not related to the question.
const MIN_SIMILARITY: f32 = 0.3;
const TOP_ENTITIES: usize = 6;
const TOP_RELATIONS: usize = 6;
/// Characters of the chunk at most (a prompt budget, roughly upstream's tokens).
const MAX_CHARS: usize = 12_000;

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na <= 0.0 || nb <= 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}

/// A CSV field, quoted when it must be.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = header.join(",");
    out.push('\n');
    for r in rows {
        out.push_str(&r.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// Names the question mentions (upper-cased word sequences of an entity inside it).
fn mentioned(question: &str, e: &Entity) -> bool {
    let q = format!(
        " {} ",
        question
            .to_uppercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let name: Vec<&str> = e
        .name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    !name.is_empty() && q.contains(&format!(" {} ", name.join(" ")))
}

/// What the graphs answer for one question: the chunk's text, empty when nothing relates.
pub fn answer(graphs: &[KnowledgeGraph], question: &str, query: &[f32]) -> String {
    // Entities: similarity (a named entity counts as fully similar), then PageRank.
    let mut ents: Vec<(f32, &Entity)> = graphs
        .iter()
        .flat_map(|g| g.entities.iter())
        .map(|e| {
            let sim = if mentioned(question, e) {
                1.0
            } else {
                cosine(query, &e.vector)
            };
            (sim, e)
        })
        .filter(|(s, _)| *s >= MIN_SIMILARITY)
        .collect();
    ents.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(b.1.pagerank.total_cmp(&a.1.pagerank))
            .then(a.1.name.cmp(&b.1.name))
    });
    ents.truncate(TOP_ENTITIES);
    let chosen: HashSet<&str> = ents.iter().map(|(_, e)| e.name.as_str()).collect();

    // Relations: similarity, raised for those between chosen entities.
    let mut rels: Vec<(f32, &Relation)> = graphs
        .iter()
        .flat_map(|g| g.relations.iter())
        .map(|r| {
            let mut s = cosine(query, &r.vector);
            let ends = [r.source.as_str(), r.target.as_str()]
                .iter()
                .filter(|n| chosen.contains(**n))
                .count();
            s += 0.5 * ends as f32;
            (s, r)
        })
        .filter(|(s, _)| *s >= MIN_SIMILARITY)
        .collect();
    rels.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(b.1.weight.total_cmp(&a.1.weight))
            .then(a.1.source.cmp(&b.1.source))
    });
    rels.truncate(TOP_RELATIONS);

    // The community holding most of the chosen entities (ties: the higher rated).
    let community: Option<&Community> = graphs
        .iter()
        .flat_map(|g| g.communities.iter())
        .map(|c| {
            (
                c.entities
                    .iter()
                    .filter(|n| chosen.contains(n.as_str()))
                    .count(),
                c,
            )
        })
        .filter(|(n, _)| *n > 0)
        .max_by(|a, b| a.0.cmp(&b.0).then(a.1.rating.total_cmp(&b.1.rating)))
        .map(|(_, c)| c);

    if ents.is_empty() && rels.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    if !ents.is_empty() {
        let rows: Vec<Vec<String>> = ents
            .iter()
            .map(|(s, e)| vec![e.name.clone(), format!("{s:.2}"), e.description.clone()])
            .collect();
        out.push_str("\n---- Entities ----\n");
        out.push_str(&csv(&["Entity", "Score", "Description"], &rows));
    }
    if !rels.is_empty() {
        let rows: Vec<Vec<String>> = rels
            .iter()
            .map(|(s, r)| {
                vec![
                    r.source.clone(),
                    r.target.clone(),
                    format!("{s:.2}"),
                    r.description.clone(),
                ]
            })
            .collect();
        out.push_str("\n---- Relations ----\n");
        out.push_str(&csv(
            &["From Entity", "To Entity", "Score", "Description"],
            &rows,
        ));
    }
    if let Some(c) = community {
        out.push_str("\n---- Community Report ----\n");
        out.push_str(&c.report);
        out.push('\n');
    }
    if out.chars().count() > MAX_CHARS {
        out = out.chars().take(MAX_CHARS).collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(name: &str, v: Vec<f32>, pagerank: f64) -> Entity {
        Entity {
            name: name.into(),
            entity_type: "person".into(),
            description: format!("About {name}, with \"quotes\", and commas"),
            source_id: vec!["d".into()],
            pagerank,
            vector: v,
        }
    }

    #[test]
    fn named_and_similar_entities_come_first_with_their_relations() {
        let g = KnowledgeGraph {
            entities: vec![
                entity("MARIE CURIE", vec![0.0, 1.0], 0.2),
                entity("PARIS", vec![1.0, 0.0], 0.5),
                entity("FAR AWAY", vec![-1.0, 0.0], 0.9),
            ],
            relations: vec![Relation {
                source: "MARIE CURIE".into(),
                target: "PARIS".into(),
                description: "Marie Curie worked in Paris.".into(),
                keywords: vec![],
                weight: 2.0,
                source_id: vec!["d".into()],
                vector: vec![0.7, 0.7],
            }],
            communities: vec![Community {
                title: "Curie".into(),
                report: "# Curie\n\nA report.".into(),
                entities: vec!["MARIE CURIE".into(), "PARIS".into()],
                rating: 5.0,
                vector: vec![],
            }],
            ..Default::default()
        };
        let text = answer(&[g], "Where did Marie Curie work?", &[1.0, 0.0]);
        let ents = text.split("---- Relations ----").next().unwrap_or_default();
        assert!(
            ents.contains(
                "MARIE CURIE,1.00,\"About MARIE CURIE, with \"\"quotes\"\", and commas\""
            ),
            "{text}"
        );
        assert!(ents.contains("PARIS,1.00"), "{text}");
        assert!(!text.contains("FAR AWAY"), "{text}");
        assert!(text.contains("MARIE CURIE,PARIS,"), "{text}");
        assert!(
            text.contains("---- Community Report ----\n# Curie"),
            "{text}"
        );
        assert!(answer(&[], "anything", &[1.0, 0.0]).is_empty());
    }
}
