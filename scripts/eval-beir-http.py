#!/usr/bin/env python3
"""Retrieval quality and speed on a BEIR collection (e.g. SciFact) through the HTTP API,
against any deployment: the embedded server or the local AWS stack (or a real one).

Ingests the corpus the way `lambdarag eval beir` does (one `<_id>.txt` document per entry,
title on the first line, chunk method `one`), through the public routes (multipart upload,
parse, list), then sends every judged query to POST /api/v1/retrieval (page_size 100,
threshold 0, top_k 1024) from N client threads, and prints nDCG@10, Recall@100, QPS and
p50/p99 latency per fusion weight, plus the ingestion rate. Same metrics as eval.rs
(trec_eval's definitions). Needs only `requests` (tests/python's venv has it).

    scripts/eval-beir-http.py --base-url URL --api-key KEY [--dir ../shared/bench-data/scifact]
        [--weights 0,1,0.3] [--concurrency 2] [--split test] [--dataset-id ID] [--json]

`--dataset-id` reuses an already ingested dataset (its documents must be `<_id>.txt`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from pathlib import Path

import requests

# Files per upload request: small enough that one request stays well inside API
# Gateway's 30 s on a slow backend (moto on a busy machine).
UPLOAD_BATCH = 25
# Documents per parse request (queueing is sequential per document: a few dozen per
# request keep it inside API Gateway's 30 s).
PARSE_BATCH = 50


def load(dir_: Path, split: str):
    corpus = {}
    with open(dir_ / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            corpus[str(d["_id"])] = (d.get("title") or "", d.get("text") or "")
    queries = {}
    with open(dir_ / "queries.jsonl", encoding="utf-8") as f:
        for line in f:
            q = json.loads(line)
            queries[str(q["_id"])] = q["text"]
    qrels: dict[str, dict[str, int]] = {}
    with open(dir_ / "qrels" / f"{split}.tsv", encoding="utf-8") as f:
        for i, line in enumerate(f):
            parts = line.rstrip("\n").split("\t")
            if i == 0 and not parts[-1].lstrip("-").isdigit():
                continue  # header
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return corpus, queries, qrels


def ndcg_at_k(ranked: list[str], rel: dict[str, int], k: int) -> float:
    seen, dcg = set(), 0.0
    for d in ranked:
        if d in seen:
            continue
        seen.add(d)
        if len(seen) > k:
            break
        dcg += max(rel.get(d, 0), 0) / math.log2(len(seen) + 1)
    ideal = sorted((g for g in rel.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at_k(ranked: list[str], rel: dict[str, int], k: int) -> float:
    relevant = {d for d, g in rel.items() if g > 0}
    if not relevant:
        return 0.0
    seen = []
    for d in ranked:
        if d not in seen:
            seen.append(d)
        if len(seen) == k:
            break
    return len(relevant.intersection(seen)) / len(relevant)


def percentile(sorted_vals: list[float], p: float) -> float:
    if not sorted_vals:
        return float("nan")
    rank = math.ceil(p * len(sorted_vals))
    return sorted_vals[min(max(rank, 1), len(sorted_vals)) - 1]


class Api:
    def __init__(self, base_url: str, key: str):
        self.base = base_url.rstrip("/") + "/api/v1"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"

    def call(self, method: str, path: str, **kw) -> dict:
        res = self.session.request(method, self.base + path, timeout=120, **kw)
        body = res.json()
        if body.get("code") != 0:
            raise SystemExit(f"{method} {path}: {body}")
        return body.get("data")


def ingest(api: Api, corpus: dict, log) -> tuple[str, float]:
    ds = api.call("POST", "/datasets", json={"name": f"beir-{int(time.time())}", "chunk_method": "one"})
    started = time.monotonic()
    ids = list(corpus)
    doc_ids = []
    for i in range(0, len(ids), UPLOAD_BATCH):
        files = [("file", (f"{cid}.txt", f"{corpus[cid][0]}\n{corpus[cid][1]}".encode(), "text/plain"))
                 for cid in ids[i:i + UPLOAD_BATCH]]
        doc_ids += [d["id"] for d in api.call("POST", f"/datasets/{ds['id']}/documents", files=files)]
    log(f"uploaded {len(doc_ids)} documents in {time.monotonic() - started:.1f}s")
    for i in range(0, len(doc_ids), PARSE_BATCH):
        api.call("POST", f"/datasets/{ds['id']}/chunks", json={"document_ids": doc_ids[i:i + PARSE_BATCH]})
    while True:
        runs: dict[str, int] = {}
        page = 1
        while True:
            got = api.call("GET", f"/datasets/{ds['id']}/documents", params={"page": page, "page_size": 1000})
            for d in got["docs"]:
                runs[d["run"]] = runs.get(d["run"], 0) + 1
            if len(got["docs"]) < 1000:
                break
            page += 1
        log(f"  {runs}")
        if runs.get("DONE", 0) + runs.get("FAIL", 0) >= len(doc_ids):
            break
        time.sleep(5)
    took = time.monotonic() - started
    return ds["id"], took


def run_queries(api: Api, dataset_id: str, queries: dict, qrels: dict, w: float, concurrency: int) -> dict:
    qids = [q for q in qrels if q in queries]
    runs: dict[str, list[str]] = {}
    latencies: list[float] = []
    lock = threading.Lock()
    cursor = iter(qids)

    def worker():
        session = requests.Session()
        session.headers.update(api.session.headers)
        while True:
            with lock:
                qid = next(cursor, None)
            if qid is None:
                return
            body = {"question": queries[qid], "dataset_ids": [dataset_id], "page_size": 100,
                    "similarity_threshold": 0, "vector_similarity_weight": w, "top_k": 1024}
            t = time.perf_counter()
            res = session.post(api.base + "/retrieval", json=body, timeout=120).json()
            took = time.perf_counter() - t
            if res.get("code") != 0:
                raise SystemExit(f"retrieval failed: {res}")
            ranked = [c["document_keyword"].rsplit(".", 1)[0] for c in res["data"]["chunks"]]
            with lock:
                runs[qid] = ranked
                latencies.append(took)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    lat = sorted(latencies)
    n = len(qrels)
    return {
        "w": w,
        "queries": len(qids),
        "ndcg@10": sum(ndcg_at_k(runs.get(q, []), qrels[q], 10) for q in qrels) / n,
        "recall@100": sum(recall_at_k(runs.get(q, []), qrels[q], 100) for q in qrels) / n,
        "qps": len(qids) / wall,
        "p50_ms": 1000 * percentile(lat, 0.5),
        "p99_ms": 1000 * percentile(lat, 0.99),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--api-key", required=True)
    ap.add_argument("--dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "bench-data" / "scifact")
    ap.add_argument("--split", default="test")
    ap.add_argument("--weights", default="0,1,0.3")
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--dataset-id")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    corpus, queries, qrels = load(args.dir, args.split)
    api = Api(args.base_url, args.api_key)
    report: dict = {"base_url": args.base_url, "documents": len(corpus), "queries": len(qrels)}
    if args.dataset_id:
        dataset_id = args.dataset_id
    else:
        dataset_id, took = ingest(api, corpus, log)
        report["ingest_seconds"] = round(took, 1)
        report["ingest_docs_per_s"] = round(len(corpus) / took, 1)
    report["dataset_id"] = dataset_id
    # One untimed pass warms every function instance / cache the same way on both sides.
    run_queries(api, dataset_id, queries, dict(list(qrels.items())[:20]), 0.3, args.concurrency)
    report["runs"] = [run_queries(api, dataset_id, queries, qrels, float(w), args.concurrency)
                      for w in args.weights.split(",")]
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{args.base_url}: {report['documents']} documents, {report['queries']} queries, "
          f"{args.concurrency} clients")
    if "ingest_seconds" in report:
        print(f"ingestion (upload + parse + embed + index): {report['ingest_seconds']} s, "
              f"{report['ingest_docs_per_s']} docs/s")
    print("| w | nDCG@10 | Recall@100 | QPS | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    for r in report["runs"]:
        print(f"| {r['w']:.2f} | {r['ndcg@10']:.4f} | {r['recall@100']:.4f} | {r['qps']:.1f} | "
              f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
