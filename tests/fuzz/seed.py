"""Seed a tenant through the API, and snapshot a tenant's data through the API.

    seed.py seed URL KEY OUT.json      dataset + parsed document (with chunks) + chat + session + agent;
                                       writes their ids to OUT.json
    seed.py snapshot URL KEY OUT.json  everything the tenant can read, as canonical JSON

Used by tests/fuzz/run.sh: tenant B is seeded and snapshotted before the fuzz run and
snapshotted again after it; the two snapshots must be equal.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time

import requests

TEXT = (
    "Lambdarag keeps datasets of documents. Each document is parsed into chunks.\n\n"
    "A chunk is a passage of text with an embedding vector, searched by retrieval.\n\n"
    "Chat assistants answer questions from the chunks of their datasets.\n"
)


class Api:
    def __init__(self, url: str, key: str):
        self.url = url.rstrip("/") + "/api/v1"
        self.s = requests.Session()
        self.s.headers["Authorization"] = f"Bearer {key}"

    def call(self, method: str, path: str, **kw):
        r = self.s.request(method, self.url + path, timeout=60, **kw)
        r.raise_for_status()
        return r

    def ok(self, method: str, path: str, **kw):
        body = self.call(method, path, **kw).json()
        if body.get("code") != 0:
            raise SystemExit(f"seed: {method} {path} -> {body}")
        return body.get("data")


def seed(api: Api, name: str) -> dict:
    ds = api.ok("POST", "/datasets", json={"name": f"fuzz-{name}"})
    files = {"file": ("notes.txt", TEXT.encode(), "text/plain")}
    doc = api.ok("POST", f"/datasets/{ds['id']}/documents", files=files)[0]
    api.ok("POST", f"/datasets/{ds['id']}/chunks", json={"document_ids": [doc["id"]]})
    deadline = time.monotonic() + 120
    while True:
        docs = api.ok("GET", f"/datasets/{ds['id']}/documents", params={"id": doc["id"]})["docs"]
        if docs and docs[0]["run"] == "DONE":
            break
        if docs and docs[0]["run"] == "FAIL" or time.monotonic() > deadline:
            raise SystemExit(f"seed: parsing did not finish: {docs}")
        time.sleep(0.3)
    chunks = api.ok("GET", f"/datasets/{ds['id']}/documents/{doc['id']}/chunks")["chunks"]
    chat = api.ok("POST", "/chats", json={"name": f"fuzz-chat-{name}", "dataset_ids": [ds["id"]]})
    session = api.ok("POST", f"/chats/{chat['id']}/sessions", json={"name": "fuzz session"})
    # One turn, so the session has messages and references.
    api.call("POST", f"/chats/{chat['id']}/completions",
             json={"question": "What is a chunk?", "session_id": session["id"], "stream": False})
    search = api.ok("POST", "/searches", json={"name": f"fuzz-search-{name}",
                                               "search_config": {"kb_ids": [ds["id"]]}})
    # An agent over the dataset, with a session that has run one turn.
    agent_title = f"fuzz-agent-{name}"
    dsl = {"components": {
        "begin": {"obj": {"component_name": "Begin", "params": {"prologue": "hi"}},
                  "downstream": ["Retrieval:R"], "upstream": []},
        "Retrieval:R": {"obj": {"component_name": "Retrieval", "params": {"kb_ids": [ds["id"]]}},
                        "downstream": ["Message:M"], "upstream": ["begin"]},
        "Message:M": {"obj": {"component_name": "Message", "params": {"content": ["{Retrieval:R@formalized_content}"]}},
                      "downstream": [], "upstream": ["Retrieval:R"]},
    }}
    api.ok("POST", "/agents", json={"title": agent_title, "dsl": dsl})
    agent = api.ok("GET", "/agents", params={"title": agent_title})[0]
    agent_session = api.ok("POST", f"/agents/{agent['id']}/sessions")
    api.call("POST", f"/agents/{agent['id']}/completions",
             json={"question": "What is a chunk?", "session_id": agent_session["id"], "stream": False})
    return {
        "agent_id": agent["id"],
        "agent_session_id": agent_session["id"],
        "search_id": search["search_id"],
        "dataset_id": ds["id"],
        "document_id": doc["id"],
        "chunk_id": chunks[0]["id"] if chunks else "",
        "chat_id": chat["id"],
        "session_id": session["id"],
    }


def snapshot(api: Api) -> dict:
    out: dict = {"datasets": [], "chats": []}
    datasets = api.ok("GET", "/datasets", params={"page_size": 1000})
    for ds in datasets:
        docs = api.ok("GET", f"/datasets/{ds['id']}/documents", params={"page_size": 1000})["docs"]
        entry = {"dataset": ds, "documents": []}
        for d in docs:
            chunks = api.ok("GET", f"/datasets/{ds['id']}/documents/{d['id']}/chunks",
                            params={"page_size": 1000})["chunks"]
            blob = api.call("GET", f"/datasets/{ds['id']}/documents/{d['id']}").content
            entry["documents"].append({
                "document": d,
                "chunks": chunks,
                "file_sha256": hashlib.sha256(blob).hexdigest(),
            })
        out["datasets"].append(entry)
    for chat in api.ok("GET", "/chats", params={"page_size": 1000}):
        sessions = api.ok("GET", f"/chats/{chat['id']}/sessions", params={"page_size": 1000})
        out["chats"].append({"chat": chat, "sessions": sessions})
    # Search apps (listing, then each in full: its search_config is only in the detail).
    for app in api.ok("GET", "/searches")["search_apps"]:
        out.setdefault("searches", []).append(api.ok("GET", f"/searches/{app['id']}"))
    for agent in api.ok("GET", "/agents", params={"page_size": 1000}):
        sessions = api.ok("GET", f"/agents/{agent['id']}/sessions", params={"page_size": 1000})
        out.setdefault("agents", []).append({"agent": agent, "sessions": sessions})
    return out


def main() -> None:
    cmd, url, key, path = sys.argv[1:5]
    api = Api(url, key)
    data = seed(api, path.rsplit("/", 1)[-1].split(".")[0]) if cmd == "seed" else snapshot(api)
    with open(path, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
