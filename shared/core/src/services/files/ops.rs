//! The file manager's operations: root, upload, create, list, parents, delete, move and
//! rename, download.

use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::tree::{
    ancestors_path, apply_list, check_rename, is_within, split_upload_path, FileOrder,
};
use super::{file_blob_key, file_json, FileError, FileResult, Gen};
use crate::contract::envelope::ApiError;
use crate::contract::error::StoreError;
use crate::contract::ids::new_id;
use crate::contract::pyfmt::py_str_repr;
use crate::contract::time::now_ms;
use crate::ports::files::{FileRecord, ROOT_NAME, TYPE_FOLDER, TYPE_VIRTUAL};
use crate::services::datasets::next_duplicate_name;
use crate::services::documents::{self, file_type, suffix_of, UploadFile, FILE_NAME_LIMIT};
use crate::state::AppState;

/// Deepest folder path walked before giving up (a corrupted cycle must not loop forever).
const MAX_DEPTH: usize = 256;

fn new_row(tenant_id: &str, parent_id: &str, name: &str, file_type: &str) -> FileRecord {
    let now = now_ms();
    FileRecord {
        id: new_id(),
        parent_id: parent_id.to_string(),
        tenant_id: tenant_id.to_string(),
        created_by: tenant_id.to_string(),
        name: name.to_string(),
        file_type: file_type.to_string(),
        location: String::new(),
        size: 0,
        source_type: String::new(),
        create_time: now,
        update_time: now,
    }
}

/// The tenant's root folder, created on first use.
pub async fn root_folder(state: &AppState, tenant_id: &str) -> FileResult<FileRecord> {
    let mut candidate = new_row(tenant_id, "", ROOT_NAME, TYPE_FOLDER);
    candidate.parent_id = candidate.id.clone();
    Ok(state.files.ensure_root(&candidate).await?)
}

/// A folder of the tenant given by id, or the root when no id is given.
async fn folder_or_root(
    state: &AppState,
    tenant_id: &str,
    id: Option<&str>,
) -> FileResult<Option<FileRecord>> {
    match id.filter(|s| !s.is_empty()) {
        None => Ok(Some(root_folder(state, tenant_id).await?)),
        Some(id) => Ok(state
            .files
            .get_file(tenant_id, id)
            .await?
            .filter(FileRecord::is_folder)),
    }
}

/// Insert a row, renaming it `name(n)` while the folder already holds its name.
async fn insert_dedup(state: &AppState, mut row: FileRecord) -> FileResult<FileRecord> {
    for _ in 0..1000 {
        match state.files.insert_file(&row).await {
            Ok(()) => return Ok(row),
            Err(StoreError::Conflict(_)) => {
                row.name = next_duplicate_name(&row.name);
                if row.name.len() > FILE_NAME_LIMIT {
                    break;
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(FileError::Conflict(
        "Duplicated file name in the same folder.".into(),
    ))
}

/// The subfolder `name` of `parent`, created if missing.
async fn ensure_subfolder(
    state: &AppState,
    tenant_id: &str,
    parent: &FileRecord,
    name: &str,
) -> FileResult<FileRecord> {
    for _ in 0..3 {
        if let Some(f) = state.files.find_child(tenant_id, &parent.id, name).await? {
            return if f.is_folder() {
                Ok(f)
            } else {
                Err(FileError::NotFound("Folder not found!".into()))
            };
        }
        let row = new_row(tenant_id, &parent.id, name, TYPE_FOLDER);
        match state.files.insert_file(&row).await {
            Ok(()) => return Ok(row),
            // Created concurrently: read it back.
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(FileError::NotFound("Folder not found!".into()))
}

/// The folder an upload goes to: `parent_id`, or the root when none is given.
pub async fn upload_folder(
    state: &AppState,
    tenant_id: &str,
    parent_id: Option<&str>,
) -> FileResult<FileRecord> {
    folder_or_root(state, tenant_id, parent_id)
        .await?
        .ok_or_else(|| FileError::NotFound("Can't find this folder!".into()))
}

/// FL1 / `POST /files` (multipart): store each file under `parent_id` (the root by
/// default); `a/b/c.txt` creates the folders `a` and `b`; a taken name becomes `name(n)`.
pub async fn upload(
    state: &AppState,
    tenant_id: &str,
    parent_id: Option<&str>,
    files: Vec<UploadFile>,
) -> FileResult<Vec<FileRecord>> {
    let parent = upload_folder(state, tenant_id, parent_id).await?;
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        let Some((folders, leaf)) = split_upload_path(&f.name) else {
            return Err(FileError::BadRequest("No selected file!".into()));
        };
        if leaf.len() > FILE_NAME_LIMIT {
            return Err(FileError::BadRequest(
                "File name must be 255 bytes or less.".into(),
            ));
        }
        let mut folder = parent.clone();
        for name in &folders {
            folder = ensure_subfolder(state, tenant_id, &folder, name).await?;
        }
        let mut row = new_row(tenant_id, &folder.id, &leaf, file_type(&leaf));
        row.location = file_blob_key(&row.id);
        row.size = f.bytes.len() as i64;
        state.blobs.put(tenant_id, &row.location, f.bytes).await?;
        match insert_dedup(state, row.clone()).await {
            Ok(row) => out.push(row),
            Err(e) => {
                let _ = state.blobs.delete(tenant_id, &row.location).await;
                return Err(e);
            }
        }
    }
    Ok(out)
}

/// FL2 / `POST /files` (JSON): a folder (`type` `folder`) or an empty virtual file.
/// Pinned compares `type` exactly; v0.27 case-insensitively.
pub async fn create(
    state: &AppState,
    tenant_id: &str,
    name: &str,
    parent_id: Option<&str>,
    kind: Option<&str>,
    gen: Gen,
) -> FileResult<FileRecord> {
    let Some(parent) = folder_or_root(state, tenant_id, parent_id).await? else {
        return Err(FileError::BadRequest("Parent Folder Doesn't Exist!".into()));
    };
    let is_folder = match gen {
        Gen::Pinned => kind == Some(TYPE_FOLDER),
        Gen::V027 => kind.is_some_and(|k| k.eq_ignore_ascii_case(TYPE_FOLDER)),
    };
    let dup = || FileError::Conflict("Duplicated folder name in the same folder.".into());
    if state
        .files
        .find_child(tenant_id, &parent.id, name)
        .await?
        .is_some()
    {
        return Err(dup());
    }
    let row = new_row(
        tenant_id,
        &parent.id,
        name,
        if is_folder { TYPE_FOLDER } else { TYPE_VIRTUAL },
    );
    match state.files.insert_file(&row).await {
        Ok(()) => Ok(row),
        Err(StoreError::Conflict(_)) => Err(dup()),
        Err(e) => Err(e.into()),
    }
}

/// A listing request.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub parent_id: Option<String>,
    pub keywords: String,
    pub page: u64,
    pub page_size: u64,
    pub order: FileOrder,
    pub desc: bool,
}

fn int_arg(v: &str) -> Result<i64, ApiError> {
    v.trim().parse::<i64>().map_err(|_| {
        ApiError::exception(format!(
            "ValueError(\"invalid literal for int() with base 10: {}\")",
            py_str_repr(v)
        ))
    })
}

/// The query of FL3 / `GET /files`. Pinned: `int()` on page numbers (a bad one is the
/// leaked `ValueError`) and `desc` passed raw, so any non-empty value (even `false`) sorts
/// descending. v0.27: validated query (extra keys, `page_size` ≤ 100, a real boolean).
pub fn list_query(pairs: &[(String, String)], gen: Gen) -> Result<ListQuery, ApiError> {
    let get = |k: &str| crate::contract::http::first(pairs, k);
    let mut q = ListQuery {
        parent_id: get("parent_id")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        keywords: get("keywords").unwrap_or("").to_string(),
        page: 1,
        page_size: 15,
        order: FileOrder::CreateTime,
        desc: true,
    };
    match gen {
        Gen::Pinned => {
            if let Some(p) = get("page") {
                q.page = u64::try_from(int_arg(p)?).unwrap_or(0);
            }
            if let Some(p) = get("page_size") {
                q.page_size = u64::try_from(int_arg(p)?).unwrap_or(0);
            }
            if let Some(o) = get("orderby") {
                q.order = FileOrder::parse(o).ok_or_else(|| {
                    ApiError::exception(format!(
                        "AttributeError(\"type object 'File' has no attribute {}\")",
                        py_str_repr(o)
                    ))
                })?;
            }
            if let Some(d) = get("desc") {
                q.desc = !d.is_empty();
            }
        }
        Gen::V027 => {
            const KNOWN: &[&str] = &[
                "parent_id",
                "keywords",
                "page",
                "page_size",
                "orderby",
                "desc",
            ];
            if let Some((k, v)) = pairs.iter().find(|(k, _)| !KNOWN.contains(&k.as_str())) {
                return Err(ApiError::argument(format!(
                    "Field: <{k}> - Message: <Extra inputs are not permitted> - Value: <{v}>"
                )));
            }
            let number = |k: &str, v: &str| {
                v.trim().parse::<u64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    ApiError::argument(format!(
                        "Field: <{k}> - Message: <Input should be a valid integer greater than or equal to 1> - Value: <{v}>"
                    ))
                })
            };
            if let Some(p) = get("page") {
                q.page = number("page", p)?;
            }
            if let Some(p) = get("page_size") {
                q.page_size = number("page_size", p)?;
                if q.page_size > 100 {
                    return Err(ApiError::argument(
                        "page_size must be less than or equal to 100",
                    ));
                }
            }
            if let Some(o) = get("orderby") {
                q.order = FileOrder::parse(o)
                    .ok_or_else(|| ApiError::argument(format!("invalid orderby field: {o}")))?;
            }
            if let Some(d) = get("desc") {
                q.desc = match d.to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" | "y" | "on" | "t" => true,
                    "false" | "0" | "no" | "n" | "off" | "f" => false,
                    _ => {
                        return Err(ApiError::argument(format!(
                            "Field: <desc> - Message: <Input should be a valid boolean, unable to interpret input> - Value: <{d}>"
                        )))
                    }
                }
            }
        }
    }
    Ok(q)
}

/// The datasets a file is linked into (`kbs_info`), skipping links whose dataset is gone.
async fn kbs_info(state: &AppState, f: &FileRecord) -> FileResult<Value> {
    let mut out = Vec::new();
    for link in state.files.links_of_file(&f.tenant_id, &f.id).await? {
        if let Some(ds) = state
            .meta
            .get_dataset(&f.tenant_id, &link.dataset_id)
            .await?
        {
            out.push(json!({"kb_id": ds.id, "kb_name": ds.name}));
        }
    }
    Ok(Value::Array(out))
}

/// Every row below a folder (not the folder itself), depth first.
pub(super) async fn subtree(
    state: &AppState,
    tenant_id: &str,
    folder: &FileRecord,
) -> FileResult<Vec<FileRecord>> {
    let mut out = Vec::new();
    let mut stack = vec![(folder.id.clone(), 0usize)];
    while let Some((id, depth)) = stack.pop() {
        if depth >= MAX_DEPTH {
            continue;
        }
        for child in state.files.list_children(tenant_id, &id).await? {
            if child.is_folder() && !child.is_root() {
                stack.push((child.id.clone(), depth + 1));
            }
            out.push(child);
        }
    }
    Ok(out)
}

/// FL3 / `GET /files`: `{total, files, parent_folder}`. Files carry `kbs_info`; folders
/// carry their subtree's size and `has_child_folder`.
pub async fn list(state: &AppState, tenant_id: &str, q: &ListQuery) -> FileResult<Value> {
    let Some(folder) = folder_or_root(state, tenant_id, q.parent_id.as_deref()).await? else {
        return Err(FileError::NotFound("Folder not found!".into()));
    };
    let children = state.files.list_children(tenant_id, &folder.id).await?;
    let (page, total) = apply_list(children, &q.keywords, q.order, q.desc, q.page, q.page_size);
    let mut files = Vec::with_capacity(page.len());
    for f in &page {
        let mut v = file_json(f);
        if let Value::Object(m) = &mut v {
            if f.is_folder() {
                let below = subtree(state, tenant_id, f).await?;
                let size: i64 = below.iter().map(|r| r.size).sum();
                m.insert("size".into(), json!(size));
                m.insert(
                    "has_child_folder".into(),
                    json!(below.iter().any(|r| r.is_folder() && r.parent_id == f.id)),
                );
                m.insert("kbs_info".into(), json!([]));
            } else {
                m.insert("kbs_info".into(), kbs_info(state, f).await?);
            }
        }
        files.push(v);
    }
    let parent = parent_of(state, &folder).await?;
    Ok(json!({"total": total, "files": files, "parent_folder": file_json(&parent)}))
}

/// A row's parent (the root is its own parent; an orphan counts as being in the root).
async fn parent_of(state: &AppState, f: &FileRecord) -> FileResult<FileRecord> {
    if f.is_root() {
        return Ok(f.clone());
    }
    match state.files.get_file(&f.tenant_id, &f.parent_id).await? {
        Some(p) => Ok(p),
        None => root_folder(state, &f.tenant_id).await,
    }
}

/// FL5 / `GET /files/{id}/parent`: `{parent_folder}`.
pub async fn parent_folder(state: &AppState, tenant_id: &str, file_id: &str) -> FileResult<Value> {
    let Some(f) = state.files.get_file(tenant_id, file_id).await? else {
        return Err(FileError::NotFound("Folder not found!".into()));
    };
    Ok(json!({"parent_folder": file_json(&parent_of(state, &f).await?)}))
}

/// The rows from `f` up to the root, `f` first.
async fn path_to_root(state: &AppState, f: FileRecord) -> FileResult<Vec<FileRecord>> {
    // The lookup is async, so walk here and keep `ancestors_path`'s rules (start first,
    // stop at the root, bounded) by feeding it the rows read.
    let mut chain = Vec::new();
    let mut cur = f.clone();
    while chain.len() < MAX_DEPTH && !cur.is_root() {
        match state.files.get_file(&cur.tenant_id, &cur.parent_id).await? {
            Some(p) => {
                chain.push(p.clone());
                cur = p;
            }
            None => break,
        }
    }
    let mut rest = chain.into_iter();
    Ok(ancestors_path(f, |_| rest.next(), MAX_DEPTH))
}

/// FL6 / `GET /files/{id}/ancestors`: `{parent_folders}`, the file itself first, then each
/// folder up to and including the root.
pub async fn parents(state: &AppState, tenant_id: &str, file_id: &str) -> FileResult<Value> {
    let Some(f) = state.files.get_file(tenant_id, file_id).await? else {
        return Err(FileError::NotFound("Folder not found!".into()));
    };
    let path = path_to_root(state, f).await?;
    Ok(json!({"parent_folders": path.iter().map(file_json).collect::<Vec<_>>()}))
}

/// Remove one non-folder row: its bytes, the documents made from it, its links, the row.
pub(super) async fn remove_file(
    state: &AppState,
    tenant_id: &str,
    f: &FileRecord,
) -> FileResult<()> {
    unlink_all(state, tenant_id, &f.id).await?;
    if !f.location.is_empty() {
        state.blobs.delete(tenant_id, &f.location).await?;
    }
    state.files.delete_file(tenant_id, &f.id).await?;
    Ok(())
}

/// Remove the documents linked from a file and the links (upstream deletes a file's
/// documents with it, and re-linking replaces earlier links).
pub(super) async fn unlink_all(state: &AppState, tenant_id: &str, file_id: &str) -> FileResult<()> {
    for link in state.files.links_of_file(tenant_id, file_id).await? {
        documents::remove_document(state, tenant_id, &link.dataset_id, &link.document_id)
            .await
            .map_err(|_| FileError::Server("Database error (Document removal)!".into()))?;
        state
            .files
            .delete_link(tenant_id, file_id, &link.document_id)
            .await?;
    }
    Ok(())
}

/// FL7 / `DELETE /files`: every id is checked first (nothing is deleted when one is
/// unknown); a folder goes with its whole subtree. Returns how many ids were deleted.
pub async fn delete_files(state: &AppState, tenant_id: &str, ids: &[String]) -> FileResult<u64> {
    let mut rows = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(f) = state.files.get_file(tenant_id, id).await? else {
            return Err(FileError::NotFound("File or Folder not found!".into()));
        };
        if f.is_root() {
            return Err(FileError::BadRequest(
                "The root folder can't be deleted.".into(),
            ));
        }
        if !rows.iter().any(|r: &FileRecord| r.id == f.id) {
            rows.push(f);
        }
    }
    let mut deleted = 0;
    for f in rows {
        // Already gone with a folder deleted earlier in this request.
        if state.files.get_file(tenant_id, &f.id).await?.is_none() {
            deleted += 1;
            continue;
        }
        if f.is_folder() {
            let mut below = subtree(state, tenant_id, &f).await?;
            // Children before their folders.
            below.reverse();
            for r in &below {
                if r.is_folder() {
                    state.files.delete_file(tenant_id, &r.id).await?;
                } else {
                    remove_file(state, tenant_id, r).await?;
                }
            }
            state.files.delete_file(tenant_id, &f.id).await?;
        } else {
            remove_file(state, tenant_id, &f).await?;
        }
        deleted += 1;
    }
    Ok(deleted)
}

/// FL8 (`new_name` only), FL11 (`dest_file_id` only) and `POST /files/move` (either or
/// both). Every source and the destination are checked before anything changes; a name
/// taken in the target folder is refused; a folder cannot go into its own subtree. A
/// renamed file's linked documents take the new name.
pub async fn move_files(
    state: &AppState,
    tenant_id: &str,
    src_ids: &[String],
    dest_id: Option<&str>,
    new_name: Option<&str>,
    gen: Gen,
) -> FileResult<()> {
    let mut sources = Vec::with_capacity(src_ids.len());
    for id in src_ids {
        match state.files.get_file(tenant_id, id).await? {
            Some(f) if !f.is_root() => sources.push(f),
            Some(_) => {
                return Err(FileError::BadRequest(
                    "The root folder can't be moved.".into(),
                ))
            }
            None => {
                return Err(FileError::NotFound(
                    gen.pick("File or Folder not found!", "File or folder not found!")
                        .into(),
                ))
            }
        }
    }
    let dest = match dest_id.filter(|s| !s.is_empty()) {
        None => None,
        Some(id) => match state.files.get_file(tenant_id, id).await? {
            Some(d) if d.is_folder() => Some(d),
            _ => {
                return Err(FileError::NotFound(
                    gen.pick("Parent Folder not found!", "Parent folder not found!")
                        .into(),
                ))
            }
        },
    };
    if let Some(name) = new_name {
        let f = sources
            .first()
            .ok_or_else(|| FileError::NotFound("File not found!".into()))?;
        check_rename(f, name).map_err(|m| FileError::BadRequest(m.into()))?;
        let target = dest
            .as_ref()
            .map_or(f.parent_id.as_str(), |d| d.id.as_str());
        if let Some(other) = state.files.find_child(tenant_id, target, name).await? {
            if other.id != f.id {
                return Err(FileError::Conflict(
                    "Duplicated file name in the same folder.".into(),
                ));
            }
        }
    }
    if let Some(d) = &dest {
        let path = path_to_root(state, d.clone()).await?;
        for f in sources.iter().filter(|f| f.is_folder()) {
            if is_within(&path, &f.id) {
                return Err(FileError::BadRequest(
                    "A folder can't be moved into itself or its subfolders.".into(),
                ));
            }
        }
        // Every name is checked before the first row moves, so a refused batch changes
        // nothing (the store still guards against a concurrent writer).
        if new_name.is_none() {
            for f in &sources {
                let taken = state.files.find_child(tenant_id, &d.id, &f.name).await?;
                if taken.is_some_and(|t| t.id != f.id) {
                    return Err(FileError::Conflict(
                        "Duplicated file name in the same folder.".into(),
                    ));
                }
            }
        }
    }
    for mut f in sources {
        let renamed = new_name.is_some_and(|n| n != f.name);
        if let Some(n) = new_name {
            f.name = n.to_string();
        }
        if let Some(d) = &dest {
            f.parent_id = d.id.clone();
        }
        f.update_time = now_ms();
        match state.files.update_file(&f).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(FileError::Conflict(
                    "Duplicated file name in the same folder.".into(),
                ))
            }
            Err(StoreError::NotFound(_)) => {
                return Err(FileError::NotFound("File not found!".into()))
            }
            Err(e) => return Err(e.into()),
        }
        if renamed {
            rename_documents(state, tenant_id, &f).await?;
        }
    }
    Ok(())
}

async fn rename_documents(state: &AppState, tenant_id: &str, f: &FileRecord) -> FileResult<()> {
    let fail = || FileError::Server("Database error (Document rename)!".into());
    for link in state.files.links_of_file(tenant_id, &f.id).await? {
        let Some(mut doc) = state
            .docs
            .get_document(tenant_id, &link.dataset_id, &link.document_id)
            .await?
        else {
            continue;
        };
        doc.name = f.name.clone();
        doc.suffix = suffix_of(&f.name);
        doc.update_time = now_ms();
        state.docs.update_document(&doc).await.map_err(|_| fail())?;
    }
    Ok(())
}

/// A file's bytes and the content type to send them with.
#[derive(Debug)]
pub struct Download {
    pub bytes: Bytes,
    pub content_type: Option<String>,
}

/// FL9 / `GET /files/{id}`. Folders and virtual files have no bytes: `This file is empty.`
pub async fn download(state: &AppState, tenant_id: &str, file_id: &str) -> FileResult<Download> {
    let f = download_record(state, tenant_id, file_id).await?;
    download_of(state, tenant_id, &f).await
}

/// The file a download names (`Document not found!` when the tenant has none by that id).
pub async fn download_record(
    state: &AppState,
    tenant_id: &str,
    file_id: &str,
) -> FileResult<FileRecord> {
    state
        .files
        .get_file(tenant_id, file_id)
        .await?
        .ok_or_else(|| FileError::NotFound("Document not found!".into()))
}

/// `download` of a file already read.
pub async fn download_of(
    state: &AppState,
    tenant_id: &str,
    f: &FileRecord,
) -> FileResult<Download> {
    let bytes = if f.location.is_empty() {
        None
    } else {
        state.blobs.get(tenant_id, &f.location).await?
    };
    let Some(bytes) = bytes.filter(|b| !b.is_empty()) else {
        return Err(FileError::NotFound("This file is empty.".into()));
    };
    Ok(Download {
        bytes,
        content_type: download_type(f),
    })
}

/// The `Content-Type` a file's download carries: `image/<ext>` for visual files,
/// `application/<ext>` for the rest, none without an extension.
pub fn download_type(f: &FileRecord) -> Option<String> {
    let ext = suffix_of(&f.name);
    (!ext.is_empty()).then(|| {
        if f.file_type == "visual" {
            format!("image/{ext}")
        } else {
            format!("application/{ext}")
        }
    })
}

/// The MIME type a file is served with, from its extension (lowercase, no dot); `visual`
/// files of other extensions are `image/<ext>`, the rest `application/<ext>` (upstream's
/// rule for the file manager).
pub fn mime_of(ext: &str, visual: bool) -> String {
    match ext {
        "pdf" => "application/pdf".to_string(),
        "txt" => "text/plain".to_string(),
        "md" => "text/markdown".to_string(),
        "csv" => "text/csv".to_string(),
        "html" | "htm" => "text/html".to_string(),
        "json" => "application/json".to_string(),
        "png" => "image/png".to_string(),
        "jpg" | "jpeg" => "image/jpeg".to_string(),
        "" => "application/octet-stream".to_string(),
        e if visual => format!("image/{e}"),
        e => format!("application/{e}"),
    }
}

/// v0.27's `POST /documents/upload` reply for a file stored in the root: the attachment
/// shape (`created_at` in epoch seconds, `extension`, `mime_type`, `preview_url`).
pub fn personal_upload_reply(f: &FileRecord) -> Value {
    let ext = suffix_of(&f.name);
    let mime = mime_of(&ext, f.file_type == "visual");
    let mut m = Map::new();
    m.insert("created_at".into(), json!(f.create_time as f64 / 1000.0));
    m.insert("created_by".into(), json!(f.created_by));
    m.insert("extension".into(), json!(ext));
    m.insert("id".into(), json!(f.id));
    m.insert("mime_type".into(), json!(mime));
    m.insert("name".into(), json!(f.name));
    m.insert("preview_url".into(), Value::Null);
    m.insert("size".into(), json!(f.size));
    Value::Object(m)
}

/// FL8 (`POST /file/rename`): a rename in place, with the pinned message for a missing id.
pub async fn rename(
    state: &AppState,
    tenant_id: &str,
    file_id: &str,
    name: &str,
) -> FileResult<()> {
    if state.files.get_file(tenant_id, file_id).await?.is_none() {
        return Err(FileError::NotFound("File not found!".into()));
    }
    move_files(
        state,
        tenant_id,
        &[file_id.to_string()],
        None,
        Some(name),
        Gen::Pinned,
    )
    .await
}
