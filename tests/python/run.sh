#!/usr/bin/env bash
# Runs the Python conformance suite (tests/python) against a prebuilt lambdarag binary.
#
#   tests/python/run.sh [pytest args...]
#
# Env:
#   LAMBDARAG_BIN  server binary (default: $REPO/target/debug/lambdarag); build it first,
#                  e.g. `cargo build -p lambdarag-server`. This script never builds it.
#   LAMBDARAG_SDK  which ragflow-sdk generation drives the suite: 0.23 (default, the pinned
#                  contract's client, requirements.txt, venv .venv) or 0.26 (RAGFlow v0.27's
#                  client, requirements-sdk026.txt, venv .venv-sdk026)
#   VENV           virtualenv to use/create (default: per LAMBDARAG_SDK above)
#   REQS           requirements file to install (default: per LAMBDARAG_SDK above)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
case "${LAMBDARAG_SDK:-0.23}" in
    0.23 | 0.23.1) default_venv="$REPO/.venv" default_reqs="$REPO/tests/python/requirements.txt" ;;
    0.26 | 0.26.0) default_venv="$REPO/.venv-sdk026" default_reqs="$REPO/tests/python/requirements-sdk026.txt" ;;
    *)
        echo "run.sh: LAMBDARAG_SDK must be 0.23 or 0.26, not '${LAMBDARAG_SDK}'" >&2
        exit 2
        ;;
esac
VENV="${VENV:-$default_venv}"
REQS="${REQS:-$default_reqs}"
export LAMBDARAG_BIN="${LAMBDARAG_BIN:-$REPO/target/debug/lambdarag}"

if [[ ! -x "$LAMBDARAG_BIN" ]]; then
    echo "run.sh: server binary not found or not executable: $LAMBDARAG_BIN" >&2
    echo "run.sh: build it first (cargo build -p lambdarag-server) or set LAMBDARAG_BIN" >&2
    exit 2
fi

find_python() {
    local py
    # pyenv-managed 3.12.1 first (pyenv shims honour PYENV_VERSION), then any python3.12.
    if py="$(PYENV_VERSION=3.12.1 command -v python3.12 2>/dev/null)" \
        && PYENV_VERSION=3.12.1 "$py" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
        echo "PYENV_VERSION=3.12.1 $py"
        return 0
    fi
    local pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
    for py in python3.12 "$pyenv_root"/versions/3.12.1/bin/python3.12 "$pyenv_root"/versions/3.12*/bin/python3.12 \
        /usr/local/bin/python3.12 /usr/bin/python3.12; do
        if command -v "$py" >/dev/null 2>&1 \
            && "$py" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
            echo "$(command -v "$py")"
            return 0
        fi
    done
    return 1
}

if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
    if ! PY="$(find_python)"; then
        echo "run.sh: Python 3.12 is required (ragflow-sdk needs >=3.12) but no python3.12 was found." >&2
        echo "run.sh: install it (e.g. 'pyenv install 3.12.1' or your distribution's python3.12 + venv package)." >&2
        exit 2
    fi
    echo "run.sh: creating virtualenv $VENV with $PY" >&2
    rm -rf "$VENV"
    env $PY -m venv "$VENV"
fi

# Install the requirements unless they are already satisfied (a stamp keyed on the file's
# content avoids calling pip at all on repeated runs).
STAMP="$VENV/.lambdarag-requirements.sha256"
WANT="$(sha256sum "$REQS" | cut -d' ' -f1)"
if [[ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ]]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS"
    echo "$WANT" > "$STAMP"
fi

cd "$REPO"
exec "$VENV/bin/python" -m pytest tests/python -q "$@"
