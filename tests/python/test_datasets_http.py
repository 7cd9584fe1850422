"""Transport rules of the /api/v1 API, exercised with raw `requests` on the dataset routes.

Contract: shared/reference/endpoints.md §1 (transport/envelope), §3 (auth), §5 (validation/listing),
§6.1 (dataset object), §7.1 (D1–D5).
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from email.utils import parsedate_to_datetime

import pytest
import requests
from ragflow_sdk import RAGFlow

from conftest import ServerProcess, create_tenant, free_port, run_cli
from helpers import (
    CHUNK_METHOD_MESSAGE,
    DEFAULT_EMBEDDING_MODEL,
    DEFAULT_PARSER_CONFIG,
    HEX32,
    RFC1123,
    field_error,
    lacks_permission,
    lacks_permission_delete,
    param_id,
    tick,
    unique_name,
    uuid1_hex,
)

DATASET_KEYS = {
    "id", "avatar", "tenant_id", "name", "language", "description", "embedding_model", "permission", "created_by",
    "document_count", "token_num", "chunk_count", "similarity_threshold", "vector_similarity_weight", "chunk_method",
    "pipeline_id", "parser_config", "pagerank", "graphrag_task_id", "graphrag_task_finish_at", "raptor_task_id",
    "raptor_task_finish_at", "mindmap_task_id", "mindmap_task_finish_at", "status", "create_time", "create_date",
    "update_time", "update_date",
}

# v0.27's keys on list items only (answered beside the pinned ones, docs/divergences.md).
V027_LIST_KEYS = {"nickname", "tenant_avatar", "embedding_model_name"}


def pinned_rows(rows: list[dict]) -> list[dict]:
    """List items without v0.27's list-only keys, to compare with create/update replies."""
    assert all(V027_LIST_KEYS <= set(r) for r in rows), rows
    return [{k: v for k, v in r.items() if k not in V027_LIST_KEYS} for r in rows]


AUTH_EMPTY = {"code": 0, "message": "`Authorization` can't be empty", "data": False}
AUTH_FORMAT = {"code": 0, "message": "Please check your authorization format.", "data": False}
AUTH_INVALID = {"code": 109, "message": "Authentication error: API key is invalid!", "data": False}
METHOD_NOT_ALLOWED = {"code": 100, "message": "<MethodNotAllowed '405: Method Not Allowed'>", "data": None}
MALFORMED = {"code": 101, "message": "Malformed JSON syntax: Missing commas/brackets or invalid encoding"}


def ok(res: requests.Response):
    assert res.status_code == 200, (res.status_code, res.text)
    body = res.json()
    assert body.get("code") == 0, body
    return body


def err(res: requests.Response) -> dict:
    assert res.status_code == 200, (res.status_code, res.text)
    return res.json()


def create(api, key=..., **payload) -> dict:
    payload.setdefault("name", unique_name())
    return ok(api.post("/datasets", key=key, json=payload))["data"]


# One representative request per dataset route (method, path template, JSON body).
ROUTES = [
    ("GET", "/datasets", None),
    ("POST", "/datasets", {"name": "x"}),
    ("DELETE", "/datasets", {"ids": None}),
    ("PUT", "/datasets/{id}", {"name": "x"}),
    ("GET", "/datasets/{id}/knowledge_graph", None),
]
ROUTE_IDS = ["list", "create", "delete", "update", "knowledge_graph"]


# ---------------------------------------------------------------------------------------------
# Authentication (§3)
# ---------------------------------------------------------------------------------------------


class TestAuth:
    @pytest.mark.parametrize("method, path, body", ROUTES, ids=ROUTE_IDS)
    def test_missing_authorization(self, api, method, path, body):
        res = api.request(method, path.format(id=uuid1_hex()), key=None, json=body)
        assert res.status_code == 200
        assert res.json() == AUTH_EMPTY

    @pytest.mark.parametrize("value", ["Bearer", "{key}", "Bearer "], ids=["scheme_only", "key_only", "scheme_and_space"])
    def test_single_token(self, api, api_key, value):
        res = api.get("/datasets", key=None, headers={"Authorization": value.format(key=api_key)})
        assert res.status_code == 200
        assert res.json() == AUTH_FORMAT

    def test_empty_header_value(self, api):
        res = api.get("/datasets", key=None, headers={"Authorization": ""})
        assert res.status_code == 200
        assert res.json() == AUTH_EMPTY

    @pytest.mark.parametrize("method, path, body", ROUTES, ids=ROUTE_IDS)
    def test_unknown_key(self, api, method, path, body):
        res = api.request(method, path.format(id=uuid1_hex()), key="ragflow-" + "x" * 43, json=body)
        assert res.status_code == 200
        assert res.json() == AUTH_INVALID

    def test_unknown_key_changes_nothing(self, api, client):
        res = api.post("/datasets", key="nope", json={"name": unique_name()})
        assert res.json() == AUTH_INVALID
        assert client.list_datasets() == []

    @pytest.mark.parametrize("scheme", ["Bearer", "Token", "bearer", "x"])
    def test_scheme_word_not_checked(self, api, api_key, scheme):
        res = api.get("/datasets", key=None, headers={"Authorization": f"{scheme} {api_key}"})
        ok(res)

    def test_key_is_second_token(self, api, api_key):
        ok(api.get("/datasets", key=None, headers={"Authorization": f"Bearer {api_key} trailing"}))
        res = api.get("/datasets", key=None, headers={"Authorization": f"{api_key} Bearer"})
        assert res.json() == AUTH_INVALID


# ---------------------------------------------------------------------------------------------
# Routing, envelope, CORS (§1)
# ---------------------------------------------------------------------------------------------


class TestRouting:
    def test_api_errors_are_http_200(self, api):
        for res in (
            api.post("/datasets", json={"name": ""}),  # 101
            api.get("/datasets", params={"id": uuid1_hex()}),  # 108
            api.put(f"/datasets/{uuid1_hex()}", json={"name": "x"}),  # 108
            api.get("/datasets", key="bad"),  # 109
            api.get(f"/datasets/{uuid1_hex()}/knowledge_graph"),  # 109
        ):
            assert res.status_code == 200, res.text
            assert res.json()["code"] != 0

    @pytest.mark.parametrize("path", ["/api/v1/no_such_route", "/api/v1/datasets/x/y/z/w", "/api/v2/datasets"])
    @pytest.mark.parametrize("with_key", [False, True])
    def test_unknown_path_404(self, base_url, api_key, path, with_key):
        headers = {"Authorization": f"Bearer {api_key}"} if with_key else {}
        res = requests.get(base_url + path, headers=headers, timeout=30)
        assert res.status_code == 404
        assert res.json() == {"code": 404, "message": f"Not Found: {path}", "data": None, "error": "Not Found"}
        assert res.headers.get("Access-Control-Allow-Origin") == "*"

    @pytest.mark.parametrize(
        "method, path",
        [
            ("PATCH", "/datasets"),
            ("PUT", "/datasets"),
            # (GET /datasets/{id} is served since v0.27's single-dataset read)
            ("PATCH", "/datasets/{id}"),
            ("POST", "/datasets/{id}"),
            ("DELETE", "/datasets/{id}"),
            ("PATCH", "/datasets/{id}/knowledge_graph"),
            ("PUT", "/datasets/{id}/knowledge_graph"),
        ],
    )
    @pytest.mark.parametrize("with_key", [False, True])
    def test_wrong_method(self, api, method, path, with_key):
        res = api.request(method, path.format(id=uuid1_hex()), **({} if with_key else {"key": None}))
        assert res.status_code == 200
        assert res.json() == METHOD_NOT_ALLOWED

    def test_trailing_slash(self, api, client):
        created = ok(api.post("/datasets/", json={"name": unique_name("slash")}))["data"]
        listed = ok(api.get("/datasets/"))
        assert [d["id"] for d in listed["data"]] == [created["id"]]
        updated = ok(api.put(f"/datasets/{created['id']}/", json={"description": "slash"}))["data"]
        assert updated["description"] == "slash"
        ok(api.delete("/datasets/", json={"ids": [created["id"]]}))
        assert client.list_datasets() == []

    def test_cors_header(self, api):
        for res in (
            api.get("/datasets"),
            api.get("/datasets", key=None),
            api.post("/datasets", json={"name": ""}),
            api.request("PATCH", "/datasets"),
        ):
            assert res.headers.get("Access-Control-Allow-Origin") == "*", (res.status_code, dict(res.headers))

    def test_cors_preflight(self, api):
        res = api.request(
            "OPTIONS",
            "/datasets",
            key=None,
            headers={"Origin": "http://example.test", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"},
        )
        assert res.status_code in (200, 204), res.text
        assert res.headers.get("Access-Control-Allow-Origin") == "*"

    def test_json_content_type(self, api):
        for res in (api.get("/datasets"), api.post("/datasets", json={}), api.get("/datasets", key=None)):
            assert res.headers["Content-Type"].startswith("application/json")

    def test_success_envelope_has_no_message(self, api):
        body = ok(api.post("/datasets", json={"name": unique_name()}))
        assert set(body) == {"code", "data"}
        body = ok(api.put(f"/datasets/{body['data']['id']}", json={"description": "x"}))
        assert set(body) == {"code", "data"}
        assert ok(api.delete("/datasets", json={"ids": []})) == {"code": 0}
        assert ok(api.delete("/datasets", json={"ids": None})) == {"code": 0}

    def test_error_envelope_has_no_data(self, api):
        assert err(api.post("/datasets", json={"name": ""})) == {
            "code": 101,
            "message": field_error("name", "String should have at least 1 character", ""),
        }


# ---------------------------------------------------------------------------------------------
# Body parsing on dataset routes (§5.1)
# ---------------------------------------------------------------------------------------------


class TestBodies:
    @pytest.mark.parametrize("method, path", [("POST", "/datasets"), ("PUT", "/datasets/{id}"), ("DELETE", "/datasets")])
    @pytest.mark.parametrize(
        "raw",
        ["a", "{", '{"name": "x",}', "{'name': 'x'}", '{"name": "x"} trailing', b"\xff\xfe"],
        ids=["bare_word", "open_brace", "trailing_comma", "single_quotes", "trailing_garbage", "invalid_utf8"],
    )
    def test_malformed_json(self, api, method, path, raw):
        res = api.request(method, path.format(id=uuid1_hex()), data=raw, headers={"Content-Type": "application/json"})
        assert err(res) == MALFORMED

    @pytest.mark.parametrize("method, path", [("PUT", "/datasets/{id}"), ("DELETE", "/datasets"), ("POST", "/datasets")])
    def test_empty_json_body(self, api, method, path):
        res = api.request(method, path.format(id=uuid1_hex()), data=b"", headers={"Content-Type": "application/json"})
        assert err(res) == MALFORMED

    @pytest.mark.parametrize(
        "raw, pytype",
        [("[1]", "list"), ('[{"name": "x"}]', "list"), ('"a"', "str"), ("1", "int"), ("1.5", "float"), ("true", "bool")],
        ids=["list", "list_of_objects", "str", "int", "float", "bool"],
    )
    @pytest.mark.parametrize("method, path", [("POST", "/datasets"), ("PUT", "/datasets/{id}"), ("DELETE", "/datasets")])
    def test_non_object_payload(self, api, method, path, raw, pytype):
        res = api.request(method, path.format(id=uuid1_hex()), data=raw, headers={"Content-Type": "application/json"})
        assert err(res) == {"code": 101, "message": f"Invalid request payload: expected object, got {pytype}"}

    @pytest.mark.parametrize("raw", ["null", "[]", '""', "0", "false", "{}"], ids=["null", "empty_list", "empty_str", "zero", "false", "empty_object"])
    @pytest.mark.parametrize("method, path", [("POST", "/datasets"), ("PUT", "/datasets/{id}"), ("DELETE", "/datasets")])
    def test_falsy_payload_is_empty_object(self, api, client, method, path, raw):
        # `get_json() or {}`: a falsy JSON value counts as the empty object
        ds = client.create_dataset(name=unique_name("falsy"))
        res = api.request(method, path.format(id=ds.id), data=raw, headers={"Content-Type": "application/json"})
        expected = {
            "POST": field_error("name", "Field required", {}),
            "PUT": "No properties were modified",
            "DELETE": field_error("ids", "Field required", {}),
        }[method]
        assert err(res) == {"code": 101, "message": expected}

    def test_text_xml_create_treated_as_empty(self, api, client):
        res = api.post("/datasets", data='{"name": "xml"}', headers={"Content-Type": "text/xml"})
        body = err(res)
        assert body["code"] == 101
        assert "Field: <name>" in body["message"]
        assert body["message"] == field_error("name", "Field required", {})
        assert client.list_datasets() == []

    def test_text_xml_delete_treated_as_empty(self, api, client):
        ds = client.create_dataset(name=unique_name("xml-del"))
        res = api.delete("/datasets", data='{"ids": null}', headers={"Content-Type": "text/xml"})
        body = err(res)
        assert body["code"] == 101
        assert "Field: <ids>" in body["message"]
        assert body["message"] == field_error("ids", "Field required", {})
        assert [d.id for d in client.list_datasets()] == [ds.id]

    def test_text_xml_update_treated_as_empty(self, api, client):
        ds = client.create_dataset(name=unique_name("xml-upd"))
        res = api.put(f"/datasets/{ds.id}", data='{"name": "renamed"}', headers={"Content-Type": "text/xml"})
        assert err(res) == {"code": 101, "message": "No properties were modified"}
        assert client.list_datasets()[0].name == ds.name

    def test_create_without_body(self, api):
        assert err(api.post("/datasets")) == {"code": 101, "message": field_error("name", "Field required", {})}

    def test_delete_without_ids_key(self, api):
        assert err(api.delete("/datasets", json={})) == {"code": 101, "message": field_error("ids", "Field required", {})}

    def test_delete_ids_not_a_list(self, api):
        assert err(api.delete("/datasets", json={"ids": "abc"})) == {
            "code": 101,
            "message": field_error("ids", "Input should be a valid list", "abc"),
        }

    def test_delete_extra_key(self, api):
        assert err(api.delete("/datasets", json={"ids": [], "all": True})) == {
            "code": 101,
            "message": field_error("all", "Extra inputs are not permitted", True),
        }

    @pytest.mark.parametrize(
        "name, message",
        [
            (0, field_error("name", "Input should be a valid string", 0)),
            (None, field_error("name", "Input should be a valid string", None)),
            (["a"], field_error("name", "Input should be a valid string", ["a"])),
            ({"a": 1}, field_error("name", "Input should be a valid string", {"a": 1})),
            (True, field_error("name", "Input should be a valid string", True)),
        ],
        ids=["int", "null", "list", "object", "bool"],
    )
    def test_name_types(self, api, name, message):
        assert err(api.post("/datasets", json={"name": name})) == {"code": 101, "message": message}

    def test_strict_types(self, api):
        assert err(api.post("/datasets", json={"name": "x", "parser_config": {"chunk_token_num": "1"}}))["message"] == field_error(
            "parser_config.chunk_token_num", "Input should be a valid integer", "1"
        )
        assert err(api.post("/datasets", json={"name": "x", "description": 5}))["message"] == field_error(
            "description", "Input should be a valid string", 5
        )

    @pytest.mark.parametrize("value", [[], "abc", 1], ids=["empty_list", "str", "int"])
    def test_parser_config_not_an_object(self, api, value):
        assert err(api.post("/datasets", json={"name": "x", "parser_config": value})) == {
            "code": 101,
            "message": field_error("parser_config", "Input should be a valid dictionary or instance of ParserConfig", value),
        }

    @pytest.mark.parametrize("value", [[], "abc", 1], ids=["empty_list", "str", "int"])
    def test_update_parser_config_not_an_object(self, api, client, value):
        ds = client.create_dataset(name=unique_name("pc-type"))
        assert err(api.put(f"/datasets/{ds.id}", json={"parser_config": value})) == {
            "code": 101,
            "message": field_error("parser_config", "Input should be a valid dictionary or instance of ParserConfig", value),
        }

    def test_chunk_method_non_string(self, api):
        for value in ([], 1, None):
            assert err(api.post("/datasets", json={"name": "x", "chunk_method": value}))["message"] == field_error(
                "chunk_method", CHUNK_METHOD_MESSAGE, value
            )

    def test_several_errors_one_line_each(self, api):
        body = err(api.post("/datasets", json={"name": "", "permission": "ME", "unexpected": 1}))
        assert body == {
            "code": 101,
            "message": "\n".join(
                [
                    field_error("name", "String should have at least 1 character", ""),
                    field_error("permission", "Input should be 'me' or 'team'", "ME"),
                    field_error("unexpected", "Extra inputs are not permitted", 1),
                ]
            ),
        }

    def test_missing_name_reports_whole_input(self, api):
        assert err(api.post("/datasets", json={"description": "d"}))["message"] == field_error(
            "name", "Field required", {"description": "d"}
        )

    def test_update_path_id_validated(self, api):
        assert err(api.put("/datasets/abc", json={"name": "x"})) == {
            "code": 101,
            "message": field_error("dataset_id", "Invalid UUID1 format", "abc"),
        }
        for bad in (uuid.uuid4().hex, "1" * 32):
            assert err(api.put(f"/datasets/{bad}", json={"name": "x"})) == {
                "code": 101,
                "message": field_error("dataset_id", "Invalid UUID1 format", bad),
            }

    def test_update_dashed_path_id(self, api, client):
        ds = client.create_dataset(name=unique_name("dash"))
        data = ok(api.put(f"/datasets/{uuid.UUID(ds.id)}", json={"description": "dashed"}))["data"]
        assert data["id"] == ds.id and data["description"] == "dashed"

    def test_update_body_dataset_id_ignored(self, api, client):
        ds = client.create_dataset(name=unique_name("bodyid"))
        other = uuid1_hex()
        assert err(api.put(f"/datasets/{ds.id}", json={"dataset_id": other})) == {"code": 101, "message": "No properties were modified"}


# ---------------------------------------------------------------------------------------------
# Listing (§5.2, D4)
# ---------------------------------------------------------------------------------------------


LIST_QUERY_ERRORS = [
    ({"page": "0"}, field_error("page", "Input should be greater than or equal to 1", "0")),
    ({"page": "-1"}, field_error("page", "Input should be greater than or equal to 1", "-1")),
    ({"page": "a"}, field_error("page", "Input should be a valid integer, unable to parse string as an integer", "a")),
    ({"page_size": "a"}, field_error("page_size", "Input should be a valid integer, unable to parse string as an integer", "a")),
    ({"page_size": "0"}, field_error("page_size", "Input should be greater than or equal to 1", "0")),
    ({"page_size": "1.5"}, field_error("page_size", "Input should be a valid integer, unable to parse string as an integer", "1.5")),
    ({"orderby": "x"}, field_error("orderby", "Input should be 'create_time' or 'update_time'", "x")),
    ({"orderby": "name"}, field_error("orderby", "Input should be 'create_time' or 'update_time'", "name")),
    ({"desc": "maybe"}, field_error("desc", "Input should be a valid boolean, unable to interpret input", "maybe")),
    ({"desc": ""}, field_error("desc", "Input should be a valid boolean, unable to interpret input", "")),
    ({"unknown": "1"}, field_error("unknown", "Extra inputs are not permitted", "1")),
    ({"id": ""}, field_error("id", "Invalid UUID1 format", "")),
    ({"id": "abc"}, field_error("id", "Invalid UUID1 format", "abc")),
    ({"id": uuid.uuid4().hex}, None),  # a valid UUID, but version 4
    ({"id": "1" * 32}, None),  # version nibble 1, but not the RFC 4122 variant (uuid.UUID(...).version is None)
]


class TestListQuery:
    @pytest.mark.parametrize("params, message", LIST_QUERY_ERRORS, ids=[param_id(p) for p, _ in LIST_QUERY_ERRORS])
    def test_validation_messages(self, api, params, message):
        if message is None:
            message = field_error("id", "Invalid UUID1 format", params["id"])
        assert err(api.get("/datasets", params=params)) == {"code": 101, "message": message}

    def test_several_query_errors(self, api):
        body = err(api.get("/datasets", params={"page": "0", "desc": "maybe"}))
        assert body["message"] == "\n".join(
            [
                field_error("page", "Input should be greater than or equal to 1", "0"),
                field_error("desc", "Input should be a valid boolean, unable to interpret input", "maybe"),
            ]
        )

    @pytest.mark.parametrize(
        "value, descending",
        [
            ("true", True), ("True", True), ("1", True), ("yes", True), ("on", True), ("t", True), ("Y", True),
            ("false", False), ("False", False), ("0", False), ("no", False), ("off", False), ("f", False), ("N", False),
        ],
    )
    def test_desc_values(self, api, value, descending):
        first = create(api, name=unique_name("first"))
        tick()
        second = create(api, name=unique_name("second"))
        got = [d["id"] for d in ok(api.get("/datasets", params={"desc": value}))["data"]]
        assert got == ([second["id"], first["id"]] if descending else [first["id"], second["id"]])

    def test_total_datasets(self, api):
        ids = []
        for i in range(3):
            ids.append(create(api, name=unique_name(f"t{i}"))["id"])
            tick()
        body = ok(api.get("/datasets", params={"page": "1", "page_size": "2"}))
        assert set(body) == {"code", "data", "total_datasets"}
        assert body["total_datasets"] == 3
        assert [d["id"] for d in body["data"]] == [ids[2], ids[1]]
        body = ok(api.get("/datasets", params={"page": "2", "page_size": "2"}))
        assert body["total_datasets"] == 3
        assert [d["id"] for d in body["data"]] == [ids[0]]
        body = ok(api.get("/datasets", params={"page": "5", "page_size": "2"}))
        assert body == {"code": 0, "data": [], "total_datasets": 3}
        body = ok(api.get("/datasets", params={"id": ids[1]}))
        assert body["total_datasets"] == 1

    def test_empty_list(self, api):
        assert ok(api.get("/datasets")) == {"code": 0, "data": [], "total_datasets": 0}

    def test_default_page_size_30(self, api):
        for i in range(31):
            create(api, name=f"bulk-{i:02d}-{uuid.uuid4().hex[:6]}")
        body = ok(api.get("/datasets"))
        assert len(body["data"]) == 30
        assert body["total_datasets"] == 31
        assert len(ok(api.get("/datasets", params={"page": "2"}))["data"]) == 1

    def test_string_numbers_accepted(self, api):
        create(api)
        assert len(ok(api.get("/datasets", params={"page": "1", "page_size": "1"}))["data"]) == 1


# ---------------------------------------------------------------------------------------------
# The dataset object (§6.1)
# ---------------------------------------------------------------------------------------------


class TestDatasetObject:
    def test_keys_and_defaults(self, api, tenant_id):
        before_ms = int(time.time() * 1000)
        data = create(api, name=unique_name("obj"))
        after_ms = int(time.time() * 1000)
        assert set(data) == DATASET_KEYS
        assert HEX32.match(data["id"]) and uuid.UUID(data["id"]).version == 1
        assert data["tenant_id"] == tenant_id
        assert data["created_by"] == tenant_id
        assert data["language"] == "English"
        assert data["embedding_model"] == DEFAULT_EMBEDDING_MODEL
        assert data["permission"] == "me"
        assert data["chunk_method"] == "naive"
        assert data["parser_config"] == DEFAULT_PARSER_CONFIG
        assert (data["document_count"], data["token_num"], data["chunk_count"], data["pagerank"]) == (0, 0, 0, 0)
        assert data["similarity_threshold"] == 0.2
        assert data["vector_similarity_weight"] == 0.3
        assert data["status"] == "1"
        for k in ("avatar", "description", "pipeline_id", "graphrag_task_id", "graphrag_task_finish_at", "raptor_task_id",
                  "raptor_task_finish_at", "mindmap_task_id", "mindmap_task_finish_at"):
            assert data[k] is None, k
        # epoch milliseconds as ints; dates as RFC-1123 strings of the same instant (server-local wall time)
        for k in ("create_time", "update_time"):
            assert type(data[k]) is int, (k, data[k])
            assert before_ms - 5 <= data[k] <= after_ms + 5, (k, data[k], before_ms, after_ms)
        for k, t in (("create_date", "create_time"), ("update_date", "update_time")):
            assert RFC1123.match(data[k]), (k, data[k])
            shown = parsedate_to_datetime(data[k]).replace(tzinfo=None)
            local = datetime.fromtimestamp(data[t] / 1000).replace(microsecond=0)
            assert abs((shown - local).total_seconds()) <= 1, (data[k], local)

    def test_same_object_from_create_list_update(self, api):
        created = create(api, name=unique_name("same"))
        listed = ok(api.get("/datasets", params={"id": created["id"]}))["data"]
        assert pinned_rows(listed) == [created]

    def test_update_time_moves(self, api):
        created = create(api, name=unique_name("upd"))
        time.sleep(1.1)  # the *_date strings have second resolution
        updated = ok(api.put(f"/datasets/{created['id']}", json={"description": "later"}))["data"]
        assert updated["create_time"] == created["create_time"]
        assert updated["create_date"] == created["create_date"]
        assert updated["update_time"] > created["update_time"]
        assert updated["update_date"] != created["update_date"]
        assert set(updated) == DATASET_KEYS
        listed = ok(api.get("/datasets", params={"id": created["id"]}))["data"]
        assert pinned_rows(listed) == [updated]


# ---------------------------------------------------------------------------------------------
# Tenant isolation
# ---------------------------------------------------------------------------------------------


class TestIsolation:
    @pytest.fixture
    def a_dataset(self, api):
        return create(api, name=unique_name("tenant-a"), description="A's", permission="team")

    def test_list_excludes_other_tenant(self, api, other_api_key, a_dataset):
        body = ok(api.get("/datasets", key=other_api_key))
        assert body == {"code": 0, "data": [], "total_datasets": 0}
        assert [d["id"] for d in ok(api.get("/datasets"))["data"]] == [a_dataset["id"]]

    def test_empty_name_lists_all(self, api, other_api_key, a_dataset):
        # `name=` is falsy upstream: no name filter, only the caller's datasets
        assert [d["id"] for d in ok(api.get("/datasets", params={"name": ""}))["data"]] == [a_dataset["id"]]
        assert ok(api.get("/datasets", key=other_api_key, params={"name": ""})) == {"code": 0, "data": [], "total_datasets": 0}

    def test_get_by_id_or_name(self, api, other_api_key, other_tenant_id, a_dataset):
        res = api.get("/datasets", key=other_api_key, params={"id": a_dataset["id"]})
        assert err(res) == {"code": 108, "message": lacks_permission(other_tenant_id, a_dataset["id"])}
        res = api.get("/datasets", key=other_api_key, params={"name": a_dataset["name"]})
        assert err(res) == {"code": 108, "message": lacks_permission(other_tenant_id, a_dataset["name"])}

    def test_update(self, api, other_api_key, other_tenant_id, a_dataset):
        res = api.put(f"/datasets/{a_dataset['id']}", key=other_api_key, json={"name": "stolen", "description": "B's"})
        assert err(res) == {"code": 108, "message": lacks_permission(other_tenant_id, a_dataset["id"])}
        assert pinned_rows(ok(api.get("/datasets", params={"id": a_dataset["id"]}))["data"]) == [a_dataset]

    def test_delete(self, api, other_api_key, other_tenant_id, a_dataset):
        res = api.delete("/datasets", key=other_api_key, json={"ids": [a_dataset["id"]]})
        assert err(res) == {"code": 108, "message": lacks_permission_delete(other_tenant_id, [a_dataset["id"]])}
        # B's delete-all only touches B's datasets
        b = create(api, key=other_api_key, name=unique_name("tenant-b"))
        ok(api.delete("/datasets", key=other_api_key, json={"ids": None}))
        assert ok(api.get("/datasets", key=other_api_key))["data"] == []
        assert pinned_rows(ok(api.get("/datasets", params={"id": a_dataset["id"]}))["data"]) == [a_dataset]
        assert b["tenant_id"] != a_dataset["tenant_id"]

    def test_delete_mixed_own_and_foreign(self, api, other_api_key, other_tenant_id, a_dataset):
        b = create(api, key=other_api_key, name=unique_name("tenant-b"))
        res = api.delete("/datasets", key=other_api_key, json={"ids": [b["id"], a_dataset["id"]]})
        assert err(res) == {"code": 108, "message": lacks_permission_delete(other_tenant_id, [a_dataset["id"]])}
        # checked for all ids before deleting anything
        assert [d["id"] for d in ok(api.get("/datasets", key=other_api_key))["data"]] == [b["id"]]

    def test_same_name_both_tenants(self, api, other_api_key, a_dataset):
        b = create(api, key=other_api_key, name=a_dataset["name"])
        assert b["name"] == a_dataset["name"]

    def test_rename_to_other_tenants_name(self, api, other_api_key, a_dataset):
        b = create(api, key=other_api_key, name=unique_name("tenant-b"))
        data = ok(api.put(f"/datasets/{b['id']}", key=other_api_key, json={"name": a_dataset["name"]}))["data"]
        assert data["name"] == a_dataset["name"]


# ---------------------------------------------------------------------------------------------
# Knowledge graph / RAPTOR routes (D5–D10): access-checked first; the knowledge-graph ones are
# not implemented yet (RAPTOR: test_raptor.py)
# ---------------------------------------------------------------------------------------------


KG_ROUTES = [
    ("GET", "/datasets/{id}/knowledge_graph"),
    ("DELETE", "/datasets/{id}/knowledge_graph"),
    ("POST", "/datasets/{id}/run_graphrag"),
    ("GET", "/datasets/{id}/trace_graphrag"),
    ("POST", "/datasets/{id}/run_raptor"),
    ("GET", "/datasets/{id}/trace_raptor"),
]


class TestKnowledgeGraphRoutes:
    @pytest.mark.parametrize("method, path", KG_ROUTES)
    def test_own_empty_dataset(self, api, method, path):
        """Before any run, on a dataset without documents (the runs are in test_graphrag.py
        and test_raptor.py)."""
        ds = create(api, name=unique_name("kg"))
        body = api.request(method, path.format(id=ds["id"])).json()
        expected = {
            "knowledge_graph": {"code": 0, "data": {"graph": {}, "mind_map": {}}},
            "trace_graphrag": {"code": 0, "data": {}},
            "trace_raptor": {"code": 0, "data": {}},
            "run_graphrag": {"code": 102, "message": f"No documents in Dataset {ds['id']}"},
            "run_raptor": {"code": 102, "message": f"No documents in Dataset {ds['id']}"},
        }[path.rsplit("/", 1)[1]]
        if method == "DELETE":
            expected = {"code": 0, "data": True}
        assert body == expected

    @pytest.mark.parametrize("method, path", KG_ROUTES)
    def test_other_tenants_dataset(self, api, other_api_key, method, path):
        ds = create(api, name=unique_name("kg"))
        body = err(api.request(method, path.format(id=ds["id"]), key=other_api_key))
        assert body == {"code": 109, "message": "No authorization."}

    @pytest.mark.parametrize("method, path", KG_ROUTES)
    @pytest.mark.parametrize("dataset_id", ["unknown-uuid1", "abc"])
    def test_unknown_dataset(self, api, method, path, dataset_id):
        if dataset_id == "unknown-uuid1":
            dataset_id = uuid1_hex()
        body = err(api.request(method, path.format(id=dataset_id)))
        assert body == {"code": 109, "message": "No authorization."}


# ---------------------------------------------------------------------------------------------
# Persistence across a restart (own server, own data dir, own port)
# ---------------------------------------------------------------------------------------------


def test_data_persists_across_restart(tmp_path):
    data_dir = tmp_path / "data"
    # tenant via `key create` on a fresh data dir (creates the default tenant), plus a second one
    key_proc = run_cli(data_dir, "key", "create")
    api_key = key_proc.stdout.strip().splitlines()[-1].strip()
    assert api_key.startswith("ragflow-"), key_proc.stdout
    other = create_tenant(data_dir, "persist-b")

    first = ServerProcess(data_dir=data_dir, port=free_port(), log_path=tmp_path / "first.log").start()
    try:
        c = RAGFlow(api_key=api_key, base_url=first.base_url)
        ds = c.create_dataset(name=unique_name("persist"), description="kept", permission="team", chunk_method="qa")
        ds.update({"pagerank": 12, "parser_config": {"raptor": {"max_token": 300}}})
        gone = c.create_dataset(name=unique_name("gone"))
        c.delete_datasets(ids=[gone.id])
        theirs = RAGFlow(api_key=other.api_key, base_url=first.base_url).create_dataset(name=unique_name("theirs"))
        before = requests.get(f"{first.base_url}/api/v1/datasets", headers={"Authorization": f"Bearer {api_key}"}, timeout=30).json()
        assert [d["id"] for d in before["data"]] == [ds.id]
    finally:
        rc = first.stop()
    assert rc == 0, f"graceful shutdown on SIGTERM should exit 0, got {rc}; log:\n{first.log()}"

    second = ServerProcess(data_dir=data_dir, port=free_port(), log_path=tmp_path / "second.log").start()
    try:
        after = requests.get(f"{second.base_url}/api/v1/datasets", headers={"Authorization": f"Bearer {api_key}"}, timeout=30).json()
        assert after == before
        c2 = RAGFlow(api_key=api_key, base_url=second.base_url)
        got = c2.get_dataset(name=ds.name)
        assert got.id == ds.id
        assert (got.pagerank, got.parser_config.raptor.max_token, got.chunk_method) == (12, 300, "qa")
        # still unique per tenant after the restart
        assert c2.create_dataset(name=ds.name).name == f"{ds.name}(1)"
        # the other tenant's key and data survived too
        o2 = RAGFlow(api_key=other.api_key, base_url=second.base_url)
        assert [d.id for d in o2.list_datasets()] == [theirs.id]
    finally:
        assert second.stop() == 0
