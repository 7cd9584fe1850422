#!/usr/bin/env python3
"""A bounded load run through the HTTP API: uploads, parses and retrievals together for N
minutes, then a wait for the parse queue to drain and a check that no document was lost.

    scripts/load-run.py [--minutes 2] [--clients 2] [--bin target/release/lambdarag] [--json]
    scripts/load-run.py --base-url "$LAMBDARAG_BASE_URL" --api-key "$LAMBDARAG_API_KEY" ...

Without --base-url it starts a fresh embedded server itself (`lambdarag serve` on a free
127.0.0.1 port, a temporary data dir, a key from `key create`) and stops it at the end; with
--base-url it targets a running deployment (e.g. the local AWS stack: `eval "$(scripts/
local-aws.sh up)"`). Loopback only: any other host is refused.

K client threads loop with no think time (a closed loop), each op picked at random by the
--mix weights: upload 1..--max-files generated text documents (a few topics, varied sizes,
one unique marker word each) to one of the run's datasets; POST .../chunks to parse the
documents this client uploaded and did not parse yet; POST /retrieval with a question on
one topic over all the run's datasets. When more than --max-backlog uploaded documents are
not parsed yet (seen by a monitor thread that lists the documents), uploads give way to
retrievals, so the queue stays busy without growing without bound. At --minutes the
clients stop issuing (each parses what it still holds), the run waits up to --drain-minutes
for every uploaded document to leave the queue, then checks every one: listed, run DONE,
chunk_count > 0, and its chunks listed with its marker in their content.

Reported: per operation count, ops/s, p50/p90/p99/max latency; errors (HTTP errors,
timeouts, a non-zero `code`) with the first messages; documents uploaded / DONE / FAIL /
not finished / lost (uploaded, acknowledged, then missing or without their chunks); drain
time; the topic of the top retrieval hit (a sanity figure, not a pass criterion); and, for
a server the script started, its RSS (VmRSS / VmHWM) and CPU time. Also checked: each
document's chunk_count against its listed chunks, and each dataset's document_count and
chunk_count against its documents. Exits 1 on any error, lost, unfinished or FAIL document,
or count mismatch. No figure is asserted on: speed is reported only.
Needs only `requests` (the repository's .venv has it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlparse

import requests

REPO = Path(__file__).resolve().parents[1]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# Documents per parse request at most (a few dozen keep a request inside API Gateway's 30 s
# on the local AWS stack; see docs/benchmarks.md, "Queueing a parse of many documents").
PARSE_BATCH = 50
PAGE = 1000

# A few distinct topics, so that retrieval has something to find and its top hit can be
# checked against the question's topic.
TOPICS = {
    "tidepool": ("anemone starfish barnacle mussel urchin kelp intertidal limpet hermit crab "
                 "seaweed tide rockpool nudibranch sculpin periwinkle algae shore splash zone").split(),
    "volcano": ("magma lava basalt caldera eruption pyroclastic ash tephra vent crater fumarole "
                "obsidian pumice andesite rhyolite plume seismic dome fissure lahar").split(),
    "bakery": ("sourdough flour yeast dough knead proof crust crumb oven levain gluten rye "
               "baguette starter hydration loaf bake scoring steam croissant").split(),
    "railway": ("locomotive signal interlocking track sleeper ballast gauge points junction "
                "timetable carriage platform semaphore block catenary bogie freight siding").split(),
    "beekeeping": ("hive honey comb queen drone worker brood nectar pollen frame smoker swarm "
                   "apiary propolis wax colony forage varroa super").split(),
}
FILLER = ("the of and a in to is was for on with as by at from that this it are be which "
          "were has have an its into more than also their over after".split())


def percentile(sorted_vals: list[float], p: float) -> float:
    if not sorted_vals:
        return float("nan")
    rank = math.ceil(p * len(sorted_vals))
    return sorted_vals[min(max(rank, 1), len(sorted_vals)) - 1]


def make_document(rng: random.Random, topic: str, max_words: int) -> tuple[str, str]:
    """(marker, text): `words` words on the topic, most documents short, some long."""
    words = int(math.exp(rng.uniform(math.log(20), math.log(max_words))))
    marker = "zq" + "".join(rng.choice(string.ascii_lowercase) for _ in range(10))
    vocab = TOPICS[topic]
    sentences, n = [f"Notes on {topic} ({marker})."], 0
    while n < words:
        k = rng.randint(6, 18)
        s = [rng.choice(vocab) if rng.random() < 0.45 else rng.choice(FILLER) for _ in range(k)]
        sentences.append(" ".join(s).capitalize() + ".")
        n += k
    return marker, "\n".join(" ".join(sentences[i:i + 5]) for i in range(0, len(sentences), 5))


def question(rng: random.Random, topic: str) -> str:
    return "What about " + " and ".join(rng.sample(TOPICS[topic], 3)) + "?"


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lat: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.messages: list[str] = []
        self.counters: dict[str, int] = defaultdict(int)

    def ok(self, op: str, seconds: float) -> None:
        with self.lock:
            self.lat[op].append(seconds)

    def error(self, op: str, seconds: float, msg: str) -> None:
        with self.lock:
            self.lat[op].append(seconds)
            self.errors[op] += 1
            if len(self.messages) < 10:
                self.messages.append(f"{op}: {msg[:300]}")

    def count(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counters[name] += n


class Api:
    def __init__(self, base_url: str, key: str, timeout: float):
        self.base = base_url.rstrip("/") + "/api/v1"
        self.headers = {"Authorization": f"Bearer {key}"}
        self.timeout = timeout

    def session(self) -> requests.Session:
        s = requests.Session()
        s.headers.update(self.headers)
        return s

    def call(self, session: requests.Session, method: str, path: str, **kw):
        """(data, None) on code 0, else (None, error message). Never raises for HTTP."""
        try:
            res = session.request(method, self.base + path, timeout=self.timeout, **kw)
        except requests.RequestException as e:
            return None, f"{method} {path}: {type(e).__name__}: {e}"
        try:
            body = res.json()
        except ValueError:
            return None, f"{method} {path}: HTTP {res.status_code}, not JSON: {res.text[:200]!r}"
        if res.status_code != 200 or body.get("code") != 0:
            return None, f"{method} {path}: HTTP {res.status_code} {json.dumps(body)[:300]}"
        return body.get("data"), None


class Run:
    """Shared state of one run: datasets, uploaded documents, the stop flag."""

    def __init__(self, args, api: Api):
        self.args = args
        self.api = api
        self.stats = Stats()
        self.lock = threading.Lock()
        self.datasets: list[str] = []
        # doc id -> (dataset id, topic, marker, upload time)
        self.docs: dict[str, tuple[str, str, str, float]] = {}
        self.parse_requested: set[str] = set()
        self.finished: set[str] = set()  # DONE or FAIL as last seen by the monitor
        self.stop_issuing = threading.Event()
        self.stop_monitor = threading.Event()
        self.backlog_samples: list[tuple[float, int]] = []

    def backlog(self) -> int:
        with self.lock:
            return len(self.docs) - len(self.finished)

    def list_docs(self, session: requests.Session, dataset_id: str, op: str = "list"):
        """Every document of a dataset (paged), or None on an error (recorded)."""
        out, page = [], 1
        while True:
            t = time.perf_counter()
            data, err = self.api.call(session, "GET", f"/datasets/{dataset_id}/documents",
                                      params={"page": page, "page_size": PAGE})
            took = time.perf_counter() - t
            if err:
                self.stats.error(op, took, err)
                return None
            self.stats.ok(op, took)
            out += data["docs"]
            if len(data["docs"]) < PAGE:
                return out
            page += 1

    def monitor(self, started: float) -> None:
        """Lists the run's documents every --poll seconds: which ones have finished."""
        session = self.api.session()
        while not self.stop_monitor.wait(self.args.poll):
            self.poll_once(session, "list (monitor)")
            self.backlog_samples.append((time.monotonic() - started, self.backlog()))

    def poll_once(self, session: requests.Session, op: str) -> dict[str, dict] | None:
        seen: dict[str, dict] = {}
        for ds in self.datasets:
            docs = self.list_docs(session, ds, op)
            if docs is None:
                return None
            for d in docs:
                seen[d["id"]] = d
        with self.lock:
            for doc_id, d in seen.items():
                if d.get("run") in ("DONE", "FAIL"):
                    self.finished.add(doc_id)
        return seen

    def client(self, n: int) -> None:
        args, api, stats = self.args, self.api, self.stats
        rng = random.Random(args.seed * 1000 + n)
        session = api.session()
        pending: dict[str, list[str]] = defaultdict(list)  # dataset -> uploaded, not yet parsed
        ops = ["upload", "parse", "retrieval"]
        weights = [args.mix["upload"], args.mix["parse"], args.mix["retrieval"]]

        def parse(ds: str) -> None:
            ids = pending[ds][:PARSE_BATCH]
            t = time.perf_counter()
            _, err = api.call(session, "POST", f"/datasets/{ds}/chunks", json={"document_ids": ids})
            took = time.perf_counter() - t
            if err:
                stats.error("parse", took, err)
                return  # kept pending: tried again by the next parse (or the final one)
            stats.ok("parse", took)
            stats.count("documents parse-requested", len(ids))
            del pending[ds][:len(ids)]
            with self.lock:
                self.parse_requested.update(ids)

        while not self.stop_issuing.is_set():
            op = rng.choices(ops, weights)[0]
            if op == "upload" and self.backlog() >= args.max_backlog:
                stats.count("uploads deferred (backlog)")
                op = "retrieval"
            if op == "parse" and not any(pending.values()):
                op = "retrieval"
            if op == "upload":
                ds = rng.choice(self.datasets)
                files, meta = [], []
                for _ in range(rng.randint(1, args.max_files)):
                    topic = rng.choice(list(TOPICS))
                    marker, text = make_document(rng, topic, args.max_words)
                    name = f"{topic}-{marker}.txt"
                    files.append(("file", (name, text.encode(), "text/plain")))
                    meta.append((name, topic, marker))
                t = time.perf_counter()
                data, err = api.call(session, "POST", f"/datasets/{ds}/documents", files=files)
                took = time.perf_counter() - t
                if err:
                    stats.error("upload", took, err)
                    continue
                by_name = {name: (topic, marker) for name, topic, marker in meta}
                if len(data) != len(files) or any(d.get("name") not in by_name for d in data):
                    stats.error("upload", took, f"sent {[m[0] for m in meta]}, got {[d.get('name') for d in data]}")
                    continue
                stats.ok("upload", took)
                stats.count("bytes uploaded", sum(len(f[1][1]) for f in files))
                now = time.monotonic()
                with self.lock:
                    for d in data:
                        topic, marker = by_name[d["name"]]
                        self.docs[d["id"]] = (ds, topic, marker, now)
                pending[ds] += [d["id"] for d in data]
            elif op == "parse":
                parse(rng.choice([ds for ds, ids in pending.items() if ids]))
            else:
                topic = rng.choice(list(TOPICS))
                body = {"question": question(rng, topic), "dataset_ids": self.datasets,
                        "page_size": args.page_size}
                t = time.perf_counter()
                data, err = api.call(session, "POST", "/retrieval", json=body)
                took = time.perf_counter() - t
                if err:
                    stats.error("retrieval", took, err)
                    continue
                stats.ok("retrieval", took)
                chunks = data.get("chunks") or []
                if chunks:
                    stats.count("retrievals with hits")
                    if chunks[0].get("document_keyword", "").startswith(topic + "-"):
                        stats.count("retrievals whose top hit is on topic")
        # Whatever this client uploaded and did not parse yet is parsed now: every uploaded
        # document must end parsed. Up to three tries per batch.
        for _ in range(3):
            for ds in list(pending):
                while pending[ds]:
                    before = len(pending[ds])
                    parse(ds)
                    if len(pending[ds]) == before:
                        break
        left = sum(len(v) for v in pending.values())
        if left:
            stats.count("documents never parse-requested (parse kept failing)", left)


class Server:
    """A fresh embedded server on a temporary data dir (only when no --base-url is given)."""

    def __init__(self, bin_path: Path, port: int, workers: int | None, keep: bool):
        self.bin = bin_path
        self.port = port
        self.data_dir = Path(tempfile.mkdtemp(prefix="lambdarag-load-"))
        self.keep = keep
        self.env = {**os.environ}
        self.env.setdefault("RUST_LOG", "warn")
        self.env.setdefault("LAMBDARAG_MODEL_DIR", str(REPO / "data" / "models"))
        for k in ("LAMBDARAG_DATA_DIR", "LAMBDARAG_ADDR", "LAMBDARAG_METADATA"):
            self.env.pop(k, None)
        self.workers = workers
        self.proc: subprocess.Popen | None = None
        self.log_path = self.data_dir / "server.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        out = subprocess.run([str(self.bin), "--data-dir", str(self.data_dir), "key", "create"],
                             capture_output=True, text=True, env=self.env, check=True).stdout
        key = out.strip().splitlines()[0].strip()
        extra = ["--workers", str(self.workers)] if self.workers else []
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(self.bin), "--data-dir", str(self.data_dir), "serve", "--addr", f"127.0.0.1:{self.port}", *extra],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"lambdarag serve exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                requests.get(f"{self.base_url}/api/v1/datasets", timeout=2)
                return key
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"lambdarag serve did not answer within 60 s:\n{self.tail()}")
            time.sleep(0.1)

    def tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def sample(self) -> dict:
        """VmRSS / VmHWM (MB) and CPU seconds (user + system) of the server process."""
        out: dict = {}
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith(("VmRSS:", "VmHWM:")):
                    k, v = line.split(":", 1)
                    out[k.lower() + "_mb"] = round(int(v.split()[0]) / 1024, 1)
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            out["cpu_s"] = round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 1)
        except (OSError, IndexError, ValueError):
            pass
        return out

    def stop(self) -> int | None:
        rc = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
        elif self.proc:
            rc = self.proc.returncode
        if not self.keep:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        return rc


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def verify(run: Run, log, drained: bool) -> dict:
    """Every uploaded document: listed, DONE, chunk_count > 0, its chunks listed with its marker."""
    session = run.api.session()
    listed = run.poll_once(session, "list (verify)")
    if listed is None:
        return {"verify_error": "could not list the documents"}
    v: dict = {"uploaded": len(run.docs), "done": 0, "fail": 0, "unfinished": 0, "missing": 0,
               "done_without_chunks": 0, "chunks_not_listed": 0, "chunk_count_mismatch": 0,
               "marker_not_in_chunks": 0, "listed_not_uploaded": 0, "chunks": 0, "examples": []}
    runs: dict[str, int] = defaultdict(int)

    def example(msg: str) -> None:
        if len(v["examples"]) < 10:
            v["examples"].append(msg[:300])

    for doc_id, (ds, topic, marker, _) in run.docs.items():
        d = listed.get(doc_id)
        if d is None:
            v["missing"] += 1
            example(f"{doc_id} ({topic}-{marker}.txt): not listed in dataset {ds}")
            continue
        runs[d.get("run")] += 1
        if d.get("run") == "FAIL":
            v["fail"] += 1
            example(f"{doc_id} FAIL: {(d.get('progress_msg') or '')[-200:]}")
            continue
        if d.get("run") != "DONE":
            v["unfinished"] += 1
            example(f"{doc_id} run={d.get('run')} progress={d.get('progress')}")
            continue
        v["done"] += 1
        if not d.get("chunk_count"):
            v["done_without_chunks"] += 1
            example(f"{doc_id} DONE with chunk_count={d.get('chunk_count')}")
            continue
        t = time.perf_counter()
        data, err = run.api.call(session, "GET", f"/datasets/{ds}/documents/{doc_id}/chunks",
                                 params={"page": 1, "page_size": 1024})
        took = time.perf_counter() - t
        if err:
            run.stats.error("chunks (verify)", took, err)
            v["chunks_not_listed"] += 1
            continue
        run.stats.ok("chunks (verify)", took)
        chunks = data.get("chunks") or []
        v["chunks"] += len(chunks)
        if not chunks:
            v["chunks_not_listed"] += 1
            example(f"{doc_id} DONE, chunk_count={d['chunk_count']}, but no chunk listed")
            continue
        if len(chunks) != d["chunk_count"] or data.get("total", len(chunks)) != d["chunk_count"]:
            v["chunk_count_mismatch"] += 1
            example(f"{doc_id} chunk_count={d['chunk_count']}, listed {len(chunks)} (total {data.get('total')})")
        if not any(marker in (c.get("content") or "") for c in chunks):
            v["marker_not_in_chunks"] += 1
            example(f"{doc_id}: marker {marker} in none of its {len(chunks)} chunks")
    v["listed_not_uploaded"] = len(set(listed) - set(run.docs))
    v["runs"] = dict(runs)
    # The datasets' counters against their documents: document_count = documents listed,
    # chunk_count = the sum of the documents' chunk_count. Only once drained: while workers
    # still run, documents finish between the listing and this read.
    v["dataset_counter_mismatches"] = 0 if drained else None
    for ds in run.datasets if drained else []:
        data, err = run.api.call(session, "GET", "/datasets", params={"id": ds})
        if err or not data:
            v["dataset_counter_mismatches"] += 1
            v["examples"].insert(0, f"dataset {ds}: {err or 'not listed'}")
            continue
        docs = [d for d in listed.values() if d.get("dataset_id") == ds]
        want = (len(docs), sum(d.get("chunk_count") or 0 for d in docs))
        got = (data[0].get("document_count"), data[0].get("chunk_count"))
        if got != want:
            v["dataset_counter_mismatches"] += 1
            v["examples"].insert(0, f"dataset {ds}: document_count, chunk_count = {got}, its documents give {want}")
    # Lost: acknowledged by an upload, then missing, or finished without (findable) chunks.
    v["lost"] = (v["missing"] + v["done_without_chunks"] + v["chunks_not_listed"]
                 + v["marker_not_in_chunks"])
    return v


def parse_mix(s: str) -> dict[str, float]:
    mix = {"upload": 0.0, "parse": 0.0, "retrieval": 0.0}
    for part in s.split(","):
        k, _, w = part.partition("=")
        if k not in mix:
            raise argparse.ArgumentTypeError(f"unknown op {k!r} (upload, parse, retrieval)")
        mix[k] = float(w)
    return mix


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cpus": os.cpu_count(), "loadavg_1m_start": round(os.getloadavg()[0], 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=2.0, help="how long the clients issue requests")
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--base-url", help="a running deployment (loopback only); default: start an embedded server")
    ap.add_argument("--api-key", default=os.environ.get("LAMBDARAG_API_KEY"),
                    help="with --base-url (default: $LAMBDARAG_API_KEY)")
    ap.add_argument("--bin", type=Path, default=Path(os.environ.get("LAMBDARAG_BIN", REPO / "target/release/lambdarag")),
                    help="the lambdarag binary for the embedded server (default: $LAMBDARAG_BIN or target/release/lambdarag)")
    ap.add_argument("--port", type=int, help="port of the embedded server (default: a free one)")
    ap.add_argument("--workers", type=int, help="parse workers of the embedded server (default: its own)")
    ap.add_argument("--keep-data", action="store_true", help="keep the embedded server's temporary data dir")
    ap.add_argument("--datasets", type=int, default=2)
    ap.add_argument("--mix", type=parse_mix, default=parse_mix("upload=2,parse=1,retrieval=3"),
                    help="op weights (default upload=2,parse=1,retrieval=3)")
    ap.add_argument("--max-files", type=int, default=3, help="files per upload request: 1..N")
    ap.add_argument("--max-words", type=int, default=1500, help="document size: 20..N words, log-uniform")
    ap.add_argument("--max-backlog", type=int, default=40,
                    help="no uploads while this many uploaded documents are not parsed yet")
    ap.add_argument("--page-size", type=int, default=10, help="retrieval page_size")
    ap.add_argument("--drain-minutes", type=float, default=10.0, help="how long to wait for the queue to drain")
    ap.add_argument("--poll", type=float, default=2.0, help="seconds between document listings")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args()

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    server = None
    if args.base_url:
        host = urlparse(args.base_url).hostname or ""
        if host not in LOOPBACK:
            ap.error(f"--base-url must be on loopback (127.0.0.1, localhost, ::1), not {host!r}")
        if not args.api_key:
            ap.error("--base-url needs --api-key (or $LAMBDARAG_API_KEY)")
        base_url, key = args.base_url, args.api_key
    else:
        if not args.bin.is_file():
            ap.error(f"no lambdarag binary at {args.bin} (cargo build --release -p lambdarag-server, or --bin)")
        server = Server(args.bin, args.port or free_port(), args.workers, args.keep_data)
        key = server.start()
        base_url = server.base_url
        log(f"embedded server {args.bin} on {base_url}, data dir {server.data_dir}")

    report: dict = {"base_url": base_url, "machine": machine(), "minutes": args.minutes,
                    "clients": args.clients, "datasets": args.datasets, "mix": args.mix,
                    "max_backlog": args.max_backlog}
    if server:
        report["server"] = {"bin": str(args.bin), "workers": args.workers or "default", "at_start": server.sample()}
    api = Api(base_url, key, args.timeout)
    run = Run(args, api)
    rc = 1
    try:
        session = api.session()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for i in range(args.datasets):
            data, err = api.call(session, "POST", "/datasets", json={"name": f"load-{stamp}-{i}"})
            if err:
                raise SystemExit(f"could not create a dataset: {err}")
            run.datasets.append(data["id"])
        log(f"{args.clients} clients for {args.minutes} min on {args.datasets} datasets; mix {args.mix}")

        started = time.monotonic()
        monitor = threading.Thread(target=run.monitor, args=(started,), daemon=True)
        monitor.start()
        clients = [threading.Thread(target=run.client, args=(n,)) for n in range(args.clients)]
        for t in clients:
            t.start()
        deadline = started + args.minutes * 60
        while time.monotonic() < deadline:
            time.sleep(min(15.0, max(0.0, deadline - time.monotonic())))
            s = run.stats
            log(f"  {time.monotonic() - started:5.0f}s: uploaded {len(run.docs)}, finished {len(run.finished)}, "
                f"ops {sum(len(v) for v in s.lat.values())}, errors {sum(s.errors.values())}")
        run.stop_issuing.set()
        for t in clients:
            t.join()
        issued = time.monotonic() - started
        backlog_at_stop = run.backlog()
        if server:
            report["server"]["at_stop"] = server.sample()
        log(f"stopped issuing after {issued:.0f}s: {len(run.docs)} uploaded, {backlog_at_stop} not finished; draining")

        drain_started = time.monotonic()
        drain_deadline = drain_started + args.drain_minutes * 60
        while run.backlog() > 0 and time.monotonic() < drain_deadline:
            time.sleep(args.poll)
            if int(time.monotonic() - drain_started) % 15 < args.poll:
                log(f"  draining: {run.backlog()} not finished")
        drain = time.monotonic() - drain_started
        drained = run.backlog() == 0
        run.stop_monitor.set()
        monitor.join()
        total = time.monotonic() - started
        log(f"drain {'done' if drained else 'TIMED OUT'} after {drain:.1f}s; verifying every document")
        v = verify(run, log, drained)
        if server:
            report["server"]["after_drain"] = server.sample()

        s = run.stats
        ops = {}
        for op in sorted(s.lat):
            lat = sorted(s.lat[op])
            window = issued if op in ("upload", "parse", "retrieval") else None
            ops[op] = {"count": len(lat), "errors": s.errors.get(op, 0),
                       "ops_per_s": round(len(lat) / window, 2) if window else None,
                       "p50_ms": round(1000 * percentile(lat, 0.5), 1),
                       "p90_ms": round(1000 * percentile(lat, 0.9), 1),
                       "p99_ms": round(1000 * percentile(lat, 0.99), 1),
                       "max_ms": round(1000 * lat[-1], 1)}
        errors = sum(s.errors.values())
        upload_times = [d[3] for d in run.docs.values()]
        report.update({
            "issued_s": round(issued, 1), "backlog_at_stop": backlog_at_stop,
            "drain_s": round(drain, 1), "drained": drained, "total_s": round(total, 1),
            "ops": ops, "errors": errors, "error_messages": s.messages, "counters": dict(s.counters),
            "documents": v,
            "documents_done_per_s": round(v.get("done", 0) / total, 2),
            "first_upload_to_drained_s": round(time.monotonic() - min(upload_times), 1) if upload_times else None,
            "backlog_max": max((b for _, b in run.backlog_samples), default=0),
            "loadavg_1m_end": round(os.getloadavg()[0], 2),
        })
        bad = (errors > 0 or v.get("lost", 1) > 0 or v.get("unfinished", 1) > 0 or v.get("fail", 1) > 0
               or v.get("chunk_count_mismatch", 1) > 0 or (v.get("dataset_counter_mismatches") or 0) > 0 or "verify_error" in v)
        rc = 1 if bad else 0
    finally:
        if server:
            report.setdefault("server", {})["exit_code"] = server.stop()
            if report["server"]["exit_code"] not in (0, None):
                log(f"server exited with {report['server']['exit_code']}; its log:\n{server.tail()}")

    if args.json:
        print(json.dumps(report, indent=2))
        return rc
    m = report["machine"]
    print(f"load run: {base_url}, {args.clients} clients, {args.minutes} min, mix {args.mix}, "
          f"max backlog {args.max_backlog}")
    print(f"machine: {m['cpu']}, {m['cpus']} CPUs, load average (1 min) {m['loadavg_1m_start']} at start, "
          f"{report['loadavg_1m_end']} at end")
    print("| op | count | ops/s | p50 ms | p90 ms | p99 ms | max ms | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for op, o in report["ops"].items():
        rate = "" if o["ops_per_s"] is None else f"{o['ops_per_s']:.2f}"
        print(f"| {op} | {o['count']} | {rate} | {o['p50_ms']:.1f} | {o['p90_ms']:.1f} | {o['p99_ms']:.1f} | "
              f"{o['max_ms']:.1f} | {o['errors']} |")
    c = report["counters"]
    print(f"issued for {report['issued_s']} s; backlog at stop {report['backlog_at_stop']} (max seen "
          f"{report['backlog_max']}); drain {report['drain_s']} s ({'drained' if report['drained'] else 'NOT drained'})")
    v = report["documents"]
    print(f"documents: uploaded {v.get('uploaded')}, DONE {v.get('done')}, FAIL {v.get('fail')}, "
          f"unfinished {v.get('unfinished')}, lost {v.get('lost')} (missing {v.get('missing')}, DONE without "
          f"chunks {v.get('done_without_chunks')}, chunks not listed {v.get('chunks_not_listed')}, marker not in "
          f"chunks {v.get('marker_not_in_chunks')}); chunk_count mismatches {v.get('chunk_count_mismatch')}; "
          f"dataset counter mismatches {'not checked (not drained)' if v.get('dataset_counter_mismatches') is None else v['dataset_counter_mismatches']}; "
          f"{v.get('chunks')} chunks; {report['documents_done_per_s']} documents DONE per second over the run")
    print(f"uploads: {c.get('bytes uploaded', 0) / 1e6:.2f} MB; uploads deferred for the backlog: "
          f"{c.get('uploads deferred (backlog)', 0)}; retrievals with hits {c.get('retrievals with hits', 0)}, "
          f"top hit on the question's topic {c.get('retrievals whose top hit is on topic', 0)}")
    if server:
        srv = report["server"]
        print(f"server RSS MB (VmRSS / VmHWM) / CPU s: start {srv['at_start']}, at stop {srv.get('at_stop')}, "
              f"after drain {srv.get('after_drain')}; exit code {srv.get('exit_code')}")
    print(f"errors: {report['errors']}")
    for msg in report["error_messages"]:
        print(f"  {msg}")
    for msg in v.get("examples", []):
        print(f"  document: {msg}")
    print("PASS: 0 errors, 0 lost, 0 unfinished or FAIL, counters consistent" if rc == 0 else "FAIL")
    return rc


if __name__ == "__main__":
    sys.exit(main())
