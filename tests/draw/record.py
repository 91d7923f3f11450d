#!/usr/bin/env python
"""Record Python LangGraph's Mermaid drawings of the graphs that `tests/draw_mermaid.rs` rebuilds.

Usage (from the repository root, with Python LangGraph installed)::

    python tests/draw/record.py

Every function below decorated with ``@case`` builds one graph; its
``compiled.get_graph(xray=...).draw_mermaid(...)`` output is written verbatim to
``tests/draw/<name>.mmd``, and the drawn graph's ``to_json()`` (as the LangGraph Server returns it
from ``GET /assistants/{id}/graph``: without the ``data.id`` class path) to ``<name>.json``. The
Rust test builds the same graph with Stategraph and asserts that ``draw_mermaid`` and
``graph_json`` return exactly the recorded output, so keep both sides in step when editing a case.
"""

from __future__ import annotations

import json
import random
from importlib.metadata import version
from pathlib import Path
from typing import Any, Callable

from langchain_core.runnables.graph import CurveStyle, Graph
from typing_extensions import TypedDict

from langgraph.graph import END, START, StateGraph

HERE = Path(__file__).resolve().parent


class State(TypedDict, total=False):
    x: int


def node(_state: State) -> dict:
    return {}


def route(_state: State) -> str:
    # Never called: drawing does not run the graph.
    raise AssertionError("routers are not run when drawing")


CASES: dict[str, Callable[[], str]] = {}


def case(fn: Callable[[], str]) -> Callable[[], str]:
    CASES[fn.__name__] = fn
    return fn


def graph(*names: str) -> StateGraph:
    g = StateGraph(State)
    for n in names:
        g.add_node(n, node)
    return g


@case
def sequence() -> str:
    g = graph("a", "b", "c")
    g.add_edge(START, "a")
    g.add_edge("a", "b")
    g.add_edge("b", "c")
    g.add_edge("c", END)
    return g.compile().get_graph().draw_mermaid()


@case
def fan_out_join() -> str:
    g = graph("fetch", "left", "right", "merge")
    g.add_edge(START, "fetch")
    g.add_edge("fetch", "left")
    g.add_edge("fetch", "right")
    g.add_edge(["left", "right"], "merge")
    g.add_edge("merge", END)
    return g.compile().get_graph().draw_mermaid()


@case
def uneven_join() -> str:
    # The join's sources finish in different supersteps (`slow` one step later than `fast`).
    g = graph("split", "fast", "slow_1", "slow_2", "merge")
    g.add_edge(START, "split")
    g.add_edge("split", "fast")
    g.add_edge("split", "slow_1")
    g.add_edge("slow_1", "slow_2")
    g.add_edge(["fast", "slow_2"], "merge")
    g.add_edge("merge", END)
    return g.compile().get_graph().draw_mermaid()


@case
def conditional_labels() -> str:
    g = graph("classify", "accept", "reject")
    g.add_edge(START, "classify")
    g.add_conditional_edges("classify", route, {"yes": "accept", "no": "reject", "give up": END})
    g.add_edge("accept", END)
    g.add_edge("reject", END)
    return g.compile().get_graph().draw_mermaid()


@case
def conditional_list() -> str:
    g = graph("plan", "fast", "slow")
    g.add_edge(START, "plan")
    g.add_conditional_edges("plan", route, ["fast", "slow", END])
    g.add_edge("fast", END)
    g.add_edge("slow", END)
    return g.compile().get_graph().draw_mermaid()


@case
def conditional_no_map() -> str:
    # Without a path map LangGraph cannot know where the router goes.
    g = graph("router", "a", "b")
    g.add_edge(START, "router")
    g.add_conditional_edges("router", route)
    g.add_edge("a", END)
    g.add_edge("b", END)
    return g.compile().get_graph().draw_mermaid()


@case
def conditional_from_start() -> str:
    g = graph("small", "large")
    g.add_conditional_edges(START, route, {"size <= 10": "small", "size > 10": "large"})
    g.add_edge("small", END)
    g.add_edge("large", END)
    return g.compile().get_graph().draw_mermaid()


@case
def loop_exit() -> str:
    g = graph("agent", "tools")
    g.add_edge(START, "agent")
    g.add_conditional_edges("agent", route, {"continue": "tools", "done": END})
    g.add_edge("tools", "agent")
    return g.compile().get_graph().draw_mermaid()


@case
def plain_cycle() -> str:
    # A cycle of plain edges with a conditional exit: the drawing simulation runs to its step limit.
    g = graph("write", "review", "publish")
    g.add_edge(START, "write")
    g.add_edge("write", "review")
    g.add_edge("review", "write")
    g.add_conditional_edges("review", route, {"approved": "publish", "rejected": "write"})
    g.add_edge("publish", END)
    return g.compile().get_graph().draw_mermaid()


@case
def self_loop() -> str:
    # LangChain groups a self-loop edge by its node's name, so it is printed after the other edges.
    g = graph("a", "b")
    g.add_edge(START, "a")
    g.add_conditional_edges("a", route, {"again": "a", "next": "b"})
    g.add_edge("b", END)
    return g.compile().get_graph().draw_mermaid()


@case
def command_destinations() -> str:
    g = StateGraph(State)
    g.add_node("triage", node, destinations=("billing", "support", END))
    g.add_node("billing", node)
    g.add_node("support", node)
    g.add_edge(START, "triage")
    g.add_edge("billing", END)
    g.add_edge("support", END)
    return g.compile().get_graph().draw_mermaid()


def inner_graph():
    g = graph("inner_a", "inner_b")
    g.add_edge(START, "inner_a")
    g.add_edge("inner_a", "inner_b")
    g.add_edge("inner_b", END)
    return g.compile()


def with_subgraph() -> StateGraph:
    g = StateGraph(State)
    g.add_node("prep", node)
    g.add_node("inner", inner_graph())
    g.add_node("finish", node)
    g.add_edge(START, "prep")
    g.add_edge("prep", "inner")
    g.add_edge("inner", "finish")
    g.add_edge("finish", END)
    return g


@case
def subgraph() -> str:
    return with_subgraph().compile().get_graph().draw_mermaid()


@case
def subgraph_xray() -> str:
    return with_subgraph().compile().get_graph(xray=True).draw_mermaid()


@case
def nested_xray() -> str:
    # `deep` starts with a fan-out, so its __start__/__end__ are kept when it is inlined.
    deep = graph("x", "y")
    deep.add_edge(START, "x")
    deep.add_edge(START, "y")
    deep.add_edge("x", END)
    deep.add_edge("y", END)
    middle = StateGraph(State)
    middle.add_node("m1", node)
    middle.add_node("deep", deep.compile())
    middle.add_edge(START, "m1")
    middle.add_edge("m1", "deep")
    middle.add_edge("deep", END)
    outer = StateGraph(State)
    outer.add_node("middle", middle.compile())
    outer.add_node("after", node)
    outer.add_edge(START, "middle")
    outer.add_edge("middle", "after")
    outer.add_edge("after", END)
    return outer.compile().get_graph(xray=True).draw_mermaid()


@case
def defer_metadata() -> str:
    g = StateGraph(State)
    g.add_node("start", node, metadata={"owner": "ops#1", "retries": 3, "tags": ["a", "b"], "ratio": 0.5})
    g.add_node("short", node)
    g.add_node("long_1", node)
    g.add_node("long_2", node)
    g.add_node("collect", node, defer=True)
    g.add_edge(START, "start")
    g.add_edge("start", "short")
    g.add_edge("start", "long_1")
    g.add_edge("long_1", "long_2")
    g.add_edge("short", "collect")
    g.add_edge("long_2", "collect")
    g.add_edge("collect", END)
    return g.compile().get_graph().draw_mermaid()


@case
def static_breakpoints() -> str:
    g = StateGraph(State)
    g.add_node("a", node, metadata={"owner": "ops"})
    g.add_node("b", node)
    g.add_node("c", node)
    g.add_node("d", node)
    g.add_edge(START, "a")
    g.add_edge("a", "b")
    g.add_edge("b", "c")
    g.add_edge("c", "d")
    g.add_edge("d", END)
    return g.compile(interrupt_before=["a", "c"], interrupt_after=["b", "c"]).get_graph().draw_mermaid()


@case
def odd_names_no_styles() -> str:
    g = graph("look up", "answer?", "_private_")
    g.add_edge(START, "look up")
    g.add_conditional_edges(
        "look up",
        route,
        {
            "the answer was found in the index so we can reply right away": "answer?",
            "nothing": "_private_",
        },
    )
    g.add_edge("answer?", END)
    g.add_edge("_private_", END)
    return g.compile().get_graph().draw_mermaid(with_styles=False, curve_style=CurveStyle.BASIS)


@case
def odd_names_basis() -> str:
    g = graph("look up", "answer?", "_private_")
    g.add_edge(START, "look up")
    g.add_conditional_edges(
        "look up",
        route,
        {
            "the answer was found in the index so we can reply right away": "answer?",
            "nothing": "_private_",
        },
    )
    g.add_edge("answer?", END)
    g.add_edge("_private_", END)
    return g.compile().get_graph().draw_mermaid(curve_style=CurveStyle.BASIS)


# --------------------------------------------------------------------------------------------------
# Random graphs: a differential check of the drawing simulation on shapes nobody thought of.
# Each spec is plain JSON that tests/draw_mermaid.rs rebuilds:
#   {"nodes": [{"name", "defer", "destinations"}], "edges": [[src, dst]], "joins": [[[srcs], dst]],
#    "branches": [{"source", "path_map": null | [targets] | [[label, target]]}]}
# --------------------------------------------------------------------------------------------------

RANDOM_GRAPHS = 150
RANDOM_SEED = 20240601


def random_spec(rng: random.Random) -> dict[str, Any]:
    n = rng.randint(2, 7)
    names = [f"n{i}" if rng.random() < 0.9 else f"n {i}" for i in range(n)]
    nodes = [{"name": x, "defer": rng.random() < 0.1, "destinations": []} for x in names]
    edges: list[list[str]] = []
    joins: list[list[Any]] = []
    branch_targets: dict[str, list[str]] = {}

    def link(src: str, dst: str) -> None:
        kind = rng.random()
        if kind < 0.55 or src == START:
            if [src, dst] not in edges:
                edges.append([src, dst])
        elif kind < 0.85:
            branch_targets.setdefault(src, []).append(dst)
        else:
            node = next(x for x in nodes if x["name"] == src)
            if dst not in node["destinations"]:
                node["destinations"].append(dst)

    # Everything reachable from START, then extra edges (back edges, skips, exits).
    for i, x in enumerate(names):
        link(rng.choice([START, *names[:i]]), x)
    for _ in range(rng.randint(0, n)):
        link(rng.choice(names), rng.choice([*names, END]))
    link(names[-1], END)
    if n >= 3 and rng.random() < 0.4:
        srcs = rng.sample(names, rng.randint(2, 3))
        joins.append([srcs, rng.choice(names)])
    branches = []
    for src, targets in branch_targets.items():
        targets = list(dict.fromkeys(targets))
        style = rng.random()
        if style < 0.1:
            path_map: Any = None
        elif style < 0.5:
            path_map = targets
        else:
            path_map = [[f"to {t}" if rng.random() < 0.7 else t, t] for t in targets]
        branches.append({"source": src, "path_map": path_map})
    # Stategraph rejects loops nothing can leave (SG004) where LangGraph accepts them: give every
    # node a way to END so the graphs are valid for both.
    succ: dict[str, set[str]] = {x: set() for x in names}
    for src, dst in edges:
        succ.setdefault(src, set()).add(dst)
    for srcs, dst in joins:
        for src in srcs:
            succ[src].add(dst)
    for b in branches:
        pm = b["path_map"] or []
        succ[b["source"]].update(t if isinstance(t, str) else t[1] for t in pm)
    for x in nodes:
        succ[x["name"]].update(x["destinations"])
    for x in names:
        seen, todo = {x}, [x]
        while todo:
            for y in succ.get(todo.pop(), ()):
                if y not in seen:
                    seen.add(y)
                    todo.append(y)
        if END not in seen:
            edges.append([x, END])
            succ[x].add(END)
    return {"nodes": nodes, "edges": edges, "joins": joins, "branches": branches}


def build_spec(spec: dict[str, Any]) -> StateGraph:
    g = StateGraph(State)
    for x in spec["nodes"]:
        kwargs: dict[str, Any] = {"defer": x["defer"]}
        if x["destinations"]:
            kwargs["destinations"] = tuple(x["destinations"])
        g.add_node(x["name"], node, **kwargs)
    for src, dst in spec["edges"]:
        g.add_edge(src, dst)
    for srcs, dst in spec["joins"]:
        g.add_edge(srcs, dst)
    for i, b in enumerate(spec["branches"]):
        router = lambda _s: None  # noqa: E731
        router.__name__ = f"router_{i}"  # branches of one node need distinct names
        pm = b["path_map"]
        if pm is not None and pm and isinstance(pm[0], list):
            pm = {label: target for label, target in pm}
        g.add_conditional_edges(b["source"], router, pm)
    return g


def random_graphs() -> list[dict[str, Any]]:
    rng = random.Random(RANDOM_SEED)
    out = []
    while len(out) < RANDOM_GRAPHS:
        spec = random_spec(rng)
        try:
            mermaid = build_spec(spec).compile().get_graph().draw_mermaid()
        except Exception:  # noqa: BLE001 - a shape LangGraph rejects or cannot draw: take another
            # (`get_graph` raises TypeError when it sorts a labelled and an unlabelled edge
            # between the same nodes.)
            continue
        out.append({"spec": spec, "mermaid": mermaid})
    return out


# The graph each case drew last, as JSON (captured by wrapping `Graph.draw_mermaid`).
DRAWN: list[dict[str, Any]] = []
_draw_mermaid = Graph.draw_mermaid


def _capturing_draw_mermaid(self: Graph, *args: Any, **kwargs: Any) -> str:
    drawn = self.to_json()
    for n in drawn["nodes"]:
        if isinstance(n.get("data"), dict):
            n["data"].pop("id", None)
    DRAWN.append(drawn)
    return _draw_mermaid(self, *args, **kwargs)


Graph.draw_mermaid = _capturing_draw_mermaid  # type: ignore[method-assign]


def main() -> None:
    print(f"langgraph {version('langgraph')}, langchain-core {version('langchain-core')}")
    for name, build in CASES.items():
        (HERE / f"{name}.mmd").write_text(build())
        (HERE / f"{name}.json").write_text(json.dumps(DRAWN[-1], indent=1) + "\n")
        print(f"wrote {name}.mmd and {name}.json")
    (HERE / "random_graphs.json").write_text(json.dumps(random_graphs(), indent=1) + "\n")
    print(f"wrote random_graphs.json ({RANDOM_GRAPHS} graphs, seed {RANDOM_SEED})")


if __name__ == "__main__":
    main()
