"""Shared constants and helpers for the dataset tests (expected values from endpoints.md §5–§7.1)."""

from __future__ import annotations

import base64
import copy
import importlib.metadata
import re
import struct
import time
import uuid
import zlib

# The client generation driving the suite (tests/python/run.sh LAMBDARAG_SDK): 0.23.1 speaks
# the pinned contract, 0.26.0 RAGFlow v0.27's. Tests switch on it only where the client's
# own API differs (e.g. 0.26's delete_* need `delete_all=True` to delete everything).
SDK_VERSION = importlib.metadata.version("ragflow-sdk")
SDK_026 = tuple(int(p) for p in SDK_VERSION.split(".")[:2]) >= (0, 26)

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


# ---------------------------------------------------------------------------------------------
# Retrieval corpus (test_retrieval_sdk.py, test_dify.py): small text documents on distinct
# topics, each split into one chunk per paragraph, with `meta_fields` of every JSON kind.
# ---------------------------------------------------------------------------------------------

RETRIEVAL_DOCS: dict[str, list[str]] = {
    "battery.txt": [
        "Home battery storage keeps the lights on during a grid outage by storing surplus solar energy in lithium cells.",
        "The Helios PowerWall battery stores thirteen kilowatt hours and supports backup power for critical household circuits.",
        "Battery lifetime depends on depth of discharge; lithium iron phosphate chemistry tolerates thousands of charge cycles.",
    ],
    "inverter.txt": [
        "The string inverter converts direct current from the panels into alternating current for the household grid connection.",
        "Inverter error code E42 signals a grid frequency fault; restart the inverter after checking the isolator switch.",
        "Inverter firmware updates arrive over the monitoring gateway and improve maximum power point tracking efficiency.",
    ],
    "warranty.txt": [
        "Every Sunbright panel carries a twenty five year performance warranty guaranteeing eighty percent of rated output.",
        "Warranty claims require the original invoice, the panel serial number and photographs of the damaged module.",
        "The workmanship warranty covers roof penetrations and wiring mistakes made by our installers for ten years.",
    ],
    "cleaning.txt": [
        "Clean solar panels twice a year with a soft brush and deionised water to remove dust and pollen.",
        "Bird droppings and leaves shade individual cells, so rinse them off promptly with a gentle hose spray.",
        "Never use pressure washers or abrasive detergents on the glass because they scratch the anti reflective coating.",
    ],
    "financing.txt": [
        "Solar financing options include cash purchase, a green home loan, or a monthly lease with no upfront cost.",
        "The federal tax credit refunds thirty percent of installation cost and shortens the payback period considerably.",
        "Most households recover their investment within eight years through lower electricity bills and feed in tariffs.",
    ],
}

# meta_fields per document: strings, numbers (and a number written as text), lists, ISO dates,
# an empty string; financing.txt has none at all.
RETRIEVAL_META: dict[str, dict] = {
    "battery.txt": {
        "author": "Alice Smith", "year": 2021, "tags": ["storage", "battery"],
        "published": "2024-05-01", "region": "north", "rating": 4.5, "notes": "backup",
    },
    "inverter.txt": {
        "author": "Bob Jones", "year": 2022, "tags": ["inverter", "repair"],
        "published": "2023-11-15", "region": "south", "rating": 3.9, "notes": "",
    },
    "warranty.txt": {
        "author": "Carol White", "year": 2023, "tags": ["legal"],
        "published": "2022-01-10", "region": "north", "rating": 4.1,
    },
    "cleaning.txt": {
        "author": "alice cooper", "year": 2020, "published": "2024-08-20", "region": "east", "rating": "4.8",
    },
    "financing.txt": {},
}

ALL_RETRIEVAL_DOCS = frozenset(RETRIEVAL_DOCS)


def _cond(name, op, value=None) -> dict:
    return {"name": name, "comparison_operator": op, "value": value}


# (id, metadata_condition, names of the documents that must pass). Semantics: docs/divergences.md
# (`contains` = the document's value contains the condition's value, `in` = the document's value
# is one of the listed ones, a document lacking the key passes only negative operators / `empty`).
METADATA_FILTER_CASES: list[tuple[str, dict, set[str]]] = [
    ("is", {"conditions": [_cond("author", "is", "alice smith")]}, {"battery.txt"}),
    ("=", {"conditions": [_cond("author", "=", "Bob Jones")]}, {"inverter.txt"}),
    ("=number", {"conditions": [_cond("year", "=", 2023)]}, {"warranty.txt"}),
    ("=number-as-text", {"conditions": [_cond("year", "=", "2023")]}, {"warranty.txt"}),
    ("is not", {"conditions": [_cond("author", "is not", "Bob Jones")]},
     {"battery.txt", "warranty.txt", "cleaning.txt", "financing.txt"}),
    ("not is", {"conditions": [_cond("region", "not is", "north")]}, {"inverter.txt", "cleaning.txt", "financing.txt"}),
    ("≠", {"conditions": [_cond("region", "≠", "north")]}, {"inverter.txt", "cleaning.txt", "financing.txt"}),
    ("contains", {"conditions": [_cond("author", "contains", "alice")]}, {"battery.txt", "cleaning.txt"}),
    ("contains-list", {"conditions": [_cond("tags", "contains", "repair")]}, {"inverter.txt"}),
    ("contains-not-reversed", {"conditions": [_cond("author", "contains", "Alice Smith and friends")]}, set()),
    ("not contains", {"conditions": [_cond("author", "not contains", "alice")]},
     {"inverter.txt", "warranty.txt", "financing.txt"}),
    ("in-list", {"conditions": [_cond("region", "in", ["north", "east"])]}, {"battery.txt", "warranty.txt", "cleaning.txt"}),
    ("in-text", {"conditions": [_cond("region", "in", "south, east")]}, {"inverter.txt", "cleaning.txt"}),
    ("not in", {"conditions": [_cond("region", "not in", ["north"])]}, {"inverter.txt", "cleaning.txt", "financing.txt"}),
    ("start with", {"conditions": [_cond("author", "start with", "ALICE")]}, {"battery.txt", "cleaning.txt"}),
    ("end with", {"conditions": [_cond("author", "end with", "jones")]}, {"inverter.txt"}),
    ("empty", {"conditions": [_cond("notes", "empty")]}, {"inverter.txt", "warranty.txt", "cleaning.txt", "financing.txt"}),
    ("not empty", {"conditions": [_cond("notes", "not empty")]}, {"battery.txt"}),
    (">", {"conditions": [_cond("year", ">", 2021)]}, {"inverter.txt", "warranty.txt"}),
    (">float", {"conditions": [_cond("rating", ">", 4.4)]}, {"battery.txt", "cleaning.txt"}),
    ("<", {"conditions": [_cond("year", "<", "2021")]}, {"cleaning.txt"}),
    ("≥", {"conditions": [_cond("year", "≥", 2022)]}, {"inverter.txt", "warranty.txt"}),
    (">=", {"conditions": [_cond("year", ">=", 2022)]}, {"inverter.txt", "warranty.txt"}),
    ("≤", {"conditions": [_cond("year", "≤", 2021)]}, {"battery.txt", "cleaning.txt"}),
    ("<=", {"conditions": [_cond("year", "<=", 2021)]}, {"battery.txt", "cleaning.txt"}),
    ("before", {"conditions": [_cond("published", "before", "2023-01-01")]}, {"warranty.txt"}),
    ("after", {"conditions": [_cond("published", "after", "2024-01-01")]}, {"battery.txt", "cleaning.txt"}),
    ("logic-and", {"logic": "and", "conditions": [_cond("region", "is", "north"), _cond("year", ">", 2021)]},
     {"warranty.txt"}),
    ("logic-or", {"logic": "or", "conditions": [_cond("author", "is", "Bob Jones"), _cond("region", "is", "east")]},
     {"inverter.txt", "cleaning.txt"}),
    ("default-and", {"conditions": [_cond("region", "is", "north"), _cond("author", "contains", "alice")]},
     {"battery.txt"}),
    ("logical_operator-or", {"logical_operator": "or", "conditions": [
        _cond(["author"], "start with", "carol"), _cond(["tags"], "contains", "battery")]},
     {"warranty.txt", "battery.txt"}),
    ("logical_operator-and", {"logical_operator": "and", "conditions": [
        _cond(["author"], "contains", "alice"), _cond(["year"], "<", 2021)]}, {"cleaning.txt"}),
    ("name-list", {"conditions": [_cond(["region"], "is", "south")]}, {"inverter.txt"}),
    ("=float-as-text", {"conditions": [_cond("rating", "=", 4.8)]}, {"cleaning.txt"}),
    ("in-doc-list", {"conditions": [_cond("tags", "in", ["legal", "misc"])]}, {"warranty.txt"}),
    ("not contains-list", {"conditions": [_cond("tags", "not contains", "battery")]},
     {"inverter.txt", "warranty.txt", "cleaning.txt", "financing.txt"}),
    ("≥date", {"conditions": [_cond("published", "≥", "2024-05-01")]}, {"battery.txt", "cleaning.txt"}),
    ("≤date", {"conditions": [_cond("published", "≤", "2023-11-15")]}, {"inverter.txt", "warranty.txt"}),
    ("unknown-key-negative", {"conditions": [_cond("no_such_key", "not in", ["x"])]}, set(RETRIEVAL_DOCS)),
    ("no-match", {"conditions": [_cond("author", "is", "Nobody At All")]}, set()),
    ("unknown-key", {"conditions": [_cond("no_such_key", "is", "x")]}, set()),
    ("and-empty-intersection", {"logic": "and", "conditions": [
        _cond("region", "is", "south"), _cond("region", "is", "north")]}, set()),
]


# Paragraph text of a second dataset (same embedding model): the fixture's solar maintenance guide.
SECOND_DATASET_DOC = "solar_maintenance.txt"
# One chunk per paragraph: every paragraph above is longer than half this many tokens.
RETRIEVAL_CHUNK_TOKENS = 24


def wait_parsed(dataset, doc_ids, timeout: float = 60.0) -> dict:
    """Poll until every document is DONE (fails on FAIL/CANCEL/timeout); returns id → Document."""
    deadline = time.monotonic() + timeout
    pending = set(doc_ids)
    done = {}
    while pending:
        for d in dataset.list_documents(page_size=100):
            if d.id in pending:
                run = str(d.run).upper()
                if run == "DONE":
                    pending.discard(d.id)
                    done[d.id] = d
                elif run in ("FAIL", "CANCEL"):
                    raise AssertionError(f"parsing {d.name} ended {run}: {d.progress_msg}")
        if pending and time.monotonic() > deadline:
            raise AssertionError(f"documents not parsed within {timeout}s: {sorted(pending)}")
        if pending:
            time.sleep(0.1)
    return done


def build_retrieval_corpus(client, fixtures_dir) -> dict:
    """Create the retrieval datasets in `client`'s tenant.

    Returns {"dataset": DataSet, "docs": {name: Document}, "dataset2": DataSet,
    "docs2": {name: Document}}. `dataset` holds RETRIEVAL_DOCS (meta_fields from
    RETRIEVAL_META), `dataset2` the maintenance guide; both use DEFAULT_EMBEDDING_MODEL.
    """
    from ragflow_sdk import DataSet

    def make(prefix, files):
        ds = client.create_dataset(
            name=unique_name(prefix),
            embedding_model=DEFAULT_EMBEDDING_MODEL,
            chunk_method="naive",
            parser_config=DataSet.ParserConfig(client, {"chunk_token_num": RETRIEVAL_CHUNK_TOKENS}),
        )
        docs = ds.upload_documents([{"display_name": n, "blob": b} for n, b in files.items()])
        return ds, {d.name: d for d in docs}

    ds, docs = make("retrieval", {n: "\n\n".join(p).encode() for n, p in RETRIEVAL_DOCS.items()})
    for name, meta in RETRIEVAL_META.items():
        if meta:
            docs[name].update({"meta_fields": meta})
    ds2, docs2 = make("retrieval2", {SECOND_DATASET_DOC: (fixtures_dir / SECOND_DATASET_DOC).read_bytes()})
    ds.async_parse_documents([d.id for d in docs.values()])
    ds2.async_parse_documents([d.id for d in docs2.values()])
    wait_parsed(ds, [d.id for d in docs.values()])
    wait_parsed(ds2, [d.id for d in docs2.values()])
    return {"dataset": ds, "docs": docs, "dataset2": ds2, "docs2": docs2}


# ---------------------------------------------------------------------------------------------
# Documents and chunks (endpoints.md §6.3–6.5, §7.2–7.3, §9; sdk-map.md §2–4)
# ---------------------------------------------------------------------------------------------

import io
import random
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURE_DIR = REPO_ROOT / "shared" / "ingest" / "tests" / "fixtures"

# The real files the parsers are tested with, one per supported family.
FIXTURE_NAMES = [
    "solar_article.html",
    "solar_faq.json",
    "solar_guide.md",
    "solar_installation.pdf",
    "solar_inventory.xlsx",
    "solar_maintenance.txt",
    "solar_overview.pptx",
    "solar_products.csv",
    "solar_quote.eml",
    "solar_tickets.jsonl",
    "solar_warranty.docx",
]
TXT_FIXTURE = "solar_maintenance.txt"

# Keys of the document object (list `docs[]`, update `data`), §6.3.
DOCUMENT_KEYS = {
    "id", "thumbnail", "dataset_id", "chunk_method", "pipeline_id", "parser_config", "source_type", "type",
    "created_by", "name", "location", "size", "token_count", "chunk_count", "progress", "progress_msg",
    "process_begin_at", "process_duration", "meta_fields", "suffix", "run", "status", "create_time",
    "create_date", "update_time", "update_date",
}
# The upload reply's shorter shape, §6.3.
UPLOAD_DOCUMENT_KEYS = {
    "id", "dataset_id", "chunk_method", "pipeline_id", "parser_config", "created_by", "type", "name",
    "source_type", "suffix", "location", "size", "thumbnail", "run",
}
# list-chunks `data.chunks[]` and add-chunk `data.chunk`, §6.4.
LIST_CHUNK_KEYS = {
    "id", "content", "document_id", "docnm_kwd", "important_keywords", "questions", "dataset_id", "image_id",
    "available", "positions",
    # v0.27's keys, answered beside the pinned ones
    "tag_kwd", "doc_type_kwd",
}
ADD_CHUNK_KEYS = {
    "id", "content", "document_id", "important_keywords", "questions", "dataset_id", "create_time",
    "create_timestamp", "tag_kwd",  # v0.27's key beside the pinned ones
}

TERMINAL_RUNS = {"DONE", "FAIL", "CANCEL"}
PLAIN_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")


def fixture_bytes(name: str) -> bytes:
    return (FIXTURE_DIR / name).read_bytes()


def fixture_items(*names: str) -> list[dict]:
    """`DataSet.upload_documents` items for fixture files (all of them by default)."""
    return [{"display_name": n, "blob": fixture_bytes(n)} for n in (names or FIXTURE_NAMES)]


def expected_type(name: str) -> str:
    """`type` of an uploaded document (upstream `filename_type`) for the names used here."""
    ext = name.rsplit(".", 1)[-1].lower()
    if ext == "pdf":
        return "pdf"
    if ext in ("png", "jpg", "jpeg", "gif", "webp"):
        return "visual"
    return "doc"


def expected_upload_method(name: str, dataset_method: str = "naive") -> str:
    ext = name.rsplit(".", 1)[-1].lower()
    if ext in ("png", "jpg", "jpeg", "gif", "webp"):
        return "picture"
    if ext in ("ppt", "pptx", "pages"):
        return "presentation"
    if ext in ("msg", "eml"):
        return "email"
    return dataset_method


def wait_until(predicate, timeout: float, what: str, interval: float = 0.25):
    """Poll `predicate()` until it returns a truthy value (returned) or fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


def get_doc(dataset, doc_id: str):
    """The document through the SDK's single-document lookup (`list_documents(id=…)`)."""
    docs = dataset.list_documents(id=doc_id)
    assert len(docs) == 1, docs
    return docs[0]


def wait_docs(dataset, doc_ids, timeout: float = 120, runs=TERMINAL_RUNS) -> dict:
    """Poll until every document's `run` is in `runs`; returns {id: Document}."""
    pending = list(doc_ids)
    done: dict = {}
    deadline = time.monotonic() + timeout
    while pending:
        for doc_id in list(pending):
            d = get_doc(dataset, doc_id)
            if d.run in runs:
                done[doc_id] = d
                pending.remove(doc_id)
        if not pending:
            break
        if time.monotonic() > deadline:
            states = {i: (get_doc(dataset, i).run, get_doc(dataset, i).progress) for i in pending}
            raise AssertionError(f"documents not in {sorted(runs)} after {timeout}s: {states}")
        time.sleep(0.3)
    return done


def parse_and_wait(dataset, doc_ids, timeout: float = 120) -> dict:
    dataset.async_parse_documents(list(doc_ids))
    return wait_docs(dataset, doc_ids, timeout)


def all_chunks(doc, page_size: int = 100) -> list:
    """Every chunk of a document, paging through `Document.list_chunks`."""
    out = []
    page = 1
    while True:
        batch = doc.list_chunks(page=page, page_size=page_size)
        out.extend(batch)
        if len(batch) < page_size:
            return out
        page += 1


_WORDS = (
    "solar panel inverter battery roof array module cell voltage current grid meter storage warranty "
    "installer permit inspection bracket rail conduit breaker surge shading soiling output capacity "
    "efficiency silicon glass frame junction cable connector ground fault monitoring report daily "
    "season winter summer spring autumn cloud rain snow hail wind storm tilt azimuth latitude orchard "
    "river harbour valley mountain village market library museum bakery garden kitchen window ladder "
    "careful quick steady bright quiet heavy narrow ancient modern simple complex gentle sudden "
    "measure record replace clean tighten verify schedule deliver approve calculate compare explain"
).split()


def varied_text(n_bytes: int, seed: int = 7) -> str:
    """Deterministic English-like text of about `n_bytes` bytes: numbered paragraphs of
    sentences drawn from a fixed vocabulary, so every paragraph is distinct."""
    rnd = random.Random(seed)
    parts: list[str] = []
    size = 0
    n = 0
    while size < n_bytes:
        n += 1
        sentences = []
        for _ in range(rnd.randint(3, 7)):
            words = [rnd.choice(_WORDS) for _ in range(rnd.randint(6, 16))]
            words.insert(rnd.randrange(len(words)), str(rnd.randint(1, 99999)))
            sentences.append(" ".join(words).capitalize() + ".")
        para = f"Section {n}. " + " ".join(sentences)
        parts.append(para)
        size += len(para) + 2
    return "\n\n".join(parts)


def random_bytes(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def zip_bomb_docx(uncompressed_bytes: int = 300 * 1024 * 1024) -> bytes:
    """A .docx-shaped ZIP whose `word/document.xml` inflates to `uncompressed_bytes` of zeros
    (a few hundred KB on disk)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        block = b"\0" * (1024 * 1024)
        with zf.open("word/document.xml", "w", force_zip64=True) as f:
            left = uncompressed_bytes
            while left > 0:
                f.write(block[: min(left, len(block))])
                left -= len(block)
    return buf.getvalue()


_P1, _P2, _P3, _P4, _P5 = (
    0x9E3779B185EBCA87,
    0xC2B2AE3D27D4EB4F,
    0x165667B19E3779F9,
    0x85EBCA77C2B2AE63,
    0x27D4EB2F165667C5,
)
_M64 = (1 << 64) - 1


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _M64


def _round(acc: int, lane: int) -> int:
    return (_rotl((acc + lane * _P2) & _M64, 31) * _P1) & _M64


def xxh64_hex(data: bytes, seed: int = 0) -> str:
    """Pure-Python XXH64 (what upstream names manually added chunks with), as 16 hex chars."""
    n = len(data)
    i = 0
    if n >= 32:
        v = [(seed + _P1 + _P2) & _M64, (seed + _P2) & _M64, seed & _M64, (seed - _P1) & _M64]
        while i + 32 <= n:
            for k in range(4):
                v[k] = _round(v[k], struct.unpack_from("<Q", data, i + 8 * k)[0])
            i += 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & _M64
        for k in range(4):
            h = ((h ^ _round(0, v[k])) * _P1 + _P4) & _M64
    else:
        h = (seed + _P5) & _M64
    h = (h + n) & _M64
    while i + 8 <= n:
        h ^= _round(0, struct.unpack_from("<Q", data, i)[0])
        h = (_rotl(h, 27) * _P1 + _P4) & _M64
        i += 8
    if i + 4 <= n:
        h ^= (struct.unpack_from("<I", data, i)[0] * _P1) & _M64
        h = (_rotl(h, 23) * _P2 + _P3) & _M64
        i += 4
    while i < n:
        h ^= (data[i] * _P5) & _M64
        h = (_rotl(h, 11) * _P1) & _M64
        i += 1
    h ^= h >> 33
    h = (h * _P2) & _M64
    h ^= h >> 29
    h = (h * _P3) & _M64
    h ^= h >> 32
    return f"{h:016x}"


# Every key of a dataset task's row, as trace_raptor / trace_graphrag return it.
TASK_ROW_KEYS = {"id", "doc_id", "from_page", "to_page", "task_type", "priority", "begin_at", "process_duration",
                 "progress", "progress_msg", "retry_count", "digest", "chunk_ids", "create_time", "create_date",
                 "update_time", "update_date"}


def run_dataset_task(api, ds: str, kind: str, timeout: float = 120.0) -> dict:
    """POST run_{kind} ("raptor" or "graphrag"), trace it until it ends, and check it
    succeeded, its row's shape, and that the dataset object names it: `{kind}_task_id` and
    `{kind}_task_finish_at`. `api` is conftest's Api. Returns the finished row."""
    res = api.post(f"/datasets/{ds}/run_{kind}").json()
    assert res["code"] == 0, res
    task_id = res["data"][f"{kind}_task_id"]
    assert res["data"]["task_id"] == task_id, "v0.27's key for the same id"
    deadline = time.monotonic() + timeout
    while True:
        t = api.get(f"/datasets/{ds}/trace_{kind}").json()
        assert t["code"] == 0, t
        assert t["data"]["id"] == task_id
        if t["data"]["progress"] in (1, -1):
            break
        assert time.monotonic() < deadline, f"{kind} did not finish: {t}"
        time.sleep(0.3)
    row = t["data"]
    assert row["progress"] == 1, row
    assert row["task_type"] == kind
    assert set(row) >= TASK_ROW_KEYS, set(row)
    obj = api.get("/datasets", params={"id": ds}).json()["data"][0]
    assert obj[f"{kind}_task_id"] == task_id, obj
    assert obj[f"{kind}_task_finish_at"].endswith(" GMT"), obj
    return row
