"""v0.27's `POST /datasets/{id}/embedding/check` over raw HTTP: a sample of the dataset's
chunks embedded again with a candidate model and compared with the stored vectors. The same
model agrees with itself (code 0); an unrelated model of the same length answers code 10
(NOT_EFFECTIVE) with the figures; another length is an `Embedding failure`. The candidate
models come from the fake OpenAI-compatible server's `/embeddings` (hashed vectors).
"""

from __future__ import annotations

import pytest

from conftest import Api, create_tenant, run_cli
from test_v027_document_bulk_http import err, new_dataset, ok, upload, wait_run

BUILTIN = "all-MiniLM-L6-v2@Builtin"


@pytest.fixture(scope="module")
def tenant_api(deployment, fake_llm_server, base_url):
    _, url = fake_llm_server
    tenant = create_tenant(deployment.server.data_dir, "embedding-check")
    deployment.cleanup_keys.append(tenant.api_key)
    run_cli(deployment.server.data_dir, "provider", "set", "--tenant", tenant.id, "--factory", "OpenAI-API-Compatible",
            "--base-url", url, "--api-key", "x", "--model", "noise-384:embedding", "--model", "noise-8:embedding")
    return Api(base_url, tenant.api_key)


@pytest.fixture
def parsed_ds(tenant_api):
    api = tenant_api
    ds = new_dataset(api)
    docs = upload(api, ds["id"], "one.txt", "two.txt", "three.txt")
    ok(api.post(f"/datasets/{ds['id']}/documents/parse", json={"document_ids": [d["id"] for d in docs]}))
    for d in docs:
        wait_run(api, ds["id"], d["id"], "DONE")
    return ds


def url(ds) -> str:
    return f"/datasets/{ds['id']}/embedding/check"


def test_the_same_model_agrees(tenant_api, parsed_ds):
    got = ok(tenant_api.post(url(parsed_ds), json={"embd_id": BUILTIN, "check_num": 2}))
    s = got["summary"]
    assert s["kb_id"] == parsed_ds["id"] and s["model"] == BUILTIN
    assert s["sampled"] == 2 and s["valid"] == 2
    assert s["avg_cos_sim"] >= 0.9 and s["min_cos_sim"] <= s["avg_cos_sim"] <= s["max_cos_sim"]
    assert s["match_mode"] in ("content_only", "title+content")
    for r in got["results"]:
        assert set(r) == {"chunk_id", "doc_id", "doc_name", "vector_field", "vector_dim", "cos_sim"}
        assert r["vector_field"] == "q_384_vec" and r["vector_dim"] == 384
    # The default sample is 5, drawn from the 3 chunks there are.
    assert ok(tenant_api.post(url(parsed_ds), json={"embd_id": BUILTIN}))["summary"]["sampled"] == 3


def test_another_space_is_not_effective(tenant_api, parsed_ds):
    res = tenant_api.post(url(parsed_ds), json={"embd_id": "noise-384@OpenAI-API-Compatible"}).json()
    assert res["code"] == 10
    assert res["message"] == (
        "Embedding model switch failed: the average similarity between old and new vectors is below 0.9, "
        "indicating incompatible vector spaces."
    )
    assert res["data"]["summary"]["valid"] == 3 and res["data"]["summary"]["avg_cos_sim"] < 0.9


def test_errors(tenant_api, parsed_ds, api):
    assert err(tenant_api.post(url(parsed_ds), json={"embd_id": "noise-8@OpenAI-API-Compatible"})) == (
        102,
        "Embedding failure. The dimension (8) of given embedding model is different from the original (384)",
    )
    assert err(tenant_api.post(url(parsed_ds), json={})) == (102, "`embd_id` is required.")
    assert err(tenant_api.post(url(parsed_ds), json={"embd_id": ""})) == (102, "`embd_id` is required.")
    assert err(tenant_api.post(url(parsed_ds), json={"embd_id": "nope@Nowhere"})) == (102, "Unsupported model: <nope@Nowhere>")
    empty = new_dataset(tenant_api)
    assert err(tenant_api.post(url(empty), json={"embd_id": BUILTIN})) == (102, "No embedded chunks are available to compare.")
    # Another tenant's dataset.
    assert err(api.post(url(parsed_ds), json={"embd_id": BUILTIN})) == (102, "no authorization")
