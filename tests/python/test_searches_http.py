"""Search apps (RAGFlow v0.27 `/searches`, v027-delta §1.10) over raw HTTP: CRUD with
upstream's replies and messages, tenant isolation, and the completion, streamed like
`/sessions/ask` through the chats' answer path (built-in answerer and the local fake LLM).

ragflow-sdk (0.23.1 and 0.26.0) has no search-app methods, so everything here is HTTP. On
the AWS deployment the completion streams from the searches Function URL (API Gateway
buffers); the CRUD goes through the API front.
"""

from __future__ import annotations

import json

import pytest
import requests

from conftest import Api

QUESTION = "What does the Zephyrine coating reflect?"
NO_AUTH = {"code": 109, "message": "No authorization.", "data": False}
NO_PERMISSION = {"code": 103, "message": "Has no permission for this operation.", "data": False}
TERMINATOR = {"code": 0, "message": "", "data": True}


def sse(resp: requests.Response) -> list:
    assert resp.headers["content-type"].startswith("text/event-stream"), resp.text[:300]
    out = []
    for line in resp.iter_lines(decode_unicode=True):
        if line:
            assert line.startswith("data:"), line
            out.append(json.loads(line[len("data:"):]))
    return out


def _wipe(api: Api) -> None:
    res = api.get("/searches").json()
    assert res["code"] == 0, res
    for app in res["data"]["search_apps"]:
        assert api.delete(f"/searches/{app['id']}").json()["code"] == 0


@pytest.fixture(autouse=True)
def _clean_searches(request):
    yield
    for name in ("api", "chat_env", "provider_chat_env"):
        if name in request.fixturenames:
            fx = request.getfixturevalue(name)
            _wipe(fx if isinstance(fx, Api) else fx.api)


def create(api: Api, **body) -> str:
    res = api.post("/searches", json=body).json()
    assert res["code"] == 0 and res["message"] == "success", res
    return res["data"]["search_id"]


# ---------------------------------------------------------------------------------------
# POST /searches
# ---------------------------------------------------------------------------------------


class TestCreate:
    def test_create_and_defaults(self, api, tenant_id):
        sid = create(api, name="  docs  ", description="my first")
        res = api.get(f"/searches/{sid}").json()
        assert res["code"] == 0 and res["message"] == "success"
        app = res["data"]
        assert app["id"] == sid and app["name"] == "docs" and app["description"] == "my first"
        assert app["tenant_id"] == tenant_id and app["created_by"] == tenant_id
        assert app["avatar"] is None and app["tenant_avatar"] is None and app["nickname"] == "tenant-a"
        assert app["search_config"] == {
            "kb_ids": [], "doc_ids": [], "similarity_threshold": 0.2, "vector_similarity_weight": 0.3,
            "use_kg": False, "rerank_id": "", "top_k": 1024, "summary": False, "chat_id": "",
            "llm_setting": {}, "chat_setting_cross_languages": [], "highlight": False, "keyword": False,
            "web_search": False, "related_search": False, "query_mindmap": False,
        }
        assert isinstance(app["create_time"], int) and isinstance(app["update_time"], int)

    def test_taken_names_get_a_counter(self, api):
        ids = [create(api, name=n) for n in ("dup", "DUP", "dup", "dup(1)")]
        names = [api.get(f"/searches/{i}").json()["data"]["name"] for i in ids]
        assert names == ["dup", "DUP(1)", "dup(2)", "dup(3)"]

    def test_config_given_at_create_is_kept_over_the_defaults(self, api):
        sid = create(api, name="cfg", search_config={"top_k": 5, "kb_ids": ["x"], "extra": {"a": 1}})
        cfg = api.get(f"/searches/{sid}").json()["data"]["search_config"]
        assert cfg["top_k"] == 5 and cfg["kb_ids"] == ["x"] and cfg["extra"] == {"a": 1}
        assert cfg["vector_similarity_weight"] == 0.3

    @pytest.mark.parametrize("body,reply", [
        ({}, {"code": 101, "message": "required argument are missing: name; ", "data": None}),
        ({"description": "x"}, {"code": 101, "message": "required argument are missing: name; ", "data": None}),
        ({"name": 1}, {"code": 102, "message": "Search name must be string."}),
        ({"name": None}, {"code": 102, "message": "Search name must be string."}),
        ({"name": "   "}, {"code": 102, "message": "Search name can't be empty."}),
        ({"name": "é" * 128}, {"code": 102, "message": "Search name length is 128 which is large than 255."}),
        ({"name": "ok", "search_config": [1]}, {"code": 102, "message": "search_config must be a JSON object"}),
    ])
    def test_errors(self, api, body, reply):
        assert api.post("/searches", json=body).json() == reply

    def test_a_key_is_required(self, api):
        assert api.post("/searches", key=None, json={"name": "x"}).json() == {
            "code": 0, "message": "`Authorization` can't be empty", "data": False}
        assert api.post("/searches", key="ragflow-nope", json={"name": "x"}).json()["code"] == 109


# ---------------------------------------------------------------------------------------
# GET /searches
# ---------------------------------------------------------------------------------------


class TestList:
    def test_order_filter_and_pages(self, api, tenant_id):
        ids = [create(api, name=n) for n in ("alpha", "Beta", "gamma")]
        res = api.get("/searches").json()
        assert res["code"] == 0 and res["message"] == "success"
        assert [a["id"] for a in res["data"]["search_apps"]] == ids[::-1], "newest first"
        assert res["data"]["total"] == 3
        first = res["data"]["search_apps"][0]
        assert set(first) >= {"id", "avatar", "tenant_id", "name", "description", "created_by", "status",
                              "update_time", "create_time", "nickname", "tenant_avatar"}
        assert "search_config" not in first
        asc = api.get("/searches", params={"desc": "False"}).json()["data"]["search_apps"]
        assert [a["id"] for a in asc] == ids
        by_name = api.get("/searches", params={"orderby": "name", "desc": "false"}).json()["data"]["search_apps"]
        assert [a["name"] for a in by_name] == ["Beta", "alpha", "gamma"]
        kw = api.get("/searches", params={"keywords": "A"}).json()["data"]
        assert sorted(a["name"] for a in kw["search_apps"]) == ["Beta", "alpha", "gamma"]
        kw = api.get("/searches", params={"keywords": "MM"}).json()["data"]
        assert [a["name"] for a in kw["search_apps"]] == ["gamma"] and kw["total"] == 1
        page = api.get("/searches", params={"page": 2, "page_size": 2}).json()["data"]
        assert [a["id"] for a in page["search_apps"]] == [ids[0]] and page["total"] == 3
        mine = api.get("/searches", params=[("owner_ids", tenant_id)]).json()["data"]
        assert mine["total"] == 3

    def test_errors(self, api):
        assert api.get("/searches", params={"page": "x"}).json() == {
            "code": 100, "message": "ValueError(\"invalid literal for int() with base 10: 'x'\")", "data": None}
        assert api.get("/searches", params={"page_size": 101}).json() == {
            "code": 100, "message": "ValueError('page_size must be less than or equal to 100')", "data": None}
        assert api.get("/searches", params={"orderby": "nope"}).json() == {
            "code": 100, "message": "AttributeError(\"type object 'Search' has no attribute 'nope'\")", "data": None}

    def test_tenant_isolation(self, api, other_api_key, other_tenant_id):
        create(api, name="private")
        other = api.get("/searches", key=other_api_key).json()
        assert other == {"code": 0, "message": "success", "data": {"search_apps": [], "total": 0}}
        # Naming another tenant as owner lists nothing of theirs.
        asked = api.get("/searches", key=other_api_key, params=[("owner_ids", api.get("/searches").json()["data"]["search_apps"][0]["tenant_id"])]).json()
        assert asked["data"] == {"search_apps": [], "total": 0}
        assert api.get("/searches", params=[("owner_ids", other_tenant_id)]).json()["data"]["total"] == 0


# ---------------------------------------------------------------------------------------
# GET / PUT / DELETE /searches/{id}
# ---------------------------------------------------------------------------------------


class TestOne:
    def test_get_refuses_other_tenants_and_unknown_ids(self, api, other_api_key):
        sid = create(api, name="mine")
        assert api.get(f"/searches/{sid}", key=other_api_key).json() == NO_PERMISSION
        assert api.get("/searches/" + "0" * 32).json() == NO_PERMISSION

    def test_update_merges_the_config_and_replies_with_the_row(self, api, tenant_id):
        sid = create(api, name="before", description="d")
        res = api.put(f"/searches/{sid}", json={
            "name": " after ", "search_config": {"top_k": 5, "kb_ids": ["k"]}, "description": "new",
            "tenant_id": "someone-else", "id": "other-id", "created_by": "x"}).json()
        assert res["code"] == 0 and res["message"] == "success"
        row = res["data"]
        assert row["id"] == sid and row["tenant_id"] == tenant_id and row["created_by"] == tenant_id
        assert row["name"] == "after" and row["description"] == "new" and row["status"] == "1"
        assert row["search_config"]["top_k"] == 5 and row["search_config"]["kb_ids"] == ["k"]
        assert row["search_config"]["vector_similarity_weight"] == 0.3, "merged, not replaced"
        assert {"create_date", "update_date", "create_time", "update_time"} <= set(row)
        again = api.put(f"/searches/{sid}", json={"name": "AFTER", "search_config": {}}).json()
        assert again["code"] == 0 and again["data"]["name"] == "AFTER", "a case-only rename is not a duplicate"
        assert api.get(f"/searches/{sid}").json()["data"]["search_config"]["top_k"] == 5

    @pytest.mark.parametrize("body,reply", [
        ({}, {"code": 101, "message": "required argument are missing: name,search_config; ", "data": None}),
        ({"name": "x"}, {"code": 101, "message": "required argument are missing: search_config; ", "data": None}),
        ({"name": 3, "search_config": {}}, {"code": 102, "message": "Search name must be string."}),
        ({"name": "", "search_config": {}}, {"code": 102, "message": "Search name can't be empty."}),
        ({"name": "x" * 256, "search_config": {}}, {"code": 102, "message": "Search name length is 256 which is large than 255"}),
        ({"name": "taken", "search_config": {}}, {"code": 102, "message": "Duplicated search name."}),
        ({"name": "TAKEN", "search_config": {}}, {"code": 102, "message": "Duplicated search name."}),
        ({"name": "fine", "search_config": "x"}, {"code": 102, "message": "search_config must be a JSON object"}),
    ])
    def test_update_errors(self, api, body, reply):
        create(api, name="taken")
        sid = create(api, name="mine")
        assert api.put(f"/searches/{sid}", json=body).json() == reply

    def test_update_and_delete_refuse_other_tenants(self, api, other_api_key):
        sid = create(api, name="guarded")
        assert api.put(f"/searches/{sid}", key=other_api_key, json={"name": "stolen", "search_config": {}}).json() == NO_AUTH
        assert api.delete(f"/searches/{sid}", key=other_api_key).json() == NO_AUTH
        assert api.put("/searches/" + "0" * 32, json={"name": "x", "search_config": {}}).json() == NO_AUTH
        assert api.get(f"/searches/{sid}").json()["data"]["name"] == "guarded", "untouched"

    def test_delete(self, api):
        sid = create(api, name="gone")
        assert api.delete(f"/searches/{sid}").json() == {"code": 0, "message": "success", "data": True}
        assert api.delete(f"/searches/{sid}").json() == NO_AUTH
        assert api.get(f"/searches/{sid}").json() == NO_PERMISSION
        assert api.get("/searches").json()["data"]["total"] == 0


# ---------------------------------------------------------------------------------------
# POST /searches/{id}/completion(s)
# ---------------------------------------------------------------------------------------


def ask(stream_urls, key: str, sid: str, body: dict, path: str = "completions") -> requests.Response:
    return requests.post(f"{stream_urls['searches']}/api/v1/searches/{sid}/{path}", stream=True, timeout=180,
                         headers={"Authorization": f"Bearer {key}"}, json=body)


class TestCompletion:
    @pytest.mark.parametrize("path", ["completion", "completions"])
    def test_streams_like_sessions_ask(self, chat_env, stream_urls, path):
        sid = create(chat_env.api, name="kb search", search_config={"kb_ids": [chat_env.dataset_id]})
        frames = sse(ask(stream_urls, chat_env.tenant.api_key, sid, {"question": QUESTION}, path))
        assert frames[-1] == TERMINATOR
        body = frames[:-1]
        assert body and all(f["code"] == 0 and f["message"] == "" for f in body)
        deltas = [f["data"] for f in body if not f["data"].get("final")]
        finals = [f["data"] for f in body if f["data"].get("final")]
        assert deltas and len(finals) == 1
        assert all(d["final"] is False and d["reference"] == {"chunks": []} for d in deltas)
        text = "".join(d["answer"] for d in deltas)
        assert "Zephyrine" in text
        final = finals[0]
        assert final["answer"] == ""
        chunks = final["reference"]["chunks"]
        assert chunks and chunks[0]["dataset_id"] == chat_env.dataset_id
        assert any("Zephyrine" in c["content"] for c in chunks)
        assert {d["doc_name"] for d in final["reference"]["doc_aggs"]} >= {"solar.txt"}

    def test_request_kb_ids_are_the_fallback(self, chat_env, stream_urls):
        sid = create(chat_env.api, name="no datasets")
        frames = sse(ask(stream_urls, chat_env.tenant.api_key, sid, {"question": QUESTION, "kb_ids": [chat_env.dataset_id]}))
        assert frames[-1] == TERMINATOR
        assert "Zephyrine" in "".join(f["data"]["answer"] for f in frames[:-1])

    def test_saved_doc_ids_limit_retrieval(self, chat_env, stream_urls):
        bees = chat_env.doc_ids["bees.txt"]
        sid = create(chat_env.api, name="bees only",
                     search_config={"kb_ids": [chat_env.dataset_id], "doc_ids": [bees], "similarity_threshold": 0.0})
        frames = sse(ask(stream_urls, chat_env.tenant.api_key, sid, {"question": QUESTION}))
        final = [f["data"] for f in frames[:-1] if f["data"].get("final")]
        assert final and {c["document_id"] for c in final[0]["reference"]["chunks"]} == {bees}

    def test_saved_manual_metadata_filter_limits_retrieval(self, chat_env, stream_urls):
        solar = chat_env.doc_ids["solar.txt"]
        assert chat_env.api.put(f"/datasets/{chat_env.dataset_id}/documents/{solar}",
                                json={"meta_fields": {"topic": "energy"}}).json()["code"] == 0
        manual = {"method": "manual", "logic": "and", "manual": [{"key": "topic", "op": "=", "value": "energy"}]}
        sid = create(chat_env.api, name="energy only", search_config={
            "kb_ids": [chat_env.dataset_id], "similarity_threshold": 0.0, "meta_data_filter": manual})
        frames = sse(ask(stream_urls, chat_env.tenant.api_key, sid, {"question": QUESTION}))
        final = [f["data"] for f in frames[:-1] if f["data"].get("final")]
        assert final and {c["document_id"] for c in final[0]["reference"]["chunks"]} == {solar}

    def test_errors(self, chat_env, stream_urls, other_api_key, base_url):
        api = chat_env.api
        sid = create(api, name="errs")
        # Errors come before streaming, as envelopes (the buffered API and the stream URL agree).
        assert api.post(f"/searches/{sid}/completions", json={}).json() == {
            "code": 101, "message": "required argument are missing: question; ", "data": None}
        assert api.post(f"/searches/{sid}/completion", json={"question": "q"}).json() == {
            "code": 102, "message": "`kb_ids` is required."}
        assert api.post(f"/searches/{sid}/completions", json={"question": "q", "kb_ids": []}).json() == {
            "code": 102, "message": "`kb_ids` is required."}
        assert api.post(f"/searches/{sid}/completions", key=other_api_key, json={"question": "q"}).json() == NO_AUTH
        assert api.post("/searches/" + "0" * 32 + "/completions", json={"question": "q"}).json() == NO_AUTH
        foreign = Api(base_url, other_api_key).post("/datasets", json={"name": "theirs"}).json()["data"]["id"]
        assert api.post(f"/searches/{sid}/completions", json={"question": "q", "kb_ids": [foreign]}).json() == {
            "code": 102, "message": f"You don't own the dataset {foreign}"}
        api.put(f"/searches/{sid}", json={"name": "errs", "search_config": {"kb_ids": [chat_env.dataset_id, "nope"]}})
        resp = ask(stream_urls, chat_env.tenant.api_key, sid, {"question": "q"})
        assert resp.json() == {"code": 102, "message": "You don't own the dataset nope"}

    def test_the_saved_chat_model_answers(self, provider_chat_env, fake_llm_server, stream_urls):
        env = provider_chat_env
        sid = create(env.api, name="echo", search_config={
            "kb_ids": [env.dataset_id], "chat_id": "echo-model@OpenAI-API-Compatible", "llm_setting": {"temperature": 0.3}})
        frames = sse(ask(stream_urls, env.tenant.api_key, sid, {"question": QUESTION}))
        assert frames[-1] == TERMINATOR
        deltas = [f["data"]["answer"] for f in frames[:-1] if not f["data"].get("final")]
        assert len(deltas) >= 3, "the provider's answer streams in pieces"
        text = "".join(deltas)
        assert text.startswith("ECHO:") and "Zephyrine coating" in text and f"user: {QUESTION}" in text
        req = fake_llm_server[0].requests[-1]
        assert req["model"] == "echo-model" and req["stream"] is True and req["temperature"] == 0.3
        assert req["messages"][0]["role"] == "system" and "Zephyrine" in req["messages"][0]["content"]

    def test_a_model_that_is_down_ends_with_the_error_frame(self, provider_chat_env, stream_urls):
        env = provider_chat_env
        sid = create(env.api, name="down", search_config={"kb_ids": [env.dataset_id], "chat_id": "down-model@VLLM"})
        frames = sse(ask(stream_urls, env.tenant.api_key, sid, {"question": QUESTION}))
        assert frames[-1] == TERMINATOR
        err = frames[0]
        assert err["code"] == 500 and "down-model@VLLM" in err["message"]
        assert err["data"] == {"answer": f"**ERROR**: {err['message']}", "reference": []}
