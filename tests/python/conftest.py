"""Session fixtures: one real lambdarag deployment for the suite: the embedded server (temp data
dir, started here) or the local AWS stack (LAMBDARAG_TARGET=aws; see deployments.py).

The server binary comes from $LAMBDARAG_BIN (default: <repo>/target/debug/lambdarag); it is
never built here. Two tenants are created through the CLI before the server starts:
tenant A (`api_key`, `client`) and tenant B (`other_api_key`, `other_client`).
Every test's datasets are removed afterwards (autouse `_clean_datasets`), so tests are
order-independent.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from ragflow_sdk import RAGFlow

from deployments import ON_AWS, TARGET, sdk_skip_reason, skip_reason
from helpers import SDK_026

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("LAMBDARAG_BIN") or REPO / "target" / "debug" / "lambdarag")

# Environment variables of the binary that would override what the fixtures pass. On AWS the
# CLI needs the stack's table (LAMBDARAG_TABLE) and the AWS_* variables `up` exported.
_SCRUBBED_ENV = ("LAMBDARAG_DATA_DIR", "LAMBDARAG_METADATA", "LAMBDARAG_ADDR") + (() if ON_AWS else ("LAMBDARAG_TABLE",))


# The session's server, so a failing test's report can show what the server logged.
_SESSION_SERVER: list = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and _SESSION_SERVER:
        lines = _SESSION_SERVER[0].log().splitlines()[-40:]
        report.sections.append(("server log (last 40 lines)", "\n".join(lines)))


def pytest_collection_modifyitems(config, items):
    for item in items:
        reason = skip_reason(item.nodeid)
        if reason:
            item.add_marker(pytest.mark.skip(reason=f"not on the {TARGET} deployment: {reason}"))
        reason = sdk_skip_reason(item.nodeid)
        if reason:
            item.add_marker(pytest.mark.skip(reason=f"not with ragflow-sdk 0.26 yet: {reason}"))


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env.setdefault("RUST_LOG", "warn")
    # The built-in embedding model (all-MiniLM-L6-v2) the parse workers need.
    if not env.get("LAMBDARAG_MODEL_DIR"):
        env["LAMBDARAG_MODEL_DIR"] = str(REPO / "data" / "models")
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(data_dir: Path | str, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `lambdarag --data-dir DATA_DIR ARGS...` (on AWS: `lambdarag --metadata dynamodb
    ARGS...`, the stack's table) and return the completed process (text mode)."""
    where = ["--metadata", "dynamodb"] if ON_AWS else ["--data-dir", str(data_dir)]
    proc = subprocess.run(
        [str(BIN), *where, *args],
        capture_output=True,
        text=True,
        env=_child_env(),
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"lambdarag {' '.join(args)} exited {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
        )
    return proc


@dataclass
class Tenant:
    id: str
    api_key: str


def create_tenant(data_dir: Path | str, name: str) -> Tenant:
    """`tenant create --name NAME` prints `tenant: <id>` and then the tenant's first API key."""
    out = run_cli(data_dir, "tenant", "create", "--name", name).stdout
    lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
    m = re.fullmatch(r"tenant: ([0-9a-f]{32})", lines[0]) if lines else None
    assert m and len(lines) >= 2, f"unexpected `tenant create` output: {out!r}"
    return Tenant(id=m.group(1), api_key=lines[1])


@dataclass
class ServerProcess:
    """A running `lambdarag serve` on 127.0.0.1 with its own data dir."""

    data_dir: Path
    port: int
    log_path: Path
    proc: subprocess.Popen | None = None
    _log: object = field(default=None, repr=False)
    # Extra `serve` arguments (e.g. ["--workers", "1"]) and environment overrides.
    serve_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> "ServerProcess":
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(BIN), "--data-dir", str(self.data_dir), "serve", "--addr", f"127.0.0.1:{self.port}", *self.serve_args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**_child_env(), **self.env},
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"lambdarag serve exited with {self.proc.returncode}; log:\n{self.log()}")
            try:
                # Any HTTP answer means the listener is up (no key: the auth reply, code 0).
                requests.get(f"{self.base_url}/api/v1/datasets", timeout=2)
                return self
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"lambdarag serve did not answer within {timeout}s; log:\n{self.log()}")
            time.sleep(0.05)

    def stop(self, grace: float = 10) -> int | None:
        """SIGTERM (graceful shutdown), then SIGKILL after `grace` seconds. Returns the exit code."""
        rc = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait(timeout=grace)
        elif self.proc is not None:
            rc = self.proc.returncode
        if self._log is not None:
            self._log.close()
            self._log = None
        return rc

    def kill(self) -> int | None:
        """SIGKILL (a crash: no graceful shutdown). Returns the exit code."""
        rc = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            rc = self.proc.wait(timeout=30)
        if self._log is not None:
            self._log.close()
            self._log = None
        return rc

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-8000:]
        except OSError:
            return ""


@dataclass
class RemoteServer:
    """A deployment this suite did not start (the local AWS stack): only its URL."""

    base_url: str
    data_dir: Path
    proc: None = None

    def alive(self) -> bool:
        try:
            requests.get(f"{self.base_url}/api/v1/datasets", timeout=10)
            return True
        except requests.RequestException:
            return False

    def stop(self, grace: float = 10) -> None:
        return None

    def log(self) -> str:
        return f"(the local AWS stack's log: {REPO / 'target' / 'local-aws' / 'stack.log'})"


class Api:
    """Raw HTTP helper: `api.get("/datasets", params=...)` → requests.Response.

    `key=` selects the API key (default tenant A's); `key=None` sends no Authorization header;
    `headers=` overrides/extends headers (e.g. a raw Authorization value).
    """

    def __init__(self, base_url: str, api_key: str):
        self.base_url = base_url
        self.api_key = api_key

    def url(self, path: str) -> str:
        return f"{self.base_url}/api/v1{path}"

    def request(self, method: str, path: str, *, key: str | None | object = ..., headers=None, **kw) -> requests.Response:
        h = {}
        key = self.api_key if key is ... else key
        if key is not None:
            h["Authorization"] = f"Bearer {key}"
        if headers:
            h.update(headers)
        kw.setdefault("timeout", 30)
        return requests.request(method, self.url(path), headers=h, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


@dataclass
class Deployment:
    server: ServerProcess | RemoteServer
    tenant_a: Tenant
    tenant_b: Tenant
    # Every API key whose datasets are wiped after each test.
    cleanup_keys: list[str] = field(default_factory=list)


def _require_binary():
    if not BIN.is_file() or not os.access(BIN, os.X_OK):
        pytest.exit(
            f"lambdarag binary not found at {BIN}: build it first (cargo build -p lambdarag-server) or set LAMBDARAG_BIN",
            returncode=2,
        )


@pytest.fixture(scope="session")
def tmp_root():
    d = Path(tempfile.mkdtemp(prefix="lambdarag-pytest-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def deployment(tmp_root) -> Deployment:
    _require_binary()
    data_dir = tmp_root / "data"
    tenant_a = create_tenant(data_dir, "tenant-a")
    tenant_b = create_tenant(data_dir, "tenant-b")
    if ON_AWS:
        base_url = os.environ.get("LAMBDARAG_BASE_URL", "").rstrip("/")
        if not base_url:
            pytest.exit('LAMBDARAG_TARGET=aws needs LAMBDARAG_BASE_URL: eval "$(scripts/local-aws.sh up)" first', returncode=2)
        server = RemoteServer(base_url=base_url, data_dir=data_dir)
    else:
        server = ServerProcess(data_dir=data_dir, port=free_port(), log_path=tmp_root / "server.log").start()
    dep = Deployment(server=server, tenant_a=tenant_a, tenant_b=tenant_b, cleanup_keys=[tenant_a.api_key, tenant_b.api_key])
    _SESSION_SERVER.append(server)
    yield dep
    _SESSION_SERVER.clear()
    server.stop()


@pytest.fixture(scope="session")
def base_url(deployment) -> str:
    return deployment.server.base_url


@pytest.fixture(scope="session")
def data_dir(deployment) -> Path:
    return deployment.server.data_dir


@pytest.fixture(scope="session")
def api_key(deployment) -> str:
    return deployment.tenant_a.api_key


@pytest.fixture(scope="session")
def other_api_key(deployment) -> str:
    return deployment.tenant_b.api_key


@pytest.fixture(scope="session")
def tenant_id(deployment) -> str:
    return deployment.tenant_a.id


@pytest.fixture(scope="session")
def other_tenant_id(deployment) -> str:
    return deployment.tenant_b.id


def sdk_key(deployment, tenant: Tenant) -> str:
    """The key the installed SDK drives `tenant` with: its own (pinned) key for 0.23.1, a
    second key set to the v0.27 generation for 0.26 (raw-HTTP fixtures keep the pinned key)."""
    return v027_key_for(deployment.server.data_dir, tenant) if SDK_026 else tenant.api_key


@pytest.fixture(scope="session")
def client(deployment, base_url) -> RAGFlow:
    return RAGFlow(api_key=sdk_key(deployment, deployment.tenant_a), base_url=base_url)


@pytest.fixture(scope="session")
def other_client(deployment, base_url) -> RAGFlow:
    return RAGFlow(api_key=sdk_key(deployment, deployment.tenant_b), base_url=base_url)


@pytest.fixture(scope="session")
def stream_urls(base_url) -> dict[str, str]:
    """Where streamed completions are served: the server itself on the embedded deployment;
    on AWS the Function URLs of the RESPONSE_STREAM functions (API Gateway buffers)."""
    if not ON_AWS:
        return {"sessions": base_url, "openai": base_url, "searches": base_url, "agents": base_url}
    urls = {"sessions": os.environ.get("LAMBDARAG_SESSIONS_STREAM_URL", ""),
            "openai": os.environ.get("LAMBDARAG_OPENAI_STREAM_URL", ""),
            "searches": os.environ.get("LAMBDARAG_SEARCHES_STREAM_URL", ""),
            "agents": os.environ.get("LAMBDARAG_AGENTS_STREAM_URL", "")}
    if not all(urls.values()):
        pytest.fail("LAMBDARAG_SESSIONS_STREAM_URL / LAMBDARAG_OPENAI_STREAM_URL / LAMBDARAG_SEARCHES_STREAM_URL / LAMBDARAG_AGENTS_STREAM_URL "
                    "are not set (scripts/local-aws.sh up exports them)")
    return {k: v.rstrip("/") for k, v in urls.items()}


@pytest.fixture(scope="session")
def api(base_url, api_key) -> Api:
    """Raw `requests` helper, tenant A's key by default (pass key=... for another)."""
    return Api(base_url, api_key)


@pytest.fixture(scope="session")
def lambdarag_cli(data_dir):
    """`lambdarag_cli(*args, check=True)` runs the binary against the server's data dir."""

    def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run_cli(data_dir, *args, check=check)

    return _run


@pytest.fixture(scope="session")
def new_tenant(deployment, lambdarag_cli):
    """Factory: `new_tenant(name)` creates an extra tenant (via the CLI) whose datasets get cleaned up too."""

    def _make(name: str) -> Tenant:
        t = create_tenant(deployment.server.data_dir, name)
        deployment.cleanup_keys.append(t.api_key)
        return t

    return _make


@pytest.fixture(scope="session")
def provider_tenant(new_tenant, lambdarag_cli) -> Tenant:
    """A tenant with the OpenAI factory configured (so `text-embedding-3-small@OpenAI` is authorized)."""
    t = new_tenant("tenant-openai")
    lambdarag_cli("provider", "set", "--factory", "OpenAI", "--api-key", "sk-x", "--tenant", t.id)
    return t


@pytest.fixture(autouse=True)
def _clean_datasets(request):
    yield
    if "deployment" not in request.fixturenames:
        return
    dep: Deployment = request.getfixturevalue("deployment")
    api = Api(dep.server.base_url, dep.tenant_a.api_key)
    if isinstance(dep.server, ServerProcess) and not dep.server.alive():
        return
    for key in dep.cleanup_keys:
        res = api.delete("/datasets", key=key, json={"ids": None}).json()
        assert res.get("code") == 0, f"cleanup failed: {res}"


# ---------------------------------------------------------------------------------------------
# Retrieval corpus (test_retrieval_sdk.py, test_dify.py).
# ---------------------------------------------------------------------------------------------

INGEST_FIXTURES = REPO / "shared" / "ingest" / "tests" / "fixtures"


@pytest.fixture(scope="session")
def retrieval_tenant(deployment) -> Tenant:
    """A tenant for module-scoped corpora. It is not in `cleanup_keys`, so the per-test
    dataset cleanup leaves its (parsed, slow to rebuild) datasets alone."""
    return create_tenant(deployment.server.data_dir, "tenant-retrieval")


@pytest.fixture(scope="session")
def retrieval_client(base_url, retrieval_tenant) -> RAGFlow:
    return RAGFlow(api_key=retrieval_tenant.api_key, base_url=base_url)


@pytest.fixture(scope="module")
def retrieval_corpus(retrieval_client):
    """Parsed datasets of `retrieval_tenant` (helpers.build_retrieval_corpus): `dataset` with
    RETRIEVAL_DOCS and their meta_fields, `dataset2` (same embedding model) with one document.
    Deleted when the module ends."""
    from helpers import build_retrieval_corpus

    corpus = build_retrieval_corpus(retrieval_client, INGEST_FIXTURES)
    yield corpus
    retrieval_client.delete_datasets(ids=[corpus["dataset"].id, corpus["dataset2"].id])


# ---------------------------------------------------------------------------------------
# Chat assistants, sessions and the OpenAI-compatible route (test_chats_sdk.py,
# test_openai.py). These use their own tenants, which are NOT in `cleanup_keys`, so their
# parsed datasets survive the per-test dataset cleanup and are parsed once per session.
# ---------------------------------------------------------------------------------------

CHAT_DOCS = {
    "solar.txt": (
        "Solar panels convert sunlight into electricity with photovoltaic cells. "
        "The Zephyrine coating on lambdarag test panels reflects less than two percent of incoming light. "
        "Panels should be cleaned twice a year to keep them efficient."
    ),
    "bees.txt": (
        "Honey bees tell each other where flowers are with a waggle dance. "
        "A healthy hive holds about forty thousand bees in summer."
    ),
}


@dataclass
class ChatEnv:
    """A tenant with one dataset whose documents are parsed."""

    tenant: Tenant
    client: RAGFlow
    api: Api
    dataset_id: str
    doc_ids: dict


def v027_key_for(data_dir, tenant: Tenant) -> str:
    """A second key of `tenant`, set to the v0.27 client generation (`key generation`): the
    key ragflow-sdk 0.26 needs for the list shapes the generations disagree on (GET /chats)."""
    import hashlib

    key = run_cli(data_dir, "key", "create", "--tenant", tenant.id).stdout.strip()
    key_id = hashlib.sha256(key.encode()).hexdigest()[:16]
    run_cli(data_dir, "key", "generation", key_id, "--generation", "v027", "--tenant", tenant.id)
    return key


def make_chat_env(deployment, name: str, docs: dict | None = None) -> ChatEnv:
    tenant = create_tenant(deployment.server.data_dir, name)
    # The SDK uses a key of its own generation; `api` (raw HTTP) keeps the pinned default.
    client = RAGFlow(api_key=sdk_key(deployment, tenant), base_url=deployment.server.base_url)
    ds = client.create_dataset(name=f"{name}-kb")
    docs = ds.upload_documents([{"display_name": n, "blob": t.encode()} for n, t in (docs or CHAT_DOCS).items()])
    deadline = time.monotonic() + 300
    ds.async_parse_documents([d.id for d in docs])
    while True:
        listed = {d.id: d for d in ds.list_documents(page_size=100)}
        runs = {i: listed[i].run for i in listed}
        if all(r == "DONE" for r in runs.values()) and len(runs) == len(docs):
            break
        assert not any(r in ("FAIL", "CANCEL") for r in runs.values()), f"parse failed: {runs}"
        assert time.monotonic() < deadline, f"parse did not finish: {runs}"
        time.sleep(0.3)
    return ChatEnv(
        tenant=tenant,
        client=client,
        api=Api(deployment.server.base_url, tenant.api_key),
        dataset_id=ds.id,
        doc_ids={d.name: d.id for d in docs},
    )


@pytest.fixture(scope="session")
def chat_env(deployment) -> ChatEnv:
    """A tenant whose default chat model is the built-in extractive answerer, with a parsed dataset."""
    return make_chat_env(deployment, "chat-tenant")


@pytest.fixture(scope="session")
def fake_llm_server():
    """A local OpenAI-compatible server (tests/python/fake_llm.py) that echoes its prompt."""
    import fake_llm

    server, url = fake_llm.start()
    yield server, url
    server.shutdown()


@pytest.fixture(scope="session")
def provider_chat_env(deployment, fake_llm_server) -> ChatEnv:
    """A tenant with the fake LLM configured as `echo-model@OpenAI-API-Compatible` (and a
    reasoning variant `echo-think`), plus `down-model@VLLM` pointing at a closed port."""
    _, url = fake_llm_server
    env = make_chat_env(deployment, "chat-provider-tenant")
    run_cli(deployment.server.data_dir, "provider", "set", "--tenant", env.tenant.id, "--factory",
            "OpenAI-API-Compatible", "--base-url", url, "--api-key", "x", "--model", "echo-model:chat",
            "--model", "echo-think:chat", "--model", "echo-tool:chat")
    closed = f"http://127.0.0.1:{free_port()}/v1"
    run_cli(deployment.server.data_dir, "provider", "set", "--tenant", env.tenant.id, "--factory", "VLLM",
            "--base-url", closed, "--model", "down-model:chat")
    return env
