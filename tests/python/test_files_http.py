"""The personal file manager with raw `requests`: the pinned `/file/*` routes (FL1–FL12,
get_json_result with codes 400/404/409/500) and v0.27's `/files*` routes and
`/documents/upload` (get_result with codes 101/102): success shapes, every error message,
tenant isolation with another tenant's ids, and upload → link-to-datasets → parse → chunks.

Contract: shared/reference/endpoints.md §7.10, v027-delta.md §1.9; lambdarag's divergences
(docs/divergences.md, "Files"): ownership is checked, /file/parent_folder works, a batch
is checked before anything changes, the root cannot be deleted or moved, moves refuse
taken names and cycles, `?url=` is refused.

Files are not wiped between tests (only datasets are): each test works in a fresh folder.
"""

from __future__ import annotations

import pytest
import requests

from helpers import HEX32, TXT_FIXTURE, fixture_bytes, tiny_png, unique_name, wait_until

FILE_KEYS = {
    "id", "parent_id", "tenant_id", "created_by", "type", "name", "location", "size",
    "source_type", "create_time", "create_date", "update_time", "update_date",
}


def body(res: requests.Response) -> dict:
    assert res.status_code == 200, (res.status_code, res.text)
    return res.json()


def ok_j(res: requests.Response):
    """get_json_result success: all three keys."""
    b = body(res)
    assert b.get("code") == 0 and b.get("message") == "success", b
    return b["data"]


def ok_r(res: requests.Response):
    """get_result success: code 0, no message."""
    b = body(res)
    assert b.get("code") == 0 and "message" not in b, b
    return b.get("data")


def pinned_err(code: int, message: str, data=None) -> dict:
    return {"code": code, "message": message, "data": data}


def e102(message: str) -> dict:
    return {"code": 102, "message": message}


def folder(api, parent_id=None, key=...) -> dict:
    req = {"name": unique_name("dir"), "type": "folder"}
    if parent_id:
        req["parent_id"] = parent_id
    return ok_j(api.post("/file/create", key=key, json=req))


def upload(api, parent_id, *files, key=..., path="/file/upload") -> list[dict]:
    res = api.post(path, key=key, files=[("file", f) for f in files], data={"parent_id": parent_id})
    return ok_j(res) if path == "/file/upload" else ok_r(res)


def listing(api, parent_id, key=..., **params) -> dict:
    return ok_j(api.get("/file/list", key=key, params={"parent_id": parent_id, **params}))


def names(rows) -> list[str]:
    return sorted(r["name"] for r in rows)


@pytest.fixture
def home(api) -> dict:
    """A fresh folder under the root, for one test."""
    return folder(api)


# ---------------------------------------------------------------------------------------------
# Pinned: FL1 upload, FL2 create, FL4 root
# ---------------------------------------------------------------------------------------------


class TestPinnedUploadCreate:
    def test_root_folder_is_stable(self, api):
        a = ok_j(api.get("/file/root_folder"))["root_folder"]
        b = ok_j(api.get("/file/root_folder"))["root_folder"]
        assert a == b
        assert set(a) >= FILE_KEYS
        assert a["name"] == "/" and a["type"] == "folder" and a["parent_id"] == a["id"]
        assert HEX32.fullmatch(a["id"])

    def test_upload_dedups_and_makes_folders(self, api, home):
        rows = upload(api, home["id"], ("a.txt", b"one"), ("a.txt", b"two"), ("x/y/z.md", b"deep"))
        assert [set(r) for r in rows] == [FILE_KEYS] * 3
        assert [r["name"] for r in rows] == ["a.txt", "a(1).txt", "z.md"]
        assert rows[0]["type"] == "doc" and rows[0]["size"] == 3 and rows[0]["parent_id"] == home["id"]
        top = listing(api, home["id"])
        assert names(top["files"]) == ["a(1).txt", "a.txt", "x"]
        [x] = [f for f in top["files"] if f["name"] == "x"]
        assert x["type"] == "folder" and x["size"] == 4 and x["has_child_folder"] is True
        [y] = listing(api, x["id"])["files"]
        assert y["name"] == "y" and rows[2]["parent_id"] == y["id"]

    def test_upload_past_the_default_body_limit(self, api, home):
        # 3 MB: past axum's 2 MB default, under Lambda's 6 MB payload limit.
        blob = bytes(range(256)) * (3 * 4096)
        [row] = upload(api, home["id"], ("big.bin.txt", blob))
        assert row["size"] == len(blob)
        assert api.get(f"/files/{row['id']}").content == blob

    def test_upload_errors(self, api, home):
        assert body(api.post("/file/upload", data={"parent_id": home["id"]})) == pinned_err(400, "No file part!", False)
        assert body(api.post("/file/upload", files=[("other", ("a.txt", b"x"))])) == pinned_err(400, "No file part!", False)
        res = api.post("/file/upload", files=[("file", ("a.txt", b"x"))], data={"parent_id": "nope"})
        assert body(res) == pinned_err(404, "Can't find this folder!")

    def test_create_folder_and_virtual_file(self, api, home):
        d = ok_j(api.post("/file/create", json={"name": "sub", "parent_id": home["id"], "type": "folder"}))
        assert set(d) == FILE_KEYS and d["type"] == "folder" and d["size"] == 0
        # Only lowercase `folder` makes a folder (the documented FOLDER makes a virtual file).
        v = ok_j(api.post("/file/create", json={"name": "v", "parent_id": home["id"], "type": "FOLDER"}))
        assert v["type"] == "virtual"
        dup = api.post("/file/create", json={"name": "sub", "parent_id": home["id"], "type": "folder"})
        assert body(dup) == pinned_err(409, "Duplicated folder name in the same folder.", False)
        bad = api.post("/file/create", json={"name": "n", "parent_id": "nope"})
        assert body(bad) == pinned_err(400, "Parent Folder Doesn't Exist!", False)
        assert body(api.post("/file/create", json={"parent_id": home["id"]})) == pinned_err(100, "KeyError('name')")
        assert body(api.post("/file/create", json={"name": ""})) == pinned_err(400, "File name can't be empty.", False)


# ---------------------------------------------------------------------------------------------
# Pinned: FL3 list, FL5/FL6 parents, FL9 get
# ---------------------------------------------------------------------------------------------


class TestPinnedReads:
    def test_list_filters_pages_and_orders(self, api, home):
        upload(api, home["id"], ("alpha.txt", b"1"), ("beta.txt", b"22"), ("gamma.md", b"333"))
        data = listing(api, home["id"])
        assert data["total"] == 3 and data["parent_folder"]["id"] == home["parent_id"]
        assert [f["name"] for f in data["files"]] == ["gamma.md", "beta.txt", "alpha.txt"], "newest first"
        assert all(f["kbs_info"] == [] for f in data["files"])
        assert names(listing(api, home["id"], keywords="ALP")["files"]) == ["alpha.txt"]
        page = listing(api, home["id"], page=2, page_size=2, orderby="name", desc="")
        assert (page["total"], [f["name"] for f in page["files"]]) == (3, ["gamma.md"])
        # The pinned handler passes `desc` through raw: even "false" sorts descending.
        desc = listing(api, home["id"], orderby="size", desc="false")
        assert [f["name"] for f in desc["files"]] == ["gamma.md", "beta.txt", "alpha.txt"]

    def test_list_errors(self, api):
        assert body(api.get("/file/list", params={"parent_id": "nope"})) == pinned_err(404, "Folder not found!")
        res = api.get("/file/list", params={"page": "a"})
        assert body(res) == pinned_err(100, "ValueError(\"invalid literal for int() with base 10: 'a'\")")

    def test_list_root_by_default(self, api, home):
        root = ok_j(api.get("/file/root_folder"))["root_folder"]
        data = ok_j(api.get("/file/list", params={"keywords": home["name"]}))
        assert [f["id"] for f in data["files"]] == [home["id"]]
        assert data["parent_folder"]["id"] == root["id"]

    def test_parents(self, api, home):
        [f] = upload(api, home["id"], ("p/q.txt", b"x"))
        p = ok_j(api.get("/file/parent_folder", params={"file_id": f["id"]}))["parent_folder"]
        assert p["name"] == "p"
        path = ok_j(api.get("/file/all_parent_folder", params={"file_id": f["id"]}))["parent_folders"]
        assert [x["name"] for x in path] == ["q.txt", "p", home["name"], "/"]
        assert body(api.get("/file/parent_folder", params={"file_id": "nope"})) == pinned_err(404, "Folder not found!")
        assert body(api.get("/file/parent_folder")) == e102("`file_id` query parameter is required")
        assert body(api.get("/file/all_parent_folder", params={"file_id": "nope"})) == pinned_err(404, "Folder not found!")

    def test_get_bytes(self, api, home):
        txt, png = upload(api, home["id"], ("r.txt", b"hello"), ("i.png", tiny_png()))
        res = api.get(f"/file/get/{txt['id']}")
        assert res.status_code == 200 and res.content == b"hello"
        assert res.headers["content-type"] == "application/txt"
        res = api.get(f"/file/get/{png['id']}")
        assert res.content == tiny_png() and res.headers["content-type"] == "image/png"
        assert body(api.get("/file/get/nope")) == pinned_err(404, "Document not found!")
        assert body(api.get(f"/file/get/{home['id']}")) == pinned_err(404, "This file is empty.")

    def test_unknown_attachment(self, api):
        # FL10 serves what POST /documents/upload stored (TestPersonalUpload); an unknown id:
        assert body(api.get("/file/download/abc")) == {"code": 102, "message": "document not found"}


# ---------------------------------------------------------------------------------------------
# Pinned: FL7 rm, FL8 rename, FL11 mv
# ---------------------------------------------------------------------------------------------


class TestPinnedWrites:
    def test_rm_file_and_folder_subtree(self, api, home):
        a, deep = upload(api, home["id"], ("a.txt", b"a"), ("s/t/u.txt", b"u"))
        sub = [f for f in listing(api, home["id"])["files"] if f["name"] == "s"][0]
        assert ok_j(api.post("/file/rm", json={"file_ids": [a["id"], sub["id"]]})) is True
        assert listing(api, home["id"])["files"] == []
        assert body(api.get(f"/file/get/{deep['id']}")) == pinned_err(404, "Document not found!")

    def test_rm_errors_change_nothing(self, api, home):
        [a] = upload(api, home["id"], ("a.txt", b"a"))
        res = api.post("/file/rm", json={"file_ids": [a["id"], "nope"]})
        assert body(res) == pinned_err(404, "File or Folder not found!")
        assert names(listing(api, home["id"])["files"]) == ["a.txt"], "checked before deleting"
        assert body(api.post("/file/rm", json={})) == pinned_err(100, "KeyError('file_ids')")
        root = ok_j(api.get("/file/root_folder"))["root_folder"]
        res = api.post("/file/rm", json={"file_ids": [root["id"]]})
        assert body(res) == pinned_err(400, "The root folder can't be deleted.", False)

    def test_rename(self, api, home):
        a, b = upload(api, home["id"], ("a.txt", b"a"), ("b.txt", b"b"))
        assert ok_j(api.post("/file/rename", json={"file_id": a["id"], "name": "c.TXT"})) is True
        assert names(listing(api, home["id"])["files"]) == ["b.txt", "c.TXT"]
        res = api.post("/file/rename", json={"file_id": a["id"], "name": "c.pdf"})
        assert body(res) == pinned_err(400, "The extension of file can't be changed", False)
        res = api.post("/file/rename", json={"file_id": a["id"], "name": "b.txt"})
        assert body(res) == pinned_err(409, "Duplicated file name in the same folder.", False)
        res = api.post("/file/rename", json={"file_id": "nope", "name": "x.txt"})
        assert body(res) == pinned_err(404, "File not found!")
        assert body(api.post("/file/rename", json={"name": "x"})) == pinned_err(100, "KeyError('file_id')")
        # Folders may take any name.
        d = folder(api, home["id"])
        assert ok_j(api.post("/file/rename", json={"file_id": d["id"], "name": "d.v2"})) is True

    def test_mv(self, api, home):
        a, b = upload(api, home["id"], ("a.txt", b"a"), ("b.txt", b"b"))
        dest = folder(api, home["id"])
        assert ok_j(api.post("/file/mv", json={"src_file_ids": [a["id"], b["id"]], "dest_file_id": dest["id"]})) is True
        assert names(listing(api, dest["id"])["files"]) == ["a.txt", "b.txt"]
        res = api.post("/file/mv", json={"src_file_ids": ["nope"], "dest_file_id": dest["id"]})
        assert body(res) == pinned_err(404, "File or Folder not found!")
        res = api.post("/file/mv", json={"src_file_ids": [a["id"]], "dest_file_id": "nope"})
        assert body(res) == pinned_err(404, "Parent Folder not found!")
        # A folder cannot go into its own subtree; a taken name is refused.
        inner = folder(api, dest["id"])
        res = api.post("/file/mv", json={"src_file_ids": [dest["id"]], "dest_file_id": inner["id"]})
        assert body(res) == pinned_err(400, "A folder can't be moved into itself or its subfolders.", False)
        [a2] = upload(api, home["id"], ("a.txt", b"again"))
        res = api.post("/file/mv", json={"src_file_ids": [a2["id"]], "dest_file_id": dest["id"]})
        assert body(res) == pinned_err(409, "Duplicated file name in the same folder.", False)
        assert body(api.post("/file/mv", json={"src_file_ids": [a["id"]]})) == pinned_err(100, "KeyError('dest_file_id')")


# ---------------------------------------------------------------------------------------------
# FL12 convert / link-to-datasets: documents made from files, parsed like any other
# ---------------------------------------------------------------------------------------------


def dataset(api, key=...) -> dict:
    return ok_r(api.post("/datasets", key=key, json={"name": unique_name("files")}))


def docs_of(api, ds_id, key=...) -> list[dict]:
    b = body(api.get(f"/datasets/{ds_id}/documents", key=key))
    assert b["code"] == 0, b
    return b["data"]["docs"]


class TestLinkToDatasets:
    def test_upload_link_parse_chunks(self, api, home):
        ds = dataset(api)
        [f] = upload(api, home["id"], (TXT_FIXTURE, fixture_bytes(TXT_FIXTURE)))
        links = ok_j(api.post("/files/link-to-datasets", json={"file_ids": [f["id"]], "kb_ids": [ds["id"]]}))
        assert len(links) == 1 and links[0]["file_id"] == f["id"]
        doc_id = links[0]["document_id"]
        [doc] = docs_of(api, ds["id"])
        assert doc["id"] == doc_id and doc["name"] == TXT_FIXTURE and doc["run"] == "UNSTART"
        assert ok_r(api.post(f"/datasets/{ds['id']}/chunks", json={"document_ids": [doc_id]})) is None
        done = wait_until(
            lambda: (d := docs_of(api, ds["id"])[0])["run"] in ("DONE", "FAIL") and d,
            timeout=180,
            what="the linked document to parse",
        )
        assert done["run"] == "DONE" and done["chunk_count"] > 0, done
        chunks = ok_r(api.get(f"/datasets/{ds['id']}/documents/{doc_id}/chunks"))
        assert chunks["total"] > 0 and chunks["chunks"][0]["document_id"] == doc_id
        # The listing shows where the file is linked.
        [row] = listing(api, home["id"])["files"]
        assert row["kbs_info"] == [{"kb_id": ds["id"], "kb_name": ds["name"]}]

    def test_relink_replaces_and_folders_expand(self, api, home):
        ds = dataset(api)
        upload(api, home["id"], ("d/one.txt", b"first file"), ("d/e/two.md", b"# second"))
        d = [x for x in listing(api, home["id"])["files"] if x["name"] == "d"][0]
        links = ok_j(api.post("/file/convert", json={"file_ids": [d["id"]], "kb_ids": [ds["id"]]}))
        assert len(links) == 2
        first = {l["document_id"] for l in links}
        again = ok_j(api.post("/file/convert", json={"file_ids": [d["id"]], "kb_ids": [ds["id"]]}))
        docs = docs_of(api, ds["id"])
        assert {x["id"] for x in docs} == {l["document_id"] for l in again}
        assert not first & {x["id"] for x in docs}, "re-linking replaces the earlier documents"
        assert names(docs) == ["one.txt", "two.md"], "no `(1)` names"

    def test_rename_and_delete_follow_the_document(self, api, home):
        ds = dataset(api)
        [f] = upload(api, home["id"], ("n.txt", b"named"))
        ok_j(api.post("/file/convert", json={"file_ids": [f["id"]], "kb_ids": [ds["id"]]}))
        ok_j(api.post("/file/rename", json={"file_id": f["id"], "name": "m.txt"}))
        assert [x["name"] for x in docs_of(api, ds["id"])] == ["m.txt"]
        ok_j(api.post("/file/rm", json={"file_ids": [f["id"]]}))
        assert docs_of(api, ds["id"]) == [], "deleting a file deletes its documents"

    def test_errors(self, api, home):
        ds = dataset(api)
        [f] = upload(api, home["id"], ("e.txt", b"e"))
        missing = {"code": 101, "message": "required argument are missing: file_ids,kb_ids; ", "data": None}
        assert body(api.post("/file/convert", json={})) == missing
        assert body(api.post("/files/link-to-datasets", json={})) == missing
        res = api.post("/file/convert", json={"file_ids": ["nope"], "kb_ids": [ds["id"]]})
        assert body(res) == pinned_err(404, "File not found!")
        res = api.post("/file/convert", json={"file_ids": [f["id"]], "kb_ids": ["nope"]})
        assert body(res) == pinned_err(404, "Can't find this dataset!")
        res = api.post("/files/link-to-datasets", json={"file_ids": ["nope"], "kb_ids": [ds["id"]]})
        assert body(res) == e102("File not found!")
        res = api.post("/files/link-to-datasets", json={"file_ids": [f["id"]], "kb_ids": ["nope"]})
        assert body(res) == e102("Can't find this dataset!")
        res = api.post("/files/link-to-datasets", json={"file_ids": "x", "kb_ids": [ds["id"]]})
        assert body(res) == {"code": 101, "message": "`file_ids` must be a list of strings."}
        # A file with an unsupported type fails the way a document upload does.
        [bad] = upload(api, home["id"], ("tool.exe", b"MZ"))
        res = api.post("/file/convert", json={"file_ids": [bad["id"]], "kb_ids": [ds["id"]]})
        assert body(res) == pinned_err(500, "tool.exe: This type of file has not been supported yet!")


# ---------------------------------------------------------------------------------------------
# v0.27 /files*
# ---------------------------------------------------------------------------------------------


class TestV027Files:
    def test_post_files_upload_and_create(self, api, home):
        rows = upload(api, home["id"], ("a.txt", b"a"), ("a.txt", b"b"), path="/files")
        assert [r["name"] for r in rows] == ["a.txt", "a(1).txt"] and set(rows[0]) == FILE_KEYS
        d = ok_r(api.post("/files", json={"name": "Sub", "parent_id": home["id"], "type": "FOLDER"}))
        assert d["type"] == "folder", "v0.27 compares the type case-insensitively"
        v = ok_r(api.post("/files", json={"name": "v", "parent_id": home["id"]}))
        assert v["type"] == "virtual"

    def test_post_files_errors(self, api, home):
        res = api.post("/files", files=[("other", ("a.txt", b"x"))])
        assert body(res) == {"code": 101, "message": "No file part!"}
        res = api.post("/files", json={"parent_id": home["id"]})
        b = body(res)
        assert b["code"] == 101 and b["message"].startswith("Field: <name> - Message: <Field required>"), b
        b = body(api.post("/files", json={"name": "x", "extra": 1}))
        assert b["code"] == 101 and "Extra inputs are not permitted" in b["message"], b
        b = body(api.post("/files", json={"name": ""}))
        assert b["code"] == 101 and "at least 1 character" in b["message"], b
        ok_r(api.post("/files", json={"name": "dup", "parent_id": home["id"]}))
        res = api.post("/files", json={"name": "dup", "parent_id": home["id"]})
        assert body(res) == e102("Duplicated folder name in the same folder.")
        assert body(api.post("/files", json={"name": "n", "parent_id": "nope"})) == e102("Parent Folder Doesn't Exist!")
        res = api.post("/files", files=[("file", ("a.txt", b"x"))], data={"parent_id": "nope"})
        assert body(res) == e102("Can't find this folder!")

    def test_get_files(self, api, home):
        upload(api, home["id"], ("b.txt", b"bb"), ("a.txt", b"a"), path="/files")
        data = ok_r(api.get("/files", params={"parent_id": home["id"], "orderby": "name", "desc": "false"}))
        assert data["total"] == 2 and [f["name"] for f in data["files"]] == ["a.txt", "b.txt"]
        assert data["parent_folder"]["id"] == home["parent_id"]
        b = body(api.get("/files", params={"page_size": 101}))
        assert b == {"code": 101, "message": "page_size must be less than or equal to 100"}
        b = body(api.get("/files", params={"foo": "1"}))
        assert b["code"] == 101 and "Extra inputs are not permitted" in b["message"]
        assert body(api.get("/files", params={"orderby": "nope"})) == {"code": 101, "message": "invalid orderby field: nope"}
        assert body(api.get("/files", params={"parent_id": "nope"})) == e102("Folder not found!")

    def test_delete_files(self, api, home):
        a, b = upload(api, home["id"], ("a.txt", b"a"), ("b.txt", b"b"), path="/files")
        assert ok_r(api.delete("/files", json={"ids": [a["id"], b["id"]]})) == {"success_count": 2}
        assert listing(api, home["id"])["files"] == []
        for bad in ({}, {"ids": []}, {"ids": "x"}, {"ids": ["x"], "file_ids": []}):
            r = body(api.delete("/files", json=bad))
            assert r["code"] == 101 and r["message"].startswith("Field: <"), (bad, r)
        assert body(api.delete("/files", json={"ids": ["nope"]})) == e102("File or Folder not found!")

    def test_move_and_rename(self, api, home):
        a, b = upload(api, home["id"], ("a.txt", b"a"), ("b.txt", b"b"), path="/files")
        dest = folder(api, home["id"])
        assert ok_r(api.post("/files/move", json={"src_file_ids": [a["id"]], "dest_file_id": dest["id"]})) is True
        assert ok_r(api.post("/files/move", json={"src_file_ids": [a["id"]], "new_name": "c.txt"})) is True
        assert ok_r(api.post("/files/move", json={"src_file_ids": [b["id"]], "dest_file_id": dest["id"], "new_name": "d.txt"})) is True
        assert names(listing(api, dest["id"])["files"]) == ["c.txt", "d.txt"]
        cases = [
            ({"src_file_ids": [a["id"]]}, {"code": 101, "message": "At least one of dest_file_id or new_name must be provided"}),
            ({"src_file_ids": [a["id"], b["id"]], "new_name": "x.txt"}, {"code": 101, "message": "new_name can only be used with a single file"}),
            ({"src_file_ids": [a["id"]], "new_name": "c.pdf"}, e102("The extension of file can't be changed")),
            ({"src_file_ids": [a["id"]], "new_name": "d.txt"}, e102("Duplicated file name in the same folder.")),
            ({"src_file_ids": ["nope"], "new_name": "x.txt"}, e102("File or folder not found!")),
            ({"src_file_ids": [a["id"]], "dest_file_id": "nope"}, e102("Parent folder not found!")),
            ({"src_file_ids": [dest["id"]], "dest_file_id": dest["id"]}, e102("A folder can't be moved into itself or its subfolders.")),
        ]
        for req, want in cases:
            assert body(api.post("/files/move", json=req)) == want, req
        r = body(api.post("/files/move", json={"src_file_ids": []}))
        assert r["code"] == 101 and r["message"].startswith("Field: <src_file_ids>")

    def test_download_parent_ancestors(self, api, home):
        [f] = upload(api, home["id"], ("p/q.txt", b"qq"), path="/files")
        res = api.get(f"/files/{f['id']}")
        assert res.status_code == 200 and res.content == b"qq"
        assert body(api.get("/files/nope")) == e102("Document not found!")
        assert body(api.get(f"/files/{home['id']}")) == e102("This file is empty.")
        p = ok_r(api.get(f"/files/{f['id']}/parent"))["parent_folder"]
        assert p["name"] == "p"
        path = ok_r(api.get(f"/files/{f['id']}/ancestors"))["parent_folders"]
        assert [x["name"] for x in path] == ["q.txt", "p", home["name"], "/"]
        assert body(api.get("/files/nope/parent")) == e102("Folder not found!")
        assert body(api.get("/files/nope/ancestors")) == e102("Folder not found!")


class TestPersonalUpload:
    def test_upload_into_the_root(self, api):
        name = unique_name("personal") + ".pdf"
        data = ok_j(api.post("/documents/upload", files=[("file", (name, b"%PDF-1.4 tiny"))]))
        assert set(data) == {"created_at", "created_by", "extension", "id", "mime_type", "name", "preview_url", "size"}
        assert (data["name"], data["extension"], data["mime_type"], data["size"]) == (name, "pdf", "application/pdf", 13)
        assert data["preview_url"] is None and isinstance(data["created_at"], float)
        root = ok_j(api.get("/file/root_folder"))["root_folder"]
        [row] = ok_r(api.get("/files", params={"keywords": name}))["files"]
        assert row["id"] == data["id"] and row["parent_id"] == root["id"]
        two = ok_j(api.post("/documents/upload", files=[("file", (name, b"a")), ("file", (name, b"b"))]))
        assert [x["name"] for x in two] == [name.replace(".pdf", "(1).pdf"), name.replace(".pdf", "(2).pdf")]

    def test_upload_info_aliases(self, api, base_url):
        name = unique_name("alias") + ".txt"
        data = ok_j(api.post("/file/upload_info", files=[("file", (name, b"one"))]))
        assert data["name"] == name and data["size"] == 3
        raw = requests.post(f"{base_url}/v1/document/upload_info", files=[("file", (name, b"two"))],
                            headers={"Authorization": f"Bearer {api.api_key}"}, timeout=30).json()
        assert raw["code"] == 0 and raw["data"]["name"] == name.replace(".txt", "(1).txt"), raw

    @pytest.mark.parametrize(
        "route", ["/agents/attachments/{}/download", "/file/download/{}", "/document/download/{}"])
    def test_attachments_read_back(self, api, other_api_key, base_url, home, route):
        name = unique_name("attach") + ".md"
        att = ok_j(api.post("/documents/upload", files=[("file", (name, b"# Notes\nhello"))]))
        url = route.format(att["id"])
        res = api.get(url)
        assert res.status_code == 200 and res.content == b"# Notes\nhello"
        assert res.headers["content-type"] == "text/markdown"  # `ext` defaults to markdown
        assert res.headers["content-disposition"].startswith("attachment;") and name in res.headers["content-disposition"]
        assert res.headers["x-content-type-options"] == "nosniff"
        assert api.get(url, params={"ext": "pdf"}).headers["content-type"] == "application/pdf"
        assert api.get(url, params={"ext": "zip"}).headers["content-type"] == "application/zip"
        # A type a browser would run is never served inline.
        html = api.get(url, params={"ext": "html", "disposition": "inline"})
        assert html.headers["content-type"] == "text/html" and html.headers["content-disposition"].startswith("attachment;")
        not_found = {"code": 102, "message": "document not found"}
        assert body(api.get(route.format("0" * 32))) == not_found
        assert body(api.get(route.format(home["id"]))) == not_found, "a folder has no bytes"
        from conftest import Api

        assert body(Api(base_url, other_api_key).get(url)) == not_found, "another tenant's attachment is unknown"

    def test_attachment_preview_is_inline(self, api):
        att = ok_j(api.post("/documents/upload", files=[("file", ("p.csv", b"a,b\n1,2\n"))]))
        for res in (api.get(f"/agents/attachments/{att['id']}/preview", params={"ext": "csv"}),
                    api.get(f"/agents/attachments/{att['id']}/download", params={"ext": "csv", "disposition": "inline"})):
            assert res.status_code == 200 and res.content == b"a,b\n1,2\n"
            assert res.headers["content-type"] == "text/csv" and res.headers["content-disposition"].startswith("inline;")

    def test_errors(self, api):
        res = api.post("/documents/upload", params={"url": "https://example.com"}, files=[("file", ("a.txt", b"x"))])
        assert body(res) == {"code": 101, "message": "Provide either multipart file(s) or ?url=..., not both."}
        assert body(api.post("/documents/upload")) == {"code": 101, "message": "Missing input: provide multipart file(s) or url"}
        b = body(api.post("/documents/upload", params={"url": "https://example.com"}))
        assert b["code"] == 101 and "not supported" in b["message"], b


# ---------------------------------------------------------------------------------------------
# Tenant isolation: another tenant's ids are unknown on every route
# ---------------------------------------------------------------------------------------------


class TestTenantIsolation:
    def test_other_tenant_ids_are_refused(self, api, other_api_key, home):
        [f] = upload(api, home["id"], ("secret.txt", b"secret"))
        ds = dataset(api)
        k = other_api_key
        assert body(api.get(f"/file/get/{f['id']}", key=k)) == pinned_err(404, "Document not found!")
        assert body(api.get(f"/files/{f['id']}", key=k)) == e102("Document not found!")
        assert body(api.get("/file/list", key=k, params={"parent_id": home["id"]})) == pinned_err(404, "Folder not found!")
        assert body(api.get("/files", key=k, params={"parent_id": home["id"]})) == e102("Folder not found!")
        assert body(api.get("/file/parent_folder", key=k, params={"file_id": f["id"]})) == pinned_err(404, "Folder not found!")
        assert body(api.get(f"/files/{f['id']}/ancestors", key=k)) == e102("Folder not found!")
        res = api.post("/file/upload", key=k, files=[("file", ("x.txt", b"x"))], data={"parent_id": home["id"]})
        assert body(res) == pinned_err(404, "Can't find this folder!")
        res = api.post("/file/create", key=k, json={"name": "x", "parent_id": home["id"]})
        assert body(res) == pinned_err(400, "Parent Folder Doesn't Exist!", False)
        assert body(api.post("/file/rm", key=k, json={"file_ids": [f["id"]]})) == pinned_err(404, "File or Folder not found!")
        assert body(api.delete("/files", key=k, json={"ids": [f["id"]]})) == e102("File or Folder not found!")
        res = api.post("/file/rename", key=k, json={"file_id": f["id"], "name": "mine.txt"})
        assert body(res) == pinned_err(404, "File not found!")
        own = folder(api, key=k)
        res = api.post("/file/mv", key=k, json={"src_file_ids": [f["id"]], "dest_file_id": own["id"]})
        assert body(res) == pinned_err(404, "File or Folder not found!")
        res = api.post("/files/move", key=k, json={"src_file_ids": [own["id"]], "dest_file_id": home["id"]})
        assert body(res) == e102("Parent folder not found!")
        res = api.post("/file/convert", key=k, json={"file_ids": [f["id"]], "kb_ids": [ds["id"]]})
        assert body(res) == pinned_err(404, "File not found!")
        [mine] = upload(api, own["id"], ("mine.txt", b"m"), key=k)
        res = api.post("/files/link-to-datasets", key=k, json={"file_ids": [mine["id"]], "kb_ids": [ds["id"]]})
        assert body(res) == e102("Can't find this dataset!")
        # Nothing of tenant A's changed.
        assert api.get(f"/file/get/{f['id']}").content == b"secret"
        assert ok_j(api.get("/file/root_folder", key=k))["root_folder"]["id"] != ok_j(api.get("/file/root_folder"))["root_folder"]["id"]


# ---------------------------------------------------------------------------------------
# POST /file/upload_url (lambdarag's own: files past API Gateway's 6 MB, AWS only)
# ---------------------------------------------------------------------------------------


class TestPresignedFileUpload:
    def test_a_put_object_becomes_a_file_of_the_folder(self, api, home):
        import hashlib
        import time

        box = folder(api, home["id"])
        name = "big-recording.bin"
        # Past the 6 MB a Lambda request can carry: only the presigned path takes it.
        blob = hashlib.sha256(b"seed").digest() * (7 * 1024 * 1024 // 32)
        res = ok_j(api.post("/file/upload_url", json={"name": name, "parent_id": box["id"]}))
        assert res["method"] == "PUT" and res["key"].startswith("files/") and res["key"].endswith(f"/{box['id']}/{name}")
        assert requests.put(res["url"], data=blob, timeout=60).status_code == 200
        deadline = time.monotonic() + 120
        while True:
            rows = [f for f in listing(api, box["id"])["files"] if f["name"] == name]
            if rows:
                break
            assert time.monotonic() < deadline, "the staged object did not become a file"
            time.sleep(0.5)
        assert rows[0]["size"] == len(blob)
        # Too large for a Lambda response: a redirect to the object, which clients follow.
        got = api.get(f"/file/get/{rows[0]['id']}", allow_redirects=False)
        assert got.status_code == 302, (got.status_code, got.text[:200])
        got = api.get(f"/file/get/{rows[0]['id']}")
        assert got.status_code == 200 and got.content == blob
        assert got.headers["Content-Type"] == "application/bin"
        # v0.27's download route of the same file takes the same way.
        got = api.get(f"/files/{rows[0]['id']}", allow_redirects=False)
        assert got.status_code == 302, (got.status_code, got.text[:200])
        got = api.get(f"/files/{rows[0]['id']}")
        assert got.status_code == 200 and got.content == blob
        assert got.headers["Content-Type"] == "application/bin"
        # A second object of the same name lands beside it, renamed as an upload would be.
        res = ok_j(api.post("/file/upload_url", json={"name": name, "parent_id": box["id"]}))
        assert requests.put(res["url"], data=b"second", timeout=60).status_code == 200
        while True:
            now = names(listing(api, box["id"])["files"])
            if len(now) == 2:
                break
            assert time.monotonic() < deadline + 60, now
            time.sleep(0.5)
        assert sorted(now) == sorted([name, "big-recording(1).bin"])

    def test_errors(self, api, home, other_api_key):
        assert api.post("/file/upload_url", json={}).json()["message"] == "`name` is required."
        res = api.post("/file/upload_url", json={"name": "a/b.txt"}).json()
        assert res["code"] == 101 and "one file name" in res["message"], res
        assert api.post("/file/upload_url", json={"name": "x" * 256}).json()["message"] == "File name must be 255 bytes or less."
        # Another tenant's folder is not found, like an unknown one.
        theirs = home_of(api, other_api_key)
        for parent in (theirs, "0" * 32):
            res = api.post("/file/upload_url", json={"name": "x.txt", "parent_id": parent}).json()
            assert res == {"code": 404, "message": "Can't find this folder!", "data": None}, res


def home_of(api, key) -> str:
    return ok_j(api.get("/file/root_folder", key=key))["root_folder"]["id"]


def test_presigned_file_uploads_need_the_aws_deployment(api):
    res = api.post("/file/upload_url", json={"name": "x.txt"}).json()
    assert res["code"] == 103 and "need the AWS deployment" in res["message"], res


def test_a_large_document_download_redirects_to_its_object(api):
    """A dataset document past a Lambda response's size (AWS): 302 to the object, which the
    clients follow to the same bytes with the same type and name."""
    import os
    import time

    ds = api.post("/datasets", json={"name": f"big-{os.urandom(4).hex()}"}).json()["data"]
    name = "scan.png"
    blob = os.urandom(5 * 1024 * 1024)
    res = api.post(f"/datasets/{ds['id']}/documents/upload_url", json={"name": name}).json()["data"]
    assert requests.put(res["url"], data=blob, timeout=60).status_code == 200
    deadline = time.monotonic() + 120
    while True:
        listed = api.get(f"/datasets/{ds['id']}/documents").json()["data"]["docs"]
        docs = [d for d in listed if d["name"] == name]
        if docs:
            break
        assert time.monotonic() < deadline, "the staged object did not become a document"
        time.sleep(0.5)
    url = f"/datasets/{ds['id']}/documents/{docs[0]['id']}"
    assert api.get(url, allow_redirects=False).status_code == 302
    got = api.get(url)
    assert got.status_code == 200 and got.content == blob
    assert got.headers["Content-Type"] == "application/octet-stream"
    assert name in got.headers["Content-Disposition"]
