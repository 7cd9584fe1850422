//! The R1 reply's `data`, written straight from the result: a page of chunks is ~30 × 1.5 KB
//! of text three times over (`content`, `content_ltks`, `highlight`), so building a
//! `serde_json::Value` tree first would copy each string twice more and allocate a map per
//! chunk.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::document_metadata::MetadataRequest;
use super::{Hit, RetrievalRequest, RetrievalResult};
use crate::services::chunks::lowercase_tokens;

/// The reply's `data`, serialisable without an intermediate tree.
pub struct Reply<'a> {
    result: &'a RetrievalResult,
    /// `document_metadata` on each chunk, when the request asks for it.
    metadata: Option<&'a MetadataRequest>,
}

/// The R1 reply's `data`, with `document_metadata` on each chunk when the request asks.
pub fn reply_for<'a>(result: &'a RetrievalResult, req: &'a RetrievalRequest) -> Reply<'a> {
    Reply {
        result,
        metadata: req.document_metadata.as_ref(),
    }
}

impl Serialize for Reply<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("total", &self.result.total)?;
        m.serialize_entry("chunks", &Chunks(self))?;
        m.serialize_entry("doc_aggs", &DocAggs(self.result))?;
        m.end()
    }
}

struct Chunks<'a>(&'a Reply<'a>);

impl Serialize for Chunks<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let hits = &self.0.result.hits;
        let mut seq = s.serialize_seq(Some(hits.len()))?;
        for hit in hits {
            seq.serialize_element(&ChunkReply { hit, reply: self.0 })?;
        }
        seq.end()
    }
}

struct ChunkReply<'a> {
    hit: &'a Hit,
    reply: &'a Reply<'a>,
}

impl Serialize for ChunkReply<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let h = self.hit;
        let c = &h.scored.chunk;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &c.id)?;
        m.serialize_entry("content", &c.content)?;
        m.serialize_entry("content_ltks", &lowercase_tokens(&c.content))?;
        m.serialize_entry("document_id", &c.document_id)?;
        m.serialize_entry("document_keyword", &h.document_name)?;
        m.serialize_entry("dataset_id", &c.dataset_id)?;
        m.serialize_entry("important_keywords", &c.important_keywords)?;
        m.serialize_entry("questions", &c.questions)?;
        m.serialize_entry("image_id", &c.image_id)?;
        // Widened as a JSON tree holds an f32 (so the digits match what they always were).
        m.serialize_entry("similarity", &f64::from(h.similarity))?;
        m.serialize_entry("vector_similarity", &f64::from(h.scored.vector_score))?;
        m.serialize_entry("term_similarity", &f64::from(h.term_similarity))?;
        m.serialize_entry("positions", &c.positions)?;
        m.serialize_entry("doc_type_kwd", &c.doc_type)?;
        m.serialize_entry("mom_id", "")?;
        if let Some(hl) = &h.highlight {
            m.serialize_entry("highlight", hl)?;
        }
        if let Some(wanted) = self.reply.metadata {
            let meta = match self.reply.result.documents.get(&c.document_id) {
                Some(d) => wanted.of(d),
                None => Value::Object(Default::default()),
            };
            m.serialize_entry("document_metadata", &meta)?;
        }
        m.end()
    }
}

/// `doc_aggs`: `{doc_name, doc_id, count}` per document, or `{}` when nothing was searched.
struct DocAggs<'a>(&'a RetrievalResult);

impl Serialize for DocAggs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let result = self.0;
        if result.short_circuit {
            return s.serialize_map(Some(0))?.end();
        }
        let mut seq = s.serialize_seq(Some(result.doc_aggs.len()))?;
        for (id, name, count) in &result.doc_aggs {
            seq.serialize_element(&DocAgg { name, id, count })?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct DocAgg<'a> {
    #[serde(rename = "doc_name")]
    name: &'a str,
    #[serde(rename = "doc_id")]
    id: &'a str,
    count: &'a usize,
}

/// `doc_aggs` as a tree.
pub(super) fn doc_aggs(result: &RetrievalResult) -> Value {
    serde_json::to_value(DocAggs(result)).unwrap_or(Value::Null)
}
