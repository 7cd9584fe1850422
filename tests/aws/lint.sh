#!/usr/bin/env bash
# Lint the SAM template: cfn-lint (CloudFormation schemas + SAM transform) and, with
# --sam, also `sam validate --lint`. Installs the tools into a venv on first use. Offline
# once installed; no AWS credentials needed.
#
#   tests/aws/lint.sh          # cfn-lint template.yaml (about 2 s)
#   tests/aws/lint.sh --sam    # plus sam validate --lint (installs aws-sam-cli, ~70 s once)
#
# Environment: LAMBDARAG_TOOLS_VENV (default <repo>/.venv-tools). Exit status is non-zero on
# any error or warning.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${LAMBDARAG_TOOLS_VENV:-$repo/.venv-tools}"
template="$repo/template.yaml"

log() { echo "lint.sh: $*" >&2; }

ensure() { # ensure <executable> <pip package>
    if [[ ! -x "$venv/bin/$1" ]]; then
        log "installing $2 into $venv"
        [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet "$2" >&2
    fi
}

ensure cfn-lint cfn-lint
log "cfn-lint $template"
"$venv/bin/cfn-lint" --include-checks I -- "$template"

if [[ "${1:-}" == "--sam" ]]; then
    ensure sam aws-sam-cli
    log "sam validate --lint"
    SAM_CLI_TELEMETRY=0 "$venv/bin/sam" validate --lint --region us-east-1 --template-file "$template"
fi
log "ok"
