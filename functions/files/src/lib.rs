//! The personal file manager: the pinned `/file/*` routes (FL1–FL9, FL11, FL12; all
//! `get_json_result`, codes 400/404/409/500) and v0.27's `/files*` routes and
//! `/documents/upload` (`get_result`, codes 101/102). FL10 `/file/download/{id}` serves the
//! attachments `/documents/upload` stores. Handlers are thin; rules live in
//! `lambdarag::services::files`.

mod input;
mod v027;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use lambdarag::contract::envelope::{ok_json, ApiError, ApiResult};
use lambdarag::contract::http::{first, loose_json_body, query_pairs};
use lambdarag::services::auth::AuthTenant;
use lambdarag::services::documents::FILE_NAME_LIMIT;
use lambdarag::services::files::{self, file_json, FileError, Gen};
use lambdarag::AppState;

use input::{pinned_required, str_list, validate_request};

pub use lambdarag::services::files::MAX_FILE_BYTES;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/file/upload", post(upload))
        .route("/api/v1/file/upload_url", post(upload_url))
        .route("/api/v1/file/create", post(create))
        .route("/api/v1/file/list", get(list))
        .route("/api/v1/file/root_folder", get(root_folder))
        .route("/api/v1/file/parent_folder", get(parent_folder))
        .route("/api/v1/file/all_parent_folder", get(all_parent_folder))
        .route("/api/v1/file/rm", post(rm))
        .route("/api/v1/file/rename", post(rename))
        .route("/api/v1/file/get/{file_id}", get(download))
        .route(
            "/api/v1/file/download/{attachment_id}",
            get(download_attachment),
        )
        // v0.27's compat aliases of the attachment download ...
        .route(
            "/api/v1/document/download/{attachment_id}",
            get(download_attachment),
        )
        .route(
            "/v1/document/download/{attachment_id}",
            get(download_attachment),
        )
        // ... and of the document preview.
        .route("/api/v1/document/get/{document_id}", get(document_preview))
        .route("/v1/document/get/{document_id}", get(document_preview))
        .route("/api/v1/file/mv", post(mv))
        .route("/api/v1/file/convert", post(convert))
        .merge(v027::routes())
        // axum's 2 MB default would refuse files the platform accepts (6 MB on Lambda).
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FILE_BYTES))
        .with_state(state)
}

fn pinned(e: FileError) -> ApiError {
    e.into_api(Gen::Pinned)
}

/// FL1: multipart `file` parts (paths make folders), `parent_id` (the root by default).
async fn upload(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    req: Request,
) -> ApiResult {
    let no_part = || pinned(FileError::BadRequest("No file part!".into()));
    let form = input::read_form(&state, req).await?.ok_or_else(no_part)?;
    if !form.saw_file_part {
        return Err(no_part());
    }
    if form.files.iter().any(|f| f.name.is_empty()) {
        return Err(pinned(FileError::BadRequest("No selected file!".into())));
    }
    let parent = form.fields.get("parent_id").and_then(Value::as_str);
    let rows = files::upload(&state, &tenant, parent, form.files)
        .await
        .map_err(pinned)?;
    Ok(ok_json(Value::Array(rows.iter().map(file_json).collect())))
}

/// A name a create or rename may use: a non-empty string of at most 255 bytes.
fn checked_name(v: &Value) -> Result<&str, ApiError> {
    let name = v
        .as_str()
        .ok_or_else(|| pinned(FileError::BadRequest("`name` must be a string.".into())))?;
    if name.is_empty() {
        return Err(pinned(FileError::BadRequest(
            "File name can't be empty.".into(),
        )));
    }
    if name.len() > FILE_NAME_LIMIT {
        return Err(pinned(FileError::BadRequest(
            "File name must be 255 bytes or less.".into(),
        )));
    }
    Ok(name)
}

/// FL2: a folder (`type` exactly `folder`) or a virtual file.
async fn create(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    let name = checked_name(pinned_required(&req, "name")?)?;
    let parent = input::opt_str(&req, "parent_id")?;
    let kind = input::opt_str(&req, "type")?;
    let row = files::create(&state, &tenant, name, parent, kind, Gen::Pinned)
        .await
        .map_err(pinned)?;
    Ok(ok_json(file_json(&row)))
}

/// FL3: `{total, files, parent_folder}`.
async fn list(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let q = files::list_query(&query_pairs(raw.as_deref()), Gen::Pinned)?;
    Ok(ok_json(
        files::list(&state, &tenant, &q).await.map_err(pinned)?,
    ))
}

/// FL4: `{"root_folder": {...}}` (the pinned shape; v0.27's compat answers a listing).
async fn root_folder(State(state): State<AppState>, AuthTenant(tenant): AuthTenant) -> ApiResult {
    let root = files::root_folder(&state, &tenant).await.map_err(pinned)?;
    Ok(ok_json(json!({"root_folder": file_json(&root)})))
}

fn file_id_arg(raw: Option<&str>) -> Result<String, ApiError> {
    let pairs = query_pairs(raw);
    first(&pairs, "file_id")
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ApiError::data("`file_id` query parameter is required"))
}

/// FL5: `{"parent_folder": {...}}` (upstream's pinned handler always crashed; this does
/// what it was meant to, as v0.27 does).
async fn parent_folder(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let id = file_id_arg(raw.as_deref())?;
    Ok(ok_json(
        files::parent_folder(&state, &tenant, &id)
            .await
            .map_err(pinned)?,
    ))
}

/// FL6: `{"parent_folders": [...]}`, the file first, the root last.
async fn all_parent_folder(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(raw.as_deref());
    let id = first(&pairs, "file_id").unwrap_or("");
    Ok(ok_json(
        files::parents(&state, &tenant, id).await.map_err(pinned)?,
    ))
}

fn id_list(req: &serde_json::Map<String, Value>, key: &str) -> Result<Vec<String>, ApiError> {
    str_list(pinned_required(req, key)?).ok_or_else(|| {
        pinned(FileError::BadRequest(format!(
            "`{key}` must be a list of strings."
        )))
    })
}

/// FL7: body `file_ids`; `true`.
async fn rm(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    let ids = id_list(&req, "file_ids")?;
    files::delete_files(&state, &tenant, &ids)
        .await
        .map_err(pinned)?;
    Ok(ok_json(json!(true)))
}

/// FL8: body `file_id`, `name`; `true`.
async fn rename(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    let id = pinned_required(&req, "file_id")?
        .as_str()
        .unwrap_or_default()
        .to_string();
    let name = checked_name(pinned_required(&req, "name")?)?;
    files::rename(&state, &tenant, &id, name)
        .await
        .map_err(pinned)?;
    Ok(ok_json(json!(true)))
}

/// FL9: the raw bytes.
async fn download(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(file_id): Path<String>,
) -> ApiResult {
    let f = files::download_record(&state, &tenant, &file_id)
        .await
        .map_err(pinned)?;
    if let Some(redirect) = large_file_redirect(&tenant, &f).await? {
        return Ok(redirect);
    }
    let d = files::download_of(&state, &tenant, &f)
        .await
        .map_err(pinned)?;
    Ok(input::download_reply(d))
}

/// A file too large for a Lambda response (AWS only): a redirect to its object, with the
/// type the inline reply would carry; clients follow it. `None` to answer inline.
pub(crate) async fn large_file_redirect(
    tenant: &str,
    f: &lambdarag::ports::files::FileRecord,
) -> Result<Option<axum::response::Response>, ApiError> {
    if f.location.is_empty() {
        return Ok(None);
    }
    let mime = files::download_type(f);
    let mime = mime.as_deref().unwrap_or("application/octet-stream");
    let url =
        lambdarag_aws::uploads::large_blob_url(tenant, &f.location, f.size, mime, None).await?;
    Ok(url.map(|url| lambdarag::contract::http::found(&url)))
}

/// FL10 (and v0.27's `/document/download/{id}` aliases): an attachment (a file `POST
/// /documents/upload` stored), typed by `ext`.
async fn download_attachment(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(attachment_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let pairs = query_pairs(q.as_deref());
    files::attachments::serve(&state, &tenant, &attachment_id, &pairs, false).await
}

/// v0.27's `GET /document/get/{id}`: the dataset document's file inline, with its type
/// (the alias of `GET /documents/{id}/preview`).
async fn document_preview(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(document_id): Path<String>,
) -> ApiResult {
    let file = lambdarag::services::documents::document_file(&state, &tenant, &document_id).await?;
    let mut resp = axum::response::IntoResponse::into_response(file.bytes);
    if let Ok(v) = axum::http::HeaderValue::from_str(&file.mime) {
        resp.headers_mut()
            .insert(axum::http::header::CONTENT_TYPE, v);
    }
    Ok(resp)
}

/// FL11: body `src_file_ids`, `dest_file_id`; `true`.
async fn mv(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    let ids = id_list(&req, "src_file_ids")?;
    let dest = pinned_required(&req, "dest_file_id")?
        .as_str()
        .unwrap_or_default()
        .to_string();
    files::move_files(&state, &tenant, &ids, Some(&dest), None, Gen::Pinned)
        .await
        .map_err(pinned)?;
    Ok(ok_json(json!(true)))
}

/// FL12: body `file_ids`, `kb_ids`: (re)link files as documents; the link rows.
async fn convert(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    link(&state, &tenant, &headers, &body, Gen::Pinned).await
}

/// FL12 and `POST /files/link-to-datasets` (the same handler upstream).
pub(crate) async fn link(
    state: &AppState,
    tenant: &str,
    headers: &HeaderMap,
    body: &Bytes,
    gen: Gen,
) -> ApiResult {
    let req = loose_json_body(headers, body)?;
    validate_request(&req, &["file_ids", "kb_ids"])?;
    let bad = |k: &str| {
        let m = format!("`{k}` must be a list of strings.");
        match gen {
            Gen::Pinned => FileError::BadRequest(m).into_api(gen),
            Gen::V027 => ApiError::argument(m),
        }
    };
    let file_ids = req
        .get("file_ids")
        .and_then(str_list)
        .ok_or_else(|| bad("file_ids"))?;
    let kb_ids = req
        .get("kb_ids")
        .and_then(str_list)
        .ok_or_else(|| bad("kb_ids"))?;
    let links = files::link_to_datasets(state, tenant, &file_ids, &kb_ids)
        .await
        .map_err(|e| e.into_api(gen))?;
    Ok(ok_json(Value::Array(links)))
}

/// A presigned PUT URL for a file past API Gateway's 6 MB payload limit: the client PUTs
/// the bytes to S3 and S3 ingestion stores the file in the folder (`parent_id`, else the
/// root). lambdarag's own route, like `…/documents/upload_url`; AWS deployment only.
async fn upload_url(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    let (name, expires) = lambdarag_aws::uploads::presign_request(&req)?;
    let parent_id = req.get("parent_id").and_then(Value::as_str);
    let (url, key) = lambdarag_aws::uploads::presigned_file_upload_url(
        &state, &tenant, parent_id, &name, expires,
    )
    .await?;
    Ok(ok_json(json!({
        "url": url,
        "method": "PUT",
        "key": key,
        "expires_in": expires.as_secs(),
    })))
}
