//! Documents of a dataset (contract F1–F9): upload, list, update, download, delete,
//! parse / stop, and the metadata routes. Handlers are thin; rules live in
//! `lambdarag::services::documents`.

use axum::body::Bytes;
use axum::extract::{Multipart, Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use axum::Router;
use serde_json::{json, Value};

use lambdarag::contract::batch::BatchOutcome;
use lambdarag::contract::envelope::{json_response, ok, ok_empty, ok_json, ApiError, ApiResult};
use lambdarag::contract::http::{
    content_disposition, loose_json_body, malformed_multipart, query_pairs,
};
use lambdarag::services::auth::AuthTenant;
use lambdarag::services::documents::{self, UploadFile, FILE_NAME_LIMIT};
use lambdarag::AppState;

/// Largest single file accepted through the API (bigger files go through S3 ingestion).
pub const MAX_FILE_BYTES: usize = 1 << 30;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/api/v1/datasets/{dataset_id}/documents",
            post(upload).get(list).delete(delete),
        )
        .route(
            "/api/v1/datasets/{dataset_id}/documents/upload_url",
            post(upload_url),
        )
        .route(
            "/api/v1/datasets/{dataset_id}/documents/{document_id}",
            // PATCH is v0.27's name for the same update.
            put(update).patch(update).get(download),
        )
        .route(
            "/api/v1/datasets/{dataset_id}/chunks",
            post(parse).delete(stop),
        )
        .route(
            "/api/v1/datasets/{dataset_id}/metadata/summary",
            get(metadata_summary),
        )
        .route(
            "/api/v1/datasets/{dataset_id}/metadata/update",
            post(metadata_update),
        )
        // v0.27's document routes (parse/stop with counts, bulk status, metadata).
        .route(
            "/api/v1/datasets/{dataset_id}/documents/parse",
            post(parse_v027),
        )
        .route(
            "/api/v1/datasets/{dataset_id}/documents/stop",
            post(stop_v027),
        )
        .route(
            "/api/v1/datasets/{dataset_id}/documents/batch-update-status",
            post(batch_update_status),
        )
        .route(
            "/api/v1/datasets/{dataset_id}/documents/metadatas",
            patch(metadatas),
        )
        .route(
            "/api/v1/datasets/{dataset_id}/documents/{document_id}/metadata/config",
            put(metadata_config),
        )
        .route("/api/v1/thumbnails", get(thumbnails))
        .route("/api/v1/documents/ingest", post(ingest))
        .route("/api/v1/documents/{document_id}", get(download_by_id))
        .route("/api/v1/documents/images/{image_id}", get(chunk_image))
        .route("/api/v1/documents/{document_id}/preview", get(preview))
        // Uploads are bounded by MAX_FILE_BYTES (and API Gateway's 6 MB on AWS), not axum's
        // 2 MB default, which would refuse 2–6 MB uploads on Lambda.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FILE_BYTES))
        .with_state(state)
}

fn batch_reply(outcome: BatchOutcome) -> Response {
    match outcome {
        BatchOutcome::Done => ok_empty(),
        BatchOutcome::Partial {
            success_count,
            errors,
        } => ok(json!({"success_count": success_count, "errors": errors})),
    }
}

async fn upload(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult {
    let Ok(mut multipart) = multipart else {
        return Err(ApiError::argument("No file part!"));
    };
    let mut files = Vec::new();
    let mut saw_file_part = false;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(malformed_multipart(e)),
        };
        // A part is a file only if it carries a filename; a plain text field named
        // `file` is not one.
        if field.name() != Some("file") || field.file_name().is_none() {
            continue;
        }
        saw_file_part = true;
        let name = field.file_name().unwrap_or("").to_string();
        let bytes = field.bytes().await.map_err(malformed_multipart)?;
        files.push(UploadFile { name, bytes });
    }
    if !saw_file_part {
        return Err(ApiError::argument("No file part!"));
    }
    for f in &files {
        if f.name.is_empty() {
            return Err(ApiError::argument("No file selected!"));
        }
        if f.name.len() > FILE_NAME_LIMIT {
            return Err(ApiError::argument("File name must be 255 bytes or less."));
        }
    }
    let dataset = state
        .meta
        .get_dataset(&tenant, &dataset_id)
        .await?
        .ok_or_else(|| documents::lookup_error("dataset", &dataset_id))?;
    let docs = documents::upload(&state, &tenant, &dataset, files, MAX_FILE_BYTES).await?;
    Ok(ok(Value::Array(
        docs.iter().map(|d| d.to_upload_api()).collect(),
    )))
}

/// A presigned PUT URL for a large file (past API Gateway's 6 MB payload limit): the
/// object lands under `datasets/{dataset_id}/` and S3 ingestion turns it into a parsed
/// document. lambdarag's own route; only the AWS deployment has a bucket to sign for.
async fn upload_url(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    let (name, expires) = lambdarag_aws::uploads::presign_request(&req)?;
    let url =
        lambdarag_aws::uploads::presigned_upload_url(&state, &tenant, &dataset_id, &name, expires)
            .await?;
    Ok(ok(json!({
        "url": url,
        "method": "PUT",
        "key": format!("datasets/{dataset_id}/{name}"),
        "expires_in": expires.as_secs(),
    })))
}

async fn list(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let (query, filters) = documents::validate_list(&query_pairs(q.as_deref()))?;
    // v0.27's filter summary is a `get_json_result` reply; the list a `get_result` one.
    let summary = filters.summary;
    let reply = documents::list_reply(&state, &tenant, &dataset_id, query, filters).await?;
    Ok(if summary { ok_json(reply) } else { ok(reply) })
}

async fn update(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path((dataset_id, document_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    let doc = documents::update(&state, &tenant, &dataset_id, &document_id, &req).await?;
    Ok(ok(doc.to_api()))
}

async fn download(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path((dataset_id, document_id)): Path<(String, String)>,
) -> ApiResult {
    if document_id.is_empty() {
        return Err(ApiError::data("Specify document_id please."));
    }
    documents::owned_dataset(&state, &tenant, &dataset_id, || {
        ApiError::data(format!("You do not own the dataset {dataset_id}."))
    })
    .await?;
    let doc = state
        .docs
        .get_document(&tenant, &dataset_id, &document_id)
        .await?
        .ok_or_else(|| {
            ApiError::data(format!("The dataset not own the document {document_id}."))
        })?;
    // Too large for a Lambda response (AWS): a redirect to the object, with the same type
    // and name; clients follow it.
    if let Some(url) = lambdarag_aws::uploads::large_blob_url(
        &tenant,
        &doc.location,
        doc.size,
        "application/octet-stream",
        Some(&content_disposition(&doc.name)),
    )
    .await?
    {
        return Ok(lambdarag::contract::http::found(&url));
    }
    let bytes = state
        .blobs
        .get(&tenant, &doc.location)
        .await?
        .unwrap_or_default();
    if bytes.is_empty() {
        return Err(ApiError::data("This file is empty."));
    }
    // Upstream always sends application/octet-stream; clients (the SDK included) read bytes.
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&doc.name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// v0.27's `GET /documents/{id}`: the file as a download, found in any of the tenant's
/// datasets.
async fn download_by_id(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(document_id): Path<String>,
) -> ApiResult {
    let file = documents::document_file(&state, &tenant, &document_id).await?;
    let mut resp = file.bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&file.name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// v0.27's `GET /documents/images/{image_id}`: a chunk's image, inline, with its type.
async fn chunk_image(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(image_id): Path<String>,
) -> ApiResult {
    let (bytes, kind) =
        lambdarag::services::chunks::v027::image(&state, &tenant, &image_id).await?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(resp)
}

/// v0.27's `GET /documents/{id}/preview`: the file inline, with its type.
async fn preview(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(document_id): Path<String>,
) -> ApiResult {
    let file = documents::document_file(&state, &tenant, &document_id).await?;
    let mut resp = file.bytes.into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&file.mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    Ok(resp)
}

async fn delete(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    Ok(
        match documents::delete(&state, &tenant, &dataset_id, &req).await? {
            documents::DeleteReply::Batch(outcome) => batch_reply(outcome),
            documents::DeleteReply::Deleted(n) => ok(json!({"deleted": n})),
        },
    )
}

/// v0.27: start or cancel documents' processing by id alone.
async fn ingest(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    documents::ingest(&state, &tenant, &req).await?;
    Ok(ok(json!(true)))
}

async fn parse(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    Ok(batch_reply(
        documents::parse(&state, &tenant, &dataset_id, &req).await?,
    ))
}

async fn stop(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    Ok(batch_reply(
        documents::stop(&state, &tenant, &dataset_id, &req).await?,
    ))
}

async fn metadata_summary(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    let doc_ids = req.get("doc_ids").and_then(Value::as_array).map(|a| {
        a.iter()
            .map(lambdarag::contract::pyfmt::py_str)
            .collect::<Vec<String>>()
    });
    Ok(ok(documents::metadata_summary(
        &state,
        &tenant,
        &dataset_id,
        doc_ids,
    )
    .await?))
}

async fn metadata_update(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    Ok(ok(documents::metadata_update(
        &state,
        &tenant,
        &dataset_id,
        &req,
    )
    .await?))
}

async fn parse_v027(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    Ok(ok(documents::parse_v027(
        &state,
        &tenant,
        &dataset_id,
        &req,
    )
    .await?))
}

async fn stop_v027(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    Ok(ok(
        documents::stop_v027(&state, &tenant, &dataset_id, &req).await?
    ))
}

async fn batch_update_status(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    let outcome = documents::batch_update_status(&state, &tenant, &dataset_id, &req).await?;
    if outcome.any_failed {
        // Upstream's `get_json_result(code=500, message="Partial failure")`, HTTP 200.
        return Ok(json_response(
            axum::http::StatusCode::OK,
            &json!({"code": 500, "message": "Partial failure", "data": outcome.per_document}),
        ));
    }
    Ok(ok_json(outcome.per_document))
}

async fn metadatas(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(dataset_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    Ok(ok(documents::metadata_update_v027(
        &state,
        &tenant,
        &dataset_id,
        &req,
    )
    .await?))
}

async fn metadata_config(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path((dataset_id, document_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = loose_json_body(&headers, &body)?;
    let doc =
        documents::set_metadata_config(&state, &tenant, &dataset_id, &document_id, &req).await?;
    Ok(ok(documents::row_and_api(&doc)))
}

async fn thumbnails(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    RawQuery(q): RawQuery,
) -> ApiResult {
    // Repeated `doc_ids` keys; a comma-separated value is one id, as upstream reads it.
    let ids: Vec<String> = query_pairs(q.as_deref())
        .into_iter()
        .filter(|(k, _)| k == "doc_ids")
        .map(|(_, v)| v)
        .collect();
    Ok(ok_json(documents::thumbnails(&state, &tenant, &ids).await?))
}
