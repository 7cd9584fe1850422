"""System routes (RAGFlow v0.27, v027-delta §1.11): the health check (every store the
deployment uses is really probed), ping and version. No key needed."""

from __future__ import annotations

import re
import shutil

import pytest
import requests

from conftest import ServerProcess, free_port

COMPONENTS = ("db", "redis", "doc_engine", "storage", "queue")


@pytest.mark.parametrize("path", ["/api/v1/system/healthz", "/v1/system/healthz"])
def test_healthz_all_ok(base_url, path):
    resp = requests.get(f"{base_url}{path}", timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json() == {**{c: "ok" for c in COMPONENTS}, "status": "ok"}


def test_healthz_ignores_a_bad_key(base_url):
    resp = requests.get(f"{base_url}/api/v1/system/healthz", headers={"Authorization": "Bearer nope"}, timeout=30)
    assert resp.status_code == 200 and resp.json()["status"] == "ok"


def test_ping(base_url):
    resp = requests.get(f"{base_url}/api/v1/system/ping", timeout=30)
    assert resp.status_code == 200 and resp.text == "pong"
    assert resp.headers["content-type"].startswith("text/plain")


def test_version(base_url):
    res = requests.get(f"{base_url}/api/v1/system/version", timeout=30).json()
    assert res["code"] == 0 and res["message"] == "success"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", res["data"]), res


def test_healthz_reports_a_broken_store(tmp_path):
    """A server whose blob folder vanished: storage nok, HTTP 500, the error under _meta;
    the other stores still ok."""
    server = ServerProcess(data_dir=tmp_path / "data", port=free_port(), log_path=tmp_path / "server.log").start()
    try:
        url = f"{server.base_url}/api/v1/system/healthz"
        assert requests.get(url, timeout=30).status_code == 200
        shutil.rmtree(tmp_path / "data" / "blobs")
        resp = requests.get(url, timeout=30)
        assert resp.status_code == 500
        body = resp.json()
        assert body["storage"] == "nok" and body["status"] == "nok"
        assert all(body[c] == "ok" for c in ("db", "redis", "doc_engine", "queue"))
        assert set(body["_meta"]) == {"storage"}
        # No key is needed here, so paths and names stay in the server's log.
        assert body["_meta"]["storage"]["error"] == "blob store check failed (backend error; details in the server log)"
        assert float(body["_meta"]["storage"]["elapsed"]) >= 0
    finally:
        server.stop()


def test_config_needs_no_key(base_url):
    res = requests.get(f"{base_url}/api/v1/system/config", timeout=30).json()
    assert res == {"code": 0, "message": "success", "data": {"registerEnabled": 0, "disablePasswordLogin": True}}


def test_status_reports_each_store(api):
    res = api.get("/system/status").json()
    assert res["code"] == 0, res
    for component in ("doc_engine", "storage", "database", "redis"):
        assert res["data"][component]["status"] == "green", res
    assert api.get("/system/status", key="nope").json()["code"] == 109


def test_tokens_mint_list_and_revoke(api, other_api_key):
    minted = api.post("/system/tokens").json()
    assert minted["code"] == 0, minted
    key = minted["data"]["token"]
    assert key.startswith("ragflow-") and minted["data"]["update_time"] is None
    # The new key works, and is listed by its hint (keys are stored hashed).
    assert api.get("/datasets", key=key).json()["code"] == 0
    listed = api.get("/system/tokens").json()["data"]
    row = next(r for r in listed if r["key_id"] == minted["data"]["key_id"])
    assert key.startswith(row["token"].rstrip("…")) and row["token"] != key
    # Another tenant cannot revoke it (the call succeeds, as upstream's does, but the key stays).
    assert api.delete(f"/system/tokens/{key}", key=other_api_key).json() == {"code": 0, "message": "success", "data": True}
    assert api.get("/datasets", key=key).json()["code"] == 0
    assert all(r["key_id"] != row["key_id"] for r in api.get("/system/tokens", key=other_api_key).json()["data"])
    # Its own tenant revokes it, by the key itself.
    assert api.delete(f"/system/tokens/{key}").json()["data"] is True
    assert api.get("/datasets", key=key).json()["code"] == 109
    assert all(r["key_id"] != row["key_id"] for r in api.get("/system/tokens").json()["data"])
