#!/usr/bin/env bash
# Ingestion throughput and peak memory through lambdarag's real path (upload → parse
# queue → parse, chunk, embed, index), once without embeddings and once with the built-in
# model, each in a fresh process and a fresh temporary data dir (see docs/benchmarks.md).
#
#   scripts/bench-ingest.sh <folder> [extra `bench ingest` args, e.g. --workers 2 --json]
#   BENCH_EMBED=0 scripts/bench-ingest.sh <folder>   # only the --no-embed run
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ $# -ge 1 ]] || { echo "usage: scripts/bench-ingest.sh <folder> [bench ingest args]" >&2; exit 2; }
folder="$1"; shift
[[ -d "$folder" ]] || { echo "bench-ingest: $folder is not a folder" >&2; exit 1; }

models="${LAMBDARAG_MODEL_DIR:-./data/models}"
if [[ "${BENCH_EMBED:-1}" != 0 ]]; then
  scripts/fetch-model.sh "$models"
fi
export LAMBDARAG_MODEL_DIR="$models"

cargo build --release -p lambdarag-server
export RUST_LOG="${RUST_LOG:-warn}"
echo "== without embeddings (parse + chunk + index) =="
target/release/lambdarag bench ingest "$folder" --no-embed "$@"
if [[ "${BENCH_EMBED:-1}" != 0 ]]; then
  echo
  echo "== with the built-in embedder =="
  target/release/lambdarag bench ingest "$folder" "$@"
fi
