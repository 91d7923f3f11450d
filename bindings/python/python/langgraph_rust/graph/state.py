"""``StateGraph`` and the compiled graph, on the Rust engine."""

from __future__ import annotations

import contextvars
from typing import Any, Callable, Hashable, Iterator, AsyncIterator, Sequence

from .. import _native
from .._internal import schema as _schema
from .._internal.context import _RUN, _TASK
from ..constants import END, START
from ..errors import InvalidUpdateError
from ..types import Command, Interrupt, Overwrite, PregelTask, RetryPolicy, Send, StateSnapshot

__all__ = ("StateGraph", "CompiledStateGraph")

_STREAM_MODES = ("values", "updates", "checkpoints", "tasks", "debug", "messages", "custom")


# ----- what nodes and routers return, in the native layer's shape --------------------------------


def _norm_update(update: Any) -> Any:
    if update is None:
        return None
    if type(update) is dict:
        for v in update.values():
            if type(v) is Overwrite:
                return {k: ({"__overwrite__": v.value} if type(v) is Overwrite else v) for k, v in update.items()}
        return update
    if isinstance(update, (list, tuple)):
        return _norm_update(dict(update))
    if isinstance(update, dict):
        return _norm_update(dict(update))
    return update


def _norm_goto(goto: Any) -> list:
    if goto is None or goto == ():
        return []
    if isinstance(goto, (str, Send)):
        goto = [goto]
    out = []
    for g in goto:
        if isinstance(g, Send):
            out.append(("send", g.node, g.arg))
        else:
            out.append(g)
    return out


def _norm_command(c: Command) -> tuple:
    return ("cmd", _norm_update(c.update), _norm_goto(c.goto), c.graph == Command.PARENT, c.resume)


def _normalize_output(out: Any, keys: list[str]) -> Any:
    if out is None:
        return None
    t = type(out)
    if t is dict:
        return _norm_update(out)
    if t is Command:
        return _norm_command(out)
    if isinstance(out, dict):
        return _norm_update(dict(out))
    if isinstance(out, (list, tuple)) and out and any(isinstance(i, Command) for i in out):
        return [_norm_command(i) if isinstance(i, Command) else _normalize_output(i, keys) for i in out]
    upd = _schema.updates_of(out, keys)
    if upd is not None:
        return _norm_update(upd)
    raise InvalidUpdateError(
        f"Expected dict, got {out}\nFor troubleshooting, visit: "
        "https://docs.langchain.com/oss/python/langgraph/errors/INVALID_GRAPH_NODE_RETURN_VALUE"
    )


# ----- graphs whose whole state is one value (MessageGraph) --------------------------------------

ROOT = "__root__"


def _root_node(fn: Callable) -> Callable:
    def node(state: dict, **kwargs: Any) -> Any:
        out = fn(state.get(ROOT), **kwargs)
        if isinstance(out, Command):
            return out
        return None if out is None else {ROOT: out}

    params = _param_names(fn)
    if "config" in params:
        return lambda state, config: node(state, config=config)
    return lambda state: node(state)


def _root_router(path: Callable) -> Callable:
    return lambda state: path(state.get(ROOT))


def _unroot(mode: str, data: Any) -> Any:
    if type(data) is not dict:
        return data
    if mode == "values":
        return data.get(ROOT, data)
    if mode == "updates":
        return {k: (v.get(ROOT) if type(v) is dict and ROOT in v else v) for k, v in data.items()}
    return data


# ----- what a Python node receives ---------------------------------------------------------------


_CO_COROUTINE = 0x80


def _code(fn: Callable) -> Any:
    code = getattr(fn, "__code__", None)
    if code is None:
        code = getattr(getattr(fn, "__call__", None), "__code__", None)
    return code


def _param_names(fn: Callable) -> tuple:
    # The code object instead of inspect.signature: importing inspect costs more than the
    # whole package (the import-time budget is 100 ms).
    code = _code(fn)
    if code is None:
        import inspect

        try:
            return tuple(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            return ()
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    if getattr(fn, "__self__", None) is not None or getattr(fn, "__code__", None) is None:
        names = names[1:]  # bound method or __call__: drop self
    return names


def _is_async(fn: Callable) -> bool:
    code = _code(fn)
    return code is not None and bool(code.co_flags & _CO_COROUTINE)


def _wants(fn: Callable) -> tuple:
    params = _param_names(fn)
    return ("config" in params, "runtime" in params, "writer" in params)


def _first_param_schema(fn: Callable) -> Any:
    try:
        params = _param_names(fn)
        if not params:
            return None
        hints = _schema.typing.get_type_hints(fn)
        return hints.get(params[0])
    except Exception:
        return None


def _run_config(task: Any) -> dict:
    """LangGraph's ``RunnableConfig`` as a node sees it."""
    run = _RUN.get() or {}
    base = run.get("config") or {}
    configurable = dict(base.get("configurable") or {})
    configurable.setdefault("checkpoint_ns", task.checkpoint_ns)
    metadata = dict(base.get("metadata") or {})
    metadata.update(
        {
            "langgraph_step": task.step,
            "langgraph_node": task.node,
            "langgraph_triggers": tuple(task.triggers),
            "langgraph_path": ("__pregel_pull", task.node),
            "langgraph_checkpoint_ns": task.checkpoint_ns,
        }
    )
    if "thread_id" in configurable:
        metadata.setdefault("thread_id", configurable["thread_id"])
    return {
        "tags": list(base.get("tags") or []),
        "metadata": metadata,
        "callbacks": None,
        "recursion_limit": base.get("recursion_limit", 10007),
        "configurable": configurable,
    }


def _run_coroutine(coro: Any, name: str) -> Any:
    import asyncio

    loop = (_RUN.get() or {}).get("loop")
    if loop is not None and loop.is_running():
        return asyncio.run_coroutine_threadsafe(coro, loop).result()
    coro.close()
    raise TypeError(
        f'No synchronous function provided to "{name}".\nEither initialize with a synchronous function '
        "or invoke via the async API (ainvoke, astream, etc.)"
    )


def _make_runner(name: str, fn: Callable, coerce: Callable | None, keys: list[str]) -> Callable:
    wants_config, wants_runtime, wants_writer = _wants(fn)
    is_async = _is_async(fn)
    plain = not (wants_config or wants_runtime or wants_writer or is_async or coerce)
    set_task, reset_task = _TASK.set, _TASK.reset

    if plain:

        def runner(state: dict, task: Any) -> Any:
            tok = set_task(task)
            try:
                out = fn(state)
            finally:
                reset_task(tok)
            t = type(out)
            if t is dict:
                for v in out.values():
                    if type(v) is Overwrite:
                        return _norm_update(out)
                return out
            return _normalize_output(out, keys)

        return runner

    def runner(state: dict, task: Any) -> Any:
        tok = set_task(task)
        try:
            kwargs = {}
            if wants_config:
                kwargs["config"] = _run_config(task)
            if wants_runtime:
                from ..runtime import Runtime

                kwargs["runtime"] = Runtime(context=task.context, stream_writer=task.write)
            if wants_writer:
                kwargs["writer"] = task.write
            arg = coerce(state) if coerce is not None and type(state) is dict else state
            out = fn(arg, **kwargs)
            if is_async:
                out = _run_coroutine(out, name)
        finally:
            reset_task(tok)
        return _normalize_output(out, keys)

    return runner


def _make_router(path: Callable, coerce: Callable | None, labels: bool) -> Callable:
    wants_config = _wants(path)[0]
    is_async = _is_async(path)

    def runner(state: dict) -> list:
        arg = coerce(state) if coerce is not None and type(state) is dict else state
        out = path(arg, config=_RUN.get() and (_RUN.get().get("config") or {})) if wants_config else path(arg)
        if is_async:
            out = _run_coroutine(out, getattr(path, "__name__", "path"))
        if out is None:
            return []
        if isinstance(out, (str, Send)) or not isinstance(out, (list, tuple)):
            out = [out]
        res = []
        for r in out:
            if isinstance(r, Send):
                res.append(("send", r.node, r.arg))
            elif labels and not isinstance(r, str):
                res.append(str(r))
            else:
                res.append(r)
        return res

    return runner


# ----- the builder -------------------------------------------------------------------------------


class StateGraph:
    """A graph whose nodes read and update a shared state (LangGraph's ``StateGraph``).

    The state schema is a ``TypedDict``, dataclass or Pydantic model; keys annotated with a
    reducer (``Annotated[list, operator.add]``, ``add_messages`` or any two-argument function)
    combine writes with it, every other key keeps the last value written.
    """

    def __init__(
        self,
        state_schema: Any = None,
        context_schema: Any = None,
        *,
        input_schema: Any = None,
        output_schema: Any = None,
        **kwargs: Any,
    ) -> None:
        input_schema = input_schema or kwargs.pop("input", None)
        output_schema = output_schema or kwargs.pop("output", None)
        context_schema = context_schema or kwargs.pop("config_schema", None)
        if state_schema is None:
            state_schema = input_schema
        self.state_schema = state_schema
        self.context_schema = context_schema
        self.input_schema = input_schema or state_schema
        self.output_schema = output_schema or state_schema
        self.nodes: dict[str, dict] = {}
        self.edges: set[tuple[str, str]] = set()
        self._edges: list[tuple[list[str], str]] = []
        self.branches: dict[str, list] = {}
        self._extra_schemas: list[Any] = []
        self.compiled = False

    # LangGraph's private API some users touch
    @property
    def _all_keys(self) -> list[str]:
        return list(_schema.type_hints(self.state_schema))

    def add_node(
        self,
        node: Any,
        action: Any = None,
        *,
        defer: bool = False,
        metadata: dict | None = None,
        input_schema: Any = None,
        retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None,
        cache_policy: Any = None,
        destinations: dict | tuple | None = None,
        **kwargs: Any,
    ) -> "StateGraph":
        input_schema = input_schema or kwargs.pop("input", None)
        retry_policy = retry_policy or kwargs.pop("retry", None)
        if not isinstance(node, str):
            action = node
            node = getattr(action, "name", None) if isinstance(action, CompiledStateGraph) else None
            node = node or getattr(action, "__name__", None) or type(action).__name__
        if node in self.nodes:
            raise ValueError(f"Node `{node}` already present.")
        if node in (END, START):
            raise ValueError(f"Node `{node}` is reserved.")
        if action is None:
            raise ValueError(f"Node `{node}` needs an action")
        if input_schema is None and not isinstance(action, CompiledStateGraph) and callable(action):
            hint = _first_param_schema(action)
            if isinstance(hint, type) and _schema.type_hints(hint) and hint is not self.state_schema:
                input_schema = hint
        if input_schema is not None and input_schema is not self.state_schema:
            self._extra_schemas.append(input_schema)
        self.nodes[node] = {
            "action": action,
            "defer": defer,
            "metadata": metadata,
            "input_schema": input_schema,
            "retry": retry_policy,
            "destinations": destinations,
        }
        return self

    def add_edge(self, start_key: str | list[str], end_key: str) -> "StateGraph":
        if isinstance(start_key, str):
            if start_key == END:
                raise ValueError("END cannot be a start node")
            if end_key == START:
                raise ValueError("START cannot be an end node")
            self.edges.add((start_key, end_key))
            self._edges.append(([start_key], end_key))
        else:
            for s in start_key:
                self.edges.add((s, end_key))
            self._edges.append((list(start_key), end_key))
        return self

    def add_conditional_edges(
        self,
        source: str,
        path: Callable,
        path_map: dict[Hashable, str] | list[str] | None = None,
    ) -> "StateGraph":
        self.branches.setdefault(source, []).append((path, path_map))
        return self

    def add_sequence(self, nodes: Sequence[Any]) -> "StateGraph":
        previous = None
        for item in nodes:
            if isinstance(item, tuple):
                name, action = item
                self.add_node(name, action)
            else:
                name = getattr(item, "__name__", None) or type(item).__name__
                self.add_node(name, item)
            if previous is not None:
                self.add_edge(previous, name)
            previous = name
        return self

    def set_entry_point(self, key: str) -> "StateGraph":
        return self.add_edge(START, key)

    def set_finish_point(self, key: str) -> "StateGraph":
        return self.add_edge(key, END)

    def set_conditional_entry_point(self, path: Callable, path_map: Any = None) -> "StateGraph":
        return self.add_conditional_edges(START, path, path_map)

    def validate(self, interrupt: Sequence[str] | None = None) -> "StateGraph":
        for sources, target in self._edges:
            for s in sources:
                if s != START and s not in self.nodes:
                    raise ValueError(f"Found edge starting at unknown node '{s}'")
            if target != END and target not in self.nodes:
                raise ValueError(f"Found edge ending at unknown node `{target}`")
        if not any(s == [START] for s, _ in self._edges) and START not in self.branches:
            raise ValueError("Graph must have an entrypoint: add at least one edge from START to another node")
        for name in interrupt or ():
            if name != "*" and name not in self.nodes:
                raise ValueError(f"Interrupt node `{name}` not found")
        return self

    def compile(
        self,
        checkpointer: Any = None,
        *,
        cache: Any = None,
        store: Any = None,
        interrupt_before: Sequence[str] | str | None = None,
        interrupt_after: Sequence[str] | str | None = None,
        debug: bool = False,
        name: str | None = None,
    ) -> "CompiledStateGraph":
        ib = [interrupt_before] if isinstance(interrupt_before, str) else list(interrupt_before or [])
        ia = [interrupt_after] if isinstance(interrupt_after, str) else list(interrupt_after or [])
        self.validate(ib + ia)
        chans, state_keys = _schema.channels(
            self.state_schema, self.input_schema, self.output_schema, *self._extra_schemas
        )
        # Channels of private node schemas are neither input nor output (LangGraph's rule).
        managed = {c[0] for c in chans if c[1] in ("remaining_steps", "is_last_step")}
        input_keys = [k for k in _schema.type_hints(self.input_schema) if k not in managed] or None
        output_keys = [k for k in _schema.type_hints(self.output_schema) if k not in managed] or None
        native = _native.GraphBuilder(chans, input_keys, output_keys)
        all_keys = [c[0] for c in chans]
        state_coerce = _schema.coercer(self.state_schema)
        for nname, spec in self.nodes.items():
            action = spec["action"]
            ischema = spec["input_schema"]
            node_keys = list(_schema.type_hints(ischema)) if ischema is not None else None
            if isinstance(action, CompiledStateGraph):
                target = action._native
            else:
                fn = action
                if not callable(fn) and hasattr(fn, "invoke"):
                    fn = fn.invoke
                coerce = _schema.coercer(ischema) if ischema is not None else state_coerce
                if getattr(self, "_root", False):
                    fn = _root_node(fn)
                target = _make_runner(nname, fn, coerce, all_keys)
            retry = None
            if spec["retry"] is not None:
                policies = spec["retry"] if isinstance(spec["retry"], (list, tuple)) and not isinstance(spec["retry"], RetryPolicy) else [spec["retry"]]
                retry = [_retry_tuple(policies)]
            dest = spec["destinations"]
            dest = list(dest) if dest else None
            native.add_node(nname, target, spec["defer"], retry, node_keys, dest, spec["metadata"])
        for sources, target in self._edges:
            native.add_edge(sources, target)
        for source, branches in self.branches.items():
            for path, path_map in branches:
                pm = None
                if isinstance(path_map, dict):
                    pm = [(str(k), v) for k, v in path_map.items()]
                elif path_map is not None:
                    pm = [(v, v) for v in path_map]
                if getattr(self, "_root", False):
                    path = _root_router(path)
                native.add_conditional_edges(source, _make_router(path, state_coerce, pm is not None), pm)
        saver = getattr(checkpointer, "_native", None) if checkpointer not in (None, True, False) else None
        compiled = native.compile(saver, ib or None, ia or None, name)
        self.compiled = True
        out = CompiledStateGraph(self, compiled, checkpointer, name or "LangGraph", state_keys)
        out._root = getattr(self, "_root", False)
        return out


def _predicate(on: Any) -> Callable[[BaseException], bool]:
    if isinstance(on, type) and issubclass(on, BaseException):
        return lambda e, _c=on: isinstance(e, _c)
    if isinstance(on, (list, tuple)):
        return lambda e, _c=tuple(on): isinstance(e, _c)
    return on


def _retry_tuple(policies: Sequence[RetryPolicy]) -> tuple:
    """One engine policy for LangGraph's list: an exception is retried when some policy's
    ``retry_on`` accepts it; attempts and backoff are the first policy's."""
    first = policies[0]
    preds = [_predicate(p.retry_on) for p in policies]
    pred = preds[0] if len(preds) == 1 else (lambda e: any(p(e) for p in preds))
    return (
        float(first.initial_interval),
        float(first.backoff_factor),
        float(first.max_interval),
        int(first.max_attempts),
        bool(first.jitter),
        pred,
    )


# ----- the compiled graph ------------------------------------------------------------------------


def _interrupts(items: Any) -> list:
    return [
        Interrupt(value=i.get("value"), id=i.get("id"), response_schema=i.get("response_schema"))
        if isinstance(i, dict)
        else i
        for i in items
    ]


def _fix_chunk(mode: str, data: Any) -> Any:
    if type(data) is not dict:
        return data
    if mode in ("updates", "values") and "__interrupt__" in data:
        data = dict(data)
        data["__interrupt__"] = tuple(_interrupts(data["__interrupt__"]))
    elif mode == "tasks" and type(data.get("triggers")) is list:
        data["triggers"] = tuple(data["triggers"])
    elif mode == "debug" and data.get("type") == "task":
        payload = data.get("payload")
        if type(payload) is dict and type(payload.get("triggers")) is list:
            payload["triggers"] = tuple(payload["triggers"])
    elif mode == "checkpoints":
        _fix_checkpoint_tasks(data)
    elif mode == "debug" and data.get("type") == "checkpoint":
        _fix_checkpoint_tasks(data.get("payload"))
    return data


def _fix_checkpoint_tasks(payload: Any) -> None:
    if type(payload) is not dict:
        return
    for t in payload.get("tasks") or ():
        if type(t) is dict and type(t.get("interrupts")) is list:
            t["interrupts"] = tuple(_interrupts(t["interrupts"]))


def _checkpoint_config(c: dict | None) -> dict | None:
    if c is None:
        return None
    return {"configurable": dict(c)}


class _Graph:
    """What ``get_graph()`` returns: draws the compiled graph."""

    def __init__(self, compiled: "CompiledStateGraph", xray: Any) -> None:
        self._compiled = compiled
        self._xray = bool(xray)
        self.nodes = {n: None for n in [START, *compiled.builder.nodes, END]}

    def draw_mermaid(self, *, with_styles: bool = True, **_: Any) -> str:
        return self._compiled._native.draw_mermaid(self._xray, with_styles)


class _MessageTap:
    """Turns task results into ``messages`` chunks: each LangChain message a node returned,
    once, with LangGraph's metadata."""

    def __init__(self, run_input: Any, hide_debug: bool) -> None:
        self.hide_debug = hide_debug
        self.triggers: dict[str, tuple] = {}
        self.seen: set = set()
        for m in _messages_in(run_input):
            if getattr(m, "id", None) is not None:
                self.seen.add(m.id)

    def from_debug(self, ns: tuple, data: Any) -> list:
        if type(data) is not dict:
            return []
        payload = data.get("payload") or {}
        if data.get("type") == "task":
            self.triggers[payload.get("id")] = tuple(payload.get("triggers") or ())
            # Messages a node receives are not streamed when it returns them (LangGraph's rule).
            for m in _messages_in(payload.get("input")):
                if getattr(m, "id", None) is not None:
                    self.seen.add(m.id)
            return []
        if data.get("type") != "task_result" or payload.get("error"):
            return []
        out = []
        result = payload.get("result")
        pairs = result.items() if isinstance(result, dict) else (result or [])
        name, task_id = payload.get("name"), payload.get("id")
        for pair in pairs:
            value = pair[1] if isinstance(pair, (list, tuple)) and len(pair) == 2 else None
            for m in _messages_in(value):
                mid = getattr(m, "id", None)
                if mid is not None and mid in self.seen:
                    continue
                if mid is not None:
                    self.seen.add(mid)
                ns_str = "|".join((*ns, f"{name}:{task_id}"))
                meta = {
                    "ls_integration": "langgraph",
                    "langgraph_step": data.get("step"),
                    "langgraph_node": name,
                    "langgraph_triggers": self.triggers.get(task_id, ()),
                    "langgraph_path": ("__pregel_pull", name),
                    "langgraph_checkpoint_ns": ns_str,
                }
                if ns:
                    meta["checkpoint_ns"] = ns[0]
                out.append((m, meta))
        return out


def _is_message(v: Any) -> bool:
    import sys

    mod = sys.modules.get("langchain_core.messages")
    return mod is not None and isinstance(v, mod.BaseMessage)


def _messages_in(value: Any) -> list:
    if isinstance(value, dict):
        return [m for v in value.values() for m in _messages_in(v)] if not _is_message(value) else []
    if isinstance(value, (list, tuple)):
        return [m for m in value if _is_message(m)]
    return [value] if _is_message(value) else []


class CompiledStateGraph:
    """A compiled ``StateGraph``: run it with ``invoke``/``stream`` (and their async forms),
    inspect and edit threads with ``get_state``/``get_state_history``/``update_state``."""

    def __init__(self, builder: StateGraph, native: Any, checkpointer: Any, name: str, state_keys: list[str]) -> None:
        self.builder = builder
        self._native = native
        self.checkpointer = checkpointer
        self.name = name
        self._state_keys = state_keys
        self.stream_mode = "updates"

    @property
    def nodes(self) -> dict:
        return {n: None for n in [START, *self.builder.nodes]}

    def get_graph(self, config: Any = None, *, xray: Any = False) -> _Graph:
        return _Graph(self, xray)

    def with_config(self, config: dict | None = None, **kwargs: Any) -> "CompiledStateGraph":
        return self

    # -- runs --

    def _args(self, config: dict | None, context: Any, durability: Any, interrupt_before: Any, interrupt_after: Any) -> dict:
        config = config or {}
        conf = config.get("configurable") or {}
        args: dict[str, Any] = {
            "recursion_limit": config.get("recursion_limit"),
            "thread_id": conf.get("thread_id"),
            "checkpoint_id": conf.get("checkpoint_id"),
            "context": context,
            "durability": durability,
            "tags": config.get("tags"),
            "metadata": config.get("metadata"),
        }
        if config.get("run_id") is not None:
            args["run_id"] = str(config["run_id"])
        if interrupt_before is not None:
            args["interrupt_before"] = [interrupt_before] if isinstance(interrupt_before, str) else list(interrupt_before)
        if interrupt_after is not None:
            args["interrupt_after"] = [interrupt_after] if isinstance(interrupt_after, str) else list(interrupt_after)
        return args

    _root = False

    def _input(self, input: Any) -> tuple[Any, bool]:
        if isinstance(input, Command):
            return _norm_command(input), True
        if self._root and input is not None:
            return {ROOT: input}, False
        return _schema.input_as_dict(input), False

    def invoke(
        self,
        input: Any,
        config: dict | None = None,
        *,
        context: Any = None,
        stream_mode: str = "values",
        print_mode: Any = (),
        output_keys: Any = None,
        interrupt_before: Any = None,
        interrupt_after: Any = None,
        durability: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if stream_mode != "values":
            return list(self.stream(input, config, context=context, stream_mode=stream_mode,
                                    interrupt_before=interrupt_before, interrupt_after=interrupt_after,
                                    durability=durability))
        args = self._args(config, context, durability, interrupt_before, interrupt_after)
        data, is_cmd = self._input(input)
        parent = _TASK.get()
        tok = _RUN.set({"config": config or ((_RUN.get() or {}).get("config") if parent else None), "loop": kwargs.get("_loop")})
        try:
            out = self._native.invoke(data, is_cmd, args, parent)
        finally:
            _RUN.reset(tok)
        if type(out) is dict and "__interrupt__" in out:
            out["__interrupt__"] = _interrupts(out["__interrupt__"])
        if self._root and type(out) is dict:
            return out.get(ROOT)
        return out

    def stream(
        self,
        input: Any,
        config: dict | None = None,
        *,
        context: Any = None,
        stream_mode: Any = None,
        print_mode: Any = (),
        output_keys: Any = None,
        interrupt_before: Any = None,
        interrupt_after: Any = None,
        durability: str | None = None,
        subgraphs: bool = False,
        debug: Any = None,
        **kwargs: Any,
    ) -> Iterator[Any]:
        if stream_mode is None:
            stream_mode = self.stream_mode
        single = isinstance(stream_mode, str)
        modes = [stream_mode] if single else list(dict.fromkeys(stream_mode))
        for m in modes:
            if m not in _STREAM_MODES:
                raise ValueError(f"Unknown stream mode {m!r}")
        args = self._args(config, context, durability, interrupt_before, interrupt_after)
        data, is_cmd = self._input(input)
        run = {"config": config, "loop": kwargs.get("_loop")}
        messages = None
        native_modes = modes
        if "messages" in modes:
            # LangChain message objects a node returns are streamed from the task results of the
            # debug stream (the engine recognises only message dicts).
            messages = _MessageTap(input, hide_debug="debug" not in modes)
            native_modes = [m for m in modes if m != "messages"] + ([] if "debug" in modes else ["debug"])
        native = self._native.stream(data, native_modes, subgraphs, is_cmd, args, _TASK.get())
        return self._iterate(native, run, single, subgraphs, self._root, messages)

    @staticmethod
    def _iterate(
        native: Any, run: dict, single: bool, subgraphs: bool, root: bool = False, messages: Any = None
    ) -> Iterator[Any]:
        held: list = []  # an `updates` chunk waits for its task's messages (LangGraph streams those first)
        while True:
            tok = _RUN.set(run)
            try:
                ns, mode, data = next(native)
            except StopIteration:
                yield from held
                return
            finally:
                _RUN.reset(tok)
            if messages is not None and mode == "debug":
                for chunk in messages.from_debug(ns, data):
                    if subgraphs:
                        yield (ns, chunk) if single else (ns, "messages", chunk)
                    else:
                        yield chunk if single else ("messages", chunk)
                if held and type(data) is dict and data.get("type") == "task_result":
                    yield from held
                    held = []
                if messages.hide_debug:
                    continue
            elif held:
                yield from held
                held = []
            data = _fix_chunk(mode, data)
            if root:
                data = _unroot(mode, data)
            item = ((ns, data) if single else (ns, mode, data)) if subgraphs else (data if single else (mode, data))
            if messages is not None and mode == "updates":
                held.append(item)
            else:
                yield item

    async def ainvoke(self, input: Any, config: dict | None = None, **kwargs: Any) -> Any:
        import asyncio

        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        return await loop.run_in_executor(None, lambda: ctx.run(self.invoke, input, config, _loop=loop, **kwargs))

    async def astream(self, input: Any, config: dict | None = None, **kwargs: Any) -> AsyncIterator[Any]:
        import asyncio

        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        it = ctx.run(self.stream, input, config, _loop=loop, **kwargs)
        done = object()
        while True:
            item = await loop.run_in_executor(None, lambda: ctx.run(next, it, done))
            if item is done:
                return
            yield item

    # -- threads --

    def _thread(self, config: dict | None) -> tuple[str, str, str | None]:
        if self.checkpointer is None:
            raise ValueError("No checkpointer set")
        conf = (config or {}).get("configurable") or {}
        if "thread_id" not in conf:
            raise ValueError("thread_id is required in config['configurable']")
        return str(conf["thread_id"]), conf.get("checkpoint_ns", "") or "", conf.get("checkpoint_id")

    def _snapshot(self, d: dict) -> StateSnapshot:
        tasks = tuple(
            PregelTask(
                id=t["id"],
                name=t["name"],
                path=("__pregel_pull", t["name"]),
                error=_task_error(t["error"]),
                interrupts=tuple(_interrupts(t["interrupts"])),
                state=self._snapshot(t["state"]) if t["state"] else None,
                result=t["result"],
            )
            for t in d["tasks"]
        )
        return StateSnapshot(
            values=d["values"],
            next=tuple(d["next"]),
            config=_checkpoint_config(d["config"]),
            metadata=d["metadata"],
            created_at=d["created_at"],
            parent_config=_checkpoint_config(d["parent_config"]),
            tasks=tasks,
            interrupts=tuple(_interrupts(d["interrupts"])),
        )

    def get_state(self, config: dict, *, subgraphs: bool = False) -> StateSnapshot:
        thread, ns, cid = self._thread(config)
        return self._snapshot(self._native.get_state(thread, ns, cid, subgraphs))

    def get_state_history(
        self, config: dict, *, filter: dict | None = None, before: dict | None = None, limit: int | None = None
    ) -> Iterator[StateSnapshot]:
        thread, ns, _ = self._thread(config)
        before_id = ((before or {}).get("configurable") or {}).get("checkpoint_id")
        for d in self._native.get_state_history(thread, ns, before_id, limit, filter):
            yield self._snapshot(d)

    def update_state(self, config: dict, values: Any, as_node: str | None = None, task_id: str | None = None) -> dict:
        thread, ns, cid = self._thread(config)
        if isinstance(values, Command):
            raise NotImplementedError("update_state with a Command is not supported yet")
        values = _norm_update(_schema.input_as_dict(values))
        return _checkpoint_config(self._native.update_state(thread, values, as_node, ns, cid))

    async def aget_state(self, config: dict, *, subgraphs: bool = False) -> StateSnapshot:
        return self.get_state(config, subgraphs=subgraphs)

    async def aupdate_state(self, config: dict, values: Any, as_node: str | None = None) -> dict:
        return self.update_state(config, values, as_node)

    async def aget_state_history(self, config: dict, **kwargs: Any) -> AsyncIterator[StateSnapshot]:
        for s in self.get_state_history(config, **kwargs):
            yield s


def _task_error(err: Any) -> Any:
    if err is None:
        return None
    if isinstance(err, dict):
        return Exception(err.get("message", ""))
    return Exception(str(err))
