#!/usr/bin/env python3
"""BM25 top-10 on SciFact: lambdarag's index beside tantivy-py and bm25s, in one run.

Each engine indexes the same 5,183 documents (title + text) and answers the 300 test
queries one at a time on one thread, several passes; the script prints QPS, p50/p99 and
nDCG@10 for each, and lambdarag's ratio to each baseline. lambdarag's figure is the
`index.search_hits BM25 top-10` component of `lambdarag eval beir` (the index alone, ids
only, no HTTP), run on a data dir that holds the ingested collection (ingested on the
first run, reused afterwards).

    .venv/bin/python scripts/bench-bm25-baseline.py --bin target/release/lambdarag \\
        --data-dir /tmp/scifact-eval [--dir ../shared/bench-data/scifact] [--passes 5]

Installs `tantivy` and `bm25s` into the running interpreter's environment when missing.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def ensure(*packages):
    missing = []
    for module, package in packages:
        try:
            __import__(module)
        except ImportError:
            missing.append(package)
    if missing:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", *missing])


def load(scifact: Path):
    corpus = [json.loads(line) for line in open(scifact / "corpus.jsonl")]
    queries = {q["_id"]: q["text"] for q in map(json.loads, open(scifact / "queries.jsonl"))}
    qrels = {}
    with open(scifact / "qrels" / "test.tsv") as f:
        next(f)
        for line in f:
            qid, did, score = line.strip().split("\t")
            if int(score) > 0:
                qrels.setdefault(qid, {})[did] = int(score)
    judged = [(qid, queries[qid]) for qid in qrels if qid in queries]
    return corpus, judged, qrels


def ndcg10(ranked, rel):
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sorted(rel.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def timed(queries, search, passes):
    """Every query `passes` times, one at a time; (latencies ms, wall s, last answers)."""
    for _, q in queries[:10]:
        search(q)
    lat, answers = [], {}
    began = time.perf_counter()
    for _ in range(passes):
        for qid, q in queries:
            t0 = time.perf_counter()
            answers[qid] = search(q)
            lat.append((time.perf_counter() - t0) * 1e3)
    return lat, time.perf_counter() - began, answers


def row(name, lat, wall, answers, qrels):
    lat = sorted(lat)
    return {
        "engine": name,
        "qps": len(lat) / wall,
        "p50_ms": statistics.median(lat),
        "p99_ms": lat[min(len(lat) - 1, int(0.99 * len(lat)))],
        "ndcg_at_10": (sum(ndcg10(answers[q], qrels[q]) for q in answers) / len(answers)) if answers else None,
    }


def tantivy_py(corpus, queries, qrels, passes):
    import tantivy

    schema = tantivy.SchemaBuilder()
    schema.add_text_field("id", stored=True, tokenizer_name="raw")
    schema.add_text_field("title", tokenizer_name="en_stem")
    schema.add_text_field("text", tokenizer_name="en_stem")
    schema = schema.build()
    with tempfile.TemporaryDirectory() as d:
        index = tantivy.Index(schema, path=d)
        writer = index.writer()
        for doc in corpus:
            writer.add_document(tantivy.Document(id=doc["_id"], title=doc.get("title", ""), text=doc["text"]))
        writer.commit()
        writer.wait_merging_threads()
        index.reload()
        searcher = index.searcher()
        # Ids by address, read once: the timed search returns ids without reading stored
        # documents, as lambdarag's id cache does.
        every = searcher.search(tantivy.Query.all_query(), len(corpus) + 1).hits
        id_of = {(a.segment_ord, a.doc): searcher.doc(a)["id"][0] for _, a in every}

        def search(q):
            query, _errors = index.parse_query_lenient(q, ["title", "text"])
            return [id_of[(a.segment_ord, a.doc)] for _, a in searcher.search(query, 10).hits]

        lat, wall, answers = timed(queries, search, passes)
    return row("tantivy-py (tantivy 0.27 bindings, en_stem)", lat, wall, answers, qrels)


def bm25s_run(corpus, queries, qrels, passes):
    import bm25s

    texts = [f"{d.get('title', '')}\n{d['text']}" for d in corpus]
    ids = [d["_id"] for d in corpus]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)

    def search(q):
        tokens = bm25s.tokenize([q], stopwords="en", show_progress=False)
        docs, _ = retriever.retrieve(tokens, k=10, show_progress=False, n_threads=1)
        return [ids[i] for i in docs[0]]

    lat, wall, answers = timed(queries, search, passes)
    return row(f"bm25s {bm25s.__version__}", lat, wall, answers, qrels)


def lambdarag(binary, data_dir, scifact):
    env = dict(os.environ, RUST_LOG="warn")
    out = subprocess.run(
        [binary, "--data-dir", str(data_dir), "eval", "beir", str(scifact), "--json", "--no-prototypes",
         "--embed-sample", "0"],
        check=True, capture_output=True, text=True, env=env).stdout
    report = json.loads(out)
    t = report["components"]["index_hits_bm25_top10"]
    bm25 = next(m for m in report["modes"] if m["weight"] == 0)
    return {"engine": "lambdarag index (search_hits, ids only)", "qps": t["qps"], "p50_ms": t["p50_ms"],
            "p99_ms": t["p99_ms"], "ndcg_at_10": bm25["ndcg_at_10"]}, report["machine"]


def main():
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(here.parent / "target" / "release" / "lambdarag"))
    ap.add_argument("--data-dir", required=True, help="eval data dir (the collection is ingested there once)")
    ap.add_argument("--dir", type=Path, default=here.parents[1] / "shared" / "bench-data" / "scifact")
    ap.add_argument("--passes", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    ensure(("tantivy", "tantivy"), ("bm25s", "bm25s"))
    corpus, queries, qrels = load(args.dir)
    ours, machine = lambdarag(args.bin, args.data_dir, args.dir)
    rows = [ours, tantivy_py(corpus, queries, qrels, args.passes), bm25s_run(corpus, queries, qrels, args.passes)]
    if args.json:
        print(json.dumps({"machine": machine, "rows": rows}, indent=2))
        return
    print(f"BM25 top-10, SciFact ({len(corpus)} docs, {len(queries)} queries), one thread; machine: "
          f"{machine.get('cpu')} ({machine.get('cores')} cores)")
    print("| engine | QPS | p50 ms | p99 ms | nDCG@10 | lambdarag / this |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        ratio = ours["qps"] / r["qps"] if r["qps"] else float("nan")
        print(f"| {r['engine']} | {r['qps']:.0f} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | "
              f"{r['ndcg_at_10']:.4f} | {ratio:.2f}× |")


if __name__ == "__main__":
    main()
