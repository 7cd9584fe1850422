"""The OpenAI-compatible chat route (O1, frames of 8.2) through the official `openai` client.

`extra_body={"reference": True}` in the OpenAI client is flattened into top-level JSON keys;
lambdarag reads those as well as a literal `extra_body` object (a documented divergence:
upstream reads only the literal object).
"""

from __future__ import annotations

import json

import pytest
import requests
from openai import OpenAI

BUILTIN_HEADER = "(Built-in extractive answer — configure a chat model provider for generated answers.)"
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
            request.getfixturevalue(name).api.delete("/chats", json={"ids": None})


def make_chat(env, name, **extra) -> str:
    res = env.api.post("/chats", json={"name": name, "dataset_ids": [env.dataset_id], **extra}).json()
    assert res["code"] == 0, res
    return res["data"]["id"]


def openai_client(env, chat_id) -> OpenAI:
    return OpenAI(api_key=env.tenant.api_key, base_url=f"{env.api.base_url}/api/v1/chats_openai/{chat_id}", max_retries=0)


def raw_frames(resp: requests.Response) -> list:
    out = []
    for line in resp.iter_lines(decode_unicode=True):
        if not line:
            continue
        assert line.startswith("data:") and not line.startswith("data: "), line
        payload = line[len("data:"):]
        out.append(payload if payload == "[DONE]" else json.loads(payload))
    return out


class TestBuiltin:
    def test_non_stream(self, chat_env):
        chat_id = make_chat(chat_env, "oa-plain")
        c = openai_client(chat_env, chat_id).chat.completions.create(
            model="my-model", messages=[{"role": "system", "content": "ignored"}, {"role": "user", "content": QUESTION}],
            stream=False)
        assert c.id == f"chatcmpl-{chat_id}"
        assert c.object == "chat.completion"
        assert c.model == "my-model", "the request's model is echoed"
        choice = c.choices[0]
        assert choice.finish_reason == "stop" and choice.message.role == "assistant"
        assert choice.message.content.startswith(BUILTIN_HEADER)
        assert "Zephyrine" in choice.message.content
        assert "[ID:" not in choice.message.content, "no citations unless references are asked for"
        u = c.usage
        assert u.prompt_tokens > 0 and u.completion_tokens > 0
        assert u.total_tokens == u.prompt_tokens + u.completion_tokens
        assert u.completion_tokens_details.accepted_prediction_tokens == u.completion_tokens
        assert u.completion_tokens_details.reasoning_tokens > u.prompt_tokens, "tokens of all input messages"
        assert u.completion_tokens_details.rejected_prediction_tokens == 0

    def test_non_stream_with_reference_via_extra_body(self, chat_env):
        chat_id = make_chat(chat_env, "oa-ref")
        c = openai_client(chat_env, chat_id).chat.completions.create(
            model="m", messages=[{"role": "user", "content": QUESTION}], stream=False, extra_body={"reference": True})
        msg = c.choices[0].message
        assert "[ID:0]" in msg.content
        reference = msg.model_extra["reference"]
        assert reference and set(reference[0]) == CHUNKS_FORMAT_KEYS
        assert any(r["document_name"] == "solar.txt" for r in reference)

    def test_stream(self, chat_env):
        chat_id = make_chat(chat_env, "oa-stream")
        chunks = list(openai_client(chat_env, chat_id).chat.completions.create(
            model="m", messages=[{"role": "user", "content": QUESTION}], stream=True, extra_body={"reference": True}))
        assert len(chunks) >= 3
        body, last = chunks[:-1], chunks[-1]
        for ch in body:
            assert ch.id == f"chatcmpl-{chat_id}" and ch.model == "model" and ch.object == "chat.completion.chunk"
            assert ch.usage is None and ch.choices[0].finish_reason is None
            assert ch.choices[0].delta.role == "assistant"
        text = "".join(ch.choices[0].delta.content or "" for ch in body)
        assert text.startswith(BUILTIN_HEADER) and "[ID:0]" in text
        assert last.choices[0].finish_reason == "stop"
        assert last.choices[0].delta.content is None
        assert last.usage.prompt_tokens > 0 and last.usage.completion_tokens > 0
        extra = last.choices[0].delta.model_extra
        assert extra["final_content"] == text
        assert extra["reference"] and set(extra["reference"][0]) == CHUNKS_FORMAT_KEYS

    def test_stream_raw_frames(self, chat_env):
        chat_id = make_chat(chat_env, "oa-raw")
        resp = chat_env.api.post(f"/chats_openai/{chat_id}/chat/completions", stream=True, json={
            "model": "m", "messages": [{"role": "user", "content": QUESTION}], "extra_body": {"reference": False}})
        assert resp.headers["Content-Type"] == "text/event-stream; charset=utf-8"
        frames = raw_frames(resp)
        assert frames[-1] == "[DONE]"
        final = frames[-2]
        assert final["choices"][0]["finish_reason"] == "stop"
        assert set(final["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
        assert "reference" not in final["choices"][0]["delta"]
        first = frames[0]
        assert first["system_fingerprint"] == "" and first["usage"] is None
        assert first["choices"][0]["delta"] == {"content": first["choices"][0]["delta"]["content"], "role": "assistant",
                                                "function_call": None, "tool_calls": None, "reasoning_content": None}

    def test_literal_extra_body_and_metadata_condition(self, chat_env):
        chat_id = make_chat(chat_env, "oa-literal")
        cond = {"conditions": [{"name": "topic", "comparison_operator": "is", "value": "nothing-has-this"}]}
        # Make sure at least one document has the key, so the condition applies.
        ds = chat_env.client.list_datasets(id=chat_env.dataset_id)[0]
        (doc,) = ds.list_documents(id=chat_env.doc_ids["solar.txt"])
        doc.update({"meta_fields": {"topic": "energy"}})
        res = chat_env.api.post(f"/chats_openai/{chat_id}/chat/completions", json={
            "model": "m", "stream": False, "messages": [{"role": "user", "content": QUESTION}],
            "extra_body": {"reference": True, "metadata_condition": cond}}).json()
        assert res["choices"][0]["message"]["reference"] == []
        # Nothing retrieved: the chat's default empty_response short-circuits the model.
        assert res["choices"][0]["message"]["content"] == "Sorry! No relevant content was found in the knowledge base!"

    @pytest.mark.parametrize("body,message", [
        ({"model": "m", "messages": [], "extra_body": "x"}, "extra_body must be an object."),
        ({"model": "m", "messages": []}, "You have to provide messages."),
        ({"model": "m", "messages": [{"role": "assistant", "content": "a"}]}, "The last content of this conversation is not from user."),
        ({"model": "m", "messages": [{"role": "user", "content": "q"}], "metadata_condition": "x"}, "metadata_condition must be an object."),
    ])
    def test_errors(self, chat_env, body, message):
        chat_id = make_chat(chat_env, "oa-err")
        assert chat_env.api.post(f"/chats_openai/{chat_id}/chat/completions", json=body).json() == {"code": 102, "message": message}

    def test_required_arguments_before_auth(self, chat_env):
        for key in (None, "bad-key"):
            res = chat_env.api.post("/chats_openai/x/chat/completions", key=key, json={"model": "m"}).json()
            assert res == {"code": 101, "message": "required argument are missing: messages; ", "data": None}
        res = chat_env.api.post("/chats_openai/x/chat/completions", key=None, data="nope").json()
        assert res["message"] == "required argument are missing: model,messages; "
        res = chat_env.api.post("/chats_openai/x/chat/completions", key=None, json={"model": "m", "messages": []}).json()
        assert res == {"code": 0, "message": "`Authorization` can't be empty", "data": False}
        res = chat_env.api.post("/chats_openai/nope/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "q"}]}).json()
        assert res == {"code": 102, "message": "You don't own the chat nope"}


class TestProvider:
    def test_stream_through_fake_llm(self, provider_chat_env, fake_llm_server):
        env = provider_chat_env
        chat_id = make_chat(env, "oa-echo", llm={"model_name": "echo-model@OpenAI-API-Compatible"})
        stream = openai_client(env, chat_id).chat.completions.create(
            model="m", messages=[{"role": "user", "content": QUESTION}], stream=True, extra_body={"reference": True})
        chunks = list(stream)
        pieces = [ch.choices[0].delta.content for ch in chunks[:-1] if ch.choices[0].delta.content]
        assert len(pieces) >= 5, "real token deltas, buffered to ~16 tokens"
        text = "".join(pieces)
        assert text.startswith("ECHO:") and "Zephyrine coating" in text
        assert chunks[-1].usage.completion_tokens > 0
        assert fake_llm_server[0].requests[-1]["stream"] is True

    def test_reasoning_goes_to_reasoning_content(self, provider_chat_env):
        env = provider_chat_env
        chat_id = make_chat(env, "oa-think", llm={"model_name": "echo-think@OpenAI-API-Compatible"})
        chunks = list(openai_client(env, chat_id).chat.completions.create(
            model="m", messages=[{"role": "user", "content": QUESTION}], stream=True))
        reasoning = "".join(ch.choices[0].delta.model_extra.get("reasoning_content") or "" for ch in chunks)
        assert reasoning == "Let me think about the passages first."
        thinking = [ch for ch in chunks if ch.choices[0].delta.model_extra.get("reasoning_content")]
        assert all(ch.choices[0].delta.content is None for ch in thinking)

    def test_provider_down(self, provider_chat_env):
        env = provider_chat_env
        chat_id = make_chat(env, "oa-down", llm={"model_name": "down-model@VLLM"})
        client = openai_client(env, chat_id)
        chunks = list(client.chat.completions.create(model="m", messages=[{"role": "user", "content": QUESTION}], stream=True))
        assert chunks[0].choices[0].delta.content.startswith("**ERROR**: ")
        assert "cannot reach" in chunks[0].choices[0].delta.content
        assert chunks[-1].choices[0].finish_reason == "stop"
        c = client.chat.completions.create(model="m", messages=[{"role": "user", "content": QUESTION}], stream=False)
        assert c.choices[0].message.content.startswith("**ERROR**: ") and "down-model@VLLM" in c.choices[0].message.content


class TestContentParts:
    """OpenAI clients may send `content` as an array of parts; v0.27 joins the text parts
    with newlines, and lambdarag reads them so on both routes."""

    @pytest.mark.parametrize("route", ["chats_openai/{id}", "openai/{id}"])
    def test_text_parts_reach_the_model_joined(self, provider_chat_env, fake_llm_server, route):
        env = provider_chat_env
        chat_id = make_chat(env, "oa-parts", llm={"model_name": "echo-model@OpenAI-API-Compatible"})
        client = OpenAI(api_key=env.tenant.api_key, base_url=f"{env.api.base_url}/api/v1/{route.format(id=chat_id)}",
                        max_retries=0)
        c = client.chat.completions.create(model="model", stream=False, messages=[{"role": "user", "content": [
            {"type": "text", "text": "How do solar panels"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            {"type": "text", "text": "with the Zephyrine coating work?"}]}])
        assert "Zephyrine coating" in c.choices[0].message.content
        sent = fake_llm_server[0].requests[-1]["messages"]
        assert "How do solar panels\nwith the Zephyrine coating work?" in sent[-1]["content"]
        assert "base64" not in json.dumps(sent), "non-text parts are dropped"


class TestReferenceMetadata:
    """v0.27's `reference_metadata`: each reference chunk carries its document's metadata."""

    def ask(self, env, chat_id, route, **extra):
        res = env.api.post(f"/{route}/{chat_id}/chat/completions", json={
            "model": "model", "stream": False, "messages": [{"role": "user", "content": QUESTION}],
            "extra_body": {"reference": True, **extra}}).json()
        return res

    @pytest.mark.parametrize("route", ["chats_openai", "openai"])
    def test_document_metadata_on_reference_chunks(self, chat_env, route):
        chat_id = make_chat(chat_env, "oa-refmeta")
        solar = chat_env.doc_ids["solar.txt"]
        ok = chat_env.api.put(f"/datasets/{chat_env.dataset_id}/documents/{solar}",
                              json={"meta_fields": {"topic": "energy", "year": 2024}}).json()
        assert ok["code"] == 0, ok
        refs = self.ask(chat_env, chat_id, route, reference_metadata={"include": True})["choices"][0]["message"]["reference"]
        assert refs, "the question retrieves chunks"
        by_doc = {r["document_id"]: r["document_metadata"] for r in refs}
        assert by_doc[solar] == {"topic": "energy", "year": 2024}
        refs = self.ask(chat_env, chat_id, route, reference_metadata={"include": True, "fields": ["year"]})["choices"][0]["message"]["reference"]
        assert {r["document_id"]: r["document_metadata"] for r in refs}[solar] == {"year": 2024}
        refs = self.ask(chat_env, chat_id, route, reference_metadata={"include": False})["choices"][0]["message"]["reference"]
        assert all("document_metadata" not in r for r in refs)

    def test_errors(self, chat_env):
        chat_id = make_chat(chat_env, "oa-refmeta-err")
        assert self.ask(chat_env, chat_id, "openai", reference_metadata="yes") == {
            "code": 102, "message": "reference_metadata must be an object."}
        assert self.ask(chat_env, chat_id, "openai", reference_metadata={"include": True, "fields": "year"}) == {
            "code": 102, "message": "reference_metadata.fields must be an array."}
