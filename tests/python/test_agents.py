"""Agents (contract 7.9, 8.3, 8.4; v0.27 delta §1.7): canvas CRUD, sessions, completions
streamed and not, the OpenAI-compatible agent route, through raw HTTP, ragflow-sdk (`Agent`,
`Session.ask`) and the `openai` client, on the built-in answerer and the local fake LLM.

On the AWS deployment streamed completions go to the agents Function URL (API Gateway
buffers); everything else through the API front.
"""

from __future__ import annotations

import json
import uuid

import pytest
import requests
from openai import OpenAI

import agent_dsls
from conftest import Api
from helpers import SDK_026

QUESTION = "What does the Zephyrine coating reflect?"


def frames(resp: requests.Response) -> list:
    assert resp.status_code == 200, resp.text[:300]
    assert resp.headers["content-type"].startswith("text/event-stream"), resp.text[:300]
    out = []
    for line in resp.iter_lines(decode_unicode=True):
        if not line:
            continue
        assert line.startswith("data:"), line
        payload = line[len("data:"):].strip()
        out.append(payload if payload == "[DONE]" else json.loads(payload))
    return out


def create_agent(api: Api, dsl: dict, title: str | None = None) -> str:
    title = title or f"agent-{uuid.uuid4().hex[:8]}"
    res = api.post("/agents", json={"title": title, "dsl": dsl}).json()
    assert res == {"code": 0, "message": "success", "data": True}, res
    listed = api.get("/agents", params={"title": title}).json()
    assert listed["code"] == 0 and len(listed["data"]) == 1, listed
    return listed["data"][0]["id"]


@pytest.fixture()
def agents(chat_env):
    """Agents created by a test, deleted after it."""
    made: list[str] = []
    yield made
    for aid in made:
        chat_env.api.delete(f"/agents/{aid}")


def new_agent(env, made: list, dsl: dict) -> str:
    aid = create_agent(env.api, dsl)
    made.append(aid)
    return aid


def complete(api: Api, base: str, agent_id: str, **body) -> requests.Response:
    return requests.post(f"{base}/api/v1/agents/{agent_id}/completions", json=body,
                         headers={"Authorization": f"Bearer {api.api_key}"}, stream=True, timeout=120)


# ---------------------------------------------------------------------------------------
# CRUD (A1–A4, v0.27 GET /agents/{id})
# ---------------------------------------------------------------------------------------

def test_create_list_update_delete_follow_the_pinned_contract(chat_env, agents):
    api = chat_env.api
    dsl = agent_dsls.retrieval_llm_message(chat_env.dataset_id)
    title = f"crud-{uuid.uuid4().hex[:6]}"
    aid = create_agent(api, dsl, title)
    agents.append(aid)
    dup = api.post("/agents", json={"title": title, "dsl": dsl}).json()
    assert dup == {"code": 102, "message": f"Agent with title {title} already exists."}
    assert api.post("/agents", json={"title": "x"}).json() == {
        "code": 101, "message": "No DSL data in request.", "data": False}
    assert api.post("/agents", json={"dsl": dsl}).json() == {
        "code": 101, "message": "No title in request.", "data": False}
    row = api.get("/agents", params={"id": aid}).json()["data"][0]
    for key in ("id", "avatar", "user_id", "title", "permission", "description", "canvas_type",
                "canvas_category", "dsl", "create_time", "create_date", "update_time", "update_date"):
        assert key in row, key
    assert row["canvas_category"] == "agent_canvas" and row["dsl"]["components"].keys() == dsl["components"].keys()
    assert api.get("/agents", params={"title": "no such agent"}).json() == {
        "code": 102, "message": "The agent doesn't exist."}
    upd = api.put(f"/agents/{aid}", json={"title": title + "-2", "description": "d", "dsl": dsl}).json()
    assert upd == {"code": 0, "message": "success", "data": True}, upd
    got = api.get(f"/agents/{aid}").json()
    assert got["code"] == 0 and got["data"]["title"] == title + "-2" and got["data"]["description"] == "d"
    # Upstream's quirk: a dsl without a title is applied, then KeyError('title').
    quirk = api.put(f"/agents/{aid}", json={"dsl": dsl}).json()
    assert quirk["code"] == 100 and quirk["message"] == "KeyError('title')", quirk
    assert api.delete(f"/agents/{aid}").json() == {"code": 0, "message": "success", "data": True}
    assert api.delete(f"/agents/{aid}").json() == {
        "code": 103, "message": "Only owner of canvas authorized for this operation.", "data": False}


def test_v027_list_filters(chat_env, agents, deployment):
    from conftest import v027_key_for

    api = chat_env.api
    v027 = Api(deployment.server.base_url, v027_key_for(deployment.server.data_dir, chat_env.tenant))
    dsl = agent_dsls.retrieval_llm_message(chat_env.dataset_id)
    plain = create_agent(api, dsl, f"plain-{uuid.uuid4().hex[:6]}")
    agents.append(plain)
    typed = api.post("/agents", json={"title": f"typed-{uuid.uuid4().hex[:6]}", "dsl": dsl, "canvas_type": "chatbot"})
    assert typed.json()["code"] == 0, typed.json()
    typed_id = next(a["id"] for a in api.get("/agents", params={"page_size": 100}).json()["data"]
                    if a["canvas_type"] == "chatbot")
    agents.append(typed_id)
    api.put(f"/agents/{plain}", json={"title": "plain-renamed-" + plain[:6], "dsl": dsl})

    def listed(**params):
        body = v027.get("/agents", params={"page_size": 100, **params}).json()
        assert body["code"] == 0 and body["message"] == "success", body
        ids = [c["id"] for c in body["data"]["canvas"] if c["id"] in (plain, typed_id)]
        return ids, body["data"]["canvas"]

    # No category, type or tag filter: every item says `type: agent`, newest update first.
    ids, rows = listed()
    assert ids == [plain, typed_id] and all(r["type"] == "agent" for r in rows)
    ids, rows = listed(orderby="create_time", desc="false")
    assert ids == [typed_id, plain], "the merged list orders by update_time whatever orderby says"
    ids, rows = listed(canvas_type="chatbot")
    assert ids == [typed_id] and all("type" not in r for r in rows)
    assert listed(canvas_category="agent_canvas")[0] == [typed_id, plain]  # create_time, newest first
    assert listed(canvas_category="dataflow_canvas,other")[0] == []
    assert listed(tags="red")[0] == []
    assert listed(owner_ids=chat_env.tenant.id)[0] == [plain, typed_id]
    refused = {"code": 103, "message": "Only authorized owner_ids can be queried.", "data": False}
    assert v027.get("/agents", params={"owner_ids": f"{chat_env.tenant.id},{uuid.uuid4().hex}"}).json() == refused
    too_many = ",".join(uuid.uuid4().hex for _ in range(101))
    assert v027.get("/agents", params={"owner_ids": too_many}).json()["message"] == "owner_ids must contain at most 100 IDs"
    # The pinned list is unchanged: a bare list, no `type`.
    pinned = api.get("/agents", params={"page_size": 100}).json()["data"]
    assert isinstance(pinned, list) and all("type" not in r for r in pinned)
    # `type=filter`: owners and categories with counts, before any other key is read.
    for client in (v027, api):
        facet = client.get("/agents", params={"type": "filter", "owner_ids": uuid.uuid4().hex, "page": "x"}).json()
        assert facet["code"] == 0 and facet["message"] == "success", facet
        total = len(pinned)
        assert facet["data"]["total"] == total >= 2
        [owner] = facet["data"]["filter"]["owner"]
        assert owner["id"] == chat_env.tenant.id and owner["count"] == total and owner["label"]
        assert facet["data"]["filter"]["canvas_category"] == [{"id": "agent_canvas", "label": "agent_canvas", "count": total}]
    # Another tenant sees only its own (none here).
    from conftest import create_tenant

    fresh = create_tenant(deployment.server.data_dir, f"no-agents-{uuid.uuid4().hex[:6]}")
    other = Api(deployment.server.base_url, fresh.api_key)
    assert other.get("/agents", params={"type": "filter"}).json()["data"] == {
        "filter": {"owner": [], "canvas_category": []}, "total": 0}


def test_a_component_we_do_not_run_is_refused_by_name(chat_env):
    res = chat_env.api.post("/agents", json={"title": "web", "dsl": agent_dsls.with_web_search()}).json()
    assert res["code"] == 101 and res["data"] is False, res
    assert "TavilySearch" in res["message"], res
    assert chat_env.api.get("/agents", params={"title": "web"}).json()["code"] == 102


def test_dsl_as_json_text_is_accepted(chat_env, agents):
    dsl = json.dumps(agent_dsls.switch_flow())
    title = f"text-{uuid.uuid4().hex[:6]}"
    assert chat_env.api.post("/agents", json={"title": title, "dsl": dsl}).json()["code"] == 0
    agents.append(chat_env.api.get("/agents", params={"title": title}).json()["data"][0]["id"])


# ---------------------------------------------------------------------------------------
# Sessions and completions (A5–A8, 8.4)
# ---------------------------------------------------------------------------------------

def test_retrieval_llm_message_streams_events_with_references(chat_env, agents, stream_urls):
    aid = new_agent(chat_env, agents, agent_dsls.retrieval_llm_message(chat_env.dataset_id))
    sess = chat_env.api.post(f"/agents/{aid}/sessions").json()
    assert sess["code"] == 0, sess
    assert sess["data"]["message"] == [{"role": "assistant", "content": agent_dsls.PROLOGUE}]
    sid = sess["data"]["id"]
    got = frames(complete(chat_env.api, stream_urls["agents"], aid, question=QUESTION, session_id=sid,
                          return_trace=True))
    assert got[-1] == "[DONE]"
    events = [f["event"] for f in got[:-1]]
    assert set(events) <= {"message", "message_end", "node_finished"}, events
    assert "message" in events and "message_end" in events
    text = "".join(f["data"]["content"] for f in got[:-1] if f["event"] == "message")
    assert "Zephyrine" in text, text
    end = next(f for f in got[:-1] if f["event"] == "message_end")
    chunks = end["data"]["reference"]["chunks"]
    assert chunks and all(c["document_name"] for c in chunks.values()), end
    assert "doc_aggs" in end["data"]["reference"]
    nodes = [f for f in got[:-1] if f["event"] == "node_finished"]
    assert [n["data"]["component_id"] for n in nodes][:2] == ["begin", "Retrieval:Docs"], nodes
    for f in got[:-1]:
        assert f["session_id"] == sid and f["message_id"] and f["task_id"]
    assert len(nodes[-1]["data"]["trace"]) == len(nodes), "the trace accumulates with return_trace"
    # The turn is stored on the session, with the answer's chunks.
    listed = chat_env.api.get(f"/agents/{aid}/sessions", params={"id": sid}).json()["data"][0]
    assert [m["role"] for m in listed["messages"]] == ["assistant", "user", "assistant"]
    assert "Zephyrine" in listed["messages"][2]["content"] and listed["messages"][2]["reference"]
    assert listed["round"] == 1 and listed["source"] == "agent" and "dsl" in listed
    assert "dsl" not in chat_env.api.get(f"/agents/{aid}/sessions", params={"dsl": "false"}).json()["data"][0]


def test_non_stream_completion_returns_the_final_event(chat_env, agents):
    aid = new_agent(chat_env, agents, agent_dsls.retrieval_llm_message(chat_env.dataset_id))
    res = chat_env.api.post(f"/agents/{aid}/completions", json={"question": QUESTION, "stream": False},
                            timeout=120).json()
    assert res["code"] == 0, res
    assert "Zephyrine" in res["data"]["data"]["content"]
    assert res["data"]["data"]["reference"]["chunks"]
    assert res["data"]["session_id"], "no session_id: a new session was opened"
    sessions = chat_env.api.get(f"/agents/{aid}/sessions").json()["data"]
    assert [s["id"] for s in sessions] == [res["data"]["session_id"]]


def test_llm_component_uses_the_tenants_provider(provider_chat_env):
    env = provider_chat_env
    aid = create_agent(env.api, agent_dsls.retrieval_llm_message(env.dataset_id, "echo-model@OpenAI-API-Compatible"))
    try:
        res = env.api.post(f"/agents/{aid}/completions", json={"question": QUESTION, "stream": False},
                           timeout=120).json()
        assert res["code"] == 0, res
        # The fake LLM echoes its prompt: the retrieved passage was in it.
        assert "Zephyrine" in res["data"]["data"]["content"], res
    finally:
        env.api.delete(f"/agents/{aid}")


def test_agent_tool_loop_with_a_provider_model(provider_chat_env, fake_llm_server):
    """A model that asks for the retrieval tool, gets the results back, then answers."""
    env = provider_chat_env
    server, _ = fake_llm_server
    aid = create_agent(env.api, agent_dsls.agent_with_retrieval_tool(env.dataset_id, "echo-tool@OpenAI-API-Compatible"))
    try:
        before = len(server.requests)
        res = env.api.post(f"/agents/{aid}/completions",
                           json={"question": QUESTION, "stream": False, "return_trace": True}, timeout=120).json()
        assert res["code"] == 0, res
        agent_node = next(t for t in res["data"]["data"]["trace"] if t["component_id"] == "Agent:Helper")
        used = agent_node["trace"][0]["outputs"]["use_tools"]
        assert [u["name"] for u in used] == ["search_kb"] and used[0]["arguments"]["query"] == QUESTION, used
        # Round 1 asked for the tool; round 2 saw its results (the echo shows them) and answered.
        asked = [r for r in server.requests[before:] if r.get("model") == "echo-tool"]
        assert len(asked) == 2, asked
        assert "Zephyrine" in res["data"]["data"]["content"], res
        assert res["data"]["data"]["reference"]["chunks"], res
    finally:
        env.api.delete(f"/agents/{aid}")


@pytest.mark.parametrize("question,expected", [
    ("How do honey bees dance to show flowers?", "Routed to bees"),
    ("How do solar panels turn sunlight into electricity?", "Routed to solar"),
])
def test_categorize_routes_by_the_question(chat_env, agents, question, expected):
    aid = new_agent(chat_env, agents, agent_dsls.categorize_flow())
    res = chat_env.api.post(f"/agents/{aid}/completions", json={"question": question, "stream": False}).json()
    assert res["code"] == 0 and res["data"]["data"]["content"].startswith(expected), res


@pytest.mark.parametrize("question,expected", [("this is urgent", "URGENT path"), ("hello", "normal path")])
def test_switch_routes_by_condition(chat_env, agents, question, expected):
    aid = new_agent(chat_env, agents, agent_dsls.switch_flow())
    res = chat_env.api.post(f"/agents/{aid}/completions", json={"question": question, "stream": False}).json()
    assert res["code"] == 0 and res["data"]["data"]["content"] == expected, res


def test_agent_with_the_retrieval_tool_answers_from_the_dataset(chat_env, agents):
    aid = new_agent(chat_env, agents, agent_dsls.agent_with_retrieval_tool(chat_env.dataset_id))
    res = chat_env.api.post(f"/agents/{aid}/completions",
                            json={"question": QUESTION, "stream": False, "return_trace": True}).json()
    assert res["code"] == 0, res
    assert "Zephyrine" in res["data"]["data"]["content"], res
    agent_trace = [t for t in res["data"]["data"]["trace"] if t["component_id"] == "Agent:Helper"]
    assert agent_trace and agent_trace[0]["trace"][0]["outputs"]["use_tools"], res


def test_iteration_collects_each_items_output(chat_env, agents):
    aid = new_agent(chat_env, agents, agent_dsls.iteration_flow())
    res = chat_env.api.post(f"/agents/{aid}/completions", json={
        "question": "go", "stream": False, "inputs": {"topics": {"type": "line", "value": "alpha,beta"}}}).json()
    assert res["code"] == 0, res
    content = res["data"]["data"]["content"]
    # Messages inside the loop speak per item; the one after it sees the collected list.
    assert content.endswith('Collected: ["topic 0: alpha","topic 1: beta"]'), content


def test_missing_session_and_agent_are_engine_assertions(chat_env, agents):
    aid = new_agent(chat_env, agents, agent_dsls.switch_flow())
    res = chat_env.api.post(f"/agents/{aid}/completions",
                            json={"question": "x", "stream": False, "session_id": "nope"}).json()
    assert res == {"code": 100, "message": "AssertionError('Session not found!')", "data": None}
    res = chat_env.api.post("/agents/nope/completions", json={"question": "x", "stream": False}).json()
    assert res == {"code": 100, "message": "AssertionError('Agent not found.')", "data": None}


def test_delete_sessions_pinned_rules(chat_env, agents):
    api = chat_env.api
    aid = new_agent(chat_env, agents, agent_dsls.switch_flow())
    assert api.delete(f"/agents/{aid}/sessions", json={"ids": ["x"]}).json() == {
        "code": 102, "message": f"Agent {aid} has no sessions"}
    ids = [api.post(f"/agents/{aid}/sessions").json()["data"]["id"] for _ in range(3)]
    res = api.delete(f"/agents/{aid}/sessions", json={"ids": [ids[0], "missing"]}).json()
    assert res == {"code": 0, "data": {"success_count": 1, "errors": ["The agent doesn't own the session missing"]}}
    # v0.27's rule when delete_all is present: no ids and delete_all false deletes nothing.
    assert api.delete(f"/agents/{aid}/sessions", json={"ids": None, "delete_all": False}).json() == {"code": 0}
    assert len(api.get(f"/agents/{aid}/sessions").json()["data"]) == 2
    assert api.delete(f"/agents/{aid}/sessions", json={}).json() == {"code": 0}
    assert api.get(f"/agents/{aid}/sessions").json() == {"code": 0, "data": []}


# ---------------------------------------------------------------------------------------
# ragflow-sdk: Agent, Session.ask
# ---------------------------------------------------------------------------------------

def test_sdk_agent_lifecycle_and_ask(chat_env):
    client = chat_env.client
    title = f"sdk-{uuid.uuid4().hex[:6]}"
    client.create_agent(title, agent_dsls.retrieval_llm_message(chat_env.dataset_id), description="via sdk")
    agent = next(a for a in client.list_agents(page_size=100) if a.title == title)
    try:
        assert agent.description == "via sdk" and agent.dsl
        if SDK_026:
            assert client.get_agent(agent.id).title == title
        client.update_agent(agent.id, title=title + "-b", description="renamed")
        session = agent.create_session()
        answer = list(session.ask(QUESTION, stream=False))[-1]
        assert "Zephyrine" in answer.content, answer.content
        if SDK_026:
            # 0.26 reads `message` events only; 0.23.1 stops at node_finished frames, which
            # upstream also sends (contract 8.4), so its stream cannot be read there.
            pieces = [m.content for m in session.ask(QUESTION, stream=True)]
            assert "Zephyrine" in "".join(pieces), pieces
        listed = agent.list_sessions()
        assert [s.id for s in listed] == [session.id]
        agent.delete_sessions(ids=[session.id])
        assert agent.list_sessions() == []
    finally:
        client.delete_agent(agent.id)
    assert all(a.id != agent.id for a in client.list_agents(page_size=100))


# ---------------------------------------------------------------------------------------
# OpenAI-compatible agent route (8.3) and v0.27's unified route
# ---------------------------------------------------------------------------------------

def test_openai_client_on_agents_openai(chat_env, agents, stream_urls, base_url):
    aid = new_agent(chat_env, agents, agent_dsls.retrieval_llm_message(chat_env.dataset_id))
    oa = OpenAI(api_key=chat_env.api.api_key, base_url=f"{base_url}/api/v1/agents_openai/{aid}")
    done = oa.chat.completions.create(model="model", messages=[{"role": "user", "content": QUESTION}])
    assert "Zephyrine" in done.choices[0].message.content and done.model == aid
    oa_stream = OpenAI(api_key=chat_env.api.api_key, base_url=f"{stream_urls['agents']}/api/v1/agents_openai/{aid}")
    text = "".join(c.choices[0].delta.content or "" for c in oa_stream.chat.completions.create(
        model="model", messages=[{"role": "user", "content": QUESTION}], stream=True))
    assert "Zephyrine" in text, text


def test_openai_route_checks(chat_env, agents):
    api = chat_env.api
    aid = new_agent(chat_env, agents, agent_dsls.switch_flow())
    assert api.post(f"/agents_openai/{aid}/chat/completions", json={"model": "m"}).json() == {
        "code": 101, "message": "required argument are missing: messages; ", "data": None}
    assert api.post(f"/agents_openai/{aid}/chat/completions", json={"model": "m", "messages": []}).json() == {
        "code": 102, "message": "You must provide at least one message."}
    res = api.post(f"/agents_openai/{aid}/chat/completions",
                   json={"model": "m", "messages": [{"role": "system", "content": "x"}]}).json()
    assert res["choices"][0]["message"]["content"] == "No valid messages found (user or assistant)."


def test_v027_unified_completion(chat_env, agents, stream_urls):
    api = chat_env.api
    aid = new_agent(chat_env, agents, agent_dsls.switch_flow())
    assert api.post("/agents/chat/completions", json={"query": "x"}).json() == {
        "code": 101, "message": "`agent_id` is required.", "data": False}
    res = api.post("/agents/chat/completions", json={"agent_id": aid, "query": "urgent!"}).json()
    assert res["code"] == 0 and res["data"]["data"]["content"] == "URGENT path", res
    oa = api.post("/agents/chat/completions", json={"agent_id": aid, "query": "hi", "openai-compatible": True,
                                                    "messages": [{"role": "user", "content": "hi"}]}).json()
    assert oa["object"] == "chat.completion" and oa["choices"][0]["message"]["content"] == "normal path", oa
    got = frames(requests.post(f"{stream_urls['agents']}/api/v1/agents/chat/completions",
                               json={"agent_id": aid, "query": "urgent", "stream": True},
                               headers={"Authorization": f"Bearer {api.api_key}"}, stream=True, timeout=60))
    assert got[-1] == "[DONE]"
    assert "".join(f["data"]["content"] for f in got[:-1] if f["event"] == "message") == "URGENT path"


# ---------------------------------------------------------------------------------------
# Tenant isolation: another tenant's agent ids are refused everywhere
# ---------------------------------------------------------------------------------------

def test_another_tenants_agent_is_refused_everywhere(chat_env, agents, api):
    aid = new_agent(chat_env, agents, agent_dsls.switch_flow())
    sid = chat_env.api.post(f"/agents/{aid}/sessions").json()["data"]["id"]
    other = api  # tenant A of the suite, not the chat tenant
    assert other.get("/agents", params={"id": aid}).json()["code"] == 102
    assert other.get(f"/agents/{aid}").json()["code"] == 102
    assert other.put(f"/agents/{aid}", json={"title": "stolen"}).json()["code"] == 103
    assert other.delete(f"/agents/{aid}").json()["code"] == 103
    assert other.post(f"/agents/{aid}/sessions").json() == {"code": 102, "message": "Agent not found."}
    assert other.get(f"/agents/{aid}/sessions").json()["code"] == 102
    assert other.delete(f"/agents/{aid}/sessions", json={"ids": [sid]}).json()["code"] == 102
    assert other.get(f"/agents/{aid}/sessions/{sid}").json()["code"] == 103
    assert other.delete(f"/agents/{aid}/sessions/{sid}").json()["code"] == 103
    assert other.post(f"/agents/{aid}/completions", json={"question": "x", "stream": False}).json()["code"] == 100
    assert other.post("/agents/chat/completions", json={"agent_id": aid, "query": "x"}).json()["code"] == 102
    assert other.post(f"/agents_openai/{aid}/chat/completions",
                      json={"model": "m", "messages": [{"role": "user", "content": "x"}]}).json() == {
        "code": 102, "message": f"You don't own the agent {aid}"}
    # Nothing changed for the owner.
    row = chat_env.api.get(f"/agents/{aid}").json()["data"]
    assert row["title"] != "stolen"
    assert [s["id"] for s in chat_env.api.get(f"/agents/{aid}/sessions").json()["data"]] == [sid]
