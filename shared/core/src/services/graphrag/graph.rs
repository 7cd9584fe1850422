//! The knowledge graph of a dataset: entities, relations and communities merged across its
//! chunks, ranked by PageRank, rendered as upstream's `node_link_data` graph and mind map.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Descriptions kept per entity or relation after merging (the rest add nothing a reader
/// or a prompt can use).
const MAX_DESCRIPTIONS: usize = 6;
/// D5 keeps the 256 highest-ranked nodes and the 128 heaviest edges among them.
pub const API_NODES: usize = 256;
pub const API_EDGES: usize = 128;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// Upper-cased, whitespace collapsed: the node id.
    pub name: String,
    pub entity_type: String,
    /// One description per source that said something new, newline-separated.
    pub description: String,
    /// The documents it was found in.
    pub source_id: Vec<String>,
    pub pagerank: f64,
    #[serde(default, with = "vector_b64")]
    pub vector: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relation {
    /// The endpoints, in name order (the graph is undirected).
    pub source: String,
    pub target: String,
    pub description: String,
    pub keywords: Vec<String>,
    pub weight: f64,
    pub source_id: Vec<String>,
    #[serde(default, with = "vector_b64")]
    pub vector: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Community {
    pub title: String,
    /// The report, as markdown.
    pub report: String,
    pub entities: Vec<String>,
    pub rating: f64,
    #[serde(default, with = "vector_b64")]
    pub vector: Vec<f32>,
}

/// What one extraction (one chunk, or one batch of chunks) found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Extraction {
    /// (name, type, description)
    pub entities: Vec<(String, String, String)>,
    /// (source, target, description, keywords, strength)
    pub relations: Vec<(String, String, String, Vec<String>, f64)>,
}

/// A dataset's graph as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KnowledgeGraph {
    pub task_id: String,
    /// How it was built ("built-in extractor", or the chat model's id).
    pub method: String,
    pub entities: Vec<Entity>,
    pub relations: Vec<Relation>,
    #[serde(default)]
    pub communities: Vec<Community>,
    pub doc_ids: Vec<String>,
}

/// The canonical form of an entity name.
pub fn entity_key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_matches(|c: char| c == '"' || c == '\'' || c == '.' || c == ',')
        .to_uppercase()
}

/// A looser key for entity resolution: letters and digits only, a plural `S` dropped.
fn resolution_key(name: &str) -> String {
    let k: String = name.chars().filter(|c| c.is_alphanumeric()).collect();
    match k.strip_suffix('S') {
        Some(stem) if stem.len() >= 3 => stem.to_string(),
        _ => k,
    }
}

fn add_description(into: &mut Vec<String>, d: &str) {
    let d = d.trim();
    if !d.is_empty() && into.len() < MAX_DESCRIPTIONS && !into.iter().any(|x| x == d) {
        into.push(d.to_string());
    }
}

#[derive(Default)]
struct EntityAcc {
    types: BTreeMap<String, usize>,
    descriptions: Vec<String>,
    docs: BTreeSet<String>,
}

#[derive(Default)]
struct RelationAcc {
    descriptions: Vec<String>,
    keywords: BTreeSet<String>,
    weight: f64,
    docs: BTreeSet<String>,
}

/// Merge per-source extractions into one graph: same-named entities become one node (the
/// most frequent type wins), relations between the same two entities one edge whose weight
/// is the sum. A relation naming an entity nobody described adds it with type `unknown`.
/// With `resolve`, names differing only in punctuation, spacing or a plural are one.
pub fn merge(found: &[(String, Extraction)], resolve: bool) -> (Vec<Entity>, Vec<Relation>) {
    let mut ents: BTreeMap<String, EntityAcc> = BTreeMap::new();
    let mut rels: BTreeMap<(String, String), RelationAcc> = BTreeMap::new();
    for (doc, x) in found {
        for (name, ty, desc) in &x.entities {
            let key = entity_key(name);
            if key.is_empty() {
                continue;
            }
            let acc = ents.entry(key).or_default();
            *acc.types.entry(ty.trim().to_lowercase()).or_default() += 1;
            add_description(&mut acc.descriptions, desc);
            acc.docs.insert(doc.clone());
        }
        for (a, b, desc, kw, strength) in &x.relations {
            let (a, b) = (entity_key(a), entity_key(b));
            if a.is_empty() || b.is_empty() || a == b {
                continue;
            }
            for end in [&a, &b] {
                let acc = ents.entry(end.clone()).or_default();
                acc.docs.insert(doc.clone());
            }
            let key = if a < b { (a, b) } else { (b, a) };
            let acc = rels.entry(key).or_default();
            add_description(&mut acc.descriptions, desc);
            acc.keywords.extend(
                kw.iter()
                    .map(|k| k.trim().to_string())
                    .filter(|k| !k.is_empty()),
            );
            acc.weight += strength.max(0.0);
            acc.docs.insert(doc.clone());
        }
    }
    if resolve {
        // Each name goes to the first (in name order) with the same loose key.
        let mut canonical: HashMap<String, String> = HashMap::new();
        let mut rename: HashMap<String, String> = HashMap::new();
        for name in ents.keys() {
            let k = resolution_key(name);
            match canonical.get(&k) {
                Some(first) => {
                    rename.insert(name.clone(), first.clone());
                }
                None => {
                    canonical.insert(k, name.clone());
                }
            }
        }
        for (from, to) in &rename {
            if let Some(acc) = ents.remove(from) {
                let into = ents.entry(to.clone()).or_default();
                for (t, n) in acc.types {
                    *into.types.entry(t).or_default() += n;
                }
                for d in &acc.descriptions {
                    add_description(&mut into.descriptions, d);
                }
                into.docs.extend(acc.docs);
            }
        }
        let old = std::mem::take(&mut rels);
        for ((a, b), acc) in old {
            let a = rename.get(&a).cloned().unwrap_or(a);
            let b = rename.get(&b).cloned().unwrap_or(b);
            if a == b {
                continue;
            }
            let key = if a < b { (a, b) } else { (b, a) };
            let into = rels.entry(key).or_default();
            for d in &acc.descriptions {
                add_description(&mut into.descriptions, d);
            }
            into.keywords.extend(acc.keywords);
            into.weight += acc.weight;
            into.docs.extend(acc.docs);
        }
    }
    let entities = ents
        .into_iter()
        .map(|(name, acc)| {
            // Most frequent type; ties to the first in name order; untyped is `unknown`.
            let entity_type = acc
                .types
                .iter()
                .filter(|(t, _)| !t.is_empty())
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(t, _)| t.clone())
                .unwrap_or_else(|| "unknown".into());
            Entity {
                name,
                entity_type,
                description: acc.descriptions.join("\n"),
                source_id: acc.docs.into_iter().collect(),
                pagerank: 0.0,
                vector: vec![],
            }
        })
        .collect();
    let relations = rels
        .into_iter()
        .map(|((source, target), acc)| Relation {
            source,
            target,
            description: acc.descriptions.join("\n"),
            keywords: acc.keywords.into_iter().collect(),
            weight: if acc.weight > 0.0 { acc.weight } else { 1.0 },
            source_id: acc.docs.into_iter().collect(),
            vector: vec![],
        })
        .collect();
    (entities, relations)
}

/// Index of each entity by name.
fn positions(entities: &[Entity]) -> HashMap<&str, usize> {
    entities
        .iter()
        .enumerate()
        .map(|(i, e)| (e.name.as_str(), i))
        .collect()
}

/// Weighted PageRank (damping 0.85) over the undirected graph, written on each entity.
pub fn pagerank(entities: &mut [Entity], relations: &[Relation]) {
    let n = entities.len();
    if n == 0 {
        return;
    }
    let at = positions(entities);
    let mut adj: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for r in relations {
        if let (Some(&a), Some(&b)) = (at.get(r.source.as_str()), at.get(r.target.as_str())) {
            adj[a].push((b, r.weight));
            adj[b].push((a, r.weight));
        }
    }
    let out: Vec<f64> = adj.iter().map(|l| l.iter().map(|(_, w)| w).sum()).collect();
    let d = 0.85;
    let mut rank = vec![1.0 / n as f64; n];
    for _ in 0..100 {
        let dangling: f64 = (0..n).filter(|&i| out[i] <= 0.0).map(|i| rank[i]).sum();
        let base = (1.0 - d) / n as f64 + d * dangling / n as f64;
        let mut next = vec![base; n];
        for i in 0..n {
            if out[i] > 0.0 {
                for &(j, w) in &adj[i] {
                    next[j] += d * rank[i] * w / out[i];
                }
            }
        }
        let delta: f64 = next.iter().zip(&rank).map(|(a, b)| (a - b).abs()).sum();
        rank = next;
        if delta < 1e-9 {
            break;
        }
    }
    for (e, r) in entities.iter_mut().zip(rank) {
        e.pagerank = r;
    }
}

/// Communities by weighted label propagation (deterministic: name order, ties to the
/// smaller label). Only groups of two or more entities are returned, largest first.
pub fn communities(entities: &[Entity], relations: &[Relation]) -> Vec<Vec<String>> {
    let n = entities.len();
    let at = positions(entities);
    let mut adj: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for r in relations {
        if let (Some(&a), Some(&b)) = (at.get(r.source.as_str()), at.get(r.target.as_str())) {
            adj[a].push((b, r.weight));
            adj[b].push((a, r.weight));
        }
    }
    let mut label: Vec<usize> = (0..n).collect();
    for _ in 0..50 {
        let mut changed = false;
        for i in 0..n {
            if adj[i].is_empty() {
                continue;
            }
            let mut score: BTreeMap<usize, f64> = BTreeMap::new();
            for &(j, w) in &adj[i] {
                *score.entry(label[j]).or_default() += w;
            }
            let best = score
                .iter()
                .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(l, _)| *l)
                .unwrap_or(label[i]);
            if best != label[i] {
                label[i] = best;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut groups: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (i, l) in label.iter().enumerate() {
        groups.entry(*l).or_default().push(entities[i].name.clone());
    }
    let mut out: Vec<Vec<String>> = groups.into_values().filter(|g| g.len() > 1).collect();
    out.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    out
}

impl KnowledgeGraph {
    /// D5's `graph`: upstream's `node_link_data` shape, nodes trimmed to the 256 highest
    /// PageRank, edges (no self-loops, both ends kept) to the 128 heaviest.
    pub fn to_api(&self) -> Value {
        let mut nodes: Vec<&Entity> = self.entities.iter().collect();
        nodes.sort_by(|a, b| b.pagerank.total_cmp(&a.pagerank).then(a.name.cmp(&b.name)));
        nodes.truncate(API_NODES);
        let kept: BTreeSet<&str> = nodes.iter().map(|e| e.name.as_str()).collect();
        let mut edges: Vec<&Relation> = self
            .relations
            .iter()
            .filter(|r| {
                r.source != r.target
                    && kept.contains(r.source.as_str())
                    && kept.contains(r.target.as_str())
            })
            .collect();
        edges.sort_by(|a, b| {
            b.weight
                .total_cmp(&a.weight)
                .then(a.source.cmp(&b.source))
                .then(a.target.cmp(&b.target))
        });
        edges.truncate(API_EDGES);
        json!({
            "directed": false,
            "multigraph": false,
            "graph": {"source_id": self.doc_ids},
            "nodes": nodes.iter().map(|e| json!({
                "id": e.name,
                "entity_name": e.name,
                "entity_type": e.entity_type,
                "description": e.description,
                "source_id": e.source_id,
                "pagerank": e.pagerank,
            })).collect::<Vec<_>>(),
            "edges": edges.iter().map(|r| json!({
                "source": r.source,
                "target": r.target,
                "src_id": r.source,
                "tgt_id": r.target,
                "description": r.description,
                "keywords": r.keywords,
                "weight": r.weight,
                "source_id": r.source_id,
            })).collect::<Vec<_>>(),
        })
    }

    /// D5's `mind_map`: the dataset at the root, entity types under it, each type's
    /// highest-ranked entities under that, and under each entity its strongest neighbours
    /// (upstream's `{id, children}` tree).
    pub fn mind_map(&self, root: &str) -> Value {
        if self.entities.is_empty() {
            return json!({});
        }
        let mut neighbours: HashMap<&str, Vec<(&str, f64)>> = HashMap::new();
        for r in &self.relations {
            neighbours
                .entry(r.source.as_str())
                .or_default()
                .push((r.target.as_str(), r.weight));
            neighbours
                .entry(r.target.as_str())
                .or_default()
                .push((r.source.as_str(), r.weight));
        }
        let mut by_type: BTreeMap<&str, Vec<&Entity>> = BTreeMap::new();
        for e in &self.entities {
            by_type.entry(e.entity_type.as_str()).or_default().push(e);
        }
        let mut types: Vec<(&str, Vec<&Entity>)> = by_type.into_iter().collect();
        // Types with the most rank first.
        let mass = |l: &Vec<&Entity>| l.iter().map(|e| e.pagerank).sum::<f64>();
        types.sort_by(|a, b| mass(&b.1).total_cmp(&mass(&a.1)).then(a.0.cmp(b.0)));
        let children: Vec<Value> = types
            .into_iter()
            .take(10)
            .map(|(ty, mut list)| {
                list.sort_by(|a, b| b.pagerank.total_cmp(&a.pagerank).then(a.name.cmp(&b.name)));
                let kids: Vec<Value> = list
                    .into_iter()
                    .take(10)
                    .map(|e| {
                        let mut near = neighbours.get(e.name.as_str()).cloned().unwrap_or_default();
                        near.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
                        near.dedup_by(|a, b| a.0 == b.0);
                        json!({
                            "id": e.name,
                            "children": near.into_iter().take(5)
                                .map(|(n, _)| json!({"id": n, "children": []}))
                                .collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                json!({"id": ty, "children": kids})
            })
            .collect();
        json!({"id": root, "children": children})
    }
}

/// Vectors as base64 of little-endian f32s: a third the size of JSON numbers.
mod vector_b64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[f32], s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = v.iter().flat_map(|f| f.to_le_bytes()).collect();
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
}
