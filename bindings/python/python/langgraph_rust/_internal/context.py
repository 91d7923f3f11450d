"""The task a Python node runs in, visible to ``interrupt()``, ``get_config()``... while it runs."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

#: (task context from the engine, run info) of the running node.
_TASK: ContextVar[Any] = ContextVar("langgraph_rust_task", default=None)
#: The run's arguments (config, context, ...), set around a run.
_RUN: ContextVar[Any] = ContextVar("langgraph_rust_run", default=None)


def current_task() -> Any:
    return _TASK.get()


def current_run() -> Any:
    return _RUN.get()
