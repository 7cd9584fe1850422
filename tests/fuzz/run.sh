#!/usr/bin/env bash
# Fuzz the embedded server from its own OpenAPI document (schemathesis), as tenant A, while
# tenant B's data sits beside it. Fails unless:
#   - the document is valid OpenAPI 3.1 (openapi-spec-validator),
#   - schemathesis (two passes: all but the deletes, then the deletes) reports no failure: no HTTP 5xx, every reply in the contract's shape for
#     its operation (tests/fuzz/hooks.py `envelope`; JSON envelope, SSE frames, file bytes),
#     replies conform to the document's schemas and content types, no request timed out,
#   - at least FUZZ_MIN_REQUESTS requests were sent (default 5000),
#   - the server is still running and its log has no "panicked",
#   - tenant B's data, read through the API, is unchanged.
#
#   LAMBDARAG_BIN=target/debug/lambdarag tests/fuzz/run.sh
#
# Env: LAMBDARAG_BIN (default <repo>/target/debug/lambdarag; never built here),
#      LAMBDARAG_MODEL_DIR (default <repo>/data/models), FUZZ_VENV (default <repo>/.venv-fuzz),
#      FUZZ_EXAMPLES (per operation and phase, default 120), FUZZ_SEED (default 1),
#      FUZZ_MIN_REQUESTS (default 5000), FUZZ_KEEP=1 keeps the work dir.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${LAMBDARAG_BIN:-$repo/target/debug/lambdarag}"
venv="${FUZZ_VENV:-$repo/.venv-fuzz}"
reqs="$repo/tests/fuzz/requirements.txt"
examples="${FUZZ_EXAMPLES:-120}"
min_requests="${FUZZ_MIN_REQUESTS:-5000}"
export LAMBDARAG_MODEL_DIR="${LAMBDARAG_MODEL_DIR:-$repo/data/models}"
log() { echo "fuzz: $*" >&2; }
started=$(date +%s)

[[ -x "$bin" ]] || { log "server binary not found: $bin (build it first)"; exit 2; }
[[ -d "$LAMBDARAG_MODEL_DIR" ]] || "$repo/scripts/fetch-model.sh" "$LAMBDARAG_MODEL_DIR"

# The venv: Python 3.12 (pyenv's if present), requirements installed once per file content.
if [[ ! -x "$venv/bin/python" ]]; then
    py="$(PYENV_VERSION=3.12.1 command -v python3.12 2>/dev/null || command -v python3.12 || command -v python3)"
    log "creating $venv with $py"
    PYENV_VERSION=3.12.1 "$py" -m venv "$venv"
fi
stamp="$venv/.lambdarag-fuzz-requirements.sha256"
want="$(sha256sum "$reqs" | cut -d' ' -f1)"
if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$reqs"
    echo "$want" > "$stamp"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ "${FUZZ_KEEP:-0}" == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

data="$work/data"
mkdir -p "$data"
tenant_key() { # the second line of `tenant create` is the tenant's API key
    env -u LAMBDARAG_DATA_DIR -u LAMBDARAG_METADATA "$bin" --data-dir "$data" tenant create --name "$1" | sed -n 2p
}
key_a="$(tenant_key fuzz-a)"
key_b="$(tenant_key fuzz-b)"
port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"

RUST_LOG="${RUST_LOG:-warn}" env -u LAMBDARAG_DATA_DIR -u LAMBDARAG_METADATA -u LAMBDARAG_ADDR \
    "$bin" --data-dir "$data" serve --addr "127.0.0.1:$port" > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 200); do
    curl -s -o /dev/null "$url/api/v1/openapi.json" && break
    kill -0 "$server_pid" 2>/dev/null || { log "server exited"; cat "$work/server.log" >&2; exit 1; }
    sleep 0.1
done

log "validating $url/api/v1/openapi.json as OpenAPI 3.1"
curl -sf "$url/api/v1/openapi.json" -o "$work/openapi.json"
"$venv/bin/python" -c '
import json, sys
from openapi_spec_validator import validate
from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator
spec = json.load(open(sys.argv[1]))
validate(spec, cls=OpenAPIV31SpecValidator)
paths = spec["paths"]
ops = sum(len(v) for v in paths.values())
print("fuzz: the document is valid OpenAPI", spec["openapi"], f"({len(paths)} paths, {ops} operations)", file=sys.stderr)
' "$work/openapi.json"

log "seeding tenants A and B (dataset, parsed document, chat, session)"
"$venv/bin/python" "$repo/tests/fuzz/seed.py" seed "$url" "$key_a" "$work/a.json"
"$venv/bin/python" "$repo/tests/fuzz/seed.py" seed "$url" "$key_b" "$work/b.json"
"$venv/bin/python" -c 'import json,sys; print(json.dumps({"a": json.load(open(sys.argv[1])), "b": json.load(open(sys.argv[2]))}))' \
    "$work/a.json" "$work/b.json" > "$work/ids.json"
"$venv/bin/python" "$repo/tests/fuzz/seed.py" snapshot "$url" "$key_b" "$work/b-before.json"

# Two passes: every operation but the deletes first, so tenant A's seeded data stays there
# for the other operations to reach deep (a delete with no ids removes all of A's data).
st_pass() { # st_pass NAME FILTER-ARGS...
    local name="$1"; shift
    log "schemathesis pass '$name': $examples examples per operation and phase, as tenant A"
    set +e
    # From the work dir: schemathesis keeps a .schemathesis/ folder where it runs.
    cd "$work"
    FUZZ_IDS="$work/ids.json" FUZZ_STATS="$work/stats-$name.json" PYTHONPATH="$repo/tests/fuzz" \
        SCHEMATHESIS_HOOKS=hooks \
        "$venv/bin/schemathesis" run "$work/openapi.json" --url "$url" "$@" \
        -H "Authorization: Bearer $key_a" \
        --checks not_a_server_error,response_schema_conformance,content_type_conformance,envelope \
        --phases examples,coverage,fuzzing \
        --max-examples "$examples" --seed "${FUZZ_SEED:-1}" \
        --request-timeout 20 --workers 2 \
        --generation-database none --suppress-health-check all --no-color \
        --continue-on-failure --output-truncate false \
        > "$work/schemathesis-$name.log" 2>&1
    local rc=$?
    cd "$repo"
    set -e
    awk '/= (FAILURES|SUMMARY) =/{p=1} p' "$work/schemathesis-$name.log" | tail -n 60
    [[ $rc -eq 0 ]] || fail "schemathesis pass '$name' exited $rc (full log $work/schemathesis-$name.log)"
}
failed=0
fail() { log "FAIL: $*"; failed=1; }
st_pass main --exclude-method DELETE
st_pass deletes --include-method DELETE

kill -0 "$server_pid" 2>/dev/null || fail "the server exited during the run"
if grep -q "panicked" "$work/server.log"; then
    fail "the server panicked:"; grep -m5 -A3 "panicked" "$work/server.log" >&2
fi

"$venv/bin/python" "$repo/tests/fuzz/seed.py" snapshot "$url" "$key_b" "$work/b-after.json"
if ! cmp -s "$work/b-before.json" "$work/b-after.json"; then
    fail "tenant B's data changed:"; diff "$work/b-before.json" "$work/b-after.json" | head -40 >&2
fi

read -r requests operations timeouts < <("$venv/bin/python" - "$work/openapi.json" "$work"/stats-*.json <<'PY'
import json, sys
from collections import Counter
doc = json.load(open(sys.argv[1]))
documented = {f"{m.upper()} {p}" for p, item in doc["paths"].items() for m in item}
requests, errors, replies, exceptions = Counter(), Counter(), Counter(), Counter()
for path in sys.argv[2:]:
    s = json.load(open(path))
    requests.update(s["requests"]); errors.update(s["network_errors"])
    replies.update(s["replies"]); exceptions.update(s["exception_replies"])
with open(sys.argv[2].rsplit("/", 1)[0] + "/figures.txt", "w") as f:
    print("replies by HTTP status and envelope code:", file=f)
    for k, n in replies.most_common():
        print(f"  {n:6d}  {k}", file=f)
    print(f"code 100/500 replies, the 30 most frequent of {len(exceptions)} (method path: message):", file=f)
    for k, n in exceptions.most_common(30):
        print(f"  {n:6d}  {k}", file=f)
covered = len(documented & set(requests))
print(sum(requests.values()), f"{covered}/{len(documented)}", sum(errors.values()))
PY
)
cat "$work/figures.txt"
[[ "$timeouts" -eq 0 ]] || fail "$timeouts requests timed out or failed at the network level"
[[ "$requests" -ge "$min_requests" ]] || fail "only $requests requests (want >= $min_requests)"
echo "fuzz: $requests requests, documented operations exercised $operations, $timeouts timeouts, $(( $(date +%s) - started ))s"
if [[ $failed -ne 0 ]]; then log "FAILED (work dir kept: $work)"; FUZZ_KEEP=1; exit 1; fi
log "passed"
