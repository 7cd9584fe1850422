"""GraphRAG (D5–D8: GET/DELETE `knowledge_graph`, `run_graphrag`, `trace_graphrag`) over raw
HTTP: the contract's errors; a run traced until done; the graph and mind map built from the
documents; retrieval, chats and Dify with `use_kg` putting the graph's chunk first; a re-run
replacing the graph; DELETE emptying it. Once with the built-in extractor (the tenant's chat
model is the built-in answerer) and once with the local stand-in LLM as the chat model.

ragflow-sdk (0.23.1 and 0.26.0) has no knowledge-graph methods, so everything here is HTTP.
"""

from __future__ import annotations

import time

from conftest import Api, make_chat_env, run_cli
from helpers import run_dataset_task

GRAPH_DOCS = {
    "curie.txt": (
        "Marie Curie worked with Pierre Curie in Paris on radioactivity. "
        "The Nobel Prize in Physics went to Marie Curie and Pierre Curie in 1903. "
        "Marie Curie later won the Nobel Prize in Chemistry alone."
    ),
    "sorbonne.txt": (
        "Pierre Curie taught physics at the Sorbonne. "
        "The Sorbonne is a university in Paris with a long history of research."
    ),
}
GRAPH_CHUNK = "Related content in Knowledge Graph"
QUESTION = "Where did Pierre Curie teach, and who did he work with?"


def trace(api: Api, ds: str) -> dict:
    return api.get(f"/datasets/{ds}/trace_graphrag").json()


def run_until_done(api: Api, ds: str) -> dict:
    return run_dataset_task(api, ds, "graphrag")


def graph_of(api: Api, ds: str, path: str = "knowledge_graph") -> dict:
    res = api.get(f"/datasets/{ds}/{path}").json()
    assert res["code"] == 0, res
    return res["data"]


def retrieve(api: Api, ds: str, **extra) -> list[dict]:
    res = api.post("/retrieval", json={"dataset_ids": [ds], "question": QUESTION, "similarity_threshold": 0,
                                       **extra}).json()
    assert res["code"] == 0, res
    return res["data"]["chunks"]


def check_graph_and_use_kg(api: Api, ds: str, ds_name: str, doc_ids) -> dict:
    done = run_until_done(api, ds)
    kg = graph_of(api, ds)
    g, mind = kg["graph"], kg["mind_map"]
    names = {n["id"] for n in g["nodes"]}
    assert {"MARIE CURIE", "PIERRE CURIE", "SORBONNE"} <= names, names
    ranks = [n["pagerank"] for n in g["nodes"]]
    assert ranks == sorted(ranks, reverse=True)
    assert all(set(n) >= {"id", "entity_type", "description", "source_id", "pagerank"} for n in g["nodes"])
    assert all(set(n["source_id"]) <= set(doc_ids) for n in g["nodes"])
    pierre = next(n for n in g["nodes"] if n["id"] == "PIERRE CURIE")
    assert set(pierre["source_id"]) == set(doc_ids), "named in both documents"
    edges = {(e["source"], e["target"]) for e in g["edges"]}
    assert ("MARIE CURIE", "PIERRE CURIE") in edges, edges
    assert all(e["source"] != e["target"] and e["source"] in names and e["target"] in names for e in g["edges"])
    assert mind["id"] == ds_name
    in_mind = {e["id"] for t in mind["children"] for e in t["children"]}
    assert "PIERRE CURIE" in in_mind or "MARIE CURIE" in in_mind, mind
    # v0.27's name for the same route.
    assert graph_of(api, ds, "graph") == kg

    # use_kg puts the graph's chunk first, without it retrieval is unchanged.
    plain = retrieve(api, ds)
    assert plain and all(c["document_keyword"] != GRAPH_CHUNK for c in plain)
    with_kg = retrieve(api, ds, use_kg=True)
    first = with_kg[0]
    assert first["document_keyword"] == GRAPH_CHUNK, first
    assert first["document_id"] == "" and first["similarity"] == 1.0
    assert "---- Entities ----" in first["content"] and "PIERRE CURIE" in first["content"]
    assert "---- Relations ----" in first["content"]
    assert [c["id"] for c in with_kg[1:]] == [c["id"] for c in plain]
    return done


def check_chat_and_dify_use_kg(api: Api, ds: str):
    chat = api.post("/chats", json={"name": f"kg-chat-{time.time_ns()}", "dataset_ids": [ds],
                                    "prompt": {"similarity_threshold": 0, "use_kg": True}}).json()
    assert chat["code"] == 0, chat
    chat_id = chat["data"]["id"]
    session = api.post(f"/chats/{chat_id}/sessions", json={"name": "kg"}).json()
    assert session["code"] == 0, session
    res = api.post(f"/chats/{chat_id}/completions",
                   json={"question": QUESTION, "stream": False, "session_id": session["data"]["id"]}).json()
    assert res["code"] == 0, res
    assert "chunks" in res["data"]["reference"], res
    chunks = res["data"]["reference"]["chunks"]
    assert chunks[0]["document_name"] == GRAPH_CHUNK, chunks[0]
    assert "PIERRE CURIE" in chunks[0]["content"]

    res = api.post("/dify/retrieval", json={"knowledge_id": ds, "query": QUESTION, "use_kg": True,
                                            "retrieval_setting": {"top_k": 3, "score_threshold": 0}})
    records = res.json()["records"]
    assert records[0]["title"] == GRAPH_CHUNK, records[0]


def check_delete(api: Api, ds: str):
    res = api.delete(f"/datasets/{ds}/knowledge_graph").json()
    assert res == {"code": 0, "data": True}, res
    assert graph_of(api, ds) == {"graph": {}, "mind_map": {}}
    assert all(c["document_keyword"] != GRAPH_CHUNK for c in retrieve(api, ds, use_kg=True))
    # Deleting again is fine; trace still shows the finished run.
    assert api.delete(f"/datasets/{ds}/graph").json() == {"code": 0, "data": True}
    assert trace(api, ds)["data"]["progress"] == 1


def test_errors_before_any_run(deployment, api, other_api_key):
    ds = api.post("/datasets", json={"name": "graph-empty"}).json()["data"]["id"]
    assert trace(api, ds) == {"code": 0, "data": {}}
    assert graph_of(api, ds) == {"graph": {}, "mind_map": {}}
    assert api.delete(f"/datasets/{ds}/knowledge_graph").json() == {"code": 0, "data": True}
    res = api.post(f"/datasets/{ds}/run_graphrag").json()
    assert res["code"] == 102
    assert res["message"] == f"No documents in Dataset {ds}"
    for res in (api.post(f"/datasets/{ds}/run_graphrag", key=other_api_key).json(),
                api.get(f"/datasets/{ds}/trace_graphrag", key=other_api_key).json(),
                api.get(f"/datasets/{ds}/knowledge_graph", key=other_api_key).json(),
                api.delete(f"/datasets/{ds}/knowledge_graph", key=other_api_key).json(),
                api.get(f"/datasets/{ds}/graph", key=other_api_key).json(),
                api.delete(f"/datasets/{ds}/graph", key=other_api_key).json()):
        assert res["code"] == 109, res
        assert res["message"] == "No authorization."


def test_graphrag_with_the_builtin_extractor(deployment):
    env = make_chat_env(deployment, "graph-builtin", docs=GRAPH_DOCS)
    api, ds = env.api, env.dataset_id
    name = api.get("/datasets", params={"id": ds}).json()["data"][0]["name"]
    first = check_graph_and_use_kg(api, ds, name, env.doc_ids.values())
    assert "built-in extractor" in first["progress_msg"]
    assert "Task done" in first["progress_msg"]
    kg = graph_of(api, ds)

    # A re-run replaces the graph (same documents, same graph).
    second = run_until_done(api, ds)
    assert second["id"] != first["id"]
    again = graph_of(api, ds)
    assert {n["id"] for n in again["graph"]["nodes"]} == {n["id"] for n in kg["graph"]["nodes"]}

    check_chat_and_dify_use_kg(api, ds)
    check_delete(api, ds)


def test_graphrag_with_a_provider_model(deployment, fake_llm_server):
    _, url = fake_llm_server
    env = make_chat_env(deployment, "graph-provider", docs=GRAPH_DOCS)
    data_dir = deployment.server.data_dir
    run_cli(data_dir, "provider", "set", "--tenant", env.tenant.id, "--factory", "OpenAI-API-Compatible",
            "--base-url", url, "--api-key", "x", "--model", "echo-model:chat")
    run_cli(data_dir, "defaults", "--tenant", env.tenant.id, "--chat", "echo-model@OpenAI-API-Compatible")
    api, ds = env.api, env.dataset_id
    res = api.put(f"/datasets/{ds}", json={"parser_config": {"graphrag": {
        "use_graphrag": True, "entity_types": ["person", "organization", "geo"], "method": "general",
        "community": True, "resolution": True}}}).json()
    assert res["code"] == 0, res
    name = api.get("/datasets", params={"id": ds}).json()["data"][0]["name"]
    done = check_graph_and_use_kg(api, ds, name, env.doc_ids.values())
    assert "with echo-model@OpenAI-API-Compatible, method general" in done["progress_msg"]
    assert "person, organization, geo" in done["progress_msg"]
    assert "community reports" in done["progress_msg"]
    nodes = graph_of(api, ds)["graph"]["nodes"]
    assert all("stand-in model" in n["description"] for n in nodes), nodes
    assert next(n for n in nodes if n["id"] == "PIERRE CURIE")["entity_type"] == "person"
    first = retrieve(api, ds, use_kg=True)[0]
    assert "---- Community Report ----\n# Stand-in report on" in first["content"], first["content"]
    check_chat_and_dify_use_kg(api, ds)
    check_delete(api, ds)


def test_graphrag_off_in_parser_config_fails_the_task(deployment):
    env = make_chat_env(deployment, "graph-off", docs=GRAPH_DOCS)
    api, ds = env.api, env.dataset_id
    res = api.put(f"/datasets/{ds}", json={"parser_config": {"graphrag": {"use_graphrag": False}}}).json()
    assert res["code"] == 0, res
    res = api.post(f"/datasets/{ds}/run_graphrag").json()
    assert res["code"] == 0, res
    deadline = time.monotonic() + 60
    while (t := trace(api, ds)["data"])["progress"] not in (1, -1):
        assert time.monotonic() < deadline, t
        time.sleep(0.3)
    assert t["progress"] == -1
    assert "use_graphrag" in t["progress_msg"]
    assert graph_of(api, ds) == {"graph": {}, "mind_map": {}}
