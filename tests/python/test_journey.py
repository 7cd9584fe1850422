"""The journey a new user takes, end to end through HTTP with the official clients, on
either deployment: a dataset on the default embedding model (all-MiniLM-L6-v2@Builtin), a
txt, a pdf and a docx uploaded and parsed to DONE, retrieval that finds them, and a chat
answer streamed through the `openai` client (on AWS through the streaming Function URL).

On the AWS deployment it also checks where things are: the chunks are in the real
OpenSearch node (counted there directly), and a file PUT to the bucket with a presigned URL
(the upload_url route, for files past API Gateway's payload limit) becomes a parsed
document through S3 → SQS → s3-ingest → parse queue → parse-worker.
"""

from __future__ import annotations

import os
import time

import pytest
import requests
from openai import OpenAI
from ragflow_sdk import RAGFlow

from conftest import INGEST_FIXTURES, Api, create_tenant
from helpers import unique_name, wait_docs

FILES = ["solar_maintenance.txt", "solar_installation.pdf", "solar_warranty.docx"]


@pytest.fixture(scope="module")
def journey(deployment, base_url):
    # Its own tenant: the per-test clean-up empties tenant A's datasets.
    tenant = create_tenant(deployment.server.data_dir, "tenant-journey")
    client = RAGFlow(api_key=tenant.api_key, base_url=base_url)
    ds = client.create_dataset(name=unique_name("journey"))
    assert ds.embedding_model == "all-MiniLM-L6-v2@Builtin"
    docs = ds.upload_documents([{"display_name": n, "blob": (INGEST_FIXTURES / n).read_bytes()} for n in FILES])
    ds.async_parse_documents([d.id for d in docs])
    done = wait_docs(ds, [d.id for d in docs], timeout=300)
    yield {"ds": ds, "docs": docs, "done": done, "client": client, "api": Api(base_url, tenant.api_key),
           "key": tenant.api_key}
    client.delete_datasets(ids=[ds.id])


def test_every_format_parses(journey):
    for d in journey["done"].values():
        assert d.run == "DONE", (d.name, d.run, d.progress_msg)
        assert d.chunk_count > 0, d.name


def test_retrieval_finds_each_document(journey):
    client = journey["client"]
    found = set()
    for question in ("How often should the panels be cleaned?", "How are the panels installed on the roof?",
                     "What does the warranty cover?"):
        chunks = client.retrieve(dataset_ids=[journey["ds"].id], question=question, page_size=10)
        assert chunks, question
        found.update(c.document_id for c in chunks[:3])
    assert found == {d.id for d in journey["docs"]}


def test_chat_answer_streams_through_the_openai_client(journey, stream_urls):
    api, api_key = journey["api"], journey["key"]
    res = api.post("/chats", json={"name": unique_name("journey-chat"), "dataset_ids": [journey["ds"].id]}).json()
    assert res["code"] == 0, res
    chat_id = res["data"]["id"]
    client = OpenAI(api_key=api_key, base_url=f"{stream_urls['openai']}/api/v1/chats_openai/{chat_id}", max_retries=0)
    chunks = list(client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "How often should the panels be cleaned?"}], stream=True))
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text.strip(), chunks
    assert chunks[-1].choices[0].finish_reason == "stop"
    api.delete("/chats", json={"ids": [chat_id]})


def test_chunks_are_in_the_opensearch_node(journey):
    url = os.environ["OPENSEARCH_URL"].rstrip("/")
    for d in journey["done"].values():
        q = {"query": {"bool": {"filter": [{"term": {"document_id": d.id}}]}}}
        count = requests.post(f"{url}/lambdarag-chunks-*/_count", json=q, timeout=30).json()["count"]
        assert count == d.chunk_count, (d.name, count, d.chunk_count)


def test_object_put_into_the_bucket_becomes_a_parsed_document(journey):
    ds, api, client = journey["ds"], journey["api"], journey["client"]
    name = f"{unique_name('staged')}.txt"
    res = api.post(f"/datasets/{ds.id}/documents/upload_url", json={"name": name}).json()
    assert res["code"] == 0, res
    assert res["data"]["key"] == f"datasets/{ds.id}/{name}"
    body = b"Staged uploads reach the bucket directly. The Quillfeather inverter hums at dawn."
    put = requests.put(res["data"]["url"], data=body, timeout=30)
    assert put.status_code == 200, put.text
    deadline = time.monotonic() + 120
    while True:
        docs = [d for d in ds.list_documents(page_size=100) if d.name == name]
        if docs and docs[0].run == "DONE":
            break
        assert not docs or docs[0].run not in ("FAIL", "CANCEL"), (docs[0].run, docs[0].progress_msg)
        assert time.monotonic() < deadline, f"the staged object did not become a parsed document: {docs}"
        time.sleep(0.5)
    chunks = client.retrieve(dataset_ids=[ds.id], question="Which inverter hums at dawn?", page_size=3)
    assert chunks and chunks[0].document_id == docs[0].id
