#!/usr/bin/env bash
# Generate a larger mixed folder for `scripts/bench-ingest.sh`:
#   - N markdown files, each a run of PER consecutive abstracts of a BEIR corpus.jsonl (title
#     as a `##` heading, then the text) — default source: BEIR SciFact;
#   - COPIES copies of every parser fixture in shared/ingest/tests/fixtures (PDF, DOCX, PPTX,
#     XLSX, XLS, HTML, EML, CSV, JSON, ...), so every parser is exercised.
#
#   scripts/bench-gen-corpus.sh OUT_DIR [N_MARKDOWN=200] [COPIES=20] [PER=10]
#   CORPUS=/path/to/corpus.jsonl scripts/bench-gen-corpus.sh /tmp/bench-corpus
# Needs python3. Deterministic: the same inputs give the same files.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ $# -ge 1 ]] || { echo "usage: scripts/bench-gen-corpus.sh OUT_DIR [N_MARKDOWN] [COPIES] [PER]" >&2; exit 2; }
out="$1"; n="${2:-200}"; copies="${3:-20}"; per="${4:-10}"
corpus="${CORPUS:-../shared/bench-data/scifact/corpus.jsonl}"
[[ -f "$corpus" ]] || { echo "bench-gen-corpus: no corpus at $corpus (set CORPUS)" >&2; exit 1; }
mkdir -p "$out"
python3 - "$corpus" "$out" "$n" "$per" <<'PY'
import json, sys, os
corpus, out, n, per = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
docs = [json.loads(l) for l in open(corpus, encoding="utf-8") if l.strip()]
for i in range(n):
    part = [docs[(i * per + j) % len(docs)] for j in range(per)]
    with open(os.path.join(out, f"abstracts-{i:04d}.md"), "w", encoding="utf-8") as f:
        f.write(f"# Abstracts, part {i + 1}\n\n")
        for d in part:
            f.write(f"## {d.get('title') or d['_id']}\n\n{d.get('text', '')}\n\n")
PY
fixtures=shared/ingest/tests/fixtures
for ((c = 0; c < copies; c++)); do
  for f in "$fixtures"/*; do
    b="$(basename "$f")"
    [[ "$b" == README.md ]] && continue
    cp "$f" "$out/copy$(printf %02d "$c")-$b"
  done
done
echo "bench-gen-corpus: $(find "$out" -type f | wc -l) files, $(du -sh "$out" | cut -f1) in $out" >&2
