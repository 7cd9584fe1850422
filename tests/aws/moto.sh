#!/usr/bin/env bash
# A local moto server for the AWS adapter tests (DynamoDB, S3, SQS, S3 → SQS notifications).
#
#   eval "$(tests/aws/moto.sh start)"   # installs moto if needed, starts it, exports MOTO_URL
#   tests/aws/moto.sh status            # prints MOTO_URL=... if it is up, exit 1 otherwise
#   tests/aws/moto.sh stop              # stops the server this script started
#
# Idempotent: `start` reuses a server it already started on the same port, `stop` is a no-op
# when nothing runs. Only the export line goes to stdout (so `eval` works); progress goes to
# stderr.
#
# Environment:
#   MOTO_PORT            port to listen on (default 5000)
#   LAMBDARAG_MOTO_VENV  venv to install moto into (default <repo>/.venv-moto)
#   LAMBDARAG_MOTO_DIR   where the pid and log files live (default <repo>/target/moto)
#   LAMBDARAG_MOTO_MODULE  run `python -m MODULE` from the venv instead of moto_server (the
#                        local AWS stack's launcher; PYTHONPATH must find it)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
port="${MOTO_PORT:-5000}"
venv="${LAMBDARAG_MOTO_VENV:-$repo/.venv-moto}"
state_dir="${LAMBDARAG_MOTO_DIR:-$repo/target/moto}"
pid_file="$state_dir/moto-$port.pid"
log_file="$state_dir/moto-$port.log"
url="http://127.0.0.1:$port"

log() { echo "moto.sh: $*" >&2; }

# True if a moto server answers on the port (its management API, which needs no signing).
is_up() {
    curl -fsS -o /dev/null --max-time 2 "$url/moto-api/data.json" 2>/dev/null
}

ensure_installed() {
    if [[ -x "$venv/bin/moto_server" ]]; then
        return
    fi
    log "installing moto[server] into $venv"
    [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "moto[server]" >&2
}

start() {
    if is_up; then
        log "already running at $url"
        echo "export MOTO_URL=$url"
        return
    fi
    ensure_installed
    mkdir -p "$state_dir"
    # setsid: the server outlives this shell (and a CI step's process group) until `stop`.
    local cmd=("$venv/bin/moto_server")
    [[ -n "${LAMBDARAG_MOTO_MODULE:-}" ]] && cmd=("$venv/bin/python" -m "$LAMBDARAG_MOTO_MODULE")
    setsid "${cmd[@]}" -H 127.0.0.1 -p "$port" >"$log_file" 2>&1 </dev/null &
    echo $! >"$pid_file"
    for _ in $(seq 1 100); do
        if is_up; then
            log "started at $url (pid $(cat "$pid_file"), log $log_file)"
            echo "export MOTO_URL=$url"
            return
        fi
        if ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
            log "moto exited during start-up; log follows"
            cat "$log_file" >&2
            rm -f "$pid_file"
            exit 1
        fi
        sleep 0.2
    done
    log "moto did not answer on $url within 20 s; log follows"
    cat "$log_file" >&2
    exit 1
}

stop() {
    if [[ ! -f "$pid_file" ]]; then
        log "no server started by this script on port $port"
        return
    fi
    pid="$(cat "$pid_file")"
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        log "stopped pid $pid"
    fi
    rm -f "$pid_file"
}

status() {
    if is_up; then
        echo "MOTO_URL=$url"
    else
        log "not running on $url"
        exit 1
    fi
}

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *)
        echo "usage: $0 start|stop|status" >&2
        exit 2
        ;;
esac
