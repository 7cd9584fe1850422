//! The R1 reply: ranked hits as upstream renders them.

use serde_json::{json, Value};

use super::{RetrievalRequest, RetrievalResult};

/// Lower-cased word tokens, as the `content_ltks` field shows them.
pub(super) fn tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        crate::services::chunks::push_lowercase(&mut out, word);
    }
    out
}

/// The R1 reply's `data`, with `document_metadata` on each chunk when the request asks.
pub fn to_api_for(result: &RetrievalResult, req: &RetrievalRequest) -> Value {
    let mut data = to_api(result);
    if let (Some(wanted), Some(chunks)) = (&req.document_metadata, data["chunks"].as_array_mut()) {
        wanted.attach(chunks, &result.documents);
    }
    data
}

/// The R1 reply's `data`.
pub fn to_api(result: &RetrievalResult) -> Value {
    let chunks: Vec<Value> = result
        .hits
        .iter()
        .map(|h| {
            let c = &h.scored.chunk;
            let mut o = json!({
                "id": c.id,
                "content": c.content,
                "content_ltks": tokens(&c.content),
                "document_id": c.document_id,
                "document_keyword": h.document_name,
                "dataset_id": c.dataset_id,
                "important_keywords": c.important_keywords,
                "questions": c.questions,
                "image_id": c.image_id,
                "similarity": h.similarity,
                "vector_similarity": h.scored.vector_score,
                "term_similarity": h.term_similarity,
                "positions": c.positions,
                "doc_type_kwd": c.doc_type,
                "mom_id": "",
            });
            if let (Some(hl), Some(m)) = (&h.highlight, o.as_object_mut()) {
                m.insert("highlight".into(), json!(hl));
            }
            o
        })
        .collect();
    json!({"total": result.total, "chunks": chunks, "doc_aggs": doc_aggs(result)})
}

/// `doc_aggs`: `{doc_name, doc_id, count}` per document, or `{}` when nothing was searched.
pub(super) fn doc_aggs(result: &RetrievalResult) -> Value {
    if result.short_circuit {
        return json!({});
    }
    Value::Array(
        result
            .doc_aggs
            .iter()
            .map(|(id, name, n)| json!({"doc_name": name, "doc_id": id, "count": n}))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn content_tokens_are_lowercased_words() {
        let text = "Vitamin-D (25OH) levels; ÉCOLE Straße ΟΔΟΣ…  x";
        let slow: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        assert_eq!(super::tokens(text), slow.join(" "));
        assert_eq!(super::tokens(" ,; "), "");
    }
}
