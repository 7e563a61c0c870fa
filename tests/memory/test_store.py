"""The LangGraph BaseStore adapter: a plain LangGraph graph shares the Genesis memory through it."""

from __future__ import annotations

from typing import TypedDict

from genesis_agents.memory.store import MemoryStore
from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore


def test_put_get_search_delete(hybrid) -> None:
    store = MemoryStore(hybrid, namespace="acme")
    store.put(("users", "42"), "diet", {"text": "vegetarian, loves pasta", "level": 3})
    store.put(("users", "42"), "theme", {"text": "prefers dark mode", "level": 1})
    store.put(("users", "7"), "diet", {"text": "eats everything", "level": 2})
    item = store.get(("users", "42"), "diet")
    assert item is not None and item.value == {"text": "vegetarian, loves pasta", "level": 3}
    assert item.namespace == ("users", "42")

    hits = store.search(("users", "42"), query="what food does the user like?", limit=1)
    assert [h.key for h in hits] == ["diet"] and hits[0].score is not None
    assert {h.key for h in store.search(("users",), limit=10)} == {"diet", "theme"}
    assert len(store.search(("users",), limit=10)) == 3
    assert [h.key for h in store.search(("users", "42"), filter={"level": {"$gte": 2}})] == ["diet"]
    assert store.list_namespaces(prefix=("users",)) == [("users", "42"), ("users", "7")]
    assert store.list_namespaces(max_depth=1) == [("users",)]

    store.put(("users", "42"), "diet", {"text": "vegan now"})  # a put replaces
    assert store.get(("users", "42"), "diet").value == {"text": "vegan now"}
    assert len(store.search(("users", "42"), limit=10)) == 2
    store.delete(("users", "42"), "diet")
    assert store.get(("users", "42"), "diet") is None
    # the items live in the Genesis namespace, visible to Genesis agents too
    assert any(h.item.metadata.get("lg_key") == "theme" for h in hybrid.recall_sync("dark mode", namespace="acme"))


def test_a_plain_langgraph_graph_uses_the_store(hybrid) -> None:
    class State(TypedDict):
        user: str
        answer: str

    def remember_node(state: State, *, store: BaseStore) -> dict:
        store.put(("prefs", state["user"]), "lang", {"text": f"{state['user']} writes reports in Portuguese"})
        return {}

    def recall_node(state: State, *, store: BaseStore) -> dict:
        hits = store.search(("prefs", state["user"]), query="which language for reports?", limit=1)
        return {"answer": hits[0].value["text"] if hits else ""}

    builder = StateGraph(State)
    builder.add_node("remember", remember_node)
    builder.add_node("recall", recall_node)
    builder.add_edge(START, "remember")
    builder.add_edge("remember", "recall")
    builder.add_edge("recall", END)
    graph = builder.compile(store=MemoryStore(hybrid, namespace="lg"))
    out = graph.invoke({"user": "ana", "answer": ""})
    assert out["answer"] == "ana writes reports in Portuguese"
