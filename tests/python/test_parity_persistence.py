"""Parity: interrupts, checkpointers, state history, time travel, durability."""

import operator
from dataclasses import dataclass
import os
import tempfile
from typing import Annotated, TypedDict

import pytest

from conftest import in_schema, postgres_url, same


class S(TypedDict, total=False):
    items: Annotated[list, operator.add]
    n: int


def check(fn):
    res = same(fn)
    assert res[0] == "ok", f"LangGraph itself failed: {res}"
    return res[1]


def node(name):
    def f(s):
        return {"items": [name]}

    f.__name__ = name
    return f


SAVERS = ["memory", "sqlite"]


def make_saver(lg, kind):
    if kind == "memory":
        return lg.InMemorySaver()
    path = os.path.join(tempfile.mkdtemp(prefix="parity-"), "cp.sqlite")
    if lg.pkg == "langgraph":
        import sqlite3

        return lg.SqliteSaver(sqlite3.connect(path, check_same_thread=False))
    return lg.SqliteSaver.from_conn_string(path).__enter__()


def strip(out):
    """Invoke output with interrupts reduced to their values (ids hash task ids)."""
    if isinstance(out, dict) and "__interrupt__" in out:
        out = dict(out)
        out["__interrupt__"] = [i.value for i in out["__interrupt__"]]
    return out


def snap(st):
    return {
        "values": st.values,
        "next": st.next,
        "source": (st.metadata or {}).get("source"),
        "step": (st.metadata or {}).get("step"),
        "tasks": [(t.name, [i.value for i in t.interrupts], t.result) for t in st.tasks],
        "interrupts": [i.value for i in st.interrupts],
        "has_parent": st.parent_config is not None,
    }


def approval_graph(lg, saver, **compile_kw):
    def ask(s):
        answer = lg.interrupt({"question": "ok?", "n": s["n"]})
        return {"items": [f"answer:{answer}"]}

    g = lg.StateGraph(S)
    g.add_node("before", node("before"))
    g.add_node("ask", ask)
    g.add_node("after", node("after"))
    g.add_edge(lg.START, "before")
    g.add_edge("before", "ask")
    g.add_edge("ask", "after")
    return g.compile(checkpointer=saver, **compile_kw)


@pytest.mark.parametrize("kind", SAVERS)
def test_interrupt_and_resume(kind):
    def sc(lg):
        app = approval_graph(lg, make_saver(lg, kind))
        c = {"configurable": {"thread_id": "t1"}}
        first = strip(app.invoke({"n": 1, "items": []}, c))
        mid = snap(app.get_state(c))
        second = strip(app.invoke(lg.Command(resume="yes"), c))
        end = snap(app.get_state(c))
        return [first, mid, second, end]

    check(sc)


@pytest.mark.parametrize("kind", SAVERS)
def test_interrupt_stream_updates_chunk(kind):
    def sc(lg):
        app = approval_graph(lg, make_saver(lg, kind))
        c = {"configurable": {"thread_id": "t1"}}
        chunks = []
        for ch in app.stream({"n": 1, "items": []}, c, stream_mode="updates"):
            if "__interrupt__" in ch:
                ch = {"__interrupt__": [type(ch["__interrupt__"]).__name__] + [i.value for i in ch["__interrupt__"]]}
            chunks.append(ch)
        chunks += list(app.stream(lg.Command(resume="ok"), c, stream_mode="updates"))
        return chunks

    check(sc)


def test_two_interrupts_in_one_node():
    def sc(lg):
        def ask(s):
            a = lg.interrupt("first")
            b = lg.interrupt("second")
            return {"items": [a, b]}

        g = lg.StateGraph(S)
        g.add_node("ask", ask)
        g.add_edge(lg.START, "ask")
        app = g.compile(checkpointer=lg.InMemorySaver())
        c = {"configurable": {"thread_id": "t"}}
        r1 = strip(app.invoke({"items": []}, c))
        r2 = strip(app.invoke(lg.Command(resume="A"), c))
        r3 = strip(app.invoke(lg.Command(resume="B"), c))
        return [r1, r2, r3]

    check(sc)


def test_parallel_interrupts_resumed_by_id():
    def sc(lg):
        def mk(name):
            def f(s):
                return {"items": [f"{name}:{lg.interrupt(name)}"]}

            return f

        g = lg.StateGraph(S)
        g.add_node("p", mk("p"))
        g.add_node("q", mk("q"))
        g.add_edge(lg.START, "p")
        g.add_edge(lg.START, "q")
        app = g.compile(checkpointer=lg.InMemorySaver())
        c = {"configurable": {"thread_id": "t"}}
        out = app.invoke({"items": []}, c)
        values = sorted(i.value for i in out["__interrupt__"])
        st = app.get_state(c)
        answers = {i.id: f"ans-{i.value}" for i in st.interrupts}
        final = app.invoke(lg.Command(resume=answers), c)
        return [values, sorted(final["items"])]

    check(sc)


def test_interrupt_inside_subgraph():
    def sc(lg):
        def ask(s):
            return {"items": [lg.interrupt("sub?")]}

        sub = lg.StateGraph(S)
        sub.add_node("ask", ask)
        sub.add_edge(lg.START, "ask")
        g = lg.StateGraph(S)
        g.add_node("a", node("a"))
        g.add_node("sub", sub.compile())
        g.add_node("z", node("z"))
        g.add_edge(lg.START, "a")
        g.add_edge("a", "sub")
        g.add_edge("sub", "z")
        app = g.compile(checkpointer=lg.InMemorySaver())
        c = {"configurable": {"thread_id": "t"}}
        r1 = strip(app.invoke({"items": []}, c))
        nxt = app.get_state(c).next
        r2 = strip(app.invoke(lg.Command(resume="deep"), c))
        return [r1, nxt, r2]

    check(sc)


@pytest.mark.parametrize("kind", SAVERS)
def test_static_interrupt_before(kind):
    def sc(lg):
        g = lg.StateGraph(S)
        for n in "abc":
            g.add_node(n, node(n))
        g.add_edge(lg.START, "a")
        g.add_edge("a", "b")
        g.add_edge("b", "c")
        app = g.compile(checkpointer=make_saver(lg, kind), interrupt_before=["b"])
        c = {"configurable": {"thread_id": "t"}}
        r1 = strip(app.invoke({"items": []}, c))
        s1 = snap(app.get_state(c))
        r2 = strip(app.invoke(None, c))
        return [r1, s1, r2]

    check(sc)


def test_static_interrupt_after():
    def sc(lg):
        g = lg.StateGraph(S)
        for n in "abc":
            g.add_node(n, node(n))
        g.add_edge(lg.START, "a")
        g.add_edge("a", "b")
        g.add_edge("b", "c")
        app = g.compile(checkpointer=lg.InMemorySaver(), interrupt_after=["a"])
        c = {"configurable": {"thread_id": "t"}}
        r1 = strip(app.invoke({"items": []}, c))
        nxt = app.get_state(c).next
        r2 = strip(app.invoke(None, c))
        return [r1, nxt, r2]

    check(sc)


def test_interrupt_before_given_at_run_time():
    def sc(lg):
        g = lg.StateGraph(S)
        for n in "ab":
            g.add_node(n, node(n))
        g.add_edge(lg.START, "a")
        g.add_edge("a", "b")
        app = g.compile(checkpointer=lg.InMemorySaver())
        c = {"configurable": {"thread_id": "t"}}
        r1 = app.invoke({"items": []}, c, interrupt_before=["b"])
        return [r1, app.get_state(c).next, app.invoke(None, c)]

    check(sc)


@pytest.mark.parametrize("kind", SAVERS)
def test_update_state_then_continue(kind):
    def sc(lg):
        g = lg.StateGraph(S)
        for n in "abc":
            g.add_node(n, node(n))
        g.add_edge(lg.START, "a")
        g.add_edge("a", "b")
        g.add_edge("b", "c")
        app = g.compile(checkpointer=make_saver(lg, kind), interrupt_before=["b"])
        c = {"configurable": {"thread_id": "t"}}
        app.invoke({"items": [], "n": 0}, c)
        app.update_state(c, {"items": ["edited"], "n": 9})
        s = snap(app.get_state(c))
        return [s, app.invoke(None, c)]

    check(sc)


def test_update_state_as_node():
    def sc(lg):
        g = lg.StateGraph(S)
        for n in "abc":
            g.add_node(n, node(n))
        g.add_edge(lg.START, "a")
        g.add_edge("a", "b")
        g.add_edge("b", "c")
        app = g.compile(checkpointer=lg.InMemorySaver(), interrupt_before=["b"])
        c = {"configurable": {"thread_id": "t"}}
        app.invoke({"items": []}, c)
        app.update_state(c, {"items": ["as-b"]}, as_node="b")
        s = snap(app.get_state(c))
        return [s, app.invoke(None, c)]

    check(sc)


@pytest.mark.parametrize("kind", SAVERS)
def test_state_history(kind):
    def sc(lg):
        g = lg.StateGraph(S)
        for n in "ab":
            g.add_node(n, node(n))
        g.add_edge(lg.START, "a")
        g.add_edge("a", "b")
        app = g.compile(checkpointer=make_saver(lg, kind))
        c = {"configurable": {"thread_id": "t"}}
        app.invoke({"items": []}, c)
        app.invoke({"items": ["again"]}, c)
        return [snap(s) for s in app.get_state_history(c)]

    check(sc)


def test_history_limit_and_before():
    def sc(lg):
        g = lg.StateGraph(S)
        for n in "abc":
            g.add_node(n, node(n))
        g.add_edge(lg.START, "a")
        g.add_edge("a", "b")
        g.add_edge("b", "c")
        app = g.compile(checkpointer=lg.InMemorySaver())
        c = {"configurable": {"thread_id": "t"}}
        app.invoke({"items": []}, c)
        hist = list(app.get_state_history(c))
        two = [snap(s) for s in app.get_state_history(c, limit=2)]
        before = [snap(s) for s in app.get_state_history(c, before=hist[1].config)]
        return [two, before]

    check(sc)


def test_replay_from_a_checkpoint():
    def sc(lg):
        calls = []

        def mk(n):
            def f(s):
                calls.append(n)
                return {"items": [n]}

            return f

        g = lg.StateGraph(S)
        for n in "abc":
            g.add_node(n, mk(n))
        g.add_edge(lg.START, "a")
        g.add_edge("a", "b")
        g.add_edge("b", "c")
        app = g.compile(checkpointer=lg.InMemorySaver())
        c = {"configurable": {"thread_id": "t"}}
        app.invoke({"items": []}, c)
        hist = list(app.get_state_history(c))
        before_b = next(h for h in hist if h.next == ("b",))
        calls.clear()
        out = app.invoke(None, before_b.config)
        return [out, calls, len(list(app.get_state_history(c)))]

    check(sc)


def test_fork_with_update_state_on_old_checkpoint():
    def sc(lg):
        g = lg.StateGraph(S)
        for n in "abc":
            g.add_node(n, node(n))
        g.add_edge(lg.START, "a")
        g.add_edge("a", "b")
        g.add_edge("b", "c")
        app = g.compile(checkpointer=lg.InMemorySaver())
        c = {"configurable": {"thread_id": "t"}}
        app.invoke({"items": []}, c)
        hist = list(app.get_state_history(c))
        before_b = next(h for h in hist if h.next == ("b",))
        fork = app.update_state(before_b.config, {"items": ["forked"]})
        out = app.invoke(None, fork)
        return [out, snap(app.get_state(c))]

    check(sc)


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
def test_durability_modes(durability):
    def sc(lg):
        g = lg.StateGraph(S)
        for n in "abc":
            g.add_node(n, node(n))
        g.add_edge(lg.START, "a")
        g.add_edge("a", "b")
        g.add_edge("b", "c")
        app = g.compile(checkpointer=lg.InMemorySaver())
        c = {"configurable": {"thread_id": "t"}}
        out = app.invoke({"items": []}, c, durability=durability)
        return [out, [snap(s)["source"] for s in app.get_state_history(c)], snap(app.get_state(c))]

    check(sc)


def test_sqlite_survives_a_new_saver_on_the_same_file():
    def sc(lg):
        path = os.path.join(tempfile.mkdtemp(prefix="parity-"), "cp.sqlite")

        def open_saver():
            if lg.pkg == "langgraph":
                import sqlite3

                return lg.SqliteSaver(sqlite3.connect(path, check_same_thread=False))
            return lg.SqliteSaver.from_conn_string(path).__enter__()

        app1 = approval_graph(lg, open_saver())
        c = {"configurable": {"thread_id": "t"}}
        r1 = strip(app1.invoke({"n": 3, "items": []}, c))
        app2 = approval_graph(lg, open_saver())
        r2 = app2.invoke(lg.Command(resume="later"), c)
        return [r1, r2]

    check(sc)


@dataclass
class Point:
    x: int


class PS(TypedDict, total=False):
    point: Point
    points: Annotated[list, operator.add]


@pytest.mark.parametrize("kind", SAVERS)
def test_python_objects_survive_checkpoints(kind):
    def sc(lg):
        g = lg.StateGraph(PS)
        g.add_node("a", lambda s: {"point": Point(s["point"].x + 1), "points": [Point(1)]})
        g.add_node("b", lambda s: {"points": [Point(2)]})
        g.add_edge(lg.START, "a")
        g.add_edge("a", "b")
        app = g.compile(checkpointer=make_saver(lg, kind), interrupt_before=["b"])
        c = {"configurable": {"thread_id": "t"}}
        app.invoke({"point": Point(0), "points": []}, c)
        mid = app.get_state(c).values
        out = app.invoke(None, c)
        return [mid, out, type(out["point"]).__name__]

    check(sc)


def test_object_identity_is_kept_in_memory():
    marker = object()

    class O(TypedDict, total=False):
        obj: object
        seen: bool

    def sc(lg):
        g = lg.StateGraph(O)
        g.add_node("a", lambda s: {"seen": s["obj"] is marker})
        g.add_edge(lg.START, "a")
        out = g.compile().invoke({"obj": marker})
        return [out["seen"], out["obj"] is marker]

    assert check(sc) == [True, True]


def test_resume_without_checkpointer_errors_like_langgraph():
    def sc(lg):
        g = lg.StateGraph(S)
        g.add_node("a", node("a"))
        g.add_edge(lg.START, "a")
        return g.compile().invoke(None)

    same(sc)


def test_get_state_of_unknown_thread_is_empty():
    def sc(lg):
        g = lg.StateGraph(S)
        g.add_node("a", node("a"))
        g.add_edge(lg.START, "a")
        app = g.compile(checkpointer=lg.InMemorySaver())
        st = app.get_state({"configurable": {"thread_id": "nobody"}})
        return [st.values, st.next, st.metadata, st.tasks]

    check(sc)


def test_new_input_on_a_finished_thread_continues_it():
    def sc(lg):
        g = lg.StateGraph(S)
        g.add_node("a", node("a"))
        g.add_edge(lg.START, "a")
        app = g.compile(checkpointer=lg.InMemorySaver())
        c = {"configurable": {"thread_id": "t"}}
        app.invoke({"items": ["1"]}, c)
        return app.invoke({"items": ["2"]}, c)

    check(sc)


def test_postgres_saver_interrupt_and_history():
    url = postgres_url()
    if url is None:
        pytest.skip("PostgreSQL not reachable (required under CI=true)")
    import uuid

    thread = f"parity-{uuid.uuid4()}"

    def sc(lg):
        if lg.pkg == "langgraph":
            from langgraph.checkpoint.postgres import PostgresSaver

            conn = in_schema(url, "langgraph_parity")
        else:
            from langgraph_rust.checkpoint.postgres import PostgresSaver

            conn = url  # keeps its tables in the schema `langgraph_rust`
        with PostgresSaver.from_conn_string(conn) as saver:
            saver.setup()
            app = approval_graph(lg, saver)
            c = {"configurable": {"thread_id": f"{thread}-{lg.pkg}"}}
            r1 = strip(app.invoke({"n": 5, "items": []}, c))
            r2 = app.invoke(lg.Command(resume="pg"), c)
            hist = [snap(s)["source"] for s in app.get_state_history(c)]
            return [r1, r2, hist]

    check(sc)


def test_history_filtered_by_metadata():
    def sc(lg):
        g = lg.StateGraph(S)
        for n in "ab":
            g.add_node(n, node(n))
        g.add_edge(lg.START, "a")
        g.add_edge("a", "b")
        app = g.compile(checkpointer=lg.InMemorySaver())
        c = {"configurable": {"thread_id": "t"}}
        app.invoke({"items": []}, c)
        loops = [snap(s) for s in app.get_state_history(c, filter={"source": "loop"})]
        inputs = [snap(s) for s in app.get_state_history(c, filter={"source": "input"})]
        return [loops, inputs]

    check(sc)


@pytest.mark.parametrize("kind", SAVERS)
def test_saver_get_tuple_and_list(kind):
    def sc(lg):
        saver = make_saver(lg, kind)
        g = lg.StateGraph(S)
        for n in "ab":
            g.add_node(n, node(n))
        g.add_edge(lg.START, "a")
        g.add_edge("a", "b")
        app = g.compile(checkpointer=saver)
        c = {"configurable": {"thread_id": "t"}}
        app.invoke({"items": []}, c)
        t = saver.get_tuple(c)
        listed = list(saver.list(c))
        cp = saver.get(c)
        return [
            t.checkpoint["channel_values"].get("items"),
            t.metadata["source"],
            t.metadata["step"],
            t.parent_config is not None,
            [x.metadata["step"] for x in listed],
            cp["channel_values"].get("items"),
            t.config["configurable"]["checkpoint_id"] == cp["id"],
            saver.get_tuple({"configurable": {"thread_id": "missing"}}),
        ]

    check(sc)
