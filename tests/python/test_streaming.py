"""Streamed completions reach the client while the model is still answering.

The stand-in LLM holds the rest of its answer after its first pieces (fake_llm.hold_after)
until the test has read a content frame: if anything between the model and the client
buffered the stream (the server, Lambda's streaming runner, the Function URL front), the
frame could not arrive while the answer is held, and the LLM's 30 s hold would run out
(recorded, and asserted on). No timing is measured.

Embedded: the server's own SSE. AWS: the RESPONSE_STREAM functions behind their Function
URLs (SessionsStreamFunction, OpenAiStreamFunction), as clients use them.
"""

from __future__ import annotations

import json

import requests
from openai import OpenAI

QUESTION = "What does the Zephyrine coating do?"
# More than the completion's frame buffer (16 tokens) so that a frame is due while held.
HELD_AFTER_PIECES = 60


def make_chat(env, name: str) -> str:
    res = env.api.post("/chats", json={"name": name, "dataset_ids": [env.dataset_id],
                                       "llm": {"model_name": "echo-model@OpenAI-API-Compatible"}}).json()
    assert res["code"] == 0, res
    return res["data"]["id"]


def test_openai_stream_first_frame_before_answer_ends(provider_chat_env, fake_llm_server, stream_urls):
    env, llm = provider_chat_env, fake_llm_server[0]
    chat_id = make_chat(env, "stream-openai")
    client = OpenAI(api_key=env.tenant.api_key, base_url=f"{stream_urls['openai']}/api/v1/chats_openai/{chat_id}",
                    max_retries=0, timeout=60)
    llm.hold_after(HELD_AFTER_PIECES)
    try:
        stream = iter(client.chat.completions.create(model="m", messages=[{"role": "user", "content": QUESTION}], stream=True))
        first = next(ch for ch in stream if ch.choices and ch.choices[0].delta.content)
        held_when_first_arrived = not llm.release.is_set() and not llm.hold_timed_out
        llm.stop_holding()
        rest = list(stream)
    finally:
        llm.stop_holding()
    assert held_when_first_arrived, "the first frame only arrived after the model's answer was released"
    text = first.choices[0].delta.content + "".join(ch.choices[0].delta.content or "" for ch in rest if ch.choices)
    assert text.startswith("ECHO:") and "Zephyrine coating" in text
    assert not llm.hold_timed_out


def test_chat_completion_stream_first_frame_before_answer_ends(provider_chat_env, fake_llm_server, stream_urls):
    env, llm = provider_chat_env, fake_llm_server[0]
    chat_id = make_chat(env, "stream-session")
    url = f"{stream_urls['sessions']}/api/v1/chats/{chat_id}/completions"
    headers = {"Authorization": f"Bearer {env.tenant.api_key}"}
    llm.hold_after(HELD_AFTER_PIECES)
    try:
        resp = requests.post(url, headers=headers, json={"question": QUESTION, "stream": True}, stream=True, timeout=60)
        assert resp.status_code == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        lines = resp.iter_lines(decode_unicode=True)
        first = None
        for line in lines:
            if line.startswith("data:"):
                frame = json.loads(line[len("data:"):])
                if isinstance(frame.get("data"), dict) and frame["data"].get("answer"):
                    first = frame
                    break
        held_when_first_arrived = not llm.release.is_set() and not llm.hold_timed_out
        llm.stop_holding()
        rest = [json.loads(ln[len("data:"):]) for ln in lines if ln.startswith("data:")]
    finally:
        llm.stop_holding()
    assert first is not None, "no answer frame"
    assert held_when_first_arrived, "the first frame only arrived after the model's answer was released"
    assert rest and rest[-1]["data"] is True, "the stream ends with the final `data: true` frame"
    assert not llm.hold_timed_out
