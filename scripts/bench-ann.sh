#!/usr/bin/env bash
# Top-1024 vector search: exact f32 scan, the embedded index's int8 two-pass scan, and an
# HNSW index (hnsw_rs 0.3.5), on seeded uniform and clustered 384-d unit vectors. Prints
# one markdown row per method and setting: mean / p99 ms (one thread, 200 queries), build
# seconds, RSS growth, recall@100 and recall@1024 against the exact scan.
#
#   scripts/bench-ann.sh                    # 50k and 100k vectors, HNSW M=16 efC=100 (~10 min on 2 cores)
#   SIZES="50000 100000 200000" HNSW="16:100 16:200" scripts/bench-ann.sh
#
# Outside the workspace on purpose: the HNSW crate is measured, not shipped.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"50000 100000"}
HNSW=${HNSW:-"16:100"}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target/bench-ann}
RUSTFLAGS="${RUSTFLAGS:-} -C target-cpu=native" \
    cargo build --release --manifest-path infra/bench-ann/Cargo.toml >&2
BIN=$CARGO_TARGET_DIR/release/bench-ann
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
echo "| N | data | method | params | build s (load) | RSS Δ MB | mean ms | p99 ms | R@100 | R@1024 | load during queries |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for n in $SIZES; do
    for data in uniform clustered; do
        # One process per job, so each RSS growth is its own.
        "$BIN" base "$n" "$data" | sed -n 's/^ROW|/|/p'
        for mc in $HNSW; do
            "$BIN" hnsw "$n" "$data" "${mc%%:*}" "${mc##*:}" | sed -n 's/^ROW|/|/p'
        done
    done
done
