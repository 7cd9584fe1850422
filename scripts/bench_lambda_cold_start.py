"""Cold starts of the Lambda function binaries under `cargo lambda watch --only-lambda-apis`.

Driven by scripts/bench-lambda-cold-start.sh, which starts the emulator (and, for `embed`,
moto) and passes their ports. Standard library only, plus PyYAML and boto3 for `embed`
(both in the local AWS stack's venv, .venv-aws).

What one run of a function does:

  1. POST the request event to the emulator's invoke API (it queues it: no process polls yet);
  2. spawn a fresh process of the binary with a Lambda-like environment whose
     AWS_LAMBDA_RUNTIME_API points at a small recording proxy in front of the emulator;
  3. the proxy notes when the process first asks for work (GET .../invocation/next: the end
     of init), when it hands the event over, and when the process posts the response;
  4. the invoke call returns (cold, first invocation); then WARM more invocations follow on
     the same process; then the proxy holds the process's next poll (never forwarded, so no
     dead process ever owns a queued invocation) and the process is killed.

Timings (monotonic clock, milliseconds):
  init    spawn → first GET /runtime/invocation/next            (proxy)
  handler event handed over → response posted, first invocation   (proxy)
  cold    spawn → invoke call answered                             (client)
  warm    invoke call sent → answered, later invocations            (client, median per run)

Every AWS endpoint of the `cold` runs (AWS_ENDPOINT_URL, the queue URL, the OpenSearch URL)
is a tripwire server that answers 503 and counts what reached it: the requests must not
need a backend, and the report shows that none was called.

`embed` measures the retrieval function's first request that embeds (the built-in model
loads lazily, on first use): DynamoDB on the moto server the shell script started (a tenant,
its API key and an empty dataset, made with the lambdarag CLI and the datasets bootstrap),
and an empty stand-in for OpenSearch (every index missing, as on a fresh domain), so the
request is answered `code 0` with no chunks after embedding the question.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ACCOUNT = "123456789012"
REGION = "us-east-1"
TABLE = "lambdarag-bench"
BUCKET = "lambdarag-bench-documents"

# A request each function answers without any backend. HTTP functions: a route of theirs
# without an API key (the auth check answers before any lookup). Workers: an SQS record
# whose body is not a task (logged and dropped; the batch reports no failure).
ID = "0123456789abcdef0123456789abcdef"
HTTP_REQUESTS = {
    "datasets": ("GET", "/api/v1/datasets", "ANY /api/v1/datasets"),
    "documents": ("GET", f"/api/v1/datasets/{ID}/documents", "ANY /api/v1/datasets/{dataset_id}/documents"),
    "chunks": (
        "GET",
        f"/api/v1/datasets/{ID}/documents/{ID}/chunks",
        "ANY /api/v1/datasets/{dataset_id}/documents/{document_id}/chunks",
    ),
    "retrieval": ("POST", "/api/v1/retrieval", "ANY /api/v1/retrieval"),
    "dify": ("POST", "/api/v1/dify/retrieval", "ANY /api/v1/dify/retrieval"),
    "chats": ("GET", "/api/v1/chats", "ANY /api/v1/chats"),
    "sessions": ("GET", f"/api/v1/chats/{ID}/sessions", "ANY /api/v1/chats/{chat_id}/sessions"),
    "openai": (
        "POST",
        f"/api/v1/chats_openai/{ID}/chat/completions",
        "ANY /api/v1/chats_openai/{chat_id}/chat/completions",
    ),
    "searches": ("GET", "/api/v1/searches", "ANY /api/v1/searches"),
    # The version needs no store (the health check would probe them all).
    "system": ("GET", "/api/v1/system/version", "GET /api/v1/system/version"),
}
# The reply each request must get (API Gateway response: status and the JSON body).
TOKEN_AUTH = (200, {"code": 0, "message": "`Authorization` can't be empty", "data": False})
# Dify's external-knowledge route answers like upstream RAGFlow, which leaks a Python
# exception for a missing header (see shared/core/src/services/auth.rs): that is the correct reply.
DIFY_AUTH = (200, {"code": 100, "message": "AttributeError(\"'NoneType' object has no attribute 'split'\")", "data": None})
WORKER_REPLY = {"batchItemFailures": []}


def version_reply(body) -> str | None:
    """GET /system/version: the envelope with a version string (no key needed)."""
    ok = isinstance(body, dict) and body.get("code") == 0 and isinstance(body.get("data"), str)
    return None if ok else f"body {body!r}"


def ms(seconds: float) -> float:
    return round(seconds * 1000.0, 2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------
# template.yaml: memory size and environment of each binary's function
# --------------------------------------------------------------------------------------


def load_template(path: Path) -> dict:
    import yaml  # PyYAML (in .venv-aws)

    class Loader(yaml.SafeLoader):
        pass

    def intrinsic(loader, suffix, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {"Fn::" + suffix: value}

    Loader.add_multi_constructor("!", intrinsic)
    with open(path) as f:
        return yaml.load(f, Loader=Loader)


def functions_of(template: dict) -> dict[str, dict]:
    """binary → {logical_id, memory, env (name → value or intrinsic), layers}; the first
    function declared per binary (the buffered one where a streaming twin exists)."""
    glob = (template.get("Globals") or {}).get("Function") or {}
    genv = ((glob.get("Environment") or {}).get("Variables")) or {}
    out: dict[str, dict] = {}
    for lid, res in (template.get("Resources") or {}).items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        binary = ((res.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")
        if not binary or binary in out:
            continue
        props = res.get("Properties") or {}
        env = dict(genv)
        env.update(((props.get("Environment") or {}).get("Variables")) or {})
        out[binary] = {
            "logical_id": lid,
            "memory": int(props.get("MemorySize", glob.get("MemorySize", 128))),
            "env": env,
            "layers": bool(props.get("Layers")),
        }
    return out


def function_env(name: str, fn: dict, *, endpoint: str, opensearch: str, model_root: str | None,
                 runtime_api: str, task_root: str, log_level: str) -> dict[str, str]:
    """The variables Lambda gives the process, then the template's, with local stand-ins
    for the values CloudFormation would resolve."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "_HANDLER": "bootstrap",
        "LAMBDA_TASK_ROOT": task_root,
        "LAMBDA_RUNTIME_DIR": task_root,
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn["memory"]),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]bench",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_SESSION_TOKEN": "test",
        "AWS_ENDPOINT_URL": endpoint,
    }
    stand_ins = {
        "RUST_LOG": log_level,
        "LAMBDARAG_TABLE": TABLE,
        "LAMBDARAG_BUCKET": BUCKET,
        "LAMBDARAG_QUEUE_URL": f"{endpoint}/{ACCOUNT}/lambdarag-bench-parse",
        "LAMBDARAG_DEAD_LETTER_QUEUE_ARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:lambdarag-bench-parse-dlq",
        "LAMBDARAG_OPENSEARCH_URL": opensearch,
    }
    for key, value in fn["env"].items():
        if key in stand_ins:
            env[key] = stand_ins[key]
        elif key == "LAMBDARAG_MODEL_DIR":
            if model_root:
                env[key] = model_root
        elif isinstance(value, (str, int, float)):
            env[key] = str(value)
        else:
            env[key] = "bench-placeholder"
    return env


# --------------------------------------------------------------------------------------
# Servers: the recording runtime proxy, the tripwire, the empty OpenSearch
# --------------------------------------------------------------------------------------


class Recorder:
    """Per-binary timeline of the current run, filled by the proxy."""

    def __init__(self):
        self.lock = threading.Lock()
        self.runs: dict[str, dict] = {}

    def start(self, binary: str, forward_polls: int):
        with self.lock:
            self.runs[binary] = {
                "polls": [],  # arrival of each GET next
                "delivered": [],  # upstream answered each forwarded GET next
                "responses": [],  # arrival of each POST response/error
                "errors": [],
                "forward_polls": forward_polls,
                "release": threading.Event(),
            }

    def get(self, binary: str) -> dict:
        with self.lock:
            return self.runs[binary]


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        out = bytearray()
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(out)
            out += handler.rfile.read(size)
            handler.rfile.readline()
    n = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(n) if n else b""


class Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, TCP_NODELAY, and each reply in one write: a reply written as
    headers then body would wait out the peer's delayed ACK (~40 ms) under Nagle."""

    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *a):
        pass

    def send_all(self, status: int, headers: list[tuple[str, str]], data: bytes, body: bool = True):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        # end_headers() would flush the headers on their own: append the body first.
        self._headers_buffer.append(b"\r\n")
        if body:
            self._headers_buffer.append(data)
        self.flush_headers()


HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "te", "upgrade"}


def make_proxy(upstream_port: int, rec: Recorder) -> ThreadingHTTPServer:
    path_re = re.compile(r"^/\.rt/([^/]+)(/.*)$")

    class Proxy(Handler):
        def _forward(self, body: bytes | None):
            conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=None)
            conn.connect()
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
            return resp, data

        def _reply(self, resp, data: bytes):
            self.send_all(resp.status, [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP], data)

        def do_GET(self):
            now = time.perf_counter()
            m = path_re.match(self.path)
            run = rec.get(m.group(1)) if m else None
            if run is not None and m.group(2).endswith("/runtime/invocation/next"):
                run["polls"].append(now)
                if len(run["polls"]) > run["forward_polls"]:
                    # The run is over: hold this poll (the process is about to be killed).
                    run["release"].wait(60)
                    self.close_connection = True
                    return
                resp, data = self._forward(None)
                run["delivered"].append(time.perf_counter())
                self._reply(resp, data)
                return
            resp, data = self._forward(None)
            self._reply(resp, data)

        def do_POST(self):
            now = time.perf_counter()
            body = read_body(self)
            m = path_re.match(self.path)
            run = rec.get(m.group(1)) if m else None
            if run is not None:
                if self.path.endswith("/response"):
                    run["responses"].append(now)
                elif self.path.endswith("/error"):
                    run["responses"].append(now)
                    run["errors"].append(body.decode(errors="replace")[:500])
            resp, data = self._forward(body)
            self._reply(resp, data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def make_tripwire() -> tuple[ThreadingHTTPServer, list]:
    """Stands in for every AWS endpoint: answers 503 and records what reached it."""
    hits: list[str] = []

    class Tripwire(Handler):
        def _any(self):
            read_body(self)
            hits.append(f"{self.command} {self.headers.get('Host')} {self.path}")
            data = b'{"message":"tripwire: no backend in this benchmark"}'
            self.send_all(503, [("Content-Type", "application/json")], data, self.command != "HEAD")

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Tripwire)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, hits


def make_empty_opensearch() -> tuple[ThreadingHTTPServer, list]:
    """An OpenSearch with no index: what a fresh domain answers for a tenant that has
    never indexed a chunk (every index 404 index_not_found_exception)."""
    hits: list[str] = []

    class Empty(Handler):
        def _any(self):
            read_body(self)
            hits.append(f"{self.command} {self.path}")
            index = self.path.lstrip("/").split("/")[0].split("?")[0]
            data = json.dumps({
                "error": {
                    "root_cause": [{"type": "index_not_found_exception", "reason": f"no such index [{index}]"}],
                    "type": "index_not_found_exception",
                    "reason": f"no such index [{index}]",
                    "index": index,
                },
                "status": 404,
            }).encode()
            self.send_all(404, [("Content-Type", "application/json")], data, self.command != "HEAD")

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Empty)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, hits


# --------------------------------------------------------------------------------------
# Events and invocations
# --------------------------------------------------------------------------------------


def apigw_event(method: str, path: str, route: str, body: str | None = None,
                headers: dict | None = None, request_id: str = "bench") -> dict:
    h = {
        "accept": "application/json",
        "host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "user-agent": "lambdarag-bench",
        "x-forwarded-for": "203.0.113.7",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    if body is not None:
        h["content-type"] = "application/json"
    h.update(headers or {})
    event = {
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": "",
        "headers": h,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "abcdef1234",
            "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abcdef1234",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": "lambdarag-bench"},
            "requestId": request_id,
            "routeKey": route,
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 1767225600000,
        },
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = body
    return event


def sqs_event(queue: str) -> dict:
    return {"Records": [{
        "messageId": "00000000-0000-4000-8000-000000000000",
        "receiptHandle": "bench",
        "body": "this is not a task",
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1767225600000",
                       "SenderId": "bench", "ApproximateFirstReceiveTimestamp": "1767225600000"},
        "messageAttributes": {},
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
        "awsRegion": REGION,
    }]}


def backend_free_request(binary: str) -> tuple[dict, object]:
    """(event, expected reply) for `cold`."""
    if binary in HTTP_REQUESTS:
        method, path, route = HTTP_REQUESTS[binary]
        body = None
        if binary == "openai":  # the body is checked before the key, as upstream does
            body = json.dumps({"model": "model", "messages": [{"role": "user", "content": "hi"}]})
        elif method == "POST":
            body = "{}"
        if binary == "system":
            return apigw_event(method, path, route, body), (200, version_reply)
        return apigw_event(method, path, route, body), (DIFY_AUTH if binary == "dify" else TOKEN_AUTH)
    if binary in ("parse-worker", "s3-ingest"):
        return sqs_event(f"lambdarag-bench-{binary}"), WORKER_REPLY
    raise SystemExit(f"no backend-free request is defined for {binary}")


def check_reply(reply: bytes, expected) -> str | None:
    """None when the reply is the expected one, else what is wrong."""
    try:
        got = json.loads(reply)
    except ValueError:
        return f"not JSON: {reply[:200]!r}"
    if isinstance(expected, tuple):
        status, body = expected
        if not isinstance(got, dict) or got.get("statusCode") != status:
            return f"status {got.get('statusCode') if isinstance(got, dict) else '?'}: {reply[:300]!r}"
        try:
            got_body = json.loads(got.get("body") or "")
        except ValueError:
            return f"body not JSON: {reply[:300]!r}"
        if callable(body):
            return body(got_body)
        return None if got_body == body else f"body {got_body!r}"
    return None if got == expected else f"reply {got!r}"


def invoke(port: int, binary: str, event: dict, out: dict, timeout: float = 120.0):
    url = f"http://127.0.0.1:{port}/2015-03-31/functions/{binary}/invocations"
    data = json.dumps(event).encode()
    out["sent"] = time.perf_counter()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, method="POST"), timeout=timeout) as r:
            out["reply"] = r.read()
            out["status"] = r.status
    except urllib.error.HTTPError as e:
        out["reply"] = e.read()
        out["status"] = e.code
    except Exception as e:  # noqa: BLE001 (reported as a failed run)
        out["reply"] = repr(e).encode()
        out["status"] = None
    out["done"] = time.perf_counter()


def peak_rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def runtime_api(args, binary: str) -> str:
    """The process's runtime API: the recording proxy, in front of the emulator's /.rt/<bin>."""
    return f"http://127.0.0.1:{args.proxy_port}/.rt/{binary}"


def one_run(*, binary: str, bootstrap: str, env: dict, emulator_port: int, rec: Recorder,
            cold_event: dict, warm_events: list[dict], expected_cold, expected_warm,
            log_path: Path) -> dict:
    rec.start(binary, forward_polls=1 + len(warm_events))
    first: dict = {}
    t = threading.Thread(target=invoke, args=(emulator_port, binary, cold_event, first))
    t.start()
    time.sleep(0.2)  # the invocation is queued before the process exists
    with open(log_path, "ab") as log:
        t_spawn = time.perf_counter()
        proc = subprocess.Popen([bootstrap], env=env, cwd=os.path.dirname(bootstrap),
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            t.join(150)
            run = rec.get(binary)
            result = {"ok": True}
            problem = None
            if t.is_alive() or "done" not in first:
                problem = "no reply within 150 s"
            elif first.get("status") != 200:
                problem = f"invoke HTTP {first.get('status')}: {first.get('reply', b'')[:300]!r}"
            else:
                problem = check_reply(first["reply"], expected_cold)
            if problem is None and run["errors"]:
                problem = f"function error: {run['errors'][0]}"
            if problem:
                result.update(ok=False, problem=f"cold: {problem}")
            warm = []
            for i, ev in enumerate(warm_events):
                if not result["ok"]:
                    break
                w: dict = {}
                invoke(emulator_port, binary, ev, w, timeout=60)
                p = None if w.get("status") == 200 else f"invoke HTTP {w.get('status')}: {w.get('reply', b'')[:300]!r}"
                p = p or check_reply(w["reply"], expected_warm)
                if p:
                    result.update(ok=False, problem=f"warm {i + 1}: {p}")
                    break
                warm.append(w["done"] - w["sent"])
            # Wait until the process polls again (held by the proxy), so its RSS is final.
            deadline = time.perf_counter() + 5
            while len(run["polls"]) <= run["forward_polls"] and time.perf_counter() < deadline and proc.poll() is None:
                time.sleep(0.005)
            rss = peak_rss_kib(proc.pid)
        finally:
            proc.kill()
            proc.wait()
            rec.get(binary)["release"].set()
    if result["ok"]:
        polls, delivered, responses = run["polls"], run["delivered"], run["responses"]
        result.update(
            init_ms=ms(polls[0] - t_spawn),
            handler_ms=ms(responses[0] - delivered[0]),
            cold_ms=ms(first["done"] - t_spawn),
            warm_ms=ms(statistics.median(warm)) if warm else None,
            warm_handler_ms=ms(statistics.median(
                [responses[i] - delivered[i] for i in range(1, min(len(responses), len(delivered)))]
            )) if len(responses) > 1 else None,
            peak_rss_mib=round(rss / 1024, 1) if rss else None,
        )
    return result


def summarize(values: list[float]) -> dict:
    values = [v for v in values if v is not None]
    if not values:
        return {}
    return {"median": round(statistics.median(values), 1), "min": round(min(values), 1),
            "max": round(max(values), 1)}


def fmt(s: dict) -> str:
    if not s:
        return "-"
    return f"{s['median']:.1f} ({s['min']:.1f}–{s['max']:.1f})"


def bench(args, binary: str, bootstrap: str, fn: dict, rec: Recorder, endpoint: str,
          opensearch: str, model_root: str | None, events, log_dir: Path) -> dict:
    cold_event, warm_events, expected_cold, expected_warm = events
    env = function_env(
        binary, fn, endpoint=endpoint, opensearch=opensearch, model_root=model_root,
        runtime_api=runtime_api(args, binary), task_root=os.path.dirname(bootstrap),
        log_level=args.log_level)
    runs = []
    log_path = log_dir / f"{binary}.log"
    log_path.unlink(missing_ok=True)
    for i in range(args.runs):
        r = one_run(binary=binary, bootstrap=bootstrap, env=env, emulator_port=args.emulator_port,
                    rec=rec, cold_event=cold_event, warm_events=warm_events,
                    expected_cold=expected_cold, expected_warm=expected_warm, log_path=log_path)
        runs.append(r)
        if not r["ok"]:
            print(f"  {binary} run {i + 1}: FAILED: {r['problem']}", file=sys.stderr)
            break
    ok = [r for r in runs if r["ok"]]
    keys = ("init_ms", "handler_ms", "cold_ms", "warm_ms", "warm_handler_ms", "peak_rss_mib")
    out = {
        "binary": binary,
        "bootstrap": bootstrap,
        "bytes": os.path.getsize(bootstrap),
        "memory_mb": fn["memory"],
        "model_dir": env.get("LAMBDARAG_MODEL_DIR"),
        "runs_ok": len(ok),
        "runs": runs,
        **{k: summarize([r[k] for r in ok]) for k in keys},
        "cold_minus_warm_ms": summarize([r["cold_ms"] - r["warm_ms"] for r in ok if r["warm_ms"] is not None]),
    }
    return out


# --------------------------------------------------------------------------------------
# embed: the retrieval function's first request that embeds
# --------------------------------------------------------------------------------------


def embed_setup(args, functions, rec: Recorder, opensearch: str, model_root: str, log_dir: Path) -> tuple[str, str]:
    """Table, tenant + key (lambdarag CLI), an empty dataset (datasets bootstrap).
    Returns (api key, dataset id)."""
    import boto3

    moto = f"http://127.0.0.1:{args.moto_port}"
    template = load_template(Path(args.template))
    props = template["Resources"]["MetadataTable"]["Properties"]
    ddb = boto3.client("dynamodb", endpoint_url=moto, region_name=REGION,
                       aws_access_key_id="test", aws_secret_access_key="test")
    kwargs = {k: props[k] for k in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes") if k in props}
    ddb.create_table(TableName=TABLE, BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"), **kwargs)

    cli_env = dict(os.environ, AWS_ENDPOINT_URL=moto, AWS_REGION=REGION, AWS_ACCESS_KEY_ID="test",
                   AWS_SECRET_ACCESS_KEY="test", LAMBDARAG_TABLE=TABLE)
    out = subprocess.run([args.cli, "--metadata", "dynamodb", "tenant", "create", "--name", "bench"],
                         env=cli_env, capture_output=True, text=True, check=True).stdout
    key = out.strip().splitlines()[-1].strip()

    # The dataset, through the datasets function (one invocation, not measured).
    ds_bootstrap = args.bootstrap["datasets"]
    env = function_env("datasets", functions["datasets"], endpoint=moto, opensearch=opensearch,
                       model_root=model_root, runtime_api=runtime_api(args, "datasets"),
                       task_root=os.path.dirname(ds_bootstrap), log_level=args.log_level)
    create = apigw_event("POST", "/api/v1/datasets", "ANY /api/v1/datasets",
                         json.dumps({"name": "bench", "chunk_method": "naive"}),
                         {"authorization": f"Bearer {key}"})
    created: dict = {}

    def remember(body):
        if body.get("code") != 0:
            return f"dataset create: {body}"
        created.update(body["data"])
        return None

    r = one_run(binary="datasets", bootstrap=ds_bootstrap, env=env, emulator_port=args.emulator_port,
                rec=rec, cold_event=create, warm_events=[], expected_cold=(200, remember),
                expected_warm=None, log_path=log_dir / "embed-setup-datasets.log")
    if not r["ok"]:
        raise SystemExit(f"embed set-up failed: {r['problem']}")
    return key, created["id"]


def evict_model(model_root: str):
    """Drop the model files' pages from the page cache (posix_fadvise DONTNEED: only these
    files, only pages nobody has mapped), so the load reads them from disk."""
    for f in Path(model_root, "all-MiniLM-L6-v2").iterdir():
        if f.is_file():
            fd = os.open(f, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def embed_bench(args, functions, rec: Recorder, opensearch: str, os_hits: list, model_root: str,
                log_dir: Path, key: str, dataset_id: str, evict: bool) -> dict:
    questions = [
        "What is the capital of France?",
        "How do vaccines train the immune system?",
        "Which rivers flow into the Black Sea?",
        "When was the printing press invented?",
    ]

    def request(q: str, i: int) -> dict:
        return apigw_event("POST", "/api/v1/retrieval", "ANY /api/v1/retrieval",
                           json.dumps({"question": q, "dataset_ids": [dataset_id]}),
                           {"authorization": f"Bearer {key}"}, request_id=f"bench-embed-{i}")

    def empty_result(body):
        if body.get("code") != 0:
            return f"retrieval: {body}"
        data = body.get("data") or {}
        if data.get("chunks") != [] or data.get("total") != 0:
            return f"retrieval data: {data}"
        return None

    log_path = log_dir / ("retrieval-embed-evicted.log" if evict else "retrieval-embed.log")
    os_before = len(os_hits)
    log_path.unlink(missing_ok=True)
    binary = "retrieval"
    bootstrap = args.bootstrap[binary]
    env = function_env(binary, functions[binary], endpoint=f"http://127.0.0.1:{args.moto_port}",
                       opensearch=opensearch, model_root=model_root,
                       runtime_api=runtime_api(args, binary), task_root=os.path.dirname(bootstrap),
                       log_level=args.log_level)
    runs = []
    for i in range(args.runs):
        before = log_path.stat().st_size if log_path.exists() else 0
        if evict:
            evict_model(model_root)
        r = one_run(binary=binary, bootstrap=bootstrap, env=env, emulator_port=args.emulator_port, rec=rec,
                    cold_event=request(questions[0], 0),
                    warm_events=[request(q, j) for j, q in enumerate(questions[1:], 1)],
                    expected_cold=(200, empty_result), expected_warm=(200, empty_result), log_path=log_path)
        # The model's own load time, from this run's JSON log lines.
        loads = []
        with open(log_path, "rb") as f:
            f.seek(before)
            for line in f:
                try:
                    rec_ = json.loads(line)
                except ValueError:
                    continue
                fields = rec_.get("fields") or {}
                if fields.get("message") == "loaded the built-in embedding model":
                    loads.append(fields.get("elapsed_ms"))
        if r["ok"] and len(loads) != 1:
            r.update(ok=False, problem=f"expected one model load in the log, found {loads}")
        r["model_load_ms"] = loads[0] if loads else None
        runs.append(r)
        if not r["ok"]:
            print(f"  retrieval (embed) run {i + 1}: FAILED: {r['problem']}", file=sys.stderr)
            break
    ok = [r for r in runs if r["ok"]]
    keys = ("init_ms", "handler_ms", "cold_ms", "warm_ms", "warm_handler_ms", "peak_rss_mib", "model_load_ms")
    return {
        "binary": binary,
        "bootstrap": bootstrap,
        "model_dir": model_root,
        "page_cache": "evicted before each run" if evict else "hot",
        "runs_ok": len(ok),
        "runs": runs,
        "opensearch_requests": len(os_hits) - os_before,
        **{k: summarize([r[k] for r in ok]) for k in keys},
        "first_embed_extra_ms": summarize([r["handler_ms"] - r["warm_handler_ms"] for r in ok
                                           if r["warm_handler_ms"] is not None]),
    }


# --------------------------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["cold", "embed"])
    p.add_argument("--emulator-port", type=int, required=True)
    p.add_argument("--moto-port", type=int)
    p.add_argument("--template", default="template.yaml")
    p.add_argument("--bin", action="append", default=[], metavar="NAME=PATH",
                   help="a function binary and its bootstrap (repeatable)")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--warm", type=int, default=3, help="warm invocations per run (cold mode)")
    p.add_argument("--model-dir", help="LAMBDARAG_MODEL_DIR for the functions that have a model layer")
    p.add_argument("--cli", help="the lambdarag CLI (embed mode: tenant and key)")
    p.add_argument("--log-level", default="info", help="RUST_LOG (the template's default: info)")
    p.add_argument("--log-dir", default="target-lambda/bench-logs")
    p.add_argument("--json", help="write the full results here")
    args = p.parse_args()

    args.bootstrap = dict(b.split("=", 1) for b in args.bin)
    functions = functions_of(load_template(Path(args.template)))
    log_dir = Path(args.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    rec = Recorder()
    proxy = make_proxy(args.emulator_port, rec)
    args.proxy_port = proxy.server_address[1]
    model_root = os.path.abspath(args.model_dir) if args.model_dir else None

    results = {"mode": args.mode, "runs": args.runs, "loadavg_before": os.getloadavg(), "functions": []}
    if args.mode == "cold":
        trip, hits = make_tripwire()
        endpoint = f"http://127.0.0.1:{trip.server_address[1]}"
        print(f"{'function':<13} {'MB':>5} {'bootstrap':>10} {'init ms':>20} {'1st handler ms':>20} "
              f"{'cold (spawn→reply) ms':>22} {'warm ms':>18} {'peak RSS MiB':>13}")
        for binary, bootstrap in args.bootstrap.items():
            fn = functions.get(binary)
            if fn is None:
                raise SystemExit(f"{binary}: not a Binary of template.yaml")
            cold_event, expected = backend_free_request(binary)
            before = len(hits)
            r = bench(args, binary, bootstrap, fn, rec, endpoint, endpoint,
                      model_root if fn["layers"] else None,
                      (cold_event, [cold_event] * args.warm, expected, expected), log_dir)
            r["backend_requests"] = hits[before:]
            results["functions"].append(r)
            print(f"{binary:<13} {fn['memory']:>5} {r['bytes'] / 2**20:>8.1f}Mi {fmt(r['init_ms']):>20} "
                  f"{fmt(r['handler_ms']):>20} {fmt(r['cold_ms']):>22} {fmt(r['warm_ms']):>18} "
                  f"{fmt(r['peak_rss_mib']):>13}"
                  + ("" if r["runs_ok"] == args.runs else f"  ({r['runs_ok']}/{args.runs} runs ok)")
                  + (f"  BACKEND CALLED: {r['backend_requests'][:3]}" if r["backend_requests"] else ""))
    else:
        if not (args.moto_port and args.cli and model_root):
            raise SystemExit("embed needs --moto-port, --cli and --model-dir")
        os_server, os_hits = make_empty_opensearch()
        opensearch = f"http://127.0.0.1:{os_server.server_address[1]}"
        key, dataset_id = embed_setup(args, functions, rec, opensearch, model_root, log_dir)
        for evict in (False, True):
            r = embed_bench(args, functions, rec, opensearch, os_hits, model_root, log_dir,
                            key, dataset_id, evict)
            results["functions"].append(r)
            print(f"retrieval, first request embeds; model files {r['page_cache']} "
                  f"({r['runs_ok']}/{args.runs} runs ok; model {model_root})")
            for label, k in (("init (spawn → first poll)", "init_ms"),
                             ("first request, handler", "handler_ms"),
                             ("  of which model load (function's log)", "model_load_ms"),
                             ("cold: spawn → reply", "cold_ms"),
                             ("warm request, handler", "warm_handler_ms"),
                             ("warm request, invoke → reply", "warm_ms"),
                             ("first handler − warm handler", "first_embed_extra_ms"),
                             ("peak RSS MiB", "peak_rss_mib")):
                print(f"  {label:<40} {fmt(r[k])}")
    results["loadavg_after"] = os.getloadavg()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    failed = [r["binary"] for r in results["functions"] if r["runs_ok"] != args.runs]
    if failed:
        raise SystemExit(f"failed runs: {', '.join(failed)}")


if __name__ == "__main__":
    main()
