"""Parity: building and running graphs (edges, branches, Send, Command, subgraphs, errors)."""


import operator
from typing import Annotated, Literal, TypedDict

import pytest

from conftest import same


class S(TypedDict, total=False):
    items: Annotated[list, operator.add]
    n: int
    route: str


def check(fn):
    res = same(fn)
    assert res[0] == "ok", f"LangGraph itself failed: {res}"
    return res[1]


def node(name, **extra):
    def f(s):
        out = {"items": [name]}
        out.update(extra)
        return out

    f.__name__ = name
    return f


def test_sequence_write_order():
    def sc(lg):
        g = lg.StateGraph(S)
        for n in "abc":
            g.add_node(n, node(n))
        g.add_edge(lg.START, "a")
        g.add_edge("a", "b")
        g.add_edge("b", "c")
        g.add_edge("c", lg.END)
        return g.compile().invoke({"items": ["in"]})

    assert check(sc) == {"items": ["in", "a", "b", "c"]}


def test_last_value_key_is_replaced():
    def sc(lg):
        g = lg.StateGraph(S)
        g.add_node("a", lambda s: {"n": s["n"] * 10})
        g.add_node("b", lambda s: {"n": s["n"] + 1})
        g.add_edge(lg.START, "a")
        g.add_edge("a", "b")
        return g.compile().invoke({"n": 2})

    check(sc)


def test_default_stream_mode_is_updates():
    def sc(lg):
        g = lg.StateGraph(S)
        g.add_node("a", node("a"))
        g.add_node("b", node("b", n=3))
        g.add_edge(lg.START, "a")
        g.add_edge("a", "b")
        return list(g.compile().stream({"n": 1}))

    check(sc)


def test_stream_values():
    def sc(lg):
        g = lg.StateGraph(S)
        g.add_node("a", node("a"))
        g.add_edge(lg.START, "a")
        return list(g.compile().stream({"n": 1}, stream_mode="values"))

    check(sc)


def test_stream_mode_list_gives_mode_tuples():
    def sc(lg):
        g = lg.StateGraph(S)
        g.add_node("a", node("a"))
        g.add_node("b", node("b"))
        g.add_edge(lg.START, "a")
        g.add_edge("a", "b")
        return list(g.compile().stream({"n": 1}, stream_mode=["updates", "values"]))

    check(sc)


def test_custom_stream_from_get_stream_writer():
    def sc(lg):
        def a(s):
            w = lg.get_stream_writer()
            w({"progress": 1})
            w("text")
            return {"n": 1}

        g = lg.StateGraph(S)
        g.add_node("a", a)
        g.add_edge(lg.START, "a")
        return list(g.compile().stream({"n": 0}, stream_mode=["custom", "updates"]))

    check(sc)


def test_conditional_edge_by_node_name():
    def sc(lg):
        g = lg.StateGraph(S)
        g.add_node("a", node("a"))
        g.add_node("left", node("left"))
        g.add_node("right", node("right"))
        g.add_edge(lg.START, "a")
        g.add_conditional_edges("a", lambda s: "right" if s["n"] > 0 else "left")
        app = g.compile()
        return [app.invoke({"n": 1}), app.invoke({"n": -1})]

    check(sc)


def test_conditional_edge_with_path_map():
    def sc(lg):
        g = lg.StateGraph(S)
        g.add_node("a", node("a"))
        g.add_node("x", node("x"))
        g.add_node("y", node("y"))
        g.add_edge(lg.START, "a")
        g.add_conditional_edges("a", lambda s: "go_x" if s["n"] else "go_y", {"go_x": "x", "go_y": "y"})
        app = g.compile()
        return [app.invoke({"n": 1}), app.invoke({"n": 0})]

    check(sc)


def test_conditional_edge_with_boolean_labels():
    def sc(lg):
        g = lg.StateGraph(S)
        g.add_node("a", node("a"))
        g.add_node("yes", node("yes"))
        g.add_edge(lg.START, "a")
        g.add_conditional_edges("a", lambda s: s["n"] > 0, {True: "yes", False: lg.END})
        app = g.compile()
        return [app.invoke({"n": 1}), app.invoke({"n": 0})]

    check(sc)


def test_conditional_loop_until_counter():
    def sc(lg):
        g = lg.StateGraph(S)
        g.add_node("inc", lambda s: {"n": s["n"] + 1, "items": [s["n"]]})
        g.add_edge(lg.START, "inc")
        g.add_conditional_edges("inc", lambda s: lg.END if s["n"] >= 5 else "inc")
        return list(g.compile().stream({"n": 0}, stream_mode="values"))

    check(sc)


def test_router_returning_several_nodes_fans_out():
    def sc(lg):
        g = lg.StateGraph(S)
        g.add_node("a", node("a"))
        for n in ("p", "q", "r"):
            g.add_node(n, node(n))
        g.add_edge(lg.START, "a")
        g.add_conditional_edges("a", lambda s: ["r", "p", "q"])
        return g.compile().invoke({"items": []})

    check(sc)


def test_parallel_branches_join():
    def sc(lg):
        g = lg.StateGraph(S)
        for n in ("a", "b", "c", "d"):
            g.add_node(n, node(n))
        g.add_edge(lg.START, "a")
        g.add_edge("a", "b")
        g.add_edge("a", "c")
        g.add_edge(["b", "c"], "d")
        return list(g.compile().stream({"items": []}, stream_mode="updates"))

    check(sc)


def test_uneven_branches_without_join_run_target_twice():
    def sc(lg):
        g = lg.StateGraph(S)
        for n in ("a", "b", "b2", "c", "d"):
            g.add_node(n, node(n))
        g.add_edge(lg.START, "a")
        g.add_edge("a", "b")
        g.add_edge("b", "b2")
        g.add_edge("a", "c")
        g.add_edge("b2", "d")
        g.add_edge("c", "d")
        return g.compile().invoke({"items": []})

    check(sc)


def test_uneven_branches_with_join_wait():
    def sc(lg):
        g = lg.StateGraph(S)
        for n in ("a", "b", "b2", "c", "d"):
            g.add_node(n, node(n))
        g.add_edge(lg.START, "a")
        g.add_edge("a", "b")
        g.add_edge("b", "b2")
        g.add_edge("a", "c")
        g.add_edge(["b2", "c"], "d")
        return g.compile().invoke({"items": []})

    check(sc)


def test_send_map_reduce():
    class M(TypedDict, total=False):
        subjects: list
        jokes: Annotated[list, operator.add]

    def sc(lg):
        g = lg.StateGraph(M)
        g.add_node("gen", lambda s: {"jokes": [f"joke about {s['subject']}"]})
        g.add_conditional_edges(lg.START, lambda s: [lg.Send("gen", {"subject": x}) for x in s["subjects"]])
        return g.compile().invoke({"subjects": ["cats", "dogs", "owls"]})

    check(sc)


def test_send_after_a_node_with_stream():
    class M(TypedDict, total=False):
        subjects: list
        out: Annotated[list, operator.add]

    def sc(lg):
        g = lg.StateGraph(M)
        g.add_node("plan", lambda s: {"subjects": ["x", "y"]})
        g.add_node("work", lambda s: {"out": [s["subject"].upper()]})
        g.add_node("done", lambda s: {"out": ["done"]})
        g.add_edge(lg.START, "plan")
        g.add_conditional_edges("plan", lambda s: [lg.Send("work", {"subject": x}) for x in s["subjects"]])
        g.add_edge("work", "done")
        return list(g.compile().stream({}, stream_mode="updates"))

    check(sc)


def test_command_goto():
    def sc(lg):
        def a(s):
            return lg.Command(update={"items": ["a"]}, goto="c")

        g = lg.StateGraph(S)
        g.add_node("a", a, destinations=("b", "c"))
        g.add_node("b", node("b"))
        g.add_node("c", node("c"))
        g.add_edge(lg.START, "a")
        return g.compile().invoke({"items": []})

    check(sc)


def test_command_goto_end_and_list():
    def sc(lg):
        def a(s):
            if s["n"] == 0:
                return lg.Command(goto=lg.END, update={"n": 100})
            return lg.Command(goto=["b", "c"])

        g = lg.StateGraph(S)
        g.add_node("a", a, destinations=("b", "c"))
        g.add_node("b", node("b"))
        g.add_node("c", node("c"))
        g.add_edge(lg.START, "a")
        app = g.compile()
        return [app.invoke({"n": 0}), app.invoke({"n": 1, "items": []})]

    check(sc)


def test_command_goto_send():
    def sc(lg):
        def a(s):
            return lg.Command(goto=[lg.Send("w", {"items": ["x"]}), lg.Send("w", {"items": ["y"]})])

        g = lg.StateGraph(S)
        g.add_node("a", a, destinations=("w",))
        g.add_node("w", lambda s: {"items": [s["items"][0] * 2]})
        g.add_edge(lg.START, "a")
        return g.compile().invoke({"items": []})

    check(sc)


def test_command_with_static_edge_runs_both():
    def sc(lg):
        g = lg.StateGraph(S)
        g.add_node("a", lambda s: lg.Command(goto="b", update={"items": ["a"]}), destinations=("b",))
        g.add_node("b", node("b"))
        g.add_node("c", node("c"))
        g.add_edge(lg.START, "a")
        g.add_edge("a", "c")
        return g.compile().invoke({"items": []})

    check(sc)


def test_subgraph_as_node_shares_keys():
    def sc(lg):
        sub = lg.StateGraph(S)
        sub.add_node("s1", node("s1"))
        sub.add_node("s2", node("s2"))
        sub.add_edge(lg.START, "s1")
        sub.add_edge("s1", "s2")
        g = lg.StateGraph(S)
        g.add_node("a", node("a"))
        g.add_node("sub", sub.compile())
        g.add_node("z", node("z"))
        g.add_edge(lg.START, "a")
        g.add_edge("a", "sub")
        g.add_edge("sub", "z")
        app = g.compile()
        return [app.invoke({"items": []}), list(app.stream({"items": []}, stream_mode="updates"))]

    check(sc)


def test_subgraph_streaming_with_namespaces():
    def sc(lg):
        sub = lg.StateGraph(S)
        sub.add_node("s1", node("s1"))
        sub.add_edge(lg.START, "s1")
        g = lg.StateGraph(S)
        g.add_node("sub", sub.compile())
        g.add_edge(lg.START, "sub")
        chunks = list(g.compile().stream({"items": []}, stream_mode="updates", subgraphs=True))
        # namespaces hold task ids: compare their shape (node name) and the data
        return [(tuple(p.split(":")[0] for p in ns), data) for ns, data in chunks]

    check(sc)


def test_command_parent_from_subgraph():
    def sc(lg):
        def s1(s):
            return lg.Command(graph=lg.Command.PARENT, goto="b", update={"items": ["from-sub"]})

        sub = lg.StateGraph(S)
        sub.add_node("s1", s1)
        sub.add_edge(lg.START, "s1")
        g = lg.StateGraph(S)
        g.add_node("sub", sub.compile(), destinations=("b",))
        g.add_node("b", node("b"))
        g.add_edge(lg.START, "sub")
        return g.compile().invoke({"items": []})

    check(sc)


def test_recursion_limit_raises_graph_recursion_error():
    def sc(lg):
        g = lg.StateGraph(S)
        g.add_node("loop", lambda s: {"n": s["n"] + 1})
        g.add_edge(lg.START, "loop")
        g.add_conditional_edges("loop", lambda s: "loop" if s["n"] < 100 else lg.END)
        return g.compile().invoke({"n": 0}, {"recursion_limit": 10})

    assert same(sc) == ("error", "GraphRecursionError")


def test_recursion_limit_just_enough():
    def sc(lg):
        g = lg.StateGraph(S)
        g.add_node("loop", lambda s: {"n": s["n"] + 1})
        g.add_edge(lg.START, "loop")
        g.add_conditional_edges("loop", lambda s: "loop" if s["n"] < 5 else lg.END)
        return g.compile().invoke({"n": 0}, {"recursion_limit": 6})

    check(sc)


def test_two_writes_to_last_value_key_is_invalid_update():
    def sc(lg):
        g = lg.StateGraph(S)
        g.add_node("a", lambda s: {"n": 1})
        g.add_node("b", lambda s: {"n": 2})
        g.add_edge(lg.START, "a")
        g.add_edge(lg.START, "b")
        return g.compile().invoke({"n": 0})

    assert same(sc) == ("error", "InvalidUpdateError")


def test_non_dict_return_is_invalid_update():
    def sc(lg):
        g = lg.StateGraph(S)
        g.add_node("a", lambda s: 42)
        g.add_edge(lg.START, "a")
        return g.compile().invoke({"n": 0})

    assert same(sc) == ("error", "InvalidUpdateError")


def test_node_exception_propagates_with_its_class():
    def sc(lg):
        def a(s):
            raise KeyError("missing")

        g = lg.StateGraph(S)
        g.add_node("a", a)
        g.add_edge(lg.START, "a")
        return g.compile().invoke({"n": 0})

    assert same(sc) == ("error", "KeyError")


def test_router_exception_propagates():
    def sc(lg):
        def route(s):
            raise ZeroDivisionError("boom")

        g = lg.StateGraph(S)
        g.add_node("a", node("a"))
        g.add_edge(lg.START, "a")
        g.add_conditional_edges("a", route)
        return g.compile().invoke({"n": 0})

    assert same(sc) == ("error", "ZeroDivisionError")


def test_node_returning_none_writes_nothing():
    def sc(lg):
        g = lg.StateGraph(S)
        g.add_node("a", lambda s: None)
        g.add_node("b", node("b"))
        g.add_edge(lg.START, "a")
        g.add_edge("a", "b")
        return list(g.compile().stream({"n": 1}, stream_mode=["updates", "values"]))

    check(sc)


def test_unknown_update_keys_are_ignored():
    def sc(lg):
        g = lg.StateGraph(S)
        g.add_node("a", lambda s: {"n": 5, "nope": 1})
        g.add_edge(lg.START, "a")
        return g.compile().invoke({"n": 1})

    check(sc)


def test_add_sequence_and_function_names():
    def sc(lg):
        def first(s):
            return {"items": ["first"]}

        def second(s):
            return {"items": ["second"]}

        g = lg.StateGraph(S)
        g.add_sequence([first, second])
        g.add_edge(lg.START, "first")
        return list(g.compile().stream({"items": []}))

    check(sc)


def test_entry_and_finish_points():
    def sc(lg):
        g = lg.StateGraph(S)
        g.add_node(node("only"))
        g.set_entry_point("only")
        g.set_finish_point("only")
        return g.compile().invoke({"items": []})

    check(sc)


def test_conditional_entry_point():
    def sc(lg):
        g = lg.StateGraph(S)
        g.add_node("x", node("x"))
        g.add_node("y", node("y"))
        g.add_conditional_edges(lg.START, lambda s: "x" if s["n"] else "y")
        app = g.compile()
        return [app.invoke({"n": 1}), app.invoke({"n": 0})]

    check(sc)


def test_defer_node_runs_last():
    def sc(lg):
        g = lg.StateGraph(S)
        for n in ("a", "b", "b2"):
            g.add_node(n, node(n))
        g.add_node("final", node("final"), defer=True)
        g.add_edge(lg.START, "a")
        g.add_edge(lg.START, "b")
        g.add_edge("b", "b2")
        g.add_edge("a", "final")
        g.add_edge("b2", "final")
        return g.compile().invoke({"items": []})

    check(sc)


def test_overwrite_bypasses_reducer():
    def sc(lg):
        g = lg.StateGraph(S)
        g.add_node("a", node("a"))
        g.add_node("reset", lambda s: {"items": lg.Overwrite(["fresh"])})
        g.add_edge(lg.START, "a")
        g.add_edge("a", "reset")
        return g.compile().invoke({"items": ["old"]})

    check(sc)


def test_custom_reducer_function():
    def keep_max(a, b):
        return max(a, b)

    class R(TypedDict, total=False):
        best: Annotated[int, keep_max]

    def sc(lg):
        g = lg.StateGraph(R)
        g.add_node("a", lambda s: {"best": 3})
        g.add_node("b", lambda s: {"best": 7})
        g.add_node("c", lambda s: {"best": 5})
        g.add_edge(lg.START, "a")
        g.add_edge(lg.START, "b")
        g.add_edge(lg.START, "c")
        return g.compile().invoke({"best": 1})

    check(sc)


def test_reducer_on_strings_and_numbers():
    class R(TypedDict, total=False):
        text: Annotated[str, operator.add]
        total: Annotated[int, operator.add]

    def sc(lg):
        g = lg.StateGraph(R)
        g.add_node("a", lambda s: {"text": "a", "total": 1})
        g.add_node("b", lambda s: {"text": "b", "total": 10})
        g.add_edge(lg.START, "a")
        g.add_edge("a", "b")
        return g.compile().invoke({"text": ">", "total": 100})

    check(sc)


def test_remaining_steps_managed_value():
    def sc(lg):
        class R(TypedDict, total=False):
            n: int
            remaining_steps: lg.RemainingSteps

        g = lg.StateGraph(R)
        g.add_node("a", lambda s: {"n": s["remaining_steps"]})
        g.add_edge(lg.START, "a")
        return g.compile().invoke({"n": 0}, {"recursion_limit": 7})

    check(sc)


def test_input_and_output_schemas():
    class In(TypedDict):
        question: str

    class Out(TypedDict):
        answer: str

    class All(TypedDict, total=False):
        question: str
        answer: str
        scratch: str

    def sc(lg):
        g = lg.StateGraph(All, input_schema=In, output_schema=Out)
        g.add_node("think", lambda s: {"scratch": s["question"] + "?"})
        g.add_node("answer", lambda s: {"answer": s["scratch"] + "!"})
        g.add_edge(lg.START, "think")
        g.add_edge("think", "answer")
        return g.compile().invoke({"question": "why"})

    check(sc)


def test_private_state_between_nodes():
    class Overall(TypedDict, total=False):
        x: str

    class Private(TypedDict):
        secret: str

    def sc(lg):
        def a(s: Overall) -> Private:
            return {"secret": s["x"] + "-s"}

        def b(s: Private) -> Overall:
            return {"x": s["secret"] + "-b"}

        g = lg.StateGraph(Overall)
        g.add_node("a", a)
        g.add_node("b", b)
        g.add_edge(lg.START, "a")
        g.add_edge("a", "b")
        return g.compile().invoke({"x": "in"})

    check(sc)


def test_draw_mermaid_matches():
    def sc(lg):
        g = lg.StateGraph(S)
        g.add_node("a", node("a"))
        g.add_node("b", node("b"))
        g.add_node("c", node("c"))
        g.add_edge(lg.START, "a")
        g.add_conditional_edges("a", lambda s: "b", {"b": "b", "c": "c"})
        g.add_edge("b", lg.END)
        g.add_edge("c", lg.END)
        return g.compile().get_graph().draw_mermaid()

    check(sc)


def failing_reducer(a, b):
    raise KeyError("reducer")


class BadState(TypedDict, total=False):
    x: Annotated[int, failing_reducer]
    items: Annotated[list, operator.add]


def test_python_reducer_exception_propagates():
    def sc(lg):
        g = lg.StateGraph(BadState)
        g.add_node("a", lambda s: {"items": ["a"]})
        g.add_edge(lg.START, "a")
        return g.compile().invoke({"x": 1})

    assert same(sc) == ("error", "KeyError")


def test_native_add_of_mismatched_types_is_a_type_error():
    def sc(lg):
        g = lg.StateGraph(S)
        g.add_node("a", lambda s: {"items": 5})
        g.add_edge(lg.START, "a")
        return g.compile().invoke({"items": []})

    assert same(sc) == ("error", "TypeError")


def test_concurrent_invocations_from_threads():
    from concurrent.futures import ThreadPoolExecutor

    def sc(lg):
        g = lg.StateGraph(S)
        g.add_node("a", lambda s: {"items": [s["n"]], "n": s["n"] * 2})
        g.add_node("b", lambda s: {"items": [s["n"]]})
        g.add_edge(lg.START, "a")
        g.add_edge("a", "b")
        app = g.compile()
        with ThreadPoolExecutor(4) as pool:
            return list(pool.map(lambda i: app.invoke({"n": i, "items": []}), range(40)))

    check(sc)
