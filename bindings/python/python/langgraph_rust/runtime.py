"""The run-scoped runtime a node can ask for (``langgraph.runtime``)."""

from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar

from ._internal.context import _TASK

__all__ = ("Runtime", "get_runtime")

ContextT = TypeVar("ContextT")


def _noop(_chunk: Any) -> None:
    return None


class Runtime(Generic[ContextT]):
    """What a node gets as ``runtime``: the run ``context`` and a ``stream_writer``."""

    __slots__ = ("context", "store", "stream_writer", "previous")

    def __init__(
        self, context: Any = None, store: Any = None, stream_writer: Callable[[Any], None] = _noop, previous: Any = None
    ) -> None:
        self.context = context
        self.store = store
        self.stream_writer = stream_writer
        self.previous = previous

    def __repr__(self) -> str:
        return f"Runtime(context={self.context!r})"


def get_runtime(context_schema: Any = None) -> Runtime:
    """The runtime of the running node."""
    task = _TASK.get()
    if task is None:
        raise RuntimeError("Called get_runtime outside of a runnable context")
    return Runtime(context=task.context, stream_writer=task.write)
