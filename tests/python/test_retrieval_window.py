"""Retrieval paging over a candidate window, and disabled documents at scale (R1).

Contract: endpoints.md R1 "Paging detail": the ranking is cut into windows of
R = max(30, ceil(64/page_size)*page_size) candidates; `total` counts the window's candidates
passing the threshold, and a page is a slice of its window. Disabled documents never take a
place in a window, however well their chunks match.

The corpus is built with `add_chunk` (each chunk embedded by the built-in model) in a tenant
of its own, once per module.
"""

from __future__ import annotations

import pytest
from ragflow_sdk import RAGFlow

from conftest import Api, create_tenant

LANTERNS = 150
ZEBRAS = 40
FARM = 12


@pytest.fixture(scope="module")
def env(deployment):
    tenant = create_tenant(deployment.server.data_dir, "tenant-window")
    client = RAGFlow(api_key=tenant.api_key, base_url=deployment.server.base_url)
    api = Api(deployment.server.base_url, tenant.api_key)
    ds = client.create_dataset(name="window-kb")
    docs = ds.upload_documents([
        {"display_name": "lanterns.txt", "blob": b"Lantern catalogue."},
        {"display_name": "zoo.txt", "blob": b"Zoo notes."},
        {"display_name": "farm.txt", "blob": b"Farm notes."},
    ])
    by_name = {d.name: d for d in docs}
    for i in range(LANTERNS):
        # Distinct lengths give distinct BM25 scores, so the ranking has few ties.
        by_name["lanterns.txt"].add_chunk(f"solar lantern model {i} " + "bright " * (i % 17))
    for i in range(ZEBRAS):
        by_name["zoo.txt"].add_chunk(f"zebra zebra zebra stripes, zebra herd number {i}")
    for i in range(FARM):
        by_name["farm.txt"].add_chunk(f"a zebra crossing painted near farm gate {i} with many other words here")
    yield {"client": client, "api": api, "ds": ds, "docs": by_name}
    client.delete_datasets(ids=[ds.id])


def ask(api: Api, ds_id: str, question: str, **kw) -> dict:
    body = {"dataset_ids": [ds_id], "question": question, "similarity_threshold": 0, **kw}
    res = api.post("/retrieval", json=body).json()
    assert res["code"] == 0, res
    return res["data"]


def test_total_counts_the_window(env):
    ds = env["ds"]
    # Only the lantern document: with threshold 0 every chunk of the dataset is a candidate.
    lanterns = [env["docs"]["lanterns.txt"].id]

    def ask(api, ds_id, question, **kw):
        return globals()["ask"](api, ds_id, question, document_ids=lanterns, **kw)

    full = ask(env["api"], ds.id, "solar lantern", page_size=LANTERNS)
    assert full["total"] == LANTERNS, "page_size 150: one window of 150 holds every chunk"
    ids = [c["id"] for c in full["chunks"]]
    assert len(ids) == len(set(ids)) == LANTERNS

    first = ask(env["api"], ds.id, "solar lantern", page=1, page_size=30)
    assert first["total"] == 90, "R = max(30, ceil(64/30)*30) = 90"
    assert [c["id"] for c in first["chunks"]] == ids[:30]
    third = ask(env["api"], ds.id, "solar lantern", page=3, page_size=30)
    assert third["total"] == 90 and [c["id"] for c in third["chunks"]] == ids[60:90]
    fourth = ask(env["api"], ds.id, "solar lantern", page=4, page_size=30)
    assert fourth["total"] == LANTERNS - 90, "the second window holds the rest"
    assert [c["id"] for c in fourth["chunks"]] == ids[90:120]
    sixth = ask(env["api"], ds.id, "solar lantern", page=6, page_size=30)
    assert sixth["total"] == 60 and [c["id"] for c in sixth["chunks"]] == ids[150:180] == []
    # doc_aggs count the window too.
    assert first["doc_aggs"] == [{"doc_name": "lanterns.txt", "doc_id": env["docs"]["lanterns.txt"].id, "count": 90}]


def test_sdk_pages_never_overlap(env):
    rc: RAGFlow = env["client"]
    seen = []
    for page in range(1, 7):
        got = rc.retrieve(dataset_ids=[env["ds"].id], document_ids=[env["docs"]["lanterns.txt"].id],
                          question="solar lantern", similarity_threshold=0.0, page=page, page_size=25)
        seen.extend(c.id for c in got)
    assert len(seen) == len(set(seen)) == LANTERNS


def test_disabled_document_never_fills_the_window(env):
    api, ds, zoo, farm = env["api"], env["ds"], env["docs"]["zoo.txt"], env["docs"]["farm.txt"]
    before = ask(api, ds.id, "zebra", page_size=10)
    assert {c["document_id"] for c in before["chunks"]} == {zoo.id}, "the zoo's chunks match best"
    zoo.update({"enabled": False})
    try:
        # Threshold 0.5: BM25 is divided by the best score among enabled documents, so the
        # farm's chunks now score a full term similarity; chunks without "zebra" stay below.
        after = ask(api, ds.id, "zebra", page_size=10, similarity_threshold=0.5)
        assert len(after["chunks"]) == 10, "the page is filled from enabled documents"
        assert max(c["term_similarity"] for c in after["chunks"]) == pytest.approx(1.0)
        assert {c["document_id"] for c in after["chunks"]} == {farm.id}
        assert after["total"] == FARM
        assert after["doc_aggs"] == [{"doc_name": "farm.txt", "doc_id": farm.id, "count": FARM}]
        # Explicit document ids of a disabled document find nothing, without an error.
        only = ask(api, ds.id, "zebra", document_ids=[zoo.id])
        assert only["chunks"] == [] and only["total"] == 0
    finally:
        zoo.update({"enabled": True})
    again = ask(api, ds.id, "zebra", page_size=10)
    assert [c["id"] for c in again["chunks"]] == [c["id"] for c in before["chunks"]]


def test_unavailable_chunk_is_skipped(env):
    api, ds, farm = env["api"], env["ds"], env["docs"]["farm.txt"]
    got = ask(api, ds.id, "zebra crossing farm gate", document_ids=[farm.id], page_size=FARM)
    assert got["total"] == FARM
    target = got["chunks"][0]["id"]
    (chunk,) = farm.list_chunks(id=target)
    chunk.update({"available": False})
    try:
        got2 = ask(api, ds.id, "zebra crossing farm gate", document_ids=[farm.id], page_size=FARM)
        assert got2["total"] == FARM - 1
        assert target not in [c["id"] for c in got2["chunks"]]
    finally:
        chunk.update({"available": True})


@pytest.mark.parametrize("extra", [
    {"page": 10**9, "page_size": 30},
    {"page": 2, "page_size": 10**9},
    {"top_k": 10**12},
    {"page": 10**15, "page_size": 10**15, "top_k": 10**15},
])
def test_huge_paging_numbers_are_harmless(env, extra):
    got = ask(env["api"], env["ds"].id, "solar lantern", **extra)
    assert isinstance(got["chunks"], list)
    if extra.get("page", 1) > 1:
        assert got["chunks"] == [] and got["total"] == 0


def test_dify_huge_top_k(env):
    res = env["api"].post("/dify/retrieval", json={
        "knowledge_id": env["ds"].id, "query": "zebra",
        "retrieval_setting": {"top_k": 10**12, "score_threshold": 0.5}})
    assert res.status_code == 200, res.text
    records = res.json()["records"]
    assert records and all(r["score"] >= 0.5 for r in records)
