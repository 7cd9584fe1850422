//! v0.27's `reference_metadata`: each returned chunk carries its document's metadata
//! (`document_metadata`), optionally narrowed to some keys.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::contract::envelope::ApiError;
use crate::contract::pyfmt::{py_str, truthy};
use crate::domain::Document;

/// Which metadata keys to attach: `None` = all of them (an empty list attaches none).
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataRequest {
    pub fields: Option<Vec<String>>,
}

/// `reference_metadata: {include, fields}`; `None` unless `include` is true.
pub fn parse(v: Option<&Value>) -> Result<Option<MetadataRequest>, ApiError> {
    let m = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(ApiError::data("reference_metadata must be an object.")),
    };
    if !m.get("include").is_some_and(truthy) {
        return Ok(None);
    }
    Ok(Some(MetadataRequest {
        fields: fields(m.get("fields"), "reference_metadata.fields")?,
    }))
}

/// The retrieval form: `reference_metadata`, or the older `include_metadata` +
/// `metadata_fields` keys v0.27 still reads.
pub fn from_retrieval(req: &Map<String, Value>) -> Result<Option<MetadataRequest>, ApiError> {
    if req.get("reference_metadata").is_some_and(|v| !v.is_null()) {
        return parse(req.get("reference_metadata"));
    }
    if !req.get("include_metadata").is_some_and(truthy) {
        return Ok(None);
    }
    Ok(Some(MetadataRequest {
        fields: fields(req.get("metadata_fields"), "metadata_fields")?,
    }))
}

fn fields(v: Option<&Value>, name: &str) -> Result<Option<Vec<String>>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a.iter().map(py_str).collect())),
        Some(_) => Err(ApiError::data(format!("{name} must be an array."))),
    }
}

impl MetadataRequest {
    /// A document's `meta_fields`, narrowed to the wanted keys.
    pub fn of(&self, doc: &Document) -> Value {
        let all = doc.meta_fields.as_object().cloned().unwrap_or_default();
        Value::Object(match &self.fields {
            None => all,
            Some(keep) => all.into_iter().filter(|(k, _)| keep.contains(k)).collect(),
        })
    }

    /// Set `document_metadata` on each chunk (by its `document_id`; `{}` when unknown).
    pub fn attach(&self, chunks: &mut [Value], documents: &HashMap<String, Document>) {
        for c in chunks.iter_mut() {
            let meta = c
                .get("document_id")
                .and_then(Value::as_str)
                .and_then(|id| documents.get(id))
                .map(|d| self.of(d))
                .unwrap_or_else(|| Value::Object(Map::new()));
            c["document_metadata"] = meta;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn requests_and_their_errors() {
        let p = |v: Value| parse(Some(&v));
        assert_eq!(
            p(json!({"include": true, "fields": ["a"]})).unwrap(),
            Some(MetadataRequest {
                fields: Some(vec!["a".into()])
            })
        );
        assert_eq!(p(json!({"include": false})).unwrap(), None);
        assert_eq!(p(json!({"include": true})).unwrap().unwrap().fields, None);
        assert_eq!(
            p(json!("yes")).unwrap_err().message,
            "reference_metadata must be an object."
        );
        assert_eq!(
            p(json!({"include": true, "fields": "a"}))
                .unwrap_err()
                .message,
            "reference_metadata.fields must be an array."
        );
        let legacy = from_retrieval(&obj(
            json!({"include_metadata": true, "metadata_fields": ["x"]}),
        ))
        .unwrap()
        .unwrap();
        assert_eq!(legacy.fields, Some(vec!["x".into()]));
        assert_eq!(
            from_retrieval(&obj(json!({"metadata_fields": ["x"]}))).unwrap(),
            None
        );
        assert_eq!(
            from_retrieval(&obj(
                json!({"include_metadata": true, "metadata_fields": 3})
            ))
            .unwrap_err()
            .message,
            "metadata_fields must be an array."
        );
    }

    #[test]
    fn attach_narrows_to_the_wanted_keys() {
        let mut doc = crate::ports::conformance_docs::sample_document("t", "ds", "a.txt");
        doc.id = "d".into();
        doc.meta_fields = json!({"a": 1, "b": [2]});
        let docs = HashMap::from([("d".to_string(), doc)]);
        let mut chunks = vec![json!({"document_id": "d"}), json!({"document_id": "gone"})];
        MetadataRequest { fields: None }.attach(&mut chunks, &docs);
        assert_eq!(chunks[0]["document_metadata"], json!({"a": 1, "b": [2]}));
        assert_eq!(chunks[1]["document_metadata"], json!({}));
        MetadataRequest {
            fields: Some(vec!["b".into()]),
        }
        .attach(&mut chunks, &docs);
        assert_eq!(chunks[0]["document_metadata"], json!({"b": [2]}));
        MetadataRequest {
            fields: Some(vec![]),
        }
        .attach(&mut chunks, &docs);
        assert_eq!(chunks[0]["document_metadata"], json!({}));
    }
}
