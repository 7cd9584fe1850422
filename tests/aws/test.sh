#!/usr/bin/env bash
# Run the AWS adapter tests against a local moto: DynamoDB, S3 and SQS conformance, the
# OpenSearch request tests (a stub server; the conformance suite too when OPENSEARCH_URL is
# set), the datasets Lambda events, and the parse-worker and s3-ingest functions.
# Starts moto if none answers on MOTO_PORT (default 5000) and stops it afterwards only if it
# started it. Extra arguments go to `cargo test`.
#
#   tests/aws/test.sh
#   tests/aws/test.sh -- --nocapture
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
moto="$repo/tests/aws/moto.sh"

started=0
if ! "$moto" status >/dev/null 2>&1; then
    started=1
fi
eval "$("$moto" start)"
if [[ $started == 1 ]]; then
    trap '"$moto" stop' EXIT
fi

cd "$repo"
LAMBDARAG_REQUIRE_MOTO=1 cargo test -p lambdarag-aws -p fn-parse-worker -p fn-s3-ingest "$@"
