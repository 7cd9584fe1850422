"""Dify's external-knowledge API: `POST /api/v1/dify/retrieval` (contract DF1), driven like Dify does.

Contract: shared/reference/endpoints.md §1.1 (`build_error_result`: HTTP status = code), §1.3
(`validate_request`), §3 (Dify auth), §6.5 (metadata_condition), §7.8 (DF1); filter semantics:
docs/divergences.md. Replies are bare `{"records": [...]}` (no envelope); the vector weight is
fixed at 0.3 and `top_k` is also the page size.
"""

from __future__ import annotations

import copy

import pytest
import requests

from helpers import METADATA_FILTER_CASES, RETRIEVAL_DOCS, RETRIEVAL_META, unique_name

TOL = 1e-4


@pytest.fixture(scope="module")
def ds(retrieval_corpus):
    return retrieval_corpus["dataset"]


@pytest.fixture(scope="module")
def docs(retrieval_corpus):
    return retrieval_corpus["docs"]


@pytest.fixture
def dify(base_url, retrieval_tenant):
    """`dify(body, key=...)` → requests.Response, Dify's way: `Authorization: Bearer <key>`."""

    def _post(body, key: str | None = None, **kw) -> requests.Response:
        return requests.post(
            f"{base_url}/api/v1/dify/retrieval",
            json=body,
            headers={"Authorization": f"Bearer {key or retrieval_tenant.api_key}"},
            timeout=30,
            **kw,
        )

    return _post


def records(dify, body) -> list[dict]:
    res = dify(body)
    assert res.status_code == 200, res.text
    out = res.json()
    assert set(out) == {"records"}, out
    return out["records"]


def dify_condition(condition: dict) -> dict:
    """A RAGFlow-vocabulary condition in Dify's shape: `logical_operator`, names as lists."""
    c = copy.deepcopy(condition)
    if "logic" in c:
        c["logical_operator"] = c.pop("logic")
    for cond in c["conditions"]:
        if isinstance(cond["name"], str):
            cond["name"] = [cond["name"]]
    return c


def check_records(recs: list[dict], top_k: int, threshold: float):
    assert len(recs) <= top_k
    for r in recs:
        assert set(r) == {"content", "score", "title", "metadata"}, r
        assert isinstance(r["content"], str) and r["content"]
        assert isinstance(r["score"], float)
        assert r["score"] >= threshold - 1e-6
        assert isinstance(r["metadata"], dict)
    scores = [r["score"] for r in recs]
    assert scores == sorted(scores, reverse=True)


def test_records(dify, ds, docs):
    body = {
        "knowledge_id": ds.id,
        "query": "battery backup power lithium cells",
        "retrieval_setting": {"top_k": 3, "score_threshold": 0.1},
        "metadata_condition": {
            "logical_operator": "and",
            "conditions": [{"name": ["author"], "comparison_operator": "contains", "value": "alice"}],
        },
    }
    recs = records(dify, body)
    assert len(recs) == 3
    check_records(recs, 3, 0.1)
    assert {r["title"] for r in recs} <= {"battery.txt", "cleaning.txt"}
    assert recs[0]["title"] == "battery.txt"
    for r in recs:
        name = r["title"]
        assert r["content"] in RETRIEVAL_DOCS[name]
        meta = r["metadata"]
        assert meta["document_id"] == docs[name].id
        assert meta["doc_id"] == docs[name].id
        for k, v in RETRIEVAL_META[name].items():
            assert meta[k] == v, (name, k)


def test_document_without_meta_fields(dify, docs, ds):
    recs = records(dify, {"knowledge_id": ds.id, "query": "tax credit loan lease payback", "retrieval_setting": {"top_k": 1}})
    assert len(recs) == 1
    assert recs[0]["title"] == "financing.txt"
    assert recs[0]["metadata"]["document_id"] == docs["financing.txt"].id


def test_scores_are_retrieval_similarities(dify, api, ds, retrieval_tenant):
    """Same question through R1 with weight 0.3 and the same threshold: same chunks, same scores."""
    q = "warranty claims for a damaged panel"
    recs = records(dify, {"knowledge_id": ds.id, "query": q, "retrieval_setting": {"top_k": 50, "score_threshold": 0.05}})
    r1 = api.post(
        "/retrieval",
        key=retrieval_tenant.api_key,
        json={"dataset_ids": [ds.id], "question": q, "similarity_threshold": 0.05, "vector_similarity_weight": 0.3, "page_size": 50},
    ).json()
    assert r1["code"] == 0, r1
    assert [(r["content"], r["title"]) for r in recs] == [(c["content"], c["document_keyword"]) for c in r1["data"]["chunks"]]
    for r, c in zip(recs, r1["data"]["chunks"]):
        assert r["score"] == pytest.approx(c["similarity"], abs=TOL)
    assert recs[0]["title"] == "warranty.txt"


@pytest.mark.parametrize("top_k", [1, 2, 5])
def test_top_k_bounds_records(dify, ds, top_k):
    recs = records(dify, {"knowledge_id": ds.id, "query": "solar panels home energy", "retrieval_setting": {"top_k": top_k, "score_threshold": 0}})
    assert len(recs) == top_k
    check_records(recs, top_k, 0)


def test_defaults_without_retrieval_setting(dify, ds):
    # score_threshold 0.0, top_k 1024: every chunk of the dataset.
    recs = records(dify, {"knowledge_id": ds.id, "query": "solar panels home energy"})
    assert len(recs) == sum(len(p) for p in RETRIEVAL_DOCS.values())
    check_records(recs, 1024, 0.0)


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.6])
def test_score_threshold(dify, ds, threshold):
    body = {"knowledge_id": ds.id, "query": "inverter error code grid fault", "retrieval_setting": {"top_k": 50, "score_threshold": threshold}}
    recs = records(dify, body)
    assert recs
    check_records(recs, 50, threshold)
    everything = records(dify, {**body, "retrieval_setting": {"top_k": 50, "score_threshold": 0}})
    assert [r["content"] for r in recs] == [r["content"] for r in everything if r["score"] >= threshold]
    if threshold > 0:
        assert len(recs) < len(everything)


def test_threshold_above_every_score(dify, ds):
    assert records(dify, {"knowledge_id": ds.id, "query": "inverter", "retrieval_setting": {"top_k": 5, "score_threshold": 1.01}}) == []


@pytest.mark.parametrize("case_id, condition, expected", METADATA_FILTER_CASES, ids=[c[0] for c in METADATA_FILTER_CASES])
def test_metadata_condition(dify, ds, case_id, condition, expected):
    recs = records(
        dify,
        {
            "knowledge_id": ds.id,
            "query": "solar panels home energy",
            "retrieval_setting": {"top_k": 100, "score_threshold": 0},
            "metadata_condition": dify_condition(condition),
        },
    )
    assert {r["title"] for r in recs} == expected
    assert len(recs) == sum(len(RETRIEVAL_DOCS[n]) for n in expected)
    for r in recs:
        for k, v in RETRIEVAL_META[r["title"]].items():
            assert r["metadata"][k] == v


def test_metadata_condition_null_or_without_conditions(dify, ds):
    base = {"knowledge_id": ds.id, "query": "solar panels home energy", "retrieval_setting": {"top_k": 100}}
    n = sum(len(p) for p in RETRIEVAL_DOCS.values())
    assert len(records(dify, {**base, "metadata_condition": None})) == n
    assert len(records(dify, {**base, "metadata_condition": {"logical_operator": "and", "conditions": []}})) == n


def test_use_kg_accepted(dify, ds):
    recs = records(dify, {"knowledge_id": ds.id, "query": "tax credit loan", "use_kg": True, "retrieval_setting": {"top_k": 2}})
    assert recs and recs[0]["title"] == "financing.txt"


def test_second_dataset(dify, retrieval_corpus):
    ds2 = retrieval_corpus["dataset2"]
    doc = retrieval_corpus["docs2"]["solar_maintenance.txt"]
    recs = records(dify, {"knowledge_id": ds2.id, "query": "pressure washer", "retrieval_setting": {"top_k": 3, "score_threshold": 0.1}})
    assert recs
    check_records(recs, 3, 0.1)
    assert {r["title"] for r in recs} == {"solar_maintenance.txt"}
    assert "pressure washer" in recs[0]["content"]
    assert all(r["metadata"]["document_id"] == doc.id for r in recs)


# ------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["ragflow-not-a-key", "x" * 51])
def test_invalid_api_key(dify, ds, key):
    res = dify({"knowledge_id": ds.id, "query": "battery"}, key=key)
    assert res.status_code == 403
    assert res.json() == {"code": 403, "message": "API-KEY is invalid!"}


@pytest.mark.parametrize(
    "body, missing",
    [
        ({}, "knowledge_id,query"),
        ({"retrieval_setting": {"top_k": 3}}, "knowledge_id,query"),
        ({"knowledge_id": None, "query": None}, "knowledge_id,query"),
        ({"query": "battery"}, "knowledge_id"),
        ({"knowledge_id": "KB"}, "query"),
        ({"knowledge_id": "KB", "query": None}, "query"),
    ],
    ids=["empty", "only-setting", "nulls", "no-knowledge_id", "no-query", "null-query"],
)
def test_missing_arguments(dify, ds, body, missing):
    body = {k: (ds.id if v == "KB" else v) for k, v in body.items()}
    res = dify(body)
    assert res.status_code == 200
    assert res.json() == {"code": 101, "message": f"required argument are missing: {missing}; ", "data": None}


def test_unknown_knowledge_base(dify):
    res = dify({"knowledge_id": "0" * 32, "query": "battery"})
    assert res.status_code == 404
    assert res.json() == {"code": 404, "message": "Knowledgebase not found!"}


def test_other_tenants_knowledge_base(dify, other_client):
    theirs = other_client.create_dataset(name=unique_name("theirs"))
    res = dify({"knowledge_id": theirs.id, "query": "battery"})
    assert res.status_code == 404
    assert res.json() == {"code": 404, "message": "Knowledgebase not found!"}


def test_other_tenant_key_on_own_knowledge_base(dify, ds, other_api_key):
    res = dify({"knowledge_id": ds.id, "query": "battery"}, key=other_api_key)
    assert res.status_code == 404
    assert res.json() == {"code": 404, "message": "Knowledgebase not found!"}


def test_authorization_header_shapes(base_url, ds, retrieval_tenant):
    """§3: the key is the header's second word (scheme unchecked); a missing header or a single
    word leaks upstream's Python exceptions (code 100, HTTP 200)."""
    url = f"{base_url}/api/v1/dify/retrieval"
    body = {"knowledge_id": ds.id, "query": "battery", "retrieval_setting": {"top_k": 1}}
    res = requests.post(url, json=body, timeout=30)
    assert res.status_code == 200
    assert res.json() == {"code": 100, "message": "AttributeError(\"'NoneType' object has no attribute 'split'\")", "data": None}
    for value in (retrieval_tenant.api_key, "Bearer"):
        res = requests.post(url, json=body, headers={"Authorization": value}, timeout=30)
        assert res.status_code == 200
        assert res.json() == {"code": 100, "message": "IndexError('list index out of range')", "data": None}
    res = requests.post(url, json=body, headers={"Authorization": f"Token {retrieval_tenant.api_key}"}, timeout=30)
    assert res.status_code == 200
    assert len(res.json()["records"]) == 1


@pytest.mark.parametrize(
    "condition, message",
    [
        ("not an object", "metadata_condition must be an object."),
        ({"conditions": [1]}, "Each condition requires name and comparison_operator."),
        ({"logic": "or", "conditions": [{"name": "x"}]}, "Each condition requires name and comparison_operator."),
    ],
    ids=["not-object", "not-object-condition", "no-operator"],
)
def test_malformed_metadata_condition_is_a_bad_request(dify, ds, condition, message):
    """Found by tests/fuzz: a malformed condition is the caller's error (HTTP 400), not a 500."""
    res = dify({"knowledge_id": ds.id, "query": "battery", "metadata_condition": condition})
    assert res.status_code == 400, res.text
    assert res.json() == {"code": 400, "message": message}


# ---------------------------------------------------------------------------------------
# v0.27: the GET form (the same request from the query string) and the health probe
# ---------------------------------------------------------------------------------------


def dify_get(base_url, key, **params) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return requests.get(f"{base_url}/api/v1/dify/retrieval", params=params, headers=headers, timeout=30)


def test_get_answers_like_post(dify, base_url, retrieval_tenant, ds):
    question = RETRIEVAL_DOCS["battery.txt"][0]
    body = {"knowledge_id": ds.id, "query": question, "retrieval_setting": {"top_k": 3, "score_threshold": 0.1}}
    posted = records(dify, body)
    res = dify_get(base_url, retrieval_tenant.api_key, knowledge_id=ds.id, query=question, top_k=3, score_threshold=0.1)
    assert res.status_code == 200, res.text
    assert res.json() == {"records": posted}
    assert posted, "the question is a document's opening: something is found"


def test_get_errors(base_url, retrieval_tenant, other_api_key, ds):
    key = retrieval_tenant.api_key
    res = dify_get(base_url, key, knowledge_id=ds.id)
    assert (res.status_code, res.json()) == (200, {"code": 101, "message": "required argument are missing: query; ", "data": None})
    res = dify_get(base_url, key, knowledge_id=ds.id, query="q", top_k="many")
    assert res.status_code == 400
    assert res.json()["code"] == 101 and res.json()["message"].startswith("invalid or malformed arguments: top_k")
    # Another tenant's dataset is unknown to the caller.
    res = dify_get(base_url, other_api_key, knowledge_id=ds.id, query="q")
    assert (res.status_code, res.json()["message"]) == (404, "Knowledgebase not found!")
    res = dify_get(base_url, "not-a-key", knowledge_id=ds.id, query="q")
    assert res.status_code == 403


def test_health_needs_no_key(base_url):
    res = requests.get(f"{base_url}/api/v1/dify/retrieval/health", timeout=10)
    assert (res.status_code, res.json()) == (200, {"code": 0, "message": "success", "data": True})


# ---------------------------------------------------------------------------------------
# v0.27: POST /retrieval with `reference_metadata` (or the older include_metadata +
# metadata_fields) puts each chunk's document metadata under `document_metadata`
# ---------------------------------------------------------------------------------------


def retrieve(base_url, key, **body) -> dict:
    res = requests.post(f"{base_url}/api/v1/retrieval", json=body, headers={"Authorization": f"Bearer {key}"},
                        timeout=30).json()
    return res


def test_retrieval_reference_metadata(base_url, retrieval_tenant, ds, docs):
    key = retrieval_tenant.api_key
    question = RETRIEVAL_DOCS["battery.txt"][0]
    base = {"dataset_ids": [ds.id], "question": question}
    plain = retrieve(base_url, key, **base)["data"]["chunks"]
    assert plain and all("document_metadata" not in c for c in plain)
    names = {d.id: name for name, d in docs.items()}
    for extra, keys in [({"reference_metadata": {"include": True}}, None),
                        ({"reference_metadata": {"include": True, "fields": ["author", "year"]}}, ["author", "year"]),
                        ({"include_metadata": True, "metadata_fields": ["region"]}, ["region"])]:
        chunks = retrieve(base_url, key, **base, **extra)["data"]["chunks"]
        assert chunks
        for c in chunks:
            meta = RETRIEVAL_META[names[c["document_id"]]]
            want = meta if keys is None else {k: meta[k] for k in keys}
            assert c["document_metadata"] == want
    assert retrieve(base_url, key, **base, reference_metadata=[1]) == {
        "code": 102, "message": "reference_metadata must be an object."}
