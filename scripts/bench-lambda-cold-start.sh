#!/usr/bin/env bash
# Lambda function artifacts and cold starts, measured locally (docs/benchmarks.md, section
# "Lambda functions: artifact sizes and cold starts").
#
#   scripts/bench-lambda-cold-start.sh build    # cargo lambda build --release, one package at a time
#   scripts/bench-lambda-cold-start.sh sizes    # bootstrap + zip -9 sizes, max GLIBC, heavy crates, model layer
#   scripts/bench-lambda-cold-start.sh cold     # cold starts under `cargo lambda watch`, backend-free requests
#   scripts/bench-lambda-cold-start.sh embed    # retrieval's first request that embeds (model load)
#   scripts/bench-lambda-cold-start.sh all      # sizes, cold, embed (build first if you need to)
#
# Options (environment):
#   BENCH_RUNS=10            fresh processes per function
#   BENCH_WARM=3             warm invocations after each cold one (cold)
#   BENCH_FUNCTIONS="..."    binaries to measure (default: every function of template.yaml)
#   BENCH_BIN_DIR=DIR        bootstraps in DIR/<bin>/bootstrap or DIR/<bin>; default
#                            target-lambda/lambda/<bin>/bootstrap, else target/debug/<bin>
#   BENCH_TARGET_DIR=DIR     cargo target dir of `build` (default target-lambda, not target/:
#                            release builds with each package's own features only)
#   BENCH_REV=<commit>       `build` from `git archive <commit>` instead of the working tree
#   LAMBDARAG_MODEL_DIR=DIR  a dir holding all-MiniLM-L6-v2/ (default data/models; fetched with
#                            scripts/fetch-model.sh when missing)
#   LAMBDARAG_CLI=PATH       the lambdarag CLI for `embed` (default target/release or target/debug)
#   BENCH_NICE=10            niceness of the builds
#
# Every build runs under `nice`; the measured processes do not (niced on a busy machine, they
# would mostly measure the neighbours' load; they use little CPU). Results: a table on stdout,
# JSON and the functions' logs under target-lambda/bench-logs/. The harness (emulator, proxy, moto) runs on loopback, on ports it
# picks, and stops only what it started.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
venv="${LOCAL_AWS_VENV:-$repo/.venv-aws}"
export PATH="$venv/bin:$PATH"
py="$venv/bin/python"
target_dir="${BENCH_TARGET_DIR:-$repo/target-lambda}"
logs="$repo/target-lambda/bench-logs"
runs="${BENCH_RUNS:-10}"
warm="${BENCH_WARM:-3}"
nice_n="${BENCH_NICE:-10}"
model_dir="${LAMBDARAG_MODEL_DIR:-$repo/data/models}"
mkdir -p "$logs"

log() { echo "bench: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Binaries of template.yaml's functions, in template order, unique.
template_bins() {
    grep -E '^\s+Binary:\s*' template.yaml | awk '{print $2}' | awk '!seen[$0]++'
}
bins=(${BENCH_FUNCTIONS:-$(template_bins)})
# The crate of a binary: functions/<bin>, package fn-<bin>.
package_of() { echo "fn-$1"; }
embeds() {  # does the package enable lambdarag-models' builtin feature?
    grep -A1 -E '^lambdarag-models' "functions/$1/Cargo.toml" | grep -q '"builtin"'
}

bootstrap_of() {
    local bin="$1"
    if [[ -n "${BENCH_BIN_DIR:-}" ]]; then
        for c in "$BENCH_BIN_DIR/$bin/bootstrap" "$BENCH_BIN_DIR/$bin"; do
            [[ -x "$c" && -f "$c" ]] && { echo "$c"; return; }
        done
        return 1
    fi
    for c in "$target_dir/lambda/$bin/bootstrap" "$repo/target/debug/$bin"; do
        [[ -x "$c" && -f "$c" ]] && { echo "$c"; return; }
    done
    return 1
}

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {  # port, pid, what
    local i
    for i in $(seq 1 240); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || die "$3 exited (see $logs)"
        sleep 0.25
    done
    die "$3 did not listen on port $1 within 60 s"
}

pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

emulator_port=""
start_emulator() {
    [[ -n "$emulator_port" ]] && return
    emulator_port="$(free_port)"
    # cargo-lambda's own binary (not `cargo lambda`), so that the PID we stop is the server.
    cargo-lambda lambda watch --only-lambda-apis --ignore-changes --disable-cors \
        -A 127.0.0.1 -P "$emulator_port" >"$logs/watch.log" 2>&1 &
    pids+=($!)
    wait_port "$emulator_port" "$!" "cargo lambda watch"
    log "cargo lambda watch --only-lambda-apis on 127.0.0.1:$emulator_port (pid ${pids[-1]})"
}

bin_args() {
    local bin b out=()
    for bin in "$@"; do
        b="$(bootstrap_of "$bin")" || die "no binary for $bin (run: $0 build)"
        out+=(--bin "$bin=$b")
    done
    echo "${out[@]}"
}

machine() {
    log "machine: $(lscpu | sed -n 's/^Model name:\s*//p' | head -1), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
}

cmd_build() {
    local bin pkg start src="$repo" sha
    if [[ -n "${BENCH_REV:-}" ]]; then
        # A snapshot of one commit, so that every artifact comes from the same sources even
        # while the working tree changes (the registry deps stay cached in the target dir).
        sha="$(git rev-parse --short=12 "$BENCH_REV^{commit}")"
        src="$target_dir/src-$sha"
        if [[ ! -f "$src/Cargo.toml" ]]; then
            mkdir -p "$src"
            git archive "$sha" | tar -x -C "$src"
        fi
        log "building from $sha (git archive into $src)"
    fi
    for bin in "${bins[@]}"; do
        pkg="$(package_of "$bin")"
        log "building $pkg (release, its own features) into $target_dir"
        start=$(date +%s)
        # cargo-lambda 1.9.2 passes --target-dir on to `cargo metadata`, which rejects it:
        # the target dir goes through CARGO_TARGET_DIR instead.
        (cd "$src" && CARGO_TARGET_DIR="$target_dir" nice -n "$nice_n" cargo lambda build --release -p "$pkg")
        log "$pkg: $(( $(date +%s) - start )) s"
    done
}

cmd_sizes() {
    local tmp bin b bytes zbytes glibc heavy tree
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/bench-lambda.XXXXXX")"
    printf '%-13s %-8s %12s %14s %8s %6s  %s\n' function builtin bootstrap "zip -9" GLIBC tree \
        "heavy crates in the binary (candle/gemm/tokenizers/safetensors source paths)"
    for bin in "${bins[@]}"; do
        b="$(bootstrap_of "$bin")" || die "no binary for $bin (run: $0 build)"
        bytes=$(stat -c %s "$b")
        rm -f "$tmp/f.zip"
        (cd "$(dirname "$b")" && zip -q -9 -X "$tmp/f.zip" "$(basename "$b")")
        zbytes=$(stat -c %s "$tmp/f.zip")
        glibc=$(objdump -T "$b" | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -1)
        # Stripped binaries have no symbols; the crates' source paths (panic locations) remain.
        heavy=$(strings -n 8 "$b" | grep -oE '(candle-(core|nn|transformers)|gemm(-[a-z0-9]+)?|tokenizers|safetensors)-[0-9]+\.[0-9]+\.[0-9]+' \
            | sort -u | tr '\n' ' ' || true)
        # And the package's own dependency graph (its features only, as its build resolves them).
        tree=$(cargo tree -p "$(package_of "$bin")" -e normal --prefix none --offline 2>/dev/null \
            | grep -oE '^(candle-[a-z]+|gemm[a-z0-9-]*|tokenizers|safetensors) v' | sort -u | wc -l || true)
        printf '%-13s %-8s %12s %14s %8s %6s  %s\n' "$bin" "$(embeds "$bin" && echo yes || echo no)" \
            "$bytes" "$zbytes" "${glibc#GLIBC_}" "$tree" "${heavy:-none}"
        if [[ "$(printf '%s\n%s\n' "${glibc#GLIBC_}" 2.34 | sort -V | tail -1)" != 2.34 ]]; then
            log "WARNING: $bin needs $glibc, newer than provided.al2023's glibc 2.34"
        fi
        if ! embeds "$bin" && [[ -n "$heavy" ]]; then
            log "WARNING: $bin does not enable the builtin feature but links: $heavy"
        fi
    done
    log "building the model layer (make -C infra/model-layer build-BuiltinModelLayer)"
    make -s -C infra/model-layer build-BuiltinModelLayer ARTIFACTS_DIR="$tmp/layer" >&2
    (cd "$tmp/layer" && zip -q -9 -r -X "$tmp/layer.zip" .)
    printf '%-13s %-8s %12s %14s\n' "model layer" "" "$(du -sb "$tmp/layer" | cut -f1)" "$(stat -c %s "$tmp/layer.zip")"
    log "bytes; tree = candle/gemm/tokenizers/safetensors crates in \`cargo tree -p fn-<bin> -e normal\`"
    rm -rf "$tmp"
}

ensure_model() {
    [[ -d "$model_dir/all-MiniLM-L6-v2" ]] || scripts/fetch-model.sh "$model_dir"
}

cmd_cold() {
    ensure_model
    machine
    start_emulator
    # shellcheck disable=SC2046
    "$py" scripts/bench_lambda_cold_start.py cold --emulator-port "$emulator_port" \
        --runs "$runs" --warm "$warm" --model-dir "$model_dir" --log-dir "$logs" \
        --json "$logs/cold.json" $(bin_args "${bins[@]}")
}

cmd_embed() {
    ensure_model
    local cli="${LAMBDARAG_CLI:-}"
    if [[ -z "$cli" ]]; then
        for c in target/release/lambdarag target/debug/lambdarag; do
            [[ -x "$c" ]] && { cli="$c"; break; }
        done
    fi
    [[ -n "$cli" ]] || die "no lambdarag CLI (cargo build -p lambdarag-server, or set LAMBDARAG_CLI)"
    machine
    local moto_port
    moto_port="$(free_port)"
    "$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$logs/moto.log" 2>&1 &
    pids+=($!)
    wait_port "$moto_port" "$!" "moto"
    log "moto on 127.0.0.1:$moto_port (pid ${pids[-1]})"
    start_emulator
    # shellcheck disable=SC2046
    "$py" scripts/bench_lambda_cold_start.py embed --emulator-port "$emulator_port" \
        --moto-port "$moto_port" --cli "$cli" --runs "$runs" --model-dir "$model_dir" \
        --log-dir "$logs" --json "$logs/embed.json" $(bin_args datasets retrieval)
}

case "${1:-all}" in
    build) cmd_build ;;
    sizes) cmd_sizes ;;
    cold) cmd_cold ;;
    embed) cmd_embed ;;
    all) cmd_sizes; cmd_cold; cmd_embed ;;
    -h|--help) sed -n '2,27p' "$0" ;;
    *) die "unknown command $1 (build, sizes, cold, embed, all)" ;;
esac
