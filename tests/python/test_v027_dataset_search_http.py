"""v0.27's retrieval test, `POST /datasets/search` and `POST /datasets/{id}/search`, over raw
HTTP: R1's search with a pydantic-checked body (`size`, threshold 0 by default), an optional
saved search app, and chunks under the index's field names (`chunk_id`, `content_with_weight`,
`doc_id`, `docnm_kwd`, `kb_id`, ...). `total` is the page's length, as upstream overwrites it.
"""

from __future__ import annotations

import pytest

from helpers import unique_name

from test_v027_document_bulk_http import err, new_dataset, ok, upload, wait_run


def parsed(api, ds_id: str, texts: dict[str, str], key=...) -> list[dict]:
    files = [("file", (n, t.encode(), "text/plain")) for n, t in texts.items()]
    docs = ok(api.post(f"/datasets/{ds_id}/documents", key=key, files=files))
    ok(api.post(f"/datasets/{ds_id}/documents/parse", key=key, json={"document_ids": [d["id"] for d in docs]}))
    for d in docs:
        if key is ...:
            wait_run(api, ds_id, d["id"], "DONE")
    return docs


@pytest.fixture
def corpus(api):
    ds = new_dataset(api)
    docs = parsed(
        api,
        ds["id"],
        {
            "zebra.txt": "Zebras graze on the savanna grasses in large herds.",
            "kettle.txt": "A kettle boils water for tea in the kitchen.",
        },
    )
    return ds, {d["name"]: d for d in docs}


RAW_KEYS = {
    "chunk_id", "content_ltks", "content_with_weight", "doc_id", "docnm_kwd", "kb_id", "important_kwd",
    "question_kwd", "image_id", "similarity", "vector_similarity", "term_similarity", "positions", "doc_type_kwd",
}


class TestSearch:
    def test_both_routes_find_the_chunk(self, api, corpus):
        ds, docs = corpus
        for url, body in (
            ("/datasets/search", {"dataset_ids": [ds["id"]], "question": "zebras savanna"}),
            (f"/datasets/{ds['id']}/search", {"question": "zebras savanna", "dataset_ids": ["ignored"]}),
        ):
            got = ok(api.post(url, json=body))
            assert set(got) == {"total", "chunks", "doc_aggs", "labels"}
            assert got["labels"] is None
            top = got["chunks"][0]
            assert set(top) == RAW_KEYS, set(top) ^ RAW_KEYS
            assert top["doc_id"] == docs["zebra.txt"]["id"] and top["docnm_kwd"] == "zebra.txt"
            assert top["kb_id"] == ds["id"] and "Zebras" in top["content_with_weight"]
            assert got["total"] == len(got["chunks"])
            assert {"doc_name": "zebra.txt", "doc_id": docs["zebra.txt"]["id"], "count": 1} in got["doc_aggs"]

    def test_size_doc_ids_and_threshold(self, api, corpus):
        ds, docs = corpus
        url = f"/datasets/{ds['id']}/search"
        # Threshold 0 by default: both documents come back for a question touching one.
        assert len(ok(api.post(url, json={"question": "zebras tea"}))["chunks"]) == 2
        assert len(ok(api.post(url, json={"question": "zebras tea", "size": 1}))["chunks"]) == 1
        only = ok(api.post(url, json={"question": "zebras tea", "doc_ids": [docs["kettle.txt"]["id"]]}))
        assert [c["doc_id"] for c in only["chunks"]] == [docs["kettle.txt"]["id"]]

    def test_saved_search_app(self, api, corpus):
        ds, _ = corpus
        sid = ok(api.post("/searches", json={"name": unique_name("strict")}))["search_id"]
        try:
            config = {"similarity_threshold": 0.99, "kb_ids": [ds["id"]]}
            ok(api.put(f"/searches/{sid}", json={"name": unique_name("strict"), "search_config": config}))
            url = f"/datasets/{ds['id']}/search"
            assert len(ok(api.post(url, json={"question": "zebras tea"}))["chunks"]) == 2
            assert ok(api.post(url, json={"question": "zebras tea", "search_id": sid}))["chunks"] == []
            assert err(api.post(url, json={"question": "zebras", "search_id": "nope"})) == (102, "Invalid search_id")
        finally:
            api.delete(f"/searches/{sid}")

    @pytest.mark.parametrize(
        "body, message",
        [
            ({}, "Field: <dataset_ids> - Message: <Field required> - Value: <{}>\nField: <question> - Message: <Field required> - Value: <{}>"),
            ({"dataset_ids": [], "question": "q"}, "Field: <dataset_ids> - Message: <List should have at least 1 item after validation, not 0> - Value: <[]>"),
            ({"dataset_ids": ["a"], "question": "  "}, "Field: <question> - Message: <String should have at least 1 character> - Value: <  >"),
            ({"dataset_ids": ["a"], "question": "q", "size": 0}, "Field: <size> - Message: <Input should be greater than or equal to 1> - Value: <0>"),
            ({"dataset_ids": ["a"], "question": "q", "vector_similarity_weight": 1.5}, "Field: <vector_similarity_weight> - Message: <Input should be less than or equal to 1> - Value: <1.5>"),
        ],
    )
    def test_body_errors(self, api, body, message):
        assert err(api.post("/datasets/search", json=body)) == (101, message)

    def test_isolation(self, api, other_api_key, corpus):
        ds, _ = corpus
        mine = new_dataset(api)
        for key, url, body in (
            (other_api_key, f"/datasets/{ds['id']}/search", {"question": "zebras"}),
            (other_api_key, "/datasets/search", {"dataset_ids": [ds["id"]], "question": "zebras"}),
            (..., "/datasets/search", {"dataset_ids": [mine["id"], "0" * 32], "question": "zebras"}),
        ):
            code, message = err(api.post(url, key=key, json=body))
            assert code == 102 and message.startswith("Only owner of dataset ") and message.endswith(" authorized for this operation."), message
