"""Every sample event in events/ through its function's real binary, on the local AWS stack.

Each `events/*.json` file is posted, placeholders filled in, to the Invoke API of the
runtime emulator that runs the function's binary (`functions.<LogicalId>.invoke_url` in
target/local-aws/stack.json; `streaming_invoke_url` for the RESPONSE_STREAM functions), so
the event reaches the binary exactly as Lambda would hand it over: no front, no
API-Gateway-shaped translation in between. What the placeholders name (a dataset, a
document, a chunk, a chat, a session, an object in the bucket) is created through the
API (LAMBDARAG_BASE_URL, the stack's front) first, for a tenant of this module's own, and
the reply is checked for what the event should have done.

`test_every_event_file_has_a_case` fails on a file in events/ that no test here feeds, so a
new event cannot be added untested.

Runs only on the AWS deployment (`LAMBDARAG_TARGET=aws`, see deployments.py).
"""

from __future__ import annotations

import base64
import functools
import json
import re
import struct
import time
import urllib.parse
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from deployments import NOT_ON_EMBEDDED, ON_AWS

if not ON_AWS:
    pytest.skip(NOT_ON_EMBEDDED["test_lambda_events.py"], allow_module_level=True)

from conftest import Api, Tenant, create_tenant  # noqa: E402 - only on AWS

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "events"
STACK_JSON = REPO / "target" / "local-aws" / "stack.json"
PDF_FIXTURE = REPO / "shared" / "ingest" / "tests" / "fixtures" / "solar_installation.pdf"

# What events/documents-upload.json carries (multipart, base64): one file.
UPLOADED_NAME = "lambda-events.txt"
UPLOADED_TEXT = (
    "Lambda events sample.\n"
    "The Quillfeather lighthouse on Marrow Point flashes green every nine seconds.\n"
    "Its keeper writes the tide height in the logbook at dawn and at dusk.\n"
)
# The chunk events/chunks-add.json adds, and what events/chunks-update.json makes of it.
ADDED_CHUNK = "Velmora silk kites stay aloft over the Quillfeather lighthouse for a whole week."
UPDATED_CHUNK = "Velmora silk kites stay aloft over the Quillfeather lighthouse for eight days."
# The literals the worker events carry where a real notification has real values.
SAMPLE_BUCKET = "lambdarag-documents"
SQS_SAMPLE_ETAG = "d41d8cd98f00b204e9800998ecf8427e"
S3_SAMPLE_ETAG = "9b2cf535f27731c974343645a3985328-14"

# A response-streaming function's reply: a JSON prelude (status, headers), 8 NUL bytes, the body.
PRELUDE_SEPARATOR = b"\0" * 8
PLACEHOLDER = re.compile(r"LAMBDARAG_[A-Z_]+")

# ---------------------------------------------------------------------------------------
# Which test feeds which event file.
# ---------------------------------------------------------------------------------------

CASES: dict[str, str] = {}  # event file -> the test that feeds it
SENT: set[str] = set()  # event files posted during this run


def feeds(event_file: str):
    """Registers the decorated test as the case for `event_file`, and checks that it did
    post that file to its function."""

    def register(test):
        assert event_file not in CASES, f"{event_file} already has a case: {CASES[event_file]}"
        CASES[event_file] = test.__name__

        @functools.wraps(test)
        def run(*args, **kwargs):
            SENT.discard(event_file)
            test(*args, **kwargs)
            assert event_file in SENT, f"{test.__name__} never sent events/{event_file}"

        return run

    return register


# ---------------------------------------------------------------------------------------
# The stack, a tenant of our own, and the resources the placeholders name.
# ---------------------------------------------------------------------------------------


@dataclass
class World:
    stack: dict
    tenant: Tenant
    api: Api

    def function(self, logical_id: str) -> dict:
        fns = self.stack["functions"]
        assert logical_id in fns, f"{logical_id} is not in stack.json's functions: {sorted(fns)}"
        return fns[logical_id]


@pytest.fixture(scope="module")
def world(deployment, base_url) -> World:
    try:
        stack = json.loads(STACK_JSON.read_text())
    except FileNotFoundError:
        pytest.fail(f"no {STACK_JSON}: start the local AWS stack (scripts/local-aws.sh up)")
    if "functions" not in stack:
        pytest.fail(f"{STACK_JSON} has no `functions` (the invoke URLs): the running stack predates them")
    assert stack["base_url"].rstrip("/") == base_url, (
        f"LAMBDARAG_BASE_URL ({base_url}) is not the stack in {STACK_JSON} ({stack['base_url']})"
    )
    tenant = create_tenant(deployment.server.data_dir, f"lambda-events-{uuid.uuid4().hex[:8]}")
    w = World(stack=stack, tenant=tenant, api=Api(base_url, tenant.api_key))
    yield w
    # Everything this module created belongs to its tenant.
    chats = w.api.get("/chats", params={"page_size": 1000}).json().get("data") or []
    if chats:
        w.api.delete("/chats", json={"ids": [c["id"] for c in chats]})
    res = w.api.delete("/datasets", json={"ids": None}).json()
    assert res.get("code") == 0, f"cleanup failed: {res}"


def ok(res: requests.Response):
    body = res.json()
    assert body.get("code") == 0, f"{res.request.method} {res.url}: {body}"
    return body.get("data")


def new_dataset(w: World, prefix: str = "le") -> str:
    return ok(w.api.post("/datasets", json={"name": f"{prefix}-{uuid.uuid4().hex[:12]}"}))["id"]


@pytest.fixture
def dataset(world) -> str:
    ds = new_dataset(world)
    yield ds
    world.api.delete("/datasets", json={"ids": [ds]})


def upload(w: World, dataset_id: str, name: str, content: bytes) -> dict:
    [doc] = ok(w.api.post(f"/datasets/{dataset_id}/documents", files={"file": (name, content)}))
    return doc


@pytest.fixture
def document(world, dataset) -> dict:
    """A document (uploaded through the API, not parsed) of a fresh dataset."""
    return upload(world, dataset, UPLOADED_NAME, UPLOADED_TEXT.encode())


def docs_of(w: World, dataset_id: str) -> list[dict]:
    return ok(w.api.get(f"/datasets/{dataset_id}/documents", params={"page_size": 100}))["docs"]


def doc_of(w: World, dataset_id: str, doc_id: str) -> dict:
    [doc] = ok(w.api.get(f"/datasets/{dataset_id}/documents", params={"id": doc_id}))["docs"]
    return doc


def wait_run(w: World, dataset_id: str, doc_id: str, until=("DONE", "FAIL", "CANCEL"), timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        doc = doc_of(w, dataset_id, doc_id)
        if doc["run"] in until:
            return doc
        assert time.monotonic() < deadline, f"document {doc_id} still {doc['run']} after {timeout}s: {doc['progress_msg']}"
        time.sleep(0.3)


def wait_for_document(w: World, dataset_id: str, name: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        found = [d for d in docs_of(w, dataset_id) if d["name"] == name]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"no document {name!r} in {dataset_id} after {timeout}s"
        time.sleep(0.3)


def chunk_ids(w: World, dataset_id: str, doc_id: str) -> dict[str, dict]:
    data = ok(w.api.get(f"/datasets/{dataset_id}/documents/{doc_id}/chunks", params={"page_size": 100}))
    return {c["id"]: c for c in data["chunks"]}


def add_chunk(w: World, dataset_id: str, doc_id: str, content: str = ADDED_CHUNK) -> str:
    return ok(w.api.post(f"/datasets/{dataset_id}/documents/{doc_id}/chunks", json={"content": content}))["chunk"]["id"]


@dataclass
class Corpus:
    dataset_id: str
    doc_id: str


@pytest.fixture(scope="module")
def corpus(world) -> Corpus:
    """A dataset whose one document (the upload event's text) is parsed: what chats link."""
    ds = new_dataset(world, "le-corpus")
    doc = upload(world, ds, UPLOADED_NAME, UPLOADED_TEXT.encode())
    ok(world.api.post(f"/datasets/{ds}/chunks", json={"document_ids": [doc["id"]]}))
    parsed = wait_run(world, ds, doc["id"])
    assert parsed["run"] == "DONE", parsed
    return Corpus(dataset_id=ds, doc_id=doc["id"])


def new_chat(w: World, corpus: Corpus) -> str:
    return ok(w.api.post("/chats", json={"name": f"le-chat-{uuid.uuid4().hex[:12]}", "dataset_ids": [corpus.dataset_id]}))["id"]


@pytest.fixture
def chat(world, corpus) -> str:
    chat_id = new_chat(world, corpus)
    yield chat_id
    world.api.delete("/chats", json={"ids": [chat_id]})


@pytest.fixture(scope="module")
def session_chat(world, corpus) -> str:
    """One chat (linked to the corpus) for the session and completion events."""
    chat_id = new_chat(world, corpus)
    yield chat_id
    world.api.delete("/chats", json={"ids": [chat_id]})


def new_session(w: World, chat_id: str) -> str:
    return ok(w.api.post(f"/chats/{chat_id}/sessions", json={"name": f"le-session-{uuid.uuid4().hex[:8]}"}))["id"]


def sessions_of(w: World, chat_id: str) -> dict[str, dict]:
    return {s["id"]: s for s in ok(w.api.get(f"/chats/{chat_id}/sessions", params={"page_size": 100}))}


# ---------------------------------------------------------------------------------------
# Sending an event and reading the reply.
# ---------------------------------------------------------------------------------------


def event_text(w: World, event_file: str, subs: dict[str, str]) -> str:
    raw = (EVENTS / event_file).read_text()
    for placeholder, value in {"LAMBDARAG_TEST_KEY": w.tenant.api_key, **subs}.items():
        raw = raw.replace(placeholder, value)
    left = sorted(set(PLACEHOLDER.findall(raw)))
    assert not left, f"events/{event_file}: placeholders left unfilled: {left}"
    return raw


def post_event(w: World, logical_id: str, event_file: str, subs: dict[str, str], *, streaming: bool = False,
               timeout: float = 300) -> requests.Response:
    assert event_file in CASES, f"events/{event_file} is sent by no registered case"
    fn = w.function(logical_id)
    url = fn["streaming_invoke_url"] if streaming else fn["invoke_url"]
    res = requests.post(url, data=event_text(w, event_file, subs).encode(),
                        headers={"content-type": "application/json"}, timeout=timeout)
    SENT.add(event_file)
    assert res.status_code == 200, f"invoking {logical_id} with {event_file}: HTTP {res.status_code}: {res.text[:500]}"
    assert not res.headers.get("x-amz-function-error"), f"{logical_id} failed on {event_file}: {res.text[:500]}"
    return res


@dataclass
class HttpReply:
    """A payload-2.0 HTTP response as the function returned it."""

    raw: dict
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


def http_event(w: World, logical_id: str, event_file: str, subs: dict[str, str] | None = None) -> HttpReply:
    raw = post_event(w, logical_id, event_file, subs or {}).json()
    assert isinstance(raw, dict) and "statusCode" in raw, f"{event_file}: not an HTTP response: {raw}"
    body = raw.get("body") or ""
    data = base64.b64decode(body) if raw.get("isBase64Encoded") else body.encode()
    headers = {k.lower(): v for k, v in (raw.get("headers") or {}).items()}
    return HttpReply(raw=raw, status=int(raw["statusCode"]), headers=headers, body=data)


def envelope(reply: HttpReply, status: int = 200, code: int = 0):
    """The `{code, message, data}` body of a JSON reply; its `data`."""
    assert reply.status == status, f"HTTP {reply.status}: {reply.body[:500]!r}"
    assert reply.headers.get("content-type", "").startswith("application/json"), reply.headers
    body = reply.json()
    assert body.get("code") == code, body
    return body.get("data")


def sse_frames(body: bytes) -> list:
    """The JSON (or `[DONE]`) payloads of an SSE body's `data:` lines."""
    frames = []
    for block in body.decode().split("\n\n"):
        for line in block.splitlines():
            if line.startswith("data:"):
                payload = line[5:].strip()
                frames.append(payload if payload == "[DONE]" else json.loads(payload))
    return frames


def _event_stream_messages(data: bytes):
    """The messages of an `application/vnd.amazon.eventstream` body: (headers, payload)."""
    pos = 0
    while pos < len(data):
        total, headers_len = struct.unpack_from(">II", data, pos)
        (prelude_crc,) = struct.unpack_from(">I", data, pos + 8)
        assert zlib.crc32(data[pos:pos + 8]) == prelude_crc, "event stream: bad prelude checksum"
        (message_crc,) = struct.unpack_from(">I", data, pos + total - 4)
        assert zlib.crc32(data[pos:pos + total - 4]) == message_crc, "event stream: bad message checksum"
        headers, h, end = {}, pos + 12, pos + 12 + headers_len
        while h < end:
            name_len = data[h]
            name = data[h + 1:h + 1 + name_len].decode()
            kind = data[h + 1 + name_len]
            h += 2 + name_len
            if kind in (6, 7):  # bytes, string: 2-byte length, value
                (n,) = struct.unpack_from(">H", data, h)
                value = data[h + 2:h + 2 + n]
                headers[name] = value.decode() if kind == 7 else value
                h += 2 + n
            else:  # fixed-size values this stream does not use
                h += {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}[kind]
        yield headers, data[end:pos + total - 4]
        pos += total


def streaming_event(w: World, logical_id: str, event_file: str, subs: dict[str, str]) -> tuple[dict | None, bytes]:
    """Invoke with response streaming: (the prelude, if the reply carries one; the body).

    The Invoke API answers with an event stream (PayloadChunk messages, then InvokeComplete);
    the chunks' payloads are what the function wrote: a JSON prelude (statusCode, headers),
    8 NUL bytes, then the body. An emulator that has already read the prelude (cargo
    lambda's does, for its own Function URL handler) passes only the body on."""
    res = post_event(w, logical_id, event_file, subs, streaming=True)
    if res.headers.get("content-type", "").startswith("application/vnd.amazon.eventstream"):
        chunks, completed = [], False
        for headers, payload in _event_stream_messages(res.content):
            kind = headers.get(":event-type")
            if kind == "PayloadChunk":
                chunks.append(payload)
            elif kind == "InvokeComplete":
                completed = True
                done = json.loads(payload or b"{}")
                assert not done.get("ErrorCode"), f"{event_file}: the invocation failed: {done}"
        assert completed, f"{event_file}: the stream has no InvokeComplete message"
        payload = b"".join(chunks)
    else:
        payload = res.content
    if PRELUDE_SEPARATOR in payload:
        head, body = payload.split(PRELUDE_SEPARATOR, 1)
        return json.loads(head), body
    return None, payload


def sqs_event(w: World, logical_id: str, event_file: str, subs: dict[str, str]) -> dict:
    return post_event(w, logical_id, event_file, subs).json()


# ---------------------------------------------------------------------------------------
# Every file in events/ has a case.
# ---------------------------------------------------------------------------------------


def test_every_event_file_has_a_case():
    on_disk = sorted(p.name for p in EVENTS.glob("*.json"))
    assert on_disk, f"no events in {EVENTS}"
    missing = [f for f in on_disk if f not in CASES]
    assert not missing, f"events with no test feeding them (add a @feeds case here): {missing}"
    gone = sorted(set(CASES) - set(on_disk))
    assert not gone, f"cases for events that are not in events/: {gone}"
    for event_file, test in CASES.items():
        assert callable(globals().get(test)), f"{event_file}: {test} is not a test of this module"


# ---------------------------------------------------------------------------------------
# DatasetsFunction
# ---------------------------------------------------------------------------------------


@feeds("datasets-create.json")
def test_datasets_create(world):
    reply = http_event(world, "DatasetsFunction", "datasets-create.json")
    data = envelope(reply)
    try:
        assert reply.raw["isBase64Encoded"] is False
        assert (data["name"], data["chunk_method"], data["tenant_id"]) == ("lambda-events", "naive", world.tenant.id)
        [listed] = ok(world.api.get("/datasets", params={"id": data["id"]}))
        assert listed["description"] == "created through an API Gateway v2 event"
    finally:
        world.api.delete("/datasets", json={"ids": [data["id"]]})


@feeds("datasets-list.json")
def test_datasets_list(world, dataset):
    reply = http_event(world, "DatasetsFunction", "datasets-list.json")
    data = envelope(reply)
    assert dataset in [d["id"] for d in data]
    assert reply.json()["total_datasets"] >= 1


@feeds("datasets-update.json")
def test_datasets_update(world, dataset):
    envelope(http_event(world, "DatasetsFunction", "datasets-update.json", {"LAMBDARAG_DATASET_ID": dataset}))
    [listed] = ok(world.api.get("/datasets", params={"id": dataset}))
    assert (listed["name"], listed["description"]) == ("lambda-events-renamed", "updated")


@feeds("datasets-knowledge-graph.json")
def test_datasets_knowledge_graph(world, dataset):
    reply = http_event(world, "DatasetsFunction", "datasets-knowledge-graph.json", {"LAMBDARAG_DATASET_ID": dataset})
    assert reply.status == 200
    body = reply.json()
    # The route reaches its handler: GraphRAG is not implemented (docs/divergences.md).
    assert body["code"] == 0 or (body["code"] == 102 and "not implemented" in body["message"]), body


@feeds("datasets-trace-raptor.json")
def test_datasets_trace_raptor(world, dataset):
    reply = http_event(world, "DatasetsFunction", "datasets-trace-raptor.json", {"LAMBDARAG_DATASET_ID": dataset})
    assert reply.status == 200
    body = reply.json()
    # `{}` until a RAPTOR task runs, else its task row.
    assert body["code"] == 0 and isinstance(body["data"], dict), body


@feeds("datasets-unknown-route.json")
def test_datasets_unknown_route(world, dataset):
    reply = http_event(world, "DatasetsFunction", "datasets-unknown-route.json", {"LAMBDARAG_DATASET_ID": dataset})
    assert reply.status == 404
    body = reply.json()
    assert body["code"] == 404 and "/no_such_route" in body["message"], body


@feeds("datasets-delete.json")
def test_datasets_delete(world):
    ds = new_dataset(world)
    envelope(http_event(world, "DatasetsFunction", "datasets-delete.json", {"LAMBDARAG_DATASET_ID": ds}))
    assert ds not in [d["id"] for d in ok(world.api.get("/datasets", params={"page_size": 1000}))]


# ---------------------------------------------------------------------------------------
# DocumentsFunction
# ---------------------------------------------------------------------------------------


@feeds("documents-upload.json")
def test_documents_upload(world, dataset):
    data = envelope(http_event(world, "DocumentsFunction", "documents-upload.json", {"LAMBDARAG_DATASET_ID": dataset}))
    [doc] = data
    assert (doc["name"], doc["size"], doc["dataset_id"], doc["run"]) == (
        UPLOADED_NAME, len(UPLOADED_TEXT.encode()), dataset, "UNSTART")
    assert [d["id"] for d in docs_of(world, dataset)] == [doc["id"]]
    assert world.api.get(f"/datasets/{dataset}/documents/{doc['id']}").content == UPLOADED_TEXT.encode()


@feeds("documents-list.json")
def test_documents_list(world, dataset, document):
    data = envelope(http_event(world, "DocumentsFunction", "documents-list.json", {"LAMBDARAG_DATASET_ID": dataset}))
    assert data["total"] == 1
    assert [(d["id"], d["name"]) for d in data["docs"]] == [(document["id"], UPLOADED_NAME)]


@feeds("documents-update.json")
def test_documents_update(world, dataset, document):
    subs = {"LAMBDARAG_DATASET_ID": dataset, "LAMBDARAG_DOCUMENT_ID": document["id"]}
    data = envelope(http_event(world, "DocumentsFunction", "documents-update.json", subs))
    assert data["name"] == "lighthouse-notes.txt"
    stored = doc_of(world, dataset, document["id"])
    assert (stored["name"], stored["meta_fields"]) == ("lighthouse-notes.txt", {"source": "lambda-events", "year": 2025})


@feeds("documents-download.json")
def test_documents_download(world, dataset, document):
    subs = {"LAMBDARAG_DATASET_ID": dataset, "LAMBDARAG_DOCUMENT_ID": document["id"]}
    reply = http_event(world, "DocumentsFunction", "documents-download.json", subs)
    assert reply.status == 200
    assert reply.raw["isBase64Encoded"] is True  # binary bodies travel base64-encoded
    assert reply.headers["content-type"] == "application/octet-stream"
    assert UPLOADED_NAME in reply.headers["content-disposition"]
    assert reply.body == UPLOADED_TEXT.encode()


@feeds("documents-upload-url.json")
def test_documents_upload_url(world, dataset):
    reply = http_event(world, "DocumentsFunction", "documents-upload-url.json", {"LAMBDARAG_DATASET_ID": dataset})
    data = envelope(reply)
    key = f"datasets/{dataset}/field survey.txt"
    assert (data["key"], data["method"], data["expires_in"]) == (key, "PUT", 900)
    assert f"/{world.stack['bucket']}/" in data["url"]
    # The presigned PUT lands in the bucket; its notification has s3-ingest make it a document.
    content = b"Field survey: the Marrow Point tide gauge reads high at dawn."
    put = requests.put(data["url"], data=content, timeout=30)
    assert put.status_code == 200, put.text
    doc = wait_for_document(world, dataset, "field survey.txt")
    assert doc["size"] == len(content)


@feeds("documents-metadata-summary.json")
def test_documents_metadata_summary(world, dataset, document):
    ok(world.api.put(f"/datasets/{dataset}/documents/{document['id']}", json={"meta_fields": {"source": "lambda-events"}}))
    data = envelope(http_event(world, "DocumentsFunction", "documents-metadata-summary.json", {"LAMBDARAG_DATASET_ID": dataset}))
    assert data == {"summary": {"source": {"type": "string", "values": [["lambda-events", 1]]}}}


@feeds("documents-metadata-update.json")
def test_documents_metadata_update(world, dataset, document):
    subs = {"LAMBDARAG_DATASET_ID": dataset, "LAMBDARAG_DOCUMENT_ID": document["id"]}
    data = envelope(http_event(world, "DocumentsFunction", "documents-metadata-update.json", subs))
    assert data == {"updated": 1, "matched_docs": 1}
    assert doc_of(world, dataset, document["id"])["meta_fields"] == {"reviewed": "yes"}


@feeds("documents-parse.json")
def test_documents_parse(world, dataset, document):
    subs = {"LAMBDARAG_DATASET_ID": dataset, "LAMBDARAG_DOCUMENT_ID": document["id"]}
    assert http_event(world, "DocumentsFunction", "documents-parse.json", subs).json() == {"code": 0}
    # The task went to the parse queue; the stack's parse worker takes it from there.
    done = wait_run(world, dataset, document["id"])
    assert done["run"] == "DONE", done
    assert done["chunk_count"] >= 1
    contents = [c["content"] for c in chunk_ids(world, dataset, document["id"]).values()]
    assert any("nine seconds" in c for c in contents), contents


@feeds("documents-stop.json")
def test_documents_stop(world, dataset, document):
    ok(world.api.post(f"/datasets/{dataset}/chunks", json={"document_ids": [document["id"]]}))
    subs = {"LAMBDARAG_DATASET_ID": dataset, "LAMBDARAG_DOCUMENT_ID": document["id"]}
    # Sent right after the parse is queued (a parse takes a second or more on the stack).
    assert http_event(world, "DocumentsFunction", "documents-stop.json", subs).json() == {"code": 0}
    stopped = doc_of(world, dataset, document["id"])
    assert (stopped["run"], stopped["chunk_count"]) == ("CANCEL", 0), stopped


@feeds("documents-delete.json")
def test_documents_delete(world, dataset, document):
    subs = {"LAMBDARAG_DATASET_ID": dataset, "LAMBDARAG_DOCUMENT_ID": document["id"]}
    assert http_event(world, "DocumentsFunction", "documents-delete.json", subs).json() == {"code": 0}
    assert docs_of(world, dataset) == []


# ---------------------------------------------------------------------------------------
# ChunksFunction
# ---------------------------------------------------------------------------------------


def chunk_subs(dataset: str, document: dict, chunk_id: str | None = None) -> dict[str, str]:
    subs = {"LAMBDARAG_DATASET_ID": dataset, "LAMBDARAG_DOCUMENT_ID": document["id"]}
    if chunk_id:
        subs["LAMBDARAG_CHUNK_ID"] = chunk_id
    return subs


@feeds("chunks-add.json")
def test_chunks_add(world, dataset, document):
    data = envelope(http_event(world, "ChunksFunction", "chunks-add.json", chunk_subs(dataset, document)))
    chunk = data["chunk"]
    assert (chunk["content"], chunk["document_id"], chunk["dataset_id"]) == (ADDED_CHUNK, document["id"], dataset)
    assert chunk["important_keywords"] == ["Velmora", "kite"]
    assert chunk["questions"] == ["How long do Velmora silk kites stay aloft?"]
    assert chunk_ids(world, dataset, document["id"])[chunk["id"]]["content"] == ADDED_CHUNK


@feeds("chunks-list.json")
def test_chunks_list(world, dataset, document):
    chunk_id = add_chunk(world, dataset, document["id"])
    data = envelope(http_event(world, "ChunksFunction", "chunks-list.json", chunk_subs(dataset, document)))
    assert data["total"] == 1
    assert [(c["id"], c["content"]) for c in data["chunks"]] == [(chunk_id, ADDED_CHUNK)]
    assert data["doc"]["id"] == document["id"]


@feeds("chunks-update.json")
def test_chunks_update(world, dataset, document):
    chunk_id = add_chunk(world, dataset, document["id"])
    reply = http_event(world, "ChunksFunction", "chunks-update.json", chunk_subs(dataset, document, chunk_id))
    assert envelope(reply) is None
    stored = chunk_ids(world, dataset, document["id"])[chunk_id]
    assert stored["content"] == UPDATED_CHUNK
    assert stored["important_keywords"] == ["Velmora", "kite", "eight days"]


@feeds("chunks-delete.json")
def test_chunks_delete(world, dataset, document):
    keep = add_chunk(world, dataset, document["id"], "The keeper's logbook has a green cover.")
    chunk_id = add_chunk(world, dataset, document["id"])
    reply = http_event(world, "ChunksFunction", "chunks-delete.json", chunk_subs(dataset, document, chunk_id))
    assert reply.json() == {"code": 0}
    assert list(chunk_ids(world, dataset, document["id"])) == [keep]


# ---------------------------------------------------------------------------------------
# RetrievalFunction, DifyFunction
# ---------------------------------------------------------------------------------------


@feeds("retrieval.json")
def test_retrieval(world, dataset, document):
    add_chunk(world, dataset, document["id"], "The keeper's logbook has a green cover.")
    chunk_id = add_chunk(world, dataset, document["id"])
    data = envelope(http_event(world, "RetrievalFunction", "retrieval.json", chunk_subs(dataset, document)))
    assert data["total"] >= 1
    top = data["chunks"][0]
    assert (top["id"], top["content"], top["document_id"]) == (chunk_id, ADDED_CHUNK, document["id"]), data["chunks"]
    assert data["doc_aggs"][0]["doc_id"] == document["id"]


@feeds("dify-retrieval.json")
def test_dify_retrieval(world, corpus):
    reply = http_event(world, "DifyFunction", "dify-retrieval.json", {"LAMBDARAG_DATASET_ID": corpus.dataset_id})
    assert reply.status == 200
    body = reply.json()  # Dify's shape: bare records, no envelope
    assert set(body) == {"records"}, body
    top = body["records"][0]
    assert "flashes green every nine seconds" in top["content"]
    assert top["title"] == UPLOADED_NAME
    assert top["metadata"]["document_id"] == corpus.doc_id
    assert 0.1 <= top["score"] <= 1.0


# ---------------------------------------------------------------------------------------
# ChatsFunction
# ---------------------------------------------------------------------------------------


def chat_of(w: World, chat_id: str) -> dict | None:
    res = w.api.get("/chats", params={"id": chat_id}).json()
    return (res.get("data") or [None])[0] if res.get("code") == 0 else None


@feeds("chats-create.json")
def test_chats_create(world, corpus):
    data = envelope(http_event(world, "ChatsFunction", "chats-create.json", {"LAMBDARAG_DATASET_ID": corpus.dataset_id}))
    try:
        assert (data["name"], data["dataset_ids"]) == ("lambda-events-chat", [corpus.dataset_id])
        assert data["description"] == "created through an API Gateway v2 event"
        assert chat_of(world, data["id"])["name"] == "lambda-events-chat"
    finally:
        world.api.delete("/chats", json={"ids": [data["id"]]})


@feeds("chats-list.json")
def test_chats_list(world, chat):
    data = envelope(http_event(world, "ChatsFunction", "chats-list.json"))
    assert chat in [c["id"] for c in data]


@feeds("chats-update.json")
def test_chats_update(world, corpus, chat):
    subs = {"LAMBDARAG_CHAT_ID": chat, "LAMBDARAG_DATASET_ID": corpus.dataset_id}
    assert http_event(world, "ChatsFunction", "chats-update.json", subs).json() == {"code": 0}
    stored = chat_of(world, chat)
    assert stored["name"] == "lambda-events-chat-renamed"
    assert [d["id"] for d in stored["datasets"]] == [corpus.dataset_id]
    assert (stored["prompt"]["similarity_threshold"], stored["prompt"]["top_n"]) == (0.1, 4)


@feeds("chats-delete.json")
def test_chats_delete(world, corpus):
    chat_id = new_chat(world, corpus)
    assert http_event(world, "ChatsFunction", "chats-delete.json", {"LAMBDARAG_CHAT_ID": chat_id}).json() == {"code": 0}
    assert chat_of(world, chat_id) is None


# ---------------------------------------------------------------------------------------
# SessionsFunction (behind the HTTP API: buffered)
# ---------------------------------------------------------------------------------------


@feeds("sessions-create.json")
def test_sessions_create(world, session_chat):
    data = envelope(http_event(world, "SessionsFunction", "sessions-create.json", {"LAMBDARAG_CHAT_ID": session_chat}))
    assert (data["name"], data["chat_id"]) == ("lambda-events-session", session_chat)
    assert data["messages"][0]["role"] == "assistant"
    assert data["id"] in sessions_of(world, session_chat)


@feeds("sessions-list.json")
def test_sessions_list(world, session_chat):
    session = new_session(world, session_chat)
    data = envelope(http_event(world, "SessionsFunction", "sessions-list.json", {"LAMBDARAG_CHAT_ID": session_chat}))
    assert session in [s["id"] for s in data]


@feeds("sessions-update.json")
def test_sessions_update(world, session_chat):
    session = new_session(world, session_chat)
    subs = {"LAMBDARAG_CHAT_ID": session_chat, "LAMBDARAG_SESSION_ID": session}
    assert http_event(world, "SessionsFunction", "sessions-update.json", subs).json() == {"code": 0}
    assert sessions_of(world, session_chat)[session]["name"] == "lambda-events-session-renamed"


@feeds("sessions-completion.json")
def test_sessions_completion(world, corpus, session_chat):
    session = new_session(world, session_chat)
    subs = {"LAMBDARAG_CHAT_ID": session_chat, "LAMBDARAG_SESSION_ID": session}
    data = envelope(http_event(world, "SessionsFunction", "sessions-completion.json", subs))
    assert data["session_id"] == session
    assert "flashes green every nine seconds" in data["answer"], data["answer"]
    assert [c["document_id"] for c in data["reference"]["chunks"]] == [corpus.doc_id]
    # The turn is stored in the session.
    messages = sessions_of(world, session_chat)[session]["messages"]
    assert messages[-2]["content"] == "How often does the Quillfeather lighthouse flash?"


@feeds("sessions-ask.json")
def test_sessions_ask(world, corpus):
    reply = http_event(world, "SessionsFunction", "sessions-ask.json", {"LAMBDARAG_DATASET_ID": corpus.dataset_id})
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    frames = sse_frames(reply.body)
    assert all(f["code"] == 0 for f in frames), frames
    assert frames[-1]["data"] is True
    answer = "".join(f["data"]["answer"] for f in frames[:-1])
    assert "at dawn and at dusk" in answer, answer


@feeds("sessions-delete.json")
def test_sessions_delete(world, session_chat):
    session = new_session(world, session_chat)
    subs = {"LAMBDARAG_CHAT_ID": session_chat, "LAMBDARAG_SESSION_ID": session}
    assert http_event(world, "SessionsFunction", "sessions-delete.json", subs).json() == {"code": 0}
    assert session not in sessions_of(world, session_chat)


# ---------------------------------------------------------------------------------------
# OpenAiFunction (buffered)
# ---------------------------------------------------------------------------------------


@feeds("openai-completion.json")
def test_openai_completion(world, session_chat):
    reply = http_event(world, "OpenAiFunction", "openai-completion.json", {"LAMBDARAG_CHAT_ID": session_chat})
    assert reply.status == 200
    body = reply.json()  # OpenAI's shape, no envelope
    assert body["object"] == "chat.completion"
    [choice] = body["choices"]
    assert choice["finish_reason"] == "stop"
    assert "flashes green every nine seconds" in choice["message"]["content"], choice


# ---------------------------------------------------------------------------------------
# SessionsStreamFunction, OpenAiStreamFunction (Function URLs, RESPONSE_STREAM)
# ---------------------------------------------------------------------------------------


def check_stream_prelude(prelude: dict | None):
    if prelude is not None:
        assert prelude.get("statusCode", 200) == 200, prelude
        headers = {k.lower(): v for k, v in (prelude.get("headers") or {}).items()}
        assert headers.get("content-type", "").startswith("text/event-stream"), prelude


@feeds("sessions-stream-completion.json")
def test_sessions_stream_completion(world, session_chat):
    session = new_session(world, session_chat)
    subs = {"LAMBDARAG_CHAT_ID": session_chat, "LAMBDARAG_SESSION_ID": session}
    prelude, body = streaming_event(world, "SessionsStreamFunction", "sessions-stream-completion.json", subs)
    check_stream_prelude(prelude)
    frames = sse_frames(body)
    assert len(frames) >= 2, body
    assert all(f["code"] == 0 for f in frames), frames
    assert frames[-1]["data"] is True
    answer = "".join(f["data"]["answer"] for f in frames[:-1])
    assert "writes the tide height in the logbook" in answer, answer
    assert {f["data"]["session_id"] for f in frames[:-1]} == {session}


@feeds("openai-stream-completion.json")
def test_openai_stream_completion(world, session_chat):
    prelude, body = streaming_event(world, "OpenAiStreamFunction", "openai-stream-completion.json",
                                    {"LAMBDARAG_CHAT_ID": session_chat})
    check_stream_prelude(prelude)
    frames = sse_frames(body)
    assert frames[-1] == "[DONE]", frames
    chunks = frames[:-1]
    assert chunks and all(c["object"] == "chat.completion.chunk" for c in chunks), chunks
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    answer = "".join(c["choices"][0]["delta"]["content"] or "" for c in chunks)
    assert "writes the tide height in the logbook" in answer, answer


# ---------------------------------------------------------------------------------------
# SearchesFunction, SearchesStreamFunction, SystemFunction
# ---------------------------------------------------------------------------------------


@feeds("searches-create.json")
def test_searches_create(world, corpus):
    reply = http_event(world, "SearchesFunction", "searches-create.json", {"LAMBDARAG_DATASET_ID": corpus.dataset_id})
    data = envelope(reply)
    app = ok(world.api.get(f"/searches/{data['search_id']}"))
    assert app["name"] == "lighthouse search" and app["search_config"]["kb_ids"] == [corpus.dataset_id]
    assert app["search_config"]["top_k"] == 64
    assert world.api.delete(f"/searches/{data['search_id']}").json()["data"] is True


@feeds("searches-stream-completion.json")
def test_searches_stream_completion(world, corpus):
    sid = ok(world.api.post("/searches", json={"name": "le-stream", "search_config": {"kb_ids": [corpus.dataset_id]}}))["search_id"]
    try:
        prelude, body = streaming_event(world, "SearchesStreamFunction", "searches-stream-completion.json",
                                        {"LAMBDARAG_SEARCH_ID": sid})
        check_stream_prelude(prelude)
        frames = sse_frames(body)
        assert frames[-1] == {"code": 0, "message": "", "data": True}, frames
        assert all(f["code"] == 0 and f["message"] == "" for f in frames), frames
        answer = "".join(f["data"]["answer"] for f in frames[:-1])
        assert "writes the tide height in the logbook" in answer, answer
        final = [f["data"] for f in frames[:-1] if f["data"].get("final")]
        assert final and [c["document_id"] for c in final[0]["reference"]["chunks"]][:1] == [corpus.doc_id]
    finally:
        world.api.delete(f"/searches/{sid}")


# ---------------------------------------------------------------------------------------
# AgentsFunction, AgentsStreamFunction
# ---------------------------------------------------------------------------------------


def new_agent(w: World, corpus: Corpus) -> str:
    """The canvas of events/agents-create.json, created over HTTP under a fresh title."""
    body = json.loads(json.loads((EVENTS / "agents-create.json").read_text())["body"])
    body["title"] = f"le-agent-{uuid.uuid4().hex[:12]}"
    body["dsl"] = json.loads(json.dumps(body["dsl"]).replace("LAMBDARAG_DATASET_ID", corpus.dataset_id))
    assert ok(w.api.post("/agents", json=body)) is True
    return ok(w.api.get("/agents", params={"title": body["title"]}))[0]["id"]


@feeds("agents-create.json")
def test_agents_create(world, corpus):
    reply = http_event(world, "AgentsFunction", "agents-create.json", {"LAMBDARAG_DATASET_ID": corpus.dataset_id})
    assert envelope(reply) is True
    agent = ok(world.api.get("/agents", params={"title": "lighthouse agent"}))[0]
    try:
        assert agent["description"] == "answers from the keeper's notes"
        kb_ids = agent["dsl"]["components"]["Retrieval:Notes"]["obj"]["params"]["kb_ids"]
        assert kb_ids == [corpus.dataset_id]
    finally:
        world.api.delete(f"/agents/{agent['id']}")


@feeds("agents-completion.json")
def test_agents_completion(world, corpus):
    aid = new_agent(world, corpus)
    try:
        reply = http_event(world, "AgentsFunction", "agents-completion.json", {"LAMBDARAG_AGENT_ID": aid})
        final = envelope(reply)
        assert final["event"] == "workflow_finished" and final["session_id"], final
        assert "writes the tide height in the logbook" in final["data"]["content"], final
        assert final["data"]["reference"]["chunks"]["0"]["document_id"] == corpus.doc_id
    finally:
        world.api.delete(f"/agents/{aid}")


@feeds("agents-stream-completion.json")
def test_agents_stream_completion(world, corpus):
    aid = new_agent(world, corpus)
    try:
        prelude, body = streaming_event(world, "AgentsStreamFunction", "agents-stream-completion.json",
                                        {"LAMBDARAG_AGENT_ID": aid})
        check_stream_prelude(prelude)
        lines = [ln for ln in body.decode().split("\n\n") if ln.strip()]
        assert lines[-1] == "data:[DONE]", lines[-3:]
        frames = [json.loads(ln[len("data:"):]) for ln in lines[:-1]]
        text = "".join(f["data"]["content"] for f in frames if f["event"] == "message")
        assert "writes the tide height in the logbook" in text, text
        assert any(f["event"] == "message_end" and f["data"]["reference"] for f in frames)
    finally:
        world.api.delete(f"/agents/{aid}")


@feeds("system-healthz.json")
def test_system_healthz(world):
    reply = http_event(world, "SystemFunction", "system-healthz.json")
    assert reply.status == 200, reply.body
    assert reply.json() == {"db": "ok", "redis": "ok", "doc_engine": "ok", "storage": "ok", "queue": "ok", "status": "ok"}


# ---------------------------------------------------------------------------------------
# ParseWorkerFunction (SQS)
# ---------------------------------------------------------------------------------------


@feeds("parse-worker-sqs.json")
def test_parse_worker_sqs(world, dataset, document):
    # The API marks the document RUNNING at generation 1 and queues the task the sample
    # event describes. The stack's own SQS mapping delivers that message to the worker
    # as well; the pipeline makes a repeat harmless (same chunks, generation-guarded).
    ok(world.api.post(f"/datasets/{dataset}/chunks", json={"document_ids": [document["id"]]}))
    subs = {
        "LAMBDARAG_TASK_ID": uuid.uuid4().hex,
        "LAMBDARAG_TENANT_ID": world.tenant.id,
        "LAMBDARAG_DATASET_ID": dataset,
        "LAMBDARAG_DOCUMENT_ID": document["id"],
    }
    assert sqs_event(world, "ParseWorkerFunction", "parse-worker-sqs.json", subs) == {"batchItemFailures": []}
    done = wait_run(world, dataset, document["id"])
    # Both deliveries run at once: the first to finish writes DONE while the other's
    # intermediate progress can still land after it (DONE with progress < 1) until it
    # finishes too, with the same result. Wait for that settled state.
    deadline = time.monotonic() + 120
    while done["run"] == "DONE" and done["progress"] < 1.0 and time.monotonic() < deadline:
        time.sleep(0.3)
        done = doc_of(world, dataset, document["id"])
    assert (done["run"], done["progress"]) == ("DONE", 1.0), done
    assert done["chunk_count"] >= 1


# ---------------------------------------------------------------------------------------
# MemoriesFunction, and the parse worker's memory extraction
# ---------------------------------------------------------------------------------------


def new_memory(w: World, types=("raw",)) -> str:
    res = w.api.post("/memories", json={"name": f"le-memory-{uuid.uuid4().hex[:12]}", "memory_type": list(types),
                                        "embd_id": "all-MiniLM-L6-v2@Builtin", "llm_id": "extractive-answerer@Builtin"}).json()
    assert res["code"] == 0, res
    return res["data"]["id"]


def memory_messages(w: World, memory_id: str) -> list[dict]:
    res = w.api.get(f"/memories/{memory_id}").json()
    assert res["code"] == 0, res
    return res["data"]["messages"]["message_list"]


@pytest.fixture
def memory(world) -> str:
    memory_id = new_memory(world)
    yield memory_id
    world.api.delete(f"/memories/{memory_id}")


def add_turn(w: World, memory_id: str) -> dict:
    res = w.api.post("/messages", json={"memory_id": [memory_id], "agent_id": "le-agent", "session_id": "le-session",
                                        "user_input": "Which lighthouse flashes green?", "agent_response": "Quillfeather."}).json()
    assert res["code"] == 0, res
    return memory_messages(w, memory_id)[0]


@feeds("memories-create.json")
def test_memories_create(world):
    reply = http_event(world, "MemoriesFunction", "memories-create.json")
    assert reply.json()["message"] is True
    data = envelope(reply)
    try:
        assert (data["name"], data["memory_type"]) == ("lambda-events-memory", ["raw", "semantic"])
        assert world.api.get(f"/memories/{data['id']}/config").json()["data"]["name"] == "lambda-events-memory"
    finally:
        world.api.delete(f"/memories/{data['id']}")


@feeds("messages-add.json")
def test_messages_add(world, memory):
    reply = http_event(world, "MemoriesFunction", "messages-add.json", {"LAMBDARAG_MEMORY_ID": memory})
    assert reply.json() == {"code": 0, "message": "All add to task.", "data": None}
    [msg] = memory_messages(world, memory)
    assert (msg["agent_id"], msg["session_id"], msg["user_id"]) == ("lambda-events-agent", "lambda-events-session", "lambda-events-user")


@feeds("messages-search.json")
def test_messages_search(world, memory):
    msg = add_turn(world, memory)
    data = envelope(http_event(world, "MemoriesFunction", "messages-search.json", {"LAMBDARAG_MEMORY_ID": memory}))
    assert [m["message_id"] for m in data] == [msg["message_id"]]


@feeds("messages-status.json")
def test_messages_status(world, memory):
    msg = add_turn(world, memory)
    subs = {"LAMBDARAG_MEMORY_ID": memory, "LAMBDARAG_MESSAGE_ID": str(msg["message_id"])}
    reply = http_event(world, "MemoriesFunction", "messages-status.json", subs)
    assert reply.json() == {"code": 0, "message": True, "data": None}
    assert memory_messages(world, memory)[0]["status"] is False


@feeds("parse-worker-memory-sqs.json")
def test_parse_worker_memory_sqs(world):
    # Adding a turn to a semantic memory queues its extraction; the stack's SQS mapping
    # delivers it to the worker too. Whichever delivery runs first, the built-in answerer
    # cannot extract and the task ends saying so; the other is stale.
    memory_id = new_memory(world, ("raw", "semantic"))
    try:
        msg = add_turn(world, memory_id)
        subs = {"LAMBDARAG_TASK_ID": msg["task"]["id"], "LAMBDARAG_TENANT_ID": world.tenant.id,
                "LAMBDARAG_MEMORY_ID": memory_id, "LAMBDARAG_MESSAGE_ID": str(msg["message_id"])}
        assert sqs_event(world, "ParseWorkerFunction", "parse-worker-memory-sqs.json", subs) == {"batchItemFailures": []}
        deadline = time.monotonic() + 120
        while (task := memory_messages(world, memory_id)[0]["task"])["progress"] != -1.0:
            assert time.monotonic() < deadline, task
            time.sleep(0.3)
        assert "cannot extract" in task["progress_msg"]
    finally:
        world.api.delete(f"/memories/{memory_id}")


# ---------------------------------------------------------------------------------------
# S3IngestFunction (S3 notifications, through SQS or direct)
# ---------------------------------------------------------------------------------------


def put_object(w: World, key: str, content: bytes) -> str:
    """PUT into the stack's bucket (moto, path-style, unsigned) and return the ETag."""
    url = f"{w.stack['moto_url']}/{w.stack['bucket']}/{urllib.parse.quote(key)}"
    res = requests.put(url, data=content, timeout=30)
    assert res.status_code == 200, f"PUT {key}: HTTP {res.status_code}: {res.text[:300]}"
    return res.headers["ETag"].strip('"')


def ingested(w: World, dataset_id: str, name: str, content: bytes) -> dict:
    """The document S3 ingestion made of `name`. The bucket's own notification reaches the
    stack's s3-ingest too, so the object may also be ingested from that delivery (a second
    copy is named as upload names duplicates); the first has the object's name."""
    doc = wait_for_document(w, dataset_id, name)
    assert doc["size"] == len(content)
    assert w.api.get(f"/datasets/{dataset_id}/documents/{doc['id']}").content == content
    return doc


@feeds("s3-ingest-test-event.json")
def test_s3_ingest_test_event(world):
    subs = {SAMPLE_BUCKET: world.stack["bucket"]}
    assert sqs_event(world, "S3IngestFunction", "s3-ingest-test-event.json", subs) == {"batchItemFailures": []}


@feeds("s3-ingest-sqs.json")
def test_s3_ingest_sqs(world, dataset):
    name = "Q3 report (2024).txt"
    content = b"Quarterly numbers: the Quillfeather lighthouse shop sold 42 tide tables."
    etag = put_object(world, f"datasets/{dataset}/{name}", content)
    raw = event_text(world, "s3-ingest-sqs.json", {"LAMBDARAG_DATASET_ID": dataset})
    assert SQS_SAMPLE_ETAG in raw and SAMPLE_BUCKET in raw
    subs = {"LAMBDARAG_DATASET_ID": dataset, SQS_SAMPLE_ETAG: etag, SAMPLE_BUCKET: world.stack["bucket"]}
    assert sqs_event(world, "S3IngestFunction", "s3-ingest-sqs.json", subs) == {"batchItemFailures": []}
    ingested(world, dataset, name, content)


@feeds("s3-ingest-s3.json")
def test_s3_ingest_s3(world, dataset):
    name = "annual report.pdf"
    content = PDF_FIXTURE.read_bytes()
    etag = put_object(world, f"datasets/{dataset}/{name}", content)
    raw = event_text(world, "s3-ingest-s3.json", {"LAMBDARAG_DATASET_ID": dataset})
    assert S3_SAMPLE_ETAG in raw and SAMPLE_BUCKET in raw
    subs = {"LAMBDARAG_DATASET_ID": dataset, S3_SAMPLE_ETAG: etag, SAMPLE_BUCKET: world.stack["bucket"]}
    # A direct S3 event (no SQS): the function answers null, or fails for Lambda to retry.
    assert sqs_event(world, "S3IngestFunction", "s3-ingest-s3.json", subs) is None
    ingested(world, dataset, name, content)


# ---------------------------------------------------------------------------------------
# FilesFunction (the personal file manager)
# ---------------------------------------------------------------------------------------

# What events/files-upload.json carries: one file under a folder path.
FILE_UPLOADED_TEXT = (
    "Lighthouse log, copied into the file manager.\n"
    "The Quillfeather lamp was cleaned on the first of the month.\n"
)


def root_child(w: World, name: str) -> dict | None:
    rows = ok(w.api.get("/files", params={"keywords": name}))["files"]
    return next((r for r in rows if r["name"] == name), None)


@feeds("files-upload.json")
def test_files_upload(world):
    data = envelope(http_event(world, "FilesFunction", "files-upload.json"))
    try:
        [row] = data
        assert (row["name"], row["size"], row["type"]) == (
            "lambda-events-file.txt", len(FILE_UPLOADED_TEXT.encode()), "doc")
        logbook = root_child(world, "logbook")
        assert logbook and logbook["type"] == "folder" and row["parent_id"] == logbook["id"]
        assert world.api.get(f"/files/{row['id']}").content == FILE_UPLOADED_TEXT.encode()
    finally:
        if (logbook := root_child(world, "logbook")) is not None:
            world.api.delete("/files", json={"ids": [logbook["id"]]})


@feeds("files-link.json")
def test_files_link(world, dataset):
    name = f"le-link-{uuid.uuid4().hex[:8]}.txt"
    [row] = ok(world.api.post("/files", files={"file": (name, FILE_UPLOADED_TEXT.encode())}))
    try:
        subs = {"LAMBDARAG_FILE_ID": row["id"], "LAMBDARAG_DATASET_ID": dataset}
        [link] = envelope(http_event(world, "FilesFunction", "files-link.json", subs))
        assert link["file_id"] == row["id"]
        [doc] = docs_of(world, dataset)
        assert (doc["id"], doc["name"], doc["run"]) == (link["document_id"], name, "UNSTART")
        assert world.api.get(f"/datasets/{dataset}/documents/{doc['id']}").content == FILE_UPLOADED_TEXT.encode()
    finally:
        world.api.delete("/files", json={"ids": [row["id"]]})
