"""RAPTOR (D9 `run_raptor`, D10 `trace_raptor`) over raw HTTP: the contract's errors, a run
traced until done, retrieval finding the summary for a question spanning two documents,
and a second run replacing the first one's summaries. Once with the built-in answerer
(extractive summaries) and once with the local fake LLM as the tenant's chat model.

ragflow-sdk 0.23.1 has no RAPTOR methods, so everything here is HTTP.
"""

from __future__ import annotations


import pytest

from conftest import Api, make_chat_env, run_cli
from helpers import run_dataset_task

QUESTION = "How do solar panels work and how do honey bees find flowers?"


def trace(api: Api, ds: str) -> dict:
    return api.get(f"/datasets/{ds}/trace_raptor").json()


def run_until_done(api: Api, ds: str) -> dict:
    return run_dataset_task(api, ds, "raptor")


def all_chunks(api: Api, ds: str, doc_ids) -> dict:
    out = {}
    for d in doc_ids:
        res = api.get(f"/datasets/{ds}/documents/{d}/chunks", params={"page_size": 1000}).json()
        assert res["code"] == 0, res
        out.update({c["id"]: c for c in res["data"]["chunks"]})
    return out


def check_run_and_replace(api: Api, ds: str, doc_ids) -> tuple[dict, dict]:
    before = all_chunks(api, ds, doc_ids)
    first = run_until_done(api, ds)
    first_ids = set(first["chunk_ids"].split())
    assert first_ids, first
    after = all_chunks(api, ds, doc_ids)
    assert first_ids <= set(after)
    assert len(after) == len(before) + len(first_ids)

    res = api.post("/retrieval", json={"dataset_ids": [ds], "question": QUESTION, "similarity_threshold": 0}).json()
    assert res["code"] == 0, res
    found = {c["id"] for c in res["data"]["chunks"]}
    assert found & first_ids, f"no RAPTOR chunk retrieved: {res['data']['chunks']}"

    second = run_until_done(api, ds)
    assert second["id"] != first["id"]
    second_ids = set(second["chunk_ids"].split())
    now = all_chunks(api, ds, doc_ids)
    assert len(now) == len(after), "a second run replaces the summaries, it does not add to them"
    assert second_ids <= set(now)
    assert not (first_ids & set(now)), "the first run's summaries are gone"
    return second, now


def test_errors_before_any_run(deployment, api, other_api_key):
    ds = api.post("/datasets", json={"name": "raptor-empty"}).json()["data"]["id"]
    assert trace(api, ds) == {"code": 0, "data": {}}
    res = api.post(f"/datasets/{ds}/run_raptor").json()
    assert res["code"] == 102
    assert res["message"] == f"No documents in Dataset {ds}"
    for res in (api.post(f"/datasets/{ds}/run_raptor", key=other_api_key).json(),
                api.get(f"/datasets/{ds}/trace_raptor", key=other_api_key).json()):
        assert res["code"] == 109, res
        assert res["message"] == "No authorization."


def test_raptor_with_the_builtin_answerer(deployment):
    env = make_chat_env(deployment, "raptor-builtin")
    api, ds = env.api, env.dataset_id
    done, _ = check_run_and_replace(api, ds, env.doc_ids.values())
    assert "extractive" in done["progress_msg"]
    assert "Task done" in done["progress_msg"]


def test_raptor_with_a_provider_model(deployment, fake_llm_server):
    _, url = fake_llm_server
    env = make_chat_env(deployment, "raptor-provider")
    data_dir = deployment.server.data_dir
    run_cli(data_dir, "provider", "set", "--tenant", env.tenant.id, "--factory", "OpenAI-API-Compatible",
            "--base-url", url, "--api-key", "x", "--model", "echo-model:chat")
    run_cli(data_dir, "defaults", "--tenant", env.tenant.id, "--chat", "echo-model@OpenAI-API-Compatible")
    api, ds = env.api, env.dataset_id
    done, chunks = check_run_and_replace(api, ds, env.doc_ids.values())
    assert "Summarising with echo-model@OpenAI-API-Compatible" in done["progress_msg"]
    summary = chunks[done["chunk_ids"].split()[0]]["content"]
    # The fake model echoes its prompt: upstream's RAPTOR prompt around both documents.
    assert "Please summarize the following paragraphs" in summary
    assert "waggle dance" in summary and "Zephyrine" in summary
