"""The API-Gateway-shaped front: one HTTP API port routed by template.yaml's `HttpApi`
events (payload format 2.0, stage `$default`), plus one port per Function URL
(`FunctionUrlConfig`).

HTTP API: each request becomes the event API Gateway would send, is invoked on the function
through the runtime emulator's Invoke API, and the function's answer is turned back into
HTTP as API Gateway does, with API Gateway's own replies for its errors (404 no route, 413
payload too large, 500 function error, 503 integration timeout).

Function URLs: the request goes to the emulator's Function URL (`/lambda-url/<name>/...`),
which builds the Function URL event, runs the function buffered or RESPONSE_STREAM, and
answers with the function's status and headers; the body is relayed as it is produced.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from . import template as tpl

# Lambda's synchronous invocation payload limit (request and response).
MAX_PAYLOAD = 6 * 1024 * 1024
# API Gateway HTTP API gives up on an integration after 30 s.
HTTP_API_TIMEOUT = 30.0
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript", "application/x-www-form-urlencoded")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer", "upgrade"}


class Invoker:
    """Invokes functions through the runtime emulator."""

    def __init__(self, target):
        # target(logical_id) -> (host, port, the function's name on that emulator)
        self.target = target

    def _conn(self, function: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
        host, port, name = self.target(function)
        return http.client.HTTPConnection(host, port, timeout=timeout), name

    def invoke(self, function: str, payload: bytes, timeout: float) -> tuple[int, dict, bytes]:
        """Buffered invoke: (HTTP status of the Invoke API, its headers, the payload)."""
        conn, name = self._conn(function, timeout)
        try:
            conn.request("POST", f"/2015-03-31/functions/{name}/invocations", body=payload,
                         headers={"content-type": "application/json"})
            res = conn.getresponse()
            return res.status, {k.lower(): v for k, v in res.getheaders()}, res.read()
        finally:
            conn.close()

    def function_url(self, function: str, method: str, target: str, headers: list, body: bytes, timeout: float):
        """A request to the emulator's Function URL of `function`; returns the open
        connection and its response (read it as it arrives)."""
        conn, name = self._conn(function, timeout)
        conn.request(method, f"/lambda-url/{name}{target}", body=body or None, headers=dict(headers))
        return conn, conn.getresponse()


def _is_text(content_type: str) -> bool:
    ct = (content_type or "").lower()
    return any(ct.startswith(t) for t in TEXT_TYPES) or ct.endswith("+json")


def build_event(*, route_key: str, path_params: dict | None, method: str, target: str,
                headers: list[tuple[str, str]], body: bytes, source_ip: str, domain: str) -> dict:
    """The payload-2.0 event API Gateway HTTP API sends."""
    parts = urlsplit(target)
    hdrs: dict[str, str] = {}
    cookies: list[str] = []
    for k, v in headers:
        k = k.lower()
        if k == "cookie":
            cookies.extend(c.strip() for c in v.split(";") if c.strip())
            continue
        hdrs[k] = f"{hdrs[k]},{v}" if k in hdrs else v
    query: dict[str, str] = {}
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        query[k] = f"{query[k]},{v}" if k in query else v
    now = datetime.now(timezone.utc)
    event: dict = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": hdrs,
        "requestContext": {
            "accountId": tpl.ACCOUNT_ID,
            "apiId": "local",
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": hdrs.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_params:
        event["pathParameters"] = path_params
    if body:
        text = None
        if _is_text(hdrs.get("content-type", "")):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        if text is None:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
        else:
            event["body"] = text
    return event


def _gateway_error(status: int, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
    return status, [("content-type", "application/json")], json.dumps({"message": message}).encode()


def http_response_from_payload(payload: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """A payload-2.0 Lambda result as API Gateway turns it into HTTP."""
    try:
        result = json.loads(payload)
    except ValueError:
        return _gateway_error(500, "Internal Server Error")
    if not isinstance(result, dict) or "statusCode" not in result:
        # Format 2.0 lets a function return a bare JSON value: a 200 with that body.
        return 200, [("content-type", "application/json")], json.dumps(result).encode()
    headers = [(k, str(v)) for k, v in (result.get("headers") or {}).items()]
    for k, vs in (result.get("multiValueHeaders") or {}).items():
        headers.extend((k, str(v)) for v in vs)
    headers.extend(("set-cookie", c) for c in (result.get("cookies") or []))
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    return int(result["statusCode"]), headers, data


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lambdarag-local-apigw"
    front: "Front"

    def log_message(self, fmt, *args):
        pass  # the front logs one line per invocation itself

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("content-length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in HOP_BY_HOP:
                self.send_header(k, v)
        self.send_header("content-length", str(len(body)))
        self.send_header("apigw-requestid", uuid.uuid4().hex[:16])
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _write_chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def _handle(self) -> None:
        body = self._read_body()
        try:
            self.front.handle(self, body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle


class Front:
    """One listening port: the HTTP API (`routes`) or a Function URL (`function`)."""

    def __init__(self, invoker: Invoker, host: str, port: int, *, routes=None, function=None,
                 function_timeout: float = HTTP_API_TIMEOUT, timeouts: dict | None = None, logger=print):
        self.invoker = invoker
        self.routes = routes or []
        self.function = function
        self.timeout = function_timeout
        # Each function's own timeout (the HTTP API stops waiting at 30 s anyway).
        self.timeouts = timeouts or {}
        self.log = logger
        handler = type("Handler", (_Handler,), {"front": self})
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.domain = f"127.0.0.1:{self.port}"

    def serve_in_thread(self) -> threading.Thread:
        t = threading.Thread(target=self.server.serve_forever, name=f"front-{self.port}", daemon=True)
        t.start()
        return t

    def handle(self, req: _Handler, body: bytes) -> None:
        if self.function is not None:
            self._function_url(req, body)
            return
        chosen = tpl.select_route(self.routes, req.command, urlsplit(req.path).path)
        if chosen is None:
            req._send(*_gateway_error(404, "Not Found"))
            return
        route, params = chosen
        function = route.function
        timeout = min(self.timeouts.get(function, HTTP_API_TIMEOUT), HTTP_API_TIMEOUT)
        event = build_event(route_key=route.route_key, path_params=params, method=req.command, target=req.path,
                            headers=list(req.headers.items()), body=body, source_ip=req.client_address[0],
                            domain=self.domain)
        payload = json.dumps(event).encode()
        if len(payload) > MAX_PAYLOAD:
            req._send(*_gateway_error(413, "Request Entity Too Large"))
            return
        started = time.monotonic()
        try:
            status, headers, result = self.invoker.invoke(function, payload, timeout)
        except (socket.timeout, TimeoutError):
            self.log(f"{function}: no answer within {timeout:.0f}s")
            req._send(*_gateway_error(503, "Service Unavailable"))
            return
        except OSError as e:
            self.log(f"{function}: invoke failed: {e}")
            req._send(*_gateway_error(500, "Internal Server Error"))
            return
        if status != 200 or headers.get("x-amz-function-error") or len(result) > MAX_PAYLOAD:
            self.log(f"{function}: function error ({status}, {len(result)} bytes): {result[:500]!r}")
            req._send(*_gateway_error(500, "Internal Server Error"))
            return
        self.log(f"{function}: {req.command} {req.path} in {1000 * (time.monotonic() - started):.0f} ms")
        req._send(*http_response_from_payload(result))

    def _function_url(self, req: _Handler, body: bytes) -> None:
        function = self.function
        headers = [(k, v) for k, v in req.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "host"]
        headers.append(("content-length", str(len(body))))
        try:
            conn, res = self.invoker.function_url(function, req.command, req.path, headers, body, self.timeout)
        except (socket.timeout, TimeoutError):
            req._send(*_gateway_error(503, "Service Unavailable"))
            return
        except OSError as e:
            self.log(f"{function}: Function URL invoke failed: {e}")
            req._send(*_gateway_error(500, "Internal Server Error"))
            return
        try:
            req.send_response(res.status)
            for k, v in res.getheaders():
                # The emulator's bookkeeping headers are not the function's.
                if k.lower() in HOP_BY_HOP or k.lower().startswith(("lambda-runtime-", "x-amzn-remapped-")):
                    continue
                req.send_header(k, v)
            req.send_header("transfer-encoding", "chunked")
            req.end_headers()
            while True:
                chunk = res.read1(65536)
                if not chunk:
                    break
                req._write_chunk(chunk)
            req.wfile.write(b"0\r\n\r\n")
            req.wfile.flush()
            self.log(f"{function}: {req.command} {req.path} -> {res.status} (Function URL)")
        finally:
            conn.close()
