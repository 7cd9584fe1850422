"""ragflow-sdk 0.26's memory API end to end (RAGFlow.create_memory / list_memory / delete_memory /
add_message / search_message / get_recent_messages and the Memory methods). ragflow-sdk 0.23.1
has no Memory class: the module is skipped under it."""

from __future__ import annotations

import pytest

from helpers import SDK_026

pytestmark = pytest.mark.skipif(not SDK_026, reason="ragflow-sdk 0.23.1 has no Memory API (added in 0.26)")

EMBD = "all-MiniLM-L6-v2@Builtin"
LLM = "extractive-answerer@Builtin"


@pytest.fixture(autouse=True)
def _clean_memories(client, other_client):
    yield
    for c in (client, other_client):
        for m in c.list_memory(page_size=100)["memory_list"]:  # v0.27 caps page_size at 100
            c.delete_memory(m.id)


def test_memory_lifecycle(client):
    from ragflow_sdk.modules.memory import Memory

    mem = client.create_memory(name="sdk memory", memory_type=["raw", "semantic"], embd_id=EMBD, llm_id=LLM)
    assert isinstance(mem, Memory)
    assert mem.name == "sdk memory" and mem.memory_type == ["raw", "semantic"]
    assert (mem.embd_id, mem.llm_id, mem.memory_size, mem.forgetting_policy) == (EMBD, LLM, 5242880, "FIFO")

    listed = client.list_memory()
    assert listed["code"] == 0 and listed["total_count"] == 1
    assert [m.id for m in listed["memory_list"]] == [mem.id]
    assert client.list_memory(memory_type=["procedural"])["total_count"] == 0
    assert client.list_memory(keywords="SDK")["total_count"] == 1

    mem.update({"name": "renamed", "description": "for the test", "temperature": 0.2})
    assert (mem.name, mem.description, mem.temperature) == ("renamed", "for the test", 0.2)
    mem.name = "stale"
    mem.get_config()
    assert mem.name == "renamed" and mem.owner_name == "tenant-a"

    with pytest.raises(Exception, match=r"^Temperature should be in range \[0, 1\]\.$"):
        mem.update({"temperature": 2})

    client.delete_memory(mem.id)
    assert client.list_memory()["total_count"] == 0
    with pytest.raises(Exception) as err:
        client.delete_memory(mem.id)
    assert err.value.args == (True,), "the pinned not-found reply carries message true"


def test_messages_through_the_sdk(client):
    mem = client.create_memory(name="chat log", memory_type=["raw"], embd_id=EMBD, llm_id=LLM)
    assert client.add_message([mem.id], "agent-1", "sess-1", "what is a pineapple", "a tropical fruit", user_id="u1") == "All add to task."
    client.add_message([mem.id], "agent-1", "sess-2", "how do I bake bread", "flour and yeast")

    page = mem.list_memory_messages()
    assert page["messages"]["total_count"] == 2 and page["storage_type"] == "table"
    assert mem.list_memory_messages(keywords="sess-2")["messages"]["total_count"] == 1
    assert mem.list_memory_messages(agent_id="other")["messages"]["total_count"] == 0
    pineapple = next(m for m in page["messages"]["message_list"] if m["session_id"] == "sess-1")
    assert pineapple["user_id"] == "u1"

    content = mem.get_message_content(pineapple["message_id"])
    assert content["content"] == "User Input: what is a pineapple\nAgent Response: a tropical fruit"
    assert len(content["content_embed"]) == 384

    hits = client.search_message("pineapple", [mem.id])
    assert [h["message_id"] for h in hits] == [pineapple["message_id"]]
    assert client.search_message("pineapple", [mem.id], user_id="nobody") == []
    recent = client.get_recent_messages([mem.id], limit=1)
    assert len(recent) == 1 and recent[0]["session_id"] == "sess-2"

    assert mem.update_message_status(pineapple["message_id"], False) is True
    assert client.search_message("pineapple", [mem.id]) == []
    assert mem.update_message_status(pineapple["message_id"], True) is True
    assert mem.forget_message(pineapple["message_id"]) is True
    assert client.search_message("pineapple", [mem.id]) == []
    assert [m["session_id"] for m in client.get_recent_messages([mem.id])] == ["sess-2"]

    with pytest.raises(Exception, match=rf"^Message '999999' in memory '{mem.id}' not found\.$"):
        mem.get_message_content(999999)
    with pytest.raises(Exception, match=rf"^Failed to forget message '999999' in memory '{mem.id}'\.$"):
        mem.forget_message(999999)


def test_sdk_errors_surface_upstreams_messages(client):
    with pytest.raises(Exception, match=r"^Memory name cannot be empty or whitespace\.$"):
        client.create_memory(name="  ", memory_type=["raw"], embd_id=EMBD, llm_id=LLM)
    with pytest.raises(Exception, match=r"^Memory type '\{'dream'\}' is not supported\.$"):
        client.create_memory(name="x", memory_type=["dream"], embd_id=EMBD, llm_id=LLM)
    with pytest.raises(Exception, match=r"^Some messages failed to add\. Detail:Memory \['nope'\] not found\.$"):
        client.add_message(["nope"], "a", "s", "u", "r")
    with pytest.raises(Exception, match=r"^memory_ids is required\.$"):
        client.get_recent_messages([])


def test_another_tenants_client_cannot_use_a_memory(client, other_client):
    mem = client.create_memory(name="mine", memory_type=["raw"], embd_id=EMBD, llm_id=LLM)
    client.add_message([mem.id], "a", "s", "secret pineapple", "kept")
    assert other_client.list_memory()["total_count"] == 0
    assert other_client.search_message("pineapple", [mem.id]) == []
    with pytest.raises(Exception, match=rf"^Memory '{mem.id}' not found\.$"):
        type(mem)(other_client, {"id": mem.id}).get_config()
    with pytest.raises(Exception, match=r"Memory \['.*'\] not found"):
        other_client.add_message([mem.id], "a", "s", "u", "r")
    assert client.search_message("pineapple", [mem.id])[0]["memory_id"] == mem.id
