#!/usr/bin/env bash
# The web console end to end in headless Chromium (console.test.mjs): a fresh embedded server
# with its own data dir and API key, the stand-in LLM of the Python suite
# (tests/python/fake_llm.py) as the tenant's chat provider, and Debian's chromium driven by
# playwright-core (pinned in package-lock.json; it never downloads a browser of its own).
#
# Installs what is missing: chromium (apt), Node and npm (apt), the node packages (npm ci).
# Uses the built server binary: $LAMBDARAG_BIN, default <repo>/target/debug/lambdarag.
# Screenshots of every step: $SCREENSHOT_DIR, default <repo>/target/console-screenshots.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin="${LAMBDARAG_BIN:-$repo/target/debug/lambdarag}"
[ -x "$bin" ] || { echo "no server binary at $bin (cargo build -p lambdarag-server)" >&2; exit 1; }
export SCREENSHOT_DIR="${SCREENSHOT_DIR:-$repo/target/console-screenshots}"
export LAMBDARAG_MODEL_DIR="${LAMBDARAG_MODEL_DIR:-$repo/data/models}"

apt_install() {
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq "$@"
    else sudo apt-get update -qq && sudo apt-get install -y -qq "$@"; fi
}
if [ -z "${CHROMIUM:-}" ]; then
    command -v chromium >/dev/null || apt_install chromium
    CHROMIUM="$(command -v chromium)"
fi
export CHROMIUM
command -v node >/dev/null || apt_install nodejs npm
command -v npm >/dev/null || apt_install npm
if [ ! -f "$here/node_modules/playwright-core/package.json" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

work="$(mktemp -d)"
server_pid=""
llm_pid=""
cleanup() {
    local rc=$?
    for pid in $server_pid $llm_pid; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ "$rc" != 0 ] && [ -f "$work/server.log" ]; then
        echo "--- server log (last 40 lines) ---" >&2
        tail -n 40 "$work/server.log" >&2
    fi
    rm -rf "$work"
    return "$rc"
}
trap cleanup EXIT

data="$work/data"
cli() { RUST_LOG=warn "$bin" --data-dir "$data" "$@"; }

# A tenant and its key (the key alone on stdout).
API_KEY="$(cli key create 2>/dev/null)"
export API_KEY

# The stand-in LLM, a little slower than in the Python suite so a stream visibly grows.
python3 -u -c '
import sys, time
sys.path.insert(0, sys.argv[1])
import fake_llm
server, url = fake_llm.start()
server.delay = float(sys.argv[2])
print(url, flush=True)
while True:
    time.sleep(3600)
' "$repo/tests/python" 0.01 >"$work/llm.url" 2>"$work/llm.log" &
llm_pid=$!
for _ in $(seq 100); do [ -s "$work/llm.url" ] && break; sleep 0.1; done
llm_url="$(head -n1 "$work/llm.url")"
[ -n "$llm_url" ] || { echo "the stand-in LLM did not start: $(cat "$work/llm.log")" >&2; exit 1; }
cli provider set --factory OpenAI-API-Compatible --base-url "$llm_url" --api-key x \
    --model echo-model:chat >/dev/null
export CHAT_MODEL="echo-model@OpenAI-API-Compatible"

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export BASE_URL="http://127.0.0.1:$port"
RUST_LOG="${RUST_LOG:-warn}" "$bin" --data-dir "$data" serve --addr "127.0.0.1:$port" \
    >"$work/server.log" 2>&1 &
server_pid=$!

started=$(date +%s)
(cd "$here" && node console.test.mjs)
echo "browser test passed in $(( $(date +%s) - started ))s"
