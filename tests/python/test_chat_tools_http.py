"""v0.27's chat tools over raw HTTP: `POST /chat/recommendation` (the rename of
`/sessions/related_questions`, with an optional saved search app lending its model) and
`POST /chat/mindmap` (retrieval over the given datasets, outlined by a chat model, answered
as a tree of `{id, children}`). Both with the built-in answerer and the local fake LLM.

ragflow-sdk (0.23.1 and 0.26.0) has no methods for either route, so everything here is HTTP.
"""

from __future__ import annotations

import pytest

from conftest import Api

QUESTION = "What does the Zephyrine coating reflect?"
ZEPHYRINE = "The Zephyrine coating on lambdarag test panels reflects less than two percent of incoming light."
NO_KB = {"code": 100, "message": "Exception('No KB selected')", "data": None}


def ok_data(res):
    body = res.json()
    assert body["code"] == 0 and body["message"] == "success", body
    return body["data"]


def search_app(api: Api, name: str, **config) -> str:
    res = api.post("/searches", json={"name": name, "search_config": config}).json()
    assert res["code"] == 0, res
    return res["data"]["search_id"]


@pytest.fixture
def apps():
    """Search apps made by a test, deleted after it: (api, id) pairs."""
    made = []
    yield made
    for api, sid in made:
        api.delete(f"/searches/{sid}")


def ids_of(tree) -> list:
    """Every id of a mind-map tree, depth first."""
    out = [tree["id"]]
    for child in tree["children"]:
        out += ids_of(child)
    return out


class TestRecommendation:
    def test_built_in_suggestions(self, chat_env):
        data = ok_data(chat_env.api.post("/chat/recommendation", json={"question": "solar panels"}))
        assert len(data) == 5 and "What is solar panels?" in data
        assert all(isinstance(q, str) and q for q in data)

    @pytest.mark.parametrize("body", [{}, {"search_id": "x"}, None], ids=["empty", "no-question", "no-body"])
    def test_question_is_required(self, chat_env, body):
        res = chat_env.api.post("/chat/recommendation", json=body)
        assert res.json() == {"code": 101, "message": "required argument are missing: question; ", "data": None}

    def test_a_search_app_lends_its_model_and_settings(self, provider_chat_env, fake_llm_server, apps):
        env = provider_chat_env
        sid = search_app(env.api, "rec", chat_id="echo-model@OpenAI-API-Compatible", llm_setting={"temperature": 0.3})
        apps.append((env.api, sid))
        before = len(fake_llm_server[0].requests)
        data = ok_data(env.api.post("/chat/recommendation", json={"question": "solar panels", "search_id": sid}))
        assert isinstance(data, list)
        req = fake_llm_server[0].requests[-1]
        assert len(fake_llm_server[0].requests) == before + 1
        assert req["model"] == "echo-model" and req["temperature"] == 0.3
        assert "Keywords: solar panels" in req["messages"][-1]["content"]

    def test_another_tenants_search_app_is_not_borrowed(self, provider_chat_env, chat_env, fake_llm_server, apps):
        sid = search_app(provider_chat_env.api, "theirs", chat_id="echo-model@OpenAI-API-Compatible")
        apps.append((provider_chat_env.api, sid))
        before = len(fake_llm_server[0].requests)
        data = ok_data(chat_env.api.post("/chat/recommendation", json={"question": "solar panels", "search_id": sid}))
        # Answered by the caller's own default (the built-in), not by the other tenant's model.
        assert "What is solar panels?" in data
        assert len(fake_llm_server[0].requests) == before


class TestMindMap:
    def test_built_in_outline_branches_by_document(self, chat_env):
        tree = ok_data(chat_env.api.post("/chat/mindmap", json={"question": QUESTION, "kb_ids": [chat_env.dataset_id]}))
        assert tree["id"] == QUESTION
        branches = {b["id"]: [leaf["id"] for leaf in b["children"]] for b in tree["children"]}
        assert "solar.txt" in branches and set(branches) <= {"solar.txt", "bees.txt"}
        assert branches["solar.txt"][0] == ZEPHYRINE

    def test_nothing_retrieved_is_the_empty_map(self, chat_env):
        tree = ok_data(chat_env.api.post("/chat/mindmap", json={"question": "xyzzy plugh", "kb_ids": [chat_env.dataset_id]}))
        assert tree == {"id": "root", "children": []}

    @pytest.mark.parametrize(
        "body,missing",
        [({}, "question,kb_ids"), ({"question": "q"}, "kb_ids"), ({"kb_ids": []}, "question")],
        ids=["empty", "no-kb_ids", "no-question"],
    )
    def test_required_keys(self, chat_env, body, missing):
        res = chat_env.api.post("/chat/mindmap", json=body)
        assert res.json() == {"code": 101, "message": f"required argument are missing: {missing}; ", "data": None}

    @pytest.mark.parametrize("kb_ids", [[], ["nope"], "nope"], ids=["none", "unknown", "a-string"])
    def test_no_dataset_of_the_callers(self, chat_env, kb_ids):
        assert chat_env.api.post("/chat/mindmap", json={"question": "q", "kb_ids": kb_ids}).json() == NO_KB

    def test_another_tenants_datasets_and_apps_are_not_read(self, chat_env, provider_chat_env, apps):
        theirs = provider_chat_env.dataset_id
        res = chat_env.api.post("/chat/mindmap", json={"question": QUESTION, "kb_ids": [theirs]})
        assert res.json() == NO_KB
        sid = search_app(provider_chat_env.api, "their map", kb_ids=[theirs])
        apps.append((provider_chat_env.api, sid))
        res = chat_env.api.post("/chat/mindmap", json={"question": QUESTION, "kb_ids": [], "search_id": sid})
        assert res.json() == NO_KB
        # With one of the caller's own datasets beside theirs, only the caller's is read.
        tree = ok_data(chat_env.api.post("/chat/mindmap", json={
            "question": QUESTION, "kb_ids": [theirs, chat_env.dataset_id], "search_id": sid}))
        assert tree["id"] == QUESTION

    def test_a_search_app_lends_datasets_and_model(self, provider_chat_env, fake_llm_server, apps):
        env = provider_chat_env
        sid = search_app(env.api, "map", kb_ids=[env.dataset_id], chat_id="echo-model@OpenAI-API-Compatible",
                         llm_setting={"temperature": 0.3})
        apps.append((env.api, sid))
        tree = ok_data(env.api.post("/chat/mindmap", json={"question": QUESTION, "kb_ids": [], "search_id": sid}))
        # The stand-in model outlines the passages under `# question` / `## Passages`, bold
        # and in a code fence: the tree has neither the fence nor the emphasis.
        assert tree["id"] == QUESTION
        assert [b["id"] for b in tree["children"]] == ["Passages"]
        leaves = [leaf["id"] for leaf in tree["children"][0]["children"]]
        assert ZEPHYRINE in leaves and not any("**" in x for x in ids_of(tree))
        req = fake_llm_server[0].requests[-1]
        assert req["model"] == "echo-model" and req["temperature"] == 0.3
        assert req["messages"][-1] == {"role": "user", "content": QUESTION}

    def test_a_search_apps_saved_filter_narrows_the_map(self, provider_chat_env, apps):
        env = provider_chat_env
        for name, topic in (("solar.txt", "energy"), ("bees.txt", "insects")):
            assert env.api.put(f"/datasets/{env.dataset_id}/documents/{env.doc_ids[name]}",
                               json={"meta_fields": {"topic": topic}}).json()["code"] == 0
        sid = search_app(env.api, "filtered map", kb_ids=[env.dataset_id], chat_id="echo-model@OpenAI-API-Compatible",
                         similarity_threshold=0.0, meta_data_filter={"method": "auto"})
        apps.append((env.api, sid))
        # The stand-in model writes `topic = insects` for this question: only bees.txt is read.
        tree = ok_data(env.api.post("/chat/mindmap", json={
            "question": "insects: what do the bees and the Zephyrine coating do?", "kb_ids": [], "search_id": sid}))
        leaves = ids_of(tree)[1:]  # below the root, which is the question
        assert any("waggle dance" in x for x in leaves) and not any("Zephyrine" in x for x in leaves), leaves
