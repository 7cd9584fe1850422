//! What the v0.27 generation (ragflow-sdk 0.26) adds to the chunk routes: the single-chunk
//! read, bulk enable/disable, and the `tag_kwd` / `image_base64` body keys. The pinned routes
//! (C1–C4) call in here only for keys the pinned contract does not know.

use base64::Engine as _;
use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::contract::envelope::ApiError;
use crate::domain::ChunkRecord;
use crate::services::documents::owned_dataset;
use crate::state::AppState;

fn dataset_denied(dataset_id: &str) -> ApiError {
    ApiError::data(format!("You don't own the dataset {dataset_id}."))
}

/// `tag_kwd` of an add/update body: absent is `None`; otherwise a list of strings.
pub(super) fn tag_kwd(req: &Map<String, Value>) -> Result<Option<Vec<String>>, ApiError> {
    match req.get("tag_kwd") {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| ApiError::data("`tag_kwd` must be a list of strings"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(ApiError::data("`tag_kwd` is required to be a list")),
    }
}

/// `tag_feas` of an add/update body: absent or null is `None`; otherwise an object of
/// non-blank tags (trimmed) to finite numbers.
pub(super) fn tag_feas(
    req: &Map<String, Value>,
) -> Result<Option<std::collections::BTreeMap<String, f64>>, ApiError> {
    let items = match req.get("tag_feas") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(items)) => items,
        Some(_) => {
            return Err(ApiError::data(
                "`tag_feas` must be an object mapping string tags to finite numeric scores",
            ))
        }
    };
    let mut out = std::collections::BTreeMap::new();
    for (tag, score) in items {
        let tag = tag.trim();
        if tag.is_empty() {
            return Err(ApiError::data("`tag_feas` keys must be non-empty strings"));
        }
        // JSON numbers are finite; booleans and strings are not scores.
        let Some(score) = score.as_f64().filter(|f| f.is_finite()) else {
            return Err(ApiError::data("`tag_feas` values must be finite numbers"));
        };
        out.insert(tag.to_string(), score);
    }
    Ok(Some(out))
}

/// The image bytes of `image_base64` (a bare base64 string or a `data:` URI); `None` when the
/// key is absent, null or empty.
pub(super) fn image_bytes(req: &Map<String, Value>) -> Result<Option<Vec<u8>>, ApiError> {
    let text = match req.get("image_base64") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => s.trim(),
        Some(_) => return Err(ApiError::data("`image_base64` must be a string")),
    };
    // A data URI carries the payload after the first comma.
    let payload = match text.split_once(',') {
        Some((head, rest)) if head.starts_with("data:") => rest,
        _ => text,
    };
    base64::engine::general_purpose::STANDARD
        .decode(payload)
        .map(Some)
        .map_err(|_| ApiError::data("`image_base64` is not valid base64"))
}

/// Where a chunk's own image is kept, and the `image_id` that names it (`{dataset}-{chunk}`,
/// the form upstream's image ids take).
pub fn chunk_image_key(dataset_id: &str, chunk_id: &str) -> (String, String) {
    (
        format!("{dataset_id}/chunk-images/{chunk_id}"),
        format!("{dataset_id}-{chunk_id}"),
    )
}

/// The type of an image from its first bytes (PNG, JPEG, GIF, WebP, BMP); JPEG otherwise,
/// as upstream's image routes default.
pub fn image_content_type(bytes: &[u8]) -> &'static str {
    match bytes {
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        [0xff, 0xd8, 0xff, ..] => "image/jpeg",
        [b'G', b'I', b'F', b'8', ..] => "image/gif",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => "image/webp",
        [b'B', b'M', ..] => "image/bmp",
        _ => "image/jpeg",
    }
}

/// v0.27's `GET /documents/images/{image_id}`: the bytes of a chunk's image, by the
/// `image_id` chunks carry (`{dataset_id}-{name}`), with its type. Only the caller's
/// datasets are read (upstream checks no ownership here); a malformed id, another tenant's
/// dataset and a missing image all answer 102 `Image not found.`.
pub async fn image(
    state: &AppState,
    tenant_id: &str,
    image_id: &str,
) -> Result<(Bytes, &'static str), ApiError> {
    let not_found = || ApiError::data("Image not found.");
    let Some((dataset_id, name)) = image_id.split_once('-') else {
        return Err(not_found());
    };
    let well_formed = dataset_id.len() == 32
        && dataset_id.bytes().all(|b| b.is_ascii_hexdigit())
        && !name.is_empty()
        && !name.contains('/');
    if !well_formed
        || state
            .meta
            .get_dataset(tenant_id, dataset_id)
            .await?
            .is_none()
    {
        return Err(not_found());
    }
    let (key, _) = chunk_image_key(dataset_id, name);
    let bytes = state
        .blobs
        .get(tenant_id, &key)
        .await?
        .ok_or_else(not_found)?;
    let kind = image_content_type(&bytes);
    Ok((bytes, kind))
}

/// Store `bytes` as the chunk's image and point `image_id` at it.
pub(super) async fn store_image(
    state: &AppState,
    tenant_id: &str,
    chunk: &mut ChunkRecord,
    bytes: Vec<u8>,
) -> Result<(), ApiError> {
    let (key, image_id) = chunk_image_key(&chunk.dataset_id, &chunk.id);
    state.blobs.put(tenant_id, &key, Bytes::from(bytes)).await?;
    chunk.image_id = image_id;
    Ok(())
}

/// The single-chunk read's shape: the stored fields under upstream's index names.
pub fn chunk_to_raw(c: &ChunkRecord) -> Value {
    json!({
        "id": c.id,
        "content_with_weight": c.content,
        "doc_id": c.document_id,
        "docnm_kwd": c.document_name,
        "kb_id": c.dataset_id,
        "important_kwd": c.important_keywords,
        "question_kwd": c.questions,
        "tag_kwd": c.tag_kwd,
        "tag_feas": c.tag_feas,
        "img_id": c.image_id,
        "available_int": i32::from(c.available),
        "position_int": c.positions,
        "doc_type_kwd": if c.doc_type.is_empty() { "text" } else { c.doc_type.as_str() },
    })
}

/// GET …/documents/{doc_id}/chunks/{chunk_id}: one chunk of a document.
pub async fn get_one(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    doc_id: &str,
    chunk_id: &str,
) -> Result<Value, ApiError> {
    owned_dataset(state, tenant_id, dataset_id, || dataset_denied(dataset_id)).await?;
    state
        .docs
        .get_document(tenant_id, dataset_id, doc_id)
        .await?
        .ok_or_else(|| ApiError::data(format!("you don't own the document {doc_id}")))?;
    match state.index.get(tenant_id, dataset_id, chunk_id).await? {
        Some(c) if c.document_id == doc_id => Ok(chunk_to_raw(&c)),
        _ => Err(ApiError::data("Chunk not found!")),
    }
}

/// The availability a bulk request asks for: `available_int` wins over `available`.
pub fn requested_availability(req: &Map<String, Value>) -> Result<bool, ApiError> {
    let truthy = |v: &Value| match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => s.trim().parse::<i64>().ok().map(|n| n != 0),
        _ => None,
    };
    let invalid = |k: &str| ApiError::data(format!("`{k}` must be 0 or 1, or a boolean"));
    if let Some(v) = req.get("available_int").filter(|v| !v.is_null()) {
        return truthy(v).ok_or_else(|| invalid("available_int"));
    }
    if let Some(v) = req.get("available").filter(|v| !v.is_null()) {
        return truthy(v).ok_or_else(|| invalid("available"));
    }
    Err(ApiError::data(
        "`available_int` or `available` is required.",
    ))
}

/// PATCH …/documents/{doc_id}/chunks: switch the listed chunks on or off. Ids that are not
/// chunks of this document are passed over, as upstream's conditional update does.
pub async fn set_available(
    state: &AppState,
    tenant_id: &str,
    dataset_id: &str,
    doc_id: &str,
    req: &Map<String, Value>,
) -> Result<(), ApiError> {
    owned_dataset(state, tenant_id, dataset_id, || dataset_denied(dataset_id)).await?;
    let ids: Vec<String> = match req.get("chunk_ids") {
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| ApiError::data("`chunk_ids` must be a list of strings."))?,
        _ => return Err(ApiError::data("`chunk_ids` is required.")),
    };
    let available = requested_availability(req)?;
    state
        .docs
        .get_document(tenant_id, dataset_id, doc_id)
        .await?
        .ok_or_else(|| ApiError::data("document not found"))?;
    let mut changed = Vec::new();
    for id in &ids {
        if let Some(mut c) = state.index.get(tenant_id, dataset_id, id).await? {
            if c.document_id == doc_id && c.available != available {
                c.available = available;
                changed.push(c);
            }
        }
    }
    if !changed.is_empty() {
        state.index.upsert(tenant_id, &changed).await.map_err(|e| {
            tracing::error!(error = %e, "bulk chunk availability update failed");
            ApiError::data("Index updating failure")
        })?;
    }
    Ok(())
}

/// How a chunk delete body reads. `delete_all` present selects the v0.27 rules for this
/// request; absent keeps the pinned ones (0.23.1 never sends it).
#[derive(Debug, PartialEq)]
pub enum DeleteScope {
    /// Pinned: absent / null / [] ids mean every chunk of the document.
    Pinned,
    /// v0.27 with `delete_all: true`: every chunk of the document.
    All,
    /// v0.27 without `delete_all: true` and without ids: nothing.
    Nothing,
    /// v0.27 with ids: those.
    Listed,
}

pub fn delete_scope(req: &Map<String, Value>) -> DeleteScope {
    let Some(flag) = req.get("delete_all") else {
        return DeleteScope::Pinned;
    };
    // Upstream tests `delete_all is True`: only JSON true counts.
    if flag == &Value::Bool(true) {
        return DeleteScope::All;
    }
    match req.get("chunk_ids") {
        Some(Value::Array(a)) if !a.is_empty() => DeleteScope::Listed,
        Some(Value::Array(_)) | Some(Value::Null) | None => DeleteScope::Nothing,
        Some(_) => DeleteScope::Listed,
    }
}

/// v0.27's chunk-list filters (`chunk_ids`, `available`), which the pinned list lacks.
#[derive(Debug, Default, PartialEq)]
pub struct ListFilters {
    chunk_ids: Option<Vec<String>>,
    available: Option<bool>,
}

impl ListFilters {
    pub fn from_query(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        use crate::contract::http::{repeated_csv, MAX_LIST_IDS};
        let ids = repeated_csv(pairs, &["chunk_ids"]);
        if ids.len() > MAX_LIST_IDS {
            return Err(ApiError::argument(format!(
                "chunk_ids must contain at most {MAX_LIST_IDS} IDs"
            )));
        }
        let available = crate::contract::http::first(pairs, "available")
            .filter(|v| !v.is_empty())
            .map(|v| v.trim().eq_ignore_ascii_case("true"));
        Ok(ListFilters {
            chunk_ids: (!ids.is_empty()).then_some(ids),
            available,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.chunk_ids.is_none() && self.available.is_none()
    }

    /// One page of the chunks that pass, and how many pass.
    pub fn page(
        &self,
        chunks: Vec<ChunkRecord>,
        page: u64,
        page_size: u64,
    ) -> (Vec<ChunkRecord>, u64) {
        let passing: Vec<ChunkRecord> = chunks
            .into_iter()
            .filter(|c| {
                self.chunk_ids
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&c.id))
            })
            .filter(|c| self.available.is_none_or(|a| c.available == a))
            .collect();
        let total = passing.len() as u64;
        let skip =
            usize::try_from(page.saturating_sub(1).saturating_mul(page_size)).unwrap_or(usize::MAX);
        let take = usize::try_from(page_size).unwrap_or(usize::MAX);
        (passing.into_iter().skip(skip).take(take).collect(), total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn list_filters_select_then_page() {
        use crate::ports::conformance_index::sample_chunk;
        let p = |s: &str| crate::contract::http::query_pairs(Some(s));
        let chunks: Vec<ChunkRecord> = (0..5)
            .map(|i| {
                let mut c = sample_chunk("t", "d", "doc", i, "text");
                c.available = i % 2 == 0;
                c
            })
            .collect();
        let ids: Vec<String> = chunks.iter().map(|c| c.id.clone()).collect();
        assert!(ListFilters::from_query(&p("keywords=x"))
            .unwrap()
            .is_empty());

        let f = ListFilters::from_query(&p("available=TRUE")).unwrap();
        let (page, total) = f.page(chunks.clone(), 1, 2);
        assert_eq!(total, 3);
        assert_eq!(
            page.iter().map(|c| c.position).collect::<Vec<_>>(),
            vec![0, 2]
        );
        let f = ListFilters::from_query(&p("available=0")).unwrap();
        assert_eq!(
            f.page(chunks.clone(), 1, 0).1,
            2,
            "anything but true selects disabled ones"
        );

        let q = format!("chunk_ids={},{}&chunk_ids={}", ids[4], ids[1], ids[3]);
        let f = ListFilters::from_query(&p(&q)).unwrap();
        let (page, total) = f.page(chunks.clone(), 2, 2);
        assert_eq!(total, 3);
        assert_eq!(
            page.iter().map(|c| c.position).collect::<Vec<_>>(),
            vec![4],
            "the list's order, paged"
        );

        let many: Vec<String> = (0..101).map(|i| format!("chunk_ids=c{i}")).collect();
        let e = ListFilters::from_query(&p(&many.join("&"))).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (101, "chunk_ids must contain at most 100 IDs")
        );
    }

    #[test]
    fn delete_all_presence_selects_the_rules() {
        assert_eq!(delete_scope(&body(json!({}))), DeleteScope::Pinned);
        assert_eq!(
            delete_scope(&body(json!({"chunk_ids": null}))),
            DeleteScope::Pinned
        );
        assert_eq!(
            delete_scope(&body(json!({"chunk_ids": null, "delete_all": false}))),
            DeleteScope::Nothing
        );
        assert_eq!(
            delete_scope(&body(json!({"chunk_ids": [], "delete_all": false}))),
            DeleteScope::Nothing
        );
        assert_eq!(
            delete_scope(&body(json!({"delete_all": 1}))),
            DeleteScope::Nothing
        );
        assert_eq!(
            delete_scope(&body(json!({"chunk_ids": null, "delete_all": true}))),
            DeleteScope::All
        );
        assert_eq!(
            delete_scope(&body(json!({"chunk_ids": ["a"], "delete_all": false}))),
            DeleteScope::Listed
        );
    }

    #[test]
    fn availability_prefers_available_int() {
        let got = |v: Value| requested_availability(&body(v)).map_err(|e| e.message);
        assert_eq!(
            got(json!({"available_int": 0, "available": true})),
            Ok(false)
        );
        assert_eq!(got(json!({"available_int": 1})), Ok(true));
        assert_eq!(got(json!({"available": false})), Ok(false));
        assert_eq!(
            got(json!({})),
            Err("`available_int` or `available` is required.".to_string())
        );
        assert!(got(json!({"available": "x"})).is_err());
    }

    #[test]
    fn tags_and_images_are_checked() {
        assert_eq!(tag_kwd(&body(json!({}))).ok(), Some(None));
        assert_eq!(image_content_type(b"\x89PNG\r\n"), "image/png");
        assert_eq!(image_content_type(b"\xff\xd8\xff\xe0"), "image/jpeg");
        assert_eq!(image_content_type(b"RIFF\0\0\0\0WEBPVP8"), "image/webp");
        assert_eq!(image_content_type(b"GIF89a"), "image/gif");
        assert_eq!(image_content_type(b"BM.."), "image/bmp");
        assert_eq!(image_content_type(b""), "image/jpeg");
        assert_eq!(tag_feas(&body(json!({"tag_feas": null}))).ok(), Some(None));
        assert_eq!(
            tag_feas(&body(json!({"tag_feas": {" a ": 1, "b": -0.5}}))).ok(),
            Some(Some(
                [("a".to_string(), 1.0), ("b".to_string(), -0.5)].into()
            ))
        );
        for (bad, message) in [
            (
                json!([]),
                "`tag_feas` must be an object mapping string tags to finite numeric scores",
            ),
            (json!({" ": 1}), "`tag_feas` keys must be non-empty strings"),
            (
                json!({"a": true}),
                "`tag_feas` values must be finite numbers",
            ),
            (
                json!({"a": "1"}),
                "`tag_feas` values must be finite numbers",
            ),
        ] {
            assert_eq!(
                tag_feas(&body(json!({"tag_feas": bad}))).map_err(|e| e.message),
                Err(message.to_string())
            );
        }
        assert_eq!(
            tag_kwd(&body(json!({"tag_kwd": ["a", "b"]}))).ok(),
            Some(Some(vec!["a".to_string(), "b".to_string()]))
        );
        assert_eq!(
            tag_kwd(&body(json!({"tag_kwd": "a"}))).map_err(|e| e.message),
            Err("`tag_kwd` is required to be a list".to_string())
        );
        assert_eq!(
            tag_kwd(&body(json!({"tag_kwd": [1]}))).map_err(|e| e.message),
            Err("`tag_kwd` must be a list of strings".to_string())
        );
        assert_eq!(
            image_bytes(&body(json!({"image_base64": "aGk="}))).ok(),
            Some(Some(b"hi".to_vec()))
        );
        assert_eq!(
            image_bytes(&body(json!({"image_base64": "data:image/png;base64,aGk="}))).ok(),
            Some(Some(b"hi".to_vec()))
        );
        assert_eq!(
            image_bytes(&body(json!({"image_base64": null}))).ok(),
            Some(None)
        );
        assert!(image_bytes(&body(json!({"image_base64": "%%"}))).is_err());
    }
}
