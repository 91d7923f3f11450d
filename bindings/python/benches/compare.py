"""The same Python graph scripts timed under LangGraph and under langgraph_rust, in one run.

Shapes (Python nodes everywhere):
  sequential          a chain of 20 nodes, each writing a key and appending to a list
  fanout              START -> 20 parallel nodes -> a join node, list reducer
  fanout_to_subgraph  Send to a 3-node subgraph for each of 20 items, results reduced
  react_agent         agent <-> tools loop for 10 rounds over a growing message list (dicts)

Usage: python compare.py [--repeat N] [--shapes a,b]
Prints seconds per run for each package and the speed-up (LangGraph time / langgraph_rust time).
"""

import argparse
import importlib
import operator
import statistics
import time
from typing import Annotated, TypedDict


class State(TypedDict, total=False):
    log: Annotated[list, operator.add]
    n: int
    items: list
    results: Annotated[list, operator.add]
    messages: Annotated[list, operator.add]
    rounds: int


class SubState(TypedDict, total=False):
    item: int
    results: Annotated[list, operator.add]
    tmp: int


def shapes(pkg: str) -> dict:
    g_mod = importlib.import_module(f"{pkg}.graph")
    t_mod = importlib.import_module(f"{pkg}.types")
    StateGraph, START, END, Send = g_mod.StateGraph, g_mod.START, g_mod.END, t_mod.Send

    def sequential():
        g = StateGraph(State)
        prev = START
        for i in range(20):
            name = f"n{i}"
            g.add_node(name, lambda s, i=i: {"n": s.get("n", 0) + 1, "log": [i]})
            g.add_edge(prev, name)
            prev = name
        g.add_edge(prev, END)
        app = g.compile()
        return lambda: app.invoke({"n": 0, "log": []})

    def fanout():
        g = StateGraph(State)
        names = [f"w{i}" for i in range(20)]
        for i, name in enumerate(names):
            g.add_node(name, lambda s, i=i: {"results": [i * 2]})
            g.add_edge(START, name)
        g.add_node("join", lambda s: {"n": len(s["results"])})
        g.add_edge(names, "join")
        g.add_edge("join", END)
        app = g.compile()
        return lambda: app.invoke({"results": []})

    def fanout_to_subgraph():
        sub = StateGraph(SubState)
        sub.add_node("double", lambda s: {"tmp": s["item"] * 2})
        sub.add_node("inc", lambda s: {"tmp": s["tmp"] + 1})
        sub.add_node("emit", lambda s: {"results": [s["tmp"]]})
        sub.add_edge(START, "double")
        sub.add_edge("double", "inc")
        sub.add_edge("inc", "emit")
        subgraph = sub.compile()
        g = StateGraph(State)
        g.add_node("worker", subgraph)
        g.add_conditional_edges(START, lambda s: [Send("worker", {"item": i}) for i in s["items"]])
        app = g.compile()
        return lambda: app.invoke({"items": list(range(20)), "results": []})

    def react_agent():
        def agent(s):
            r = s.get("rounds", 0)
            if r >= 10:
                return {"messages": [{"role": "ai", "content": "done"}]}
            return {
                "messages": [{"role": "ai", "content": "", "tool_calls": [{"name": "search", "args": {"q": r}, "id": str(r)}]}],
                "rounds": r + 1,
            }

        def tools(s):
            call = s["messages"][-1]["tool_calls"][0]
            return {"messages": [{"role": "tool", "content": f"result {call['args']['q']}", "tool_call_id": call["id"]}]}

        g = StateGraph(State)
        g.add_node("agent", agent)
        g.add_node("tools", tools)
        g.add_edge(START, "agent")
        g.add_conditional_edges("agent", lambda s: "tools" if s["messages"][-1].get("tool_calls") else END)
        g.add_edge("tools", "agent")
        app = g.compile()
        return lambda: app.invoke({"messages": [{"role": "user", "content": "hi"}], "rounds": 0})

    def react_agent_messages():
        # The same loop over LangChain messages reduced by add_messages (needs langchain-core):
        # the reducer is Python in both packages, so this measures the engine around it.
        from langchain_core.messages import AIMessage, ToolMessage

        def agent(s):
            r = s.get("rounds", 0)
            if r >= 10:
                return {"messages": [AIMessage(content="done")]}
            return {"messages": [AIMessage(content="", tool_calls=[{"name": "search", "args": {"q": r}, "id": str(r)}])], "rounds": r + 1}

        def tools(s):
            call = s["messages"][-1].tool_calls[0]
            return {"messages": [ToolMessage(content=f"result {call['args']['q']}", tool_call_id=call["id"])]}

        class MState(g_mod.MessagesState, total=False):
            rounds: int

        g = StateGraph(MState)
        g.add_node("agent", agent)
        g.add_node("tools", tools)
        g.add_edge(START, "agent")
        g.add_conditional_edges("agent", lambda s: "tools" if s["messages"][-1].tool_calls else END)
        g.add_edge("tools", "agent")
        app = g.compile()
        return lambda: [m.content for m in app.invoke({"messages": [("user", "hi")], "rounds": 0})["messages"]]

    def sequential_saver():
        # The sequential chain with InMemorySaver: every step checkpointed, a new thread per run.
        m_mod = importlib.import_module(f"{pkg}.checkpoint.memory")
        g = StateGraph(State)
        prev = START
        for i in range(20):
            name = f"n{i}"
            g.add_node(name, lambda s, i=i: {"n": s.get("n", 0) + 1, "log": [i]})
            g.add_edge(prev, name)
            prev = name
        app = g.compile(checkpointer=m_mod.InMemorySaver())
        counter = iter(range(10**9))
        return lambda: app.invoke({"n": 0, "log": []}, {"configurable": {"thread_id": str(next(counter))}})

    return {
        "sequential": sequential,
        "sequential_saver": sequential_saver,
        "fanout": fanout,
        "fanout_to_subgraph": fanout_to_subgraph,
        "react_agent": react_agent,
        "react_agent_messages": react_agent_messages,
    }


def time_run(run, repeat: int) -> float:
    run()  # warm up
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        run()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--shapes", default="sequential,sequential_saver,fanout,fanout_to_subgraph,react_agent,react_agent_messages")
    args = ap.parse_args()
    wanted = args.shapes.split(",")
    py, rs = shapes("langgraph"), shapes("langgraph_rust")
    print(f"{'shape':<20} {'langgraph':>12} {'langgraph_rust':>15} {'speed-up':>9}")
    for name in wanted:
        a, b = py[name](), rs[name]()
        assert a() == b(), f"{name}: results differ"
        ta, tb = time_run(a, args.repeat), time_run(b, args.repeat)
        print(f"{name:<20} {ta * 1000:>10.2f}ms {tb * 1000:>13.2f}ms {ta / tb:>8.1f}x")


if __name__ == "__main__":
    main()
