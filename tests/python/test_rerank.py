"""Rerank models in retrieval (R1 `rerank_id`) and in chats (`rerank_model`).

A local fake rerank server (fake_rerank.py, Jina/Cohere `/rerank` shape) scores a document by
the fraction of the question's words it contains. With a rerank model, that score replaces
the vector similarity in the fusion and is reported as `vector_similarity`:
similarity = (1 − w)·term_similarity + w·rerank_score (upstream's `rerank_by_model`).
"""

from __future__ import annotations

import pytest
from ragflow_sdk import RAGFlow

import fake_rerank
from conftest import free_port, make_chat_env, run_cli

QUESTION = "How often should solar panels be cleaned?"
TOL = 1e-4


@pytest.fixture(scope="module")
def rerank_server():
    server, url = fake_rerank.start()
    yield server, url
    server.shutdown()


@pytest.fixture(scope="module")
def env(deployment, rerank_server):
    _, url = rerank_server
    env = make_chat_env(deployment, "rerank-tenant")
    run_cli(deployment.server.data_dir, "provider", "set", "--tenant", env.tenant.id, "--factory",
            "OpenAI-API-Compatible", "--base-url", url, "--model", "fake-rerank:rerank")
    closed = f"http://127.0.0.1:{free_port()}/v1"
    run_cli(deployment.server.data_dir, "provider", "set", "--tenant", env.tenant.id, "--factory", "VLLM",
            "--base-url", closed, "--model", "down-rerank:rerank")
    return env


def ask(env, **kw) -> dict:
    body = {"dataset_ids": [env.dataset_id], "question": QUESTION, "similarity_threshold": 0, **kw}
    return env.api.post("/retrieval", json=body).json()


@pytest.mark.parametrize("rerank_id", ["fake-rerank@OpenAI-API-Compatible", "fake-rerank"])
def test_rerank_score_replaces_the_vector_side(env, rerank_server, rerank_id):
    server, _ = rerank_server
    before = len(server.requests)
    res = ask(env, rerank_id=rerank_id, vector_similarity_weight=0.4)
    assert res["code"] == 0, res
    chunks = res["data"]["chunks"]
    assert chunks
    assert len(server.requests) == before + 1, "one rerank call for the window"
    req = server.requests[-1]
    assert req["model"] == "fake-rerank" and req["query"] == QUESTION
    assert sorted(req["documents"]) == sorted(c["content"] for c in chunks), "the window is what was reranked"
    for c in chunks:
        expected = fake_rerank.score(QUESTION, c["content"])
        assert c["vector_similarity"] == pytest.approx(expected, abs=TOL)
        assert c["similarity"] == pytest.approx(0.6 * c["term_similarity"] + 0.4 * expected, abs=TOL)
    sims = [c["similarity"] for c in chunks]
    assert sims == sorted(sims, reverse=True)


def test_rerank_through_the_sdk(env, rerank_server):
    server, _ = rerank_server
    rc = RAGFlow(api_key=env.tenant.api_key, base_url=env.api.base_url)
    before = len(server.requests)
    chunks = rc.retrieve(dataset_ids=[env.dataset_id], question=QUESTION, rerank_id="fake-rerank", similarity_threshold=0.0)
    assert chunks and len(server.requests) == before + 1
    assert chunks[0].vector_similarity == pytest.approx(fake_rerank.score(QUESTION, chunks[0].content), abs=TOL)


def test_threshold_applies_after_rerank(env):
    res = ask(env, rerank_id="fake-rerank", vector_similarity_weight=1.0, similarity_threshold=0.5)
    assert res["code"] == 0, res
    for c in res["data"]["chunks"]:
        assert c["similarity"] >= 0.5 - TOL
        assert c["vector_similarity"] == pytest.approx(c["similarity"], abs=TOL)
    assert res["data"]["total"] == len(res["data"]["chunks"])


def test_unknown_rerank_model_is_a_clear_error(env):
    res = ask(env, rerank_id="no-such-reranker")
    assert res["code"] == 102, res
    assert "no-such-reranker" in res["message"]


def test_rerank_provider_down_is_a_clear_error(env):
    res = ask(env, rerank_id="down-rerank@VLLM")
    assert res["code"] == 102, res
    assert "down-rerank" in res["message"]


def test_no_rerank_call_without_rerank_id(env, rerank_server):
    server, _ = rerank_server
    before = len(server.requests)
    for rid in (None, ""):
        res = ask(env, rerank_id=rid)
        assert res["code"] == 0, res
    assert len(server.requests) == before


def test_chat_rerank_model_reranks_its_retrieval(env, rerank_server):
    server, _ = rerank_server
    res = env.api.post("/chats", json={"name": "reranked", "dataset_ids": [env.dataset_id],
                                        "prompt": {"rerank_model": "fake-rerank", "similarity_threshold": 0.0}}).json()
    assert res["code"] == 0, res
    chat_id = res["data"]["id"]
    assert res["data"]["prompt"]["rerank_model"] == "fake-rerank"
    try:
        sess = env.api.post(f"/chats/{chat_id}/sessions", json={"name": "s"}).json()
        assert sess["code"] == 0, sess
        before = len(server.requests)
        out = env.api.post(f"/chats/{chat_id}/completions",
                           json={"question": QUESTION, "session_id": sess["data"]["id"], "stream": False}).json()
        assert out["code"] == 0, out
        assert len(server.requests) == before + 1, "the chat's retrieval called the reranker"
        assert server.requests[-1]["query"] == QUESTION
        ref = out["data"]["reference"]
        assert ref["chunks"], ref
        for c in ref["chunks"]:
            assert c["vector_similarity"] == pytest.approx(fake_rerank.score(QUESTION, c["content"]), abs=TOL)
    finally:
        env.api.delete("/chats", json={"ids": [chat_id]})


# ---------------------------------------------------------------------------------------
# R1 `keyword: true`: keywords from the tenant's default chat model are appended to the
# question (upstream's keyword_extraction). The fake LLM echoes its prompt, so the appended
# text is predictable and reaches the search.
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keyword_env(deployment, fake_llm_server):
    _, url = fake_llm_server
    env = make_chat_env(deployment, "keyword-tenant")
    env.data_dir = deployment.server.data_dir
    run_cli(deployment.server.data_dir, "provider", "set", "--tenant", env.tenant.id, "--factory",
            "OpenAI-API-Compatible", "--base-url", url, "--api-key", "x", "--model", "echo-model:chat")
    return env


def test_keyword_uses_the_default_chat_model(keyword_env, fake_llm_server):
    env = keyword_env
    server, _ = fake_llm_server
    plain = ask(env, keyword=False)
    # With the built-in default chat model, keyword extraction adds nothing.
    builtin = ask(env, keyword=True)
    assert builtin["code"] == 0, builtin
    assert [c["id"] for c in builtin["data"]["chunks"]] == [c["id"] for c in plain["data"]["chunks"]]
    run_cli(env.data_dir, "defaults", "--tenant", env.tenant.id, "--chat", "echo-model@OpenAI-API-Compatible")
    before = len(server.requests)
    res = ask(env, keyword=True)
    assert res["code"] == 0, res
    assert len(server.requests) == before + 1, "one keyword-extraction call"
    req = server.requests[-1]
    assert req["messages"][0]["role"] == "system" and "keywords" in req["messages"][0]["content"]
    assert req["messages"][-1] == {"role": "user", "content": QUESTION}
    # The echoed text ("ECHO: …") was appended to the question: the search embedded a
    # different text, so the same chunk's cosine moved.
    cos = {c["id"]: c["vector_similarity"] for c in plain["data"]["chunks"]}
    moved = [abs(c["vector_similarity"] - cos[c["id"]]) for c in res["data"]["chunks"] if c["id"] in cos]
    assert moved and max(moved) > 1e-3


def test_cross_languages_translate_with_the_default_chat_model(keyword_env, fake_llm_server):
    env = keyword_env
    server, _ = fake_llm_server
    run_cli(env.data_dir, "defaults", "--tenant", env.tenant.id, "--chat", "echo-model@OpenAI-API-Compatible")
    plain = ask(env)
    before = len(server.requests)
    res = ask(env, cross_languages=["German", "French"])
    assert res["code"] == 0, res
    assert len(server.requests) == before + 1, "one translation call"
    req = server.requests[-1]
    assert "German, French" in req["messages"][0]["content"]
    assert req["messages"][-1] == {"role": "user", "content": QUESTION}
    cos = {c["id"]: c["vector_similarity"] for c in plain["data"]["chunks"]}
    moved = [abs(c["vector_similarity"] - cos[c["id"]]) for c in res["data"]["chunks"] if c["id"] in cos]
    assert moved and max(moved) > 1e-3, "the translated text was searched too"
    # Both: translation first, then keywords of the combined text (two calls).
    before = len(server.requests)
    assert ask(env, cross_languages=["German"], keyword=True)["code"] == 0
    assert len(server.requests) == before + 2
    assert server.requests[-1]["messages"][-1]["content"].startswith(QUESTION + "\n")
    # Empty or non-list values translate nothing.
    before = len(server.requests)
    for v in ([], None, "German"):
        assert ask(env, cross_languages=v)["code"] == 0
    assert len(server.requests) == before
