"""v0.27's document routes beside the pinned parse/stop/metadata ones, over raw HTTP:
POST …/documents/parse and /stop (a `success_count` reply), POST …/batch-update-status,
PATCH …/documents/metadatas and PUT …/documents/{id}/metadata/config. Upstream's rules, read
from its v0.27-era code (docs/divergences.md says where we differ): parse queues whatever
it knows and still answers 102 for unknown ids; stop refuses the whole request for one
unknown id and skips documents that are not running; bulk status answers code 500
`Partial failure` with the per-document map when any document failed.
"""

from __future__ import annotations

import time

import pytest
import requests

from helpers import unique_name


def ok(res: requests.Response):
    assert res.status_code == 200, (res.status_code, res.text)
    body = res.json()
    assert body.get("code") == 0, body
    return body.get("data")


def err(res: requests.Response) -> tuple[int, str]:
    assert res.status_code == 200, (res.status_code, res.text)
    body = res.json()
    return body["code"], body["message"]


def new_dataset(api, key=...) -> dict:
    return ok(api.post("/datasets", key=key, json={"name": unique_name("bulk")}))


def upload(api, ds_id: str, *names: str, key=...) -> list[dict]:
    files = [("file", (n, f"words about {n} and more words".encode(), "text/plain")) for n in names]
    return ok(api.post(f"/datasets/{ds_id}/documents", key=key, files=files))


def doc_state(api, ds_id: str, doc_id: str, key=...) -> dict:
    [d] = ok(api.get(f"/datasets/{ds_id}/documents", key=key, params={"id": doc_id}))["docs"]
    return d


def wait_run(api, ds_id: str, doc_id: str, want: str, timeout: float = 60.0) -> dict:
    end = time.time() + timeout
    while True:
        d = doc_state(api, ds_id, doc_id)
        if d["run"] == want:
            return d
        assert d["run"] != "FAIL", d
        assert time.time() < end, d
        time.sleep(0.2)


@pytest.fixture
def ds(api) -> dict:
    return new_dataset(api)


class TestParse:
    def test_queues_and_counts(self, api, ds):
        a, b = upload(api, ds["id"], "a.txt", "b.txt")
        url = f"/datasets/{ds['id']}/documents/parse"
        assert ok(api.post(url, json={"document_ids": [a["id"], b["id"]]})) == {"success_count": 2}
        done = wait_run(api, ds["id"], a["id"], "DONE")
        assert done["chunk_count"] >= 1
        wait_run(api, ds["id"], b["id"], "DONE")
        # A parsed document may be parsed again; a duplicate id is reported beside the count.
        got = ok(api.post(url, json={"document_ids": [a["id"], a["id"]]}))
        assert got == {"success_count": 1, "errors": [f"Duplicate document ids: {a['id']}"]}
        wait_run(api, ds["id"], a["id"], "DONE")

    def test_unknown_ids(self, api, ds):
        [a] = upload(api, ds["id"], "a.txt")
        url = f"/datasets/{ds['id']}/documents/parse"
        assert err(api.post(url, json={"document_ids": ["nope"]})) == (102, "Documents not found: ['nope']")
        assert doc_state(api, ds["id"], a["id"])["run"] == "UNSTART"
        # The known ids are still queued, and the reply is the 102.
        assert err(api.post(url, json={"document_ids": [a["id"], "nope"]})) == (102, "Documents not found: ['nope']")
        wait_run(api, ds["id"], a["id"], "DONE")

    @pytest.mark.parametrize("body", [{}, {"document_ids": []}, {"document_ids": "x"}, {"document_ids": None}])
    def test_document_ids_required(self, api, ds, body):
        assert err(api.post(f"/datasets/{ds['id']}/documents/parse", json=body)) == (102, "`document_ids` is required")

    def test_isolation(self, api, other_api_key):
        theirs = new_dataset(api, key=other_api_key)
        [d] = upload(api, theirs["id"], "t.txt", key=other_api_key)
        for path in ("parse", "stop"):
            assert err(api.post(f"/datasets/{theirs['id']}/documents/{path}", json={"document_ids": [d["id"]]})) == (
                102,
                f"You don't own the dataset {theirs['id']}.",
            )
        # Their document named under my dataset is unknown there.
        mine = new_dataset(api)
        for path in ("parse", "stop"):
            assert err(api.post(f"/datasets/{mine['id']}/documents/{path}", json={"document_ids": [d["id"]]})) == (
                102,
                f"Documents not found: ['{d['id']}']",
            )
        assert doc_state(api, theirs["id"], d["id"], key=other_api_key)["run"] == "UNSTART"


class TestStop:
    def test_not_running_is_skipped_with_a_message(self, api, ds):
        [a] = upload(api, ds["id"], "a.txt")
        got = ok(api.post(f"/datasets/{ds['id']}/documents/stop", json={"document_ids": [a["id"]]}))
        assert got == {
            "success_count": 0,
            "errors": ["Can't stop parsing document that has not started or already completed"],
        }

    def test_one_unknown_id_stops_nothing(self, api, ds):
        [a] = upload(api, ds["id"], "a.txt")
        assert err(api.post(f"/datasets/{ds['id']}/documents/stop", json={"document_ids": [a["id"], "nope"]})) == (
            102,
            "Documents not found: ['nope']",
        )
        assert err(api.post(f"/datasets/{ds['id']}/documents/stop", json={})) == (102, "`document_ids` is required")

    def test_stops_a_queued_document(self, api, ds):
        docs = upload(api, ds["id"], *(f"d{i}.txt" for i in range(6)))
        ids = [d["id"] for d in docs]
        ok(api.post(f"/datasets/{ds['id']}/documents/parse", json={"document_ids": ids}))
        got = ok(api.post(f"/datasets/{ds['id']}/documents/stop", json={"document_ids": ids}))
        # Documents that finished before the stop are skipped; the rest are cancelled.
        stopped = got["success_count"]
        assert stopped + len(got.get("errors", [])) == len(ids)
        runs = [doc_state(api, ds["id"], i)["run"] for i in ids]
        assert runs.count("CANCEL") == stopped, runs
        for i, run in zip(ids, runs):
            if run == "CANCEL":
                assert doc_state(api, ds["id"], i)["chunk_count"] == 0
        # A cancelled document may be "stopped" again (upstream allows CANCEL).
        cancelled = [i for i, r in zip(ids, runs) if r == "CANCEL"]
        if cancelled:
            again = ok(api.post(f"/datasets/{ds['id']}/documents/stop", json={"document_ids": cancelled}))
            assert again == {"success_count": len(cancelled)}


class TestBatchUpdateStatus:
    def url(self, ds) -> str:
        return f"/datasets/{ds['id']}/documents/batch-update-status"

    def test_disable_and_enable(self, api, ds):
        a, b = upload(api, ds["id"], "a.txt", "b.txt")
        res = api.post(self.url(ds), json={"doc_ids": [a["id"], b["id"], a["id"]], "status": 0})
        assert res.json() == {"code": 0, "message": "success", "data": {a["id"]: {"status": "0"}, b["id"]: {"status": "0"}}}
        assert doc_state(api, ds["id"], a["id"])["status"] == "0"
        # Already in that status: reported the same, nothing written.
        assert ok(api.post(self.url(ds), json={"doc_ids": [a["id"]], "status": "0"})) == {a["id"]: {"status": "0"}}
        assert ok(api.post(self.url(ds), json={"doc_ids": [a["id"]], "status": "1"})) == {a["id"]: {"status": "1"}}
        assert doc_state(api, ds["id"], a["id"])["status"] == "1"
        assert doc_state(api, ds["id"], b["id"])["status"] == "0"

    def test_disabled_documents_leave_retrieval(self, api, ds):
        [a] = upload(api, ds["id"], "zebra.txt")
        ok(api.post(f"/datasets/{ds['id']}/documents/parse", json={"document_ids": [a["id"]]}))
        wait_run(api, ds["id"], a["id"], "DONE")
        ask = {"dataset_ids": [ds["id"]], "question": "zebra words", "similarity_threshold": 0}
        assert ok(api.post("/retrieval", json=ask))["chunks"]
        ok(api.post(self.url(ds), json={"doc_ids": [a["id"]], "status": 0}))
        assert ok(api.post("/retrieval", json=ask))["chunks"] == []
        ok(api.post(self.url(ds), json={"doc_ids": [a["id"]], "status": 1}))
        assert ok(api.post("/retrieval", json=ask))["chunks"]

    def test_partial_failure(self, api, ds, other_api_key):
        [a] = upload(api, ds["id"], "a.txt")
        elsewhere = new_dataset(api)
        [b] = upload(api, elsewhere["id"], "b.txt")
        theirs = new_dataset(api, key=other_api_key)
        [t] = upload(api, theirs["id"], "t.txt", key=other_api_key)
        res = api.post(self.url(ds), json={"doc_ids": [a["id"], "nope", b["id"], t["id"]], "status": "0"})
        assert res.status_code == 200
        assert res.json() == {
            "code": 500,
            "message": "Partial failure",
            "data": {
                a["id"]: {"status": "0"},
                "nope": {"error": "Document not found"},
                b["id"]: {"error": "Document not found in this dataset."},
                t["id"]: {"error": "Document not found"},
            },
        }
        assert doc_state(api, theirs["id"], t["id"], key=other_api_key)["status"] == "1"

    @pytest.mark.parametrize(
        "body, message",
        [
            ({"status": 1}, '"doc_ids" must be a non-empty list.'),
            ({"doc_ids": [], "status": 1}, '"doc_ids" must be a non-empty list.'),
            ({"doc_ids": "abc", "status": 1}, '"doc_ids" must be a non-empty list.'),
            ({"doc_ids": ["a", ""], "status": 1}, '"doc_ids" must contain non-empty document IDs.'),
            ({"doc_ids": ["a", 3], "status": 1}, '"doc_ids" must contain non-empty document IDs.'),
            ({"doc_ids": ["a"]}, '"Status" must be either 0 or 1:-1!'),
            ({"doc_ids": ["a"], "status": 2}, '"Status" must be either 0 or 1:2!'),
            ({"doc_ids": ["a"], "status": True}, '"Status" must be either 0 or 1:True!'),
            ({"doc_ids": ["a"], "status": 1.0}, '"Status" must be either 0 or 1:1.0!'),
        ],
    )
    def test_body_errors(self, api, ds, body, message):
        assert err(api.post(self.url(ds), json=body)) == (101, message)

    def test_isolation(self, api, other_api_key):
        theirs = new_dataset(api, key=other_api_key)
        [t] = upload(api, theirs["id"], "t.txt", key=other_api_key)
        assert err(api.post(self.url(theirs), json={"doc_ids": [t["id"]], "status": 0})) == (102, "you don't own the dataset")
        # The body is checked first.
        assert err(api.post(self.url(theirs), json={"doc_ids": [], "status": 0}))[0] == 101
        assert doc_state(api, theirs["id"], t["id"], key=other_api_key)["status"] == "1"


class TestPatchMetadatas:
    def test_updates_and_deletes(self, api, ds):
        a, b = upload(api, ds["id"], "a.txt", "b.txt")
        url = f"/datasets/{ds['id']}/documents/metadatas"
        got = ok(api.patch(url, json={"selector": {"document_ids": [a["id"]]}, "updates": [{"key": "author", "value": "Ann"}]}))
        assert got == {"updated": 1, "matched_docs": 1}
        assert doc_state(api, ds["id"], a["id"])["meta_fields"] == {"author": "Ann"}
        assert doc_state(api, ds["id"], b["id"])["meta_fields"] == {}
        cond = {"logic": "and", "conditions": [{"name": "author", "comparison_operator": "is", "value": "Ann"}]}
        got = ok(api.patch(url, json={"selector": {"metadata_condition": cond}, "deletes": [{"key": "author"}]}))
        assert got == {"updated": 1, "matched_docs": 1}
        assert doc_state(api, ds["id"], a["id"])["meta_fields"] == {}

    @pytest.mark.parametrize(
        "body, message",
        [
            ({"selector": []}, "selector must be an object."),
            ({"updates": {}}, "updates and deletes must be lists."),
            ({"updates": [{"key": "k"}]}, "Each update requires key and value."),
            ({"deletes": [{}]}, "Each delete requires key."),
            ({"selector": {"metadata_condition": []}}, "metadata_condition must be an object."),
            ({"selector": {"document_ids": "x"}}, "document_ids must be a list."),
        ],
    )
    def test_errors(self, api, ds, body, message):
        assert err(api.patch(f"/datasets/{ds['id']}/documents/metadatas", json=body)) == (102, message)

    def test_isolation(self, api, other_api_key, ds):
        theirs = new_dataset(api, key=other_api_key)
        [t] = upload(api, theirs["id"], "t.txt", key=other_api_key)
        body = {"selector": {"document_ids": [t["id"]]}, "updates": [{"key": "k", "value": "v"}]}
        assert err(api.patch(f"/datasets/{theirs['id']}/documents/metadatas", json=body)) == (
            102,
            f"You don't own the dataset {theirs['id']}.",
        )
        assert err(api.patch(f"/datasets/{ds['id']}/documents/metadatas", json=body)) == (
            102,
            f"These documents do not belong to dataset {ds['id']}: {t['id']}",
        )
        assert doc_state(api, theirs["id"], t["id"], key=other_api_key)["meta_fields"] == {}


class TestMetadataConfig:
    def test_merges_into_parser_config(self, api, ds):
        [a] = upload(api, ds["id"], "a.txt")
        url = f"/datasets/{ds['id']}/documents/{a['id']}/metadata/config"
        fields = [{"key": "author", "type": "string", "description": "who wrote it"}]
        got = ok(api.put(url, json={"metadata": fields}))
        assert got["id"] == a["id"] and got["kb_id"] == ds["id"] and got["dataset_id"] == ds["id"]
        assert got["parser_config"]["metadata"] == fields
        assert "chunk_num" in got and "parser_id" in got
        # Other parser settings stay; the stored document has the config.
        assert got["parser_config"]["chunk_token_num"] == a["parser_config"]["chunk_token_num"]
        assert doc_state(api, ds["id"], a["id"])["parser_config"]["metadata"] == fields
        # A mapping is merged key by key.
        ok(api.put(url, json={"metadata": {"x": 1}}))
        ok(api.put(url, json={"metadata": {"y": 2}}))
        assert doc_state(api, ds["id"], a["id"])["parser_config"]["metadata"] == {"x": 1, "y": 2}

    def test_errors_and_isolation(self, api, ds, other_api_key):
        [a] = upload(api, ds["id"], "a.txt")
        url = f"/datasets/{ds['id']}/documents/{a['id']}/metadata/config"
        assert err(api.put(url, json={})) == (101, "metadata is required")
        assert err(api.put(f"/datasets/{ds['id']}/documents/nope/metadata/config", json={"metadata": []})) == (
            102,
            f"document nope not found in dataset {ds['id']}",
        )
        assert err(api.put(url, key=other_api_key, json={"metadata": []})) == (102, "you don't own the dataset")
        theirs = new_dataset(api, key=other_api_key)
        [t] = upload(api, theirs["id"], "t.txt", key=other_api_key)
        assert err(api.put(f"/datasets/{ds['id']}/documents/{t['id']}/metadata/config", json={"metadata": []})) == (
            102,
            f"document {t['id']} not found in dataset {ds['id']}",
        )
        assert "metadata" not in doc_state(api, theirs["id"], t["id"], key=other_api_key)["parser_config"]


class TestThumbnails:
    def test_known_ids_of_the_caller(self, api, ds, other_api_key):
        a, b = upload(api, ds["id"], "a.txt", "b.txt")
        theirs = new_dataset(api, key=other_api_key)
        [t] = upload(api, theirs["id"], "t.txt", key=other_api_key)
        res = api.get("/thumbnails", params=[("doc_ids", a["id"]), ("doc_ids", "nope"), ("doc_ids", b["id"]), ("doc_ids", t["id"])])
        # Plain-text documents have no thumbnail; unknown and other tenants' ids are left out.
        assert res.json() == {"code": 0, "message": "success", "data": {a["id"]: None, b["id"]: None}}
        # A comma-separated value is one id.
        assert ok(api.get("/thumbnails", params={"doc_ids": f"{a['id']},{b['id']}"})) == {}

    def test_errors(self, api):
        assert api.get("/thumbnails").json() == {"code": 101, "message": 'Lack of "Document ID"', "data": False}
        many = [("doc_ids", f"d{i}") for i in range(101)]
        assert err(api.get("/thumbnails", params=many)) == (101, "doc_ids must contain at most 100 IDs")
        assert api.get("/thumbnails", key=None, params={"doc_ids": "x"}).json()["message"] == "`Authorization` can't be empty"
