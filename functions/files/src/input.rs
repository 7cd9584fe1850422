//! Request parsing shared by both generations: multipart uploads, body fields, and the
//! download reply.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use lambdarag::contract::envelope::ApiError;
use lambdarag::contract::pyfmt::{py_repr, py_str_repr};
use lambdarag::services::documents::UploadFile;
use lambdarag::services::files::Download;
use lambdarag::AppState;

/// A multipart form: its file parts (`file` fields with a filename) and its text fields.
pub struct Form {
    pub files: Vec<UploadFile>,
    /// True if any `file` part carried a filename (even an empty one).
    pub saw_file_part: bool,
    pub fields: Map<String, Value>,
}

/// Read a multipart body the way the documents upload does (axum's `Multipart`). `None` if
/// the request is not multipart at all.
pub async fn read_form(state: &AppState, req: Request) -> Result<Option<Form>, ApiError> {
    let Ok(mut multipart) = Multipart::from_request(req, state).await else {
        return Ok(None);
    };
    let mut form = Form {
        files: Vec::new(),
        saw_file_part: false,
        fields: Map::new(),
    };
    let malformed = lambdarag::contract::http::malformed_multipart;
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or("").to_string();
        match field.file_name().map(str::to_string) {
            Some(file_name) if name == "file" => {
                form.saw_file_part = true;
                let bytes = field.bytes().await.map_err(malformed)?;
                form.files.push(UploadFile {
                    name: file_name,
                    bytes,
                });
            }
            Some(_) => {}
            None => {
                let text = field.text().await.map_err(malformed)?;
                form.fields.entry(name).or_insert(Value::String(text));
            }
        }
    }
    Ok(Some(form))
}

/// True if the request says it carries a multipart form.
pub fn is_multipart(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("multipart/form-data"))
}

/// A string field, `None` when absent or null; another type is refused.
pub fn opt_str<'a>(req: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, ApiError> {
    match req.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::argument(format!("`{key}` must be a string."))),
    }
}

/// A list of strings; `None` when the value is not one.
pub fn str_list(v: &Value) -> Option<Vec<String>> {
    v.as_array()?
        .iter()
        .map(|x| x.as_str().map(str::to_string))
        .collect()
}

/// Upstream's `req["key"]` on a missing key: the leaked `KeyError`, code 100.
pub fn key_error(key: &str) -> ApiError {
    ApiError::exception(format!("KeyError({})", py_str_repr(key)))
}

/// A required pinned field: present (else `KeyError`), then of the right shape.
pub fn pinned_required<'a>(req: &'a Map<String, Value>, key: &str) -> Result<&'a Value, ApiError> {
    req.get(key).ok_or_else(|| key_error(key))
}

/// Upstream's `validate_request(...)`: missing or null keys, named in order.
pub fn validate_request(req: &Map<String, Value>, keys: &[&str]) -> Result<(), ApiError> {
    let missing: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| req.get(*k).is_none_or(Value::is_null))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(ApiError::argument(format!(
        "required argument are missing: {}; ",
        missing.join(",")
    ))
    .with_data(Value::Null))
}

/// A v0.27 (pydantic) validation line for `field`.
pub fn field_error(field: &str, message: &str, value: &Value) -> ApiError {
    let mut v = match value {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    };
    if v.chars().count() > 128 {
        v = v.chars().take(125).collect::<String>() + "...";
    }
    ApiError::argument(format!(
        "Field: <{field}> - Message: <{message}> - Value: <{v}>"
    ))
}

/// v0.27: keys outside `allowed` are refused (`extra="forbid"`).
pub fn forbid_extra(req: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    match req.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(field_error(
            k,
            "Extra inputs are not permitted",
            req.get(k).unwrap_or(&Value::Null),
        )),
        None => Ok(()),
    }
}

/// v0.27: a required list of at least one string.
pub fn v027_id_list(req: &Map<String, Value>, key: &str) -> Result<Vec<String>, ApiError> {
    let whole = Value::Object(req.clone());
    let Some(v) = req.get(key) else {
        return Err(field_error(key, "Field required", &whole));
    };
    let Some(ids) = str_list(v) else {
        return Err(field_error(
            key,
            "Input should be a valid list of strings",
            v,
        ));
    };
    if ids.is_empty() {
        return Err(field_error(
            key,
            "List should have at least 1 item after validation, not 0",
            v,
        ));
    }
    Ok(ids)
}

/// v0.27: an optional name of 1–255 characters.
pub fn v027_name(req: &Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match req.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Err(field_error(
            key,
            "String should have at least 1 character",
            &Value::String(s.clone()),
        )),
        Some(Value::String(s)) if s.chars().count() > 255 => Err(field_error(
            key,
            "String should have at most 255 characters",
            &Value::String(s.clone()),
        )),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(field_error(key, "Input should be a valid string", other)),
    }
}

/// The bytes of a download with their content type.
pub fn download_reply(d: Download) -> Response {
    let ct = d
        .content_type
        .unwrap_or_else(|| "application/octet-stream".into());
    let mut resp = d.bytes.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&ct)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream")),
    );
    resp
}
