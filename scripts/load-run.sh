#!/usr/bin/env bash
# A bounded load run on a fresh embedded server (see docs/benchmarks.md, "Load"): builds the
# release binary, then scripts/load-run.py starts `lambdarag serve` on a free loopback port
# and a temporary data dir, mixes uploads, parses and retrievals for --minutes, waits for the
# queue to drain, checks every document, prints the report and stops the server.
#
#   scripts/load-run.sh                          # 2 minutes, 2 clients
#   scripts/load-run.sh --minutes 5 --clients 4 --json
#
# Extra arguments go to load-run.py. Exit status 1 on any error or lost document.
# Against the local AWS stack instead (no build here; the stack builds its own binaries):
#   eval "$(scripts/local-aws.sh up)"
#   .venv/bin/python scripts/load-run.py --base-url "$LAMBDARAG_BASE_URL" --api-key "$LAMBDARAG_API_KEY"
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

models="${LAMBDARAG_MODEL_DIR:-./data/models}"
scripts/fetch-model.sh "$models"
export LAMBDARAG_MODEL_DIR="$models"

cargo build --release -p lambdarag-server
python=.venv/bin/python
[[ -x "$python" ]] || python=python3
RUST_LOG="${RUST_LOG:-warn}" exec "$python" scripts/load-run.py \
  --bin "${CARGO_TARGET_DIR:-target}/release/lambdarag" "$@"
