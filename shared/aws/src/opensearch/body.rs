//! What the OpenSearch adapter sends and reads, apart from the HTTP calls: the index
//! mapping, the query pieces (text capped to Lucene's clause limit, tenant / dataset /
//! document scopes), and chunk records as index documents and back.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use lambdarag::domain::ChunkRecord;
use lambdarag::StoreError;

use super::{MAX_QUERY_TOKENS, MAX_TOKEN_CHARS, TEXT_FIELDS};

/// The field holding vectors of `dim` dimensions.
pub fn vector_field(dim: usize) -> String {
    format!("vector_{dim}")
}

pub(super) fn dim_of_field(name: &str) -> Option<usize> {
    name.strip_prefix("vector_")?.parse().ok()
}

/// A `knn_vector` mapping for `dim` dimensions.
pub fn vector_mapping(dim: usize) -> Value {
    json!({
        "type": "knn_vector",
        "dimension": dim,
        "method": {
            "name": "hnsw",
            "space_type": "cosinesimil",
            "engine": "lucene",
            "parameters": {"m": 16, "ef_construction": 128}
        }
    })
}

/// The body that creates a tenant's index, with vector fields for `dims`.
pub fn index_body(dims: &BTreeSet<usize>) -> Value {
    let keyword = json!({"type": "keyword"});
    let text = json!({"type": "text", "analyzer": "english"});
    let long = json!({"type": "long"});
    let mut props = Map::new();
    for f in [
        "tenant_id",
        "dataset_id",
        "document_id",
        "chunk_id",
        "doc_type",
    ] {
        props.insert(f.into(), keyword.clone());
    }
    for f in [
        "content",
        "document_name",
        "important_keywords",
        "questions",
    ] {
        props.insert(f.into(), text.clone());
    }
    for f in ["position", "generation", "token_count", "create_time"] {
        props.insert(f.into(), long.clone());
    }
    props.insert("available".into(), json!({"type": "boolean"}));
    for d in dims {
        props.insert(vector_field(*d), vector_mapping(*d));
    }
    json!({
        "settings": {"index": {"knn": true, "number_of_shards": 1}},
        "mappings": {"dynamic": false, "properties": props}
    })
}

/// Index names must be lower-case and free of a few characters. Ids made of `[a-z0-9_]`
/// (all generated ids) are used as they are; anything else is hex-encoded behind `h-`
/// (a `-` never appears in a plain name, so the two forms cannot collide).
pub(super) fn index_suffix(tenant_id: &str) -> String {
    let plain = !tenant_id.is_empty()
        && tenant_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if plain {
        tenant_id.to_string()
    } else {
        let hex: String = tenant_id.bytes().map(|b| format!("{b:02x}")).collect();
        format!("h-{hex}")
    }
}

/// How the standard tokenizer treats a character, as far as counting tokens goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum CharKind {
    /// Separates tokens and makes none (whitespace, ASCII punctuation).
    Separator,
    /// A token of its own: ideographs, Hiragana, and (to be safe) every other symbol.
    Single,
    /// Runs of Katakana are words, cut where other letters begin.
    Katakana,
    /// Runs of other letters and digits are words.
    Letter,
}

pub(super) fn char_kind(c: char) -> CharKind {
    let u = u32::from(c);
    let han = matches!(u, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3134F);
    let hiragana = matches!(u, 0x3040..=0x309F);
    let katakana = matches!(u, 0x30A0..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F);
    if han || hiragana {
        CharKind::Single
    } else if katakana {
        CharKind::Katakana
    } else if c.is_alphanumeric() {
        CharKind::Letter
    } else if c.is_whitespace() || c.is_ascii_punctuation() || c.is_control() {
        CharKind::Separator
    } else {
        CharKind::Single
    }
}

/// The longest prefix of `word` (its length in bytes) that analyses into at most `budget`
/// tokens, and that many tokens. The count errs high (`don't` counts two, `—` one), so
/// it bounds what the server makes; erring high only shortens a very long query.
pub(super) fn fit_tokens(word: &str, budget: usize) -> (usize, usize) {
    let mut tokens = 0usize;
    // The current run of letters: its kind and its length in UTF-16 units (Lucene's).
    let mut run: Option<(CharKind, usize)> = None;
    for (at, c) in word.char_indices() {
        let kind = char_kind(c);
        let width = c.len_utf16();
        let adds = match (kind, run) {
            (CharKind::Separator, _) => {
                run = None;
                0
            }
            (CharKind::Single, _) => {
                run = None;
                1
            }
            (k, Some((rk, len))) if k == rk => {
                run = Some((k, len + width));
                // A run longer than MAX_TOKEN_CHARS is cut into several tokens.
                (len + width).div_ceil(MAX_TOKEN_CHARS) - len.div_ceil(MAX_TOKEN_CHARS)
            }
            (k, _) => {
                run = Some((k, width));
                1
            }
        };
        if tokens + adds > budget {
            return (at, tokens);
        }
        tokens += adds;
    }
    (word.len(), tokens)
}

/// The query text as sent: distinct words (case-insensitive) while they analyse into at
/// most `MAX_QUERY_TOKENS` tokens (the word that crosses the limit is cut); None when
/// there is nothing to search for.
pub(super) fn query_text(text: &str) -> Option<String> {
    let mut seen = BTreeSet::new();
    let mut budget = MAX_QUERY_TOKENS;
    let mut words: Vec<&str> = vec![];
    for word in text.split_whitespace() {
        if budget == 0 {
            break;
        }
        if !seen.insert(word.to_lowercase()) {
            continue;
        }
        let (end, tokens) = fit_tokens(word, budget);
        if end > 0 {
            words.push(&word[..end]);
        }
        if end < word.len() {
            break;
        }
        budget -= tokens;
    }
    (!words.is_empty()).then(|| words.join(" "))
}

pub(super) fn multi_match(text: &str) -> Value {
    json!({"multi_match": {"query": text, "type": "best_fields", "fields": TEXT_FIELDS}})
}

/// The filters every query carries: the tenant (defence in depth: the index already is
/// the tenant's), the datasets, and the documents if given.
pub(super) fn scope(
    tenant_id: &str,
    datasets: &[String],
    documents: Option<&[String]>,
) -> Vec<Value> {
    let mut f = vec![
        json!({"term": {"tenant_id": tenant_id}}),
        json!({"terms": {"dataset_id": datasets}}),
    ];
    if let Some(docs) = documents {
        f.push(json!({"terms": {"document_id": docs}}));
    }
    f
}

pub(super) fn doc_scope(tenant_id: &str, dataset_id: &str, doc_id: &str) -> Vec<Value> {
    vec![
        json!({"term": {"tenant_id": tenant_id}}),
        json!({"term": {"dataset_id": dataset_id}}),
        json!({"term": {"document_id": doc_id}}),
    ]
}

pub(super) fn no_vectors() -> Value {
    json!({"excludes": ["vector_*"]})
}

/// What `search_hits` reads of a candidate besides its `_id` (the chunk id).
pub(super) fn id_fields() -> Value {
    json!({"includes": ["dataset_id", "document_id"]})
}

/// Candidates best first: by BM25, then cosine, then id (only a convenience: callers fuse
/// the two scores and rank).
pub(super) fn by_scores(a: (f32, f32, &str), b: (f32, f32, &str)) -> std::cmp::Ordering {
    b.0.total_cmp(&a.0)
        .then_with(|| b.1.total_cmp(&a.1))
        .then_with(|| a.2.cmp(b.2))
}

/// A chunk as stored: the record's fields, `id` as `chunk_id`, the vector in its field.
pub fn to_source(c: &ChunkRecord) -> Result<Value, StoreError> {
    let mut v = serde_json::to_value(c)?;
    let Some(m) = v.as_object_mut() else {
        return Err(StoreError::Corrupt(
            "a chunk did not serialise to an object".into(),
        ));
    };
    if let Some(id) = m.remove("id") {
        m.insert("chunk_id".into(), id);
    }
    let vector = m.remove("vector");
    // The k-NN plugin refuses an all-zero vector for cosine similarity, failing the whole
    // batch; stored without it, the chunk scores cosine 0 all the same.
    if c.vector.iter().any(|x| *x != 0.0) {
        if let Some(vector) = vector {
            m.insert(vector_field(c.vector.len()), vector);
        }
    }
    Ok(v)
}

/// A stored chunk back as a record (`vector` empty unless the source held one).
pub fn from_source(id: &str, source: Value) -> Result<ChunkRecord, StoreError> {
    let Value::Object(mut m) = source else {
        return Err(StoreError::Corrupt(format!(
            "chunk {id}: _source is not an object"
        )));
    };
    let mut vector = Value::Array(vec![]);
    let vector_keys: Vec<String> = m
        .keys()
        .filter(|k| dim_of_field(k).is_some())
        .cloned()
        .collect();
    for k in vector_keys {
        if let Some(v) = m.remove(&k) {
            vector = v;
        }
    }
    let chunk_id = m.remove("chunk_id").unwrap_or_else(|| json!(id));
    m.insert("id".into(), chunk_id);
    m.insert("vector".into(), vector);
    serde_json::from_value(Value::Object(m))
        .map_err(|e| StoreError::Corrupt(format!("chunk {id} in OpenSearch: {e}")))
}

/// Cosine similarity; 0 for vectors of different lengths or a zero vector.
pub(crate) fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// The Lucene engine scores `cosinesimil` as `(1 + cos) / 2`; this undoes it.
pub fn cosine_from_score(score: f64) -> f32 {
    ((2.0 * score - 1.0) as f32).clamp(-1.0, 1.0)
}
