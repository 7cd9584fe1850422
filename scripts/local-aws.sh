#!/usr/bin/env bash
# The AWS deployment, run locally as a system (on loopback only):
#   - moto for DynamoDB, S3 and SQS, with template.yaml's table, bucket (+ its S3 → SQS
#     notification) and queues (+ dead-letter queues and redrive policies);
#   - a real OpenSearch node (2.19.1 + k-NN, from Maven Central; tests/aws/opensearch.sh);
#   - every function in template.yaml as its real binary under the Lambda runtime emulator
#     (`cargo lambda watch --only-lambda-apis`), with the environment the template gives it
#     and its layers under its /opt (the built-in model);
#   - an API-Gateway-shaped front whose routes are template.yaml's HttpApi events, and one
#     port per Function URL (the streaming completions);
#   - the SQS event source mappings (parse queue and its DLQ → parse-worker, upload
#     notifications → s3-ingest), with batch sizes and partial batch failures.
#
#   eval "$(scripts/local-aws.sh up)"   # prints export lines: LAMBDARAG_BASE_URL, LAMBDARAG_API_KEY, ...
#   scripts/local-aws.sh status
#   scripts/local-aws.sh down           # stops exactly what `up` started
#
# Environment:
#   LOCAL_AWS_BIN_DIR     prebuilt function binaries: <dir>/<binary>, or cargo lambda's
#                         <dir>/<binary>/bootstrap (e.g. target/lambda); default: `cargo build
#                         --bins` into target/debug
#   LOCAL_AWS_CLI         the lambdarag CLI (default: <bin dir>/lambdarag, else target/debug/lambdarag)
#   LOCAL_AWS_RELEASE=1   build and run release binaries instead
#   LOCAL_AWS_PORT        the API front (default 9480; Function URLs take the next ports)
#   LOCAL_AWS_MOTO_PORT   moto (default 9470)
#   OPENSEARCH_URL        use this OpenSearch node instead of starting one
#   LOCAL_AWS_INSTANCES   processes per function (default 2)
#   LOCAL_AWS_LOG_LEVEL   RUST_LOG for every function (default: the template's LogLevel)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="$repo/target/local-aws"
venv="${LOCAL_AWS_VENV:-$repo/.venv-aws}"
port="${LOCAL_AWS_PORT:-9480}"
moto_port="${LOCAL_AWS_MOTO_PORT:-9470}"
emulator_port="${LOCAL_AWS_EMULATOR_PORT:-9490}"
pid_file="$state/stack.pid"

log() { echo "local-aws: $*" >&2; }
die() { log "error: $*"; exit 1; }

ensure_venv() {
    local reqs="$repo/infra/local-aws/requirements.txt" stamp="$venv/.requirements.sha256" want
    want="$(sha256sum "$reqs" | cut -d' ' -f1)"
    if [[ "$(cat "$stamp" 2>/dev/null || true)" == "$want" ]]; then
        return
    fi
    log "installing moto, boto3, PyYAML and cargo-lambda into $venv"
    [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$reqs" >&2
    echo "$want" >"$stamp"
}

bin_dir() {
    if [[ -n "${LOCAL_AWS_BIN_DIR:-}" ]]; then
        echo "$LOCAL_AWS_BIN_DIR"
    elif [[ -n "${LOCAL_AWS_RELEASE:-}" ]]; then
        echo "$repo/target/release"
    else
        echo "$repo/target/debug"
    fi
}

build() {
    [[ -n "${LOCAL_AWS_BIN_DIR:-}" ]] && return
    local profile=()
    [[ -n "${LOCAL_AWS_RELEASE:-}" ]] && profile=(--release)
    log "building the function binaries and the CLI (cargo build --workspace --bins ${profile[*]})"
    (cd "$repo" && cargo build --workspace --bins "${profile[@]}" >&2)
}

stack_alive() {
    [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

cli_path() {
    if [[ -n "${LOCAL_AWS_CLI:-}" ]]; then
        echo "$LOCAL_AWS_CLI"
    elif [[ -x "$(bin_dir)/lambdarag" ]]; then
        echo "$(bin_dir)/lambdarag"
    else
        echo "$repo/target/debug/lambdarag"
    fi
}

# The CLI against the stack's table (tenants, keys, providers).
cli() {
    AWS_ENDPOINT_URL="$MOTO_URL" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
        LAMBDARAG_TABLE="$table" "$(cli_path)" --metadata dynamodb "$@"
}

json_field() { "$venv/bin/python" -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): d=d[k]
print(d)' "$state/stack.json" "$1"; }

print_env() {
    local base key
    base="$(json_field base_url)"
    table="$(json_field table)"
    MOTO_URL="$(json_field moto_url)"
    key="$(cat "$state/api-key")"
    cat <<EOT
export LAMBDARAG_BASE_URL=$base
export LAMBDARAG_API_KEY=$key
export LAMBDARAG_SESSIONS_STREAM_URL=$(json_field function_urls.SessionsStreamFunction)
export LAMBDARAG_OPENAI_STREAM_URL=$(json_field function_urls.OpenAiStreamFunction)
export LAMBDARAG_SEARCHES_STREAM_URL=$(json_field function_urls.SearchesStreamFunction)
export LAMBDARAG_AGENTS_STREAM_URL=$(json_field function_urls.AgentsStreamFunction)
export OPENSEARCH_URL=$(json_field opensearch_url)
export AWS_ENDPOINT_URL=$MOTO_URL
export AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export LAMBDARAG_TABLE=$table
export LAMBDARAG_BUCKET=$(json_field bucket)
EOT
}

up() {
    mkdir -p "$state"
    if stack_alive && [[ -f "$state/stack.json" ]]; then
        log "already up (pid $(cat "$pid_file"))"
        print_env
        return
    fi
    command -v cargo >/dev/null || die "cargo is needed to build the functions"
    command -v make >/dev/null || die "make is needed to build the model layer"
    ensure_venv
    build
    local bins
    bins="$(bin_dir)"
    [[ -x "$(cli_path)" ]] || die "no lambdarag CLI at $(cli_path) (build it: cargo build -p lambdarag-server)"

    # moto, on its own port and state dir (so `down` stops only this one), through the
    # stack's launcher (transactions that stay fast as the table grows: moto_server.py).
    eval "$(MOTO_PORT="$moto_port" LAMBDARAG_MOTO_VENV="$venv" LAMBDARAG_MOTO_DIR="$state/moto" \
        LAMBDARAG_MOTO_MODULE=localaws.moto_server PYTHONPATH="$repo/infra/local-aws" \
        "$repo/tests/aws/moto.sh" start)" || die "moto did not start"

    if [[ -n "${OPENSEARCH_URL:-}" ]]; then
        curl -fsS -o /dev/null --max-time 5 "$OPENSEARCH_URL/_cluster/health" \
            || die "OPENSEARCH_URL=$OPENSEARCH_URL does not answer"
        log "using the OpenSearch node at $OPENSEARCH_URL"
        rm -f "$state/opensearch-started"
    else
        eval "$(LAMBDARAG_OPENSEARCH_DIR="$state/opensearch" "$repo/tests/aws/opensearch.sh" start)" \
            || die "the OpenSearch node did not start (see $state/opensearch)"
        touch "$state/opensearch-started"
    fi

    log "starting the functions, the front and the event source mappings"
    rm -f "$state/stack.json" "$state/api-key"
    (
        cd "$repo/infra/local-aws"
        exec setsid "$venv/bin/python" -m localaws serve --repo "$repo" --state-dir "$state" \
            --bin-dir "$bins" --moto-url "$MOTO_URL" --opensearch-url "$OPENSEARCH_URL" \
            --api-port "$port" --emulator-port "$emulator_port" \
            --instances "${LOCAL_AWS_INSTANCES:-2}" ${LOCAL_AWS_LOG_LEVEL:+--log-level "$LOCAL_AWS_LOG_LEVEL"} \
            >>"$state/stack.log" 2>&1 </dev/null
    ) &
    echo $! >"$pid_file"
    for _ in $(seq 1 1200); do
        [[ -f "$state/stack.json" ]] && break
        if ! stack_alive; then
            tail -n 40 "$state/stack.log" >&2
            down >/dev/null 2>&1 || true
            die "the stack exited during start-up (log: $state/stack.log)"
        fi
        sleep 0.25
    done
    [[ -f "$state/stack.json" ]] || { tail -n 40 "$state/stack.log" >&2; down; die "the stack was not ready within 300 s"; }

    table="$(json_field table)"
    if [[ ! -s "$state/api-key" ]]; then
        local out
        out="$(cli tenant create --name local)" || die "could not create a tenant: $out"
        sed -n 2p <<<"$out" >"$state/api-key"
    fi
    log "up: $(json_field base_url) (log: $state/stack.log)"
    print_env
}

down() {
    if [[ -f "$pid_file" ]]; then
        local pid
        pid="$(cat "$pid_file")"
        if kill -0 "$pid" 2>/dev/null; then
            # The supervisor leads its own process group: the functions and emulators are in it.
            kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 100); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -KILL -- "-$pid" 2>/dev/null || true
            # Nothing of the group may outlive `down`.
            for _ in $(seq 1 50); do
                pgrep -g "$pid" >/dev/null || break
                sleep 0.1
            done
            if pgrep -g "$pid" >/dev/null; then
                log "error: processes of the stack survived: $(pgrep -g "$pid" | tr '\n' ' ')"
                exit 1
            fi
            log "stopped the functions, the emulator and the fronts (process group $pid)"
        fi
        rm -f "$pid_file"
    fi
    rm -f "$state/stack.json" "$state/api-key"
    if [[ -f "$state/opensearch-started" ]]; then
        LAMBDARAG_OPENSEARCH_DIR="$state/opensearch" "$repo/tests/aws/opensearch.sh" stop || true
        rm -f "$state/opensearch-started"
    fi
    MOTO_PORT="$moto_port" LAMBDARAG_MOTO_VENV="$venv" LAMBDARAG_MOTO_DIR="$state/moto" \
        "$repo/tests/aws/moto.sh" stop || true
}

status() {
    if stack_alive && [[ -f "$state/stack.json" ]]; then
        cat "$state/stack.json"
    else
        log "not running"
        exit 1
    fi
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    env) print_env ;;
    *)
        echo "usage: $0 up|down|status|env" >&2
        exit 2
        ;;
esac
