#!/usr/bin/env python3
"""Writes docs/routes.md: every /api/v1 route of both contract generations, and whether
lambdarag serves it.

    scripts/route-table.py [--reference DIR] [--openapi FILE_OR_URL] [--out docs/routes.md]

Inputs:
- the pinned contract's endpoint tables (DIR/endpoints.md, RAGFlow 80a16e71) and the
  v0.27.0 route tables (DIR/v027-delta.md §1); DIR defaults to ../shared/reference beside
  the checkout, which a fresh clone does not have: the generated table is committed;
- what lambdarag serves: its OpenAPI document (a file, or a running server's
  /api/v1/openapi.json). tests/e2e/tests/route_table.rs checks the committed table's
  "served" column against the document, which is itself checked against the router.

Paths are compared with their parameter names erased (`{id}` = `{dataset_id}`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD")
# Planned by an open issue rather than forgotten (shown in the "lambdarag" column).
PLANNED = [
    # FL10 serves agent attachments (v0.27 moved it under /agents/attachments); agents take
    # no file inputs yet.
    (re.compile(r"^/(file/download/|agents/attachments/)"), "agent file inputs (issue 12 follow-up)"),
    (re.compile(r"^/(memories|messages|files?|searches|searchbots|system|chat/|openai/|documents/)"), "issue 10"),
    (re.compile(r"/(knowledge_graph|run_graphrag|trace_graphrag|run_raptor|trace_raptor|graph)$"), "issue 11"),
]
OUT_OF_SCOPE = [
    (re.compile(r"^/(webhook|webhook_test|webhook_trace)/|^/agents/[^/]+/webhook"), "agent webhooks (issue 12 leaves them out)"),
    (re.compile(r"^/agents/(templates|prompts|tags|download)$|^/agents/[^/]+/(tags|upload|versions|logs|reset|rerun|components)|^/agents/test_db_connection"),
     "canvas-editor support, unused by the SDKs"),
    (re.compile(r"^/(chatbots|agentbots|searchbots)/"), "beta share tokens (web UI embeds)"),
    (re.compile(r"^/datasets/[^/]+/index(\?|$)"),
     "v0.27's generic index routes; graph and RAPTOR are served by run_graphrag / run_raptor and their trace and graph routes"),
    (re.compile(r"^/datasets/[^/]+/documents/[^/]+/structure/graph$"), "v0.27's per-document structure graphs (web UI)"),
    (re.compile(r"^/documents/artifact/"), "files an agent's code sandbox wrote; lambdarag runs no code sandbox"),
]


def norm(path: str) -> str:
    path = path.split("?", 1)[0].strip()
    if path.startswith("/api/v1"):
        path = path[len("/api/v1"):]
    # `{memory_id}:{message_id}` is one path segment: lambdarag routes it as one parameter.
    return re.sub(r"\{[^}]*\}", "{}", path.rstrip("/") or "/").replace("{}:{}", "{}")


def split_methods(text: str) -> list[str]:
    return [m for m in text.split("/") if m in METHODS]


def pinned_routes(endpoints: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(method, normalised path) -> (contract id, path as written)."""
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for m in re.finditer(r"^\| ([A-Z]+[0-9]+) \| ([A-Z/]+) (/[^ |]+)", endpoints, re.M):
        rid, methods, path = m.groups()
        for method in split_methods(methods):
            out.setdefault((method, norm(path)), (rid, path))
    return out


def v027_routes(delta: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(method, normalised path) -> (status, path as written), from §1's tables."""
    section = delta.split("## 1. Route table", 1)[1].split("\n## 2.", 1)[0]
    out: dict[tuple[str, str], tuple[str, str]] = {}
    table_paths: list[str] = []
    for line in section.splitlines():
        if line.startswith("### "):
            table_paths = []
        if not line.startswith("| ") or line.startswith("| Method") or line.startswith("|---"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) < 2:
            continue
        status = cells[1].split("(")[0].strip().rstrip(",") or "?"
        if len(cells) == 2:  # the searches table has no status column
            status = "new"
        method: list[str] = []
        base = ""
        seen = table_paths
        # "GET /a, GET /b", "POST /a, /b" (method carried over), "/x, /y" (files compat rows)
        # "POST /a/x and /y": two sibling paths (the searches table's completion row).
        first_cell = re.sub(r"^([A-Z/]+ /\S+) and (/\S+)", r"\1, \2", cells[0])
        for part in re.split(r"[,;]\s*", first_cell):
            part = part.strip().strip("`")
            head = part.split(" ", 1)
            if len(head) == 2 and split_methods(head[0]):
                method, path = split_methods(head[0]), head[1]
            else:
                path = part
            path = path.split(" ", 1)[0]
            if path.startswith("…/"):
                path = resolve_ellipsis(path[1:], seen)
            if not path.startswith("/") or "…" in path:
                continue
            seen.append(path)
            if not method:
                # A row naming paths only (the files compat row): methods are resolved in
                # `main` from the pinned table, else what is served, else GET.
                method = ["*"] if not base else method
            if path.startswith("/") and base and not path.startswith("/api") and path not in TOP_LEVEL and path.count("/") == 1 and "{" not in path and base.count("/") > 1:
                # "/run_raptor" after "/datasets/{id}/run_graphrag": a sibling of the previous path
                path = base.rsplit("/", 1)[0] + path
            base = path
            for alt in expand(path):
                for m in method:
                    out.setdefault((m, norm(alt)), (status, alt))
    return out


# One-segment paths the delta lists after a longer one that are routes of their own, not
# siblings of it (`/documents/artifact/{name}, /thumbnails` is upstream's GET /thumbnails).
TOP_LEVEL = {"/thumbnails"}


def resolve_ellipsis(rest: str, earlier: list[str]) -> str:
    """`…/chunks/{chunk_id}` abbreviates a path of the same table: take the prefix of the
    latest earlier path that has the same first segment."""
    first = "/" + rest.strip("/").split("/", 1)[0]
    for p in reversed(earlier):
        if first in p:
            return p[: p.index(first)] + rest
    return "…" + rest


def removed_routes(delta: str) -> set[tuple[str, str]]:
    """Old routes §3 says are no longer served upstream ("**no**")."""
    section = delta.split("## 3. Removed", 1)[1].split("\n## 4.", 1)[0]
    out = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) < 3 or not cells[2].startswith("**no**"):
            continue
        for part in re.split(r",\s*", cells[0]):
            head = part.strip().split(" ", 1)
            if len(head) == 2:
                for m in split_methods(head[0]):
                    out.add((m, norm(head[1])))
            elif part.strip().startswith("/"):
                for m in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                    out.add((m, norm(part.strip())))
    return out


def expand(path: str) -> list[str]:
    """`/a/{id}[/…]` style optional tails and `|` alternatives are rare; `\\|` in a query is
    dropped with the query."""
    return [path.replace("[/…]", "")]


def served_ops(source: str) -> dict[tuple[str, str], str]:
    if source.startswith("http://") or source.startswith("https://"):
        with urllib.request.urlopen(source, timeout=10) as r:
            doc = json.load(r)
    else:
        doc = json.loads(Path(source).read_text())
    ops = {}
    for path, item in doc["paths"].items():
        for method in item:
            if method.upper() in METHODS:
                ops[(method.upper(), norm(path))] = path.removeprefix("/api/v1")
    return ops


# Served, but only with the contract's "not implemented" answer until their issue lands.
STUBS: list[tuple[re.Pattern, str]] = []


def note_for(path: str, served: bool) -> str:
    if served:
        for pattern, issue in STUBS:
            if pattern.search(path):
                return f"answers \"not implemented\" ({issue})"
        return "yes"
    for pattern, why in OUT_OF_SCOPE:
        if pattern.search(path):
            return f"no: out of scope ({why})"
    for pattern, issue in PLANNED:
        if pattern.search(path):
            return f"no: {issue}"
    return "no"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", default=str(REPO.parent / "shared" / "reference"))
    ap.add_argument("--openapi", default="http://127.0.0.1:9380/api/v1/openapi.json")
    ap.add_argument("--out", default=str(REPO / "docs" / "routes.md"))
    args = ap.parse_args()
    ref = Path(args.reference)
    pinned = pinned_routes((ref / "endpoints.md").read_text())
    current = v027_routes((ref / "v027-delta.md").read_text())
    served = served_ops(args.openapi)
    removed = removed_routes((ref / "v027-delta.md").read_text())
    for (method, path), value in list(current.items()):
        if method != "*":
            continue
        del current[(method, path)]
        known = [m for (m, p) in pinned if p == path] or [m for (m, p) in served if p == path] or ["GET"]
        for m in known:
            current.setdefault((m, path), value)

    keys = sorted(set(pinned) | set(current) | set(served), key=lambda k: (k[1], METHODS.index(k[0])))
    rows = []
    for method, path in keys:
        p = pinned.get((method, path))
        c = current.get((method, path))
        shown = (p or c or ("", served.get((method, path), path)))[1]
        gen_pinned = p[0] if p else "–"
        if c:
            gen_current = c[0]
        elif p is None:
            gen_current = "–"
        else:
            gen_current = "removed" if (method, path) in removed else "(not listed)"
        # `/v1/...`: upstream's aliases outside /api/v1 (e.g. /v1/system/healthz).
        full = shown if shown.startswith("/v1/") else f"/api/v1{shown}"
        note = note_for(path, (method, path) in served)
        if note == "no" and p is None and "removed" in gen_current:
            note = "no: gone upstream too"
        rows.append(f"| {method} | `{full}` | {gen_pinned} | {gen_current} | {note} |")
    counts = (sum((k in served) for k in pinned), len(pinned),
              sum((k in served) for k in current), len(current))
    text = f"""# Routes of both contract generations

Generated by `scripts/route-table.py` from the pinned contract (RAGFlow 80a16e71 /
ragflow-sdk 0.23.1, ids as in the contract's endpoint tables), RAGFlow v0.27.0's routes
(status as in the v0.27 delta: *same*, *changed*, *new*, *compat* = old path kept upstream
as a forwarder, *removed* = gone upstream) and lambdarag's OpenAPI document (the "lambdarag"
column; `tests/e2e/tests/route_table.rs` fails when it disagrees with what is served). Paths
are matched with parameter names ignored. "no: issue N" = planned in that issue; "(not listed)" =
a pinned route the v0.27 delta gives no row of its own (usually unchanged, or folded into a
group row such as the file-manager compat aliases).

Served: {counts[0]} of the {counts[1]} pinned routes, {counts[2]} of the {counts[3]} v0.27.0 routes.

| Method | Path | Pinned | v0.27.0 | lambdarag |
|---|---|---|---|---|
""" + "\n".join(rows) + "\n"
    Path(args.out).write_text(text)
    print(f"route-table: {len(rows)} routes written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
