"""Documents through the official client (ragflow-sdk 0.23.1): upload, list, parse, update,
download, delete, stop — and what the dataset's counters say about them.

Contract: shared/reference/endpoints.md §6.3, §7.2 (F1–F7), §9 and sdk-map.md §2–3.
The SDK raises `Exception(message)` on any non-zero code, so `str(exc)` must equal the server's message.
"""

from __future__ import annotations

import time

import pytest
import requests
from beartype.roar import BeartypeCallHintParamViolation

from helpers import (
    SDK_026,
    FIXTURE_NAMES,
    HEX32,
    RFC1123,
    TXT_FIXTURE,
    expected_type,
    expected_upload_method,
    fixture_bytes,
    fixture_items,
    get_doc,
    method_parser_config,
    parse_and_wait,
    tick,
    unique_name,
    varied_text,
    wait_docs,
    wait_until,
)


def sdk_error(fn, *args, **kwargs) -> str:
    """Run an SDK call that must fail on the server side; return str(exception)."""
    with pytest.raises(Exception) as ei:
        fn(*args, **kwargs)
    assert not isinstance(ei.value, (BeartypeCallHintParamViolation, KeyError, requests.JSONDecodeError)), repr(ei.value)
    return str(ei.value)


@pytest.fixture
def dataset(client):
    return client.create_dataset(name=unique_name("docs"))


def raw_dataset(api, dataset_id: str) -> dict:
    body = api.get("/datasets", params={"id": dataset_id}).json()
    assert body["code"] == 0, body
    return body["data"][0]


def upload_text(dataset, name: str, text: str):
    [doc] = dataset.upload_documents([{"display_name": name, "blob": text.encode()}])
    return doc


class TestUpload:
    def test_many_files_in_one_call(self, client, api, dataset):
        docs = dataset.upload_documents(fixture_items())
        assert [d.name for d in docs] == FIXTURE_NAMES
        assert len({d.id for d in docs}) == len(FIXTURE_NAMES)
        for d in docs:
            assert HEX32.match(d.id), d.id
            assert d.dataset_id == dataset.id
            assert d.run == "UNSTART"
            assert d.size == len(fixture_bytes(d.name))
            assert d.type == expected_type(d.name), d.name
            assert d.chunk_method == expected_upload_method(d.name), d.name
            assert d.source_type == "local"
        listed = {d.id: d for d in dataset.list_documents(page_size=100)}
        assert set(listed) == {d.id for d in docs}
        for d in listed.values():
            assert (d.run, d.progress, d.chunk_count, d.token_count, d.status) == ("UNSTART", 0, 0, 0, "1")
        ds = client.list_datasets(id=dataset.id)[0]
        assert (ds.document_count, ds.chunk_count) == (len(FIXTURE_NAMES), 0)

    def test_duplicate_names_are_renamed(self, dataset):
        blob = fixture_bytes(TXT_FIXTURE)
        items = [{"display_name": "notes.txt", "blob": blob} for _ in range(3)]
        assert [d.name for d in dataset.upload_documents(items)] == ["notes.txt", "notes(1).txt", "notes(2).txt"]
        # a later call continues the sequence; a name that already carries a counter bumps it
        assert [d.name for d in dataset.upload_documents(items[:1])] == ["notes(3).txt"]
        [d] = dataset.upload_documents([{"display_name": "notes(1).txt", "blob": blob}])
        assert d.name == "notes(4).txt"
        [d] = dataset.upload_documents([{"display_name": "report.v2.md", "blob": b"# a"}])
        [d2] = dataset.upload_documents([{"display_name": "report.v2.md", "blob": b"# b"}])
        assert (d.name, d2.name) == ("report.v2.md", "report.v2(1).md")
        assert len(dataset.list_documents(page_size=100)) == 7

    def test_empty_file_is_accepted(self, dataset):
        [d] = dataset.upload_documents([{"display_name": "empty.txt", "blob": b""}])
        assert (d.size, d.run) == (0, "UNSTART")

    def test_unsupported_type_raises_but_keeps_the_others(self, dataset):
        msg = sdk_error(
            dataset.upload_documents,
            [{"display_name": "good.txt", "blob": b"hello"}, {"display_name": "tool.exe", "blob": b"MZ"}],
        )
        assert msg == "tool.exe: This type of file has not been supported yet!"
        assert [d.name for d in dataset.list_documents()] == ["good.txt"]


class TestList:
    @pytest.fixture
    def three(self, dataset):
        """alpha.txt, beta.md, gamma.txt uploaded in that order (strictly increasing create_time)."""
        docs = []
        for name in ("alpha.txt", "beta.md", "gamma.txt"):
            docs.append(upload_text(dataset, name, f"{name} body text"))
            tick()
        return docs

    def test_order_and_paging(self, dataset, three):
        a, b, g = three
        ids = lambda docs: [d.id for d in docs]  # noqa: E731
        assert ids(dataset.list_documents()) == [g.id, b.id, a.id]  # create_time desc by default
        assert ids(dataset.list_documents(desc=False)) == [a.id, b.id, g.id]
        assert ids(dataset.list_documents(page=1, page_size=2)) == [g.id, b.id]
        assert ids(dataset.list_documents(page=2, page_size=2)) == [a.id]
        assert ids(dataset.list_documents(page=3, page_size=2)) == []
        assert ids(dataset.list_documents(page=2, page_size=1, desc=False)) == [b.id]
        assert ids(dataset.list_documents(orderby="name", desc=False)) == [a.id, b.id, g.id]
        # update_time: touching alpha moves it first
        a.update({"meta_fields": {"touched": "yes"}})
        assert ids(dataset.list_documents(orderby="update_time")) == [a.id, g.id, b.id]
        assert ids(dataset.list_documents(orderby="create_time")) == [g.id, b.id, a.id]

    def test_filters(self, dataset, three):
        a, b, g = three
        names = lambda docs: sorted(d.name for d in docs)  # noqa: E731
        [one] = dataset.list_documents(id=b.id)
        assert (one.id, one.name, one.dataset_id) == (b.id, "beta.md", dataset.id)
        assert names(dataset.list_documents(name="gamma.txt")) == ["gamma.txt"]
        assert names(dataset.list_documents(keywords="PH")) == ["alpha.txt"]  # substring, case-insensitive
        assert names(dataset.list_documents(keywords=".txt")) == ["alpha.txt", "gamma.txt"]
        assert names(dataset.list_documents(keywords="zzz")) == []
        assert names(dataset.list_documents(keywords="a", page_size=2)) == ["beta.md", "gamma.txt"]

    def test_unknown_id_or_name(self, dataset, three):
        assert sdk_error(dataset.list_documents, id="0" * 32) == f"You don't own the document {'0' * 32}."
        assert sdk_error(dataset.list_documents, name="nope.txt") == "You don't own the document nope.txt."

    def test_document_fields(self, dataset, three):
        d = get_doc(dataset, three[0].id)
        assert d.name == "alpha.txt"
        assert d.size == len(b"alpha.txt body text")
        assert d.type == "doc"
        assert d.chunk_method == "naive"
        assert d.source_type == "local"
        assert d.process_begin_at is None
        assert d.meta_fields.to_json() == {}


class TestParse:
    def test_async_parse_every_fixture(self, client, api, dataset):
        docs = dataset.upload_documents(fixture_items())
        ids = [d.id for d in docs]
        dataset.async_parse_documents(ids)
        # right after the call each document is RUNNING (or already further along)
        for d in dataset.list_documents(page_size=100):
            assert d.run in ("RUNNING", "DONE"), (d.name, d.run)
        done = wait_docs(dataset, ids, timeout=120)
        for d in done.values():
            assert d.run == "DONE", (d.name, d.progress_msg)
            assert d.chunk_count > 0, d.name
            assert d.token_count > 0, d.name
            assert d.progress == 1.0
            assert d.progress_msg.strip(), d.name
            assert RFC1123.match(d.process_begin_at or ""), d.process_begin_at
            assert d.process_duration > 0, d.name
            assert len(d.list_chunks(page_size=100)) == d.chunk_count, d.name
        # the dataset aggregates its documents
        total_chunks = sum(d.chunk_count for d in done.values())
        total_tokens = sum(d.token_count for d in done.values())
        ds = client.list_datasets(id=dataset.id)[0]
        assert (ds.document_count, ds.chunk_count) == (len(ids), total_chunks)
        assert raw_dataset(api, dataset.id)["token_num"] == total_tokens
        # the run filter sees them all as DONE
        assert len(api.get(f"/datasets/{dataset.id}/documents", params={"run": "DONE"}).json()["data"]["docs"]) == len(ids)

    def test_parse_documents_blocks_until_done(self, dataset):
        [doc] = dataset.upload_documents(fixture_items(TXT_FIXTURE))
        result = dataset.parse_documents([doc.id])
        d = get_doc(dataset, doc.id)
        assert result == [(doc.id, "DONE", d.chunk_count, d.token_count)]
        assert d.chunk_count > 0 and d.token_count > 0

    def test_reparse_replaces_chunks(self, dataset):
        [doc] = dataset.upload_documents(fixture_items(TXT_FIXTURE))
        parse_and_wait(dataset, [doc.id])
        first = get_doc(dataset, doc.id)
        parse_and_wait(dataset, [doc.id])
        second = get_doc(dataset, doc.id)
        assert second.run == "DONE"
        assert (second.chunk_count, second.token_count) == (first.chunk_count, first.token_count)
        assert len(second.list_chunks(page_size=100)) == second.chunk_count

    def test_cancel_a_running_parse(self, client, dataset):
        dataset.update({"parser_config": {"chunk_token_num": 32}})
        [doc] = dataset.upload_documents([{"display_name": "long.txt", "blob": varied_text(60_000).encode()}])
        dataset.async_parse_documents([doc.id])
        running = wait_until(
            lambda: (d := get_doc(dataset, doc.id)).run == "RUNNING" and 0 < d.progress < 1 and d,
            timeout=60,
            what="the parse to start",
            interval=0.1,
        )
        assert running.run == "RUNNING"
        # a document being processed cannot be parsed again
        assert sdk_error(dataset.async_parse_documents, [doc.id]) == "Can't parse document that is currently being processed"
        dataset.async_cancel_parse_documents([doc.id])
        d = get_doc(dataset, doc.id)
        assert (d.run, d.progress, d.chunk_count, d.token_count) == ("CANCEL", 0, 0, 0)
        assert d.list_chunks() == []
        # the worker's later writes are refused: still cancelled a while later
        time.sleep(3)
        d = get_doc(dataset, doc.id)
        assert (d.run, d.chunk_count) == ("CANCEL", 0)
        assert d.list_chunks() == []
        assert client.list_datasets(id=dataset.id)[0].chunk_count == 0
        # a cancelled document can be parsed again
        dataset.update({"parser_config": {"chunk_token_num": 2048}})
        doc.update({"parser_config": {"chunk_token_num": 2048}})
        d = parse_and_wait(dataset, [doc.id])[doc.id]
        assert d.run == "DONE" and d.chunk_count > 0


class TestUpdate:
    def test_rename_meta_parser_config_enabled(self, dataset):
        [doc] = dataset.upload_documents(fixture_items(TXT_FIXTURE))
        doc.update({"name": "care-guide.txt"})
        assert doc.name == "care-guide.txt"
        assert get_doc(dataset, doc.id).name == "care-guide.txt"
        doc.update({"name": "Care-Guide.TXT"})  # extension compared case-insensitively
        assert doc.name == "Care-Guide.TXT"

        doc.update({"meta_fields": {"author": "Ada", "year": 2024, "tags": ["a", "b"]}})
        assert doc.meta_fields.to_json() == {"author": "Ada", "year": 2024, "tags": ["a", "b"]}
        assert get_doc(dataset, doc.id).meta_fields.to_json() == {"author": "Ada", "year": 2024, "tags": ["a", "b"]}

        before = doc.parser_config.to_json()
        doc.update({"parser_config": {"chunk_token_num": 128, "delimiter": "\n!?"}})
        after = get_doc(dataset, doc.id).parser_config.to_json()
        assert after == {**before, "chunk_token_num": 128, "delimiter": "\n!?"}

        doc.update({"enabled": False})
        assert doc.status == "0"
        assert get_doc(dataset, doc.id).status == "0"
        doc.update({"enabled": 1})
        assert get_doc(dataset, doc.id).status == "1"

    def test_chunk_method_change_resets_the_parse(self, client, dataset):
        [doc] = dataset.upload_documents(fixture_items(TXT_FIXTURE))
        parsed = parse_and_wait(dataset, [doc.id])[doc.id]
        assert parsed.chunk_count > 0
        # read-only echoes equal to the current values are accepted
        doc.update({"chunk_count": parsed.chunk_count, "token_count": parsed.token_count, "progress": 1.0})
        doc.update({"chunk_method": "manual"})
        assert doc.chunk_method == "manual"
        d = get_doc(dataset, doc.id)
        assert (d.chunk_method, d.run, d.progress, d.chunk_count, d.token_count) == ("manual", "UNSTART", 0, 0, 0)
        assert d.parser_config.to_json() == method_parser_config("manual")
        assert d.list_chunks() == []
        assert client.list_datasets(id=dataset.id)[0].chunk_count == 0
        # the same method again is no change
        d.update({"chunk_method": "manual"})
        assert get_doc(dataset, doc.id).run == "UNSTART"

    def test_errors(self, dataset):
        a, b = dataset.upload_documents(fixture_items(TXT_FIXTURE, "solar_guide.md"))
        [c] = dataset.upload_documents([{"display_name": "other.txt", "blob": b"other"}])
        assert sdk_error(a.update, {"chunk_count": 5}) == "Can't change `chunk_count`."
        assert sdk_error(a.update, {"token_count": 5}) == "Can't change `token_count`."
        assert sdk_error(a.update, {"progress": 0.5}) == "Can't change `progress`."
        assert sdk_error(a.update, {"name": "x.md"}) == "The extension of file can't be changed"
        assert sdk_error(c.update, {"name": TXT_FIXTURE}) == "Duplicated document name in the same dataset."
        assert sdk_error(a.update, {"chunk_method": "nope"}) == "`chunk_method` nope doesn't exist"
        assert sdk_error(a.update, {"meta_fields": "x"}) == "meta_fields must be a dictionary"  # client-side check
        # nothing was changed by the failed calls
        d = get_doc(dataset, a.id)
        assert (d.name, d.chunk_method, d.meta_fields.to_json()) == (TXT_FIXTURE, "naive", {})
        assert get_doc(dataset, c.id).name == "other.txt"


class TestDownload:
    def test_original_bytes(self, dataset):
        docs = dataset.upload_documents(fixture_items())
        for d in docs:
            assert d.download() == fixture_bytes(d.name), d.name
        # renaming does not touch the bytes
        docs[0].update({"name": "renamed.html"})
        assert docs[0].download() == fixture_bytes(FIXTURE_NAMES[0])

    def test_empty_file_raises(self, dataset):
        [d] = dataset.upload_documents([{"display_name": "empty.txt", "blob": b""}])
        assert sdk_error(d.download) == "This file is empty."


class TestDelete:
    def test_by_ids_and_all(self, client, dataset):
        docs = dataset.upload_documents(fixture_items(TXT_FIXTURE, "solar_guide.md", "solar_products.csv"))
        parse_and_wait(dataset, [docs[0].id])
        assert client.list_datasets(id=dataset.id)[0].chunk_count > 0
        dataset.delete_documents(ids=[docs[0].id])
        assert sorted(d.name for d in dataset.list_documents()) == ["solar_guide.md", "solar_products.csv"]
        ds = client.list_datasets(id=dataset.id)[0]
        assert (ds.document_count, ds.chunk_count) == (2, 0)
        # the deleted document and its chunks are gone
        assert sdk_error(dataset.list_documents, id=docs[0].id) == f"You don't own the document {docs[0].id}."
        assert sdk_error(docs[0].list_chunks) == f"You don't own the document {docs[0].id}."
        assert sdk_error(docs[0].download) == f"The dataset not own the document {docs[0].id}."
        if SDK_026:
            # v0.27 rules (0.26 sends delete_all): no ids without delete_all is an error
            assert sdk_error(dataset.delete_documents) == (
                f"should either provide doc ids or set delete_all(true), dataset: {dataset.id}. "
            )
            dataset.delete_documents(delete_all=True)
        else:
            dataset.delete_documents()  # ids=None → all
        assert dataset.list_documents() == []
        assert client.list_datasets(id=dataset.id)[0].document_count == 0

    def test_unknown_id_raises_after_deleting_the_valid_ones(self, dataset):
        docs = dataset.upload_documents(fixture_items(TXT_FIXTURE, "solar_guide.md"))
        if SDK_026:
            # v0.27 rules (0.26 sends delete_all): an unknown id deletes nothing
            assert sdk_error(dataset.delete_documents, ids=[docs[0].id, "x"]) == (
                f"These documents do not belong to dataset {dataset.id} or Document not found: x"
            )
            assert len(dataset.list_documents()) == 2
            return
        assert sdk_error(dataset.delete_documents, ids=[docs[0].id, "x"]) == "Documents not found: ['x']"
        assert [d.id for d in dataset.list_documents()] == [docs[1].id]
