r"""A tiny local rerank server (Jina/Cohere shape) for the tests.

`POST /rerank` (also `/v1/rerank`) takes `{"model", "query", "documents", "top_n"}` and
answers `{"model", "results": [{"index": i, "relevance_score": s}, ...]}`, best first, at
most `top_n` results.

Scoring rule (deterministic, so a test can predict the order): the score of a document is
the fraction of the query's distinct lower-cased words (`\w+` runs) that also occur among
the document's lower-cased words, in [0, 1]; a query with no words scores 0 everywhere.
Ties keep input order. `score(query, document)` computes it for a test.

Every request body is recorded in `server.requests` (newest last), so a test can assert
the server was called (and with which documents). With `api_key` set, a request without
`Authorization: Bearer <api_key>` gets a 401.

Use from a test:

    server, base_url = fake_rerank.start()
    ... run_cli(..., "provider", "set", "--factory", "OpenAI-API-Compatible",
                "--base-url", base_url, "--model", "fake-rerank:rerank")
    server.shutdown()

or run it alone: `python tests/python/fake_rerank.py [PORT]` (prints the base URL).
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_WORD = re.compile(r"\w+")


def words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def score(query: str, document: str) -> float:
    """The fraction of the query's words that occur in the document (0..1)."""
    q = words(query)
    if not q:
        return 0.0
    return len(q & words(document)) / len(q)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # the body ends when the connection closes

    def log_message(self, *args):  # keep test output quiet
        pass

    def _json(self, status: int, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        if self.path.rstrip("/") not in ("/rerank", "/v1/rerank"):
            self._json(404, {"error": {"message": f"no route {self.path}"}})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            req = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._json(400, {"error": {"message": "bad json"}})
            return
        self.server.requests.append(req)
        key = self.server.api_key
        if key is not None and self.headers.get("Authorization") != f"Bearer {key}":
            self._json(401, {"error": {"message": "Incorrect API key provided"}})
            return
        query, docs = req.get("query"), req.get("documents")
        if not isinstance(query, str) or not isinstance(docs, list):
            self._json(422, {"detail": "`query` (string) and `documents` (list) are required"})
            return
        texts = [d.get("text", "") if isinstance(d, dict) else str(d) for d in docs]
        results = [{"index": i, "relevance_score": score(query, t)} for i, t in enumerate(texts)]
        results.sort(key=lambda r: -r["relevance_score"])  # stable: ties keep input order
        top_n = req.get("top_n")
        if isinstance(top_n, int) and top_n >= 0:
            results = results[:top_n]
        self._json(200, {"model": req.get("model"), "results": results,
                         "usage": {"total_tokens": sum(len(t.split()) for t in texts)}})


class FakeRerank(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, api_key: str | None = None):
        super().__init__(addr, _Handler)
        self.api_key = api_key
        self.requests: list[dict] = []

    @property
    def last_request(self) -> dict | None:
        return self.requests[-1] if self.requests else None


def start(host: str = "127.0.0.1", port: int = 0, api_key: str | None = None) -> tuple[FakeRerank, str]:
    """Start on a free port in a daemon thread; returns the server and its base URL (`.../v1`)."""
    server = FakeRerank((host, port), api_key=api_key)
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
