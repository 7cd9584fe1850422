//! The personal file manager: the pinned `/file/*` routes, v0.27's `/files*` routes and
//! `POST /documents/upload`.

use serde_json::{json, Map, Value};

use super::{envelope_reply, json_body, object_map, operation, path_param, query, schema_ref};

type Op = (&'static str, &'static str, Value);

fn file_id() -> Value {
    path_param("file_id", "file or folder id")
}

fn upload_form() -> Option<Value> {
    Some(
        json!({"required": true, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {
                "file": {"type": "array", "items": {"type": "string", "format": "binary"},
                    "description": "one part per file; a name like `a/b/c.txt` creates folders"},
                "parent_id": {"type": "string", "description": "folder to upload into (default: the root)"},
            },
        }}}}),
    )
}

fn list_params() -> Vec<Value> {
    vec![
        query(
            "parent_id",
            "folder to list (default: the root)",
            json!({"type": "string"}),
        ),
        query(
            "keywords",
            "case-insensitive substring of the name",
            json!({"type": "string"}),
        ),
        query(
            "page",
            "1-based page (default 1)",
            json!({"type": "integer", "minimum": 1}),
        ),
        query(
            "page_size",
            "page size (default 15; v0.27 at most 100)",
            json!({"type": "integer", "minimum": 1, "maximum": 100}),
        ),
        query(
            "orderby",
            "order column (default create_time)",
            json!({"type": "string", "enum": ["create_time", "update_time", "name", "size", "type"]}),
        ),
        query(
            "desc",
            "descending (default true; pinned /file/list: any non-empty value is descending)",
            json!({"type": "boolean"}),
        ),
    ]
}

fn id_query() -> Vec<Value> {
    vec![json!({
        "name": "file_id", "in": "query", "required": true, "description": "file id",
        "schema": {"type": "string"},
    })]
}

fn bytes_reply() -> Value {
    json!({"200": {
        "description": "the file's bytes (`image/<ext>` for images, else `application/<ext>`), \
            or the envelope with an error",
        "content": {
            "*/*": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": schema_ref("Envelope")},
        },
    }})
}

fn ids_body(key: &str) -> Option<Value> {
    json_body(
        json!({"type": "object", "required": [key], "properties": {
            key: {"type": "array", "items": {"type": "string"}},
        }}),
        true,
    )
}

fn link_body() -> Option<Value> {
    json_body(
        json!({"type": "object", "required": ["file_ids", "kb_ids"], "properties": {
            "file_ids": {"type": "array", "items": {"type": "string"},
                "description": "files or folders (folders expand to every file below them)"},
            "kb_ids": {"type": "array", "items": {"type": "string"}, "description": "dataset ids"},
        }}),
        true,
    )
}

fn files_reply(d: &str) -> Value {
    envelope_reply(d, json!({"type": "array", "items": schema_ref("File")}))
}

fn true_reply(d: &str) -> Value {
    envelope_reply(d, json!({"type": "boolean"}))
}

fn pinned() -> Vec<Op> {
    let create_body = json_body(
        json!({"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 255},
            "parent_id": {"type": "string"},
            "type": {"type": "string", "description": "`folder` (exactly) makes a folder; anything else a virtual file"},
        }}),
        true,
    );
    vec![
        ("/api/v1/file/upload", "post", operation("files", "fileUpload",
            "Upload files into a folder (pinned FL1)", vec![], upload_form(),
            files_reply("the stored files"))),
        ("/api/v1/file/upload_url", "post", operation("files", "fileUploadUrl",
            "A presigned PUT URL for a file past API Gateway's 6 MB limit; S3 ingestion stores the object in the folder (AWS deployment only; lambdarag's own route)",
            vec![],
            json_body(json!({"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string", "minLength": 1},
                "parent_id": {"type": "string", "description": "the folder; the root by default"},
                "expires_in": {"type": "integer", "minimum": 1, "maximum": 604800, "default": 3600},
            }}), true),
            envelope_reply("`{url, method, key, expires_in}`", json!({"type": "object", "properties": {
                "url": {"type": "string"}, "method": {"const": "PUT"},
                "key": {"type": "string"}, "expires_in": {"type": "integer"},
            }})))),
        ("/api/v1/file/create", "post", operation("files", "fileCreate",
            "Create a folder or a virtual file (pinned FL2)", vec![], create_body,
            envelope_reply("the new row", schema_ref("File")))),
        ("/api/v1/file/list", "get", operation("files", "fileList",
            "List a folder (pinned FL3)", list_params(), None,
            envelope_reply("a page of the folder", schema_ref("FileListing")))),
        ("/api/v1/file/root_folder", "get", operation("files", "fileRootFolder",
            "The caller's root folder, created on first use (pinned FL4)", vec![], None,
            envelope_reply("the root", json!({"type": "object", "properties": {
                "root_folder": schema_ref("File")}})))),
        ("/api/v1/file/parent_folder", "get", operation("files", "fileParentFolder",
            "A file's folder (pinned FL5)", id_query(), None,
            envelope_reply("the parent", json!({"type": "object", "properties": {
                "parent_folder": schema_ref("File")}})))),
        ("/api/v1/file/all_parent_folder", "get", operation("files", "fileAllParentFolders",
            "A file and every folder above it, up to the root (pinned FL6)", id_query(), None,
            envelope_reply("the path", schema_ref("FileAncestors")))),
        ("/api/v1/file/rm", "post", operation("files", "fileRemove",
            "Delete files; a folder goes with its subtree; linked documents go too (pinned FL7)",
            vec![], ids_body("file_ids"), true_reply("deleted"))),
        ("/api/v1/file/rename", "post", operation("files", "fileRename",
            "Rename a file (extension kept) or folder (pinned FL8)", vec![],
            json_body(json!({"type": "object", "required": ["file_id", "name"], "properties": {
                "file_id": {"type": "string"}, "name": {"type": "string"}}}), true),
            true_reply("renamed"))),
        ("/api/v1/file/get/{file_id}", "get", operation("files", "fileGet",
            "Download a file (pinned FL9)", vec![file_id()], None, bytes_reply())),
        ("/api/v1/file/download/{attachment_id}", "get", operation("files", "fileDownloadAttachment",
            "An attachment stored by POST /documents/upload, typed by `ext` (default markdown; pinned FL10)",
            vec![path_param("attachment_id", "the id POST /documents/upload returned"),
                 super::query("ext", "the type to serve it as (markdown, html, pdf, docx, xlsx, csv, ...)", json!({"type": "string"}))],
            None, bytes_reply())),
        ("/api/v1/document/download/{attachment_id}", "get", operation("files", "documentDownloadAlias",
            "Alias of GET /api/v1/agents/attachments/{id}/download (v0.27 compat)",
            vec![path_param("attachment_id", "the id POST /documents/upload returned"),
                 super::query("ext", "the type to serve it as (default markdown)", json!({"type": "string"})),
                 super::query("disposition", "`inline` to preview", json!({"type": "string"}))],
            None, bytes_reply())),
        ("/v1/document/download/{attachment_id}", "get", operation("files", "documentDownloadAliasV1",
            "Alias of GET /api/v1/agents/attachments/{id}/download, outside /api/v1 (v0.27 compat)",
            vec![path_param("attachment_id", "the id POST /documents/upload returned"),
                 super::query("ext", "the type to serve it as (default markdown)", json!({"type": "string"})),
                 super::query("disposition", "`inline` to preview", json!({"type": "string"}))],
            None, bytes_reply())),
        ("/api/v1/document/get/{document_id}", "get", operation("files", "documentGetAlias",
            "Alias of GET /api/v1/documents/{id}/preview (v0.27 compat)",
            vec![path_param("document_id", "document id")],
            None, bytes_reply())),
        ("/v1/document/get/{document_id}", "get", operation("files", "documentGetAliasV1",
            "Alias of GET /api/v1/documents/{id}/preview, outside /api/v1 (v0.27 compat)",
            vec![path_param("document_id", "document id")],
            None, bytes_reply())),
        ("/api/v1/file/mv", "post", operation("files", "fileMove",
            "Move files into a folder (pinned FL11)", vec![],
            json_body(json!({"type": "object", "required": ["src_file_ids", "dest_file_id"],
                "properties": {
                    "src_file_ids": {"type": "array", "items": {"type": "string"}},
                    "dest_file_id": {"type": "string"}}}), true),
            true_reply("moved"))),
        ("/api/v1/file/convert", "post", operation("files", "fileConvert",
            "Link files into datasets as documents, replacing earlier links (pinned FL12)",
            vec![], link_body(),
            envelope_reply("the links", json!({"type": "array", "items": schema_ref("FileLink")})))),
    ]
}

fn v027() -> Vec<Op> {
    let create_body = json!({"type": "object", "required": ["name"], "additionalProperties": false,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 255},
        "parent_id": {"type": "string"},
        "type": {"type": "string", "description": "`folder` (any case) or `virtual`"},
    }});
    let post_files = Some(json!({"required": true, "content": {
        "multipart/form-data": upload_form().map(|b| b["content"]["multipart/form-data"].clone()),
        "application/json": {"schema": create_body},
    }}));
    vec![
        (
            "/api/v1/files",
            "post",
            operation(
                "files",
                "filesCreateOrUpload",
                "Upload files (multipart) or create a folder / virtual file (JSON) (v0.27)",
                vec![],
                post_files,
                envelope_reply(
                    "the stored files, or the new row",
                    json!({"anyOf": [
                {"type": "array", "items": schema_ref("File")}, schema_ref("File")]}),
                ),
            ),
        ),
        (
            "/api/v1/files",
            "get",
            operation(
                "files",
                "filesList",
                "List a folder (v0.27)",
                list_params(),
                None,
                envelope_reply("a page of the folder", schema_ref("FileListing")),
            ),
        ),
        (
            "/api/v1/files",
            "delete",
            operation(
                "files",
                "filesDelete",
                "Delete files and folders (v0.27)",
                vec![],
                ids_body("ids"),
                envelope_reply(
                    "how many",
                    json!({"type": "object", "properties": {
                "success_count": {"type": "integer"}}}),
                ),
            ),
        ),
        (
            "/api/v1/files/move",
            "post",
            operation(
                "files",
                "filesMove",
                "Move and/or rename (v0.27): `dest_file_id`, `new_name` (one source only)",
                vec![],
                json_body(
                    json!({"type": "object", "required": ["src_file_ids"], "properties": {
                "src_file_ids": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "dest_file_id": {"type": "string"},
                "new_name": {"type": "string", "minLength": 1, "maxLength": 255}}}),
                    true,
                ),
                true_reply("moved"),
            ),
        ),
        (
            "/api/v1/files/link-to-datasets",
            "post",
            operation(
                "files",
                "filesLinkToDatasets",
                "Link files into datasets as documents (v0.27)",
                vec![],
                link_body(),
                envelope_reply(
                    "the links",
                    json!({"type": "array", "items": schema_ref("FileLink")}),
                ),
            ),
        ),
        (
            "/api/v1/files/{file_id}",
            "get",
            operation(
                "files",
                "filesDownload",
                "Download a file (v0.27)",
                vec![file_id()],
                None,
                bytes_reply(),
            ),
        ),
        (
            "/api/v1/files/{file_id}/parent",
            "get",
            operation(
                "files",
                "filesParent",
                "A file's folder (v0.27)",
                vec![file_id()],
                None,
                envelope_reply(
                    "the parent",
                    json!({"type": "object", "properties": {
                "parent_folder": schema_ref("File")}}),
                ),
            ),
        ),
        (
            "/api/v1/files/{file_id}/ancestors",
            "get",
            operation(
                "files",
                "filesAncestors",
                "A file and every folder above it (v0.27)",
                vec![file_id()],
                None,
                envelope_reply("the path", schema_ref("FileAncestors")),
            ),
        ),
        (
            "/api/v1/documents/upload",
            "post",
            operation(
                "files",
                "documentsUploadPersonal",
                "Upload files into the file manager's root, without a dataset (v0.27); `?url=` is \
             refused",
                vec![query(
                    "url",
                    "not supported: answers code 101",
                    json!({"type": "string"}),
                )],
                upload_form(),
                envelope_reply(
                    "the stored file (a list for several)",
                    json!({"anyOf": [
                schema_ref("PersonalUpload"),
                {"type": "array", "items": schema_ref("PersonalUpload")}]}),
                ),
            ),
        ),
        (
            "/api/v1/file/upload_info",
            "post",
            operation(
                "files",
                "fileUploadInfo",
                "Alias of POST /api/v1/documents/upload (v0.27)",
                vec![query(
                    "url",
                    "not supported: answers code 101",
                    json!({"type": "string"}),
                )],
                upload_form(),
                envelope_reply(
                    "the stored file (a list for several)",
                    json!({"anyOf": [
                schema_ref("PersonalUpload"),
                {"type": "array", "items": schema_ref("PersonalUpload")}]}),
                ),
            ),
        ),
        (
            "/v1/document/upload_info",
            "post",
            operation(
                "files",
                "documentUploadInfo",
                "Alias of POST /api/v1/documents/upload, outside /api/v1 (v0.27)",
                vec![query(
                    "url",
                    "not supported: answers code 101",
                    json!({"type": "string"}),
                )],
                upload_form(),
                envelope_reply(
                    "the stored file (a list for several)",
                    json!({"anyOf": [
                schema_ref("PersonalUpload"),
                {"type": "array", "items": schema_ref("PersonalUpload")}]}),
                ),
            ),
        ),
    ]
}

pub(super) fn operations() -> Vec<Op> {
    pinned().into_iter().chain(v027()).collect()
}

pub(super) fn schemas() -> Map<String, Value> {
    object_map(json!({
        "File": {"type": "object", "properties": {
            "id": {"type": "string"}, "parent_id": {"type": "string"},
            "tenant_id": {"type": "string"}, "created_by": {"type": "string"},
            "type": {"type": "string", "description": "folder, virtual, pdf, doc, visual, aural, other"},
            "name": {"type": "string"}, "location": {"type": "string"},
            "size": {"type": "integer"}, "source_type": {"type": "string"},
            "create_time": {"type": "integer"}, "create_date": {"type": "string"},
            "update_time": {"type": "integer"}, "update_date": {"type": "string"},
            "kbs_info": {"type": "array", "items": {"type": "object", "properties": {
                "kb_id": {"type": "string"}, "kb_name": {"type": "string"}}},
                "description": "listings only: the datasets the file is linked into"},
            "has_child_folder": {"type": "boolean", "description": "listings only, folders"},
        }},
        "FileListing": {"type": "object", "properties": {
            "total": {"type": "integer"},
            "files": {"type": "array", "items": schema_ref("File")},
            "parent_folder": schema_ref("File"),
        }},
        "FileAncestors": {"type": "object", "properties": {
            "parent_folders": {"type": "array", "items": schema_ref("File")},
        }},
        "FileLink": {"type": "object", "properties": {
            "id": {"type": "string"}, "file_id": {"type": "string"},
            "document_id": {"type": "string"},
            "create_time": {"type": "integer"}, "create_date": {"type": "string"},
            "update_time": {"type": "integer"}, "update_date": {"type": "string"},
        }},
        "PersonalUpload": {"type": "object", "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "size": {"type": "integer"},
            "extension": {"type": "string"}, "mime_type": {"type": "string"},
            "created_at": {"type": "number"}, "created_by": {"type": "string"},
            "preview_url": {"type": "null"},
        }},
    }))
}
