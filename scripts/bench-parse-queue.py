#!/usr/bin/env python3
"""How long one parse request (F6) takes to queue N documents, against a running
deployment (the embedded server, or the local AWS stack: `eval "$(scripts/local-aws.sh up)"`).

    LAMBDARAG_BASE_URL=... LAMBDARAG_API_KEY=... scripts/bench-parse-queue.py [N]

Uploads N one-line documents to a new dataset (50 per request), then times the single
`POST /datasets/{id}/chunks` that queues them all. On AWS that request must finish within
API Gateway's 30 s. Needs `requests` (tests/python's venv has it).
"""

import os
import sys
import time

import requests

n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
base = os.environ.get("LAMBDARAG_BASE_URL", "http://127.0.0.1:9380").rstrip("/") + "/api/v1"
headers = {"Authorization": "Bearer " + os.environ["LAMBDARAG_API_KEY"]}
ds = requests.post(f"{base}/datasets", json={"name": f"bench-parse-queue-{time.time():.0f}"}, headers=headers).json()["data"]
ids = []
for start in range(0, n, 50):
    files = [("file", (f"d{i}.txt", f"document {i} about item {i}".encode())) for i in range(start, min(n, start + 50))]
    ids += [d["id"] for d in requests.post(f"{base}/datasets/{ds['id']}/documents", files=files, headers=headers).json()["data"]]
began = time.time()
reply = requests.post(f"{base}/datasets/{ds['id']}/chunks", json={"document_ids": ids}, headers=headers, timeout=300)
took = time.time() - began
print(f"queued {len(ids)} documents in one parse request: HTTP {reply.status_code} {reply.text[:60]} in {took:.2f} s "
      f"({1000 * took / max(1, len(ids)):.1f} ms per document)")
requests.delete(f"{base}/datasets", json={"ids": [ds["id"]]}, headers=headers)
