"""Run-time access from inside a node (``langgraph.config``)."""

from __future__ import annotations

from typing import Any

from ._internal.context import _TASK

__all__ = ("get_config", "get_stream_writer", "get_store")


def get_config() -> dict:
    """The ``RunnableConfig`` of the running node."""
    task = _TASK.get()
    if task is None:
        raise RuntimeError("Called get_config outside of a runnable context")
    from .graph.state import _run_config

    return _run_config(task)


def get_stream_writer() -> Any:
    """A function writing to the ``custom`` stream (does nothing when nobody streams it)."""
    task = _TASK.get()
    if task is None:
        return lambda _chunk: None
    return task.write


def get_store() -> Any:
    """Stores are not supported yet."""
    raise NotImplementedError("langgraph_rust has no store support yet")
