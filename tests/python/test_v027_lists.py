"""v0.27's list filters on shared paths, over raw HTTP: documents (`ids`, `run_status`,
`types`, `metadata`) and chunks (`chunk_ids`, `available`). They are additions: requests
without them keep the pinned behaviour (tested in the *_sdk / *_http files). Source:
shared/reference/v027-delta.md §1.3, §2.2 and §0 (id lists of at most 100)."""

from __future__ import annotations

import json

import pytest

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
