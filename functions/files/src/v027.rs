//! RAGFlow v0.27's file routes (`get_result` envelope, codes 101/102) and the personal
//! `POST /documents/upload`.

use axum::body::{to_bytes, Bytes};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use lambdarag::contract::envelope::{ok, ok_json, ApiError, ApiResult};
use lambdarag::contract::http::{first, loose_json_body, query_pairs};
use lambdarag::services::auth::AuthTenant;
use lambdarag::services::files::{self, file_json, personal_upload_reply, FileError, Gen};
use lambdarag::AppState;

use crate::input::{self, forbid_extra, v027_id_list, v027_name};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/files",
            post(create_or_upload).get(list).delete(delete),
        )
        .route("/api/v1/files/move", post(move_files))
        .route("/api/v1/files/link-to-datasets", post(link))
        .route("/api/v1/files/{file_id}", get(download))
        .route("/api/v1/files/{file_id}/parent", get(parent))
        .route("/api/v1/files/{file_id}/ancestors", get(ancestors))
        .route("/api/v1/documents/upload", post(personal_upload))
        // v0.27 keeps the older names of the same upload as aliases.
        .route("/api/v1/file/upload_info", post(personal_upload))
        .route("/v1/document/upload_info", post(personal_upload))
}

fn v027(e: FileError) -> ApiError {
    e.into_api(Gen::V027)
}

/// A JSON body read from a whole request (the route also takes multipart).
async fn json_of(req: Request) -> Result<serde_json::Map<String, Value>, ApiError> {
    let headers = req.headers().clone();
    let body = to_bytes(req.into_body(), crate::MAX_FILE_BYTES)
        .await
        .map_err(|_| ApiError::argument("The request body could not be read."))?;
    loose_json_body(&headers, &body)
}

/// `POST /files`: multipart = upload (`file`, `parent_id`); JSON = create a folder or a
/// virtual file (`name`*, `parent_id`, `type`).
async fn create_or_upload(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    req: Request,
) -> ApiResult {
    if input::is_multipart(&req) {
        let form = input::read_form(&state, req)
            .await?
            .ok_or_else(|| ApiError::argument("No file part!"))?;
        if !form.saw_file_part {
            return Err(ApiError::argument("No file part!"));
        }
        if form.files.iter().any(|f| f.name.is_empty()) {
            return Err(ApiError::argument("No file selected!"));
        }
        let parent = form.fields.get("parent_id").and_then(Value::as_str);
        let rows = files::upload(&state, &tenant, parent, form.files)
            .await
            .map_err(v027)?;
        return Ok(ok(Value::Array(rows.iter().map(file_json).collect())));
    }
    let body = json_of(req).await?;
    forbid_extra(&body, &["name", "parent_id", "type"])?;
    let name = v027_name(&body, "name")?.ok_or_else(|| {
        input::field_error("name", "Field required", &Value::Object(body.clone()))
    })?;
    let parent = input::opt_str(&body, "parent_id")?;
    let kind = input::opt_str(&body, "type")?;
    let row = files::create(&state, &tenant, &name, parent, kind, Gen::V027)
        .await
        .map_err(v027)?;
    Ok(ok(file_json(&row)))
}

/// `GET /files`: `{total, files, parent_folder}`.
async fn list(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let q = files::list_query(&query_pairs(raw.as_deref()), Gen::V027)?;
    Ok(ok(files::list(&state, &tenant, &q).await.map_err(v027)?))
}

/// `DELETE /files`: body `ids`* (extra keys refused); `{success_count}`.
async fn delete(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    forbid_extra(&req, &["ids"])?;
    let ids = v027_id_list(&req, "ids")?;
    let n = files::delete_files(&state, &tenant, &ids)
        .await
        .map_err(v027)?;
    Ok(ok(json!({"success_count": n})))
}

/// `POST /files/move`: `src_file_ids`*, `dest_file_id` and/or `new_name`; `true`.
async fn move_files(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    forbid_extra(&req, &["src_file_ids", "dest_file_id", "new_name"])?;
    let ids = v027_id_list(&req, "src_file_ids")?;
    let dest = input::opt_str(&req, "dest_file_id")?.filter(|s| !s.is_empty());
    let new_name = v027_name(&req, "new_name")?;
    if dest.is_none() && new_name.is_none() {
        return Err(ApiError::argument(
            "At least one of dest_file_id or new_name must be provided",
        ));
    }
    if new_name.is_some() && ids.len() > 1 {
        return Err(ApiError::argument(
            "new_name can only be used with a single file",
        ));
    }
    files::move_files(&state, &tenant, &ids, dest, new_name.as_deref(), Gen::V027)
        .await
        .map_err(v027)?;
    Ok(ok(json!(true)))
}

/// `GET /files/{id}`: the bytes.
async fn download(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(file_id): Path<String>,
) -> ApiResult {
    let f = files::download_record(&state, &tenant, &file_id)
        .await
        .map_err(v027)?;
    if let Some(redirect) = crate::large_file_redirect(&tenant, &f).await? {
        return Ok(redirect);
    }
    let d = files::download_of(&state, &tenant, &f)
        .await
        .map_err(v027)?;
    Ok(input::download_reply(d))
}

/// `GET /files/{id}/parent`: `{parent_folder}`.
async fn parent(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(file_id): Path<String>,
) -> ApiResult {
    Ok(ok(files::parent_folder(&state, &tenant, &file_id)
        .await
        .map_err(v027)?))
}

/// `GET /files/{id}/ancestors`: `{parent_folders}`.
async fn ancestors(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(file_id): Path<String>,
) -> ApiResult {
    Ok(ok(files::parents(&state, &tenant, &file_id)
        .await
        .map_err(v027)?))
}

/// `POST /files/link-to-datasets`: as `/file/convert`, with v0.27's error codes.
async fn link(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    crate::link(&state, &tenant, &headers, &body, Gen::V027).await
}

/// `POST /documents/upload`: multipart file(s) stored in the file manager's root; the
/// attachment shape (one object for one file, a list for several). `?url=` would need the
/// server to fetch the web: refused with a clear message.
async fn personal_upload(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    RawQuery(raw): RawQuery,
    req: Request,
) -> ApiResult {
    let pairs = query_pairs(raw.as_deref());
    let url = first(&pairs, "url").filter(|u| !u.trim().is_empty());
    let form = if input::is_multipart(&req) {
        input::read_form(&state, req).await?
    } else {
        None
    };
    let files = form
        .map(|f| f.files)
        .unwrap_or_default()
        .into_iter()
        .filter(|f| !f.name.is_empty())
        .collect::<Vec<_>>();
    match (url, files.is_empty()) {
        (Some(_), false) => Err(ApiError::argument(
            "Provide either multipart file(s) or ?url=..., not both.",
        )),
        (None, true) => Err(ApiError::argument(
            "Missing input: provide multipart file(s) or url",
        )),
        (Some(_), true) => Err(ApiError::argument(
            "Fetching ?url= is not supported by lambdarag: upload the file as multipart instead.",
        )),
        (None, false) => {
            let rows = files::upload(&state, &tenant, None, files)
                .await
                .map_err(v027)?;
            let mut replies: Vec<Value> = rows.iter().map(personal_upload_reply).collect();
            Ok(ok_json(if replies.len() == 1 {
                replies.remove(0)
            } else {
                Value::Array(replies)
            }))
        }
    }
}
