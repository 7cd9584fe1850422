"""Memories and messages over raw HTTP (contract M1–M12, endpoints.md §7.11, v027-delta §1.8):
every route, its errors with upstream's codes and texts, the `message: true` success quirk,
the `{memory_id}:{message_id}` paths, FIFO forgetting, hybrid search, and tenant isolation
(which lambdarag checks where upstream does not: docs/divergences.md)."""

from __future__ import annotations

import time

import pytest

EMBD = "all-MiniLM-L6-v2@Builtin"
LLM = "extractive-answerer@Builtin"
NOT_FOUND = lambda mid: {"code": 404, "message": f"Memory '{mid}' not found.", "data": None}  # noqa: E731


@pytest.fixture(autouse=True)
def _clean_memories(api, other_api_key):
    yield
    for key in (api.api_key, other_api_key):
        res = api.get("/memories", key=key, params={"page_size": 1000}).json()
        for m in res["data"]["memory_list"]:
            api.delete(f"/memories/{m['id']}", key=key)


def create(api, name="notes", types=("raw",), key=...):
    res = api.post("/memories", key=key, json={"name": name, "memory_type": list(types), "embd_id": EMBD, "llm_id": LLM}).json()
    assert res["code"] == 0, res
    return res["data"]


def add(api, memory_ids, user="hello", agent="hi there", key=..., **extra):
    body = {"memory_id": memory_ids, "agent_id": "agent-1", "session_id": "sess-1", "user_input": user, "agent_response": agent}
    body.update(extra)
    return api.post("/messages", key=key, json=body).json()


def messages(api, mid, **params):
    res = api.get(f"/memories/{mid}", params=params).json()
    assert res["code"] == 0, res
    assert res["message"] is True
    return res["data"]["messages"]


# --------------------------------------------------------------------------------------------
# Authentication (login_required): HTTP 401
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method,path",
    [
        ("POST", "/memories"), ("GET", "/memories"), ("PUT", "/memories/x"), ("DELETE", "/memories/x"),
        ("GET", "/memories/x"), ("GET", "/memories/x/config"), ("POST", "/messages"), ("GET", "/messages"),
        ("GET", "/messages/search"), ("DELETE", "/messages/x:1"), ("PUT", "/messages/x:1"), ("GET", "/messages/x:1/content"),
    ],
)
@pytest.mark.parametrize("auth", [None, "Bearer ragflow-nope", "Bearer"])
def test_every_route_answers_401_without_a_valid_key(api, method, path, auth):
    headers = {"Authorization": auth} if auth else {}
    res = api.request(method, path, key=None, headers=headers, json={})
    assert res.status_code == 401
    assert res.json() == {"code": 401, "message": "<Unauthorized '401: Unauthorized'>", "data": None}


def test_a_bare_key_without_bearer_is_accepted(api):
    res = api.get("/memories", key=None, headers={"Authorization": api.api_key})
    assert res.json()["code"] == 0


# --------------------------------------------------------------------------------------------
# M1 create
# --------------------------------------------------------------------------------------------


def test_create_returns_the_memory_with_message_true(api, tenant_id):
    res = api.post("/memories", json={"name": "  notes ", "memory_type": ["semantic", "raw"], "embd_id": EMBD, "llm_id": LLM}).json()
    assert res["code"] == 0 and res["message"] is True
    m = res["data"]
    assert m["name"] == "notes"
    assert m["memory_type"] == ["raw", "semantic"]
    assert len(m["id"]) == 32
    assert m["tenant_id"] == tenant_id
    assert (m["storage_type"], m["permissions"], m["memory_size"], m["forgetting_policy"], m["temperature"]) == ("table", "me", 5242880, "FIFO", 0.5)
    assert (m["embd_id"], m["llm_id"], m["owner_name"], m["avatar"], m["description"], m["user_prompt"]) == (EMBD, LLM, None, None, None, None)
    assert "semantic" in m["system_prompt"]
    assert isinstance(m["create_time"], int) and m["create_date"].endswith("GMT")
    assert m["update_time"] == m["create_time"]


def test_duplicate_names_are_renamed(api):
    assert create(api, "dup")["name"] == "dup"
    assert create(api, "DUP")["name"] == "DUP(1)"
    assert create(api, "dup")["name"] == "dup(2)"


@pytest.mark.parametrize(
    "body,code,message",
    [
        ({}, 101, "required argument are missing: name,memory_type,embd_id,llm_id; "),
        ({"name": "n", "memory_type": ["raw"], "embd_id": EMBD, "llm_id": None}, 101, "required argument are missing: llm_id; "),
        ({"name": "   ", "memory_type": ["raw"], "embd_id": EMBD, "llm_id": LLM}, 101, "Memory name cannot be empty or whitespace."),
        ({"name": "a" * 129, "memory_type": ["raw"], "embd_id": EMBD, "llm_id": LLM}, 101, f"Memory name '{'a' * 129}' exceeds limit of 128."),
        ({"name": "n", "memory_type": "raw", "embd_id": EMBD, "llm_id": LLM}, 101, "Memory type must be a list."),
        ({"name": "n", "memory_type": ["raw", "sensory"], "embd_id": EMBD, "llm_id": LLM}, 101, "Memory type '{'sensory'}' is not supported."),
    ],
)
def test_create_errors(api, body, code, message):
    res = api.post("/memories", json=body).json()
    assert (res["code"], res["message"]) == (code, message)


def test_create_with_an_unreadable_body_reports_every_required_name(api):
    res = api.post("/memories", data="{not json", headers={"Content-Type": "application/json"}).json()
    assert res == {"code": 101, "message": "required argument are missing: name,memory_type,embd_id,llm_id; ", "data": None}


def test_a_renamed_duplicate_past_the_limit_is_a_500(api):
    name = "b" * 128
    create(api, name)
    res = api.post("/memories", json={"name": name, "memory_type": ["raw"], "embd_id": EMBD, "llm_id": LLM}).json()
    assert res == {"code": 500, "message": f"Memory name {name}(1) exceeds limit of 128.", "data": None}


# --------------------------------------------------------------------------------------------
# M2 update
# --------------------------------------------------------------------------------------------


def test_update_changes_settings(api):
    m = create(api, "upd", ("raw",))
    body = {"name": "renamed", "permissions": "team", "llm_id": "gpt-4o-mini@OpenAI", "memory_type": ["raw", "episodic"],
            "memory_size": 1024, "temperature": 0.9, "avatar": "a.png", "description": "d", "user_prompt": "be brief"}
    res = api.put(f"/memories/{m['id']}", json=body).json()
    assert res["code"] == 0 and res["message"] is True, res
    u = res["data"]
    for k in ("name", "permissions", "llm_id", "memory_size", "temperature", "avatar", "description", "user_prompt"):
        assert u[k] == body[k], k
    assert u["memory_type"] == ["raw", "episodic"]
    assert "episodic" in u["system_prompt"], "a default prompt follows the new types"
    cfg = api.get(f"/memories/{m['id']}/config").json()["data"]
    assert cfg["name"] == "renamed" and cfg["memory_size"] == 1024


def test_update_with_nothing_changed_returns_the_memory(api):
    m = create(api, "same")
    res = api.put(f"/memories/{m['id']}", json={"name": "same", "temperature": 0.5}).json()
    assert res["code"] == 0 and res["data"]["name"] == "same" and res["data"]["update_time"] == m["update_time"]


def test_rename_onto_a_used_name_is_deduplicated(api):
    create(api, "taken")
    m = create(api, "other")
    assert api.put(f"/memories/{m['id']}", json={"name": "taken"}).json()["data"]["name"] == "taken(1)"


@pytest.mark.parametrize(
    "body,message",
    [
        ({"name": " "}, "Memory name cannot be empty or whitespace."),
        ({"name": "x" * 129}, f"Memory name '{'x' * 129}' exceeds limit of 128."),
        ({"permissions": "all"}, "Unknown permission 'all'."),
        ({"memory_type": ["raw", "dream"]}, "Memory type '{'dream'}' is not supported."),
        ({"memory_size": 10485761}, "Memory size should be in range (0, 10485760] Bytes."),
        ({"memory_size": -1}, "Memory size should be in range (0, 10485760] Bytes."),
        ({"forgetting_policy": "LRU"}, "Forgetting policy 'LRU' is not supported."),
        ({"temperature": 1.5}, "Temperature should be in range [0, 1]."),
        ({"temperature": "hot"}, "Temperature should be in range [0, 1]."),
    ],
)
def test_update_errors(api, body, message):
    m = create(api, "u")
    res = api.put(f"/memories/{m['id']}", json=body).json()
    assert (res["code"], res["message"]) == (101, message)


def test_update_of_a_missing_memory_is_404(api):
    assert api.put("/memories/nope", json={"name": "x"}).json() == NOT_FOUND("nope")


def test_embedding_and_types_are_locked_once_the_memory_has_messages(api):
    m = create(api, "locked")
    assert add(api, [m["id"]])["code"] == 0
    res = api.put(f"/memories/{m['id']}", json={"embd_id": "other@OpenAI", "memory_type": ["semantic"]}).json()
    assert (res["code"], res["message"]) == (101, "Can't update ['embd_id', 'memory_type'] when memory isn't empty.")
    res = api.put(f"/memories/{m['id']}", json={"memory_type": ["semantic"]}).json()
    assert res["message"] == "Can't update ['memory_type'] when memory isn't empty."
    assert api.put(f"/memories/{m['id']}", json={"llm_id": "x@OpenAI"}).json()["code"] == 0


# --------------------------------------------------------------------------------------------
# M3 delete, M4 list, M5 config
# --------------------------------------------------------------------------------------------


def test_delete_and_the_pinned_404_with_message_true(api):
    m = create(api, "gone")
    add(api, [m["id"]])
    assert api.delete(f"/memories/{m['id']}").json() == {"code": 0, "message": True, "data": None}
    assert api.delete(f"/memories/{m['id']}").json() == {"code": 404, "message": True, "data": None}
    assert api.get(f"/memories/{m['id']}/config").json() == NOT_FOUND(m["id"])


def test_list_filters_and_pages(api, tenant_id):
    a = create(api, "Alpha notes", ("raw",))
    b = create(api, "beta", ("raw", "semantic"))
    c = create(api, "gamma notes", ("procedural",))
    res = api.get("/memories").json()
    assert res["code"] == 0 and res["message"] is True
    data = res["data"]
    assert data["total_count"] == 3
    assert [m["id"] for m in data["memory_list"]] == [c["id"], b["id"], a["id"]], "most recently updated first"
    item = data["memory_list"][0]
    assert set(item) == {"id", "name", "avatar", "tenant_id", "owner_name", "memory_type", "storage_type", "permissions", "description", "create_time", "create_date"}
    assert item["owner_name"] == "tenant-a" and item["tenant_id"] == tenant_id

    def ids(**params):
        return [m["id"] for m in api.get("/memories", params=params).json()["data"]["memory_list"]]

    assert ids(memory_type="semantic,procedural") == [c["id"], b["id"]]
    assert ids(memory_type=["raw"]) == [b["id"], a["id"]]
    assert ids(keywords="NOTES") == [c["id"], a["id"]]
    assert ids(storage_type="graph") == []
    assert ids(page=2, page_size=2) == [a["id"]]
    assert ids(tenant_id=tenant_id) == [c["id"], b["id"], a["id"]]
    assert ids(tenant_id="someone-else") == [], "only the caller's own memories are listed"
    # v0.27 filters
    assert ids(ids=f"{a['id']},{c['id']}") == [c["id"], a["id"]]
    assert ids(owner_ids=tenant_id) == [c["id"], b["id"], a["id"]]


def test_list_page_size_defaults_pinned_50_and_v027_30(api):
    for i in range(32):
        create(api, f"m{i}")
    assert len(api.get("/memories").json()["data"]["memory_list"]) == 32, "pinned default page_size 50"
    # A request with a v0.27-only filter gets v0.27's default of 30.
    assert len(api.get("/memories", params={"owner_ids": ""}).json()["data"]["memory_list"]) == 30


def test_list_errors(api):
    res = api.get("/memories", params={"page": "x"}).json()
    assert res == {"code": 500, "message": "invalid literal for int() with base 10: 'x'", "data": None}
    res = api.get("/memories", params={"ids": "a", "page_size": 101}).json()
    assert (res["code"], res["message"]) == (101, "page_size must be less than or equal to 100")
    res = api.get("/memories", params={"ids": ",".join(f"i{n}" for n in range(101))}).json()
    assert (res["code"], res["message"]) == (101, "ids must contain at most 100 IDs")


def test_config_has_the_owner_name_and_no_update_time(api):
    m = create(api, "cfg", ("raw", "episodic"))
    res = api.get(f"/memories/{m['id']}/config").json()
    assert res["code"] == 0 and res["message"] is True
    cfg = res["data"]
    assert cfg["owner_name"] == "tenant-a"
    assert cfg["update_time"] is None and cfg["update_date"] is None
    assert cfg["memory_type"] == ["raw", "episodic"] and cfg["memory_size"] == 5242880
    assert api.get("/memories/nope/config").json() == NOT_FOUND("nope")


# --------------------------------------------------------------------------------------------
# M7 add, M6 list messages
# --------------------------------------------------------------------------------------------


def test_add_stores_embeds_and_lists_messages(api):
    m1, m2 = create(api, "one"), create(api, "two")
    res = add(api, [m1["id"], m2["id"]], user="what is a pineapple", agent="a tropical fruit", user_id="user-7")
    assert res == {"code": 0, "message": "All add to task.", "data": None}
    add(api, [m1["id"]], user="second", agent="turn", agent_id="agent-2", session_id="sess-2")
    data = messages(api, m1["id"])
    assert data["total_count"] == 2
    newest, older = data["message_list"]
    assert newest["agent_id"] == "agent-2" and older["agent_id"] == "agent-1"
    assert set(older) >= {"message_id", "message_type", "source_id", "memory_id", "user_id", "agent_id", "agent_name",
                          "session_id", "valid_at", "invalid_at", "forget_at", "status", "task", "extract"}
    assert (older["message_type"], older["source_id"], older["user_id"], older["status"]) == ("raw", 0, "user-7", True)
    assert older["extract"] == [] and older["forget_at"] is None
    assert older["task"]["progress"] == 1.0, "a raw memory has nothing to extract"
    assert isinstance(older["message_id"], int)
    assert messages(api, m2["id"])["total_count"] == 1
    # filters and pages
    assert messages(api, m1["id"], agent_id="agent-2,other")["total_count"] == 1
    assert messages(api, m1["id"], keywords="sess-1")["total_count"] == 1
    assert [x["agent_id"] for x in messages(api, m1["id"], page=2, page_size=1)["message_list"]] == ["agent-1"]
    res = api.get(f"/memories/{m1['id']}").json()
    assert res["data"]["storage_type"] == "table"
    assert api.get("/memories/nope").json() == NOT_FOUND("nope")
    # content is stored as upstream's raw form, with its vector
    c = api.get(f"/messages/{m1['id']}:{older['message_id']}/content").json()
    assert c["code"] == 0 and c["message"] is True
    assert c["data"]["content"] == "User Input: what is a pineapple\nAgent Response: a tropical fruit"
    assert len(c["data"]["content_embed"]) == 384
    assert c["data"]["id"] == f"{m1['id']}_{older['message_id']}"


def test_add_errors(api):
    res = api.post("/messages", json={"memory_id": ["x"]}).json()
    assert res == {"code": 101, "message": "required argument are missing: agent_id,session_id,user_input,agent_response; ", "data": None}
    m = create(api, "real")
    res = add(api, [m["id"], "nope", "gone"])
    assert res == {"code": 500, "message": "Some messages failed to add. Detail:Memory ['nope', 'gone'] not found.", "data": None}
    assert messages(api, m["id"])["total_count"] == 1, "the known memory still got the message"


def test_an_unknown_embedding_model_fails_that_memory(api):
    res = api.post("/memories", json={"name": "bad-embd", "memory_type": ["raw"], "embd_id": "nope@NoSuchFactory", "llm_id": LLM}).json()
    mid = res["data"]["id"]
    res = add(api, [mid])
    assert res["code"] == 500
    assert res["message"].startswith(f"Some messages failed to add. Detail:Memory {mid} failed. Detail: ")


def test_extraction_with_the_builtin_answerer_ends_with_a_clear_message(api):
    m = create(api, "facts", ("raw", "semantic"))
    assert add(api, [m["id"]], user="I like green tea", agent="Noted.")["code"] == 0
    deadline = time.time() + 60
    while True:
        task = messages(api, m["id"])["message_list"][0]["task"]
        if task.get("progress") == -1.0 or time.time() > deadline:
            break
        time.sleep(0.3)
    assert task["progress"] == -1.0, task
    assert "built-in extractive answerer" in task["progress_msg"] and "cannot extract" in task["progress_msg"]
    assert messages(api, m["id"])["message_list"][0]["extract"] == []
    # the raw message is still stored and searchable
    res = api.get("/messages/search", params={"memory_id": m["id"], "query": "green tea"}).json()
    assert len(res["data"]) == 1


def test_fifo_forgets_the_oldest_messages_past_memory_size(api):
    m = create(api, "small")
    # one message: 34 bytes of text + 384 dims × 8 bytes = 3106 bytes; room for three
    assert api.put(f"/memories/{m['id']}", json={"memory_size": 9400}).json()["code"] == 0
    for i in range(5):
        assert add(api, [m["id"]], user=f"q{i}", agent=f"a{i}")["code"] == 0
    data = messages(api, m["id"], page_size=10)
    assert data["total_count"] == 3
    contents = [api.get(f"/messages/{m['id']}:{x['message_id']}/content").json()["data"]["content"] for x in data["message_list"]]
    assert contents == [f"User Input: q{i}\nAgent Response: a{i}" for i in (4, 3, 2)]


# --------------------------------------------------------------------------------------------
# M8 forget, M9 status, M12 content
# --------------------------------------------------------------------------------------------


def test_forget_and_status(api):
    m = create(api, "states")
    add(api, [m["id"]], user="pineapple one", agent="x")
    add(api, [m["id"]], user="pineapple two", agent="y")
    newest, older = messages(api, m["id"])["message_list"]
    ok = {"code": 0, "message": True, "data": None}
    assert api.delete(f"/messages/{m['id']}:{newest['message_id']}").json() == ok
    assert api.put(f"/messages/{m['id']}:{older['message_id']}", json={"status": False}).json() == ok
    listed = {x["message_id"]: x for x in messages(api, m["id"])["message_list"]}
    assert listed[newest["message_id"]]["forget_at"] is not None, "forgotten messages stay listed"
    assert listed[older["message_id"]]["status"] is False
    search = api.get("/messages/search", params={"memory_id": m["id"], "query": "pineapple"}).json()
    assert search == {"code": 0, "message": True, "data": []}, "neither is searched"
    recent = api.get("/messages", params={"memory_id": m["id"]}).json()["data"]
    assert [x["message_id"] for x in recent] == [older["message_id"]], "forgotten ones are not recalled"
    assert api.put(f"/messages/{m['id']}:{older['message_id']}", json={"status": True}).json() == ok
    assert len(api.get("/messages/search", params={"memory_id": m["id"], "query": "pineapple"}).json()["data"]) == 1


def test_message_route_errors(api):
    m = create(api, "errs")
    mid = m["id"]
    assert api.delete("/messages/nope:1").json() == NOT_FOUND("nope")
    assert api.delete(f"/messages/{mid}:999").json() == {"code": 500, "message": f"Failed to forget message '999' in memory '{mid}'.", "data": None}
    assert api.put(f"/messages/{mid}:1", json={}).json() == {"code": 101, "message": "required argument are missing: status; ", "data": None}
    res = api.put(f"/messages/{mid}:1", json={"status": "yes"}).json()
    assert (res["code"], res["message"]) == (101, "Status must be a boolean.")
    assert api.put("/messages/nope:1", json={"status": True}).json() == NOT_FOUND("nope")
    assert api.put(f"/messages/{mid}:999", json={"status": True}).json() == {
        "code": 500, "message": f"Failed to set status for message '999' in memory '{mid}'.", "data": None}
    assert api.get("/messages/nope:1/content").json() == NOT_FOUND("nope")
    assert api.get(f"/messages/{mid}:999/content").json() == {"code": 404, "message": f"Message '999' in memory '{mid}' not found.", "data": None}
    assert api.get(f"/messages/{mid}:abc/content").json()["code"] == 404


# --------------------------------------------------------------------------------------------
# M10 search, M11 recent
# --------------------------------------------------------------------------------------------


def test_search_is_hybrid_and_filtered(api):
    a, b = create(api, "fruit"), create(api, "baking")
    add(api, [a["id"]], user="what is a pineapple", agent="a tropical fruit with spiky skin")
    add(api, [a["id"]], user="how long do bananas keep", agent="about a week", session_id="sess-9")
    add(api, [b["id"]], user="how do I bake bread", agent="flour, water, yeast and time", user_id="baker")
    res = api.get("/messages/search", params={"memory_id": [a["id"], b["id"]], "query": "pineapple"}).json()
    assert res["code"] == 0 and res["message"] is True
    assert [x["content"].split("\n")[0] for x in res["data"]] == ["User Input: what is a pineapple"]
    hit = res["data"][0]
    assert set(hit) >= {"message_id", "message_type", "memory_id", "agent_id", "session_id", "user_id", "valid_at", "status", "content"}
    both = f"{a['id']},{b['id']}"
    got = api.get("/messages/search", params={"memory_id": both, "query": "bread yeast"}).json()["data"]
    assert got and got[0]["memory_id"] == b["id"]
    assert api.get("/messages/search", params={"memory_id": both, "query": "bread", "user_id": "nobody"}).json()["data"] == []
    assert api.get("/messages/search", params={"memory_id": both, "query": "bananas", "session_id": "sess-9"}).json()["data"][0]["session_id"] == "sess-9"
    # a vector-only search still finds the closest turn; the threshold and top_n cut
    vec = api.get("/messages/search", params={"memory_id": both, "query": "tropical fruit", "keywords_similarity_weight": 0, "similarity_threshold": 0.1, "top_n": 1}).json()["data"]
    assert len(vec) == 1 and "pineapple" in vec[0]["content"]
    assert api.get("/messages/search", params={"memory_id": both, "query": "pineapple", "similarity_threshold": 0.99}).json()["data"] == []
    assert api.get("/messages/search", params={"memory_id": "nope", "query": "pineapple"}).json()["data"] == []


@pytest.mark.parametrize(
    "params,code,message",
    [
        ({}, 101, "memory_id, query can't be empty."),
        ({"memory_id": "m"}, 101, "query can't be empty."),
        ({"memory_id": "m", "query": ""}, 101, "query can't be empty."),
        ({"memory_id": "m", "query": "q", "top_n": 101}, 101, "page_size must be less than or equal to 100"),
        ({"memory_id": "m", "query": "q", "similarity_threshold": "x"}, 100, "ValueError(\"could not convert string to float: 'x'\")"),
    ],
)
def test_search_errors(api, params, code, message):
    res = api.get("/messages/search", params=params).json()
    assert (res["code"], res["message"]) == (code, message)


def test_recent_messages(api):
    m = create(api, "recent")
    for i in range(4):
        add(api, [m["id"]], user=f"q{i}", agent=f"a{i}", session_id="s-even" if i % 2 == 0 else "s-odd")
    res = api.get("/messages", params={"memory_id": m["id"], "limit": 3}).json()
    assert res["code"] == 0 and res["message"] is True
    assert [x["content"].split("\n")[0] for x in res["data"]] == ["User Input: q3", "User Input: q2", "User Input: q1"]
    assert len(api.get("/messages", params={"memory_id": m["id"], "session_id": "s-even"}).json()["data"]) == 2
    assert api.get("/messages", params={"memory_id": m["id"], "agent_id": "someone"}).json()["data"] == []
    res = api.get("/messages").json()
    assert (res["code"], res["message"]) == (101, "memory_ids is required.")
    res = api.get("/messages", params={"memory_id": m["id"], "limit": 101}).json()
    assert (res["code"], res["message"]) == (101, "page_size must be less than or equal to 100")


# --------------------------------------------------------------------------------------------
# Tenant isolation (upstream checks no ownership on M2/M3/M5/M6/M8/M9/M12)
# --------------------------------------------------------------------------------------------


def test_another_tenant_cannot_reach_a_memory(api, other_api_key):
    m = create(api, "private")
    add(api, [m["id"]], user="secret pineapple", agent="kept")
    msg = messages(api, m["id"])["message_list"][0]["message_id"]
    mid, o = m["id"], other_api_key
    assert api.get(f"/memories/{mid}/config", key=o).json() == NOT_FOUND(mid)
    assert api.get(f"/memories/{mid}", key=o).json() == NOT_FOUND(mid)
    assert api.put(f"/memories/{mid}", key=o, json={"name": "mine"}).json() == NOT_FOUND(mid)
    assert api.delete(f"/memories/{mid}", key=o).json() == {"code": 404, "message": True, "data": None}
    assert api.get(f"/messages/{mid}:{msg}/content", key=o).json() == NOT_FOUND(mid)
    assert api.delete(f"/messages/{mid}:{msg}", key=o).json() == NOT_FOUND(mid)
    assert api.put(f"/messages/{mid}:{msg}", key=o, json={"status": False}).json() == NOT_FOUND(mid)
    assert add(api, [mid], key=o)["message"] == f"Some messages failed to add. Detail:Memory ['{mid}'] not found."
    assert api.get("/messages/search", key=o, params={"memory_id": mid, "query": "secret"}).json()["data"] == []
    assert api.get("/messages", key=o, params={"memory_id": mid}).json()["data"] == []
    assert api.get("/memories", key=o).json()["data"]["total_count"] == 0
    # untouched for the owner
    cfg = api.get(f"/memories/{mid}/config").json()["data"]
    assert cfg["name"] == "private"
    listed = messages(api, mid)
    assert listed["total_count"] == 1 and listed["message_list"][0]["status"] is True and listed["message_list"][0]["forget_at"] is None
