//! Attachments: the files `POST /documents/upload` stores for agents and chats, read back by
//! v0.27's `GET /agents/attachments/{id}/download` and `/preview` and the pinned FL10
//! `GET /file/download/{id}`. Upstream reads the id from the caller's own storage; here an
//! attachment is a file of the caller's file manager, found by id in the caller's tenant
//! only.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::contract::envelope::ApiError;
use crate::contract::http::disposition;
use crate::state::AppState;

/// An attachment's bytes and how to serve them.
#[derive(Debug)]
pub struct Attachment {
    pub bytes: Bytes,
    pub name: String,
    pub content_type: String,
    /// A type a browser would run (HTML, SVG, XML): always served as a download.
    pub active: bool,
}

/// The type an `ext` hint names (upstream's content-type map; `application/{ext}` for the
/// rest). `ext` defaults to `markdown`.
pub fn attachment_type(ext: &str) -> String {
    match ext.trim().to_ascii_lowercase().as_str() {
        "markdown" | "md" => "text/markdown".into(),
        "html" | "htm" => "text/html".into(),
        "txt" => "text/plain".into(),
        "csv" => "text/csv".into(),
        "json" => "application/json".into(),
        "pdf" => "application/pdf".into(),
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document".into(),
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".into(),
        "pptx" => {
            "application/vnd.openxmlformats-officedocument.presentationml.presentation".into()
        }
        "png" => "image/png".into(),
        "jpg" | "jpeg" => "image/jpeg".into(),
        "gif" => "image/gif".into(),
        "svg" => "image/svg+xml".into(),
        other => format!("application/{other}"),
    }
}

impl Attachment {
    /// The bytes with their type; `inline` for a preview, except for active types, which
    /// are downloads whatever is asked (a stored page must not run in the API's origin).
    pub fn into_response(self, inline: bool) -> Response {
        let kind = if inline && !self.active {
            "inline"
        } else {
            "attachment"
        };
        let content_disposition = disposition(kind, &self.name);
        let content_type = self.content_type;
        let mut resp = self.bytes.into_response();
        let h = resp.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&content_type) {
            h.insert(header::CONTENT_TYPE, v);
        }
        if let Ok(v) = HeaderValue::from_str(&content_disposition) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        resp
    }
}

/// An attachment route's reply from its query (`ext`; `disposition=inline` asks for a
/// preview); `preview` routes serve inline whatever the query says.
pub async fn serve(
    state: &AppState,
    tenant_id: &str,
    id: &str,
    pairs: &[(String, String)],
    preview: bool,
) -> Result<Response, ApiError> {
    let first = |key: &str| crate::contract::http::first(pairs, key);
    let inline = preview || first("disposition").is_some_and(|d| d.eq_ignore_ascii_case("inline"));
    let a = attachment(state, tenant_id, id, first("ext")).await?;
    Ok(a.into_response(inline))
}

fn is_active(content_type: &str) -> bool {
    let t = content_type.to_ascii_lowercase();
    t.contains("html") || t.contains("svg") || t.contains("xml") || t.contains("javascript")
}

/// The attachment `id` of the caller, typed by `ext`. A missing id, a folder and an empty
/// file answer 102 `document not found` (upstream's reply for a missing object).
pub async fn attachment(
    state: &AppState,
    tenant_id: &str,
    id: &str,
    ext: Option<&str>,
) -> Result<Attachment, ApiError> {
    let not_found = || ApiError::data("document not found");
    let Some(file) = state.files.get_file(tenant_id, id).await? else {
        return Err(not_found());
    };
    if file.location.is_empty() {
        return Err(not_found());
    }
    let bytes = state
        .blobs
        .get(tenant_id, &file.location)
        .await?
        .filter(|b| !b.is_empty())
        .ok_or_else(not_found)?;
    let content_type = attachment_type(ext.filter(|e| !e.trim().is_empty()).unwrap_or("markdown"));
    Ok(Attachment {
        bytes,
        name: file.name,
        active: is_active(&content_type),
        content_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_map_to_types_and_scripts_count_as_active() {
        assert_eq!(attachment_type("markdown"), "text/markdown");
        assert_eq!(attachment_type("PDF"), "application/pdf");
        assert_eq!(attachment_type("zip"), "application/zip");
        assert!(is_active(&attachment_type("html")));
        assert!(is_active(&attachment_type("svg")));
        assert!(is_active(&attachment_type("xhtml")));
        assert!(!is_active(&attachment_type("pdf")));
    }
}
