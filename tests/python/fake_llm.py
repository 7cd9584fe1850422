"""A tiny local OpenAI-compatible chat server for the tests.

`POST /chat/completions` (also under `/v1/`) answers by echoing the prompt it received —
every message as `role: content` — so a test can check that the retrieved context reached
the model. With `"stream": true` it streams the echo word by word as server-sent events
(`data: {...}` chunks, a final `usage` chunk when `stream_options.include_usage` is set,
then `data: [DONE]`), like a real provider. A model whose name contains `think` first
streams some `reasoning_content`. A model whose name contains `tool` first asks for a tool
call in lambdarag's agent protocol (see `tool_caller_text`). Any model answers lambdarag's
knowledge-graph prompts (entity extraction, community reports) with the JSON they ask for,
built from the capitalised names of the text (see `graph_text`), the way a real model would.

Every request body is recorded in `server.requests` (newest last).

`server.hold_after(n)` makes the next streamed answers stop after their first n content
pieces until `server.release` is set (or 30 s pass, recorded in `server.hold_timed_out`): a
test that reads those pieces while the rest is held knows that the path between it and the
model streams, with no timing involved.

Use from a test:

    server, base_url = fake_llm.start()
    ...
    server.shutdown()

or run it alone: `python tests/python/fake_llm.py [PORT]` (prints the base URL).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ECHO_PREFIX = "ECHO:"
REASONING_TEXT = "Let me think about the passages first."


def echo_text(messages: list[dict]) -> str:
    lines = [ECHO_PREFIX]
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):  # content parts
            content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        lines.append(f"{m.get('role')}: {content}")
    return "\n".join(lines)


def tool_caller_text(messages: list[dict]) -> str | None:
    """A model named `*tool*` drives lambdarag's agent tool protocol: until a tool result
    (a user message starting `Results of `) is in the conversation it asks the first tool
    listed in the system prompt (`- name: ...`) to search for the last user message; then
    it answers with the echo (without lines that would read as another call)."""
    if any(str(m.get("content", "")).startswith("Results of ") for m in messages):
        # Answer: the echo, less the protocol's own example line (it would read as a call).
        return "\n".join(ln for ln in echo_text(messages).splitlines() if not ln.startswith("TOOL_CALL"))
    system = next((str(m.get("content", "")) for m in messages if m.get("role") == "system"), "")
    tool = next((ln[2:].split(":", 1)[0] for ln in system.splitlines() if ln.startswith("- ")), None)
    question = next((str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), "")
    if not tool:
        return None
    return "TOOL_CALL " + json.dumps({"name": tool, "arguments": {"query": question}})


GRAPH_EXTRACTION = "KNOWLEDGE-GRAPH EXTRACTION"
GRAPH_REPORT = "COMMUNITY REPORT"
_NAME = re.compile(r"\b[A-Z][a-z]+(?: (?:of )?[A-Z][a-z]+)*")
_NOT_NAMES = {"The", "A", "An", "In", "On", "At", "It", "He", "She", "They", "This", "That", "His", "Her"}


def graph_text(messages: list[dict]) -> str | None:
    """lambdarag's GraphRAG prompts answered as a model would: names in the text become
    entities (described as "seen by the stand-in model"), names sharing a sentence are related;
    a community report names the first entities listed."""
    prompt = "\n".join(str(m.get("content", "")) for m in messages)
    if GRAPH_EXTRACTION in prompt:
        text = prompt.split("Text:\n", 1)[-1]
        entities, relations, seen = [], [], set()
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            names = [n for n in _NAME.findall(sentence) if n not in _NOT_NAMES]
            names = list(dict.fromkeys(n.removeprefix("The ") for n in names))
            for n in names:
                if n not in seen:
                    seen.add(n)
                    entities.append({"name": n, "type": "person" if " " in n else "category",
                                     "description": f"{n}, as seen by the stand-in model: {sentence.strip()}"})
            for a, b in zip(names, names[1:]):
                relations.append({"source": a, "target": b, "description": f"{a} and {b}: {sentence.strip()}",
                                  "keywords": ["co-mentioned"], "strength": 7})
        return "```json\n" + json.dumps({"entities": entities, "relations": relations}) + "\n```"
    if GRAPH_REPORT in prompt:
        first = re.findall(r"^- ([^(\n]+) \(", prompt, flags=re.M)[:2]
        title = "Stand-in report on " + " and ".join(n.strip() for n in first)
        return json.dumps({"title": title, "summary": "Written by the stand-in model.",
                           "findings": [{"summary": "Members", "explanation": ", ".join(first)}], "rating": 6})
    return None


METADATA_FILTER = "You write metadata filters"


def metadata_filter_text(messages: list[dict]) -> str | None:
    """lambdarag's metadata-filter prompt answered as a literal-minded model would: a
    condition `key = value` for every listed value the question names (any case)."""
    system = next((str(m.get("content", "")) for m in messages if m.get("role") == "system"), "")
    if METADATA_FILTER not in system:
        return None
    question = next((str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), "").lower()
    conditions = []
    for line in system.split("Metadata:\n", 1)[-1].splitlines():
        m = re.match(r"^- (.+?): (\[.*\])", line)
        if not m:
            continue
        for value in json.loads(m.group(2)):
            if str(value).lower() in question:
                conditions.append({"key": m.group(1), "op": "=", "value": value})
    return json.dumps({"logic": "and", "conditions": conditions})


MIND_MAP = "into a mind map"


def mind_map_text(messages: list[dict]) -> str | None:
    """lambdarag's mind-map prompt answered with a markdown outline, in a code fence as
    models often do: the question as the topic, a `Passages` branch with each sentence of
    the passages as a leaf."""
    system = next((str(m.get("content", "")) for m in messages if m.get("role") == "system"), "")
    if MIND_MAP not in system:
        return None
    question = next((str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), "")
    text = system.split("Passages:\n", 1)[-1]
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]
    leaves = "\n".join(f"- **{s}**" for s in sentences)
    return f"```markdown\n# {question}\n## Passages\n{leaves}\n```"


def pieces(text: str) -> list[str]:
    """Word-sized pieces whose concatenation is the text (whitespace kept)."""
    out, cur = [], ""
    for ch in text:
        if ch.isspace() and cur and not cur[-1].isspace():
            out.append(cur)
            cur = ""
        cur += ch
    if cur:
        out.append(cur)
    return out


def count_tokens(text: str) -> int:
    return len(text.split())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # the body ends when the connection closes

    def log_message(self, *args):  # keep test output quiet
        pass

    def _json(self, status: int, body: dict):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _embeddings(self):
        """`/embeddings`: hashed pseudo-random unit vectors, the same text always the same
        vector; the model name's trailing number is the length (`noise-384`)."""
        length = int(self.headers.get("Content-Length") or 0)
        req = json.loads(self.rfile.read(length) or b"{}")
        texts = req.get("input") or []
        texts = [texts] if isinstance(texts, str) else texts
        digits = "".join(c for c in str(req.get("model", "")) if c.isdigit()) or "384"
        dims = int(digits)
        data = []
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(str(text).encode()).digest()[:8], "little") | 1
            v = []
            for _ in range(dims):
                seed ^= (seed << 13) & 0xFFFFFFFFFFFFFFFF
                seed ^= seed >> 7
                seed ^= (seed << 17) & 0xFFFFFFFFFFFFFFFF
                v.append((seed >> 40) / float(1 << 24) - 0.5)
            norm = sum(x * x for x in v) ** 0.5 or 1.0
            data.append({"object": "embedding", "index": i, "embedding": [x / norm for x in v]})
        self._json(200, {"object": "list", "data": data, "model": req.get("model"), "usage": {"prompt_tokens": 1, "total_tokens": 1}})

    def _audio_speech(self):
        """`/audio/speech`: fake MP3 bytes that spell the input, so tests can read what was
        spoken; the model `broken-tts` fails."""
        length = int(self.headers.get("Content-Length") or 0)
        req = json.loads(self.rfile.read(length) or b"{}")
        self.server.requests.append(req)
        if req.get("model") == "broken-tts":
            self._json(500, {"error": {"message": "the voice engine is down"}})
            return
        data = b"ID3" + f"[{req.get('voice')}:{req.get('input')}]".encode()
        self.send_response(200)
        self.send_header("Content-Type", "audio/mpeg")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _audio_transcriptions(self):
        """`/audio/transcriptions` (multipart): `{text}` naming the file, its size and the
        model, so tests can check what was sent."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        boundary = self.headers.get("Content-Type", "").split("boundary=")[-1].strip('"').encode()
        fields = {}
        for part in body.split(b"--" + boundary):
            head, _, value = part.partition(b"\r\n\r\n")
            m = re.search(rb'name="([^"]+)"(?:; filename="([^"]*)")?', head)
            if not m:
                continue
            value = value[:-2] if value.endswith(b"\r\n") else value
            fields[m.group(1).decode()] = (m.group(2).decode() if m.group(2) is not None else None, value)
        filename, audio = fields.get("file", (None, b""))
        model = fields.get("model", (None, b""))[1].decode()
        self._json(200, {"text": f"heard {len(audio)} bytes of {filename} with {model}"})

    def do_POST(self):
        if self.path.rstrip("/") in ("/embeddings", "/v1/embeddings"):
            self._embeddings()
            return
        if self.path.rstrip("/") in ("/audio/speech", "/v1/audio/speech"):
            self._audio_speech()
            return
        if self.path.rstrip("/") in ("/audio/transcriptions", "/v1/audio/transcriptions"):
            self._audio_transcriptions()
            return
        if self.path.rstrip("/") not in ("/chat/completions", "/v1/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}"}})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            req = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._json(400, {"error": {"message": "bad json"}})
            return
        self.server.requests.append(req)
        if self.headers.get("Authorization") != f"Bearer {self.server.api_key}":
            self._json(401, {"error": {"message": "Incorrect API key provided"}})
            return
        model = req.get("model", "")
        text = echo_text(req.get("messages") or [])
        if "tool" in model:
            text = tool_caller_text(req.get("messages") or []) or text
        text = graph_text(req.get("messages") or []) or text
        text = mind_map_text(req.get("messages") or []) or text
        text = metadata_filter_text(req.get("messages") or []) or text
        reasoning = REASONING_TEXT if "think" in model else ""
        created = int(time.time())
        if not req.get("stream"):
            msg = {"role": "assistant", "content": text}
            if reasoning:
                msg["reasoning_content"] = reasoning
            self._json(200, {
                "id": "chatcmpl-fake", "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": msg, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": count_tokens(text), "completion_tokens": count_tokens(text),
                          "total_tokens": 2 * count_tokens(text)},
            })
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()

        def chunk(delta: dict, finish=None, usage=None, choices=True):
            body = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created, "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else []}
            if usage is not None:
                body["usage"] = usage
            self.wfile.write(f"data: {json.dumps(body)}\n\n".encode())
            self.wfile.flush()

        try:
            chunk({"role": "assistant", "content": ""})
            for p in pieces(reasoning):
                chunk({"reasoning_content": p, "content": None})
                time.sleep(self.server.delay)
            for i, p in enumerate(pieces(text)):
                chunk({"content": p})
                if i + 1 == self.server.hold_pieces:
                    if not self.server.release.wait(30):
                        self.server.hold_timed_out = True
                time.sleep(self.server.delay)
            chunk({}, finish="stop")
            if (req.get("stream_options") or {}).get("include_usage"):
                n = count_tokens(text)
                chunk({}, usage={"prompt_tokens": n, "completion_tokens": n, "total_tokens": 2 * n}, choices=False)
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass


class FakeLLM(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, api_key: str = "x", delay: float = 0.002):
        super().__init__(addr, _Handler)
        self.api_key = api_key
        self.delay = delay
        self.requests: list[dict] = []
        self.hold_pieces = 0
        self.release = threading.Event()
        self.hold_timed_out = False

    def hold_after(self, pieces: int) -> None:
        self.release.clear()
        self.hold_timed_out = False
        self.hold_pieces = pieces

    def stop_holding(self) -> None:
        self.hold_pieces = 0
        self.release.set()


def start(host: str = "127.0.0.1", port: int = 0, api_key: str = "x") -> tuple[FakeLLM, str]:
    """Start on a free port in a daemon thread; returns the server and its base URL."""
    server = FakeLLM((host, port), api_key=api_key)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}/v1"


if __name__ == "__main__":
    srv, url = start(port=int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.shutdown()
