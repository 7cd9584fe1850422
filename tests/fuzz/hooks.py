"""schemathesis hooks for tests/fuzz/run.sh (loaded through SCHEMATHESIS_HOOKS).

- `envelope`: a check that every reply has the contract's shape for its operation: the
  `{code, message, data}` envelope for JSON replies, with the exceptions the contract has
  (Dify's bare `records`, OpenAI's `chat.completion`, the SSE routes, the file download,
  this document and its page).
- path parameters and id fields of bodies: generated ids are sometimes replaced by real ids of tenant A (the
  fuzzing tenant, so deep code paths run) or tenant B (whose data must survive: the run
  checks B's snapshot afterwards). Ids come from $FUZZ_IDS (JSON: {"a": {...}, "b": {...}}).
- counters: requests per operation and network errors (timeouts) into $FUZZ_STATS.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
from collections import Counter

import schemathesis
from hypothesis import strategies as st

_lock = threading.Lock()
_requests: Counter = Counter()
_network_errors: Counter = Counter()
_codes: Counter = Counter()
_exceptions: Counter = Counter()

with open(os.environ["FUZZ_IDS"]) as f:
    _IDS = json.load(f)

SSE_OPS = {
    ("POST", "/api/v1/chats/{chat_id}/completions"),
    ("POST", "/api/v1/sessions/ask"),
    ("POST", "/api/v1/chats_openai/{chat_id}/chat/completions"),
    # v0.27's renamed chat and OpenAI-compatible routes
    ("POST", "/api/v1/chat/completions"),
    ("POST", "/api/v1/openai/{chat_id}/chat/completions"),
    # search apps (v0.27)
    ("POST", "/api/v1/searches/{search_id}/completion"),
    ("POST", "/api/v1/searches/{search_id}/completions"),
    # agents (contract 8.3, 8.4; v0.27's unified route)
    ("POST", "/api/v1/agents/{agent_id}/completions"),
    ("POST", "/api/v1/agents/chat/completions"),
    ("POST", "/api/v1/agents_openai/{agent_id}/chat/completions"),
}
OPENAI = {
    ("POST", "/api/v1/chats_openai/{chat_id}/chat/completions"),
    ("POST", "/api/v1/openai/{chat_id}/chat/completions"),
    ("POST", "/api/v1/agents_openai/{agent_id}/chat/completions"),
    # `openai-compatible: true` answers as the OpenAI route does
    ("POST", "/api/v1/agents/chat/completions"),
}
# Agent completions stream engine events (`{"event", "data", "session_id", ...}`), 8.4.
AGENT_EVENTS = {
    ("POST", "/api/v1/agents/{agent_id}/completions"),
    ("POST", "/api/v1/agents/chat/completions"),
}
# Dify's bare `records` replies and HTTP statuses, on the POST and v0.27's GET form.
DIFY = {("POST", "/api/v1/dify/retrieval"), ("GET", "/api/v1/dify/retrieval")}
DOWNLOADS = {("GET", "/api/v1/datasets/{dataset_id}/documents/{document_id}"), ("GET", "/api/v1/documents/{document_id}")}
# v0.27's inline preview and its compat aliases: the file with its own MIME type.
PREVIEWS = {
    ("GET", "/api/v1/documents/{document_id}/preview"),
    ("GET", "/api/v1/document/get/{document_id}"),
    ("GET", "/v1/document/get/{document_id}"),
}
DOCUMENT = ("GET", "/api/v1/openapi.json")
PAGE = ("GET", "/api/v1/docs")
# The file manager's downloads: the bytes with upstream's `application/<ext>` / `image/<ext>`.
FILE_DOWNLOADS = {
    ("GET", "/api/v1/file/get/{file_id}"),
    ("GET", "/api/v1/files/{file_id}"),
    # Attachments (what POST /documents/upload stored), typed by their `ext` hint.
    ("GET", "/api/v1/file/download/{attachment_id}"),
    ("GET", "/api/v1/document/download/{attachment_id}"),
    ("GET", "/v1/document/download/{attachment_id}"),
    ("GET", "/api/v1/agents/attachments/{attachment_id}/download"),
    ("GET", "/api/v1/agents/attachments/{attachment_id}/preview"),
    # A chunk's image, typed by its bytes.
    ("GET", "/api/v1/documents/images/{image_id}"),
}
# Audio: speech is MP3 bytes; a streamed transcription's frames are `{event, text}`.
SPEECH = {("POST", "/api/v1/tts"), ("POST", "/api/v1/chat/audio/speech")}
TRANSCRIPTIONS = {("POST", "/api/v1/sequence2txt"), ("POST", "/api/v1/chat/audio/transcription")}
PING = ("GET", "/api/v1/system/ping")
# The health check's body is upstream's component map, not an envelope.
HEALTH = {("GET", "/api/v1/system/healthz"), ("GET", "/v1/system/healthz")}


def _key(case) -> tuple[str, str]:
    # The method sent (the coverage phase also sends undocumented methods to each path).
    return (case.method or case.operation.method).upper(), case.operation.path


def _dump() -> None:
    path = os.environ.get("FUZZ_STATS")
    if path:
        with _lock, open(path, "w") as f:
            json.dump({
                "requests": {f"{m} {p}": n for (m, p), n in sorted(_requests.items())},
                "network_errors": {f"{m} {p}": n for (m, p), n in sorted(_network_errors.items())},
                "replies": dict(_codes.most_common()),
                "exception_replies": dict(_exceptions.most_common()),
            }, f, indent=1)


atexit.register(_dump)


@schemathesis.hook
def after_call(context, case, response):
    code, message = None, None
    try:
        body = json.loads(response.content)
        if isinstance(body, dict):
            code, message = body.get("code"), body.get("message")
    except ValueError:
        pass
    with _lock:
        _requests[_key(case)] += 1
        _codes[f"HTTP {response.status_code} code {code}"] += 1
        # Exception-class replies (code 100 / 500) are where internal errors would hide.
        if code in (100, 500) and isinstance(message, str):
            _exceptions[f"{_key(case)[0]} {_key(case)[1]}: {message[:160]}"] += 1


@schemathesis.hook
def after_network_error(context, case, request):
    with _lock:
        _network_errors[_key(case)] += 1


@schemathesis.hook
def flatmap_path_parameters(context, path_parameters):
    if not path_parameters:
        return st.just(path_parameters)
    options = [path_parameters]
    for tenant in ("a", "b"):
        ids = _IDS.get(tenant) or {}
        agents = "/agents/" in context.operation.path
        real = {
            k: ids.get("agent_session_id" if agents and k == "session_id" else k, v)
            for k, v in path_parameters.items()
        }
        options.append(real)
        # Real ids except one generated one: mismatched parents and children.
        for k in path_parameters:
            options.append({**real, k: path_parameters[k]})
    return st.sampled_from(options)


# Body keys that carry ids, and the id kind each holds (`ids` depends on the route).
_BODY_IDS = {
    "knowledge_id": ("dataset_id", False),
    "dataset_ids": ("dataset_id", True),
    "document_ids": ("document_id", True),
    "chunk_ids": ("chunk_id", True),
    "session_id": ("session_id", False),
    "agent_id": ("agent_id", False),
}


def _ids_kind(path: str) -> str:
    if "/agents/" in path and path.rstrip("/").endswith("sessions"):
        return "agent_session_id"
    for segment, kind in (("sessions", "session_id"), ("chats", "chat_id"), ("documents", "document_id")):
        if path.rstrip("/").endswith(segment):
            return kind
    return "dataset_id"


@schemathesis.hook
def flatmap_body(context, body):
    if not isinstance(body, dict):
        return st.just(body)
    keys = dict(_BODY_IDS, ids=(_ids_kind(context.operation.path), True))
    present = {k: v for k, v in keys.items() if k in body}
    if not present:
        return st.just(body)
    options = [body]
    for tenant in ("a", "b"):
        ids = _IDS.get(tenant) or {}
        real = dict(body)
        for key, (kind, is_list) in present.items():
            if kind in ids:
                real[key] = [ids[kind]] if is_list else ids[kind]
        options.append(real)
    return st.sampled_from(options)


def _is_envelope(v) -> bool:
    return (
        isinstance(v, dict)
        and isinstance(v.get("code"), int)
        and not isinstance(v.get("code"), bool)
        and isinstance(v.get("message", ""), (str, bool))
    )


def _sse_frames(text: str) -> list:
    frames = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        block = block.strip()
        if not block:
            continue
        assert block.startswith("data:"), f"SSE block without `data:`: {block[:200]!r}"
        payload = block[len("data:"):].strip()
        if payload == "[DONE]":
            continue
        frames.append(json.loads(payload))
    return frames


@schemathesis.check
def envelope(ctx, response, case):
    key = _key(case)
    if key[0] == "OPTIONS":
        # Answered by the CORS layer (as Flask answers OPTIONS itself): 200, no body.
        assert response.status_code == 200 and not response.content, "OPTIONS with a body"
        return True
    ctype = (response.headers.get("content-type") or [""])[0].split(";")[0].strip().lower()
    if key == PAGE:
        assert ctype == "text/html", f"docs page served as {ctype!r}"
        return True
    if key == PING:
        assert ctype == "text/plain" and response.content == b"pong", f"ping: {response.content[:100]!r}"
        return True
    if key in HEALTH:
        body = json.loads(response.content)
        assert body.get("status") == "ok" and response.status_code == 200, f"unhealthy: {body}"
        return True
    if key in SPEECH and ctype == "audio/mpeg":
        return True
    if ctype == "text/event-stream":
        assert key in SSE_OPS or key in TRANSCRIPTIONS, f"SSE reply from {key}"
        frames = _sse_frames(response.content.decode("utf-8"))
        assert frames, "an SSE reply without frames"
        for fr in frames:
            ok = (
                _is_envelope(fr)
                or (key in OPENAI and fr.get("object") == "chat.completion.chunk")
                or (key in AGENT_EVENTS and isinstance(fr.get("event"), str) and isinstance(fr.get("data"), dict))
                or (key in TRANSCRIPTIONS and fr.get("event") in ("final", "error") and isinstance(fr.get("text"), str))
            )
            assert ok, f"SSE frame outside the contract's shapes: {str(fr)[:300]}"
        return True
    if (key in FILE_DOWNLOADS or key in PREVIEWS) and ctype != "application/json":
        return True
    if ctype == "application/octet-stream":
        assert key in DOWNLOADS, f"a file body from {key}"
        return True
    assert ctype == "application/json", f"unexpected content type {ctype!r} (HTTP {response.status_code})"
    body = json.loads(response.content)
    if key == DOCUMENT:
        assert body.get("openapi") == "3.1.0"
        return True
    if key in DIFY and response.status_code == 200 and isinstance(body, dict) and "records" in body:
        assert isinstance(body["records"], list)
        return True
    if key in OPENAI and isinstance(body, dict) and body.get("object") == "chat.completion":
        assert isinstance(body.get("choices"), list)
        return True
    assert _is_envelope(body), f"reply outside the {{code, message, data}} envelope: {str(body)[:300]}"
    # The memories, messages and v0.27 audio routes authenticate like upstream's
    # login_required: a request without a valid key (schemathesis's coverage phase sends
    # some) is HTTP 401.
    login = key[1].startswith(("/api/v1/memories", "/api/v1/messages", "/api/v1/chat/audio/"))
    if key not in DIFY:
        # Only the 404 fallback (an empty path segment, say) and Dify use other statuses.
        assert (
            response.status_code == 200
            or (response.status_code == 404 and body.get("code") == 404)
            or (login and response.status_code == 401 and body.get("code") == 401)
        ), f"HTTP {response.status_code} with {str(body)[:200]}"
    return True
