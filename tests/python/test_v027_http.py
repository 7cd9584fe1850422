"""The v0.27 generation's additions on datasets, documents and chunks, over raw HTTP (any
client): `delete_all` on the batch deletes, PATCH updates, the single reads, bulk chunk
availability, `tag_kwd` / `image_base64`, the auto-metadata configuration and
`include_parsing_status`. Sources: shared/reference/v027-delta.md §1.1–1.3, §2.1–2.2, §2.9.

A body without `delete_all` keeps the pinned rules (tested in the *_sdk / *_http files).
"""

from __future__ import annotations

import base64

import pytest
import requests

from helpers import unique_name
from conftest import Api


def ok(res: requests.Response):
    assert res.status_code == 200, (res.status_code, res.text)
    body = res.json()
    assert body.get("code") == 0, body
    return body.get("data")


def err(res: requests.Response) -> tuple[int, str]:
    assert res.status_code == 200, (res.status_code, res.text)
    body = res.json()
    return body["code"], body["message"]


def new_dataset(api, key=..., **extra) -> dict:
    return ok(api.post("/datasets", key=key, json={"name": unique_name("v027"), **extra}))


def upload(api, ds_id: str, *names: str, key=...) -> list[dict]:
    files = [("file", (n, f"text of {n}".encode(), "text/plain")) for n in names]
    return ok(api.post(f"/datasets/{ds_id}/documents", key=key, files=files))


@pytest.fixture
def ds(api) -> dict:
    return new_dataset(api)


@pytest.fixture
def doc(api, ds) -> dict:
    return upload(api, ds["id"], "hand.txt")[0]


def chunks_url(doc: dict) -> str:
    return f"/datasets/{doc['dataset_id']}/documents/{doc['id']}/chunks"


def add_chunk(api, doc: dict, content: str, **extra) -> dict:
    return ok(api.post(chunks_url(doc), json={"content": content, **extra}))["chunk"]


def chunk_ids(api, doc: dict) -> list[str]:
    return sorted(c["id"] for c in ok(api.get(chunks_url(doc), params={"page_size": 100}))["chunks"])


# ------------------------------------------------------------------------------------------
# DELETE /datasets with delete_all
# ------------------------------------------------------------------------------------------


class TestDeleteDatasets:
    def test_no_ids_without_delete_all_deletes_nothing(self, api):
        a = new_dataset(api)
        for body in ({"ids": None, "delete_all": False}, {"ids": [], "delete_all": False}, {"delete_all": False}):
            assert ok(api.delete("/datasets", json=body)) == {"success_count": 0}
        assert [d["id"] for d in ok(api.get("/datasets"))] == [a["id"]]

    def test_delete_all_deletes_only_the_callers(self, api, other_api_key):
        new_dataset(api)
        new_dataset(api)
        theirs = new_dataset(api, key=other_api_key)
        assert ok(api.delete("/datasets", json={"ids": None, "delete_all": True})) == {"success_count": 2}
        assert ok(api.get("/datasets")) == []
        assert [d["id"] for d in ok(api.get("/datasets", key=other_api_key))] == [theirs["id"]]

    def test_ids_are_counted(self, api):
        a, b = new_dataset(api), new_dataset(api)
        assert ok(api.delete("/datasets", json={"ids": [a["id"]], "delete_all": False})) == {"success_count": 1}
        assert [d["id"] for d in ok(api.get("/datasets"))] == [b["id"]]

    def test_another_tenants_id_is_refused_with_102(self, api, other_api_key, tenant_id):
        mine = new_dataset(api)
        theirs = new_dataset(api, key=other_api_key)
        assert err(api.delete("/datasets", json={"ids": [mine["id"], theirs["id"]], "delete_all": False})) == (
            102,
            f"User '{tenant_id}' lacks permission for datasets: '{theirs['id']}'",
        )
        assert len(ok(api.get("/datasets"))) == 1
        assert len(ok(api.get("/datasets", key=other_api_key))) == 1

    def test_bad_delete_all(self, api):
        assert err(api.delete("/datasets", json={"ids": None, "delete_all": "maybe"})) == (
            101,
            "Field: <delete_all> - Message: <Input should be a valid boolean, unable to interpret input> - Value: <maybe>",
        )

    def test_without_delete_all_the_pinned_rules_hold(self, api):
        new_dataset(api)
        assert ok(api.delete("/datasets", json={"ids": None})) is None
        assert ok(api.get("/datasets")) == []


# ------------------------------------------------------------------------------------------
# GET /datasets/{id}, include_parsing_status, auto_metadata_config
# ------------------------------------------------------------------------------------------


class TestGetDataset:
    def test_one_dataset_with_size_and_connectors(self, api, ds):
        upload(api, ds["id"], "a.txt")
        got = ok(api.get(f"/datasets/{ds['id']}"))
        assert got["id"] == ds["id"] and got["name"] == ds["name"]
        assert got["document_count"] == 1
        assert got["size"] == len(b"text of a.txt")
        assert got["connectors"] == []

    def test_errors_and_isolation(self, api, other_api_key, tenant_id, ds):
        assert err(api.get("/datasets/not-a-uuid")) == (102, "Invalid Dataset ID")
        theirs = new_dataset(api, key=other_api_key)
        assert err(api.get(f"/datasets/{theirs['id']}")) == (
            102,
            f"User '{tenant_id}' lacks permission for dataset '{theirs['id']}'",
        )


class TestParsingStatus:
    def test_counts_per_dataset(self, api, ds):
        upload(api, ds["id"], "a.txt", "b.txt")
        [row] = ok(api.get("/datasets", params={"include_parsing_status": "true"}))
        counts = {"unstart_count": 2, "running_count": 0, "cancel_count": 0, "done_count": 0, "fail_count": 0}
        assert row["parsing_status"] == counts
        assert {k: row[k] for k in counts} == counts

    def test_absent_by_default(self, api, ds):
        [row] = ok(api.get("/datasets"))
        assert "parsing_status" not in row and "done_count" not in row


CONFIG = {"metadata": [{"key": " author ", "type": "string", "description": "who wrote it"}], "built_in_metadata": []}
NORMALISED = {
    "metadata": [{"key": "author", "type": "string", "description": "who wrote it", "enum": None}],
    "built_in_metadata": [],
}


class TestAutoMetadata:
    def test_create_stores_and_echoes(self, api):
        ds = new_dataset(api, auto_metadata_config=CONFIG)
        assert ds["auto_metadata_config"] == NORMALISED
        assert ok(api.get(f"/datasets/{ds['id']}/metadata/config")) == NORMALISED

    def test_create_validates(self, api):
        bad = {"metadata": [{"key": "k", "type": "date"}]}
        assert err(api.post("/datasets", json={"name": unique_name("v027"), "auto_metadata_config": bad})) == (
            101,
            "Field: <auto_metadata_config.metadata.0.type> - Message: <Input should be 'string', 'list', 'time' or 'number'> - Value: <date>",
        )

    def test_get_default_and_put(self, api, ds):
        url = f"/datasets/{ds['id']}/metadata/config"
        assert ok(api.get(url)) == {"metadata": [], "built_in_metadata": []}
        assert ok(api.put(url, json=CONFIG)) == NORMALISED
        assert ok(api.get(url)) == NORMALISED
        # the pinned dataset object is unchanged unless a config was set; now it carries it
        assert ok(api.get(f"/datasets/{ds['id']}"))["auto_metadata_config"] == NORMALISED

    def test_put_validates(self, api, ds):
        assert err(api.put(f"/datasets/{ds['id']}/metadata/config", json={"metadata": [{"type": "list"}]})) == (
            101,
            "Field: <metadata.0.key> - Message: <Field required> - Value: <{'type': 'list'}>",
        )

    def test_isolation(self, api, other_api_key, tenant_id):
        theirs = new_dataset(api, key=other_api_key)
        denied = (102, f"User '{tenant_id}' lacks permission for dataset '{theirs['id']}'")
        assert err(api.get(f"/datasets/{theirs['id']}/metadata/config")) == denied
        assert err(api.put(f"/datasets/{theirs['id']}/metadata/config", json=CONFIG)) == denied
        assert ok(api.get(f"/datasets/{theirs['id']}/metadata/config", key=other_api_key))["metadata"] == []


# ------------------------------------------------------------------------------------------
# Documents: PATCH, DELETE with delete_all
# ------------------------------------------------------------------------------------------


class TestDocuments:
    def test_patch_updates_like_put(self, api, ds, doc):
        got = ok(api.patch(f"/datasets/{ds['id']}/documents/{doc['id']}", json={"name": "renamed.txt"}))
        assert got["id"] == doc["id"] and got["name"] == "renamed.txt"

    def test_patch_isolation(self, api, other_api_key, ds, doc):
        code, _ = err(api.patch(f"/datasets/{ds['id']}/documents/{doc['id']}", key=other_api_key, json={"name": "x.txt"}))
        assert code == 102

    def test_delete_rules(self, api, ds):
        a, b, c = upload(api, ds["id"], "a.txt", "b.txt", "c.txt")
        url = f"/datasets/{ds['id']}/documents"
        either = f"should either provide doc ids or set delete_all(true), dataset: {ds['id']}. "
        for body in ({"delete_all": False}, {"ids": None, "delete_all": False}, {"ids": [], "delete_all": False}):
            assert err(api.delete(url, json=body)) == (102, either)
        assert err(api.delete(url, json={"ids": [a["id"]], "delete_all": True})) == (
            102,
            f"should not provide both doc ids and delete_all(true), dataset: {ds['id']}. ",
        )
        assert err(api.delete(url, json={"ids": [a["id"], "nope"], "delete_all": False})) == (
            102,
            f"These documents do not belong to dataset {ds['id']} or Document not found: nope",
        )
        assert err(api.delete(url, json={"ids": [a["id"], a["id"]], "delete_all": False})) == (
            101,
            f"Field: <ids> - Message: <Value error, Duplicate ids: '{a['id']}'> - Value: <['{a['id']}', '{a['id']}']>",
        )
        assert ok(api.get(url))["total"] == 3
        assert ok(api.delete(url, json={"ids": [a["id"]], "delete_all": False})) == {"deleted": 1}
        assert ok(api.delete(url, json={"delete_all": True})) == {"deleted": 2}
        assert ok(api.get(url))["total"] == 0

    def test_delete_isolation(self, api, other_api_key):
        theirs = new_dataset(api, key=other_api_key)
        [d] = upload(api, theirs["id"], "t.txt", key=other_api_key)
        code, _ = err(api.delete(f"/datasets/{theirs['id']}/documents", json={"ids": [d["id"]], "delete_all": False}))
        assert code == 102
        # a document of theirs named under my dataset is unknown there
        mine = new_dataset(api)
        assert err(api.delete(f"/datasets/{mine['id']}/documents", json={"ids": [d["id"]], "delete_all": False})) == (
            102,
            f"These documents do not belong to dataset {mine['id']} or Document not found: {d['id']}",
        )
        assert ok(api.get(f"/datasets/{theirs['id']}/documents", key=other_api_key))["total"] == 1


# ------------------------------------------------------------------------------------------
# Chunks: tags, images, single read, PATCH, bulk availability, delete_all
# ------------------------------------------------------------------------------------------

PNG_1PX = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6300010000050001a5f645400000000049454e44ae426082"
    )
).decode()


class TestChunks:
    def test_tags_are_stored_and_read_back(self, api, doc):
        c = add_chunk(api, doc, "tagged text", tag_kwd=["red", "blue"])
        assert c["tag_kwd"] == ["red", "blue"]
        [listed] = ok(api.get(chunks_url(doc)))["chunks"]
        assert listed["tag_kwd"] == ["red", "blue"] and listed["doc_type_kwd"] == "text"
        one = ok(api.get(f"{chunks_url(doc)}/{c['id']}"))
        assert one["tag_kwd"] == ["red", "blue"]
        assert (one["id"], one["content_with_weight"], one["doc_id"], one["kb_id"], one["available_int"]) == (
            c["id"], "tagged text", doc["id"], doc["dataset_id"], 1,
        )
        ok(api.patch(f"{chunks_url(doc)}/{c['id']}", json={"tag_kwd": ["green"]}))
        assert ok(api.get(f"{chunks_url(doc)}/{c['id']}"))["tag_kwd"] == ["green"]

    def test_tag_errors(self, api, doc):
        assert err(api.post(chunks_url(doc), json={"content": "x", "tag_kwd": "red"})) == (
            102, "`tag_kwd` is required to be a list",
        )
        assert err(api.post(chunks_url(doc), json={"content": "x", "tag_kwd": [1]})) == (
            102, "`tag_kwd` must be a list of strings",
        )

    def test_tag_scores_are_stored_and_read_back(self, api, doc):
        c = add_chunk(api, doc, "scored text", tag_feas={" solar ": 0.75, "roof": 2})
        one = ok(api.get(f"{chunks_url(doc)}/{c['id']}"))
        assert one["tag_feas"] == {"solar": 0.75, "roof": 2.0}
        [listed] = ok(api.get(chunks_url(doc), params={"id": c["id"]}))["chunks"]
        assert listed["tag_feas"] == {"solar": 0.75, "roof": 2.0}
        ok(api.patch(f"{chunks_url(doc)}/{c['id']}", json={"tag_feas": {"wind": -1.5}}))
        assert ok(api.get(f"{chunks_url(doc)}/{c['id']}"))["tag_feas"] == {"wind": -1.5}
        # null leaves the scores as they are; an empty object clears them
        ok(api.patch(f"{chunks_url(doc)}/{c['id']}", json={"tag_feas": None}))
        assert ok(api.get(f"{chunks_url(doc)}/{c['id']}"))["tag_feas"] == {"wind": -1.5}
        ok(api.patch(f"{chunks_url(doc)}/{c['id']}", json={"tag_feas": {}}))
        assert ok(api.get(f"{chunks_url(doc)}/{c['id']}"))["tag_feas"] == {}

    @pytest.mark.parametrize(
        "value,message",
        [
            ([1], "`tag_feas` must be an object mapping string tags to finite numeric scores"),
            ({" ": 1}, "`tag_feas` keys must be non-empty strings"),
            ({"a": True}, "`tag_feas` values must be finite numbers"),
            ({"a": "0.5"}, "`tag_feas` values must be finite numbers"),
        ],
        ids=["not-object", "blank-key", "bool", "string"],
    )
    def test_tag_score_errors(self, api, doc, value, message):
        assert err(api.post(chunks_url(doc), json={"content": "x", "tag_feas": value})) == (102, message)
        c = add_chunk(api, doc, "kept")
        assert err(api.patch(f"{chunks_url(doc)}/{c['id']}", json={"tag_feas": value})) == (102, message)
        assert ok(api.get(f"{chunks_url(doc)}/{c['id']}"))["tag_feas"] == {}

    def test_image_sets_image_id(self, api, doc):
        c = add_chunk(api, doc, "with a picture", image_base64=PNG_1PX)
        assert c["image_id"] == f"{doc['dataset_id']}-{c['id']}"
        assert ok(api.get(f"{chunks_url(doc)}/{c['id']}"))["img_id"] == c["image_id"]
        res = api.get(f"/documents/images/{c['image_id']}")
        assert res.status_code == 200 and res.headers["content-type"] == "image/png", res.text[:200]
        assert res.content == base64.b64decode(PNG_1PX)
        assert err(api.post(chunks_url(doc), json={"content": "y", "image_base64": "%%%"})) == (
            102, "`image_base64` is not valid base64",
        )

    def test_image_route_refuses_what_is_not_the_callers_image(self, api, other_api_key, base_url, doc):
        c = add_chunk(api, doc, "pictured", image_base64=PNG_1PX)
        not_found = (102, "Image not found.")
        for image_id in ("nope", f"{doc['dataset_id']}-", f"{doc['dataset_id']}-{'0' * 32}", "zz-" + c["id"],
                         f"{doc['dataset_id'][:31]}-{c['id']}"):
            assert err(api.get(f"/documents/images/{image_id}")) == not_found, image_id
        # Another tenant learns nothing, not even that the dataset exists.
        assert err(Api(base_url, other_api_key).get(f"/documents/images/{c['image_id']}")) == not_found

    def test_single_read_errors_and_isolation(self, api, other_api_key, ds, doc):
        c = add_chunk(api, doc, "solo")
        assert err(api.get(f"{chunks_url(doc)}/nope")) == (102, "Chunk not found!")
        [other_doc] = upload(api, ds["id"], "other.txt")
        assert err(api.get(f"{chunks_url(other_doc)}/{c['id']}")) == (102, "Chunk not found!")
        assert err(api.get(f"/datasets/{ds['id']}/documents/nope/chunks/{c['id']}")) == (
            102, "you don't own the document nope",
        )
        assert err(api.get(f"{chunks_url(doc)}/{c['id']}", key=other_api_key)) == (
            102, f"You don't own the dataset {ds['id']}.",
        )

    def test_patch_updates_like_put(self, api, doc):
        c = add_chunk(api, doc, "before")
        assert ok(api.patch(f"{chunks_url(doc)}/{c['id']}", json={"content": "after", "available": False})) is None
        one = ok(api.get(f"{chunks_url(doc)}/{c['id']}"))
        assert (one["content_with_weight"], one["available_int"]) == ("after", 0)

    def test_patch_isolation(self, api, other_api_key, doc):
        c = add_chunk(api, doc, "mine")
        code, _ = err(api.patch(f"{chunks_url(doc)}/{c['id']}", key=other_api_key, json={"content": "theirs"}))
        assert code == 102
        assert ok(api.get(f"{chunks_url(doc)}/{c['id']}"))["content_with_weight"] == "mine"

    def test_bulk_availability(self, api, doc):
        a, b = add_chunk(api, doc, "alpha"), add_chunk(api, doc, "beta")
        assert ok(api.patch(chunks_url(doc), json={"chunk_ids": [a["id"], b["id"]], "available_int": 0})) is True
        assert [ok(api.get(f"{chunks_url(doc)}/{x['id']}"))["available_int"] for x in (a, b)] == [0, 0]
        # available_int wins over available
        assert ok(api.patch(chunks_url(doc), json={"chunk_ids": [a["id"]], "available_int": 1, "available": False}))
        assert ok(api.patch(chunks_url(doc), json={"chunk_ids": [b["id"]], "available": True}))
        assert [ok(api.get(f"{chunks_url(doc)}/{x['id']}"))["available_int"] for x in (a, b)] == [1, 1]

    def test_bulk_errors_and_isolation(self, api, other_api_key, ds, doc):
        a = add_chunk(api, doc, "alpha")
        for body in ({}, {"chunk_ids": []}, {"chunk_ids": None, "available": True}):
            assert err(api.patch(chunks_url(doc), json=body)) == (102, "`chunk_ids` is required.")
        assert err(api.patch(chunks_url(doc), json={"chunk_ids": [a["id"]]})) == (
            102, "`available_int` or `available` is required.",
        )
        assert err(api.patch(f"/datasets/{ds['id']}/documents/nope/chunks", json={"chunk_ids": [a["id"]], "available": False})) == (
            102, "document not found",
        )
        assert err(api.patch(chunks_url(doc), key=other_api_key, json={"chunk_ids": [a["id"]], "available": False})) == (
            102, f"You don't own the dataset {ds['id']}.",
        )
        assert ok(api.get(f"{chunks_url(doc)}/{a['id']}"))["available_int"] == 1

    def test_delete_all_rules(self, api, doc):
        a, b, c = (add_chunk(api, doc, t) for t in ("one", "two", "three"))
        for body in ({"delete_all": False}, {"chunk_ids": None, "delete_all": False}, {"chunk_ids": [], "delete_all": False}):
            assert ok(api.delete(chunks_url(doc), json=body)) is None
        assert chunk_ids(api, doc) == sorted([a["id"], b["id"], c["id"]])
        assert ok(api.delete(chunks_url(doc), json={"chunk_ids": [a["id"]], "delete_all": False})) is None
        assert chunk_ids(api, doc) == sorted([b["id"], c["id"]])
        assert ok(api.delete(chunks_url(doc), json={"chunk_ids": None, "delete_all": True})) is None
        assert chunk_ids(api, doc) == []
        assert err(api.delete(f"/datasets/{doc['dataset_id']}/documents/nope/chunks", json={"delete_all": True})) == (
            102, "you don't own the document nope",
        )

    def test_delete_all_isolation(self, api, other_api_key, doc):
        add_chunk(api, doc, "kept")
        code, _ = err(api.delete(chunks_url(doc), key=other_api_key, json={"delete_all": True}))
        assert code == 102
        assert len(chunk_ids(api, doc)) == 1


# ------------------------------------------------------------------------------------------
# Dataset tags and flattened metadata (v0.27 UI helpers)
# ------------------------------------------------------------------------------------------


class TestDatasetTags:
    def test_list_rename_delete_aggregate(self, api, ds, doc):
        [other_doc] = upload(api, ds["id"], "second.txt")
        a = add_chunk(api, doc, "first tagged", tag_kwd=["solar", "roof"], tag_feas={"solar": 0.5})
        add_chunk(api, doc, "second tagged", tag_kwd=["solar"])
        add_chunk(api, other_doc, "third tagged", tag_kwd=["wind", "solar"])
        assert ok(api.get(f"/datasets/{ds['id']}/tags")) == [["solar", 3], ["roof", 1], ["wind", 1]]
        second = new_dataset(api)
        [d2] = upload(api, second["id"], "x.txt")
        add_chunk(api, d2, "elsewhere", tag_kwd=["roof"])
        agg = ok(api.get("/datasets/tags/aggregation", params={"dataset_ids": f"{ds['id']},{second['id']}"}))
        assert agg == [{"value": "solar", "count": 3}, {"value": "roof", "count": 2}, {"value": "wind", "count": 1}]

        assert ok(api.put(f"/datasets/{ds['id']}/tags", json={"from_tag": "roof", "to_tag": "solar"})) == {
            "from": "roof", "to": "solar"}
        assert ok(api.get(f"/datasets/{ds['id']}/tags")) == [["solar", 3], ["wind", 1]]
        # The renamed chunk kept everything else, its vector included (it is still retrievable).
        one = ok(api.get(f"{chunks_url(doc)}/{a['id']}"))
        assert one["tag_kwd"] == ["solar"] and one["tag_feas"] == {"solar": 0.5}
        hits = ok(api.post("/retrieval", json={"dataset_ids": [ds["id"]], "question": "first tagged",
                                               "vector_similarity_weight": 1.0, "similarity_threshold": 0.5}))
        assert a["id"] in [c["id"] for c in hits["chunks"]]

        assert ok(api.delete(f"/datasets/{ds['id']}/tags", json={"tags": ["solar", "nope"]})) == {}
        assert ok(api.get(f"/datasets/{ds['id']}/tags")) == [["wind", 1]]

    def test_errors_and_isolation(self, api, other_api_key, ds):
        def code_message(res):
            body = res.json()
            return body["code"], body["message"]

        url = f"/datasets/{ds['id']}/tags"
        assert code_message(api.delete(url, json={})) == (102, "Lack of tags in request body")
        assert code_message(api.delete(url, json={"tags": "solar"})) == (101, "tags must be a list of strings")
        assert code_message(api.delete(url, json={"tags": [1]})) == (101, "tags must be a list of strings")
        assert code_message(api.put(url, json={"from_tag": "a"})) == (102, "Lack of from_tag or to_tag in request body")
        assert code_message(api.put(url, json={"from_tag": "a", "to_tag": 1})) == (101, "from_tag and to_tag must be strings")
        for path in ("/datasets/tags/aggregation", "/datasets/metadata/flattened"):
            assert code_message(api.get(path)) == (102, "Lack of dataset_ids in query parameters")
            assert code_message(api.get(path, params={"dataset_ids": f"{ds['id']},nope"})) == (
                102, "No authorization for dataset 'nope'")
            assert code_message(api.get(path, params={"dataset_ids": ds["id"]}, key=other_api_key)) == (
                102, f"No authorization for dataset '{ds['id']}'")
        assert code_message(api.get(url, key=other_api_key)) == (102, "no authorization")
        assert code_message(api.delete(url, key=other_api_key, json={"tags": ["a"]})) == (102, "no authorization")
        assert code_message(api.put(url, key=other_api_key, json={"from_tag": "a", "to_tag": "b"})) == (
            102, "no authorization")

    def test_flattened_metadata(self, api, ds):
        a, b = upload(api, ds["id"], "a.txt", "b.txt")
        ok(api.put(f"/datasets/{ds['id']}/documents/{a['id']}", json={"meta_fields": {"author": "ann", "tags": ["x", "y"]}}))
        ok(api.put(f"/datasets/{ds['id']}/documents/{b['id']}", json={"meta_fields": {"author": "ann", "year": 2024}}))
        flat = ok(api.get("/datasets/metadata/flattened", params={"dataset_ids": ds["id"]}))
        assert {k: {v: sorted(ids) for v, ids in vals.items()} for k, vals in flat.items()} == {
            "author": {"ann": sorted([a["id"], b["id"]])},
            "tags": {"x": [a["id"]], "y": [a["id"]]},
            "year": {"2024": [b["id"]]},
        }
