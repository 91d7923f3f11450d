#!/usr/bin/env python
"""Record what Python LangGraph does for every parity case.

Usage (from the repository root, in a venv holding ``requirements.txt``)::

    python tests/parity/record.py              # every case in cases/
    python tests/parity/record.py join_basic   # only the named cases

For each case the graph described in ``cases/<name>.json`` is built with LangGraph, run once per mode, and
the observations are written to ``fixtures/<name>.json``. The case and fixture formats are specified in
README.md next to this file; this script is their reference interpreter, so when the two disagree, fix
whichever one is wrong and re-record.
"""

from __future__ import annotations

import json
import operator
import os
import sys
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any, Callable

from typing_extensions import TypedDict

# LangGraph reads its default recursion limit from the environment at import time; fixtures pin the default.
os.environ.pop("LANGGRAPH_DEFAULT_RECURSION_LIMIT", None)

import langgraph.pregel._executor
from langgraph.channels import EphemeralValue, Topic, UntrackedValue
from langgraph.config import get_stream_writer
from langgraph.graph import StateGraph
from langgraph.managed import IsLastStep, RemainingSteps
from langgraph.pregel._retry import run_with_retry
from langgraph.runtime import get_runtime
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command, Interrupt, RetryPolicy, Send, interrupt

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
FIXTURES = HERE / "fixtures"

LANGGRAPH_VERSION = version("langgraph")

DEFAULT_MODES = ["invoke", "values", "updates", "debug", "tasks"]
# What the "multi" mode subscribes to: every mode that carries information without a checkpointer
# ("checkpoints" is silent without one, "messages" needs chat models).
MULTI_MODES = ["values", "updates", "custom", "tasks", "debug"]

# Keys whose values differ between runs (random ids, wall-clock times) or only describe LangGraph's
# internal configuration. They are dropped from every fixture so that re-recording is a no-op.
VOLATILE_KEYS = {"id", "timestamp", "checkpoint_id", "parent_config", "config"}


class CaseError(Exception):
    """The case file itself is malformed. Never recorded as a LangGraph behaviour."""


# --------------------------------------------------------------------------------------------------
# State schema
# --------------------------------------------------------------------------------------------------

TYPES: dict[str, Any] = {
    "list": list,
    "int": int,
    "float": float,
    "str": str,
    "dict": dict,
    "bool": bool,
    "any": Any,
}


def _append_item(a, b):
    return a + [b]


def _merge(a, b):
    return {**a, **b}


# LangGraph inspects a reducer's signature, which the builtins `min` and `max` do not have.
def _min(a, b):
    return min(a, b)


def _max(a, b):
    return max(a, b)


# Named functions rather than lambdas: LangGraph treats all lambdas as equal reducers, and a named function
# reads better in error messages.
REDUCERS: dict[str, Callable[[Any, Any], Any]] = {
    "add": operator.add,
    "append_item": _append_item,
    "merge": _merge,
    "min": _min,
    "max": _max,
}

# Factories, not instances: a channel object must not be shared between two schemas.
CHANNELS: dict[str, Callable[[], Any]] = {
    "topic": lambda: Topic(Any),
    "topic_accumulate": lambda: Topic(Any, accumulate=True),
    "ephemeral": lambda: EphemeralValue(Any),
    "untracked": lambda: UntrackedValue(Any),
}

MANAGED: dict[str, Any] = {"remaining_steps": RemainingSteps, "is_last_step": IsLastStep}


def annotation(key: str, entry: dict) -> Any:
    """The TypedDict annotation for one `state` entry."""
    unknown = set(entry) - {"type", "reducer", "channel", "managed"}
    if unknown:
        raise CaseError(f"state key {key!r}: unknown fields {sorted(unknown)}")
    if "managed" in entry:
        if entry["managed"] not in MANAGED:
            raise CaseError(f"state key {key!r}: unknown managed value {entry['managed']!r}")
        return MANAGED[entry["managed"]]
    typ = entry.get("type", "any")
    if typ not in TYPES:
        raise CaseError(f"state key {key!r}: unknown type {typ!r}")
    base = TYPES[typ]
    if "reducer" in entry and "channel" in entry:
        raise CaseError(f"state key {key!r}: give either a reducer or a channel, not both")
    if "reducer" in entry:
        if entry["reducer"] not in REDUCERS:
            raise CaseError(f"state key {key!r}: unknown reducer {entry['reducer']!r}")
        return Annotated[base, REDUCERS[entry["reducer"]]]
    if "channel" in entry:
        if entry["channel"] not in CHANNELS:
            raise CaseError(f"state key {key!r}: unknown channel {entry['channel']!r}")
        return Annotated[base, CHANNELS[entry["channel"]]()]
    return base


def state_annotations(state: dict) -> dict[str, Any]:
    return {key: annotation(key, entry) for key, entry in state.items()}


# --------------------------------------------------------------------------------------------------
# EXPR, GOTO and ROUTER interpreters
# --------------------------------------------------------------------------------------------------

def lookup(value: Any, path: list[str]) -> Any:
    """Follow a dotted path; a missing key reads as None (nodes see partial states all the time)."""
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def evaluate(expr: Any, env: dict[str, Any]) -> Any:
    """Evaluate an EXPR. `env` holds the roots a reference may start from (state, context, result, ...)."""
    if isinstance(expr, str) and expr.startswith("$"):
        root, *path = expr[1:].split(".")
        if root not in env:
            raise CaseError(f"reference {expr!r} is not available here (have {sorted(env)})")
        return lookup(env[root], path)
    if isinstance(expr, list):
        return [evaluate(item, env) for item in expr]
    if isinstance(expr, dict):
        if len(expr) == 1:
            (op, arg), = expr.items()
            if op.startswith("$"):
                return operation(op, arg, env)
        return {key: evaluate(value, env) for key, value in expr.items()}
    return expr


def _identity_like(value: Any) -> Any:
    if isinstance(value, list):
        return []
    if isinstance(value, str):
        return ""
    return 0


def operation(op: str, arg: Any, env: dict[str, Any]) -> Any:
    if op == "$add":
        operands = [evaluate(item, env) for item in arg]
        present = [x for x in operands if x is not None]
        if not present:
            return None
        # A missing operand takes the neutral element of the present ones' type, so that
        # `{"$add": ["$state.count", 1]}` works before `count` was ever written.
        zero = _identity_like(present[0])
        total = operands[0] if operands[0] is not None else zero
        try:
            for x in operands[1:]:
                total = total + (x if x is not None else zero)
        except TypeError as exc:
            raise CaseError(f"$add of {operands!r}: {exc}") from None
        return total
    if op == "$len":
        value = evaluate(arg, env)
        return 0 if value is None else len(value)
    if op == "$list":
        return [evaluate(item, env) for item in arg]
    raise CaseError(f"unknown operation {op!r}")


def goto(spec: Any, env: dict[str, Any]) -> Any:
    """Turn a GOTO into what `Command(goto=...)` accepts."""
    if isinstance(spec, list):
        return [goto(item, env) for item in spec]
    if isinstance(spec, dict):
        if set(spec) != {"send", "arg"}:
            raise CaseError(f"bad GOTO {spec!r}")
        return Send(spec["send"], evaluate(spec["arg"], env))
    if isinstance(spec, str):
        return spec
    raise CaseError(f"bad GOTO {spec!r}")


def command(spec: dict, env: dict[str, Any]) -> Command:
    unknown = set(spec) - {"update", "goto", "graph"}
    if unknown:
        raise CaseError(f"command: unknown fields {sorted(unknown)}")
    kwargs: dict[str, Any] = {}
    if "update" in spec:
        kwargs["update"] = evaluate(spec["update"], env)
    if "goto" in spec:
        kwargs["goto"] = goto(spec["goto"], env)
    if "graph" in spec:
        if spec["graph"] != "PARENT":
            raise CaseError(f"command: graph must be 'PARENT', got {spec['graph']!r}")
        kwargs["graph"] = Command.PARENT
    return Command(**kwargs)


def route(spec: dict, state: Any) -> Any:
    kind = spec.get("type")
    if kind == "const":
        return spec["value"]
    if kind == "key":
        return state[spec["key"]]
    if kind == "threshold":
        return spec["then"] if state[spec["key"]] < spec["lt"] else spec["else"]
    if kind == "send":
        return [
            Send(spec["node"], evaluate(spec["arg"], {"state": state, "item": item}))
            for item in state[spec["key"]]
        ]
    if kind == "concat":
        out: list[Any] = []
        for sub in spec["routers"]:
            result = route(sub, state)
            out.extend(result if isinstance(result, list) else [result])
        return out
    raise CaseError(f"unknown router type {kind!r}")


def make_router(spec: dict, name: str) -> Callable[[Any], Any]:
    def router(state):
        return route(spec, state)

    # LangGraph names a branch after its function and rejects two branches of the same name on one node,
    # so every conditional edge gets its own name.
    router.__name__ = router.__qualname__ = name
    return router


# --------------------------------------------------------------------------------------------------
# Nodes and graphs
# --------------------------------------------------------------------------------------------------

EXCEPTIONS: dict[str, type[Exception]] = {
    "value_error": ValueError,
    "type_error": TypeError,
    "runtime_error": RuntimeError,
    "connection_error": ConnectionError,
}

NODE_FIELDS = {
    "update", "command", "return_none", "fail", "retry", "defer", "custom", "subgraph",
    "invoke_subgraph", "input_keys", "metadata", "interrupt",
}


def retry_policy(spec: dict) -> RetryPolicy:
    # No waiting and no randomness: retries must not slow the recording down or make it flaky.
    kwargs: dict[str, Any] = {"max_attempts": spec.get("max_attempts", 3), "initial_interval": 0.0,
                              "jitter": False}
    retry_on = spec.get("retry_on", "default")
    if retry_on == "all":
        kwargs["retry_on"] = Exception
    elif retry_on in EXCEPTIONS:
        kwargs["retry_on"] = EXCEPTIONS[retry_on]
    elif retry_on != "default":
        raise CaseError(f"unknown retry_on {retry_on!r}")
    return RetryPolicy(**kwargs)


def make_node(name: str, spec: dict, subgraphs: Callable[[str], Any]) -> Callable[[Any], Any]:
    """A plain function doing what the NODE spec says. Its closure is this run's only mutable state."""
    calls = {"n": 0}
    fail = spec.get("fail")
    if fail is not None and fail.get("kind", "value_error") not in EXCEPTIONS:
        raise CaseError(f"node {name!r}: unknown fail kind {fail.get('kind')!r}")
    nested = spec.get("invoke_subgraph")
    nested_graph = subgraphs(nested["graph"]) if nested else None

    def node(state):
        calls["n"] += 1
        if fail is not None and (fail["times"] < 0 or calls["n"] <= fail["times"]):
            raise EXCEPTIONS[fail.get("kind", "value_error")](fail.get("message", "boom"))
        runtime = get_runtime()
        env = {"state": state, "node": name, "context": runtime.context if runtime else None}
        if spec.get("custom"):
            writer = get_stream_writer()
            for value in spec["custom"]:
                writer(evaluate(value, env))
        if spec.get("interrupt"):
            env["resume"] = [interrupt(evaluate(value, env)) for value in spec["interrupt"]]
        if nested is not None:
            env["result"] = nested_graph.invoke(evaluate(nested.get("input", "$state"), env))
            if "update" not in nested:
                return None
            return evaluate(nested["update"], env)
        if "command" in spec:
            return command(spec["command"], env)
        if spec.get("return_none") or "update" not in spec:
            return None
        return evaluate(spec["update"], env)

    node.__name__ = node.__qualname__ = name
    return node


def node_items(spec: dict) -> list[tuple[str, dict]]:
    # `nodes` is normally an object; a list of [name, NODE] pairs can also express adding a name twice.
    nodes = spec.get("nodes", {})
    return list(nodes.items()) if isinstance(nodes, dict) else [tuple(pair) for pair in nodes]


def build(spec: dict, scope: dict[str, dict], context_schema: Any) -> StateGraph:
    """Build (but do not compile) a GRAPH spec.

    `scope` maps subgraph names visible here to their GRAPH specs; a graph sees its own `subgraphs` and,
    behind them, its enclosing graphs' ones.
    """
    scope = {**scope, **spec.get("subgraphs", {})}
    annotations = state_annotations(spec.get("state", {}))
    State = TypedDict("State", annotations)  # type: ignore[misc]
    builder = StateGraph(State, context_schema=context_schema)

    def subgraph(name: str):
        if name not in scope:
            raise CaseError(f"unknown subgraph {name!r}")
        return build(scope[name], scope, context_schema).compile()

    for name, node_spec in node_items(spec):
        unknown = set(node_spec) - NODE_FIELDS
        if unknown:
            raise CaseError(f"node {name!r}: unknown fields {sorted(unknown)}")
        if "subgraph" in node_spec:
            clash = set(node_spec) & {"update", "command", "return_none", "fail", "custom", "invoke_subgraph"}
            if clash:
                raise CaseError(f"node {name!r}: a subgraph node cannot also have {sorted(clash)}")
            action: Any = subgraph(node_spec["subgraph"])
        else:
            action = make_node(name, node_spec, subgraph)
        options: dict[str, Any] = {}
        if node_spec.get("defer"):
            options["defer"] = True
        if "retry" in node_spec:
            options["retry_policy"] = retry_policy(node_spec["retry"])
        if "metadata" in node_spec:
            options["metadata"] = node_spec["metadata"]
        if "input_keys" in node_spec:
            missing = [k for k in node_spec["input_keys"] if k not in annotations]
            if missing:
                raise CaseError(f"node {name!r}: input_keys not in state: {missing}")
            # Same annotation objects as the state, so LangGraph sees the same channels, not new ones.
            options["input_schema"] = TypedDict(  # type: ignore[misc]
                f"{name}_input", {k: annotations[k] for k in node_spec["input_keys"]}
            )
        builder.add_node(name, action, **options)

    for source, target in spec.get("edges", []):
        builder.add_edge(source, target)

    for i, cond in enumerate(spec.get("conditional_edges", [])):
        builder.add_conditional_edges(
            cond["source"], make_router(cond["router"], f"router_{i}"), cond.get("path_map")
        )
    return builder


# --------------------------------------------------------------------------------------------------
# Deterministic task execution
# --------------------------------------------------------------------------------------------------


class _OneTaskAtATime(Executor):
    """Runs a step's node tasks one after another, in the order LangGraph submits them.

    LangGraph runs the tasks of a step on a thread pool and streams each task's chunks (updates, tasks and
    debug results, custom writes, subgraph chunks) as that task finishes, so with real threads their
    order within a step changes from run to run. `max_concurrency=1` would fix the order but deadlocks
    whenever LangGraph also submits its stream waiter (custom mode, subgraphs=True), which then holds the
    only thread. So node tasks get one FIFO worker and everything else (the waiter) its own threads.
    The resulting order is LangGraph's task order: see "Known nondeterminism" in README.md.
    """

    def __init__(self, tasks: Executor, other: Executor) -> None:
        self._tasks = tasks
        self._other = other

    def submit(self, fn, /, *args, **kwargs) -> Future:
        # BackgroundExecutor submits `ctx.run(fn, ...)`, or `next_tick(ctx.run, fn, ...)`.
        is_task = run_with_retry in args[:2]
        return (self._tasks if is_task else self._other).submit(fn, *args, **kwargs)


@contextmanager
def _one_task_at_a_time(config):
    # Every graph level (including each subgraph run) gets its own pools, so a subgraph node blocking the
    # outer task worker cannot starve its own tasks.
    with ThreadPoolExecutor(max_workers=1) as tasks, ThreadPoolExecutor() as other:
        yield _OneTaskAtATime(tasks, other)


# The sync Pregel loop gets its executor through this module-level name.
langgraph.pregel._executor.get_executor_for_config = _one_task_at_a_time


# --------------------------------------------------------------------------------------------------
# Running and normalising
# --------------------------------------------------------------------------------------------------


def to_json(value: Any) -> Any:
    """`json.dumps` fallback: the only non-JSON values LangGraph puts into chunks are task errors."""
    if isinstance(value, BaseException):
        return error(value)
    raise TypeError(f"cannot put {type(value).__name__} into a fixture: {value!r}")


def normalise(value: Any) -> Any:
    if isinstance(value, Interrupt):
        # Interrupt ids hash task ids, which hash random checkpoint ids.
        return {"value": normalise(value.value), "response_schema": normalise(value.response_schema)}
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, (list, tuple)):
        return [normalise(v) for v in value]
    return value


def namespace(ns: tuple[str, ...]) -> list[str]:
    # "node:<task id>" -> "node": task ids are random per run.
    return [part.split(":", 1)[0] for part in ns]


def error(exc: BaseException) -> dict[str, str]:
    return {"type": type(exc).__name__, "message": str(exc)}


def graph_input(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$command"}:
        return command(value["$command"], {})
    return value


def uses_custom(spec: dict) -> bool:
    """Whether any node of the graph or of its subgraphs writes to the custom stream."""
    return any(node.get("custom") for _, node in node_items(spec)) or any(
        uses_custom(sub) for sub in spec.get("subgraphs", {}).values()
    )


def compile_case(case: dict):
    # The run context is an arbitrary JSON object, so `dict` is its schema.
    context_schema = dict if case.get("context") is not None else None
    return build(case, {}, context_schema).compile()


def run(case: dict, mode: str) -> dict[str, Any]:
    """One fresh build and invocation of the case's graph in one mode."""
    context = case.get("context")
    graph = compile_case(case)
    config = case.get("config") or {}
    kwargs: dict[str, Any] = {"context": context} if context is not None else {}
    inp = graph_input(case.get("input"))

    if mode == "invoke":
        try:
            return {"output": normalise(graph.invoke(inp, config, **kwargs)), "error": None}
        except Exception as exc:  # the error is the observation
            return {"output": None, "error": error(exc)}

    chunks: list[Any] = []
    try:
        if mode == "subgraphs_updates":
            for ns, chunk in graph.stream(inp, config, stream_mode="updates", subgraphs=True, **kwargs):
                chunks.append([namespace(ns), normalise(chunk)])
        elif mode == "multi":
            for stream_mode, chunk in graph.stream(inp, config, stream_mode=MULTI_MODES, **kwargs):
                chunks.append([stream_mode, normalise(chunk)])
        else:
            for chunk in graph.stream(inp, config, stream_mode=mode, **kwargs):
                chunks.append(normalise(chunk))
    except Exception as exc:  # chunks streamed before the error are part of the observation
        return {"chunks": chunks, "error": error(exc)}
    return {"chunks": chunks, "error": None}


# --------------------------------------------------------------------------------------------------
# Scripts: several operations on one thread with a checkpointer
# --------------------------------------------------------------------------------------------------

THREAD = {"configurable": {"thread_id": "parity"}}
SCRIPT_OPS = {"invoke", "stream", "get_state", "history", "update_state"}


def snapshot(s: Any) -> dict[str, Any]:
    """A StateSnapshot without what is random (ids, times)."""
    return {
        "values": normalise(s.values),
        "next": list(s.next),
        "source": (s.metadata or {}).get("source"),
        "step": (s.metadata or {}).get("step"),
        "tasks": [
            {
                "name": t.name,
                # LangGraph 1.2 keeps a task's error in snapshots as the exception's repr.
                "error": None if t.error is None else (t.error if isinstance(t.error, str) else repr(t.error)),
                "interrupts": [normalise(i.value) for i in t.interrupts],
                "result": normalise(t.result),
            }
            for t in s.tasks
        ],
        "interrupts": [normalise(i.value) for i in s.interrupts],
    }


def history_config(graph, index: int) -> dict:
    """The config of the `index`-th checkpoint of the thread's history (newest first)."""
    return list(graph.get_state_history(THREAD))[index].config


def script_input(graph, value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$resume"}:
        return Command(resume=value["$resume"])
    if isinstance(value, dict) and set(value) == {"$resume_all"}:
        pending = graph.get_state(THREAD).interrupts
        return Command(resume={i.id: [value["$resume_all"], i.value] for i in pending})
    return graph_input(value)


def run_script(case: dict) -> list[dict[str, Any]]:
    """Runs the script with InMemorySaver and with SqliteSaver; both must observe the same."""
    import sqlite3
    import tempfile

    from langgraph.checkpoint.sqlite import SqliteSaver

    memory = run_script_with(case, InMemorySaver())
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(f"{tmp}/parity.db", check_same_thread=False)
        try:
            sqlite = run_script_with(case, SqliteSaver(conn))
        finally:
            conn.close()
    if dump(memory) != dump(sqlite):
        raise CaseError(f"{case['name']}: InMemorySaver and SqliteSaver disagree:\n{dump(memory)}\n{dump(sqlite)}")
    return memory


def run_script_with(case: dict, saver: Any) -> list[dict[str, Any]]:
    context = case.get("context")
    graph = build(case, {}, dict if context is not None else None).compile(
        checkpointer=saver,
        interrupt_before=case.get("interrupt_before"),
        interrupt_after=case.get("interrupt_after"),
    )
    kwargs: dict[str, Any] = {"context": context} if context is not None else {}
    if case.get("durability"):
        kwargs["durability"] = case["durability"]
    results: list[dict[str, Any]] = []
    for op in case["script"]:
        kind = op.get("op")
        if kind not in SCRIPT_OPS:
            raise CaseError(f"unknown script op {kind!r}")
        config = history_config(graph, op["at"]) if "at" in op else THREAD
        config = {**config, **(case.get("config") or {})}
        out: dict[str, Any] = {"op": kind}
        try:
            if kind == "invoke":
                out["output"] = normalise(graph.invoke(script_input(graph, op.get("input")), config, **kwargs))
            elif kind == "stream":
                out["chunks"] = [
                    normalise(c)
                    for c in graph.stream(script_input(graph, op.get("input")), config,
                                          stream_mode=op.get("mode", "updates"), **kwargs)
                ]
            elif kind == "get_state":
                out["state"] = snapshot(graph.get_state(config))
            elif kind == "history":
                out["history"] = [snapshot(s) for s in graph.get_state_history(config)]
            elif kind == "update_state":
                graph.update_state(config, op.get("values"), as_node=op.get("as_node"))
        except CaseError:
            raise
        except Exception as exc:  # the error is the observation
            out["error"] = error(exc)
        results.append(out)
    return results


def record(case: dict) -> dict[str, Any]:
    fixture: dict[str, Any] = {
        "case": case["name"],
        "langgraph": LANGGRAPH_VERSION,
        "compile_error": None,
        "runs": {},
    }
    try:
        compile_case(case)
    except CaseError:
        raise
    except Exception as exc:  # LangGraph rejected the graph: that is what the case pins
        fixture["compile_error"] = error(exc)
        return fixture

    if "script" in case:
        fixture["runs"]["script"] = run_script(case)
        return fixture
    modes = case.get("modes") or DEFAULT_MODES + (["custom"] if uses_custom(case) else [])
    if case.get("subgraphs_stream"):
        modes = [*modes, "subgraphs_updates"]
    for mode in modes:
        fixture["runs"][mode] = run(case, mode)
    return fixture


def dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, indent=1, default=to_json, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem for p in CASES.glob("*.json"))
    FIXTURES.mkdir(exist_ok=True)
    for name in names:
        case = json.loads((CASES / f"{name}.json").read_text())
        if case.get("name") != name:
            raise CaseError(f"{name}.json: name is {case.get('name')!r}, must equal the file stem")
        fixture = record(case)
        text = dump(fixture)
        # A CaseError raised inside a node reaches us as that node's error: the case is wrong, not LangGraph.
        if '"type": "CaseError"' in text:
            raise CaseError(f"{name}: the case is malformed, see the errors in:\n{text}")
        path = FIXTURES / f"{name}.json"
        changed = not path.exists() or path.read_text() != text
        path.write_text(text)
        summary = fixture["compile_error"]["type"] if fixture["compile_error"] else ", ".join(
            f"{mode}{'!' if isinstance(res, dict) and res['error'] else ''}" for mode, res in fixture["runs"].items()
        )
        print(f"{'wrote' if changed else 'same '} {name}: {summary}")
    if not argv:
        for orphan in sorted(set(p.stem for p in FIXTURES.glob("*.json")) - set(names)):
            print(f"warning: fixtures/{orphan}.json has no case; delete it if the case was removed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
