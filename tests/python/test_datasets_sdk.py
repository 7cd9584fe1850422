"""Datasets through the official client (ragflow-sdk 0.23.1): what it sends, what it reads back.

Contract: shared/reference/endpoints.md §5, §6.1–6.2, §7.1 (D1–D4) and sdk-map.md §1–2.
The SDK raises `Exception(message)` on any non-zero code, so `str(exc)` must equal the server's message.
"""

from __future__ import annotations

import json
import uuid

import pytest
import requests
from beartype.roar import BeartypeCallHintParamViolation
from ragflow_sdk import DataSet, RAGFlow

from helpers import (
    SDK_026,
    CHUNK_METHOD_MESSAGE,
    CHUNK_METHODS,
    DEFAULT_CHAT_MODEL,
    DEFAULT_EMBEDDING_MODEL,
    DEFAULT_PARSER_CONFIG,
    HEX32,
    JPEG_AVATAR,
    PNG_AVATAR,
    PYDANTIC_PARSER_CONFIG,
    RAPTOR_PROMPT,
    created_parser_config,
    created_parser_config_with,
    deep_merge,
    field_error,
    lacks_permission,
    lacks_permission_delete,
    method_parser_config,
    param_id,
    tick,
    unique_name,
    uuid1_hex,
)

OPENAI_EMBEDDING = "text-embedding-3-small@OpenAI"


def sdk_error(fn, *args, **kwargs) -> str:
    """Run an SDK call that must fail on the server side; return str(exception)."""
    with pytest.raises(Exception) as ei:
        fn(*args, **kwargs)
    assert not isinstance(ei.value, (BeartypeCallHintParamViolation, KeyError, requests.JSONDecodeError)), repr(ei.value)
    return str(ei.value)


def pc_json(ds: DataSet) -> dict:
    """The DataSet's parser_config back as plain JSON (the SDK wraps nested dicts in Base objects)."""
    return ds.parser_config.to_json()


def names(datasets) -> list[str]:
    return [d.name for d in datasets]


# create with an invalid parser_config → the exact validation message
INVALID_PARSER_CONFIGS = [
    ({"chunk_token_num": 0}, field_error("parser_config.chunk_token_num", "Input should be greater than or equal to 1", 0)),
    ({"chunk_token_num": 2049}, field_error("parser_config.chunk_token_num", "Input should be less than or equal to 2048", 2049)),
    ({"chunk_token_num": "512"}, field_error("parser_config.chunk_token_num", "Input should be a valid integer", "512")),
    ({"chunk_token_num": True}, field_error("parser_config.chunk_token_num", "Input should be a valid integer", True)),
    ({"auto_keywords": 33}, field_error("parser_config.auto_keywords", "Input should be less than or equal to 32", 33)),
    ({"auto_questions": 11}, field_error("parser_config.auto_questions", "Input should be less than or equal to 10", 11)),
    ({"topn_tags": 0}, field_error("parser_config.topn_tags", "Input should be greater than or equal to 1", 0)),
    ({"delimiter": ""}, field_error("parser_config.delimiter", "String should have at least 1 character", "")),
    ({"html4excel": "true"}, field_error("parser_config.html4excel", "Input should be a valid boolean", "true")),
    ({"tag_kb_ids": "a"}, field_error("parser_config.tag_kb_ids", "Input should be a valid list", "a")),
    ({"pages": [[1, "a"]]}, field_error("parser_config.pages.0.1", "Input should be a valid integer", "a")),
    ({"raptor": {"threshold": 2}}, field_error("parser_config.raptor.threshold", "Input should be less than or equal to 1", 2)),
    ({"raptor": {"threshold": -0.5}}, field_error("parser_config.raptor.threshold", "Input should be greater than or equal to 0", -0.5)),
    ({"raptor": {"max_token": 1.5}}, field_error("parser_config.raptor.max_token", "Input should be a valid integer", 1.5)),
    ({"raptor": {"prompt": "  "}}, field_error("parser_config.raptor.prompt", "String should have at least 1 character", "  ")),
    ({"graphrag": {"method": "x"}}, field_error("parser_config.graphrag.method", "Input should be 'light' or 'general'", "x")),
    ({"bogus": 1}, field_error("parser_config.bogus", "Extra inputs are not permitted", 1)),
    ({"auto_keywords": -1}, field_error("parser_config.auto_keywords", "Input should be greater than or equal to 0", -1)),
    ({"auto_keywords": 3.14}, field_error("parser_config.auto_keywords", "Input should be a valid integer", 3.14)),
    ({"filename_embd_weight": "string"}, field_error("parser_config.filename_embd_weight", "Input should be a valid number", "string")),
    ({"filename_embd_weight": 1.1}, field_error("parser_config.filename_embd_weight", "Input should be less than or equal to 1", 1.1)),
    ({"task_page_size": 0}, field_error("parser_config.task_page_size", "Input should be greater than or equal to 1", 0)),
    ({"pages": "1,2"}, field_error("parser_config.pages", "Input should be a valid list", "1,2")),
    ({"pages": ["1,2"]}, field_error("parser_config.pages.0", "Input should be a valid list", "1,2")),
    (
        {"tag_kb_ids": [1, 2]},
        field_error("parser_config.tag_kb_ids.0", "Input should be a valid string", 1)
        + "\n"
        + field_error("parser_config.tag_kb_ids.1", "Input should be a valid string", 2),
    ),
    ({"graphrag": {"use_graphrag": "string"}}, field_error("parser_config.graphrag.use_graphrag", "Input should be a valid boolean", "string")),
    ({"graphrag": {"entity_types": "a,b"}}, field_error("parser_config.graphrag.entity_types", "Input should be a valid list", "a,b")),
    ({"graphrag": {"method": None}}, field_error("parser_config.graphrag.method", "Input should be 'light' or 'general'", None)),
    ({"graphrag": "x"}, field_error("parser_config.graphrag", "Input should be a valid dictionary or instance of GraphragConfig", "x")),
    ({"raptor": None}, field_error("parser_config.raptor", "Input should be a valid dictionary or instance of RaptorConfig", None)),
    ({"raptor": {"max_cluster": 1025}}, field_error("parser_config.raptor.max_cluster", "Input should be less than or equal to 1024", 1025)),
    ({"raptor": {"random_seed": -1}}, field_error("parser_config.raptor.random_seed", "Input should be greater than or equal to 0", -1)),
    ({"raptor": {"threshold": "string"}}, field_error("parser_config.raptor.threshold", "Input should be a valid number", "string")),
    ({"raptor": {"prompt": ""}}, field_error("parser_config.raptor.prompt", "String should have at least 1 character", "")),
    ({"raptor": {"bogus": 1}}, field_error("parser_config.raptor.bogus", "Extra inputs are not permitted", 1)),
    ({"llm_id": DEFAULT_CHAT_MODEL}, field_error("parser_config.llm_id", "Extra inputs are not permitted", DEFAULT_CHAT_MODEL)),
    (
        {"chunk_token_num": 0, "topn_tags": 11},
        field_error("parser_config.chunk_token_num", "Input should be greater than or equal to 1", 0)
        + "\n"
        + field_error("parser_config.topn_tags", "Input should be less than or equal to 10", 11),
    ),
]


# ---------------------------------------------------------------------------------------------
# create_dataset
# ---------------------------------------------------------------------------------------------


class TestCreate:
    def test_defaults(self, client, tenant_id):
        name = unique_name("defaults")
        ds = client.create_dataset(name=name)
        assert isinstance(ds, DataSet)
        assert HEX32.match(ds.id) and uuid.UUID(ds.id).version == 1, ds.id
        assert ds.name == name
        assert ds.tenant_id == tenant_id
        assert ds.avatar is None
        assert ds.description is None
        assert ds.embedding_model == DEFAULT_EMBEDDING_MODEL
        assert ds.permission == "me"
        assert ds.chunk_method == "naive"
        assert ds.document_count == 0
        assert ds.chunk_count == 0
        assert ds.pagerank == 0
        assert pc_json(ds) == DEFAULT_PARSER_CONFIG
        # raptor/graphrag switched on by the naive defaults, llm_id = tenant's default chat model
        assert ds.parser_config.raptor.use_raptor is True
        assert ds.parser_config.graphrag.use_graphrag is True
        assert ds.parser_config.llm_id == DEFAULT_CHAT_MODEL
        assert ds.parser_config.raptor.prompt == RAPTOR_PROMPT
        assert ds.parser_config.delimiter == "\n"

    def test_every_argument(self, client):
        name = unique_name("every")
        given = {
            "chunk_token_num": 256,
            "delimiter": "\n!?",
            "raptor": {"use_raptor": True, "max_token": 512, "threshold": 0.5},
            "graphrag": {"use_graphrag": True, "method": "general", "entity_types": ["person"]},
            "auto_keywords": 3,
            "tag_kb_ids": ["a", "b"],
        }
        ds = client.create_dataset(
            name=name,
            avatar=PNG_AVATAR,
            description="a description",
            embedding_model=DEFAULT_EMBEDDING_MODEL,
            permission="team",
            chunk_method="manual",
            parser_config=DataSet.ParserConfig(client, given),
        )
        assert ds.name == name
        assert ds.avatar == PNG_AVATAR
        assert ds.description == "a description"
        assert ds.embedding_model == DEFAULT_EMBEDDING_MODEL
        assert ds.permission == "team"
        assert ds.chunk_method == "manual"
        expected = created_parser_config_with("manual", given)
        assert pc_json(ds) == expected
        # spot checks of the merge rules (pydantic defaults over the method's defaults)
        assert ds.parser_config.raptor.use_raptor is True
        assert ds.parser_config.raptor.max_token == 512
        assert ds.parser_config.raptor.auto_disable_for_structured_data is True
        assert ds.parser_config.graphrag.community is False
        assert ds.parser_config.topn_tags == 1
        assert ds.parser_config.llm_id == DEFAULT_CHAT_MODEL
        # and it is stored like that
        again = client.get_dataset(name=name)
        assert again.id == ds.id
        assert pc_json(again) == expected
        assert again.avatar == PNG_AVATAR

    def test_jpeg_avatar(self, client):
        ds = client.create_dataset(name=unique_name("jpeg"), avatar=JPEG_AVATAR)
        assert ds.avatar == JPEG_AVATAR

    def test_parser_config_object(self, client):
        """A DataSet.ParserConfig is dumped with all pydantic defaults and merged over naive's defaults."""
        given = {"chunk_token_num": 1024}
        ds = client.create_dataset(name=unique_name("pc"), parser_config=DataSet.ParserConfig(client, given))
        expected = {
            "table_context_size": 0,
            "image_context_size": 0,
            "layout_recognize": "DeepDOC",
            "chunk_token_num": 1024,
            "delimiter": "\\n",
            "auto_keywords": 0,
            "auto_questions": 0,
            "html4excel": False,
            "topn_tags": 1,
            "raptor": {
                "use_raptor": False,
                "prompt": RAPTOR_PROMPT,
                "max_token": 256,
                "threshold": 0.1,
                "max_cluster": 64,
                "random_seed": 0,
                "auto_disable_for_structured_data": True,
            },
            "graphrag": {
                "use_graphrag": False,
                "entity_types": ["organization", "person", "geo", "event", "category"],
                "method": "light",
                "community": False,
                "resolution": False,
            },
            "tag_kb_ids": [],
            "filename_embd_weight": 0.1,
            "task_page_size": None,
            "pages": None,
            "llm_id": DEFAULT_CHAT_MODEL,
        }
        assert pc_json(ds) == expected
        assert expected == created_parser_config_with("naive", given)

    def test_empty_parser_config_object_means_defaults(self, client):
        ds = client.create_dataset(name=unique_name("pc-empty"), parser_config=DataSet.ParserConfig(client, {}))
        assert pc_json(ds) == DEFAULT_PARSER_CONFIG

    @pytest.mark.parametrize("chunk_method", CHUNK_METHODS)
    def test_chunk_methods(self, client, chunk_method):
        ds = client.create_dataset(name=unique_name(chunk_method), chunk_method=chunk_method)
        assert ds.chunk_method == chunk_method
        assert pc_json(ds) == created_parser_config(chunk_method)

    @pytest.mark.parametrize("chunk_method", ["qa", "table", "naive"])
    def test_chunk_method_with_parser_config(self, client, chunk_method):
        given = {"raptor": {"use_raptor": True}, "pages": [[1, 3]], "task_page_size": 4}
        ds = client.create_dataset(
            name=unique_name("cm-pc"), chunk_method=chunk_method, parser_config=DataSet.ParserConfig(client, given)
        )
        assert pc_json(ds) == created_parser_config_with(chunk_method, given)

    def test_name_is_stripped_and_128_chars_allowed(self, client):
        base = unique_name("strip")
        ds = client.create_dataset(name=f"  {base}\t ")
        assert ds.name == base
        long_name = ("x" * 128)[: 128 - len(base)] + base
        assert len(long_name) == 128
        assert client.create_dataset(name=long_name).name == long_name

    def test_unicode_name(self, client):
        name = "数据集-" + uuid.uuid4().hex[:6] + "-é"
        ds = client.create_dataset(name=name)
        assert ds.name == name
        assert client.get_dataset(name=name).id == ds.id

    def test_duplicate_names_auto_renamed(self, client):
        base = unique_name("Dup")
        assert client.create_dataset(name=base).name == base
        assert client.create_dataset(name=base).name == f"{base}(1)"
        # case-insensitive: `base(1)` is taken too, whatever its case
        assert client.create_dataset(name=base.upper()).name == f"{base.upper()}(2)"
        assert client.create_dataset(name=base.lower()).name == f"{base.lower()}(3)"
        listed = names(client.list_datasets(page_size=100))
        assert sorted(listed) == sorted([base, f"{base}(1)", f"{base.upper()}(2)", f"{base.lower()}(3)"])

    def test_duplicate_dotted_name_counter_before_extension(self, client):
        stem = unique_name("notes")
        assert client.create_dataset(name=f"{stem}.md").name == f"{stem}.md"
        assert client.create_dataset(name=f"{stem}.md").name == f"{stem}(1).md"
        assert client.create_dataset(name=f"{stem.upper()}.md").name == f"{stem.upper()}(2).md"

    def test_same_name_in_other_tenant_not_renamed(self, client, other_client):
        name = unique_name("shared")
        assert client.create_dataset(name=name).name == name
        assert other_client.create_dataset(name=name).name == name


class TestCreateErrors:
    @pytest.mark.parametrize(
        "name, message",
        [
            ("", field_error("name", "String should have at least 1 character", "")),
            (" ", field_error("name", "String should have at least 1 character", " ")),
            ("a" * 129, field_error("name", "String should have at most 128 characters", "a" * 129)),
            (" " + "b" * 129 + " ", field_error("name", "String should have at most 128 characters", " " + "b" * 129 + " ")),
        ],
        ids=["empty", "space", "129_chars", "129_chars_padded"],
    )
    def test_invalid_name(self, client, name, message):
        assert sdk_error(client.create_dataset, name=name) == message

    def test_name_over_128_utf8_bytes(self, client):
        name = "é" * 65  # 65 characters, 130 bytes
        assert sdk_error(client.create_dataset, name=name) == "Dataset name length is 65 which is large than 128"

    @pytest.mark.parametrize("name", [0, None, ["a"]])
    def test_name_type_checked_client_side(self, client, name):
        # beartype rejects it before any HTTP call; the server-side messages are in test_datasets_http.py
        with pytest.raises(BeartypeCallHintParamViolation):
            client.create_dataset(name=name)

    @pytest.mark.parametrize("chunk_method", ["unknown", "", "Naive", "knowledge_graph", "resume"])
    def test_unknown_chunk_method(self, client, chunk_method):
        assert sdk_error(client.create_dataset, name=unique_name(), chunk_method=chunk_method) == field_error(
            "chunk_method", CHUNK_METHOD_MESSAGE, chunk_method
        )

    @pytest.mark.parametrize(
        "avatar, msg",
        [
            ("", "Missing MIME prefix. Expected format: data:<mime>;base64,<data>"),
            ("data:image/png;base64", "Missing MIME prefix. Expected format: data:<mime>;base64,<data>"),
            ("iVBORw0KGgo", "Missing MIME prefix. Expected format: data:<mime>;base64,<data>"),
            ("image/png;base64,iVBORw0KGgo", "Invalid MIME prefix format. Must start with 'data:'"),
            ("invalid_mine_prefix:image/png;base64,iVBORw0KGgo", "Invalid MIME prefix format. Must start with 'data:'"),
            ("data:unsupported_mine_type;base64,iVBORw0KGgo", "Unsupported MIME type. Allowed: ['image/jpeg', 'image/png']"),
            ("data:image/gif;base64,R0lGOD", "Unsupported MIME type. Allowed: ['image/jpeg', 'image/png']"),
        ],
        ids=["empty", "missing_comma", "no_prefix", "no_data_scheme", "bad_scheme", "bad_mime", "gif"],
    )
    def test_invalid_avatar(self, client, avatar, msg):
        assert sdk_error(client.create_dataset, name=unique_name(), avatar=avatar) == field_error("avatar", msg, avatar)

    def test_avatar_too_long(self, client):
        avatar = "data:image/png;base64," + "A" * 65536
        assert sdk_error(client.create_dataset, name=unique_name(), avatar=avatar) == field_error(
            "avatar", "String should have at most 65535 characters", avatar
        )

    def test_description_too_long(self, client):
        description = "d" * 65536
        assert sdk_error(client.create_dataset, name=unique_name(), description=description) == field_error(
            "description", "String should have at most 65535 characters", description
        )

    @pytest.mark.parametrize(
        "model, msg",
        [
            ("", "Embedding model identifier must follow <model_name>@<provider> format"),
            (" ", "Embedding model identifier must follow <model_name>@<provider> format"),
            ("all-MiniLM-L6-v2Builtin", "Embedding model identifier must follow <model_name>@<provider> format"),
            ("@Builtin", "Both model_name and provider must be non-empty strings"),
            ("all-MiniLM-L6-v2@", "Both model_name and provider must be non-empty strings"),
            (" @Builtin", "Both model_name and provider must be non-empty strings"),
            ("all-MiniLM-L6-v2@ ", "Both model_name and provider must be non-empty strings"),
        ],
        ids=["empty", "space", "missing_at", "empty_model", "empty_provider", "blank_model", "blank_provider"],
    )
    def test_embedding_model_format(self, client, model, msg):
        # Value: the input as sent (pydantic reports the raw input, not the stripped one)
        assert sdk_error(client.create_dataset, name=unique_name(), embedding_model=model) == field_error(
            "embedding_model", msg, model
        )

    def test_embedding_model_too_long(self, client):
        model = "m" * 250 + "@OpenAI"
        assert sdk_error(client.create_dataset, name=unique_name(), embedding_model=model) == field_error(
            "embedding_model", "String should have at most 255 characters", model
        )

    @pytest.mark.parametrize("model", ["nope@OpenAI", "all-MiniLM-L6-v2@NoSuchFactory", "unknown@ZHIPU-AI", "embedding-3@unknown"])
    def test_unsupported_model(self, client, model):
        assert sdk_error(client.create_dataset, name=unique_name(), embedding_model=model) == f"Unsupported model: <{model}>"

    @pytest.mark.parametrize("model", [OPENAI_EMBEDDING, "embedding-3@ZHIPU-AI", "text-embedding-v3@Tongyi-Qianwen"])
    def test_unauthorized_model(self, client, model):
        assert sdk_error(client.create_dataset, name=unique_name(), embedding_model=model) == f"Unauthorized model: <{model}>"

    def test_model_errors_create_nothing(self, client):
        name = unique_name("nothing")
        sdk_error(client.create_dataset, name=name, embedding_model=OPENAI_EMBEDDING)
        sdk_error(client.create_dataset, name=name, chunk_method="nope")
        assert client.list_datasets() == []

    @pytest.mark.parametrize("permission", ["", "ME", "Team", " me ", "unknown"], ids=["empty", "ME", "Team", "padded", "unknown"])
    def test_invalid_permission(self, client, permission):
        assert sdk_error(client.create_dataset, name=unique_name(), permission=permission) == field_error(
            "permission", "Input should be 'me' or 'team'", permission
        )

    @pytest.mark.parametrize("given, message", INVALID_PARSER_CONFIGS, ids=[param_id(g) for g, _ in INVALID_PARSER_CONFIGS])
    def test_invalid_parser_config(self, client, given, message):
        pc = DataSet.ParserConfig(client, given)
        assert sdk_error(client.create_dataset, name=unique_name(), parser_config=pc) == message

    def test_parser_config_too_large(self, client):
        given = {"layout_recognize": "x" * 70000}
        # size = len(ParserConfig(**given).model_dump_json()): compact JSON in field order
        dumped = deep_merge(PYDANTIC_PARSER_CONFIG, given)
        size = len(json.dumps(dumped, separators=(",", ":"), ensure_ascii=False))
        assert size == 70705
        msg = sdk_error(client.create_dataset, name=unique_name(), parser_config=DataSet.ParserConfig(client, given))
        assert msg == field_error(
            "parser_config",
            f"Parser config exceeds size limit (max 65,535 characters). Current size: {size}",
            given,
        )


# ---------------------------------------------------------------------------------------------
# list_datasets / get_dataset
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def three_datasets(client):
    """d1, d2, d3 created in that order (distinct create_time)."""
    out = []
    for i in range(3):
        out.append(client.create_dataset(name=unique_name(f"list{i + 1}")))
        tick()
    return out


class TestList:
    def test_default_order_newest_first(self, client, three_datasets):
        d1, d2, d3 = three_datasets
        got = client.list_datasets()
        assert [d.id for d in got] == [d3.id, d2.id, d1.id]
        assert all(isinstance(d, DataSet) for d in got)

    def test_desc_false(self, client, three_datasets):
        d1, d2, d3 = three_datasets
        assert [d.id for d in client.list_datasets(desc=False)] == [d1.id, d2.id, d3.id]
        assert [d.id for d in client.list_datasets(orderby="create_time", desc=True)] == [d3.id, d2.id, d1.id]

    def test_pagination(self, client, three_datasets):
        d1, d2, d3 = three_datasets
        assert [d.id for d in client.list_datasets(page=1, page_size=2)] == [d3.id, d2.id]
        assert [d.id for d in client.list_datasets(page=2, page_size=2)] == [d1.id]
        assert client.list_datasets(page=3, page_size=2) == []
        assert client.list_datasets(page=100, page_size=30) == []
        assert [d.id for d in client.list_datasets(page=2, page_size=1, desc=False)] == [d2.id]
        assert [d.id for d in client.list_datasets(page=1, page_size=1)] == [d3.id]

    def test_orderby_update_time(self, client, three_datasets):
        d1, d2, d3 = three_datasets
        d1.update({"description": "touched"})
        tick()
        d2.update({"description": "touched too"})
        assert [d.id for d in client.list_datasets(orderby="update_time")] == [d2.id, d1.id, d3.id]
        assert [d.id for d in client.list_datasets(orderby="update_time", desc=False)] == [d3.id, d1.id, d2.id]
        # create_time ordering is unaffected by updates
        assert [d.id for d in client.list_datasets(orderby="create_time")] == [d3.id, d2.id, d1.id]

    def test_filter_by_id(self, client, three_datasets):
        _, d2, _ = three_datasets
        got = client.list_datasets(id=d2.id)
        assert [d.id for d in got] == [d2.id]
        assert got[0].name == d2.name
        # the dashed UUID form is accepted and normalised
        assert [d.id for d in client.list_datasets(id=str(uuid.UUID(d2.id)))] == [d2.id]

    def test_filter_by_name(self, client, three_datasets):
        _, d2, _ = three_datasets
        assert [d.id for d in client.list_datasets(name=d2.name)] == [d2.id]
        assert [d.id for d in client.list_datasets(id=d2.id, name=d2.name)] == [d2.id]

    def test_get_dataset(self, client, three_datasets):
        _, d2, _ = three_datasets
        got = client.get_dataset(name=d2.name)
        assert isinstance(got, DataSet)
        assert got.to_json() == d2.to_json()

    def test_listed_object_equals_created(self, client):
        ds = client.create_dataset(name=unique_name("same"), description="x", permission="team", chunk_method="qa")
        (listed,) = client.list_datasets(id=ds.id)
        assert listed.to_json() == ds.to_json()

    def test_unknown_id(self, client, tenant_id):
        unknown = uuid1_hex()
        assert sdk_error(client.list_datasets, id=unknown) == lacks_permission(tenant_id, unknown)

    def test_unknown_name(self, client, tenant_id):
        name = unique_name("missing")
        assert sdk_error(client.list_datasets, name=name) == lacks_permission(tenant_id, name)
        assert sdk_error(client.get_dataset, name=name) == lacks_permission(tenant_id, name)

    def test_id_and_name_of_different_datasets(self, client, three_datasets):
        # both exist, so both checks pass; the filters combine (AND) into an empty page
        d1, d2, _ = three_datasets
        assert client.list_datasets(id=d1.id, name=d2.name) == []

    @pytest.mark.parametrize(
        "kwargs, message",
        [
            ({"page": 0}, field_error("page", "Input should be greater than or equal to 1", 0)),
            ({"page_size": 0}, field_error("page_size", "Input should be greater than or equal to 1", 0)),
            ({"orderby": "name"}, field_error("orderby", "Input should be 'create_time' or 'update_time'", "name")),
            ({"id": "abc"}, field_error("id", "Invalid UUID1 format", "abc")),
            ({"id": uuid.uuid4().hex}, None),
        ],
        ids=["page0", "page_size0", "orderby", "id_not_uuid", "id_uuid4"],
    )
    def test_invalid_params(self, client, kwargs, message):
        if message is None:
            message = field_error("id", "Invalid UUID1 format", kwargs["id"])
        assert sdk_error(client.list_datasets, **kwargs) == message

    def test_empty(self, client):
        assert client.list_datasets() == []


# ---------------------------------------------------------------------------------------------
# DataSet.update
# ---------------------------------------------------------------------------------------------


class TestUpdate:
    def test_name(self, client):
        ds = client.create_dataset(name=unique_name("old"))
        new = unique_name("new")
        assert ds.update({"name": new}) is ds
        assert ds.name == new
        assert client.get_dataset(name=new).id == ds.id
        assert sdk_error(client.get_dataset, name="never-" + new)

    def test_name_stripped(self, client):
        ds = client.create_dataset(name=unique_name("old"))
        new = unique_name("new")
        ds.update({"name": f"  {new} "})
        assert ds.name == new

    def test_rename_to_own_name_in_other_case(self, client):
        name = unique_name("Case")
        ds = client.create_dataset(name=name)
        ds.update({"name": name.upper()})
        assert ds.name == name.upper()
        ds.update({"name": name.upper()})  # unchanged name is fine too
        assert ds.name == name.upper()

    def test_description_and_avatar(self, client):
        ds = client.create_dataset(name=unique_name("desc"))
        ds.update({"description": "new description", "avatar": PNG_AVATAR})
        assert ds.description == "new description"
        assert ds.avatar == PNG_AVATAR
        ds.update({"description": None, "avatar": None})  # null clears
        assert ds.description is None
        assert ds.avatar is None
        assert client.get_dataset(name=ds.name).description is None

    def test_embedding_model_same_and_null(self, client):
        ds = client.create_dataset(name=unique_name("embd"))
        ds.update({"embedding_model": DEFAULT_EMBEDDING_MODEL})
        assert ds.embedding_model == DEFAULT_EMBEDDING_MODEL
        ds.update({"embedding_model": None, "description": "kept model"})  # null = keep
        assert ds.embedding_model == DEFAULT_EMBEDDING_MODEL

    def test_permission(self, client):
        ds = client.create_dataset(name=unique_name("perm"))
        ds.update({"permission": "team"})
        assert ds.permission == "team"
        assert client.get_dataset(name=ds.name).permission == "team"
        ds.update({"permission": "me"})
        assert ds.permission == "me"

    def test_pagerank(self, client):
        ds = client.create_dataset(name=unique_name("rank"))
        ds.update({"pagerank": 50})
        assert ds.pagerank == 50
        assert client.get_dataset(name=ds.name).pagerank == 50
        ds.update({"pagerank": 0})
        assert ds.pagerank == 0

    @pytest.mark.parametrize("chunk_method", ["qa", "table", "book", "picture"])
    def test_chunk_method_resets_parser_config(self, client, chunk_method):
        ds = client.create_dataset(name=unique_name("cm"), parser_config=DataSet.ParserConfig(client, {"chunk_token_num": 99}))
        ds.update({"chunk_method": chunk_method})
        assert ds.chunk_method == chunk_method
        # replaced by get_parser_config(new_method, None): no llm_id, no earlier settings
        assert pc_json(ds) == method_parser_config(chunk_method)
        assert pc_json(client.get_dataset(name=ds.name)) == method_parser_config(chunk_method)

    def test_chunk_method_back_to_naive(self, client):
        ds = client.create_dataset(name=unique_name("cm"), chunk_method="qa")
        ds.update({"chunk_method": "naive"})
        assert pc_json(ds) == method_parser_config("naive")
        assert "llm_id" not in pc_json(ds)

    def test_parser_config_deep_merge(self, client):
        ds = client.create_dataset(name=unique_name("merge"))
        patch = {"chunk_token_num": 1024, "raptor": {"max_token": 300}, "graphrag": {"method": "general"}}
        ds.update({"parser_config": patch})
        expected = deep_merge(DEFAULT_PARSER_CONFIG, patch)
        assert pc_json(ds) == expected
        # untouched nested keys survive, llm_id too
        assert ds.parser_config.raptor.use_raptor is True
        assert ds.parser_config.raptor.prompt == RAPTOR_PROMPT
        assert ds.parser_config.llm_id == DEFAULT_CHAT_MODEL
        # a second patch merges over the first
        ds.update({"parser_config": {"raptor": {"use_raptor": False}}})
        expected = deep_merge(expected, {"raptor": {"use_raptor": False}})
        assert pc_json(ds) == expected
        assert pc_json(client.get_dataset(name=ds.name)) == expected

    def test_parser_config_deep_merge_after_method_change(self, client):
        ds = client.create_dataset(name=unique_name("merge-qa"))
        ds.update({"chunk_method": "qa"})
        ds.update({"parser_config": {"raptor": {"max_token": 300}}})
        assert pc_json(ds) == deep_merge(method_parser_config("qa"), {"raptor": {"max_token": 300}})

    @pytest.mark.parametrize("value", [{}, None])
    def test_empty_parser_config_is_no_change(self, client, value):
        ds = client.create_dataset(name=unique_name("pc-noop"))
        ds.update({"parser_config": value, "description": "d"})
        assert pc_json(ds) == DEFAULT_PARSER_CONFIG
        assert ds.description == "d"

    def test_several_fields_at_once_refresh_object(self, client):
        ds = client.create_dataset(name=unique_name("multi"))
        new = unique_name("multi-new")
        ds.update({"name": new, "description": "dd", "permission": "team", "pagerank": 7, "chunk_method": "laws"})
        for obj in (ds, client.get_dataset(name=new)):
            assert (obj.name, obj.description, obj.permission, obj.pagerank, obj.chunk_method) == (new, "dd", "team", 7, "laws")
            assert pc_json(obj) == method_parser_config("laws")

    def test_update_to_existing_name(self, client):
        a = client.create_dataset(name=unique_name("taken"))
        b = client.create_dataset(name=unique_name("other"))
        assert sdk_error(b.update, {"name": a.name}) == f"Dataset name '{a.name}' already exists"
        assert sdk_error(b.update, {"name": a.name.upper()}) == f"Dataset name '{a.name.upper()}' already exists"
        assert client.get_dataset(name=b.name).id == b.id  # unchanged

    def test_no_properties(self, client, api):
        ds = client.create_dataset(name=unique_name("noprops"))
        assert sdk_error(ds.update, {}) == "No properties were modified"
        res = api.put(f"/datasets/{ds.id}", json={}).json()
        assert res == {"code": 101, "message": "No properties were modified"}

    def test_unauthorized_and_unsupported_model(self, client):
        ds = client.create_dataset(name=unique_name("embd-bad"))
        assert sdk_error(ds.update, {"embedding_model": OPENAI_EMBEDDING}) == f"Unauthorized model: <{OPENAI_EMBEDDING}>"
        assert sdk_error(ds.update, {"embedding_model": "nope@OpenAI"}) == "Unsupported model: <nope@OpenAI>"
        assert client.get_dataset(name=ds.name).embedding_model == DEFAULT_EMBEDDING_MODEL

    @pytest.mark.parametrize(
        "payload, message",
        [
            ({"name": ""}, field_error("name", "String should have at least 1 character", "")),
            ({"name": "  "}, field_error("name", "String should have at least 1 character", "  ")),
            ({"name": "n" * 129}, field_error("name", "String should have at most 128 characters", "n" * 129)),
            ({"permission": None}, field_error("permission", "Input should be 'me' or 'team'", None)),
            ({"permission": "TEAM"}, field_error("permission", "Input should be 'me' or 'team'", "TEAM")),
            ({"chunk_method": None}, field_error("chunk_method", CHUNK_METHOD_MESSAGE, None)),
            ({"chunk_method": "other"}, field_error("chunk_method", CHUNK_METHOD_MESSAGE, "other")),
            ({"pagerank": None}, field_error("pagerank", "Input should be a valid integer", None)),
            ({"pagerank": 101}, field_error("pagerank", "Input should be less than or equal to 100", 101)),
            ({"pagerank": -1}, field_error("pagerank", "Input should be greater than or equal to 0", -1)),
            ({"pagerank": "5"}, field_error("pagerank", "Input should be a valid integer", "5")),
            ({"avatar": "image/png;base64,xx"}, field_error("avatar", "Invalid MIME prefix format. Must start with 'data:'", "image/png;base64,xx")),
            ({"embedding_model": "no-at"}, field_error("embedding_model", "Embedding model identifier must follow <model_name>@<provider> format", "no-at")),
            ({"parser_config": {"chunk_token_num": 0}}, field_error("parser_config.chunk_token_num", "Input should be greater than or equal to 1", 0)),
            ({"unknown_key": 1}, field_error("unknown_key", "Extra inputs are not permitted", 1)),
        ],
        ids=[
            "empty_name", "blank_name", "long_name", "permission_null", "permission_upper", "chunk_method_null", "chunk_method_unknown",
            "pagerank_null", "pagerank_101", "pagerank_neg", "pagerank_str", "avatar", "embedding_format", "parser_config", "extra",
        ],
    )
    def test_invalid_fields(self, client, payload, message):
        ds = client.create_dataset(name=unique_name("upd-bad"))
        before = ds.to_json()
        assert sdk_error(ds.update, payload) == message
        assert ds.to_json() == before  # the SDK object is not touched on error
        assert client.get_dataset(name=ds.name).to_json() == before

    def test_deleted_dataset(self, client, tenant_id):
        ds = client.create_dataset(name=unique_name("gone"))
        client.delete_datasets(ids=[ds.id])
        assert sdk_error(ds.update, {"name": "x"}) == lacks_permission(tenant_id, ds.id)


# ---------------------------------------------------------------------------------------------
# delete_datasets
# ---------------------------------------------------------------------------------------------


class TestDelete:
    def test_ids(self, client):
        a, b, c = (client.create_dataset(name=unique_name("del")) for _ in range(3))
        assert client.delete_datasets(ids=[a.id, c.id]) is None
        assert [d.id for d in client.list_datasets()] == [b.id]

    def test_dashed_uuid_form(self, client):
        a = client.create_dataset(name=unique_name("dash"))
        client.delete_datasets(ids=[str(uuid.UUID(a.id))])
        assert client.list_datasets() == []

    def test_none_deletes_all_of_tenant_only(self, client, other_client):
        for _ in range(3):
            client.create_dataset(name=unique_name("mine"))
        theirs = other_client.create_dataset(name=unique_name("theirs"))
        if SDK_026:
            # 0.26 sends delete_all: false beside ids: null, which deletes nothing (v0.27)
            client.delete_datasets(ids=None)
            assert len(client.list_datasets()) == 3
            client.delete_datasets(delete_all=True)
        else:
            client.delete_datasets(ids=None)
        assert client.list_datasets() == []
        assert [d.id for d in other_client.list_datasets()] == [theirs.id]
        client.delete_datasets()  # the SDK default is None too; nothing left is fine
        assert [d.id for d in other_client.list_datasets()] == [theirs.id]

    def test_empty_list_deletes_none(self, client):
        a = client.create_dataset(name=unique_name("keep"))
        client.delete_datasets(ids=[])
        assert [d.id for d in client.list_datasets()] == [a.id]

    def test_unknown_id(self, client, tenant_id):
        unknown = uuid1_hex()
        assert sdk_error(client.delete_datasets, ids=[unknown]) == lacks_permission_delete(tenant_id, [unknown])

    def test_unknown_with_known_deletes_nothing(self, client, tenant_id):
        a = client.create_dataset(name=unique_name("known"))
        unknown = uuid1_hex()
        assert sdk_error(client.delete_datasets, ids=[a.id, unknown]) == lacks_permission_delete(tenant_id, [unknown])
        assert [d.id for d in client.list_datasets()] == [a.id]

    def test_several_unknown(self, client, tenant_id):
        u1, u2 = uuid1_hex(), uuid1_hex()
        assert sdk_error(client.delete_datasets, ids=[u1, u2]) == lacks_permission_delete(tenant_id, [u1, u2])

    def test_twice(self, client, tenant_id):
        a = client.create_dataset(name=unique_name("twice"))
        client.delete_datasets(ids=[a.id])
        assert sdk_error(client.delete_datasets, ids=[a.id]) == lacks_permission_delete(tenant_id, [a.id])

    def test_other_tenants_dataset(self, client, other_client, tenant_id):
        theirs = other_client.create_dataset(name=unique_name("theirs"))
        assert sdk_error(client.delete_datasets, ids=[theirs.id]) == lacks_permission_delete(tenant_id, [theirs.id])
        assert [d.id for d in other_client.list_datasets()] == [theirs.id]

    @pytest.mark.parametrize("bad", ["abc", "", uuid.uuid4().hex, "1" * 32])
    def test_invalid_uuid(self, client, bad):
        a = client.create_dataset(name=unique_name("valid"))
        ids = [a.id, bad]
        assert sdk_error(client.delete_datasets, ids=ids) == field_error("ids", "Invalid UUID1 format", ids)
        assert [d.id for d in client.list_datasets()] == [a.id]

    def test_duplicate_ids(self, client):
        a = client.create_dataset(name=unique_name("dup-id"))
        ids = [a.id, a.id]
        assert sdk_error(client.delete_datasets, ids=ids) == field_error("ids", f"Duplicate ids: '{a.id}'", ids)
        # the same id in dashed and hex form is a duplicate after normalisation
        ids = [a.id, str(uuid.UUID(a.id))]
        assert sdk_error(client.delete_datasets, ids=ids) == field_error("ids", f"Duplicate ids: '{a.id}'", ids)
        assert [d.id for d in client.list_datasets()] == [a.id]


# ---------------------------------------------------------------------------------------------
# Models: a tenant with a configured provider
# ---------------------------------------------------------------------------------------------


class TestConfiguredProvider:
    def test_configured_provider_authorizes_model(self, base_url, provider_tenant):
        c = RAGFlow(api_key=provider_tenant.api_key, base_url=base_url)
        ds = c.create_dataset(name=unique_name("openai"), embedding_model=OPENAI_EMBEDDING)
        assert ds.embedding_model == OPENAI_EMBEDDING
        assert ds.tenant_id == provider_tenant.id
        # an unknown model of that factory is still unsupported
        assert sdk_error(c.create_dataset, name=unique_name(), embedding_model="nope@OpenAI") == "Unsupported model: <nope@OpenAI>"
        # another factory is still unauthorized
        assert sdk_error(c.create_dataset, name=unique_name(), embedding_model="embedding-3@ZHIPU-AI") == (
            "Unauthorized model: <embedding-3@ZHIPU-AI>"
        )

    def test_update_to_configured_model(self, base_url, provider_tenant):
        c = RAGFlow(api_key=provider_tenant.api_key, base_url=base_url)
        ds = c.create_dataset(name=unique_name("switch"))
        assert ds.embedding_model == DEFAULT_EMBEDDING_MODEL
        ds.update({"embedding_model": OPENAI_EMBEDDING})  # no chunks yet, so the model may change
        assert ds.embedding_model == OPENAI_EMBEDDING
        assert c.get_dataset(name=ds.name).embedding_model == OPENAI_EMBEDDING

    def test_provider_is_per_tenant(self, client, provider_tenant):
        # configuring OpenAI for another tenant does not authorize it for tenant A
        assert sdk_error(client.create_dataset, name=unique_name(), embedding_model=OPENAI_EMBEDDING) == (
            f"Unauthorized model: <{OPENAI_EMBEDDING}>"
        )

    def test_provider_set_while_serving(self, base_url, new_tenant, lambdarag_cli):
        t = new_tenant("tenant-late-provider")
        c = RAGFlow(api_key=t.api_key, base_url=base_url)
        assert sdk_error(c.create_dataset, name=unique_name(), embedding_model=OPENAI_EMBEDDING) == (
            f"Unauthorized model: <{OPENAI_EMBEDDING}>"
        )
        lambdarag_cli("provider", "set", "--factory", "OpenAI", "--api-key", "sk-x", "--tenant", t.id)
        assert c.create_dataset(name=unique_name("late"), embedding_model=OPENAI_EMBEDDING).embedding_model == OPENAI_EMBEDDING
