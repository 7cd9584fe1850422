"""Document routes (F1–F9) with raw `requests`: the contract's error paths, filters, batch
semantics, metadata routes, tenant isolation, and hostile files that must fail cleanly.

Contract: shared/reference/endpoints.md §5.3, §6.3, §6.5, §7.2 (F1–F9), §9; lambdarag's documented
divergences (docs/divergences.md): `contains`/`in` metadata operators with their intended meaning, a condition
on an absent key matches nothing, `create_time_from/to` filter before paging, any RUNNING document can be
stopped, metadata/update without `document_ids` selects every document.
"""

from __future__ import annotations

import json
import time
from urllib.parse import unquote

import pytest
import requests

from helpers import (
    DOCUMENT_KEYS,
    HEX32,
    TXT_FIXTURE,
    UPLOAD_DOCUMENT_KEYS,
    fixture_bytes,
    random_bytes,
    tick,
    tiny_png,
    unique_name,
    uuid1_hex,
    wait_until,
    zip_bomb_docx,
)


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def ok(res: requests.Response):
    assert res.status_code == 200, (res.status_code, res.text)
    body = res.json()
    assert body.get("code") == 0, body
    return body.get("data")


def err(res: requests.Response) -> dict:
    assert res.status_code == 200, (res.status_code, res.text)
    return res.json()


def exc(message: str) -> dict:
    """A leaked Python exception as upstream's global handler renders it (code 100)."""
    return {"code": 100, "message": message, "data": None}


def e102(message: str) -> dict:
    return {"code": 102, "message": message}


def make_dataset(api, key=..., **fields) -> dict:
    return ok(api.post("/datasets", key=key, json={"name": unique_name("docs"), **fields}))


def upload(api, dataset_id: str, *files: tuple[str, bytes], key=...) -> list[dict]:
    res = api.post(f"/datasets/{dataset_id}/documents", key=key, files=[("file", f) for f in files])
    return ok(res)


def list_docs(api, dataset_id: str, key=..., **params) -> dict:
    return ok(api.get(f"/datasets/{dataset_id}/documents", key=key, params=params))


def doc_of(api, dataset_id: str, doc_id: str, key=...) -> dict:
    [d] = list_docs(api, dataset_id, key=key, id=doc_id)["docs"]
    return d


def wait_run(api, dataset_id: str, doc_id: str, runs=("DONE", "FAIL", "CANCEL"), timeout: float = 120) -> dict:
    return wait_until(
        lambda: (d := doc_of(api, dataset_id, doc_id))["run"] in runs and d,
        timeout=timeout,
        what=f"document {doc_id} to reach {runs}",
    )


def parse(api, dataset_id: str, *doc_ids: str, key=...):
    return api.post(f"/datasets/{dataset_id}/chunks", key=key, json={"document_ids": list(doc_ids)})


def parse_done(api, dataset_id: str, *doc_ids: str) -> list[dict]:
    assert ok(parse(api, dataset_id, *doc_ids)) is None
    return [wait_run(api, dataset_id, i) for i in doc_ids]


def names(docs) -> list[str]:
    return sorted(d["name"] for d in docs)


@pytest.fixture
def ds(api) -> dict:
    return make_dataset(api)


@pytest.fixture
def txt_doc(api, ds) -> dict:
    [d] = upload(api, ds["id"], (TXT_FIXTURE, fixture_bytes(TXT_FIXTURE)))
    return d


# ---------------------------------------------------------------------------------------------
# F1 upload
# ---------------------------------------------------------------------------------------------


class TestUpload:
    def test_reply_shape(self, api, ds):
        data = upload(api, ds["id"], (TXT_FIXTURE, fixture_bytes(TXT_FIXTURE)), ("deck.pptx", fixture_bytes("solar_overview.pptx")))
        assert [set(d) for d in data] == [UPLOAD_DOCUMENT_KEYS] * 2
        txt, deck = data
        assert HEX32.match(txt["id"])
        assert txt["dataset_id"] == ds["id"]
        assert (txt["name"], txt["suffix"], txt["type"], txt["run"], txt["source_type"]) == (TXT_FIXTURE, "txt", "doc", "UNSTART", "local")
        assert txt["size"] == len(fixture_bytes(TXT_FIXTURE))
        assert txt["chunk_method"] == "naive"
        assert txt["parser_config"] == ds["parser_config"]
        assert (deck["chunk_method"], deck["suffix"]) == ("presentation", "pptx")

    @pytest.mark.parametrize(
        "kw",
        [
            {"files": {"other": ("a.txt", b"x")}},
            {"data": {"file": "not a file"}, "files": {"x": ("a.txt", b"x")}},  # a plain form field named `file`
            {},
            {"json": {"file": "a.txt"}},
        ],
        ids=["other-part", "text-field", "no-body", "json-body"],
    )
    def test_no_file_part(self, api, ds, kw):
        res = api.post(f"/datasets/{ds['id']}/documents", **kw)
        assert err(res) == {"code": 101, "message": "No file part!"}
        assert list_docs(api, ds["id"])["total"] == 0

    def test_truncated_body_names_the_cause(self, api, ds):
        body = b'--abc\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello'
        res = api.post(
            f"/datasets/{ds['id']}/documents", data=body, headers={"Content-Type": "multipart/form-data; boundary=abc"}
        )
        assert err(res) == {"code": 101, "message": 'Malformed multipart body: field "file" received with incomplete data'}
        assert list_docs(api, ds["id"])["total"] == 0

    def test_no_file_selected(self, api, ds):
        res = api.post(f"/datasets/{ds['id']}/documents", files=[("file", ("", b"x"))])
        assert err(res) == {"code": 101, "message": "No file selected!"}
        # one empty name fails the whole request
        res = api.post(f"/datasets/{ds['id']}/documents", files=[("file", ("a.txt", b"x")), ("file", ("", b"x"))])
        assert err(res) == {"code": 101, "message": "No file selected!"}
        assert list_docs(api, ds["id"])["total"] == 0

    @pytest.mark.parametrize(
        "name,accepted",
        [("a" * 251 + ".txt", True), ("a" * 252 + ".txt", False), ("é" * 125 + "a.txt", True), ("é" * 126 + ".txt", False)],
        ids=["255-ascii", "256-ascii", "255-utf8", "256-utf8"],
    )
    def test_name_length_in_bytes(self, api, ds, name, accepted):
        res = api.post(f"/datasets/{ds['id']}/documents", files=[("file", (name, b"hello"))])
        if accepted:
            assert ok(res)[0]["name"] == name
        else:
            assert err(res) == {"code": 101, "message": "File name must be 255 bytes or less."}
            assert list_docs(api, ds["id"])["total"] == 0

    def test_unsupported_types_fail_while_others_upload(self, api, ds):
        res = api.post(
            f"/datasets/{ds['id']}/documents",
            files=[("file", ("x.exe", b"MZ")), ("file", ("ok.txt", b"fine")), ("file", ("noext", b"?")), ("file", ("ok.md", b"# t"))],
        )
        assert err(res) == {
            "code": 500,
            "message": "x.exe: This type of file has not been supported yet!\nnoext: This type of file has not been supported yet!",
        }
        assert names(list_docs(api, ds["id"])["docs"]) == ["ok.md", "ok.txt"]

    def test_unknown_dataset(self, api):
        unknown = uuid1_hex()
        res = api.post(f"/datasets/{unknown}/documents", files=[("file", ("a.txt", b"x"))])
        assert err(res) == exc(f"LookupError(\"Can't find the dataset with ID {unknown}!\")")

    def test_case_insensitive_extensions_and_types(self, api, ds):
        data = upload(api, ds["id"], ("A.TXT", b"x"), ("scan.PNG", tiny_png()), ("mail.eml", fixture_bytes("solar_quote.eml")), ("doc.pdf", fixture_bytes("solar_installation.pdf")))
        got = {d["name"]: (d["type"], d["chunk_method"], d["suffix"]) for d in data}
        assert got == {
            "A.TXT": ("doc", "naive", "txt"),
            "scan.PNG": ("visual", "picture", "png"),
            "mail.eml": ("doc", "email", "eml"),
            "doc.pdf": ("pdf", "naive", "pdf"),
        }


# ---------------------------------------------------------------------------------------------
# F4 list
# ---------------------------------------------------------------------------------------------


class TestList:
    def test_document_object(self, api, ds, txt_doc):
        data = list_docs(api, ds["id"])
        assert data["total"] == 1
        [d] = data["docs"]
        assert DOCUMENT_KEYS <= set(d), DOCUMENT_KEYS - set(d)
        assert set(d) - DOCUMENT_KEYS <= {"title"}
        assert d["id"] == txt_doc["id"]
        assert (d["run"], d["progress"], d["progress_msg"], d["process_begin_at"], d["status"]) == ("UNSTART", 0, "", None, "1")
        assert d["meta_fields"] == {}
        assert isinstance(d["create_time"], int) and isinstance(d["update_time"], int)

    def test_list_carries_title(self, api, ds, txt_doc):
        [d] = list_docs(api, ds["id"])["docs"]
        assert "title" in d and d["title"] is None, sorted(d)

    def test_run_filter(self, api, ds):
        a, b = upload(api, ds["id"], (TXT_FIXTURE, fixture_bytes(TXT_FIXTURE)), ("b.txt", b"short text to parse"))
        parse_done(api, ds["id"], a["id"])
        assert names(list_docs(api, ds["id"], run="DONE")["docs"]) == [TXT_FIXTURE]
        assert names(list_docs(api, ds["id"], run="3")["docs"]) == [TXT_FIXTURE]
        assert names(list_docs(api, ds["id"], run="UNSTART")["docs"]) == ["b.txt"]
        assert names(list_docs(api, ds["id"], run="0")["docs"]) == ["b.txt"]
        assert names(list_docs(api, ds["id"], run=["DONE", "UNSTART"])["docs"]) == ["b.txt", TXT_FIXTURE]
        assert list_docs(api, ds["id"], run="FAIL") == {"total": 0, "docs": []}
        assert list_docs(api, ds["id"], run="4") == {"total": 0, "docs": []}

    def test_suffix_filter(self, api, ds):
        upload(api, ds["id"], ("a.txt", b"a"), ("b.md", b"b"), ("c.csv", b"c,d"), ("D.TXT", b"d"))
        assert names(list_docs(api, ds["id"], suffix="txt")["docs"]) == ["D.TXT", "a.txt"]
        assert names(list_docs(api, ds["id"], suffix=["md", "csv"])["docs"]) == ["b.md", "c.csv"]
        assert list_docs(api, ds["id"], suffix="pdf")["docs"] == []

    def test_create_time_window(self, api, ds):
        docs = []
        for n in ("t1.txt", "t2.txt", "t3.txt"):
            docs.append(upload(api, ds["id"], (n, b"x"))[0])
            tick()
        times = {d["name"]: d["create_time"] for d in list_docs(api, ds["id"])["docs"]}
        t1, t2, t3 = times["t1.txt"], times["t2.txt"], times["t3.txt"]
        assert t1 < t2 < t3
        data = list_docs(api, ds["id"], create_time_from=t2)
        assert names(data["docs"]) == ["t2.txt", "t3.txt"]
        assert names(list_docs(api, ds["id"], create_time_to=t2)["docs"]) == ["t1.txt", "t2.txt"]
        assert names(list_docs(api, ds["id"], create_time_from=t2, create_time_to=t2)["docs"]) == ["t2.txt"]
        assert names(list_docs(api, ds["id"], create_time_from=0, create_time_to=0)["docs"]) == ["t1.txt", "t2.txt", "t3.txt"]
        # divergence: the window filters before paging and `total` counts what matches
        data = list_docs(api, ds["id"], create_time_from=t2, page_size=1)
        assert data["total"] == 2 and [d["name"] for d in data["docs"]] == ["t3.txt"]

    def test_bad_ints(self, api, ds):
        url = f"/datasets/{ds['id']}/documents"
        assert err(api.get(url, params={"page": "a"})) == exc("ValueError(\"invalid literal for int() with base 10: 'a'\")")
        assert err(api.get(url, params={"page_size": "1.5"})) == exc("ValueError(\"invalid literal for int() with base 10: '1.5'\")")

    def test_desc_parsing(self, api, ds):
        for n in ("d1.txt", "d2.txt"):
            upload(api, ds["id"], (n, b"x"))
            tick()
        order = lambda **p: [d["name"] for d in list_docs(api, ds["id"], **p)["docs"]]  # noqa: E731
        assert order() == ["d2.txt", "d1.txt"]
        assert order(desc="False") == order(desc="false") == order(desc=" FALSE ") == ["d1.txt", "d2.txt"]
        assert order(desc="no") == order(desc="0") == order(desc="True") == ["d2.txt", "d1.txt"]

    def test_unknown_orderby_leaks_attribute_error(self, api, ds):
        body = err(api.get(f"/datasets/{ds['id']}/documents", params={"orderby": "bogus"}))
        assert body["code"] == 100 and body["message"].startswith("AttributeError("), body

    def test_unknown_document(self, api, ds, txt_doc):
        unknown = uuid1_hex()
        assert err(api.get(f"/datasets/{ds['id']}/documents", params={"id": unknown})) == e102(f"You don't own the document {unknown}.")
        assert err(api.get(f"/datasets/{ds['id']}/documents", params={"name": "zz.txt"})) == e102("You don't own the document zz.txt.")
        # id and name must agree
        res = api.get(f"/datasets/{ds['id']}/documents", params={"id": txt_doc["id"], "name": TXT_FIXTURE})
        assert [d["id"] for d in ok(res)["docs"]] == [txt_doc["id"]]

    def test_unknown_or_foreign_dataset(self, api, other_api_key, ds):
        unknown = uuid1_hex()
        assert err(api.get(f"/datasets/{unknown}/documents")) == e102(f"You don't own the dataset {unknown}. ")
        assert err(api.get(f"/datasets/{ds['id']}/documents", key=other_api_key)) == e102(f"You don't own the dataset {ds['id']}. ")


class TestMetadataCondition:
    @pytest.fixture
    def tagged(self, api, ds) -> dict:
        """Four documents with meta_fields set through the update route; returns {name: id}."""
        metas = {
            "m1.txt": {"author": "Alice Smith", "year": 2021, "lang": "en", "tags": ["solar", "roof"]},
            "m2.txt": {"author": "Bob", "year": "2023", "lang": "EN", "tags": ["battery"]},
            "m3.txt": {"author": "Carol Smith", "year": 2025, "lang": "fr", "draft": ""},
            "m4.txt": {},
        }
        ids = {}
        for name, meta in metas.items():
            [d] = upload(api, ds["id"], (name, name.encode()))
            if meta:
                ok(api.put(f"/datasets/{ds['id']}/documents/{d['id']}", json={"meta_fields": meta}))
            ids[name] = d["id"]
        return ids

    def run(self, api, ds, *conditions, logic=None) -> list[str]:
        cond = {"conditions": [{"name": n, "comparison_operator": op, "value": v} for n, op, v in conditions]}
        if logic:
            cond["logic"] = logic
        data = list_docs(api, ds["id"], metadata_condition=json.dumps(cond), page_size=100)
        assert data["total"] == len(data["docs"])
        return names(data["docs"])

    def test_operators(self, api, ds, tagged):
        assert self.run(api, ds, ("author", "is", "bob")) == ["m2.txt"]  # case-insensitive
        assert self.run(api, ds, ("author", "=", "Bob")) == ["m2.txt"]
        assert self.run(api, ds, ("lang", "is", "en")) == ["m1.txt", "m2.txt"]
        assert self.run(api, ds, ("lang", "not is", "en")) == ["m3.txt", "m4.txt"]
        assert self.run(api, ds, ("lang", "≠", "en")) == ["m3.txt", "m4.txt"]
        assert self.run(api, ds, ("year", ">", "2022")) == ["m2.txt", "m3.txt"]  # numbers compare as numbers
        assert self.run(api, ds, ("year", "<", 2023)) == ["m1.txt"]
        assert self.run(api, ds, ("year", "≥", 2023)) == ["m2.txt", "m3.txt"]
        assert self.run(api, ds, ("year", "≤", "2023")) == ["m1.txt", "m2.txt"]
        assert self.run(api, ds, ("author", "contains", "smith")) == ["m1.txt", "m3.txt"]
        assert self.run(api, ds, ("author", "not contains", "smith")) == ["m2.txt", "m4.txt"]
        assert self.run(api, ds, ("author", "start with", "car")) == ["m3.txt"]
        assert self.run(api, ds, ("author", "end with", "SMITH")) == ["m1.txt", "m3.txt"]
        assert self.run(api, ds, ("lang", "in", ["fr", "de"])) == ["m3.txt"]
        assert self.run(api, ds, ("lang", "not in", ["fr", "de"])) == ["m1.txt", "m2.txt", "m4.txt"]
        assert self.run(api, ds, ("tags", "is", "battery")) == ["m2.txt"]  # list values are expanded
        assert self.run(api, ds, ("tags", "in", ["roof"])) == ["m1.txt"]
        assert self.run(api, ds, ("draft", "empty", None)) == ["m1.txt", "m2.txt", "m3.txt", "m4.txt"]
        assert self.run(api, ds, ("author", "not empty", None)) == ["m1.txt", "m2.txt", "m3.txt"]

    def test_logic_and_absent_keys(self, api, ds, tagged):
        assert self.run(api, ds, ("lang", "is", "en"), ("year", ">", 2022)) == ["m2.txt"]
        assert self.run(api, ds, ("lang", "is", "fr"), ("author", "is", "bob"), logic="or") == ["m2.txt", "m3.txt"]
        assert self.run(api, ds, ("lang", "is", "fr"), ("author", "is", "bob"), logic="and") == []
        # divergence: a condition on a key no document has matches nothing
        assert self.run(api, ds, ("nope", "is", "x")) == []
        assert self.run(api, ds, ("nope", "is", "x"), ("lang", "is", "fr"), logic="or") == ["m3.txt"]

    def test_combines_with_other_filters(self, api, ds, tagged):
        cond = json.dumps({"conditions": [{"name": "lang", "comparison_operator": "is", "value": "en"}]})
        data = list_docs(api, ds["id"], metadata_condition=cond, keywords="m2")
        assert names(data["docs"]) == ["m2.txt"]
        data = list_docs(api, ds["id"], metadata_condition=cond, page_size=1)
        assert data["total"] == 2 and len(data["docs"]) == 1
        # no conditions → no filter
        assert list_docs(api, ds["id"], metadata_condition=json.dumps({"conditions": []}))["total"] == 4

    def test_errors(self, api, ds, tagged):
        url = f"/datasets/{ds['id']}/documents"
        assert err(api.get(url, params={"metadata_condition": "{nope"})) == e102("metadata_condition must be valid JSON.")
        assert err(api.get(url, params={"metadata_condition": "[1]"})) == e102("metadata_condition must be an object.")
        assert err(api.get(url, params={"metadata_condition": '"x"'})) == e102("metadata_condition must be an object.")


# ---------------------------------------------------------------------------------------------
# F2 update
# ---------------------------------------------------------------------------------------------


class TestUpdate:
    def put(self, api, ds, doc_id, body, key=...):
        return api.put(f"/datasets/{ds['id']}/documents/{doc_id}", key=key, json=body)

    def test_reply_is_the_document(self, api, ds, txt_doc):
        data = ok(self.put(api, ds, txt_doc["id"], {"name": "new.txt", "meta_fields": {"k": "v"}, "enabled": 0}))
        assert DOCUMENT_KEYS <= set(data)
        assert (data["name"], data["meta_fields"], data["status"]) == ("new.txt", {"k": "v"}, "0")
        assert doc_of(api, ds["id"], txt_doc["id"])["name"] == "new.txt"
        assert ok(self.put(api, ds, txt_doc["id"], {"enabled": True}))["status"] == "1"
        assert ok(self.put(api, ds, txt_doc["id"], {}))["name"] == "new.txt"

    def test_read_only_fields(self, api, ds, txt_doc):
        for key, bad in (("chunk_count", 1), ("token_count", 7), ("progress", 0.5)):
            assert err(self.put(api, ds, txt_doc["id"], {key: bad})) == e102(f"Can't change `{key}`.")
        assert ok(self.put(api, ds, txt_doc["id"], {"chunk_count": 0, "token_count": 0, "progress": 0}))

    def test_meta_fields_must_be_a_dict(self, api, ds, txt_doc):
        for bad in ("x", [1], 3):
            assert err(self.put(api, ds, txt_doc["id"], {"meta_fields": bad})) == e102("meta_fields must be a dictionary")

    def test_names(self, api, ds, txt_doc):
        [other] = upload(api, ds["id"], ("other.txt", b"o"))
        doc = txt_doc["id"]
        assert err(self.put(api, ds, doc, {"name": "x.md"})) == {"code": 101, "message": "The extension of file can't be changed"}
        assert err(self.put(api, ds, doc, {"name": ""})) == {"code": 101, "message": "The extension of file can't be changed"}
        assert err(self.put(api, ds, doc, {"name": "a" * 252 + ".txt"})) == {"code": 101, "message": "File name must be 255 bytes or less."}
        assert err(self.put(api, ds, doc, {"name": "other.txt"})) == e102("Duplicated document name in the same dataset.")
        assert err(self.put(api, ds, doc, {"name": 5})) == exc("AttributeError(\"'int' object has no attribute 'encode'\")")
        assert err(self.put(api, ds, doc, {"name": None})) == exc("AttributeError(\"'NoneType' object has no attribute 'encode'\")")
        assert names(list_docs(api, ds["id"])["docs"]) == ["other.txt", TXT_FIXTURE]
        assert other["name"] == "other.txt"

    def test_rename_checks_exact_case_but_uploads_rename_case_twins(self, api, ds, txt_doc):
        # A rename is refused only onto the exact name; a case twin is accepted, as upstream.
        upload(api, ds["id"], ("other.txt", b"o"))
        renamed = ok(self.put(api, ds, txt_doc["id"], {"name": "OTHER.txt"}))
        assert renamed["name"] == "OTHER.txt"
        assert sorted(names(list_docs(api, ds["id"])["docs"])) == ["OTHER.txt", "other.txt"]
        # each twin is found by its exact name
        assert names(list_docs(api, ds["id"], name="other.txt")["docs"]) == ["other.txt"]
        assert names(list_docs(api, ds["id"], name="OTHER.txt")["docs"]) == ["OTHER.txt"]
        assert err(self.put(api, ds, txt_doc["id"], {"name": "other.txt"})) == e102("Duplicated document name in the same dataset.")
        # uploads still avoid any case of a taken name
        [up] = upload(api, ds["id"], ("Other.TXT", b"o2"))
        assert up["name"] == "Other(1).TXT"

    def test_chunk_method(self, api, ds, txt_doc):
        doc = txt_doc["id"]
        assert err(self.put(api, ds, doc, {"chunk_method": "nope"})) == e102("`chunk_method` nope doesn't exist")
        assert err(self.put(api, ds, doc, {"chunk_method": ""})) == e102("`chunk_method`  doesn't exist")
        data = ok(self.put(api, ds, doc, {"chunk_method": "qa"}))
        assert data["chunk_method"] == "qa"
        data = ok(self.put(api, ds, doc, {"chunk_method": "one", "parser_config": {"chunk_token_num": 99}}))
        assert data["chunk_method"] == "one" and data["parser_config"]["chunk_token_num"] == 99
        [png, deck] = upload(api, ds["id"], ("p.png", tiny_png()), ("d.pptx", fixture_bytes("solar_overview.pptx")))
        assert err(self.put(api, ds, png["id"], {"chunk_method": "naive"})) == e102("Not supported yet!")
        assert err(self.put(api, ds, deck["id"], {"chunk_method": "naive"})) == e102("Not supported yet!")

    def test_unknown_document_or_dataset(self, api, other_api_key, ds, txt_doc):
        assert err(self.put(api, ds, uuid1_hex(), {"name": "a.txt"})) == e102("The dataset doesn't own the document.")
        other_ds = make_dataset(api)
        res = api.put(f"/datasets/{other_ds['id']}/documents/{txt_doc['id']}", json={"name": "a.txt"})
        assert err(res) == e102("The dataset doesn't own the document.")
        assert err(self.put(api, ds, txt_doc["id"], {"name": "a.txt"}, key=other_api_key)) == e102("You don't own the dataset.")
        res = api.put(f"/datasets/{uuid1_hex()}/documents/{txt_doc['id']}", json={"name": "a.txt"})
        assert err(res) == e102("You don't own the dataset.")
        assert doc_of(api, ds["id"], txt_doc["id"])["name"] == TXT_FIXTURE


# ---------------------------------------------------------------------------------------------
# F3 download
# ---------------------------------------------------------------------------------------------


class TestDownload:
    def test_headers_and_bytes(self, api, ds):
        blob = fixture_bytes("solar_warranty.docx")
        [d] = upload(api, ds["id"], ("solar_warranty.docx", blob))
        res = api.get(f"/datasets/{ds['id']}/documents/{d['id']}")
        assert res.status_code == 200
        assert res.content == blob
        assert res.headers["Content-Type"] == "application/octet-stream"
        assert disposition(res) == ("attachment", "solar_warranty.docx")

    def test_non_ascii_name(self, api, ds):
        [d] = upload(api, ds["id"], ("résumé 2024.txt", b"caf\xc3\xa9"))
        res = api.get(f"/datasets/{ds['id']}/documents/{d['id']}")
        assert res.content == b"caf\xc3\xa9"
        kind, name = disposition(res)
        assert (kind, name) == ("attachment", "résumé 2024.txt")

    def test_errors(self, api, other_api_key, ds, txt_doc):
        unknown = uuid1_hex()
        url = f"/datasets/{ds['id']}/documents"
        assert err(api.get(f"{url}/{unknown}")) == e102(f"The dataset not own the document {unknown}.")
        assert err(api.get(f"/datasets/{unknown}/documents/{txt_doc['id']}")) == e102(f"You do not own the dataset {unknown}.")
        assert err(api.get(f"{url}/{txt_doc['id']}", key=other_api_key)) == e102(f"You do not own the dataset {ds['id']}.")
        [empty] = upload(api, ds["id"], ("empty.txt", b""))
        assert err(api.get(f"{url}/{empty['id']}")) == {"code": 102, "message": "This file is empty."}


def disposition(res: requests.Response) -> tuple[str, str]:
    """(type, filename) from Content-Disposition, preferring the RFC 5987 `filename*` form."""
    raw = res.headers["Content-Disposition"]
    parts = [p.strip() for p in raw.split(";")]
    params = {}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        params[k.strip().lower()] = v.strip()
    if "filename*" in params:
        enc, _, rest = params["filename*"].partition("''")
        assert enc.upper() == "UTF-8", raw
        return parts[0], unquote(rest)
    return parts[0], params["filename"].strip('"')


# ---------------------------------------------------------------------------------------------
# F5 delete
# ---------------------------------------------------------------------------------------------


class TestDelete:
    def three(self, api, ds) -> list[str]:
        return [d["id"] for d in upload(api, ds["id"], ("a.txt", b"a"), ("b.txt", b"b"), ("c.txt", b"c"))]

    @pytest.mark.parametrize("body", [None, {}, {"ids": None}, {"ids": []}], ids=["no-body", "absent", "null", "empty"])
    def test_all(self, api, ds, body):
        self.three(api, ds)
        kw = {} if body is None else {"json": body}
        assert ok(api.delete(f"/datasets/{ds['id']}/documents", **kw)) is None
        assert list_docs(api, ds["id"]) == {"total": 0, "docs": []}

    def test_some(self, api, ds):
        a, b, c = self.three(api, ds)
        body = ok(api.delete(f"/datasets/{ds['id']}/documents", json={"ids": [a, c]}))
        assert body is None
        assert [d["id"] for d in list_docs(api, ds["id"])["docs"]] == [b]

    def test_unknown_ids_after_deleting_the_valid_ones(self, api, ds):
        a, b, c = self.three(api, ds)
        res = api.delete(f"/datasets/{ds['id']}/documents", json={"ids": [a, "x", b, "y"]})
        assert err(res) == e102("Documents not found: ['x', 'y']")
        assert [d["id"] for d in list_docs(api, ds["id"])["docs"]] == [c]
        assert err(api.delete(f"/datasets/{ds['id']}/documents", json={"ids": ["x"]})) == e102("Documents not found: ['x']")

    def test_duplicates(self, api, ds):
        a, b, c = self.three(api, ds)
        res = api.delete(f"/datasets/{ds['id']}/documents", json={"ids": [a, a, b, a]})
        assert err(res) == {"code": 0, "data": {"success_count": 2, "errors": [f"Duplicate document ids: {a}"]}}
        assert [d["id"] for d in list_docs(api, ds["id"])["docs"]] == [c]

    def test_foreign_dataset(self, api, other_api_key, ds):
        ids = self.three(api, ds)
        res = api.delete(f"/datasets/{ds['id']}/documents", key=other_api_key, json={"ids": ids})
        assert err(res) == e102(f"You don't own the dataset {ds['id']}. ")
        unknown = uuid1_hex()
        assert err(api.delete(f"/datasets/{unknown}/documents", json={"ids": None})) == e102(f"You don't own the dataset {unknown}. ")
        assert list_docs(api, ds["id"])["total"] == 3


# ---------------------------------------------------------------------------------------------
# F6 / F7 parse and stop
# ---------------------------------------------------------------------------------------------


class TestParseStop:
    def test_document_ids_required(self, api, ds):
        for body in ({}, {"document_ids": []}, {"document_ids": None}):
            assert err(api.post(f"/datasets/{ds['id']}/chunks", json=body)) == e102("`document_ids` is required")
            assert err(api.delete(f"/datasets/{ds['id']}/chunks", json=body)) == e102("`document_ids` is required")

    def test_parse_unknown_ids_after_queueing_the_valid_ones(self, api, ds, txt_doc):
        res = parse(api, ds["id"], txt_doc["id"], "nope")
        assert err(res) == e102("Documents not found: ['nope']")
        assert wait_run(api, ds["id"], txt_doc["id"])["run"] == "DONE"

    def test_parse_duplicates(self, api, ds, txt_doc):
        res = parse(api, ds["id"], txt_doc["id"], txt_doc["id"])
        assert err(res) == {"code": 0, "data": {"success_count": 1, "errors": [f"Duplicate document ids: {txt_doc['id']}"]}}
        assert wait_run(api, ds["id"], txt_doc["id"])["run"] == "DONE"

    def test_stop_finished_or_unstarted(self, api, ds, txt_doc):
        [fresh] = upload(api, ds["id"], ("fresh.txt", b"never parsed"))
        msg = e102("Can't stop parsing document with progress at 0 or 1")
        assert err(api.delete(f"/datasets/{ds['id']}/chunks", json={"document_ids": [fresh["id"]]})) == msg
        parse_done(api, ds["id"], txt_doc["id"])
        assert err(api.delete(f"/datasets/{ds['id']}/chunks", json={"document_ids": [txt_doc["id"]]})) == msg
        d = doc_of(api, ds["id"], txt_doc["id"])
        assert d["run"] == "DONE" and d["chunk_count"] > 0
        unknown = uuid1_hex()
        res = api.delete(f"/datasets/{ds['id']}/chunks", json={"document_ids": [unknown]})
        assert err(res) == e102(f"You don't own the document {unknown}.")

    def test_unknown_dataset(self, api, txt_doc):
        unknown = uuid1_hex()
        assert err(parse(api, unknown, txt_doc["id"])) == e102(f"You don't own the dataset {unknown}.")
        res = api.delete(f"/datasets/{unknown}/chunks", json={"document_ids": [txt_doc["id"]]})
        assert err(res) == e102(f"You don't own the dataset {unknown}.")

    def test_run_states_during_parse(self, api, ds, txt_doc):
        assert ok(parse(api, ds["id"], txt_doc["id"])) is None
        d = doc_of(api, ds["id"], txt_doc["id"])
        assert d["run"] in ("RUNNING", "DONE")
        assert 0 <= d["progress"] <= 1
        d = wait_run(api, ds["id"], txt_doc["id"])
        assert (d["run"], d["progress"]) == ("DONE", 1.0)
        assert d["progress_msg"].strip()


# ---------------------------------------------------------------------------------------------
# F8 / F9 metadata routes
# ---------------------------------------------------------------------------------------------


class TestMetadataRoutes:
    @pytest.fixture
    def docs(self, api, ds) -> dict:
        metas = {
            "a.txt": {"author": "Ann", "year": 2020, "tags": ["x", "y"], "flag": True},
            "b.txt": {"author": "Ann", "year": 2021, "tags": ["y"], "empty": ""},
            "c.txt": {"author": "Cid", "when": "2024-05-01T10:00:00"},
            "d.txt": {},
        }
        ids = {}
        for name, meta in metas.items():
            [d] = upload(api, ds["id"], (name, name.encode()))
            ok(api.put(f"/datasets/{ds['id']}/documents/{d['id']}", json={"meta_fields": meta}))
            ids[name] = d["id"]
        return ids

    def meta(self, api, ds, doc_id) -> dict:
        return doc_of(api, ds["id"], doc_id)["meta_fields"]

    def test_summary(self, api, ds, docs):
        data = ok(api.get(f"/datasets/{ds['id']}/metadata/summary"))
        summary = data["summary"]
        assert set(summary) == {"author", "year", "tags", "flag", "when"}  # falsy values skipped
        assert summary["author"] == {"type": "string", "values": [["Ann", 2], ["Cid", 1]]}
        assert summary["year"]["type"] == "number"
        assert sorted(summary["year"]["values"]) == [["2020", 1], ["2021", 1]]
        assert summary["tags"]["type"] == "list"
        assert summary["tags"]["values"][0] == ["y", 2]
        assert sorted(summary["tags"]["values"]) == [["x", 1], ["y", 2]]
        assert summary["when"]["type"] == "time"
        assert summary["flag"]["type"] == "string"
        # restricted to some documents (GET with a JSON body)
        data = ok(api.get(f"/datasets/{ds['id']}/metadata/summary", json={"doc_ids": [docs["c.txt"]]}))
        assert set(data["summary"]) == {"author", "when"}
        assert data["summary"]["author"]["values"] == [["Cid", 1]]

    def test_update_by_document_ids(self, api, ds, docs):
        url = f"/datasets/{ds['id']}/metadata/update"
        body = {"selector": {"document_ids": [docs["a.txt"], docs["b.txt"]]}, "updates": [{"key": "status", "value": "ok"}]}
        assert ok(api.post(url, json=body)) == {"updated": 2, "matched_docs": 2}
        assert self.meta(api, ds, docs["a.txt"])["status"] == "ok"
        assert "status" not in self.meta(api, ds, docs["c.txt"])
        # the same again changes nothing
        assert ok(api.post(url, json=body)) == {"updated": 0, "matched_docs": 2}

    def test_update_with_match(self, api, ds, docs):
        url = f"/datasets/{ds['id']}/metadata/update"
        sel = {"document_ids": [docs["a.txt"], docs["b.txt"], docs["c.txt"]]}
        # replace a list element, and a scalar when it matches
        body = {"selector": sel, "updates": [{"key": "tags", "value": "z", "match": "y"}, {"key": "author", "value": "Anne", "match": "Ann"}]}
        assert ok(api.post(url, json=body)) == {"updated": 3, "matched_docs": 3}
        assert self.meta(api, ds, docs["a.txt"])["tags"] == ["x", "z"]
        assert self.meta(api, ds, docs["b.txt"])["tags"] == ["z"]
        assert self.meta(api, ds, docs["a.txt"])["author"] == "Anne"
        assert self.meta(api, ds, docs["c.txt"])["author"] == "Cid"  # no match → kept
        assert self.meta(api, ds, docs["c.txt"])["tags"] == "z"  # missing key + match → added
        # without match a list value is set as-is, de-duplicated
        body = {"selector": {"document_ids": [docs["d.txt"]]}, "updates": [{"key": "tags", "value": ["p", "q", "p"]}]}
        assert ok(api.post(url, json=body)) == {"updated": 1, "matched_docs": 1}
        assert self.meta(api, ds, docs["d.txt"]) == {"tags": ["p", "q"]}

    def test_update_by_condition(self, api, ds, docs):
        url = f"/datasets/{ds['id']}/metadata/update"
        cond = {"conditions": [{"name": "author", "comparison_operator": "is", "value": "ann"}]}
        body = {"selector": {"document_ids": list(docs.values()), "metadata_condition": cond}, "updates": [{"key": "team", "value": "A"}]}
        assert ok(api.post(url, json=body)) == {"updated": 2, "matched_docs": 2}
        assert self.meta(api, ds, docs["b.txt"])["team"] == "A"
        assert "team" not in self.meta(api, ds, docs["c.txt"])
        # a condition matching nothing
        cond = {"conditions": [{"name": "author", "comparison_operator": "is", "value": "nobody"}]}
        body = {"selector": {"document_ids": list(docs.values()), "metadata_condition": cond}, "updates": [{"key": "team", "value": "B"}]}
        assert ok(api.post(url, json=body)) == {"updated": 0, "matched_docs": 0}
        # divergence: no document_ids selects every document of the dataset
        body = {"selector": {"metadata_condition": {"conditions": [{"name": "author", "comparison_operator": "is", "value": "cid"}]}}, "updates": [{"key": "team", "value": "C"}]}
        assert ok(api.post(url, json=body)) == {"updated": 1, "matched_docs": 1}
        assert self.meta(api, ds, docs["c.txt"])["team"] == "C"

    def test_deletes(self, api, ds, docs):
        url = f"/datasets/{ds['id']}/metadata/update"
        sel = {"document_ids": [docs["a.txt"], docs["b.txt"], docs["c.txt"]]}
        body = {"selector": sel, "deletes": [{"key": "tags", "value": "y"}]}
        assert ok(api.post(url, json=body)) == {"updated": 2, "matched_docs": 3}
        assert self.meta(api, ds, docs["a.txt"])["tags"] == ["x"]
        assert self.meta(api, ds, docs["b.txt"])["tags"] == []
        body = {"selector": sel, "deletes": [{"key": "author", "value": "Cid"}]}
        assert ok(api.post(url, json=body)) == {"updated": 1, "matched_docs": 3}
        assert "author" not in self.meta(api, ds, docs["c.txt"])
        assert self.meta(api, ds, docs["a.txt"])["author"] == "Ann"
        body = {"selector": sel, "deletes": [{"key": "year"}]}
        assert ok(api.post(url, json=body)) == {"updated": 2, "matched_docs": 3}
        assert "year" not in self.meta(api, ds, docs["a.txt"]) and "year" not in self.meta(api, ds, docs["b.txt"])
        body = {"selector": sel, "deletes": [{"key": "never-set"}]}
        assert ok(api.post(url, json=body)) == {"updated": 0, "matched_docs": 3}

    def test_errors(self, api, other_api_key, ds, docs):
        url = f"/datasets/{ds['id']}/metadata/update"
        a = docs["a.txt"]
        cases = [
            ({"selector": "x"}, "selector must be an object."),
            ({"selector": {"document_ids": [a]}, "updates": {}}, "updates and deletes must be lists."),
            ({"selector": {"document_ids": [a]}, "deletes": "k"}, "updates and deletes must be lists."),
            ({"selector": {"document_ids": [a]}, "updates": [{"key": "k"}]}, "Each update requires key and value."),
            ({"selector": {"document_ids": [a]}, "updates": [{"value": "v"}]}, "Each update requires key and value."),
            ({"selector": {"document_ids": [a]}, "deletes": [{"value": "v"}]}, "Each delete requires key."),
            ({"selector": {"document_ids": [a], "metadata_condition": "x"}, "updates": [{"key": "k", "value": "v"}]}, "metadata_condition must be an object."),
            ({"selector": {"document_ids": a}, "updates": [{"key": "k", "value": "v"}]}, "document_ids must be a list."),
            ({"selector": {"document_ids": [a, "zz"]}, "updates": [{"key": "k", "value": "v"}]}, f"These documents do not belong to dataset {ds['id']}: zz"),
        ]
        for body, msg in cases:
            assert err(api.post(url, json=body)) == e102(msg), body
        assert self.meta(api, ds, a) == {"author": "Ann", "year": 2020, "tags": ["x", "y"], "flag": True}
        body = {"selector": {"document_ids": [a]}, "updates": [{"key": "k", "value": "v"}]}
        assert err(api.post(url, key=other_api_key, json=body)) == e102(f"You don't own the dataset {ds['id']}. ")
        assert err(api.get(f"/datasets/{ds['id']}/metadata/summary", key=other_api_key)) == e102(f"You don't own the dataset {ds['id']}. ")


# ---------------------------------------------------------------------------------------------
# Tenant isolation: B against A's documents and chunks
# ---------------------------------------------------------------------------------------------


class TestTenantIsolation:
    def test_b_cannot_touch_a(self, api, other_api_key, client):
        b = other_api_key
        ds = make_dataset(api)
        blob = fixture_bytes(TXT_FIXTURE)
        [doc] = upload(api, ds["id"], (TXT_FIXTURE, blob))
        [d] = parse_done(api, ds["id"], doc["id"])
        assert d["run"] == "DONE"
        chunks_url = f"/datasets/{ds['id']}/documents/{doc['id']}/chunks"
        before_chunks = ok(api.get(chunks_url))["chunks"]
        chunk_id = before_chunks[0]["id"]
        ds_id, doc_id = ds["id"], doc["id"]

        # A's dataset id with B's key
        assert err(api.get(f"/datasets/{ds_id}/documents", key=b)) == e102(f"You don't own the dataset {ds_id}. ")
        res = api.post(f"/datasets/{ds_id}/documents", key=b, files=[("file", ("evil.txt", b"x"))])
        assert err(res) == exc(f"LookupError(\"Can't find the dataset with ID {ds_id}!\")")
        res = api.put(f"/datasets/{ds_id}/documents/{doc_id}", key=b, json={"name": "evil.txt", "meta_fields": {"x": 1}})
        assert err(res) == e102("You don't own the dataset.")
        assert err(api.get(f"/datasets/{ds_id}/documents/{doc_id}", key=b)) == e102(f"You do not own the dataset {ds_id}.")
        assert err(api.delete(f"/datasets/{ds_id}/documents", key=b, json={"ids": [doc_id]})) == e102(f"You don't own the dataset {ds_id}. ")
        assert err(api.delete(f"/datasets/{ds_id}/documents", key=b, json={"ids": None})) == e102(f"You don't own the dataset {ds_id}. ")
        assert err(parse(api, ds_id, doc_id, key=b)) == e102(f"You don't own the dataset {ds_id}.")
        res = api.delete(f"/datasets/{ds_id}/chunks", key=b, json={"document_ids": [doc_id]})
        assert err(res) == e102(f"You don't own the dataset {ds_id}.")
        assert err(api.get(chunks_url, key=b)) == e102(f"You don't own the dataset {ds_id}.")
        assert err(api.post(chunks_url, key=b, json={"content": "evil"})) == e102(f"You don't own the dataset {ds_id}.")
        assert err(api.delete(chunks_url, key=b, json={"chunk_ids": [chunk_id]})) == e102(f"You don't own the dataset {ds_id}.")
        assert err(api.delete(chunks_url, key=b, json={})) == e102(f"You don't own the dataset {ds_id}.")
        res = api.put(f"{chunks_url}/{chunk_id}", key=b, json={"content": "evil"})
        assert err(res) == e102(f"Can't find this chunk {chunk_id}")

        # B's own dataset with A's document id
        b_ds = make_dataset(api, key=b)
        bd = b_ds["id"]
        assert err(api.get(f"/datasets/{bd}/documents", key=b, params={"id": doc_id})) == e102(f"You don't own the document {doc_id}.")
        res = api.put(f"/datasets/{bd}/documents/{doc_id}", key=b, json={"name": "evil.txt"})
        assert err(res) == e102("The dataset doesn't own the document.")
        assert err(api.get(f"/datasets/{bd}/documents/{doc_id}", key=b)) == e102(f"The dataset not own the document {doc_id}.")
        assert err(api.delete(f"/datasets/{bd}/documents", key=b, json={"ids": [doc_id]})) == e102(f"Documents not found: ['{doc_id}']")
        assert err(parse(api, bd, doc_id, key=b)) == e102(f"Documents not found: ['{doc_id}']")
        res = api.delete(f"/datasets/{bd}/chunks", key=b, json={"document_ids": [doc_id]})
        assert err(res) == e102(f"You don't own the document {doc_id}.")
        b_chunks = f"/datasets/{bd}/documents/{doc_id}/chunks"
        assert err(api.get(b_chunks, key=b)) == e102(f"You don't own the document {doc_id}.")
        assert err(api.post(b_chunks, key=b, json={"content": "evil"})) == e102(f"You don't own the document {doc_id}.")
        res = api.delete(b_chunks, key=b, json={"chunk_ids": [chunk_id]})
        assert err(res) == exc(f"LookupError(\"Can't find the document with ID {doc_id}!\")")
        assert err(api.put(f"{b_chunks}/{chunk_id}", key=b, json={"content": "evil"})) == e102(f"Can't find this chunk {chunk_id}")
        body = {"selector": {"document_ids": [doc_id]}, "updates": [{"key": "x", "value": 1}]}
        res = api.post(f"/datasets/{bd}/metadata/update", key=b, json=body)
        assert err(res) == e102(f"These documents do not belong to dataset {bd}: {doc_id}")
        assert list_docs(api, bd, key=b)["total"] == 0
        # B's own listings never show A's documents
        assert ok(api.get(f"/datasets/{bd}/metadata/summary", key=b)) == {"summary": {}}

        # A's data is intact
        after = doc_of(api, ds_id, doc_id)
        assert (after["name"], after["run"], after["chunk_count"], after["meta_fields"]) == (TXT_FIXTURE, "DONE", d["chunk_count"], {})
        assert list_docs(api, ds_id)["total"] == 1
        assert ok(api.get(chunks_url))["chunks"] == before_chunks
        assert api.get(f"/datasets/{ds_id}/documents/{doc_id}").content == blob


# ---------------------------------------------------------------------------------------------
# Hostile and odd files: parsing ends FAIL with a clear message and the server lives on
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = zip_bomb_docx(300 * 1024 * 1024)
    assert len(data) < 2 * 1024 * 1024, len(data)
    return data


class TestHostileFiles:
    def test_garbage_and_zip_bomb_fail_cleanly(self, api, deployment, ds, bomb):
        files = [
            ("garbage.pdf", random_bytes(64 * 1024, 1)),
            ("garbage.docx", random_bytes(64 * 1024, 2)),
            ("garbage.xlsx", random_bytes(64 * 1024, 3)),
            ("truncated.docx", fixture_bytes("solar_warranty.docx")[:1500]),
            ("bomb.docx", bomb),
        ]
        docs = upload(api, ds["id"], *files)
        ids = {d["name"]: d["id"] for d in docs}
        started = time.monotonic()
        assert ok(parse(api, ds["id"], *ids.values())) is None
        results = {name: wait_run(api, ds["id"], i, timeout=120) for name, i in ids.items()}
        elapsed = time.monotonic() - started
        for name, d in results.items():
            assert d["run"] == "FAIL", (name, d["run"], d["progress_msg"])
            assert d["progress"] == -1, (name, d["progress"])
            assert d["chunk_count"] == 0
            msg = d["progress_msg"]
            assert "[ERROR]" in msg, (name, msg)
            last = msg.strip().splitlines()[-1]
            fmt = name.rsplit(".", 1)[1]
            assert fmt in last.lower() or {"docx": "word", "xlsx": "excel"}.get(fmt, "?") in last.lower() or "limit" in last.lower(), (name, last)
        assert "limit" in results["bomb.docx"]["progress_msg"].lower(), results["bomb.docx"]["progress_msg"]
        assert elapsed < 110
        # the server still answers and still parses good documents
        assert deployment.server.alive()
        assert ok(api.get("/datasets")) is not None
        [good] = upload(api, ds["id"], (TXT_FIXTURE, fixture_bytes(TXT_FIXTURE)))
        [g] = parse_done(api, ds["id"], good["id"])
        assert g["run"] == "DONE" and g["chunk_count"] > 0
        # failed documents can still be downloaded, untouched
        assert api.get(f"/datasets/{ds['id']}/documents/{ids['bomb.docx']}").content == bomb

    def test_image_parses_without_chunks(self, api, ds):
        [png] = upload(api, ds["id"], ("photo.png", tiny_png()))
        assert png["chunk_method"] == "picture"
        [d] = parse_done(api, ds["id"], png["id"])
        assert (d["run"], d["progress"], d["chunk_count"]) == ("DONE", 1.0, 0)
        assert "OCR" in d["progress_msg"], d["progress_msg"]
        assert ok(api.get(f"/datasets/{ds['id']}/documents/{png['id']}/chunks"))["chunks"] == []

    def test_empty_file_fails(self, api, ds):
        [e] = upload(api, ds["id"], ("empty.txt", b""))
        [d] = parse_done(api, ds["id"], e["id"])
        assert d["run"] == "FAIL" and "empty" in d["progress_msg"].lower(), d["progress_msg"]


def test_an_upload_past_axums_default_body_limit(api, ds):
    """3 MB: past axum's 2 MB default body limit, under API Gateway's 6 MB payload limit, so
    it must be accepted by the documents Lambda as by the embedded server."""
    blob = (b"Rivers carry water to the sea. " * 100_000)[:3_000_000]
    (doc,) = upload(api, ds["id"], ("big.txt", blob))
    assert doc["size"] == len(blob)
    got = api.get(f"/datasets/{ds['id']}/documents/{doc['id']}")
    assert got.content == blob
