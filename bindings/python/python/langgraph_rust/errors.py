"""Exceptions, with LangGraph's class names (``langgraph.errors``).

Engine errors carry their stable Stategraph code (``SG0xx``) in ``.code`` and the message.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Sequence

__all__ = (
    "ErrorCode",
    "GraphBubbleUp",
    "GraphRecursionError",
    "InvalidUpdateError",
    "GraphInterrupt",
    "NodeInterrupt",
    "ParentCommand",
    "EmptyInputError",
    "EmptyChannelError",
    "TaskNotFound",
    "CheckpointError",
)


class ErrorCode(Enum):
    GRAPH_RECURSION_LIMIT = "GRAPH_RECURSION_LIMIT"
    INVALID_CONCURRENT_GRAPH_UPDATE = "INVALID_CONCURRENT_GRAPH_UPDATE"
    INVALID_GRAPH_NODE_RETURN_VALUE = "INVALID_GRAPH_NODE_RETURN_VALUE"
    MULTIPLE_SUBGRAPHS = "MULTIPLE_SUBGRAPHS"
    INVALID_CHAT_HISTORY = "INVALID_CHAT_HISTORY"


class GraphBubbleUp(Exception):
    """Base of the signals that travel up through a graph."""


class GraphRecursionError(RecursionError):
    """The graph ran out of supersteps (``recursion_limit``) before it reached END."""

    code: str | None = None


class InvalidUpdateError(Exception):
    """A node wrote an update the state cannot take (two values for a LastValue key, a
    non-dict update, an invalid ``update_state``...)."""

    code: str | None = None


class GraphInterrupt(GraphBubbleUp):
    """Raised by ``interrupt()`` inside a node; the run pauses (never surfaced by ``invoke``)."""

    def __init__(self, interrupts: Sequence[Any] = ()) -> None:
        super().__init__(interrupts)


class NodeInterrupt(GraphInterrupt):
    """Deprecated in LangGraph: use ``interrupt()``."""


class ParentCommand(GraphBubbleUp):
    """Carries a ``Command(graph=Command.PARENT)`` to the parent graph."""


class EmptyInputError(Exception):
    """The graph got no input and there was nothing to resume."""

    code: str | None = None


class EmptyChannelError(Exception):
    """A channel was read while empty."""


class TaskNotFound(Exception):
    """A task was not found."""


class CheckpointError(Exception):
    """The checkpointer failed (SG08x/SG1xx)."""

    code: str | None = None


_BY_NAME = {
    "GraphRecursionError": GraphRecursionError,
    "InvalidUpdateError": InvalidUpdateError,
    "EmptyInputError": EmptyInputError,
    "GraphInterrupt": GraphInterrupt,
    "ValueError": ValueError,
    "RuntimeError": RuntimeError,
    "ValidationError": ValueError,
    "CancelledError": RuntimeError,
}


def _from_engine(name: str, message: str, code: str) -> BaseException:
    """The exception for an engine error (called by the native module)."""
    if code.startswith("SG08") and code not in ("SG082", "SG083", "SG084"):
        cls: type[BaseException] = CheckpointError
    else:
        cls = _BY_NAME.get(name, ValueError)
    exc = cls(message)
    try:
        exc.code = code  # type: ignore[attr-defined]
    except AttributeError:
        pass
    return exc


def _interrupt_signal(value: Any) -> BaseException:
    """What ``interrupt()`` raises when the run must pause (called by the native module)."""
    from .types import Interrupt

    return GraphInterrupt((Interrupt(value=value),))


def _nested_interrupt(values: list) -> BaseException:
    """What a graph invoked inside a node raises when it pauses (called by the native module)."""
    from .types import Interrupt

    return GraphInterrupt(tuple(Interrupt(value=v.get("value"), id=v.get("id")) for v in values))
