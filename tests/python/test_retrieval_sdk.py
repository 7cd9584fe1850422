"""Retrieval (R1) through the official client's `RAGFlow.retrieve`, plus raw checks of the reply.

Contract: shared/reference/endpoints.md §6.4 (retrieval chunk shape), §6.5 (metadata_condition),
§7.4 (R1), §12 (highlight), sdk-map.md §1 (`retrieve`) and §9 item 7; lambdarag's intended
metadata-filter semantics and paging: docs/divergences.md.
Scoring: similarity = (1−w)·(BM25 / best BM25 among the candidates) + w·cosine,
w = vector_similarity_weight; the threshold applies to the fused score.

The corpus (conftest `retrieval_corpus`) lives in a dedicated tenant that the per-test cleanup
does not touch; tests that change it (disabling a document) restore it.
"""

from __future__ import annotations

import pytest
from ragflow_sdk import RAGFlow

from conftest import Api
from helpers import (
    ALL_RETRIEVAL_DOCS,
    DEFAULT_EMBEDDING_MODEL,
    METADATA_FILTER_CASES,
    RETRIEVAL_DOCS,
    RETRIEVAL_META,
    unique_name,
)

TOL = 1e-4

# A question every document of the corpus answers a little (so with threshold 0 all chunks come back).
BROAD_QUESTION = "solar panels home energy"


@pytest.fixture(scope="module")
def corpus(retrieval_corpus):
    return retrieval_corpus


@pytest.fixture(scope="module")
def ds(corpus):
    return corpus["dataset"]


@pytest.fixture(scope="module")
def ds2(corpus):
    return corpus["dataset2"]


@pytest.fixture(scope="module")
def docs(corpus):
    return corpus["docs"]


@pytest.fixture(scope="module")
def names_by_id(corpus):
    return {d.id: n for n, d in {**corpus["docs"], **corpus["docs2"]}.items()}


@pytest.fixture
def rc(retrieval_client) -> RAGFlow:
    return retrieval_client


@pytest.fixture
def rapi(base_url, retrieval_tenant) -> Api:
    return Api(base_url, retrieval_tenant.api_key)


def retrieval(rapi: Api, body: dict) -> dict:
    res = rapi.post("/retrieval", json=body)
    assert res.status_code == 200, res.text
    return res.json()


def ok_data(rapi: Api, body: dict) -> dict:
    res = retrieval(rapi, body)
    assert res["code"] == 0, res
    assert "message" not in res, res
    return res["data"]


def assert_error(rapi: Api, body: dict, code: int, message: str):
    res = retrieval(rapi, body)
    assert res == {"code": code, "message": message}, res


def sdk_error(fn, *args, **kwargs) -> str:
    with pytest.raises(Exception) as exc:
        fn(*args, **kwargs)
    return str(exc.value)


def everything(rc: RAGFlow, dataset_ids, question=BROAD_QUESTION, **kw):
    """All chunks passing threshold 0 (one page)."""
    kw.setdefault("similarity_threshold", 0.0)
    kw.setdefault("page_size", 200)
    return rc.retrieve(dataset_ids=dataset_ids, question=question, **kw)


# ------------------------------------------------------------------------------------------
# Chunks and ranking
# ------------------------------------------------------------------------------------------


def test_chunk_attributes(rc, ds, docs):
    chunks = rc.retrieve(dataset_ids=[ds.id], question="inverter error code grid frequency fault")
    assert chunks, "a matching question must return chunks"
    paragraphs = {p: name for name, ps in RETRIEVAL_DOCS.items() for p in ps}
    for c in chunks:
        assert isinstance(c.id, str) and c.id
        assert c.content in paragraphs, c.content
        assert c.document_id == docs[paragraphs[c.content]].id
        assert c.dataset_id == ds.id
        for v in (c.similarity, c.vector_similarity, c.term_similarity):
            assert isinstance(v, (int, float)) and not isinstance(v, bool)
        assert 0.2 - TOL <= c.similarity <= 1 + TOL, "default threshold 0.2"
        assert 0 <= c.term_similarity <= 1 + TOL
        assert isinstance(c.positions, list)
        assert isinstance(c.important_keywords, list)
        # Default weight 0.3.
        assert c.similarity == pytest.approx(0.7 * c.term_similarity + 0.3 * c.vector_similarity, abs=TOL)
    assert [c.similarity for c in chunks] == sorted((c.similarity for c in chunks), reverse=True)
    assert chunks[0].document_id == docs["inverter.txt"].id
    assert "E42" in chunks[0].content
    assert len({c.id for c in chunks}) == len(chunks)


@pytest.mark.parametrize(
    "question, expected",
    [
        ("battery backup power lithium cells", "battery.txt"),
        ("inverter firmware error code", "inverter.txt"),
        ("warranty claim invoice serial number", "warranty.txt"),
        ("clean the panels with a brush to remove dust and pollen", "cleaning.txt"),
        ("tax credit loan lease payback", "financing.txt"),
    ],
)
def test_relevant_document_ranks_first(rc, ds, docs, question, expected):
    chunks = rc.retrieve(dataset_ids=[ds.id], question=question)
    assert chunks
    assert chunks[0].document_id == docs[expected].id, [c.content for c in chunks[:3]]
    assert chunks[0].term_similarity == pytest.approx(1.0, abs=TOL), "the best text match has term similarity 1"


def test_empty_question_returns_nothing(rc, rapi, ds):
    assert rc.retrieve(dataset_ids=[ds.id]) == []
    assert rc.retrieve(dataset_ids=[ds.id], question="") == []
    data = ok_data(rapi, {"dataset_ids": [ds.id], "question": ""})
    assert data == {"total": 0, "chunks": [], "doc_aggs": {}}


def test_one_and_two_datasets(rc, ds, ds2):
    q = "pressure washer abrasive detergents damage the anti-reflective coating"
    one = everything(rc, [ds.id], q)
    assert {c.dataset_id for c in one} == {ds.id}
    other = everything(rc, [ds2.id], q)
    assert {c.dataset_id for c in other} == {ds2.id}
    both = everything(rc, [ds.id, ds2.id], q)
    assert {c.dataset_id for c in both} == {ds.id, ds2.id}
    assert {c.id for c in both} == {c.id for c in one} | {c.id for c in other}
    assert [c.similarity for c in both] == sorted((c.similarity for c in both), reverse=True)


def test_document_ids_restrict(rc, ds, docs):
    allowed = {docs["battery.txt"].id, docs["warranty.txt"].id}
    chunks = everything(rc, [ds.id], "inverter error code E42", document_ids=sorted(allowed))
    assert chunks
    assert {c.document_id for c in chunks} == allowed
    one = everything(rc, [ds.id], "inverter error code E42", document_ids=[docs["inverter.txt"].id])
    assert {c.document_id for c in one} == {docs["inverter.txt"].id}
    assert len(one) == len(RETRIEVAL_DOCS["inverter.txt"])


def test_document_ids_skip_metadata_filter(rc, ds, docs):
    # R1: when document_ids is given, metadata_condition is not applied.
    cond = {"conditions": [{"name": "author", "comparison_operator": "is", "value": "Nobody At All"}]}
    chunks = everything(rc, [ds.id], document_ids=[docs["battery.txt"].id], metadata_condition=cond)
    assert {c.document_id for c in chunks} == {docs["battery.txt"].id}


def test_document_ids_not_a_list(rapi, ds, docs):
    assert_error(
        rapi,
        {"dataset_ids": [ds.id], "question": "panels", "document_ids": docs["battery.txt"].id},
        102,
        "`documents` should be a list",
    )


def test_document_of_another_dataset(rc, ds, corpus):
    foreign = corpus["docs2"]["solar_maintenance.txt"].id
    msg = sdk_error(rc.retrieve, dataset_ids=[ds.id], question="panels", document_ids=[foreign])
    assert msg == f"The datasets don't own the document {foreign}"
    # With both datasets it is theirs.
    chunks = everything(rc, [ds.id, corpus["dataset2"].id], "panels", document_ids=[foreign])
    assert chunks and {c.document_id for c in chunks} == {foreign}


def test_document_ids_unknown(rc, ds):
    msg = sdk_error(rc.retrieve, dataset_ids=[ds.id], question="panels", document_ids=["0" * 32])
    assert msg == f"The datasets don't own the document {'0' * 32}"


# ------------------------------------------------------------------------------------------
# Paging, threshold, weights, top_k
# ------------------------------------------------------------------------------------------


def test_paging_is_consistent(rc, rapi, ds):
    full = everything(rc, [ds.id])
    n_chunks = sum(len(p) for p in RETRIEVAL_DOCS.values())
    assert len(full) == n_chunks
    pages = []
    for page in range(1, 10):
        got = rc.retrieve(dataset_ids=[ds.id], question=BROAD_QUESTION, similarity_threshold=0.0, page=page, page_size=4)
        if not got:
            break
        assert len(got) <= 4
        pages.append([c.id for c in got])
        data = ok_data(
            rapi,
            {"dataset_ids": [ds.id], "question": BROAD_QUESTION, "similarity_threshold": 0, "page": page, "page_size": 4},
        )
        assert data["total"] == n_chunks, "total counts every chunk passing the threshold, not the page"
        assert [c["id"] for c in data["chunks"]] == pages[-1]
    assert [len(p) for p in pages] == [4, 4, 4, 3]
    flat = [i for p in pages for i in p]
    assert len(set(flat)) == len(flat), "pages overlap"
    assert flat == [c.id for c in full], "page 2 must continue page 1 in the same order"
    assert rc.retrieve(dataset_ids=[ds.id], question=BROAD_QUESTION, similarity_threshold=0.0, page=5, page_size=4) == []


@pytest.mark.parametrize("threshold", [0.0, 0.2, 0.35, 0.5, 0.8])
def test_similarity_threshold(rc, ds, threshold):
    low = everything(rc, [ds.id], "battery storage backup power")
    got = everything(rc, [ds.id], "battery storage backup power", similarity_threshold=threshold)
    assert all(c.similarity >= threshold - 1e-6 for c in got)
    assert [c.id for c in got] == [c.id for c in low if c.similarity >= threshold]


def test_high_threshold_returns_fewer(rc, ds):
    low = everything(rc, [ds.id], "battery storage backup power")
    high = everything(rc, [ds.id], "battery storage backup power", similarity_threshold=0.5)
    assert 0 < len(high) < len(low)
    assert all(c.similarity >= 0.5 for c in high)
    assert rc.retrieve(dataset_ids=[ds.id], question="battery storage backup power", similarity_threshold=1.01) == []


def test_vector_weight_zero_is_term_similarity(rc, ds):
    chunks = everything(rc, [ds.id], "inverter firmware gateway", vector_similarity_weight=0.0)
    assert chunks
    for c in chunks:
        assert c.similarity == pytest.approx(c.term_similarity, abs=TOL), c.content
    assert chunks[0].term_similarity == pytest.approx(1.0, abs=TOL)
    # Pure term matching: only chunks sharing a word with the question score above 0.
    matching = everything(rc, [ds.id], "inverter firmware gateway", vector_similarity_weight=0.0, similarity_threshold=0.01)
    assert {c.content for c in matching} == set(RETRIEVAL_DOCS["inverter.txt"])


# The first question is far from some chunks (their cosine is negative); threshold 0 keeps them.
FUSION_QUESTIONS = ["storing surplus solar energy for a grid outage", "battery storage backup power"]


@pytest.mark.parametrize("question", FUSION_QUESTIONS)
def test_vector_weight_one_is_vector_similarity(rc, ds, question):
    chunks = everything(rc, [ds.id], question, vector_similarity_weight=1.0)
    assert chunks
    bad = [(c.content[:40], c.similarity, c.vector_similarity) for c in chunks
           if c.similarity != pytest.approx(c.vector_similarity, abs=TOL)]
    assert not bad, f"similarity != vector_similarity at weight 1: {bad}"


@pytest.mark.parametrize("question", ["warranty for damaged panels", *FUSION_QUESTIONS])
def test_vector_weight_mixes(rc, ds, question):
    for w in (0.3, 0.5, 0.9):
        chunks = everything(rc, [ds.id], question, vector_similarity_weight=w)
        assert chunks
        bad = [(c.content[:40], c.similarity, c.term_similarity, c.vector_similarity) for c in chunks
               if c.similarity != pytest.approx((1 - w) * c.term_similarity + w * c.vector_similarity, abs=TOL)]
        assert not bad, f"similarity != (1-w)*term + w*vector at w={w}: {bad}"


@pytest.mark.parametrize("top_k", [1, 5, 1024])
def test_top_k_accepted(rc, ds, docs, top_k):
    chunks = rc.retrieve(dataset_ids=[ds.id], question="warranty claim invoice serial number", top_k=top_k)
    assert chunks
    assert chunks[0].document_id == docs["warranty.txt"].id


def test_negative_top_k_is_an_error(rapi, ds):
    res = retrieval(rapi, {"dataset_ids": [ds.id], "question": "panels", "top_k": -1})
    assert res["code"] == 100, res


# ------------------------------------------------------------------------------------------
# Parameters that need external models elsewhere: accepted, and retrieval still works
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"rerank_id": None},
        {"keyword": False},
        {"keyword": True},
        {"cross_languages": None},
        {"cross_languages": ["fr"]},
        {"use_kg": False},
        {"use_kg": True},
        {"toc_enhance": False},
        {"toc_enhance": True},
        {"metadata_condition": None},
        {"rerank_id": None, "keyword": True, "cross_languages": ["fr"], "use_kg": True, "toc_enhance": True},
    ],
    ids=lambda e: ",".join(f"{k}={v}" for k, v in e.items()),
)
def test_optional_parameters_accepted(rc, ds, docs, extra):
    chunks = rc.retrieve(dataset_ids=[ds.id], question="tax credit loan lease payback", **extra)
    assert chunks
    assert chunks[0].document_id == docs["financing.txt"].id


def test_every_parameter_at_once(rc, ds, docs):
    chunks = rc.retrieve(
        dataset_ids=[ds.id],
        document_ids=[docs["battery.txt"].id, docs["cleaning.txt"].id],
        question="rinse bird droppings with a hose",
        page=1,
        page_size=2,
        similarity_threshold=0.1,
        vector_similarity_weight=0.4,
        top_k=64,
        rerank_id=None,
        keyword=False,
        cross_languages=None,
        metadata_condition={"conditions": [{"name": "region", "comparison_operator": "is", "value": "east"}]},
        use_kg=False,
        toc_enhance=False,
    )
    assert 1 <= len(chunks) <= 2
    assert chunks[0].document_id == docs["cleaning.txt"].id
    assert "Bird droppings" in chunks[0].content


# ------------------------------------------------------------------------------------------
# metadata_condition
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case_id, condition, expected", METADATA_FILTER_CASES, ids=[c[0] for c in METADATA_FILTER_CASES])
def test_metadata_condition(rc, ds, names_by_id, case_id, condition, expected):
    chunks = everything(rc, [ds.id], metadata_condition=condition)
    got = {names_by_id[c.document_id] for c in chunks}
    assert got == expected
    if expected:
        # Every chunk of the matching documents comes back with threshold 0.
        assert len(chunks) == sum(len(RETRIEVAL_DOCS[n]) for n in expected)


def test_metadata_condition_no_match_reply(rapi, ds):
    cond = {"logic": "and", "conditions": [{"name": "author", "comparison_operator": "is", "value": "Nobody"}]}
    data = ok_data(rapi, {"dataset_ids": [ds.id], "question": BROAD_QUESTION, "similarity_threshold": 0, "metadata_condition": cond})
    assert data == {"total": 0, "chunks": [], "doc_aggs": {}}


def test_metadata_condition_empty_conditions_filters_nothing(rc, ds, names_by_id):
    chunks = everything(rc, [ds.id], metadata_condition={"logic": "and", "conditions": []})
    assert {names_by_id[c.document_id] for c in chunks} == set(ALL_RETRIEVAL_DOCS)


def test_metadata_condition_across_two_datasets(rc, ds, ds2, names_by_id):
    # ds2's document has no meta_fields: a positive condition keeps only ds's matching document.
    cond = {"conditions": [{"name": "author", "comparison_operator": "contains", "value": "smith"}]}
    chunks = everything(rc, [ds.id, ds2.id], metadata_condition=cond)
    assert {names_by_id[c.document_id] for c in chunks} == {"battery.txt"}


def test_metadata_condition_not_an_object(rapi, ds):
    assert_error(
        rapi,
        {"dataset_ids": [ds.id], "question": "panels", "metadata_condition": "x"},
        102,
        "metadata_condition must be an object.",
    )


def test_meta_fields_are_stored(ds):
    got = {d.name: d.meta_fields for d in ds.list_documents(page_size=100)}
    for name, meta in RETRIEVAL_META.items():
        stored = got[name]
        stored = stored.to_json() if hasattr(stored, "to_json") else stored
        assert stored == meta, name


# ------------------------------------------------------------------------------------------
# Raw reply shape (keys the SDK drops)
# ------------------------------------------------------------------------------------------

RETRIEVAL_CHUNK_KEYS = {
    "id", "content", "content_ltks", "document_id", "document_keyword", "dataset_id", "important_keywords",
    "image_id", "similarity", "vector_similarity", "term_similarity", "positions", "doc_type_kwd", "mom_id",
}


def test_raw_reply_shape(rapi, ds, names_by_id):
    q = "battery storage backup power"
    # A threshold below any fused score (cosines can be negative) admits every chunk.
    data = ok_data(rapi, {"dataset_ids": [ds.id], "question": q, "similarity_threshold": -1, "page_size": 5})
    assert set(data) == {"total", "chunks", "doc_aggs"}
    assert data["total"] == sum(len(p) for p in RETRIEVAL_DOCS.values())
    assert len(data["chunks"]) == 5
    for c in data["chunks"]:
        assert RETRIEVAL_CHUNK_KEYS <= set(c), RETRIEVAL_CHUNK_KEYS - set(c)
        assert c["document_keyword"] == names_by_id[c["document_id"]]
        assert c["dataset_id"] == ds.id
        assert isinstance(c["content_ltks"], str)
    aggs = data["doc_aggs"]
    assert isinstance(aggs, list) and aggs
    for a in aggs:
        assert set(a) == {"doc_name", "doc_id", "count"}
        assert a["doc_name"] == names_by_id[a["doc_id"]]
        assert isinstance(a["count"], int) and a["count"] >= 1
    counts = [a["count"] for a in aggs]
    assert counts == sorted(counts, reverse=True)
    assert sum(counts) == data["total"]
    assert len({a["doc_id"] for a in aggs}) == len(aggs)
    assert {a["doc_id"] for a in aggs} == {i for i, n in names_by_id.items() if n in RETRIEVAL_DOCS}


def test_doc_aggs_counts_follow_threshold(rapi, ds, docs):
    data = ok_data(rapi, {"dataset_ids": [ds.id], "question": "warranty warranty claims", "similarity_threshold": 0.3})
    per_doc: dict[str, int] = {}
    for c in data["chunks"]:
        per_doc[c["document_id"]] = per_doc.get(c["document_id"], 0) + 1
    assert {a["doc_id"]: a["count"] for a in data["doc_aggs"]} == per_doc
    assert data["doc_aggs"][0]["doc_id"] == docs["warranty.txt"].id


@pytest.mark.parametrize("value", [None, True, False, "true"], ids=["absent", "true", "json-false", "text-true"])
def test_highlight_on(rapi, ds, value):
    body = {"dataset_ids": [ds.id], "question": "inverter firmware"}
    if value is not None:
        body["highlight"] = value
    data = ok_data(rapi, body)
    assert data["chunks"]
    top = data["chunks"][0]
    assert "highlight" in top, top
    assert "<em>" in top["highlight"] and "</em>" in top["highlight"]
    assert top["highlight"].replace("<em>", "").replace("</em>", "") == top["content"]
    assert "<em>" not in top["content"]
    for c in data["chunks"]:
        assert "highlight" in c


@pytest.mark.parametrize("value", ["false", "False"])
def test_highlight_off(rapi, ds, value):
    data = ok_data(rapi, {"dataset_ids": [ds.id], "question": "inverter firmware", "highlight": value})
    assert data["chunks"]
    for c in data["chunks"]:
        assert "highlight" not in c


# ------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------


def test_dataset_ids_required(rc, rapi):
    assert_error(rapi, {"question": "panels"}, 102, "`dataset_ids` is required.")
    assert_error(rapi, {"dataset_ids": None, "question": "panels"}, 102, "`dataset_ids` is required.")
    assert_error(rapi, {"dataset_ids": [], "question": "panels"}, 102, "`dataset_ids` is required.")
    assert sdk_error(rc.retrieve, dataset_ids=None, question="panels") == "`dataset_ids` is required."
    assert sdk_error(rc.retrieve, dataset_ids=[], question="panels") == "`dataset_ids` is required."


@pytest.mark.parametrize("value", ["abc", 7, {"id": "x"}])
def test_dataset_ids_not_a_list(rc, rapi, ds, value):
    assert_error(rapi, {"dataset_ids": value, "question": "panels"}, 102, "`dataset_ids` should be a list")
    assert sdk_error(rc.retrieve, dataset_ids=value, question="panels") == "`dataset_ids` should be a list"


def test_question_required(rapi, ds):
    assert_error(rapi, {"dataset_ids": [ds.id]}, 102, "`question` is required.")


def test_other_tenants_dataset(rc, other_client, ds):
    theirs = other_client.create_dataset(name=unique_name("theirs"))
    assert sdk_error(rc.retrieve, dataset_ids=[theirs.id], question="panels") == f"You don't own the dataset {theirs.id}."
    assert sdk_error(rc.retrieve, dataset_ids=[ds.id, theirs.id], question="panels") == f"You don't own the dataset {theirs.id}."


def test_unknown_dataset(rc):
    missing = "f" * 32
    assert sdk_error(rc.retrieve, dataset_ids=[missing], question="panels") == f"You don't own the dataset {missing}."


def test_different_embedding_models(base_url, provider_tenant):
    c = RAGFlow(api_key=provider_tenant.api_key, base_url=base_url)
    builtin = c.create_dataset(name=unique_name("builtin"), embedding_model=DEFAULT_EMBEDDING_MODEL)
    openai = c.create_dataset(name=unique_name("openai"), embedding_model="text-embedding-3-small@OpenAI")
    assert openai.embedding_model == "text-embedding-3-small@OpenAI"
    msg = sdk_error(c.retrieve, dataset_ids=[builtin.id, openai.id], question="panels")
    assert msg == 'Datasets use different embedding models."'
    # The same model twice is fine (empty datasets: nothing found).
    other_builtin = c.create_dataset(name=unique_name("builtin"), embedding_model=DEFAULT_EMBEDDING_MODEL)
    assert c.retrieve(dataset_ids=[builtin.id, other_builtin.id], question="panels") == []


def test_disabled_document_not_returned(rc, ds, docs):
    doc = docs["battery.txt"]
    q = "battery backup power lithium cells"
    before = everything(rc, [ds.id], q)
    assert doc.id in {c.document_id for c in before}
    doc.update({"enabled": False})
    try:
        after = everything(rc, [ds.id], q)
        assert after
        assert doc.id not in {c.document_id for c in after}
        assert len(after) == len(before) - len(RETRIEVAL_DOCS["battery.txt"])
        # Not even when asked for by id.
        assert everything(rc, [ds.id], q, document_ids=[doc.id]) == []
    finally:
        doc.update({"enabled": True})
    again = everything(rc, [ds.id], q)
    assert [c.id for c in again] == [c.id for c in before]
