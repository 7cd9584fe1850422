"""The repository's benchmark commands still run and report sane results (not their speed:
no figure here is timed). `bench scale`, `bench ingest --no-embed` and `eval beir --http` on
a small BEIR-layout folder made here. They run the embedded deployment in their own process
(see deployments.NOT_ON_AWS)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, _child_env

TOPICS = ["solar panels convert sunlight", "bees pollinate flowering plants", "rust compiles to machine code",
          "vitamin d supports bone health", "glaciers retreat as climate warms", "neurons signal with spikes"]


@pytest.fixture(scope="module")
def beir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("beir")
    corpus, queries, qrels = [], [], ["query-id\tcorpus-id\tscore"]
    for i in range(30):
        topic = TOPICS[i % len(TOPICS)]
        corpus.append({"_id": f"d{i}", "title": f"Note {i} on {topic.split()[0]}",
                       "text": f"{topic}. Entry {i} adds detail number {i * 7} about {topic}."})
    for q, topic in enumerate(TOPICS):
        queries.append({"_id": f"q{q}", "text": f"how do {topic}?"})
        qrels.append(f"q{q}\td{q}\t1")
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in corpus) + "\n")
    (root / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries) + "\n")
    (root / "qrels").mkdir()
    (root / "qrels" / "test.tsv").write_text("\n".join(qrels) + "\n")
    return root


def run_json(*args: str, timeout: int = 600) -> dict:
    proc = subprocess.run([str(BIN), *args, "--json"], capture_output=True, text=True, env=_child_env(), timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstderr: {proc.stderr[-3000:]}"
    return json.loads(proc.stdout)


def test_bench_scale_reports_every_size(beir):
    report = run_json("bench", "scale", str(beir), "--sizes", "40,100", "--queries", "6")
    rows = report["sizes"]
    assert [r["chunks"] for r in rows] == [40, 100]
    for r in rows:
        assert r["index_bm25_top_k_1024"]["mean_results"] > 0
        # Every chunk has a vector, so the hybrid candidates include all of them (top_k 1024).
        assert r["index_hybrid_top_k_1024"]["mean_results"] == r["chunks"]
        assert r["retrieve_hybrid_api_defaults"]["p50_ms"] > 0
        assert r["index_mb"] > 0 and r["rss_mb"] > 0


def test_bench_ingest_without_embeddings(beir, tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    for d in map(json.loads, (beir / "corpus.jsonl").read_text().splitlines()):
        (folder / f"{d['_id']}.txt").write_text(d["title"] + "\n" + d["text"])
    report = run_json("bench", "ingest", str(folder), "--no-embed")
    assert report["documents_done"] == 30 and report["documents_failed"] == 0
    assert report["chunks"] >= 30 and report["tokens"] > 0


def test_eval_beir_through_http(beir):
    report = run_json("eval", "beir", str(beir), "--http", "--http-rounds", "1", "--no-prototypes",
                      "--embed-sample", "0")
    http = {m["mode"]: m for m in report["http_modes"]}
    assert set(http) == {"BM25 only", "hybrid (w 0.3)"}
    product = {m["mode"]: m for m in report["modes"]}
    # The HTTP answers rank like the in-process ones (nDCG@10 needs only the top 10).
    assert http["BM25 only"]["ndcg_at_10"] == pytest.approx(product["BM25 only"]["ndcg_at_10"])
    assert http["hybrid (w 0.3)"]["ndcg_at_10"] == pytest.approx(product["hybrid"]["ndcg_at_10"])
    # Each query's one relevant document has four near-copies on the same topic, so where
    # it lands among them depends on tie-breaks (which follow parse order); a query answered
    # by another topic would score 0.
    assert product["BM25 only"]["ndcg_at_10"] > 0.3
