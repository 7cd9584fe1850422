#!/usr/bin/env bash
# Retrieval quality and speed on BEIR SciFact, through lambdarag's real ingestion and
# retrieval path (see docs/benchmarks.md).
#
#   scripts/eval-scifact.sh                      # dataset at ../shared/bench-data/scifact
#   SCIFACT_DIR=/path/to/scifact scripts/eval-scifact.sh --weights 0.3,0.5 --concurrency 2
#   EVAL_DATA_DIR=/tmp/scifact-eval scripts/eval-scifact.sh   # keep (and reuse) the ingested data
#
# Fetches the model weights if missing, builds the release binary, runs
# `lambdarag eval beir` and prints the tables. Extra arguments go to `eval beir`
# (e.g. --json, --weights, --top-k, --concurrency, --limit-docs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scifact="${SCIFACT_DIR:-../shared/bench-data/scifact}"
[[ -f "$scifact/corpus.jsonl" ]] || {
  echo "eval-scifact: no BEIR SciFact at $scifact (set SCIFACT_DIR); it needs corpus.jsonl, queries.jsonl, qrels/test.tsv" >&2
  exit 1
}
models="${LAMBDARAG_MODEL_DIR:-./data/models}"
scripts/fetch-model.sh "$models"
export LAMBDARAG_MODEL_DIR="$models"

cargo build --release -p lambdarag-server
data_args=()
[[ -n "${EVAL_DATA_DIR:-}" ]] && data_args=(--data-dir "$EVAL_DATA_DIR")
RUST_LOG="${RUST_LOG:-warn}" exec target/release/lambdarag "${data_args[@]}" eval beir "$scifact" "$@"
