"""Chunks through the official client (ragflow-sdk 0.23.1) and the raw error paths of C1–C4.

Contract: shared/reference/endpoints.md §4 (chunk ids), §5.3, §6.4, §7.3 (C1–C4) and sdk-map.md §3–4.
Documented divergence (docs/divergences.md): `chunk_ids: null` (what `Document.delete_chunks()` sends)
deletes all of the document's chunks instead of leaking a TypeError.
"""

from __future__ import annotations

import time

import pytest
import requests
from beartype.roar import BeartypeCallHintParamViolation
from ragflow_sdk import RAGFlow
from ragflow_sdk.modules.chunk import ChunkUpdateError

from conftest import Api, create_tenant

from helpers import (
    SDK_026,
    ADD_CHUNK_KEYS,
    HEX16,
    LIST_CHUNK_KEYS,
    PLAIN_DATETIME,
    TXT_FIXTURE,
    all_chunks,
    fixture_items,
    get_doc,
    parse_and_wait,
    unique_name,
    xxh64_hex,
)


def sdk_error(fn, *args, **kwargs) -> str:
    with pytest.raises(Exception) as ei:
        fn(*args, **kwargs)
    assert not isinstance(ei.value, (BeartypeCallHintParamViolation, KeyError, requests.JSONDecodeError)), repr(ei.value)
    return str(ei.value)


def ok(res: requests.Response):
    assert res.status_code == 200, (res.status_code, res.text)
    body = res.json()
    assert body.get("code") == 0, body
    return body.get("data")


def err(res: requests.Response) -> dict:
    assert res.status_code == 200, (res.status_code, res.text)
    return res.json()


def e102(message: str) -> dict:
    return {"code": 102, "message": message}


@pytest.fixture
def dataset(client):
    ds = client.create_dataset(name=unique_name("chunks"))
    # small chunks, so the txt fixture gives several
    ds.update({"parser_config": {"chunk_token_num": 64}})
    return ds


@pytest.fixture
def parsed(dataset):
    """The txt fixture, parsed (several chunks)."""
    [doc] = dataset.upload_documents(fixture_items(TXT_FIXTURE))
    d = parse_and_wait(dataset, [doc.id])[doc.id]
    assert d.run == "DONE" and d.chunk_count >= 4, (d.run, d.chunk_count, d.progress_msg)
    return d


@pytest.fixture(scope="module")
def shared_parsed(deployment, base_url):
    """Like `parsed`, built once for the read-only listing tests, under a tenant of its own
    (not in the per-test cleanup list)."""
    tenant = create_tenant(deployment.server.data_dir, "tenant-chunks-ro")
    client = RAGFlow(api_key=tenant.api_key, base_url=base_url)
    ds = client.create_dataset(name=unique_name("chunks-ro"))
    ds.update({"parser_config": {"chunk_token_num": 64}})
    [doc] = ds.upload_documents(fixture_items(TXT_FIXTURE))
    d = parse_and_wait(ds, [doc.id])[doc.id]
    assert d.run == "DONE" and d.chunk_count >= 4, (d.run, d.chunk_count, d.progress_msg)
    yield ds, d, Api(base_url, tenant.api_key)
    client.delete_datasets(ids=None, **({"delete_all": True} if SDK_026 else {}))


@pytest.fixture
def fresh(dataset):
    """An unparsed document (chunks are added by hand)."""
    [doc] = dataset.upload_documents([{"display_name": "hand.txt", "blob": b"hand-made chunks live here"}])
    return doc


def chunks_url(doc) -> str:
    return f"/datasets/{doc.dataset_id}/documents/{doc.id}/chunks"


class TestList:
    """Read-only: all on one parsed document (`shared_parsed`)."""

    def test_chunks_of_a_parsed_document(self, shared_parsed):
        dataset, parsed, api = shared_parsed
        chunks = parsed.list_chunks(page_size=100)
        assert len(chunks) == parsed.chunk_count
        assert len({c.id for c in chunks}) == len(chunks)
        for c in chunks:
            assert HEX16.match(c.id), c.id
            assert c.content.strip()
            assert (c.document_id, c.dataset_id, c.available) == (parsed.id, dataset.id, True)
            assert isinstance(c.positions, list)
            assert all(isinstance(p, list) and len(p) == 5 and all(isinstance(x, int) for x in p) for p in c.positions)
            assert c.important_keywords == [] and c.questions == []
        # raw shape: the chunk keys, the total and the document
        data = ok(api.get(chunks_url(parsed), params={"page_size": 100}))
        assert data["total"] == parsed.chunk_count
        assert [set(c) for c in data["chunks"]] == [LIST_CHUNK_KEYS] * len(chunks)
        assert all(c["docnm_kwd"] == TXT_FIXTURE for c in data["chunks"])
        assert data["doc"]["id"] == parsed.id and data["doc"]["run"] == "DONE"
        assert data["doc"]["chunk_count"] == parsed.chunk_count
        # the chunks cover the text in document order
        text = " ".join(c.content for c in chunks)
        assert text.index("Cleaning") < text.index("Inspection") < text.index("Warranty")

    def test_paging(self, shared_parsed):
        _, parsed, _ = shared_parsed
        everything = [c.id for c in parsed.list_chunks(page_size=100)]
        pages = []
        page = 1
        while batch := parsed.list_chunks(page=page, page_size=2):
            assert len(batch) <= 2
            pages.extend(c.id for c in batch)
            page += 1
        assert pages == everything
        assert [c.id for c in all_chunks(parsed, page_size=3)] == everything
        assert parsed.list_chunks(page=1000, page_size=2) == []

    def test_page_size_zero_is_the_engines_default_page(self, shared_parsed):
        # Upstream hands size 0 to the search engine unsliced: its default page (the first
        # 10 hits) whatever `page` is, with the full total.
        _, parsed, api = shared_parsed
        everything = [c.id for c in parsed.list_chunks(page_size=100)]
        for page in (1, 3):
            data = ok(api.get(chunks_url(parsed), params={"page": page, "page_size": 0}))
            assert [c["id"] for c in data["chunks"]] == everything[:10]
            assert data["total"] == len(everything)
        assert [c.id for c in parsed.list_chunks(page_size=0)] == everything[:10]

    def test_keywords(self, shared_parsed):
        _, parsed, api = shared_parsed
        chunks = parsed.list_chunks(page_size=100)
        # a word found in exactly one chunk
        word = next(
            w
            for w in ("binoculars", "microinverter", "hail", "certificate", "ammonia")
            if sum(w in c.content.lower() for c in chunks) == 1
        )
        [target] = [c for c in chunks if word in c.content.lower()]
        found = parsed.list_chunks(keywords=word)
        assert target.id in [c.id for c in found]
        hit = next(c for c in found if c.id == target.id)
        assert f"<em>{word}</em>" in hit.content.lower()  # highlighted
        data = ok(api.get(chunks_url(parsed), params={"keywords": word}))
        assert data["total"] == len(found)
        assert parsed.list_chunks(keywords="xylophonezz") == []
        # empty keywords (what the SDK sends by default) is no filter
        assert len(parsed.list_chunks(keywords="", page_size=100)) == parsed.chunk_count

    def test_by_id(self, shared_parsed):
        dataset, parsed, _ = shared_parsed
        first = parsed.list_chunks()[1]
        [c] = parsed.list_chunks(id=first.id)
        assert (c.id, c.content, c.document_id) == (first.id, first.content, parsed.id)
        assert sdk_error(parsed.list_chunks, id="0123456789abcdef") == f"Chunk not found: {dataset.id}/0123456789abcdef"

    def test_unparsed_document_has_none(self, api, fresh):
        assert fresh.list_chunks() == []
        data = ok(api.get(chunks_url(fresh)))
        assert (data["total"], data["chunks"], data["doc"]["id"]) == (0, [], fresh.id)

    def test_errors(self, shared_parsed):
        dataset, parsed, api = shared_parsed
        url = chunks_url(parsed)
        assert err(api.get(url, params={"page": "x"})) == {"code": 100, "message": "ValueError(\"invalid literal for int() with base 10: 'x'\")", "data": None}
        other = f"/datasets/{dataset.id}/documents/{'0' * 32}/chunks"
        assert err(api.get(other)) == e102(f"You don't own the document {'0' * 32}.")
        assert err(api.get(f"/datasets/{'0' * 32}/documents/{parsed.id}/chunks")) == e102(f"You don't own the dataset {'0' * 32}.")


class TestAdd:
    def test_add_chunk(self, client, api, dataset, parsed):
        before = get_doc(dataset, parsed.id)
        started = time.time()
        c = parsed.add_chunk("Hand-written note about inverter fuses.", important_keywords=["fuse", "inverter"], questions=["Which fuse?"])
        assert HEX16.match(c.id)
        assert (c.content, c.important_keywords, c.questions) == ("Hand-written note about inverter fuses.", ["fuse", "inverter"], ["Which fuse?"])
        assert (c.document_id, c.dataset_id) == (parsed.id, dataset.id)
        assert PLAIN_DATETIME.match(c.create_time), c.create_time
        assert isinstance(c.create_timestamp, float) and abs(c.create_timestamp - started) < 60
        after = get_doc(dataset, parsed.id)
        assert after.chunk_count == before.chunk_count + 1
        assert after.token_count > before.token_count
        assert client.list_datasets(id=dataset.id)[0].chunk_count == after.chunk_count
        [listed] = parsed.list_chunks(id=c.id)
        assert (listed.content, listed.important_keywords, listed.questions, listed.available) == (c.content, ["fuse", "inverter"], ["Which fuse?"], True)
        assert c.id in [x.id for x in parsed.list_chunks(page_size=100)]

    def test_reply_shape_and_cleanup_of_lists(self, api, fresh):
        data = ok(api.post(chunks_url(fresh), json={"content": "  padded content  ", "important_keywords": [" k1 ", "", "k2"], "questions": ["  q1 ", " ", ""]}))
        chunk = data["chunk"]
        assert set(chunk) == ADD_CHUNK_KEYS
        # important keywords are kept as sent; questions are stripped and blanks dropped
        assert chunk["important_keywords"] == [" k1 ", "", "k2"]
        assert chunk["questions"] == ["q1"]
        assert chunk["document_id"] == fresh.id

    def test_blank_keyword_round_trips(self, api, fresh):
        chunk = ok(api.post(chunks_url(fresh), json={"content": "a chunk with a blank keyword", "important_keywords": [""]}))["chunk"]
        assert chunk["important_keywords"] == [""]
        listed = ok(api.get(chunks_url(fresh), params={"id": chunk["id"]}))["chunks"]
        assert [c["important_keywords"] for c in listed] == [[""]]
        ok(api.put(f"{chunks_url(fresh)}/{chunk['id']}", json={"important_keywords": ["", " x "]}))
        listed = ok(api.get(chunks_url(fresh), params={"id": chunk["id"]}))["chunks"]
        assert [c["important_keywords"] for c in listed] == [["", " x "]]

    def test_same_content_twice_is_one_chunk_counted_twice(self, dataset, fresh):
        a = fresh.add_chunk("exactly the same text")
        b = fresh.add_chunk("exactly the same text")
        assert a.id == b.id
        assert [c.id for c in fresh.list_chunks()] == [a.id]
        assert get_doc(dataset, fresh.id).chunk_count == 2

    def test_errors(self, api, dataset, fresh):
        url = chunks_url(fresh)
        assert err(api.post(url, json={})) == e102("`content` is required")
        assert err(api.post(url, json={"content": "   "})) == e102("`content` is required")
        assert err(api.post(url, json={"content": "x", "important_keywords": "x"})) == e102("`important_keywords` is required to be a list")
        assert err(api.post(url, json={"content": "x", "questions": "q"})) == e102("`questions` is required to be a list")
        assert err(api.post(url, json={"content": None})) == {
            "code": 100,
            "message": "TypeError(\"unsupported operand type(s) for +: 'NoneType' and 'str'\")",
            "data": None,
        }
        assert err(api.post(url, json={"content": "x", "important_keywords": [1]})) == {
            "code": 100,
            "message": "TypeError('sequence item 0: expected str instance, int found')",
            "data": None,
        }
        assert fresh.list_chunks() == []
        assert get_doc(dataset, fresh.id).chunk_count == 0
        unknown = "0" * 32
        assert err(api.post(f"/datasets/{dataset.id}/documents/{unknown}/chunks", json={"content": "x"})) == e102(f"You don't own the document {unknown}.")
        # a deleted document takes no chunks
        dataset.delete_documents(ids=[fresh.id])
        assert err(api.post(url, json={"content": "x"})) == e102(f"You don't own the document {fresh.id}.")


class TestUpdate:
    def test_update_content_keywords_available(self, dataset, parsed):
        target = parsed.list_chunks()[0]
        target.update({"content": "Rewritten chunk text about panels.", "important_keywords": ["rewritten", "panels"], "available": False})
        [c] = parsed.list_chunks(id=target.id)
        assert (c.content, c.important_keywords, c.available) == ("Rewritten chunk text about panels.", ["rewritten", "panels"], False)
        # still listed (disabled chunks are listed) and found by its new words
        assert target.id in [x.id for x in parsed.list_chunks(page_size=100)]
        assert target.id in [x.id for x in parsed.list_chunks(keywords="rewritten")]
        target.update({"available": True, "questions": ["What was rewritten?"], "positions": [[1, 2, 3, 4, 5]]})
        [c] = parsed.list_chunks(id=target.id)
        assert (c.available, c.questions, c.positions, c.content) == (True, ["What was rewritten?"], [[1, 2, 3, 4, 5]], "Rewritten chunk text about panels.")
        # content null keeps the text
        target.update({"content": None, "important_keywords": []})
        [c] = parsed.list_chunks(id=target.id)
        assert (c.content, c.important_keywords) == ("Rewritten chunk text about panels.", [])
        assert get_doc(dataset, parsed.id).chunk_count == parsed.chunk_count

    def test_update_added_chunk(self, fresh):
        c = fresh.add_chunk("first words")
        c.update({"content": "second words"})
        [listed] = fresh.list_chunks(id=c.id)
        assert listed.content == "second words"

    def test_errors(self, api, dataset, parsed):
        target = parsed.list_chunks()[0]
        url = f"{chunks_url(parsed)}/{target.id}"
        assert err(api.put(url, json={"important_keywords": "x"})) == e102("`important_keywords` should be a list")
        assert err(api.put(url, json={"questions": "x"})) == e102("`questions` should be a list")
        assert err(api.put(url, json={"positions": "x"})) == e102("`positions` should be a list")
        body = err(api.put(url, json={"available": "True"}))
        assert body["code"] == 100 and body["message"].startswith("ValueError("), body
        unknown = "0123456789abcdef"
        assert err(api.put(f"{chunks_url(parsed)}/{unknown}", json={"content": "x"})) == e102(f"Can't find this chunk {unknown}")
        with pytest.raises(ChunkUpdateError) as ei:
            type(target)(target.rag, {"id": unknown, "dataset_id": dataset.id, "document_id": parsed.id}).update({"content": "x"})
        assert (ei.value.code, ei.value.message) == (102, f"Can't find this chunk {unknown}")
        # nothing changed
        [c] = parsed.list_chunks(id=target.id)
        assert (c.content, c.available) == (target.content, True)


class TestDelete:
    def test_delete_some(self, dataset, parsed):
        chunks = parsed.list_chunks(page_size=100)
        parsed.delete_chunks([chunks[0].id, chunks[2].id])
        left = [c.id for c in parsed.list_chunks(page_size=100)]
        assert left == [c.id for c in chunks if c.id not in (chunks[0].id, chunks[2].id)]
        assert get_doc(dataset, parsed.id).chunk_count == len(chunks) - 2

    @pytest.mark.parametrize("how", ["empty-list", "none"])
    def test_delete_all(self, client, dataset, parsed, how):
        parsed.add_chunk("one more")
        if SDK_026:
            # 0.26 always sends delete_all: without it true, no ids delete nothing (v0.27)
            before = [c.id for c in parsed.list_chunks(page_size=100)]
            parsed.delete_chunks(None if how == "none" else [])
            assert [c.id for c in parsed.list_chunks(page_size=100)] == before
            parsed.delete_chunks(delete_all=True)
        elif how == "none":
            parsed.delete_chunks()  # sends chunk_ids: null — a documented divergence: all
        else:
            parsed.delete_chunks([])
        assert parsed.list_chunks() == []
        d = get_doc(dataset, parsed.id)
        assert (d.chunk_count, d.token_count) == (0, 0)
        assert client.list_datasets(id=dataset.id)[0].chunk_count == 0

    def test_delete_with_no_body_deletes_all(self, api, dataset, parsed):
        assert ok(api.delete(chunks_url(parsed), json={})) is None
        assert parsed.list_chunks() == []

    def test_unknown_ids(self, api, dataset, parsed):
        chunks = parsed.list_chunks(page_size=100)
        url = chunks_url(parsed)
        assert err(api.delete(url, json={"chunk_ids": ["nope"]})) == e102("rm_chunk deleted chunks 0, expect 1")
        assert sdk_error(parsed.delete_chunks, ["nope"]) == "rm_chunk deleted chunks 0, expect 1"
        # valid ones are deleted even when some are unknown
        assert err(api.delete(url, json={"chunk_ids": [chunks[0].id, "nope", "nope2"]})) == e102("rm_chunk deleted chunks 1, expect 3")
        assert [c.id for c in parsed.list_chunks(page_size=100)] == [c.id for c in chunks[1:]]
        assert get_doc(dataset, parsed.id).chunk_count == len(chunks) - 1

    def test_duplicates(self, api, dataset, parsed):
        chunks = parsed.list_chunks(page_size=100)
        a, b = chunks[0].id, chunks[1].id
        res = api.delete(chunks_url(parsed), json={"chunk_ids": [a, a, b]})
        assert err(res) == {"code": 0, "data": {"success_count": 2, "errors": [f"Duplicate chunk ids: {a}"]}}
        assert [c.id for c in parsed.list_chunks(page_size=100)] == [c.id for c in chunks[2:]]

    def test_unknown_document_or_dataset(self, api, dataset, parsed):
        unknown = "0" * 32
        res = api.delete(f"/datasets/{dataset.id}/documents/{unknown}/chunks", json={"chunk_ids": []})
        assert err(res) == {"code": 100, "message": f"LookupError(\"Can't find the document with ID {unknown}!\")", "data": None}
        res = api.delete(f"/datasets/{unknown}/documents/{parsed.id}/chunks", json={"chunk_ids": []})
        assert err(res) == e102(f"You don't own the dataset {unknown}.")
        assert len(parsed.list_chunks(page_size=100)) == parsed.chunk_count


def test_chunk_ids_are_xxh64_of_content_and_document(fresh):
    """§4: manual chunk ids are xxh64(content + document_id), 16 hex characters."""
    c = fresh.add_chunk("id check")
    assert c.id == xxh64_hex(("id check" + fresh.id).encode())
    long = "a longer chunk text, well over thirty-two bytes, exercising every XXH64 lane"
    assert fresh.add_chunk(long).id == xxh64_hex((long + fresh.id).encode())
