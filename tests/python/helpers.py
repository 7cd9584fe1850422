"""Shared constants and helpers for the dataset tests (expected values from endpoints.md §5–§7.1)."""

from __future__ import annotations

import base64
import copy
import re
import struct
import time
import uuid
import zlib

# Defaults a fresh tenant gets (see `lambdarag tenant list`).
DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2@Builtin"
DEFAULT_CHAT_MODEL = "extractive-answerer@Builtin"

RAPTOR_PROMPT = (
    "Please summarize the following paragraphs. Be careful with the numbers, do not make things up. "
    "Paragraphs as following:\n      {cluster_content}\nThe above is the content you need to summarize."
)

CHUNK_METHODS = ["naive", "book", "email", "laws", "manual", "one", "paper", "picture", "presentation", "qa", "table", "tag"]
CHUNK_METHOD_MESSAGE = (
    "Input should be 'naive', 'book', 'email', 'laws', 'manual', 'one', 'paper', 'picture', "
    "'presentation', 'qa', 'table' or 'tag'"
)

# get_parser_config(chunk_method, None) (endpoints.md §6.2), before create adds `llm_id`.
_BASE = {"table_context_size": 0, "image_context_size": 0}
_NAIVE = {
    **_BASE,
    "layout_recognize": "DeepDOC",
    "chunk_token_num": 512,
    "delimiter": "\n",
    "auto_keywords": 0,
    "auto_questions": 0,
    "html4excel": False,
    "topn_tags": 3,
    "raptor": {
        "use_raptor": True,
        "prompt": RAPTOR_PROMPT,
        "max_token": 256,
        "threshold": 0.1,
        "max_cluster": 64,
        "random_seed": 0,
    },
    "graphrag": {
        "use_graphrag": True,
        "entity_types": ["organization", "person", "geo", "event", "category"],
        "method": "light",
    },
}
_NO_RAPTOR_GRAPHRAG = {**_BASE, "raptor": {"use_raptor": False}, "graphrag": {"use_graphrag": False}}


def method_parser_config(chunk_method: str) -> dict:
    """`get_parser_config(chunk_method, None)`: what a chunk_method change on update stores."""
    if chunk_method == "naive":
        return copy.deepcopy(_NAIVE)
    if chunk_method in ("qa", "manual", "paper", "book", "laws", "presentation"):
        return copy.deepcopy(_NO_RAPTOR_GRAPHRAG)
    return copy.deepcopy(_BASE)


def created_parser_config(chunk_method: str = "naive") -> dict:
    """parser_config of a dataset created without a parser_config: method defaults + `llm_id`."""
    return {**method_parser_config(chunk_method), "llm_id": DEFAULT_CHAT_MODEL}


DEFAULT_PARSER_CONFIG = created_parser_config("naive")

# The pydantic ParserConfig dumped with all defaults (used when create gets a non-empty parser_config).
PYDANTIC_PARSER_CONFIG = {
    "auto_keywords": 0,
    "auto_questions": 0,
    "chunk_token_num": 512,
    "delimiter": "\\n",
    "graphrag": {
        "use_graphrag": False,
        "entity_types": ["organization", "person", "geo", "event", "category"],
        "method": "light",
        "community": False,
        "resolution": False,
    },
    "html4excel": False,
    "layout_recognize": "DeepDOC",
    "raptor": {
        "use_raptor": False,
        "prompt": RAPTOR_PROMPT,
        "max_token": 256,
        "threshold": 0.1,
        "max_cluster": 64,
        "random_seed": 0,
        "auto_disable_for_structured_data": True,
    },
    "tag_kb_ids": [],
    "topn_tags": 1,
    "filename_embd_weight": 0.1,
    "task_page_size": None,
    "pages": None,
}


def deep_merge(base: dict, patch: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def created_parser_config_with(chunk_method: str, given: dict) -> dict:
    """parser_config of a dataset created with a non-empty `given` parser_config."""
    full = deep_merge(PYDANTIC_PARSER_CONFIG, given)
    return {**deep_merge(method_parser_config(chunk_method), full), "llm_id": DEFAULT_CHAT_MODEL}


def field_error(loc: str, msg: str, value) -> str:
    """One pydantic-style validation line as the dataset routes format it."""
    s = str(value)
    if len(s) > 128:
        s = s[:125] + "..."
    return f"Field: <{loc}> - Message: <{msg}> - Value: <{s}>"


def lacks_permission(tenant_id: str, what: str) -> str:
    return f"User '{tenant_id}' lacks permission for dataset '{what}'"


def lacks_permission_delete(tenant_id: str, ids: list[str]) -> str:
    return f"User '{tenant_id}' lacks permission for datasets: '{', '.join(ids)}'"


def param_id(d: dict, prefix: str = "") -> str:
    """A readable pytest id for a (nested) dict of parameters: `raptor.threshold=2,topn_tags=0`."""
    parts = []
    for k, v in d.items():
        if isinstance(v, dict) and v:
            parts.append(param_id(v, f"{prefix}{k}."))
        else:
            parts.append(f"{prefix}{k}={v!r}".replace(" ", "_"))
    return ",".join(parts)


def unique_name(prefix: str = "ds") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def uuid1_hex() -> str:
    return uuid.uuid1().hex


def tiny_png() -> bytes:
    """A valid 1x1 RGB PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


PNG_AVATAR = "data:image/png;base64," + base64.b64encode(tiny_png()).decode()
JPEG_AVATAR = "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8\xff\xe0fake-jpeg").decode()

HEX32 = re.compile(r"^[0-9a-f]{32}$")
RFC1123 = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$")


def tick():
    """Sleep past the millisecond timestamp granularity so create/update times strictly increase."""
    time.sleep(0.02)
