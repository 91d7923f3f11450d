"""Parity: graphs invoked from inside a node, subgraph state, MessageGraph."""

import operator
from typing import Annotated, TypedDict

from conftest import same


class S(TypedDict, total=False):
    items: Annotated[list, operator.add]
    n: int


class Sub(TypedDict, total=False):
    text: str
    log: Annotated[list, operator.add]


def check(fn):
    res = same(fn)
    assert res[0] == "ok", f"LangGraph itself failed: {res}"
    return res[1]


def strip(out):
    if isinstance(out, dict) and "__interrupt__" in out:
        out = dict(out)
        out["__interrupt__"] = [i.value for i in out["__interrupt__"]]
    return out


def sub_graph(lg, ask=False):
    def upper(s):
        if ask:
            extra = lg.interrupt(f"approve {s['text']}?")
            return {"text": s["text"].upper(), "log": [f"upper:{extra}"]}
        return {"text": s["text"].upper(), "log": ["upper"]}

    g = lg.StateGraph(Sub)
    g.add_node("upper", upper)
    g.add_node("exclaim", lambda s: {"text": s["text"] + "!", "log": ["exclaim"]})
    g.add_edge(lg.START, "upper")
    g.add_edge("upper", "exclaim")
    return g.compile()


def test_graph_invoked_inside_a_node_with_other_keys():
    def sc(lg):
        sub = sub_graph(lg)

        def call(s):
            out = sub.invoke({"text": "hi"})
            return {"items": [out["text"], *out["log"]]}

        g = lg.StateGraph(S)
        g.add_node("call", call)
        g.add_edge(lg.START, "call")
        app = g.compile()
        return [app.invoke({"items": []}), list(app.stream({"items": []}, stream_mode="updates"))]

    check(sc)


def test_graph_invoked_inside_a_node_streams_with_subgraphs():
    def sc(lg):
        sub = sub_graph(lg)

        def call(s):
            return {"items": [sub.invoke({"text": "x"})["text"]]}

        g = lg.StateGraph(S)
        g.add_node("call", call)
        g.add_edge(lg.START, "call")
        chunks = list(g.compile().stream({"items": []}, stream_mode="updates", subgraphs=True))
        return [(tuple(p.split(":")[0] for p in ns), d) for ns, d in chunks]

    check(sc)


def test_interrupt_in_graph_invoked_inside_a_node():
    def sc(lg):
        sub = sub_graph(lg, ask=True)

        def call(s):
            out = sub.invoke({"text": "doc"})
            return {"items": [out["text"], *out["log"]]}

        g = lg.StateGraph(S)
        g.add_node("call", call)
        g.add_edge(lg.START, "call")
        app = g.compile(checkpointer=lg.InMemorySaver())
        c = {"configurable": {"thread_id": "t"}}
        r1 = strip(app.invoke({"items": []}, c))
        nxt = app.get_state(c).next
        r2 = app.invoke(lg.Command(resume="ok"), c)
        return [r1, nxt, r2]

    check(sc)


def test_subgraph_state_while_paused():
    def sc(lg):
        g = lg.StateGraph(Sub)
        g.add_node("sub", sub_graph(lg, ask=True))
        g.add_edge(lg.START, "sub")
        app = g.compile(checkpointer=lg.InMemorySaver())
        c = {"configurable": {"thread_id": "t"}}
        app.invoke({"text": "a", "log": []}, c)
        st = app.get_state(c, subgraphs=True)
        inner = st.tasks[0].state
        return [st.next, inner.values, inner.next, [i.value for i in st.interrupts]]

    check(sc)


def test_command_parent_from_graph_invoked_inside_a_node():
    def sc(lg):
        def jump(s):
            return lg.Command(graph=lg.Command.PARENT, goto="done", update={"items": ["jumped"]})

        inner = lg.StateGraph(S)
        inner.add_node("jump", jump)
        inner.add_edge(lg.START, "jump")
        inner_app = inner.compile()

        def call(s):
            return inner_app.invoke(s)

        g = lg.StateGraph(S)
        g.add_node("call", call, destinations=("done",))
        g.add_node("done", lambda s: {"items": ["done"]})
        g.add_edge(lg.START, "call")
        return g.compile().invoke({"items": []})

    check(sc)


def test_nested_subgraphs_two_levels():
    def sc(lg):
        leaf = lg.StateGraph(S)
        leaf.add_node("leaf", lambda s: {"items": ["leaf"]})
        leaf.add_edge(lg.START, "leaf")
        mid = lg.StateGraph(S)
        mid.add_node("pre", lambda s: {"items": ["pre"]})
        mid.add_node("leafgraph", leaf.compile())
        mid.add_edge(lg.START, "pre")
        mid.add_edge("pre", "leafgraph")
        top = lg.StateGraph(S)
        top.add_node("mid", mid.compile())
        top.add_node("post", lambda s: {"items": ["post"]})
        top.add_edge(lg.START, "mid")
        top.add_edge("mid", "post")
        app = top.compile()
        chunks = list(app.stream({"items": []}, stream_mode="values", subgraphs=True))
        return [app.invoke({"items": []}), [(len(ns), d) for ns, d in chunks]]

    check(sc)


def test_message_graph():
    def sc(lg):
        from langchain_core.messages import AIMessage

        mod = __import__(f"{lg.pkg}.graph", fromlist=["MessageGraph"])
        g = mod.MessageGraph()
        g.add_node("bot", lambda msgs: AIMessage(content=f"{len(msgs)} so far"))
        g.add_node("bot2", lambda msgs: [("ai", "second")])
        g.add_edge(lg.START, "bot")
        g.add_edge("bot", "bot2")
        app = g.compile()
        out = app.invoke([("user", "hello")])
        ups = list(app.stream([("user", "hi")], stream_mode="updates"))
        def desc(m):
            return tuple(m) if isinstance(m, tuple) else (type(m).__name__, m.content)

        return [
            [desc(m) for m in out],
            [{k: [desc(m) for m in (v if isinstance(v, list) else [v])] for k, v in u.items()} for u in ups],
        ]

    check(sc)
