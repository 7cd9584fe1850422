"""The API-Gateway-shaped front: one HTTP API port routed by template.yaml's `HttpApi`
events (payload format 2.0, stage `$default`), plus one port per Function URL
(`FunctionUrlConfig`, buffered or RESPONSE_STREAM). Each request becomes the event API
Gateway (or the Function URL) would send, is invoked on the function through the Lambda
runtime emulator, and the function's answer is turned back into HTTP as API Gateway does:
the same status codes and `{"message": ...}` bodies for its own errors (404 no route, 413
payload too large, 500 function error, 503 integration timeout).
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
# A response-streaming function writes this JSON prelude, then 8 NUL bytes, then the body.
PRELUDE_SEPARATOR = b"\0" * 8


class Invoker:
    """Invokes functions through the runtime emulator's Invoke API."""

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
            conn.request(
                "POST",
                f"/2015-03-31/functions/{name}/invocations",
                body=payload,
                headers={"content-type": "application/json"},
            )
            res = conn.getresponse()
            return res.status, {k.lower(): v for k, v in res.getheaders()}, res.read()
        finally:
            conn.close()

    def invoke_stream(self, function: str, payload: bytes, timeout: float):
        """Streaming invoke: an open HTTPResponse whose body is the function's stream."""
        conn, name = self._conn(function, timeout)
        conn.request(
            "POST",
            f"/2015-03-31/functions/{name}/response-streaming-invocations",
            body=payload,
            headers={"content-type": "application/json"},
        )
        return conn, conn.getresponse()


def _is_text(content_type: str) -> bool:
    ct = (content_type or "").lower()
    return any(ct.startswith(t) for t in TEXT_TYPES) or ct.endswith("+json")


def build_event(
    *,
    route_key: str,
    path_params: dict | None,
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes,
    source_ip: str,
    domain: str,
    api_id: str,
) -> dict:
    """The payload-2.0 event API Gateway HTTP API (or a Function URL) sends."""
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
    request_id = str(uuid.uuid4())
    event: dict = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": hdrs,
        "requestContext": {
            "accountId": tpl.ACCOUNT_ID,
            "apiId": api_id,
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": hdrs.get("user-agent", ""),
            },
            "requestId": request_id,
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
        if _is_text(hdrs.get("content-type", "")):
            try:
                event["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                event["body"] = base64.b64encode(body).decode()
                event["isBase64Encoded"] = True
        else:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
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


HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer", "upgrade"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lambdarag-local-apigw"
    front: "Front"

    def log_message(self, fmt, *args):  # quiet: the stack's log gets one line per request
        self.front.log(f"{self.command} {self.path} {fmt % args}")

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
                 function_timeout: float = HTTP_API_TIMEOUT, streaming: bool = False, logger=print):
        self.invoker = invoker
        self.routes = routes or []
        self.function = function
        self.timeout = function_timeout
        self.streaming = streaming
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
        path = urlsplit(req.path).path
        if self.function is None:
            chosen = tpl.select_route(self.routes, req.command, path)
            if chosen is None:
                req._send(*_gateway_error(404, "Not Found"))
                return
            route, params = chosen
            function, route_key, timeout = route.function, route.route_key, min(self.timeout, HTTP_API_TIMEOUT)
            api_id = "local"
        else:
            function, route_key, params, timeout = self.function, "$default", None, self.timeout
            api_id = self.function
        event = build_event(
            route_key=route_key,
            path_params=params,
            method=req.command,
            target=req.path,
            headers=list(req.headers.items()),
            body=body,
            source_ip=req.client_address[0],
            domain=self.domain,
            api_id=api_id,
        )
        payload = json.dumps(event).encode()
        if len(payload) > MAX_PAYLOAD:
            req._send(*_gateway_error(413, "Request Entity Too Large"))
            return
        if self.streaming:
            self._stream(req, function, payload, timeout)
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
        if status != 200 or headers.get("x-amz-function-error"):
            self.log(f"{function}: function error ({status}): {result[:500]!r}")
            req._send(*_gateway_error(500, "Internal Server Error"))
            return
        if len(result) > MAX_PAYLOAD:
            req._send(*_gateway_error(500, "Internal Server Error"))
            return
        self.log(f"{function}: {req.command} {req.path} in {1000 * (time.monotonic() - started):.0f} ms")
        req._send(*http_response_from_payload(result))

    def _stream(self, req: _Handler, function: str, payload: bytes, timeout: float) -> None:
        try:
            conn, res = self.invoker.invoke_stream(function, payload, timeout)
        except (socket.timeout, TimeoutError):
            req._send(*_gateway_error(503, "Service Unavailable"))
            return
        except OSError as e:
            self.log(f"{function}: streaming invoke failed: {e}")
            req._send(*_gateway_error(500, "Internal Server Error"))
            return
        try:
            if res.status != 200:
                self.log(f"{function}: streaming invoke answered {res.status}: {res.read()[:500]!r}")
                req._send(*_gateway_error(500, "Internal Server Error"))
                return
            # The prelude (status, headers, cookies) ends at the first 8 NUL bytes.
            buf = b""
            while PRELUDE_SEPARATOR not in buf:
                chunk = res.read1(65536)
                if not chunk:
                    break
                buf += chunk
            if PRELUDE_SEPARATOR not in buf:
                # Not an HTTP-integration stream: a plain payload, as a buffered reply.
                req._send(*http_response_from_payload(buf))
                return
            head, rest = buf.split(PRELUDE_SEPARATOR, 1)
            prelude = json.loads(head or b"{}")
            req.send_response(int(prelude.get("statusCode", 200)))
            for k, v in (prelude.get("headers") or {}).items():
                if k.lower() not in HOP_BY_HOP:
                    req.send_header(k, str(v))
            for c in prelude.get("cookies") or []:
                req.send_header("set-cookie", c)
            req.send_header("transfer-encoding", "chunked")
            req.end_headers()

            def write(data: bytes) -> None:
                if data:
                    req.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    req.wfile.flush()

            write(rest)
            while True:
                chunk = res.read1(65536)
                if not chunk:
                    break
                write(chunk)
            req.wfile.write(b"0\r\n\r\n")
            req.wfile.flush()
        finally:
            conn.close()
