"""Parse tasks survive a crash of the embedded server, and a stop takes effect mid-parse.

A dedicated server (own data dir and port, one in-process worker, a 3-second task lease via
LAMBDARAG_TASK_VISIBILITY_SECS) is killed with SIGKILL while a long document is being embedded and
restarted on the same data dir: the task becomes visible again after its lease and is retried,
and the document ends DONE with exactly its chunks — no duplicates, counts that match the index.

Contract: shared/reference/endpoints.md §7.2 (F6/F7), §9; sdk-map.md §2 (async_parse_documents,
async_cancel_parse_documents, list_documents polling).
"""

from __future__ import annotations

import signal
import time

import pytest
from ragflow_sdk import RAGFlow

from conftest import ServerProcess, create_tenant, free_port
from helpers import all_chunks, get_doc, unique_name, varied_text, wait_docs, wait_until

LEASE_SECS = 3


@pytest.fixture(scope="module")
def crash_server(tmp_root):
    data_dir = tmp_root / "crash-data"
    tenant = create_tenant(data_dir, "tenant-crash")
    server = ServerProcess(
        data_dir=data_dir,
        port=free_port(),
        log_path=tmp_root / "crash-server.log",
        serve_args=["--workers", "1"],
        env={"LAMBDARAG_TASK_VISIBILITY_SECS": str(LEASE_SECS)},
    ).start()
    holder = {"server": server, "key": tenant.api_key}
    yield holder
    holder["server"].stop()


def sdk(holder) -> RAGFlow:
    return RAGFlow(api_key=holder["key"], base_url=holder["server"].base_url)


def restart(holder) -> None:
    old: ServerProcess = holder["server"]
    new = ServerProcess(
        data_dir=old.data_dir,
        port=free_port(),
        log_path=old.log_path,
        serve_args=old.serve_args,
        env=old.env,
    ).start()
    holder["server"] = new


def running_with_progress(dataset, doc_id: str, above: float = 0.0):
    """Wait until the document is RUNNING with `above < progress < 1` (a worker is on it)."""
    return wait_until(
        lambda: (d := get_doc(dataset, doc_id)).run == "RUNNING" and above < d.progress < 1 and d,
        timeout=90,
        what=f"document {doc_id} RUNNING with progress in ({above}, 1)",
        interval=0.1,
    )


def test_kill_9_mid_parse_then_restart(crash_server):
    client = sdk(crash_server)
    ds = client.create_dataset(name=unique_name("crash"))
    # Small chunks: many embedding batches, so the kill lands mid-embedding.
    ds.update({"parser_config": {"chunk_token_num": 96}})
    text = varied_text(60_000, seed=11)
    [doc] = ds.upload_documents([{"display_name": "long-report.txt", "blob": text.encode()}])
    ds.async_parse_documents([doc.id])

    # Past the split (0.25) and into the embedding batches.
    before = running_with_progress(ds, doc.id, above=0.3)
    assert before.chunk_count == 0
    assert "Task has been received." in before.progress_msg

    server: ServerProcess = crash_server["server"]
    rc = server.kill()
    assert rc == -signal.SIGKILL, rc

    restart(crash_server)
    client = sdk(crash_server)
    [ds] = client.list_datasets(id=ds.id)
    # Still RUNNING after the restart: the interrupted task was not lost.
    assert get_doc(ds, doc.id).run == "RUNNING"

    done = wait_docs(ds, [doc.id], timeout=240)[doc.id]
    assert done.run == "DONE", done.progress_msg
    assert done.progress == 1.0
    assert done.chunk_count > 0

    chunks = all_chunks(done, page_size=50)
    assert len(chunks) == done.chunk_count
    ids = [c.id for c in chunks]
    assert len(set(ids)) == len(ids), "duplicate chunk ids"
    keys = [(c.content, tuple(map(tuple, c.positions))) for c in chunks]
    assert len(set(keys)) == len(keys), "duplicate chunks (same content and position)"
    # The chunks are the whole document, once, in order.
    joined = " ".join(c.content for c in chunks)
    assert joined.count("Section 1. ") == 1
    last = text.rsplit("Section ", 1)[1].split(".", 1)[0]
    assert f"Section {last}." in joined
    assert client.list_datasets(id=ds.id)[0].chunk_count == done.chunk_count

    # The log shows the task was picked up again after the crash.
    msg = done.progress_msg
    assert msg.count("Task has been received.") >= 2, msg
    last_line = msg.rstrip().splitlines()[-1].split(" ", 1)[1]
    assert last_line.startswith("Indexed ") and "Task done (" in last_line, msg
    assert crash_server["server"].alive()


def test_stop_takes_effect_during_a_long_parse(crash_server):
    client = sdk(crash_server)
    ds = client.create_dataset(name=unique_name("stop"))
    ds.update({"parser_config": {"chunk_token_num": 32}})
    [big] = ds.upload_documents([{"display_name": "big.txt", "blob": varied_text(60_000, seed=5).encode()}])
    [small] = ds.upload_documents([{"display_name": "small.txt", "blob": b"A short note about solar panels and batteries."}])
    ds.async_parse_documents([big.id])
    running_with_progress(ds, big.id, above=0.3)

    stopped_at = time.monotonic()
    ds.async_cancel_parse_documents([big.id])
    d = get_doc(ds, big.id)
    assert (d.run, d.progress, d.chunk_count, d.token_count) == ("CANCEL", 0, 0, 0)
    assert d.list_chunks() == []
    msg_after_stop = d.progress_msg

    # With one worker, `small` is parsed only once the worker has let go of `big`.
    ds.async_parse_documents([small.id])
    s = wait_docs(ds, [small.id], timeout=90)[small.id]
    assert s.run == "DONE" and s.chunk_count > 0
    assert time.monotonic() - stopped_at < 60, "the worker kept going long after the stop"

    # `big` stayed cancelled: no chunks, no progress written after the stop.
    d = get_doc(ds, big.id)
    assert (d.run, d.progress, d.chunk_count, d.token_count) == ("CANCEL", 0, 0, 0)
    assert d.list_chunks() == []
    assert d.progress_msg == msg_after_stop
    assert "Task done" not in d.progress_msg
    assert client.list_datasets(id=ds.id)[0].chunk_count == s.chunk_count
    time.sleep(LEASE_SECS + 1)
    d = get_doc(ds, big.id)
    assert (d.run, d.chunk_count) == ("CANCEL", 0)
    assert d.list_chunks() == []


def test_delete_during_a_parse_leaves_no_chunks(crash_server):
    client = sdk(crash_server)
    ds = client.create_dataset(name=unique_name("del"))
    ds.update({"parser_config": {"chunk_token_num": 32}})
    [big] = ds.upload_documents([{"display_name": "doomed.txt", "blob": varied_text(40_000, seed=9).encode()}])
    [small] = ds.upload_documents([{"display_name": "kept.txt", "blob": b"Inverter maintenance schedule for the solar array."}])
    ds.async_parse_documents([big.id])
    running_with_progress(ds, big.id, above=0.3)
    ds.delete_documents(ids=[big.id])
    # one worker: `kept` is parsed after the worker has dropped the deleted document's task
    ds.async_parse_documents([small.id])
    s = wait_docs(ds, [small.id], timeout=90)[small.id]
    assert s.run == "DONE"
    assert [d.id for d in ds.list_documents()] == [small.id]
    [ds] = client.list_datasets(id=ds.id)
    assert (ds.document_count, ds.chunk_count) == (1, s.chunk_count)
    # nothing of the deleted document is searchable
    found = client.retrieve(dataset_ids=[ds.id], question="solar panel inverter battery roof", similarity_threshold=0.0, page_size=100)
    assert found, "retrieval should find the kept document's chunk"
    assert {c.document_id for c in found} == {small.id}
