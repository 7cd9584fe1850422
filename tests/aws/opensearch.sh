#!/usr/bin/env bash
# A local single-node OpenSearch 2.19.1 with the k-NN plugin, for the OpenSearch adapter's
# conformance tests. Built from Maven Central artifacts (no tarball, no Docker): the small
# launcher in tests/aws/opensearch/ runs the server in-process (see EmbeddedNode.java).
#
#   eval "$(tests/aws/opensearch.sh start)"   # builds the launcher if needed, starts the node,
#                                             # exports OPENSEARCH_URL
#   tests/aws/opensearch.sh status            # prints OPENSEARCH_URL=... if it is up, exit 1 otherwise
#   tests/aws/opensearch.sh stop              # stops the node this script started
#
# Idempotent: `start` reuses a node that answers on the port, `stop` is a no-op when this
# script started nothing. Only the export line goes to stdout (so `eval` works); progress
# goes to stderr. Needs Java 17 and Maven (the first build downloads ~85 MB into ~/.m2).
#
# Environment:
#   OPENSEARCH_PORT             HTTP port (default 9200); the transport port is this + 100
#   OPENSEARCH_HEAP             JVM heap, -Xms = -Xmx (default 512m)
#   LAMBDARAG_OPENSEARCH_DIR    pid, log and node data (default <repo>/target/opensearch)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
port="${OPENSEARCH_PORT:-9200}"
transport_port=$((port + 100))
heap="${OPENSEARCH_HEAP:-512m}"
launcher="$repo/tests/aws/opensearch"
state_dir="${LAMBDARAG_OPENSEARCH_DIR:-$repo/target/opensearch}"
pid_file="$state_dir/opensearch-$port.pid"
log_file="$state_dir/opensearch-$port.log"
node_dir="$state_dir/node-$port"
url="http://127.0.0.1:$port"
main_class=lambdarag.EmbeddedNode
start_timeout=120

log() { echo "opensearch.sh: $*" >&2; }

# True if a node answers on the port with a usable cluster (green, or yellow).
is_up() {
    curl -fsS --max-time 2 "$url/_cluster/health" 2>/dev/null |
        grep -Eq '"status":"(green|yellow)"'
}

# Build the launcher when it was never built or its pom or sources changed since.
ensure_built() {
    local stamp="$launcher/target/.built"
    if [[ -f $stamp ]] && [[ -z "$(find "$launcher/pom.xml" "$launcher/src" -newer "$stamp" -print -quit)" ]]; then
        return
    fi
    command -v java >/dev/null || { log "java not found (Java 17 is needed)"; exit 1; }
    command -v mvn >/dev/null || { log "mvn not found (Maven is needed)"; exit 1; }
    log "building the launcher (Maven; a first build downloads ~85 MB into ~/.m2)"
    local t0=$SECONDS
    # clean: copy-dependencies would keep the jars of a dependency since removed.
    # sed: Maven 3.8 prints colour codes even when quiet and not on a terminal.
    mvn -B -q -f "$launcher/pom.xml" clean package 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^$/d' >&2
    touch "$stamp"
    log "built in $((SECONDS - t0)) s"
}

# The pid we started, if that process is still our node (a pid can be reused).
our_pid() {
    [[ -f $pid_file ]] || return 1
    local pid
    pid="$(cat "$pid_file")"
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$main_class" || return 1
    echo "$pid"
}

fail_start() {
    log "$1; last lines of $log_file:"
    tail -n 40 "$log_file" >&2 || true
    exit 1
}

# One node has nowhere to put replicas: new indices get none, so health stays green.
single_node_template() {
    curl -fsS -o /dev/null --max-time 10 -X PUT "$url/_index_template/lambdarag-single-node" \
        -H 'content-type: application/json' \
        -d '{"index_patterns":["*"],"priority":0,"template":{"settings":{"index.number_of_replicas":0}}}' ||
        log "warning: could not set the zero-replica index template"
}

start() {
    local pid
    if is_up; then
        log "already running at $url"
        echo "export OPENSEARCH_URL=$url"
        return
    fi
    if pid="$(our_pid)"; then
        fail_start "pid $pid from an earlier start is alive but $url does not answer; run '$0 stop'"
    fi
    ensure_built
    mkdir -p "$state_dir" "$node_dir"
    local t0=$SECONDS
    # setsid: the node outlives this shell (and a CI step's process group) until `stop`.
    # -cp: the server's jars come before the k-NN zip's (both ship jna and slf4j).
    # The -D flags are from OpenSearch's own jvm.options (Netty without Unsafe tricks or
    # per-thread caches, which a small heap cannot spare).
    setsid java -Xms"$heap" -Xmx"$heap" -XX:+ExitOnOutOfMemoryError \
        -Djava.awt.headless=true -Dfile.encoding=UTF-8 \
        -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true \
        -Dio.netty.recycler.maxCapacityPerThread=0 -Dio.netty.allocator.numDirectArenas=0 \
        -cp "$launcher/target/classes:$launcher/target/lib/*:$launcher/target/knn/*" \
        "$main_class" "$node_dir" "http.port=$port" "transport.port=$transport_port" \
        >"$log_file" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$pid_file"
    while ((SECONDS - t0 < start_timeout)); do
        if is_up; then
            single_node_template
            local rss
            rss="$(ps -o rss= -p "$pid" 2>/dev/null | awk '{printf "%d MB", $1/1024}')"
            log "started at $url in $((SECONDS - t0)) s (pid $pid, RSS $rss, heap $heap, log $log_file)"
            echo "export OPENSEARCH_URL=$url"
            return
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$pid_file"
            fail_start "the OpenSearch JVM exited during start-up"
        fi
        sleep 0.5
    done
    # Ours and useless: do not leave it running.
    kill "$pid" 2>/dev/null || true
    rm -f "$pid_file"
    fail_start "OpenSearch did not report green/yellow on $url within $start_timeout s"
}

stop() {
    local pid
    if ! pid="$(our_pid)"; then
        [[ -f $pid_file ]] && rm -f "$pid_file"
        log "no node started by this script on port $port"
        return
    fi
    # SIGTERM runs the launcher's shutdown hook, which closes the node.
    kill "$pid"
    for _ in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid still alive after 30 s; killing it"
        kill -9 "$pid" 2>/dev/null || true
    fi
    log "stopped pid $pid"
    rm -f "$pid_file"
}

status() {
    if is_up; then
        echo "OPENSEARCH_URL=$url"
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
