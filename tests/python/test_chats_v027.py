"""Chats and sessions for ragflow-sdk 0.26.0 (RAGFlow v0.27) beside the pinned 0.23.1 contract.

Raw HTTP tests run with either client installed; the `Sdk026` tests run only when the venv
has ragflow-sdk 0.26 (VENV=<a 0.26 venv> tests/python/run.sh ...). GET /chats answers per
API key: a key set to generation `v027` (CLI `key generation`) gets `{"chats", "total"}`.
"""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import version

import pytest
import requests

from conftest import Api

SDK_VERSION = version("ragflow-sdk")
NO_AUTH = {"code": 109, "message": "no authorization", "data": False}


@pytest.fixture(autouse=True)
def _clean_chats(request):
    yield
    if "chat_env" in request.fixturenames:
        env = request.getfixturevalue("chat_env")
        env.api.delete("/chats", json={"ids": None})


@pytest.fixture(scope="session")
def v027_key(chat_env, lambdarag_cli) -> str:
    """A second key of the chat tenant, set to the v0.27 client generation."""
    key = lambdarag_cli("key", "create", "--tenant", chat_env.tenant.id).stdout.strip()
    key_id = hashlib.sha256(key.encode()).hexdigest()[:16]
    out = lambdarag_cli("key", "generation", key_id, "--generation", "v027", "--tenant", chat_env.tenant.id).stdout
    assert out.strip() == f"{key_id}\tgeneration=v027"
    return key


@pytest.fixture
def chat(chat_env):
    return chat_env.api.post("/chats", json={"name": "v027", "dataset_ids": [chat_env.dataset_id]}).json()["data"]


def sse(resp: requests.Response) -> list:
    out = []
    for line in resp.iter_lines(decode_unicode=True):
        if line:
            assert line.startswith("data:"), line
            payload = line[len("data:"):].strip()
            out.append(payload if payload == "[DONE]" else json.loads(payload))
    return out


# ---------------------------------------------------------------------------------------
# Chat vocabulary (C5) and the union reply
# ---------------------------------------------------------------------------------------


class TestVocabulary:
    def test_v027_keys_map_onto_the_pinned_chat(self, chat_env):
        body = {
            "name": "new-words", "icon": "data:image/png;base64,AA==", "dataset_ids": [chat_env.dataset_id],
            "llm_id": "extractive-answerer@Builtin", "llm_setting": {"temperature": 0.9},
            "prompt_config": {"system": "Only {knowledge}", "prologue": "Hello"},
            "similarity_threshold": 0.3, "vector_similarity_weight": 0.4, "top_n": 4, "top_k": 512, "rerank_id": "",
        }
        res = chat_env.api.post("/chats", json=body).json()
        assert res["code"] == 0, res
        d = res["data"]
        # v0.27 fields as sent
        assert d["icon"] == body["icon"] and d["llm_id"] == body["llm_id"]
        assert d["llm_setting"] == {"temperature": 0.9}
        assert d["prompt_config"]["system"] == "Only {knowledge}" and d["prompt_config"]["prologue"] == "Hello"
        assert (d["similarity_threshold"], d["vector_similarity_weight"], d["top_n"], d["top_k"]) == (0.3, 0.4, 4, 512)
        # ...and the same chat in the pinned vocabulary
        assert d["avatar"] == body["icon"]
        assert d["llm"]["model_name"] == body["llm_id"] and d["llm"]["temperature"] == 0.9
        assert d["prompt"]["prompt"] == "Only {knowledge}" and d["prompt"]["opener"] == "Hello"
        assert d["prompt"]["keywords_similarity_weight"] == pytest.approx(0.6)
        assert d["prompt"]["top_n"] == 4

    def test_both_vocabularies_pinned_wins(self, chat_env):
        d = chat_env.api.post("/chats", json={
            "name": "both", "avatar": "A", "icon": "I",
            "llm_setting": {"temperature": 0.9, "top_p": 0.5}, "llm": {"temperature": 0.2},
            "prompt_config": {"system": "v027 {knowledge}", "prologue": "from v027"},
            "prompt": {"prompt": "pinned {knowledge}"},
        }).json()["data"]
        assert d["icon"] == "A" == d["avatar"]
        assert d["llm_setting"] == {"temperature": 0.2, "top_p": 0.5}
        assert d["prompt_config"]["system"] == "pinned {knowledge}"
        assert d["prompt_config"]["prologue"] == "from v027"

    @pytest.mark.parametrize("body, message", [
        ({"llm_id": "nope@Nowhere"}, "`llm_id` nope@Nowhere doesn't exist"),
        ({"llm_id": 5}, "`llm_id` must be a string"),
        ({"prompt_config": "x"}, "`prompt_config` should be an object."),
        ({"llm_setting": [1]}, "`llm_setting` should be an object."),
    ])
    def test_v027_key_errors(self, chat_env, body, message):
        res = chat_env.api.post("/chats", json={"name": "bad", **body}).json()
        assert res == {"code": 102, "message": message}

    def test_put_accepts_v027_keys(self, chat_env, chat):
        res = chat_env.api.put(f"/chats/{chat['id']}", json={
            "dataset_ids": [chat_env.dataset_id], "icon": "I", "llm_setting": {"max_tokens": 64}, "top_n": 3,
        }).json()
        assert res == {"code": 0}
        got = chat_env.api.get(f"/chats/{chat['id']}").json()["data"]
        assert got["icon"] == "I" and got["top_n"] == 3
        assert got["llm_setting"]["max_tokens"] == 64 and got["llm_setting"]["temperature"] == 0.1, "PUT merges (pinned)"


# ---------------------------------------------------------------------------------------
# GET / PATCH / DELETE /chats/{chat_id}
# ---------------------------------------------------------------------------------------


class TestOneChat:
    def test_get(self, chat_env, chat):
        res = chat_env.api.get(f"/chats/{chat['id']}").json()
        assert res["code"] == 0 and res["message"] == "success"
        d = res["data"]
        assert d["id"] == chat["id"] and d["dataset_ids"] == [chat_env.dataset_id]
        assert d["datasets"][0]["id"] == chat_env.dataset_id and "prompt" in d and "prompt_config" in d

    def test_other_tenant_and_unknown_are_refused(self, chat_env, chat, other_api_key):
        for key in (other_api_key, chat_env.tenant.api_key):
            cid = chat["id"] if key == other_api_key else "0" * 32
            assert chat_env.api.get(f"/chats/{cid}", key=key).json() == NO_AUTH
            assert chat_env.api.request("PATCH", f"/chats/{cid}", key=key, json={"name": "x"}).json() == NO_AUTH
            assert chat_env.api.delete(f"/chats/{cid}", key=key).json() == NO_AUTH
        assert chat_env.api.get(f"/chats/{chat['id']}").json()["data"]["name"] == "v027", "still there"

    def test_patch_merges_and_keeps_datasets(self, chat_env, chat):
        res = chat_env.api.request("PATCH", f"/chats/{chat['id']}", json={
            "name": "patched", "llm_setting": {"temperature": 0.7}, "prompt_config": {"prologue": "Yo"}, "unknown": 1,
        }).json()
        assert res["code"] == 0, res
        d = res["data"]
        assert d["name"] == "patched" and d["dataset_ids"] == [chat_env.dataset_id], "datasets untouched"
        assert d["llm_setting"]["temperature"] == 0.7 and d["llm_setting"]["top_p"] == 0.3, "merged"
        assert d["prompt_config"]["prologue"] == "Yo" and "{knowledge}" in d["prompt_config"]["system"]

    def test_patch_errors(self, chat_env, chat):
        chat_env.api.post("/chats", json={"name": "taken"})
        patch = lambda body: chat_env.api.request("PATCH", f"/chats/{chat['id']}", json=body).json()
        assert patch({"name": ""}) == {"code": 102, "message": "`name` cannot be empty."}
        assert patch({"name": "TAKEN"}) == {"code": 102, "message": "Duplicated chat name in updating chat."}
        assert patch({"dataset_ids": ["f" * 32]}) == {"code": 102, "message": f"You don't own the dataset {'f' * 32}"}

    def test_delete_one(self, chat_env, chat):
        assert chat_env.api.delete(f"/chats/{chat['id']}").json() == {"code": 0, "message": "success", "data": True}
        assert chat_env.api.delete(f"/chats/{chat['id']}").json() == NO_AUTH


# ---------------------------------------------------------------------------------------
# delete_all (C3) on DELETE /chats
# ---------------------------------------------------------------------------------------


class TestDeleteChats:
    def names(self, chat_env):
        return sorted(c["name"] for c in chat_env.api.get("/chats").json()["data"])

    def test_without_delete_all_true_nothing_goes(self, chat_env):
        for n in ("a", "b"):
            chat_env.api.post("/chats", json={"name": n})
        for body in ({"ids": None, "delete_all": False}, {"delete_all": False}, {"ids": [], "delete_all": None}):
            assert chat_env.api.delete("/chats", json=body).json() == {"code": 0, "message": "success", "data": {}}
        assert self.names(chat_env) == ["a", "b"]
        res = chat_env.api.delete("/chats", json={"ids": None, "delete_all": True}).json()
        assert res == {"code": 0, "message": "success", "data": {"success_count": 2}}
        assert self.names(chat_env) == []

    def test_ids_and_errors(self, chat_env, other_api_key):
        a = chat_env.api.post("/chats", json={"name": "a"}).json()["data"]["id"]
        b = chat_env.api.post("/chats", json={"name": "b"}).json()["data"]["id"]
        res = chat_env.api.delete("/chats", key=other_api_key, json={"ids": [a], "delete_all": False}).json()
        assert res == {"code": 102, "message": f"Chat({a}) not found."}
        res = chat_env.api.delete("/chats", json={"ids": [a, "x"], "delete_all": False}).json()
        assert res["code"] == 0 and res["message"] == "Partially deleted 1 chats with 1 errors"
        assert res["data"]["errors"] == ["Chat(x) not found."]
        res = chat_env.api.delete("/chats", json={"ids": [b, b], "delete_all": False}).json()
        assert res["code"] == 0 and res["data"]["errors"] == [f"Duplicate chat ids: {b}"]

    def test_pinned_rules_without_the_key(self, chat_env):
        chat_env.api.post("/chats", json={"name": "a"})
        assert chat_env.api.delete("/chats", json={"ids": None}).json() == {"code": 0}
        assert self.names(chat_env) == []


# ---------------------------------------------------------------------------------------
# GET /chats shape per key generation (C1)
# ---------------------------------------------------------------------------------------


class TestListGeneration:
    def test_pinned_key_gets_a_list_v027_key_gets_chats_and_total(self, chat_env, chat, v027_key):
        chat_env.api.post("/chats", json={"name": "second"})
        pinned = chat_env.api.get("/chats").json()
        assert isinstance(pinned["data"], list) and len(pinned["data"]) == 2 and "message" not in pinned
        res = chat_env.api.get("/chats", key=v027_key, params={"page_size": 1}).json()
        assert res["code"] == 0 and res["message"] == "success"
        assert res["data"]["total"] == 2 and len(res["data"]["chats"]) == 1
        assert res["data"]["chats"][0]["name"] == "second", "newest first"
        res = chat_env.api.get("/chats", key=v027_key, params={"keywords": "V02"}).json()
        assert [c["name"] for c in res["data"]["chats"]] == ["v027"] and res["data"]["total"] == 1
        res = chat_env.api.get("/chats", key=v027_key, params={"name": "missing"}).json()
        assert res["data"] == {"chats": [], "total": 0}, "no 'The chat doesn't exist' error for v0.27"

    def test_cli_rejects_unknown_generation_and_foreign_keys(self, chat_env, lambdarag_cli, other_tenant_id, v027_key):
        bad = lambdarag_cli("key", "generation", "x", "--generation", "v9", "--tenant", chat_env.tenant.id, check=False)
        assert bad.returncode != 0 and "unknown generation" in bad.stderr
        key_id = hashlib.sha256(v027_key.encode()).hexdigest()[:16]
        other = lambdarag_cli("key", "generation", key_id, "--generation", "pinned", "--tenant", other_tenant_id, check=False)
        assert other.returncode != 0
        listed = lambdarag_cli("key", "list", "--tenant", chat_env.tenant.id).stdout
        assert f"{key_id}\t" in listed and "generation=v027" in listed


# ---------------------------------------------------------------------------------------
# Sessions: GET / PATCH one, delete_all, messages
# ---------------------------------------------------------------------------------------


def answered_session(chat_env, chat_id: str) -> tuple[str, str]:
    """A session with one answered turn: (session id, message id)."""
    res = chat_env.api.post("/chat/completions", json={"chat_id": chat_id, "question": "What is Zephyrine?", "stream": False}).json()
    assert res["code"] == 0, res
    return res["data"]["session_id"], res["data"]["id"]


class TestSessions:
    def test_get_one(self, chat_env, chat, other_api_key):
        s = chat_env.api.post(f"/chats/{chat['id']}/sessions", json={"name": "s1"}).json()["data"]
        res = chat_env.api.get(f"/chats/{chat['id']}/sessions/{s['id']}").json()
        assert res["code"] == 0 and res["data"]["name"] == "s1" and res["data"]["reference"] == []
        assert res["data"]["avatar"] == "" and res["data"]["chat_id"] == chat["id"]
        assert chat_env.api.get(f"/chats/{chat['id']}/sessions/{'0' * 32}").json() == {"code": 102, "message": "Session not found!"}
        assert chat_env.api.get(f"/chats/{chat['id']}/sessions/{s['id']}", key=other_api_key).json() == NO_AUTH

    def test_patch(self, chat_env, chat, other_api_key):
        s = chat_env.api.post(f"/chats/{chat['id']}/sessions", json={}).json()["data"]
        url = f"/chats/{chat['id']}/sessions/{s['id']}"
        res = chat_env.api.request("PATCH", url, json={"name": "  renamed ", "user_id": "ignored"}).json()
        assert res["code"] == 0 and res["data"]["name"] == "renamed" and res["data"]["user_id"] == ""
        patch = lambda body, **kw: chat_env.api.request("PATCH", url, json=body, **kw).json()
        assert patch({"name": " "}) == {"code": 102, "message": "`name` can not be empty"}
        assert patch({"messages": []}) == {"code": 102, "message": "`messages` cannot be changed"}
        assert patch({"reference": []}) == {"code": 102, "message": "`reference` cannot be changed"}
        assert patch({"name": "x"}, key=other_api_key) == NO_AUTH
        # PUT stays pinned
        assert chat_env.api.put(url, json={"name": ""}).json() == {"code": 102, "message": "`name` can not be empty."}

    def test_delete_all_rules(self, chat_env, chat, other_api_key):
        url = f"/chats/{chat['id']}/sessions"
        ids = [chat_env.api.post(url, json={}).json()["data"]["id"] for _ in range(2)]
        count = lambda: len(chat_env.api.get(url).json()["data"])
        assert chat_env.api.delete(url, json={"ids": None, "delete_all": False}).json() == {"code": 0, "message": "success", "data": {}}
        assert count() == 2
        assert chat_env.api.delete(url, key=other_api_key, json={"ids": ids, "delete_all": False}).json() == NO_AUTH
        res = chat_env.api.delete(url, json={"ids": ["nope"], "delete_all": False}).json()
        assert res == {"code": 102, "message": "The chat doesn't own the session nope"}
        assert chat_env.api.delete(url, json={"ids": [ids[0]], "delete_all": False}).json() == {"code": 0, "message": "success", "data": True}
        assert count() == 1
        assert chat_env.api.delete(url, json={"delete_all": True}).json()["data"] is True
        assert count() == 0

    def test_user_id_filter(self, chat_env, chat):
        url = f"/chats/{chat['id']}/sessions"
        chat_env.api.post(url, json={"name": "u1", "user_id": "alice"})
        chat_env.api.post(url, json={"name": "u2", "user_id": "bob"})
        got = chat_env.api.get(url, params={"user_id": "alice"}).json()["data"]
        assert [s["name"] for s in got] == ["u1"]

    def test_delete_message_and_feedback(self, chat_env, chat, other_api_key):
        sid, mid = answered_session(chat_env, chat["id"])
        base = f"/chats/{chat['id']}/sessions/{sid}/messages/{mid}"
        res = chat_env.api.put(f"{base}/feedback", json={"thumbup": False, "feedback": "too short"}).json()
        assert res["code"] == 0, res
        answer = [m for m in res["data"]["messages"] if m.get("id") == mid and m["role"] == "assistant"][0]
        assert answer["thumbup"] is False and answer["feedback"] == "too short"
        assert chat_env.api.put(f"{base}/feedback", json={"thumbup": "yes"}).json() == {"code": 102, "message": "thumbup must be a boolean"}
        assert chat_env.api.put(f"{base}/feedback", json={"thumbup": True}, key=other_api_key).json() == NO_AUTH
        assert chat_env.api.delete(base, key=other_api_key).json() == NO_AUTH
        res = chat_env.api.delete(base).json()
        assert res["code"] == 0 and len(res["data"]["messages"]) == 1 and res["data"]["reference"] == []
        assert chat_env.api.delete(base).json() == {"code": 102, "message": f"Message {mid} not found!"}


# ---------------------------------------------------------------------------------------
# POST /chat/completions and POST /openai/{chat_id}/chat/completions
# ---------------------------------------------------------------------------------------


class TestCompletions:
    def test_unified_non_stream_answers_without_a_session(self, chat_env, chat):
        res = chat_env.api.post("/chat/completions", json={"chat_id": chat["id"], "question": "What is Zephyrine?", "stream": False}).json()
        assert res["code"] == 0 and res["message"] == "success"
        assert "Zephyrine" in res["data"]["answer"] and res["data"]["chat_id"] == chat["id"]
        sessions = chat_env.api.get(f"/chats/{chat['id']}/sessions").json()["data"]
        assert [s["id"] for s in sessions] == [res["data"]["session_id"]]
        assert len(sessions[0]["messages"]) == 3, "prologue, question, answer stored"

    def test_unified_stream(self, chat_env, chat, stream_urls):
        s = chat_env.api.post(f"/chats/{chat['id']}/sessions", json={}).json()["data"]
        resp = requests.post(f"{stream_urls['sessions']}/api/v1/chat/completions", stream=True, timeout=120,
                             headers={"Authorization": f"Bearer {chat_env.tenant.api_key}"},
                             json={"chat_id": chat["id"], "session_id": s["id"],
                                   "messages": [{"role": "user", "content": "What is Zephyrine?"}]})
        frames = sse(resp)
        assert frames[-1] == {"code": 0, "message": "", "data": True}
        assert all(f["message"] == "" and f["data"]["chat_id"] == chat["id"] and f["data"]["session_id"] == s["id"] for f in frames[:-1])
        assert "Zephyrine" in "".join(f["data"]["answer"] for f in frames[:-1])

    def test_unified_legacy_frames_accumulate(self, provider_chat_env, stream_urls):
        """`legacy: true`: v0.23-style frames (cumulative answers, reasoning in <think>)."""
        env = provider_chat_env
        chat = env.api.post("/chats", json={"name": "legacy", "dataset_ids": [env.dataset_id],
                                             "llm": {"model_name": "echo-think@OpenAI-API-Compatible"}}).json()["data"]
        try:
            def frames_of(legacy: bool) -> list:
                resp = requests.post(f"{stream_urls['sessions']}/api/v1/chat/completions", stream=True, timeout=120,
                                     headers={"Authorization": f"Bearer {env.tenant.api_key}"},
                                     json={"chat_id": chat["id"], "question": "What is Zephyrine?", "legacy": legacy})
                return sse(resp)
            plain = frames_of(False)
            assert any(f["data"].get("start_to_think") for f in plain[:-1])
            legacy = frames_of(True)
            assert legacy[-1] == {"code": 0, "message": "", "data": True}
            answers = [f["data"]["answer"] for f in legacy[:-1]]
            assert not any("start_to_think" in f["data"] or "end_to_think" in f["data"] for f in legacy[:-1])
            assert all(b.startswith(a) for a, b in zip(answers, answers[1:])), "each answer extends the last"
            assert answers[-1].startswith("<think>") and "</think>" in answers[-1] and "Zephyrine" in answers[-1]
        finally:
            env.api.delete("/chats", json={"ids": [chat["id"]]})

    def test_unified_errors(self, chat_env, chat, other_api_key):
        post = lambda body, **kw: chat_env.api.post("/chat/completions", json=body, **kw).json()
        assert post({"chat_id": chat["id"], "stream": False}) == {"code": 101, "message": "required argument are missing: messages"}
        assert post({"session_id": "x", "question": "q"}) == {"code": 102, "message": "`chat_id` is required when `session_id` is provided."}
        assert post({"chat_id": chat["id"], "question": "q"}, key=other_api_key) == NO_AUTH
        assert post({"chat_id": chat["id"], "session_id": "0" * 32, "question": "q"}) == {"code": 102, "message": "Session not found!"}
        assert post({"chat_id": chat["id"], "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}) == {
            "code": 101, "message": "The last message must be from user."}
        assert post({"chat_id": chat["id"], "question": "q", "llm_id": "nope@X"}) == {
            "code": 102, "message": "Cannot use specified model nope@X."}
        assert post({"chat_id": chat["id"], "question": "q", "store_history_messages": False}) == {
            "code": 102, "message": "`pass_all_history_messages` must be true when `store_history_messages` is false."}

    def test_unified_model_override(self, chat_env, chat):
        res = chat_env.api.post("/chat/completions", json={
            "chat_id": chat["id"], "question": "What is Zephyrine?", "stream": False,
            "llm_id": "extractive-answerer@Builtin", "temperature": 0.2}).json()
        assert res["code"] == 0 and "Zephyrine" in res["data"]["answer"]

    def test_unified_without_chat_uses_the_default_model(self, chat_env):
        res = chat_env.api.post("/chat/completions", json={"question": "hello", "stream": False}).json()
        assert res["code"] == 0 and res["data"]["session_id"] is None and res["data"]["chat_id"] is None

    def test_openai_route(self, chat_env, chat, other_api_key, stream_urls):
        url = f"/openai/{chat['id']}/chat/completions"
        msgs = [{"role": "user", "content": "What is Zephyrine?"}]
        res = chat_env.api.post(url, json={"model": "model", "messages": msgs}).json()
        assert res["object"] == "chat.completion", "not streamed by default"
        assert res["model"] == "extractive-answerer@Builtin" and "Zephyrine" in res["choices"][0]["message"]["content"]
        assert chat_env.api.post(url, json={"model": "nope@X", "messages": msgs}).json() == {"code": 101, "message": "`llm_id` nope@X doesn't exist"}
        assert chat_env.api.post(url, json={"model": "model", "messages": msgs}, key=other_api_key).json() == NO_AUTH
        # v0.27 authenticates before checking the body
        assert chat_env.api.post(url, json={}, key="ragflow-bad").json()["code"] == 109
        assert chat_env.api.post(url, json={}).json() == {"code": 101, "message": "required argument are missing: model,messages; ", "data": None}
        resp = requests.post(f"{stream_urls['openai']}/api/v1{url}", stream=True, timeout=120,
                             headers={"Authorization": f"Bearer {chat_env.tenant.api_key}"},
                             json={"model": "model", "messages": msgs, "stream": True})
        frames = sse(resp)
        assert frames[-1] == "[DONE]" and frames[-2]["choices"][0]["finish_reason"] == "stop"
        assert all(f["model"] == "extractive-answerer@Builtin" for f in frames[:-1])


# ---------------------------------------------------------------------------------------
# The 0.26.0 client itself
# ---------------------------------------------------------------------------------------


@pytest.mark.skipif(not SDK_VERSION.startswith("0.26"), reason=f"needs ragflow-sdk 0.26 (have {SDK_VERSION})")
class TestSdk026:
    def test_chat_lifecycle(self, chat_env, v027_key, base_url):
        from ragflow_sdk import RAGFlow

        rag = RAGFlow(api_key=v027_key, base_url=base_url)
        c = rag.create_chat("sdk026", dataset_ids=[chat_env.dataset_id], llm_setting={"temperature": 0.5},
                            prompt_config={"system": "Answer from {knowledge}"}, top_n=5)
        assert c.top_n == 5 and c.llm_setting.temperature == 0.5 and c.dataset_ids == [chat_env.dataset_id]
        assert rag.get_chat(c.id).prompt_config.system == "Answer from {knowledge}"
        assert [x.id for x in rag.list_chats()] == [c.id]
        assert [x.name for x in rag.list_chats(keywords="sdk")] == ["sdk026"]
        c.update({"name": "renamed", "llm_setting": {"top_p": 0.2}})
        got = rag.get_chat(c.id)
        assert got.name == "renamed" and got.llm_setting.temperature == 0.5 and got.llm_setting.top_p == 0.2

        s = c.create_session("first")
        s.update({"name": "second"})
        assert [x.name for x in c.list_sessions()] == ["second"]
        answers = list(s.ask("What is Zephyrine?", stream=False))
        assert "Zephyrine" in answers[-1].content
        streamed = list(s.ask("What is Zephyrine?", stream=True))
        assert streamed and "Zephyrine" in "".join(m.content for m in streamed)
        c.delete_sessions()  # ids None, delete_all False: nothing goes
        assert len(c.list_sessions()) == 1
        c.delete_sessions(delete_all=True)
        assert c.list_sessions() == []

        rag.delete_chats()  # nothing goes without delete_all
        assert len(rag.list_chats()) == 1
        rag.delete_chats(delete_all=True)
        assert rag.list_chats() == []

    def test_errors_surface(self, chat_env, v027_key, base_url, other_api_key):
        from ragflow_sdk import RAGFlow

        rag = RAGFlow(api_key=v027_key, base_url=base_url)
        c = rag.create_chat("mine")
        other = RAGFlow(api_key=other_api_key, base_url=base_url)
        with pytest.raises(Exception, match="no authorization"):
            other.get_chat(c.id)
        with pytest.raises(Exception, match="Chat\\(nope\\) not found."):
            rag.delete_chats(ids=["nope"])
