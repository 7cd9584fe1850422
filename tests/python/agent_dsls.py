"""Agent canvases for the agent tests, in RAGFlow's DSL shape (written for lambdarag; the
shape follows the samples described in the contract)."""

from __future__ import annotations


def _cpn(name: str, params: dict, downstream: list[str], upstream: list[str], **extra) -> dict:
    out = {"obj": {"component_name": name, "params": params}, "downstream": downstream, "upstream": upstream}
    out.update(extra)
    return out


def _canvas(components: dict) -> dict:
    return {
        "components": components,
        "globals": {"sys.query": "", "sys.user_id": "", "sys.conversation_turns": 0, "sys.files": []},
        "history": [],
        "path": [],
        "retrieval": [],
    }


PROLOGUE = "Hello from the lambdarag test agent."


def retrieval_llm_message(dataset_id: str, llm_id: str = "") -> dict:
    return _canvas({
        "begin": _cpn("Begin", {"prologue": PROLOGUE}, ["Retrieval:Docs"], []),
        "Retrieval:Docs": _cpn("Retrieval", {"kb_ids": [dataset_id], "query": "sys.query", "top_n": 4,
                                             "similarity_threshold": 0.1}, ["LLM:Answer"], ["begin"]),
        "LLM:Answer": _cpn("LLM", {"llm_id": llm_id, "sys_prompt": "Answer from these passages:\n{Retrieval:Docs@formalized_content}",
                                   "prompts": [{"role": "user", "content": "{sys.query}"}]},
                           ["Message:Reply"], ["Retrieval:Docs"]),
        "Message:Reply": _cpn("Message", {"content": ["{LLM:Answer@content}"]}, [], ["LLM:Answer"]),
    })


def categorize_flow() -> dict:
    return _canvas({
        "begin": _cpn("Begin", {"prologue": PROLOGUE}, ["Categorize:Route"], []),
        "Categorize:Route": _cpn("Categorize", {
            "query": "sys.query",
            "category_description": {
                "bees": {"description": "questions about honey bees, hives and the waggle dance",
                         "examples": ["how do bees dance"], "to": ["Message:Bees"]},
                "solar": {"description": "questions about solar panels, sunlight and electricity",
                          "examples": ["how do panels make power"], "to": ["Message:Solar"]},
            },
        }, ["Message:Bees", "Message:Solar"], ["begin"]),
        "Message:Bees": _cpn("Message", {"content": ["Routed to bees: {sys.query}"]}, [], ["Categorize:Route"]),
        "Message:Solar": _cpn("Message", {"content": ["Routed to solar: {sys.query}"]}, [], ["Categorize:Route"]),
    })


def switch_flow() -> dict:
    return _canvas({
        "begin": _cpn("Begin", {"prologue": PROLOGUE}, ["Switch:Check"], []),
        "Switch:Check": _cpn("Switch", {
            "conditions": [{"logical_operator": "and",
                            "items": [{"cpn_id": "sys.query", "operator": "contains", "value": "urgent"}],
                            "to": ["Message:Urgent"]}],
            "end_cpn_ids": ["Message:Normal"],
        }, ["Message:Urgent", "Message:Normal"], ["begin"]),
        "Message:Urgent": _cpn("Message", {"content": ["URGENT path"]}, [], ["Switch:Check"]),
        "Message:Normal": _cpn("Message", {"content": ["normal path"]}, [], ["Switch:Check"]),
    })


def agent_with_retrieval_tool(dataset_id: str, llm_id: str = "") -> dict:
    return _canvas({
        "begin": _cpn("Begin", {"prologue": PROLOGUE}, ["Agent:Helper"], []),
        "Agent:Helper": _cpn("Agent", {
            "llm_id": llm_id,
            "sys_prompt": "You answer questions with the knowledge base tool.",
            "prompts": [{"role": "user", "content": "{sys.query}"}],
            "max_rounds": 3,
            "tools": [{"component_name": "Retrieval", "name": "search_kb",
                       "params": {"kb_ids": [dataset_id], "top_n": 4, "similarity_threshold": 0.1}}],
        }, ["Message:Reply"], ["begin"]),
        "Message:Reply": _cpn("Message", {"content": ["{Agent:Helper@content}"]}, [], ["Agent:Helper"]),
    })


def iteration_flow() -> dict:
    return _canvas({
        "begin": _cpn("Begin", {"prologue": PROLOGUE, "inputs": {
            "topics": {"name": "topics", "type": "line", "optional": False, "value": None}}},
            ["Iteration:Each"], []),
        "Iteration:Each": _cpn("Iteration", {"items_ref": "begin@topics", "delimiter": ",",
                                             "outputs": {"lines": {"ref": "Message:Inner@content"}}},
                               ["Message:Done"], ["begin"]),
        "IterationItem:Item": _cpn("IterationItem", {}, ["Message:Inner"], [], parent_id="Iteration:Each"),
        "Message:Inner": _cpn("Message", {"content": ["topic {IterationItem:Item@index}: {IterationItem:Item@item}"]},
                              [], ["IterationItem:Item"], parent_id="Iteration:Each"),
        "Message:Done": _cpn("Message", {"content": ["Collected: {Iteration:Each@lines}"]}, [], ["Iteration:Each"]),
    })


def with_web_search() -> dict:
    return _canvas({
        "begin": _cpn("Begin", {}, ["TavilySearch:Web"], []),
        "TavilySearch:Web": _cpn("TavilySearch", {"api_key": "x"}, ["Message:Reply"], ["begin"]),
        "Message:Reply": _cpn("Message", {"content": ["{TavilySearch:Web@formalized_content}"]}, [], ["TavilySearch:Web"]),
    })
