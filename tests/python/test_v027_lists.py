"""v0.27's list filters on shared paths, over raw HTTP: documents (`ids`, `run_status`,
`types`, `metadata`) and chunks (`chunk_ids`, `available`). They are additions: requests
without them keep the pinned behaviour (tested in the *_sdk / *_http files). Source:
shared/reference/v027-delta.md §1.3, §2.2 and §0 (id lists of at most 100)."""

from __future__ import annotations

import json

import pytest
import requests

from test_v027_http import add_chunk, chunks_url, new_dataset, ok, upload


def names(api, ds_id: str, **params) -> list[str]:
    return sorted(d["name"] for d in ok(api.get(f"/datasets/{ds_id}/documents", params=params))["docs"])


def code_message(res) -> tuple[int, str]:
    body = res.json()
    return body["code"], body["message"]


@pytest.fixture
def docs(api):
    ds = new_dataset(api)
    a, b, c = upload(api, ds["id"], "a.txt", "b.md", "c.png")
    ok(api.put(f"/datasets/{ds['id']}/documents/{a['id']}", json={"meta_fields": {"author": "ann", "tags": ["x", "y"]}}))
    ok(api.put(f"/datasets/{ds['id']}/documents/{b['id']}", json={"meta_fields": {"author": "bob"}}))
    return ds, {"a": a, "b": b, "c": c}


class TestDocumentFilters:
    def test_ids(self, api, docs):
        ds, d = docs
        assert names(api, ds["id"], ids=f"{d['a']['id']},{d['c']['id']}") == ["a.txt", "c.png"]
        assert names(api, ds["id"], ids=[d["b"]["id"], d["c"]["id"]]) == ["b.md", "c.png"]
        many = ",".join(f"{i:032x}" for i in range(101))
        assert code_message(api.get(f"/datasets/{ds['id']}/documents", params={"ids": many})) == (
            101, "ids must contain at most 100 IDs")

    def test_ids_of_another_tenant_match_nothing(self, api, other_api_key, docs):
        ds, _ = docs
        theirs = new_dataset(api, key=other_api_key)
        (foreign,) = upload(api, theirs["id"], "theirs.txt", key=other_api_key)
        assert names(api, ds["id"], ids=foreign["id"]) == []
        res = api.get(f"/datasets/{theirs['id']}/documents", params={"ids": foreign["id"]})
        assert code_message(res)[0] == 102, "another tenant's dataset stays refused"

    def test_run_status(self, api, docs):
        ds, _ = docs
        assert names(api, ds["id"], run_status="UNSTART") == ["a.txt", "b.md", "c.png"]
        assert names(api, ds["id"], run_status="done,fail") == []
        assert code_message(api.get(f"/datasets/{ds['id']}/documents", params={"run_status": "SOON"})) == (
            102, "Invalid filter run status conditions: SOON")

    def test_types(self, api, docs):
        ds, _ = docs
        assert names(api, ds["id"], types="doc") == ["a.txt", "b.md"]
        assert names(api, ds["id"], types="visual,pdf") == ["c.png"]
        assert code_message(api.get(f"/datasets/{ds['id']}/documents", params={"types": "scroll"})) == (
            102, "Invalid filter conditions: scroll type")

    def test_metadata(self, api, docs):
        ds, _ = docs
        assert names(api, ds["id"], metadata=json.dumps({"author": ["ann", "bob"]})) == ["a.txt", "b.md"]
        assert names(api, ds["id"], metadata=json.dumps({"author": "ann", "tags": "y"})) == ["a.txt"]
        assert names(api, ds["id"], metadata=json.dumps({"author": "bob", "tags": "y"})) == []
        url = f"/datasets/{ds['id']}/documents"
        assert code_message(api.get(url, params={"metadata": "{"})) == (102, "metadata must be valid JSON.")
        assert code_message(api.get(url, params={"metadata": "[1]"})) == (102, "metadata must be an object.")

    def test_filters_combine_and_page(self, api, docs):
        ds, d = docs
        got = ok(api.get(f"/datasets/{ds['id']}/documents",
                         params={"types": "doc", "ids": f"{d['a']['id']},{d['c']['id']}", "page_size": 1}))
        assert got["total"] == 1 and [x["name"] for x in got["docs"]] == ["a.txt"]

    def test_return_empty_metadata(self, api, docs):
        ds, _ = docs
        got = ok(api.get(f"/datasets/{ds['id']}/documents", params={"return_empty_metadata": "true"}))
        assert [d["name"] for d in got["docs"]] == ["c.png"] and got["total"] == 1
        assert got["docs"][0]["meta_fields"] == {}

    def test_type_filter_counts_the_choices(self, api, docs):
        ds, _ = docs
        res = api.get(f"/datasets/{ds['id']}/documents", params={"type": "filter"}).json()
        assert res["code"] == 0 and res["message"] == "success", res
        assert res["data"] == {"total": 3, "filter": {
            "suffix": {"txt": 1, "md": 1, "png": 1},
            "run_status": {"0": 3},
            "metadata": {"author": {"ann": 1, "bob": 1}, "tags": {"x": 1, "y": 1}, "empty_metadata": {"true": 1}},
        }}
        narrowed = ok(api.get(f"/datasets/{ds['id']}/documents", params={"type": "filter", "types": "visual"}))
        assert narrowed == {"total": 1, "filter": {"suffix": {"png": 1}, "run_status": {"0": 1},
                                                   "metadata": {"empty_metadata": {"true": 1}}}}


class TestChunkFilters:
    @pytest.fixture
    def chunks(self, api, docs):
        _, d = docs
        doc = d["a"]
        made = [add_chunk(api, doc, f"note number {i} about rivers") for i in range(4)]
        ok(api.patch(chunks_url(doc), json={"chunk_ids": [made[1]["id"], made[3]["id"]], "available": False}))
        return doc, made

    def listed(self, api, doc, **params) -> tuple[int, list[str]]:
        data = ok(api.get(chunks_url(doc), params=params))
        return data["total"], sorted(c["id"] for c in data["chunks"])

    def test_available(self, api, chunks):
        doc, made = chunks
        assert self.listed(api, doc, available="true") == (2, sorted([made[0]["id"], made[2]["id"]]))
        assert self.listed(api, doc, available="false") == (2, sorted([made[1]["id"], made[3]["id"]]))
        assert self.listed(api, doc)[0] == 4, "without the filter every chunk is listed"

    def test_chunk_ids(self, api, chunks):
        doc, made = chunks
        wanted = sorted([made[0]["id"], made[3]["id"]])
        assert self.listed(api, doc, chunk_ids=",".join(wanted)) == (2, wanted)
        assert self.listed(api, doc, chunk_ids=made[3]["id"], available="true") == (0, [])
        total, page = self.listed(api, doc, chunk_ids=",".join(wanted), page=2, page_size=1)
        assert total == 2 and len(page) == 1
        many = ",".join(f"c{i}" for i in range(101))
        assert code_message(api.get(chunks_url(doc), params={"chunk_ids": many})) == (
            101, "chunk_ids must contain at most 100 IDs")

    def test_another_documents_chunk_is_not_listed(self, api, chunks, docs):
        doc, made = chunks
        _, d = docs
        other = add_chunk(api, d["b"], "a chunk of b")
        assert self.listed(api, doc, chunk_ids=other["id"]) == (0, [])


class TestIngest:
    """v0.27's POST /documents/ingest: documents named by id alone, started or cancelled."""

    def wait_done(self, api, ds_id, doc_id, timeout=120):
        import time
        deadline = time.monotonic() + timeout
        while True:
            d = ok(api.get(f"/datasets/{ds_id}/documents", params={"id": doc_id}))["docs"][0]
            if d["run"] in ("DONE", "FAIL", "CANCEL"):
                return d
            assert time.monotonic() < deadline, d
            time.sleep(0.2)

    def test_start_then_rerun_across_datasets(self, api):
        ds1, ds2 = new_dataset(api), new_dataset(api)
        (a,) = upload(api, ds1["id"], "a.txt")
        (b,) = upload(api, ds2["id"], "b.txt")
        assert api.post("/documents/ingest", json={"doc_ids": [a["id"], b["id"]], "run": "1"}).json() == {"code": 0, "data": True}
        assert self.wait_done(api, ds1["id"], a["id"])["run"] == "DONE"
        assert self.wait_done(api, ds2["id"], b["id"])["chunk_count"] >= 1
        # A rerun (with `delete`) replaces the chunks rather than adding to them.
        assert api.post("/documents/ingest", json={"doc_ids": [a["id"]], "run": "1", "delete": True}).json()["code"] == 0
        done = self.wait_done(api, ds1["id"], a["id"])
        assert done["run"] == "DONE"
        assert len(ok(api.get(f"/datasets/{ds1['id']}/documents/{a['id']}/chunks"))["chunks"]) == done["chunk_count"]

    def test_cancel_follows_stop_rules(self, api):
        ds = new_dataset(api)
        (a,) = upload(api, ds["id"], "a.txt")
        res = api.post("/documents/ingest", json={"doc_ids": [a["id"]], "run": "2"}).json()
        assert res == {"code": 102, "message": "Can't stop parsing document with progress at 0 or 1"}

    def test_errors_and_isolation(self, api, other_api_key):
        ds = new_dataset(api)
        (a,) = upload(api, ds["id"], "a.txt")
        theirs = new_dataset(api, key=other_api_key)
        (foreign,) = upload(api, theirs["id"], "theirs.txt", key=other_api_key)
        for ids in ([f"{0:032x}"], [a["id"], foreign["id"]]):
            assert code_message(api.post("/documents/ingest", json={"doc_ids": ids, "run": "1"})) == (102, "document not found")
        # Nothing started: the known document of the refused batch stays as it was.
        assert ok(api.get(f"/datasets/{ds['id']}/documents", params={"id": a["id"]}))["docs"][0]["run"] == "UNSTART"
        for body, message in [({"run": "1"}, "`doc_ids` is required."),
                              ({"doc_ids": "x", "run": "1"}, "`doc_ids` must be a list of document ids."),
                              ({"doc_ids": [a["id"]]}, "`run` is required."),
                              ({"doc_ids": [a["id"]], "run": "9"}, "`run` must be \"1\" (start) or \"2\" (cancel).")]:
            assert code_message(api.post("/documents/ingest", json=body)) == (101, message)


class TestDocumentById:
    """v0.27's document routes without the dataset in the path."""

    def test_download_and_preview(self, api, docs):
        _, d = docs
        got = api.get(f"/documents/{d['a']['id']}")
        assert got.status_code == 200 and got.content == b"text of a.txt"
        assert got.headers["content-type"] == "application/octet-stream"
        assert "a.txt" in got.headers["content-disposition"]
        shown = api.get(f"/documents/{d['b']['id']}/preview")
        assert shown.content == b"text of b.md" and shown.headers["content-type"] == "text/markdown"
        # v0.27's compat aliases of the preview, under /api/v1 and /v1.
        alias = api.get(f"/document/get/{d['b']['id']}")
        assert alias.content == b"text of b.md" and alias.headers["content-type"] == "text/markdown"
        v1 = requests.get(f"{api.base_url}/v1/document/get/{d['b']['id']}",
                          headers={"Authorization": f"Bearer {api.api_key}"}, timeout=30)
        assert v1.content == b"text of b.md"

    def test_missing_and_foreign_documents(self, api, other_api_key, docs):
        _, d = docs
        missing = {"code": 102, "message": "document not found", "data": False}
        assert api.get("/documents/nope").json() == missing
        assert api.get("/documents/nope/preview").json() == missing
        assert api.get(f"/documents/{d['a']['id']}", key=other_api_key).json() == missing
        assert api.get(f"/documents/{d['a']['id']}/preview", key=other_api_key).json() == missing
        assert api.get(f"/document/get/{d['a']['id']}", key=other_api_key).json() == missing


class TestDatasetFilters:
    """v0.27's `ids` and `ext` on GET /datasets (the stores page; the filters apply before)."""

    def test_ids_and_ext(self, api, other_api_key):
        a = new_dataset(api)
        b = new_dataset(api, chunk_method="qa")
        theirs = new_dataset(api, key=other_api_key)

        def listed(**params) -> list[str]:
            res = api.get("/datasets", params=params).json()
            assert res["code"] == 0, res
            return [d["id"] for d in res["data"]]

        assert sorted(listed(ids=f"{a['id']},{b['id']}")) == sorted([a["id"], b["id"]])
        assert listed(ids=[b["id"], theirs["id"]]) == [b["id"]], "another tenant's id matches nothing"
        assert listed(ids=a["id"], ext=json.dumps({"parser_id": "qa"})) == []
        assert b["id"] in listed(ext=json.dumps({"parser_id": "qa"}))
        assert listed(ext=json.dumps({"keywords": a["name"][-6:].upper()})) == [a["id"]]
        assert listed(ids=a["id"], ext=json.dumps({"owner_ids": [theirs["tenant_id"]]})) == []
        res = api.get("/datasets", params={"ids": f"{a['id']},{b['id']}", "page_size": 1}).json()
        assert res["total_datasets"] == 2 and len(res["data"]) == 1
        many = ",".join(f"{i:032x}" for i in range(101))
        assert code_message(api.get("/datasets", params={"ids": many})) == (101, "ids must contain at most 100 IDs")
        assert code_message(api.get("/datasets", params={"ext": "[1]"})) == (102, "ext must be a JSON object.")

    def test_list_items_carry_v027_keys(self, api):
        a = new_dataset(api)
        res = api.get("/datasets", params={"id": a["id"]}).json()
        assert res["code"] == 0, res
        [row] = res["data"]
        assert row["nickname"] and row["tenant_avatar"] is None
        assert row["embedding_model_name"] == row["embedding_model"] == a["embedding_model"]

    def test_filter_panel_counts_the_callers_datasets(self, api, other_api_key, base_url):
        from conftest import Api

        # A fresh tenant (the other key's) starts from a known count.
        theirs = Api(base_url, other_api_key)
        before = theirs.get("/datasets", params={"type": "filter"}).json()
        assert before["code"] == 0 and set(before) == {"code", "data"}, before
        n = before["data"]["total"]
        new_dataset(api, key=other_api_key)
        new_dataset(api, key=other_api_key)
        after = theirs.get("/datasets", params={"type": "filter", "page": "x"}).json()["data"]
        assert after["total"] == n + 2
        [owner] = after["filter"]["owner"]
        assert owner["count"] == n + 2 and set(owner) == {"id", "label", "count"} and owner["label"]
        mine = api.get("/datasets", params={"type": "filter"}).json()["data"]
        assert [o["id"] for o in mine["filter"]["owner"]] != [owner["id"]], "each key counts its own tenant's"
        # Without `type=filter` the pinned list still refuses a `type` key.
        assert code_message(api.get("/datasets", params={"type": "other"}))[0] == 101
