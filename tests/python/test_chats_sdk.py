"""Chat assistants and sessions through the official ragflow-sdk (CH1–CH4, S1–S7, 8.1).

The default chat model of a fresh tenant is lambdarag's built-in extractive answerer
(`extractive-answerer@Builtin`): offline, it quotes the retrieved sentences with `[ID:n]`
citations. The provider-configured tests run a local fake OpenAI-compatible model
(fake_llm.py) that echoes its prompt, which proves the retrieved chunks reached the model.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest
import requests
from ragflow_sdk.modules.chat import Chat

from helpers import SDK_026

BUILTIN_HEADER = "(Built-in extractive answer — configure a chat model provider for generated answers.)"
DEFAULT_MODEL = "extractive-answerer@Builtin"
QUESTION = "How do solar panels with the Zephyrine coating work?"
CHUNKS_FORMAT_KEYS = {
    "id", "content", "document_id", "document_name", "dataset_id", "image_id", "positions", "url",
    "similarity", "vector_similarity", "term_similarity", "doc_type",
}


@pytest.fixture(autouse=True)
def _clean_chats(request):
    yield
    for name in ("chat_env", "provider_chat_env"):
        if name in request.fixturenames:
            env = request.getfixturevalue(name)
            res = env.api.delete("/chats", json={"ids": None}).json()
            assert res.get("code") in (0, 102), res


def sdk_llm(client, **llm) -> dict:
    """create_chat's keywords for a chat model in the installed client's vocabulary: 0.23.1's
    `llm=Chat.LLM(...)`, 0.26.0's `llm_id` + `llm_setting` (v027-delta §2.5)."""
    if SDK_026:
        model = llm.pop("model_name")
        return {"llm_id": model, **({"llm_setting": llm} if llm else {})}
    return {"llm": Chat.LLM(client, llm)}


# What a chat created through the SDK without prompt settings reports: 0.23.1 sends its
# Chat.Prompt defaults (keywords weight 0.7 stored as the vector weight, reported 1 − 0.7;
# top_n 8); 0.26.0 sends none, so the server's defaults show (vector weight 0.3; top_n 6).
SDK_CHAT_KEYWORDS_WEIGHT, SDK_CHAT_TOP_N = (0.7, 6) if SDK_026 else (0.3, 8)


def sse_frames(resp: requests.Response) -> list:
    """Parse a streamed reply into JSON frames, checking the `data:` form."""
    frames = []
    for line in resp.iter_lines(decode_unicode=True):
        if not line:
            continue
        assert line.startswith("data:"), line
        assert not line.startswith("data: "), "no space after `data:`"
        payload = line[len("data:"):]
        frames.append(payload if payload == "[DONE]" else json.loads(payload))
    return frames


# ---------------------------------------------------------------------------------------
# CH1 create
# ---------------------------------------------------------------------------------------


class TestCreateChat:
    def test_defaults_of_an_sdk_chat(self, chat_env):
        chat = chat_env.client.create_chat("sdk-defaults", dataset_ids=[chat_env.dataset_id])
        assert len(chat.id) == 32
        assert chat.name == "sdk-defaults"
        assert chat.dataset_ids == [chat_env.dataset_id]
        assert chat.llm.model_name == DEFAULT_MODEL
        assert chat.llm.max_tokens == 512
        assert chat.prompt.keywords_similarity_weight == pytest.approx(SDK_CHAT_KEYWORDS_WEIGHT)
        assert chat.prompt.similarity_threshold == pytest.approx(0.2)
        assert chat.prompt.top_n == SDK_CHAT_TOP_N
        assert chat.prompt.rerank_model == ""
        assert chat.prompt.opener == "Hi! I'm your assistant. What can I do for you?"
        assert "{knowledge}" in chat.prompt.prompt
        assert chat.prompt.show_quote is True
        assert chat.prompt.tts is False and chat.prompt.refine_multiturn is True
        assert chat.description == "A helpful Assistant"
        assert (chat.do_refer, chat.prompt_type, chat.status, chat.language) == ("1", "simple", "1", "English")
        assert chat.tenant_id == chat_env.tenant.id
        # The pinned create form has no top_k; replies carry v0.27's fields too (union).
        assert chat.top_k == 1024
        assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", chat.create_date)

    def test_raw_defaults_without_llm_and_prompt(self, chat_env):
        res = chat_env.api.post("/chats", json={"name": "raw"}).json()
        assert res["code"] == 0 and "message" not in res
        d = res["data"]
        assert d["llm"] == {"temperature": 0.1, "top_p": 0.3, "frequency_penalty": 0.7,
                            "presence_penalty": 0.4, "max_tokens": 512, "model_name": DEFAULT_MODEL}
        assert d["prompt"]["keywords_similarity_weight"] == pytest.approx(0.7), "default vector weight 0.3"
        assert d["prompt"]["top_n"] == 6
        assert d["prompt"]["variables"] == [{"key": "knowledge", "optional": False}]
        assert d["prompt"]["empty_response"] == "Sorry! No relevant content was found in the knowledge base!"
        assert d["dataset_ids"] == []
        assert d["avatar"] == ""

    def test_extra_prompt_keys_are_kept(self, chat_env):
        d = chat_env.api.post("/chats", json={"name": "extra", "prompt": {"custom": {"a": 1}, "top_k": 7}}).json()["data"]
        assert d["prompt"]["custom"] == {"a": 1}
        assert "top_k" not in d["prompt"]

    @pytest.mark.parametrize("body,message", [
        ({}, "`name` is required."),
        ({"name": ""}, "`name` is required."),
        ({"name": "x", "tenant_id": "abc"}, "`tenant_id` must not be provided."),
        ({"name": "x", "dataset_ids": ["nope"]}, "You don't own the dataset nope"),
        ({"name": "x", "dataset_ids": "ab"}, "You don't own the dataset a"),
        ({"name": "x", "llm": {"model_name": "nope@OpenAI"}}, "`model_name` nope@OpenAI doesn't exist"),
        ({"name": "x", "llm": {"model_name": "gpt-4o@OpenAI"}}, "`model_name` gpt-4o@OpenAI doesn't exist"),
        ({"name": "x", "prompt": {"rerank_model": "my-reranker"}}, "`rerank_model` my-reranker doesn't exist"),
        ({"name": "x", "prompt": {"prompt": "no variable", "variables": [{"key": "knowledge", "optional": False}]}},
         "Parameter 'knowledge' is not used"),
        ({"name": "x", "prompt": {"prompt": "{knowledge}", "variables": [{"key": "lang", "optional": False}]}},
         "Parameter 'lang' is not used"),
    ])
    def test_validation_messages(self, chat_env, body, message):
        assert chat_env.api.post("/chats", json=body).json() == {"code": 102, "message": message}

    def test_builtin_rerank_names_allowed(self, chat_env):
        res = chat_env.api.post("/chats", json={"name": "rr", "prompt": {"rerank_model": "BAAI/bge-reranker-v2-m3"}}).json()
        assert res["code"] == 0 and res["data"]["prompt"]["rerank_model"] == "BAAI/bge-reranker-v2-m3"

    def test_duplicate_names_case_insensitive(self, chat_env):
        chat_env.client.create_chat("Dup")
        with pytest.raises(Exception, match=r"^Duplicated chat name in creating chat\.$"):
            chat_env.client.create_chat("dUP")

    def test_unparsed_and_foreign_datasets(self, chat_env, client):
        empty = chat_env.client.create_dataset(name="empty-kb")
        try:
            with pytest.raises(Exception) as e:
                chat_env.client.create_chat("x", dataset_ids=[empty.id])
            assert str(e.value) == f"The dataset {empty.id} doesn't own parsed file"
        finally:
            chat_env.client.delete_datasets(ids=[empty.id])
        other = client.create_dataset(name="someone-elses")
        with pytest.raises(Exception) as e:
            chat_env.client.create_chat("x", dataset_ids=[other.id])
        assert str(e.value) == f"You don't own the dataset {other.id}"

    def test_falsy_dataset_ids_dropped(self, chat_env):
        d = chat_env.api.post("/chats", json={"name": "f", "dataset_ids": ["", None, chat_env.dataset_id]}).json()["data"]
        assert d["dataset_ids"] == ["", None, chat_env.dataset_id], "the create form echoes the request"
        listed = chat_env.api.get("/chats", params={"id": d["id"]}).json()["data"][0]
        assert [k["id"] for k in listed["datasets"]] == [chat_env.dataset_id]


# ---------------------------------------------------------------------------------------
# CH4 list
# ---------------------------------------------------------------------------------------


class TestListChats:
    def test_order_filters_and_pages(self, chat_env):
        for n in ("L1", "L2", "L3"):
            chat_env.client.create_chat(n, dataset_ids=[chat_env.dataset_id])
        assert [c.name for c in chat_env.client.list_chats()] == ["L3", "L2", "L1"]
        assert [c.name for c in chat_env.client.list_chats(desc=False)] == ["L1", "L2", "L3"]
        assert [c.name for c in chat_env.client.list_chats(page=2, page_size=1)] == ["L2"]
        assert [c.name for c in chat_env.client.list_chats(name="l2")] == ["L2"]
        one = chat_env.client.list_chats(name="L1")[0]
        assert [c.name for c in chat_env.client.list_chats(id=one.id)] == ["L1"]
        assert chat_env.api.get("/chats", params={"page_size": 0}).json() == {"code": 0, "data": []}
        assert [c["name"] for c in chat_env.api.get("/chats", params={"page": 0, "page_size": 1}).json()["data"]] == ["L3"]
        assert [c["name"] for c in chat_env.api.get("/chats", params={"orderby": "name", "desc": "false"}).json()["data"]] == ["L1", "L2", "L3"]

    def test_list_form(self, chat_env):
        chat_env.client.create_chat("form", dataset_ids=[chat_env.dataset_id])
        item = chat_env.api.get("/chats", params={"name": "form"}).json()["data"][0]
        # Pinned list items have `datasets`; the union adds v0.27's `dataset_ids` (live ids).
        assert item["dataset_ids"] == [chat_env.dataset_id]
        assert item["top_k"] == 1024
        assert item["prompt"]["keywords_similarity_weight"] == pytest.approx(SDK_CHAT_KEYWORDS_WEIGHT)
        (kb,) = item["datasets"]
        assert kb["id"] == chat_env.dataset_id
        assert kb["embd_id"] == "all-MiniLM-L6-v2@Builtin"
        assert kb["parser_id"] == "naive"
        assert kb["doc_num"] == 2 and kb["chunk_num"] >= 2
        assert "embedding_model" not in kb and "chunk_count" not in kb

    def test_unknown_filters(self, chat_env):
        for params in ({"name": "nope"}, {"id": uuid.uuid1().hex}):
            assert chat_env.api.get("/chats", params=params).json() == {"code": 102, "message": "The chat doesn't exist"}
        if SDK_026:  # v0.27's list: no match is an empty page, not an error
            assert chat_env.client.list_chats(name="nope") == []
        else:
            with pytest.raises(Exception, match="The chat doesn't exist"):
                chat_env.client.list_chats(name="nope")
        assert chat_env.api.get("/chats").json() == {"code": 0, "data": []}
        assert chat_env.api.get("/chats", params={"page": "a"}).json()["code"] == 100

    def test_tenant_isolation(self, chat_env, client):
        chat_env.client.create_chat("mine")
        assert "mine" not in [c.name for c in client.list_chats()]
        if SDK_026:
            assert client.list_chats(name="mine") == []
        else:
            with pytest.raises(Exception, match="The chat doesn't exist"):
                client.list_chats(name="mine")


# ---------------------------------------------------------------------------------------
# CH2 update, CH3 delete
# ---------------------------------------------------------------------------------------


class TestUpdateChat:
    def test_update_merges_prompt_and_llm(self, chat_env):
        chat = chat_env.client.create_chat("upd", dataset_ids=[chat_env.dataset_id])
        chat.update({"name": "upd2", "dataset_ids": [chat_env.dataset_id],
                     "prompt": {"keywords_similarity_weight": 0.4, "opener": "Hello there", "top_n": 3},
                     "llm": {"temperature": 0.5}})
        got = chat_env.client.list_chats(id=chat.id)[0]
        assert got.name == "upd2"
        assert got.prompt.keywords_similarity_weight == pytest.approx(0.6)
        assert got.prompt.opener == "Hello there"
        assert got.prompt.top_n == 3
        assert "{knowledge}" in got.prompt.prompt, "unchanged prompt keys are kept"
        assert got.llm.temperature == 0.5 and got.llm.max_tokens == 512
        assert [d["id"] for d in got.datasets] == [chat_env.dataset_id]

    def test_omitting_dataset_ids_unlinks_all(self, chat_env):
        chat = chat_env.client.create_chat("unlink", dataset_ids=[chat_env.dataset_id])
        chat.update({"description": "changed"})
        got = chat_env.client.list_chats(id=chat.id)[0]
        # 0.23.1's PUT replaces the links (none sent: none kept); 0.26.0's PATCH changes only
        # what it sends.
        linked = [chat_env.dataset_id] if SDK_026 else []
        assert [d["id"] for d in got.datasets] == linked and got.description == "changed"

    def test_update_errors(self, chat_env):
        a = chat_env.client.create_chat("ua")
        chat_env.client.create_chat("ub")
        for body, msg in [({"name": "UB"}, "Duplicated chat name in updating chat."),
                          ({"name": ""}, "`name` cannot be empty."),
                          ({"dataset_ids": ["nope"]}, "You don't own the dataset nope"),
                          ({"llm": {"model_name": "nope@OpenAI"}}, "`model_name` nope@OpenAI doesn't exist"),
                          ({"prompt": {"prompt": "no var", "variables": [{"key": "knowledge", "optional": False}]}},
                           "Parameter 'knowledge' is not used")]:
            with pytest.raises(Exception) as e:
                a.update(body)
            assert str(e.value) == msg
        a.update({"name": "UA"})  # a case change of its own name is fine
        res = chat_env.api.put(f"/chats/{a.id}", json={"bogus": 1}).json()
        assert res["code"] == 100
        res = chat_env.api.put(f"/chats/{a.id}", json={"prompt": {}}).json()
        assert res["code"] == 100, "an unconsumed empty prompt fails like upstream"
        assert chat_env.api.put(f"/chats/{uuid.uuid1().hex}", json={"name": "z"}).json() == {
            "code": 102, "message": "You do not own the chat"}
        assert chat_env.api.put(f"/chats/{a.id}", json={"show_quotation": False}).json() == {"code": 0}
        assert chat_env.client.list_chats(id=a.id)[0].do_refer == "0"


class TestDeleteChats:
    def test_delete_and_reuse_name(self, chat_env):
        a = chat_env.client.create_chat("del-a")
        chat_env.client.delete_chats(ids=[a.id])
        if SDK_026:
            assert chat_env.client.list_chats(id=a.id) == []
        else:
            with pytest.raises(Exception, match="The chat doesn't exist"):
                chat_env.client.list_chats(id=a.id)
        chat_env.client.create_chat("del-a")  # a deleted chat's name is free

    def test_errors_and_partial_success(self, chat_env):
        a = chat_env.client.create_chat("p-a")
        # 0.26 always sends `delete_all`, which selects v0.27's rules and wording ("Chat(...)")
        missing = r"^Chat\(nope\) not found\.$" if SDK_026 else r"^Assistant\(nope\) not found\.$"
        with pytest.raises(Exception, match=missing):
            chat_env.client.delete_chats(ids=["nope"])
        res = chat_env.api.delete("/chats", json={"ids": [a.id, "nope"]}).json()
        assert res == {"code": 0, "data": {"success_count": 1, "errors": ["Assistant(nope) not found."]}}
        b = chat_env.client.create_chat("p-b")
        res = chat_env.api.delete("/chats", json={"ids": [b.id, b.id]}).json()
        assert res == {"code": 0, "data": {"success_count": 1, "errors": [f"Duplicate assistant ids: {b.id}"]}}

    def test_delete_all(self, chat_env):
        chat_env.client.create_chat("all-1")
        chat_env.client.create_chat("all-2")
        # 0.26.0 sends `delete_all`, and v0.27 deletes everything only when it is true.
        chat_env.client.delete_chats(**({"delete_all": True} if SDK_026 else {"ids": None}))
        assert chat_env.client.list_chats() == []
        assert chat_env.api.delete("/chats", data="\"x\"", headers={"Content-Type": "application/json"}).json() == {
            "code": 100, "message": "AttributeError(\"'str' object has no attribute 'get'\")", "data": None}


# ---------------------------------------------------------------------------------------
# Sessions S1–S4
# ---------------------------------------------------------------------------------------


class TestSessions:
    def test_crud(self, chat_env):
        chat = chat_env.client.create_chat("sess", dataset_ids=[chat_env.dataset_id])
        s = chat.create_session("first")
        assert s.name == "first" and s.chat_id == chat.id
        assert s.messages == [{"role": "assistant", "content": "Hi! I'm your assistant. What can I do for you?"}]
        assert s.user_id == ""
        s2 = chat.create_session()
        assert s2.name == "New session"
        assert [x.name for x in chat.list_sessions()] == ["New session", "first"]
        assert [x.name for x in chat.list_sessions(name="FIRST")] == ["first"]
        assert [x.id for x in chat.list_sessions(id=s.id)] == [s.id]
        assert [x.name for x in chat.list_sessions(page=2, page_size=1)] == ["first"]
        s.update({"name": "renamed", "user_id": "u-1"})
        # v0.27's PATCH (0.26.0) ignores `user_id`; the pinned PUT (0.23.1) stores it.
        got = chat_env.api.get(f"/chats/{chat.id}/sessions", params={"id": s.id}).json()["data"]
        assert [(x["name"], x["user_id"]) for x in got] == [("renamed", "" if SDK_026 else "u-1")]
        if SDK_026:  # v0.27's PATCH wording
            refusals = [({"messages": []}, "`messages` cannot be changed"),
                        ({"message": []}, "`messages` cannot be changed"),
                        ({"reference": []}, "`reference` cannot be changed"),
                        ({"name": ""}, "`name` can not be empty")]
        else:
            refusals = [({"messages": []}, "`message` can not be change"),
                        ({"message": []}, "`message` can not be change"),
                        ({"reference": []}, "`reference` can not be change"),
                        ({"name": ""}, "`name` can not be empty.")]
        for body, msg in refusals:
            with pytest.raises(Exception) as e:
                s.update(body)
            assert str(e.value) == msg
        chat.delete_sessions(ids=[s.id])
        assert [x.id for x in chat.list_sessions()] == [s2.id]
        chat.delete_sessions(**({"delete_all": True} if SDK_026 else {}))
        assert chat.list_sessions() == []

    def test_errors(self, chat_env, api):
        chat = chat_env.client.create_chat("sess-err")
        other_api, api = api, chat_env.api
        fake = uuid.uuid1().hex
        assert api.post(f"/chats/{fake}/sessions", json={}).json() == {"code": 102, "message": "You do not own the assistant."}
        assert api.post(f"/chats/{chat.id}/sessions", json={"name": ""}).json() == {"code": 102, "message": "`name` can not be empty."}
        assert api.get(f"/chats/{fake}/sessions").json() == {"code": 102, "message": f"You don't own the assistant {fake}."}
        assert api.delete(f"/chats/{fake}/sessions", json={}).json() == {"code": 102, "message": "You don't own the chat"}
        assert api.put(f"/chats/{chat.id}/sessions/{fake}", json={"name": "x"}).json() == {"code": 102, "message": "Session does not exist"}
        s = chat.create_session("x")
        res = api.delete(f"/chats/{chat.id}/sessions", json={"ids": [s.id, "nope"]}).json()
        assert res == {"code": 0, "data": {"success_count": 1, "errors": ["The chat doesn't own the session nope"]}}
        assert api.delete(f"/chats/{chat.id}/sessions", json={"ids": ["nope"]}).json() == {
            "code": 102, "message": "The chat doesn't own the session nope"}
        # Another tenant cannot see or use the chat or its sessions.
        assert other_api.post(f"/chats/{chat.id}/sessions", json={}).json() == {"code": 102, "message": "You do not own the assistant."}
        s2 = chat.create_session("y")
        assert other_api.put(f"/chats/{chat.id}/sessions/{s2.id}", json={"name": "z"}).json() == {"code": 102, "message": "Session does not exist"}
        assert other_api.get(f"/chats/{chat.id}/sessions").json() == {"code": 102, "message": f"You don't own the assistant {chat.id}."}
        assert other_api.post(f"/chats/{chat.id}/completions", json={"session_id": s2.id, "question": "q"}).json() == {
            "code": 102, "message": f"You don't own the chat {chat.id}"}


# ---------------------------------------------------------------------------------------
# S5 completions with the built-in answerer
# ---------------------------------------------------------------------------------------


class TestAskBuiltin:
    def test_streamed_answer_is_cited(self, chat_env):
        chat = chat_env.client.create_chat("ask-stream", dataset_ids=[chat_env.dataset_id])
        session = chat.create_session()
        messages = list(session.ask(QUESTION, stream=True))
        assert len(messages) >= 3, "the answer arrives in several deltas"
        text = "".join(m.content for m in messages)
        assert text.startswith(BUILTIN_HEADER)
        assert "Zephyrine" in text
        assert re.search(r"\[ID:\d+\]", text)
        refs = [m.reference for m in messages if getattr(m, "reference", None)]
        assert refs, "the final frame carries the reference chunks"
        chunks = refs[-1]
        assert any(c["document_name"] == "solar.txt" for c in chunks)
        assert set(chunks[0]) == CHUNKS_FORMAT_KEYS
        # The turn is stored: question and answer share one uuid4 message id.
        (listed,) = chat.list_sessions(id=session.id)
        prologue, user, answer = listed.messages
        assert user["role"] == "user" and user["content"] == QUESTION
        assert answer["role"] == "assistant" and answer["content"] == text
        assert user["id"] == answer["id"] and uuid.UUID(user["id"]).version == 4
        assert "reference" not in prologue
        assert {c["id"] for c in answer["reference"]} == {c["id"] for c in chunks}
        assert set(answer["reference"][0]) == {"id", "content", "document_id", "document_name", "dataset_id", "image_id", "positions"}

    def test_non_streamed_answer(self, chat_env):
        chat = chat_env.client.create_chat("ask-plain", dataset_ids=[chat_env.dataset_id])
        session = chat.create_session()
        (message,) = list(session.ask(QUESTION, stream=False))
        assert message.content.startswith(BUILTIN_HEADER)
        assert "[ID:0]" in message.content
        assert message.reference and message.reference[0]["dataset_id"] == chat_env.dataset_id
        # A second turn sees the history; both turns are stored.
        list(session.ask("How many bees live in a hive?", stream=False))
        (listed,) = chat.list_sessions(id=session.id)
        assert [m["role"] for m in listed.messages] == ["assistant", "user", "assistant", "user", "assistant"]
        assert "forty thousand" in listed.messages[4]["content"]

    def test_quote_off_has_no_markers(self, chat_env):
        chat = chat_env.client.create_chat("no-quote", dataset_ids=[chat_env.dataset_id])
        session = chat.create_session()
        res = chat_env.api.post(f"/chats/{chat.id}/completions",
                                json={"question": QUESTION, "session_id": session.id, "stream": False, "quote": False}).json()
        assert res["code"] == 0
        assert "[ID:" not in res["data"]["answer"]
        assert res["data"]["reference"] == {}

    def test_sse_frames(self, chat_env):
        chat = chat_env.client.create_chat("frames", dataset_ids=[chat_env.dataset_id])
        session = chat.create_session()
        resp = requests.post(f"{chat_env.api.url('')}/chats/{chat.id}/completions",
                             json={"question": QUESTION, "session_id": session.id},
                             headers={"Authorization": f"Bearer {chat_env.tenant.api_key}"}, stream=True, timeout=60)
        assert resp.headers["Content-Type"] == "text/event-stream; charset=utf-8"
        assert resp.headers["Cache-Control"] == "no-cache"
        assert resp.headers["X-Accel-Buffering"] == "no"
        frames = sse_frames(resp)
        assert frames[-1] == {"code": 0, "data": True}
        deltas = [f for f in frames[:-1] if not f["data"].get("final")]
        (final,) = [f for f in frames[:-1] if f["data"].get("final")]
        assert frames[-2] is final
        assert len(deltas) >= 2
        for f in deltas:
            assert set(f) == {"code", "data"}, "answer frames have no message key"
            assert f["data"]["reference"] == {"chunks": []}
            assert f["data"]["final"] is False and f["data"]["audio_binary"] is None
        ids = {f["data"]["id"] for f in frames[:-1]}
        assert len(ids) == 1 and uuid.UUID(ids.pop()).version == 4
        assert {f["data"]["session_id"] for f in frames[:-1]} == {session.id}
        d = final["data"]
        assert d["answer"] == ""
        assert d["reference"]["total"] >= 1
        assert {a["doc_name"] for a in d["reference"]["doc_aggs"]} <= {"solar.txt", "bees.txt"}
        assert set(d["reference"]["chunks"][0]) == CHUNKS_FORMAT_KEYS
        assert "### Query:" in d["prompt"] and isinstance(d["created_at"], float)

    def test_without_session_only_the_prologue(self, chat_env):
        chat = chat_env.client.create_chat("prologue", dataset_ids=[chat_env.dataset_id])
        resp = chat_env.api.post(f"/chats/{chat.id}/completions", json={"question": "ignored", "user_id": "u9"}, stream=True)
        frames = sse_frames(resp)
        assert len(frames) == 2
        first = frames[0]
        assert first["code"] == 0 and first["message"] == ""
        assert first["data"]["answer"] == "Hi! I'm your assistant. What can I do for you?"
        assert first["data"]["reference"] == {} and first["data"]["id"] is None
        assert frames[1] == {"code": 0, "message": "", "data": True}
        sid = first["data"]["session_id"]
        (s,) = chat.list_sessions(id=sid)
        assert s.user_id == "u9" and len(s.messages) == 1
        res = chat_env.api.post(f"/chats/{chat.id}/completions", json={"stream": False}).json()
        assert res["code"] == 0 and res["data"]["answer"].startswith("Hi!")

    def test_empty_response_short_circuit(self, chat_env):
        if SDK_026:
            settings = {"similarity_threshold": 1.5, "prompt_config": {"empty_response": "Nothing here."}}
        else:
            settings = {"prompt": Chat.Prompt(chat_env.client, {"similarity_threshold": 1.5, "empty_response": "Nothing here."})}
        chat = chat_env.client.create_chat("empty", dataset_ids=[chat_env.dataset_id], **settings)
        session = chat.create_session()
        resp = chat_env.api.post(f"/chats/{chat.id}/completions", json={"question": QUESTION, "session_id": session.id}, stream=True)
        frames = sse_frames(resp)
        assert len(frames) == 2
        assert frames[0]["data"]["answer"] == "Nothing here." and frames[0]["data"]["final"] is True
        assert frames[0]["data"]["reference"]["chunks"] == []

    def test_chat_without_datasets(self, chat_env):
        chat = chat_env.client.create_chat("solo")
        session = chat.create_session()
        frames = sse_frames(chat_env.api.post(f"/chats/{chat.id}/completions",
                                              json={"question": QUESTION, "session_id": session.id}, stream=True))
        assert frames[-1] == {"code": 0, "data": True}
        assert not any(f["data"].get("final") for f in frames[:-1]), "no final frame without datasets"
        assert all(f["data"]["prompt"] == "" and "created_at" in f["data"] for f in frames[:-1])
        text = "".join(f["data"]["answer"] for f in frames[:-1])
        assert text.startswith(BUILTIN_HEADER) and "Nothing relevant" in text

    def test_metadata_condition_that_matches_nothing(self, chat_env):
        ds = chat_env.client.list_datasets(id=chat_env.dataset_id)[0]
        (doc,) = ds.list_documents(id=chat_env.doc_ids["solar.txt"])
        doc.update({"meta_fields": {"topic": "energy"}})
        chat = chat_env.client.create_chat("meta", dataset_ids=[chat_env.dataset_id])
        session = chat.create_session()
        cond = {"conditions": [{"name": "topic", "comparison_operator": "is", "value": "gardening"}]}
        res = chat_env.api.post(f"/chats/{chat.id}/completions", json={
            "question": QUESTION, "session_id": session.id, "stream": False, "metadata_condition": cond}).json()
        assert res["code"] == 0
        assert res["data"]["reference"]["chunks"] == []
        cond["conditions"][0]["value"] = "energy"
        res = chat_env.api.post(f"/chats/{chat.id}/completions", json={
            "question": QUESTION, "session_id": session.id, "stream": False, "metadata_condition": cond}).json()
        assert {c["document_name"] for c in res["data"]["reference"]["chunks"]} == {"solar.txt"}

    def test_saved_manual_metadata_filter(self, chat_env):
        ds = chat_env.client.list_datasets(id=chat_env.dataset_id)[0]
        (doc,) = ds.list_documents(id=chat_env.doc_ids["solar.txt"])
        doc.update({"meta_fields": {"topic": "energy"}})
        api = chat_env.api

        def saved(value, method="manual"):
            return {"method": method, "logic": "and", "manual": [{"key": "topic", "op": "=", "value": value}]}

        made = api.post("/chats", json={"name": "meta-saved", "dataset_ids": [chat_env.dataset_id],
                                        "meta_data_filter": saved("energy")}).json()
        assert made["code"] == 0, made
        cid = made["data"]["id"]
        sid = api.post(f"/chats/{cid}/sessions", json={"name": "s"}).json()["data"]["id"]

        def names():
            res = api.post(f"/chats/{cid}/completions", json={"question": QUESTION, "session_id": sid, "stream": False}).json()
            assert res["code"] == 0, res
            return {c["document_name"] for c in res["data"]["reference"]["chunks"]}

        assert names() == {"solar.txt"}
        for update, expected in [(saved("gardening"), set()), (saved("gardening", method="auto"), None)]:
            assert api.put(f"/chats/{cid}", json={"dataset_ids": [chat_env.dataset_id], "meta_data_filter": update}).json()["code"] == 0
            got = names()
            if expected is None:
                # `auto` has the chat model write conditions; the built-in writes none, so
                # no filter is applied (the same condition as `manual` would leave nothing).
                assert got
            else:
                assert got == expected
        # The turn's own condition is used instead of the saved one.
        api.put(f"/chats/{cid}", json={"dataset_ids": [chat_env.dataset_id], "meta_data_filter": saved("gardening")})
        cond = {"conditions": [{"name": "topic", "comparison_operator": "is", "value": "energy"}]}
        res = api.post(f"/chats/{cid}/completions", json={
            "question": QUESTION, "session_id": sid, "stream": False, "metadata_condition": cond}).json()
        assert {c["document_name"] for c in res["data"]["reference"]["chunks"]} == {"solar.txt"}

    @pytest.mark.parametrize("method", ["auto", "semi_auto"])
    def test_saved_filter_written_by_the_chat_model(self, provider_chat_env, fake_llm_server, method):
        env = provider_chat_env
        api = env.api
        for name, topic in (("solar.txt", "energy"), ("bees.txt", "insects")):
            assert api.put(f"/datasets/{env.dataset_id}/documents/{env.doc_ids[name]}",
                           json={"meta_fields": {"topic": topic}}).json()["code"] == 0
        saved = {"method": method, "semi_auto": ["topic"]}
        made = api.post("/chats", json={"name": f"meta-{method}", "dataset_ids": [env.dataset_id],
                                        "llm_id": "echo-model@OpenAI-API-Compatible", "meta_data_filter": saved,
                                        "similarity_threshold": 0.0}).json()
        assert made["code"] == 0, made
        cid = made["data"]["id"]
        sid = api.post(f"/chats/{cid}/sessions", json={"name": "s"}).json()["data"]["id"]

        def names(question):
            res = api.post(f"/chats/{cid}/completions", json={"question": question, "session_id": sid, "stream": False}).json()
            assert res["code"] == 0, res
            return {c["document_name"] for c in res["data"]["reference"]["chunks"]}

        # The stand-in model writes `topic = <value>` for a value the question names.
        before = len(fake_llm_server[0].requests)
        assert names("Which insects live in a hive, and what do panels reflect?") == {"bees.txt"}
        prompts = [r["messages"][0]["content"] for r in fake_llm_server[0].requests[before:]]
        assert any('- topic: ["energy","insects"]' in p for p in prompts), prompts
        assert names("energy: what does the coating reflect? and the bees?") == {"solar.txt"}
        # No condition (or none matching a document): retrieval is not restricted.
        assert names("What does the Zephyrine coating reflect, and what do bees dance about?") == {"solar.txt", "bees.txt"}
        if method == "semi_auto":
            # Only the selected keys are offered: none selected leaves retrieval open.
            api.put(f"/chats/{cid}", json={"dataset_ids": [env.dataset_id],
                                          "meta_data_filter": {"method": "semi_auto", "semi_auto": ["colour"]}})
            assert names("Which insects live in a hive, and what do panels reflect?") == {"solar.txt", "bees.txt"}
        api.delete("/chats", json={"ids": [cid]})

    def test_completion_errors(self, chat_env):
        chat = chat_env.client.create_chat("c-err")
        api = chat_env.api
        fake = uuid.uuid1().hex
        assert api.post(f"/chats/{fake}/completions", json={}).json() == {"code": 102, "message": f"You don't own the chat {fake}"}
        assert api.post(f"/chats/{chat.id}/completions", json={"session_id": "nope", "question": "q"}).json() == {
            "code": 102, "message": "You don't own the session nope"}
        s = chat.create_session()
        assert api.post(f"/chats/{chat.id}/completions", json={"session_id": s.id, "metadata_condition": "x", "question": "q"}).json() == {
            "code": 102, "message": "metadata_condition must be an object."}
        assert api.post(f"/chats/{chat.id}/completions", json={"session_id": s.id}).json() == {
            "code": 100, "message": "TypeError(\"async_completion() missing 1 required positional argument: 'question'\")", "data": None}


class TestAskAndRelated:
    def test_sessions_ask(self, chat_env):
        resp = chat_env.api.post("/sessions/ask", json={"question": QUESTION, "dataset_ids": [chat_env.dataset_id]}, stream=True)
        frames = sse_frames(resp)
        assert frames[-1] == {"code": 0, "message": "", "data": True}
        assert all(f["message"] == "" for f in frames)
        final = [f for f in frames[:-1] if f["data"].get("final")]
        assert final and final[-1]["data"]["reference"]["chunks"]
        text = "".join(f["data"]["answer"] for f in frames[:-1])
        assert "Zephyrine" in text

    @pytest.mark.parametrize("body,message", [
        ({"dataset_ids": ["x"]}, "`question` is required."),
        ({"question": "q"}, "`dataset_ids` is required."),
        ({"question": "q", "dataset_ids": "x"}, "`dataset_ids` should be a list."),
        # falsy values are "required" (upstream tests truth before the type)
        ({"question": "q", "dataset_ids": []}, "`dataset_ids` is required."),
        ({"question": "q", "dataset_ids": ""}, "`dataset_ids` is required."),
        ({"question": [None, None], "dataset_ids": []}, "`dataset_ids` is required."),
        ({"question": "q", "dataset_ids": ["nope"]}, "You don't own the dataset nope."),
    ])
    def test_sessions_ask_errors(self, chat_env, body, message):
        assert chat_env.api.post("/sessions/ask", json=body).json() == {"code": 102, "message": message}

    def test_related_questions(self, chat_env):
        res = chat_env.api.post("/sessions/related_questions", json={"question": "solar panels"}).json()
        assert res["code"] == 0
        assert len(res["data"]) >= 3 and all("solar panels" in q for q in res["data"])
        assert chat_env.api.post("/sessions/related_questions", json={}).json() == {"code": 102, "message": "`question` is required."}


# ---------------------------------------------------------------------------------------
# A configured provider (the local fake LLM)
# ---------------------------------------------------------------------------------------


class TestProviderModel:
    def test_context_reaches_the_model_and_streams(self, provider_chat_env, fake_llm_server):
        env = provider_chat_env
        chat = env.client.create_chat("echo", dataset_ids=[env.dataset_id],
                                      **sdk_llm(env.client, model_name="echo-model@OpenAI-API-Compatible", temperature=0.2))
        assert chat.llm.model_name == "echo-model@OpenAI-API-Compatible"
        session = chat.create_session()
        messages = list(session.ask(QUESTION, stream=True))
        contents = [m.content for m in messages if m.content]
        assert len(contents) >= 5, f"expected many deltas, got {len(contents)}"
        text = "".join(contents)
        assert text.startswith("ECHO:")
        assert "Zephyrine coating" in text, "the retrieved chunk text reached the model"
        assert f"user: {QUESTION}" in text
        assert "[ID:0]" in text, "the knowledge is numbered for citations"
        req = fake_llm_server[0].requests[-1]
        assert req["model"] == "echo-model" and req["stream"] is True and req["temperature"] == 0.2
        assert req["messages"][0]["role"] == "system" and "Zephyrine" in req["messages"][0]["content"]
        # Second turn: the history goes to the model too.
        list(session.ask("And the bees?", stream=False))
        roles = [m["role"] for m in fake_llm_server[0].requests[-1]["messages"]]
        assert roles == ["system", "user", "assistant", "user"]

    def test_reasoning_frames(self, provider_chat_env):
        env = provider_chat_env
        chat = env.client.create_chat("think", dataset_ids=[env.dataset_id],
                                      **sdk_llm(env.client, model_name="echo-think@OpenAI-API-Compatible"))
        session = chat.create_session()
        frames = sse_frames(env.api.post(f"/chats/{chat.id}/completions", json={"question": QUESTION, "session_id": session.id}, stream=True))
        flags = [k for f in frames[:-1] for k in ("start_to_think", "end_to_think") if f["data"].get(k)]
        assert flags == ["start_to_think", "end_to_think"]
        (listed,) = chat.list_sessions(id=session.id)
        assert listed.messages[-1]["content"].startswith("<think>Let me think")

    def test_provider_down_is_a_clear_error(self, provider_chat_env):
        env = provider_chat_env
        chat = env.client.create_chat("down", dataset_ids=[env.dataset_id],
                                      **sdk_llm(env.client, model_name="down-model@VLLM"))
        session = chat.create_session()
        frames = sse_frames(env.api.post(f"/chats/{chat.id}/completions", json={"question": QUESTION, "session_id": session.id}, stream=True))
        assert frames[-1] == {"code": 0, "data": True}
        err = frames[0]
        assert err["code"] == 500
        assert "down-model@VLLM" in err["message"] and "cannot reach" in err["message"]
        assert err["data"] == {"answer": f"**ERROR**: {err['message']}", "reference": []}
        res = env.api.post(f"/chats/{chat.id}/completions", json={"question": QUESTION, "session_id": session.id, "stream": False}).json()
        assert res["code"] == 500 and "cannot reach" in res["message"]
        (listed,) = chat.list_sessions(id=session.id)
        assert len(listed.messages) == 1, "a failed turn is not stored"

    def test_unconfigured_model_rejected(self, provider_chat_env):
        field = "llm_id" if SDK_026 else "model_name"  # the key each client sent
        with pytest.raises(Exception, match=f"`{field}` other@OpenAI-API-Compatible doesn't exist"):
            provider_chat_env.client.create_chat("x", **sdk_llm(provider_chat_env.client, model_name="other@OpenAI-API-Compatible"))
