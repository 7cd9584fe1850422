"""Bulk ingestion from a terminal (`lambdarag ingest <folder> --dataset NAME`, through the HTTP
API, so it runs against either deployment) and the embedded server's watched folder
(`lambdarag serve --watch-dir DIR`, embedded only: see deployments.NOT_ON_AWS)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from conftest import BIN, Api, ServerProcess, _child_env, create_tenant, free_port

PARSE_TIMEOUT = 300


def ingest(base_url: str, api_key: str, folder: Path, dataset: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN), "ingest", str(folder), "--dataset", dataset, "--base-url", base_url, "--api-key", api_key,
         "--poll-ms", "200", *extra],
        capture_output=True, text=True, env=_child_env(), timeout=PARSE_TIMEOUT,
    )


def summary_of(proc: subprocess.CompletedProcess) -> dict:
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"no JSON summary (exit {proc.returncode})\nstdout: {proc.stdout}\nstderr: {proc.stderr}")


def make_folder(root: Path, n: int = 20) -> list[str]:
    """n small text files, a quarter of them nested; returns the expected document names."""
    names = []
    for i in range(n):
        rel = Path(f"sub/deeper/note{i:02}.txt") if i % 4 == 0 else Path(f"note{i:02}.txt")
        if i == 1:
            # Non-ASCII and a quote, which a multipart filename carries as %22.
            rel = Path('笔记 "01".txt')
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"Note {i} is about topic {i}: rivers, bees and solar panels. " * (1 + i % 3))
        names.append("__".join(rel.parts).replace('"', "%22"))
    (root / ".hidden.txt").write_text("never ingested")
    return sorted(names)


def dataset_docs(api: Api, name: str) -> list[dict]:
    res = api.get("/datasets", params={"name": name}).json()
    assert res["code"] == 0, res
    ds_id = res["data"][0]["id"]
    docs = api.get(f"/datasets/{ds_id}/documents", params={"page_size": 1000}).json()
    assert docs["code"] == 0, docs
    return docs["data"]["docs"]


def test_a_folder_is_uploaded_and_parsed_with_a_summary(tmp_path, base_url, api_key, api):
    names = make_folder(tmp_path / "corpus")
    first = ingest(base_url, api_key, tmp_path / "corpus", "ingest-cli", "--json")
    assert first.returncode == 0, first.stderr
    s = summary_of(first)
    assert s["created_dataset"] is True and s["chunk_method"] == "naive"
    assert (s["files"], s["uploaded"], s["already_uploaded"], s["done"], s["failed"]) == (20, 20, 0, 20, 0)
    assert s["chunks"] >= 20 and s["tokens"] > 0
    # Progress lines for a log when stderr is not a terminal.
    assert "upload: 20/20" in first.stderr and "parse: 20/20" in first.stderr
    docs = dataset_docs(api, "ingest-cli")
    assert sorted(d["name"] for d in docs) == names
    assert {d["run"] for d in docs} == {"DONE"}

    # A second run finds everything done: nothing uploaded or parsed again.
    again = ingest(base_url, api_key, tmp_path / "corpus", "ingest-cli")
    assert again.returncode == 0, again.stderr
    assert "20 found: 0 uploaded, 20 already uploaded, 0 failed" in again.stdout
    assert "20 DONE (20 before this run, 0 parses started)" in again.stdout
    assert len(dataset_docs(api, "ingest-cli")) == 20


def test_an_existing_dataset_with_another_chunk_method_is_reported(tmp_path, base_url, api_key, api):
    assert api.post("/datasets", json={"name": "ingest-one", "chunk_method": "one"}).json()["code"] == 0
    (tmp_path / "a.txt").write_text("One file, one chunk.")
    proc = ingest(base_url, api_key, tmp_path, "ingest-one", "--chunk-method", "book")
    assert proc.returncode == 0, proc.stderr
    assert "exists with chunk method one; --chunk-method book applies to new datasets only" in proc.stderr
    assert "chunk method one" in proc.stdout


def test_a_killed_ingest_resumes_without_duplicates(tmp_path, base_url, api_key, api):
    names = make_folder(tmp_path / "corpus")
    cmd = [str(BIN), "ingest", str(tmp_path / "corpus"), "--dataset", "ingest-kill", "--base-url", base_url,
           "--api-key", api_key, "--batch-files", "1", "--poll-ms", "200", "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_child_env())
    seen = 0
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            res = api.get("/datasets", params={"name": "ingest-kill"}).json()
            if res["code"] == 0:
                docs = api.get(f"/datasets/{res['data'][0]['id']}/documents", params={"page_size": 1000}).json()
                seen = docs["data"]["total"]
                if seen >= 3:
                    break
            time.sleep(0.01)
    finally:
        proc.kill()  # SIGKILL: no chance to clean up
        proc.wait(timeout=30)
    assert seen >= 1, "the ingest was killed before it uploaded anything"

    rerun = ingest(base_url, api_key, tmp_path / "corpus", "ingest-kill", "--json")
    assert rerun.returncode == 0, rerun.stderr
    s = summary_of(rerun)
    assert s["already_uploaded"] >= seen
    assert s["already_uploaded"] + s["uploaded"] == 20 and s["done"] == 20 and s["failed"] == 0
    docs = dataset_docs(api, "ingest-kill")
    assert sorted(d["name"] for d in docs) == names, "duplicates or missing documents after the resume"
    assert {d["run"] for d in docs} == {"DONE"}


def test_resume_adopts_uploads_whose_reply_was_lost(tmp_path, base_url, api_key, api):
    """The state a killed run can leave: an upload the server stored but whose reply never
    reached the CLI (never parsed), one renamed `(1)` because an unrelated document held the
    name, and one already DONE. The rerun uploads only the rest and parses what is not DONE."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for n in ("a.txt", "b.txt", "c.txt", "d.txt"):
        (folder / n).write_text(f"This is {n}, a file about rivers and bees.")
    ds = api.post("/datasets", json={"name": "ingest-lost"}).json()["data"]

    def upload(name: str, content: bytes) -> dict:
        res = api.post(f"/datasets/{ds['id']}/documents", files=[("file", (name, content))]).json()
        assert res["code"] == 0, res
        return res["data"][0]

    unrelated = upload("b.txt", b"another, older b.txt of another size")
    lost = upload("a.txt", (folder / "a.txt").read_bytes())
    renamed = upload("b.txt", (folder / "b.txt").read_bytes())
    assert renamed["name"] == "b(1).txt"
    done = upload("c.txt", (folder / "c.txt").read_bytes())
    api.post(f"/datasets/{ds['id']}/chunks", json={"document_ids": [done["id"]]})
    deadline = time.monotonic() + PARSE_TIMEOUT
    while next(d for d in dataset_docs(api, "ingest-lost") if d["id"] == done["id"])["run"] != "DONE":
        assert time.monotonic() < deadline
        time.sleep(0.2)

    s = summary_of(ingest(base_url, api_key, folder, "ingest-lost", "--json"))
    assert (s["uploaded"], s["already_uploaded"], s["already_done"], s["parse_started"]) == (1, 3, 1, 3)
    assert (s["done"], s["failed"]) == (4, 0)
    docs = {d["name"]: d for d in dataset_docs(api, "ingest-lost")}
    assert sorted(docs) == ["a.txt", "b(1).txt", "b.txt", "c.txt", "d.txt"]
    assert docs["a.txt"]["id"] == lost["id"] and docs["b(1).txt"]["id"] == renamed["id"]
    assert docs["b.txt"]["id"] == unrelated["id"] and docs["b.txt"]["run"] == "UNSTART"
    assert all(docs[n]["run"] == "DONE" for n in ("a.txt", "b(1).txt", "c.txt", "d.txt"))


def test_failed_files_are_reported_with_reasons_and_a_nonzero_exit(tmp_path, base_url, api_key):
    (tmp_path / "good.txt").write_text("A perfectly fine file about rivers.")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "tool.exe").write_bytes(b"MZ")
    (tmp_path / "broken.pdf").write_text("this is not a PDF")
    proc = ingest(base_url, api_key, tmp_path, "ingest-failures")
    assert proc.returncode != 0
    assert "3 of 4 files failed" in proc.stderr
    out = proc.stdout
    assert "1 DONE" in out and "failures  3" in out
    assert "empty.txt: the file is empty" in out
    assert "tool.exe: This type of file has not been supported yet!" in out
    assert "broken.pdf: parse failed:" in out


# ----------------------------------------------------------------------------------------
# The watched folder (embedded server only).
# ----------------------------------------------------------------------------------------


def wait_docs(api: Api, dataset: str, expect: int, timeout: float = PARSE_TIMEOUT) -> dict[str, dict]:
    """The dataset's documents once there are `expect` of them, all DONE."""
    deadline = time.monotonic() + timeout
    docs: list[dict] = []
    while time.monotonic() < deadline:
        res = api.get("/datasets", params={"name": dataset}).json()
        if res["code"] == 0:
            docs = api.get(f"/datasets/{res['data'][0]['id']}/documents", params={"page_size": 100}).json()["data"]["docs"]
            if len(docs) == expect and all(d["run"] == "DONE" for d in docs):
                return {d["name"]: d for d in docs}
            assert len(docs) <= expect, f"more documents than files: {[d['name'] for d in docs]}"
        time.sleep(0.2)
    raise AssertionError(f"{dataset}: expected {expect} DONE documents, have {[(d['name'], d['run']) for d in docs]}")


def test_watched_folder_files_become_documents_once_across_restarts(tmp_path):
    data_dir = tmp_path / "data"
    watch = tmp_path / "watch"
    tenant = create_tenant(data_dir, "watcher")
    api = Api("", tenant.api_key)
    args = ["--watch-dir", str(watch), "--watch-interval-ms", "200"]
    server = ServerProcess(data_dir=data_dir, port=free_port(), log_path=tmp_path / "server.log", serve_args=args)
    server.start()
    try:
        api.base_url = server.base_url
        (watch / "kb" / "sub").mkdir(parents=True)
        (watch / "kb" / "a.txt").write_text("Alpha talks about rivers.")
        (watch / "kb" / "sub" / "b.md").write_text("# Beta\n\nBeta talks about bees.")
        (watch / "kb" / ".a.txt.swp").write_text("an editor's temporary file")
        (watch / "kb" / "tool.exe").write_bytes(b"MZ")
        docs = wait_docs(api, "kb", 2)
        assert sorted(docs) == ["a.txt", "b.md"]

        # A crash and a restart: nothing is ingested twice.
        server.kill()
        server.start()
        time.sleep(1.5)
        docs_after = wait_docs(api, "kb", 2)
        assert {n: d["id"] for n, d in docs_after.items()} == {n: d["id"] for n, d in docs.items()}

        # A file added after the restart is ingested; a changed file replaces its document.
        (watch / "kb" / "c.txt").write_text("Gamma talks about solar panels.")
        (watch / "kb" / "a.txt").write_text("Alpha, second version, talks about rivers and lakes.")
        deadline = time.monotonic() + PARSE_TIMEOUT
        while True:
            docs = wait_docs(api, "kb", 3)
            if docs["a.txt"]["id"] != docs_after["a.txt"]["id"]:
                break
            assert time.monotonic() < deadline, "the changed file did not replace its document"
            time.sleep(0.2)
        assert sorted(docs) == ["a.txt", "b.md", "c.txt"]
        assert docs["a.txt"]["size"] == len("Alpha, second version, talks about rivers and lakes.")
        assert docs["b.md"]["id"] == docs_after["b.md"]["id"]
    finally:
        server.stop()


def test_watched_folder_names_a_dataset_by_id(tmp_path):
    data_dir = tmp_path / "data"
    watch = tmp_path / "watch"
    tenant = create_tenant(data_dir, "watcher-id")
    server = ServerProcess(data_dir=data_dir, port=free_port(), log_path=tmp_path / "server.log",
                           serve_args=["--watch-dir", str(watch), "--watch-interval-ms", "200"])
    server.start()
    try:
        api = Api(server.base_url, tenant.api_key)
        ds = api.post("/datasets", json={"name": "named-by-id"}).json()["data"]
        (watch / ds["id"]).mkdir(parents=True)
        (watch / ds["id"] / "x.txt").write_text("Put under the dataset's id.")
        docs = wait_docs(api, "named-by-id", 1)
        assert list(docs) == ["x.txt"]
    finally:
        server.stop()
