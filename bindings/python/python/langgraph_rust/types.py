"""Values nodes return and the run exposes (``langgraph.types``)."""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Generic, Literal, NamedTuple, Sequence, TypeVar, Union

__all__ = (
    "All",
    "Send",
    "Command",
    "Interrupt",
    "interrupt",
    "Overwrite",
    "RetryPolicy",
    "CachePolicy",
    "StateSnapshot",
    "PregelTask",
    "StateUpdate",
    "StreamMode",
    "StreamWriter",
    "Durability",
    "Checkpointer",
)

All = Literal["*"]
StreamMode = Literal["values", "updates", "checkpoints", "tasks", "debug", "messages", "custom"]
Durability = Literal["sync", "async", "exit"]
StreamWriter = Callable[[Any], None]
Checkpointer = Union[None, bool, Any]
N = TypeVar("N")


class Send:
    """Run ``node`` in the next superstep with ``arg`` as its input (map-reduce fan-out)."""

    __slots__ = ("node", "arg")

    def __init__(self, /, node: str, arg: Any) -> None:
        self.node = node
        self.arg = arg

    def __hash__(self) -> int:
        return hash((self.node, repr(self.arg)))

    def __repr__(self) -> str:
        return f"Send(node={self.node!r}, arg={self.arg!r})"

    def __eq__(self, value: object) -> bool:
        return isinstance(value, Send) and self.node == value.node and self.arg == value.arg


class Command(Generic[N]):
    """Update the state and choose where to go, from a node, or as run input (``resume``)."""

    __slots__ = ("graph", "update", "resume", "goto")

    PARENT: ClassVar[Literal["__parent__"]] = "__parent__"

    def __init__(self, *, graph: str | None = None, update: Any = None, resume: Any = None, goto: Any = ()) -> None:
        self.graph = graph
        self.update = update
        self.resume = resume
        self.goto = goto

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__ if getattr(self, k))
        return f"Command({parts})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Command) and all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    __hash__ = None  # type: ignore[assignment]


class Interrupt:
    """A pause requested by ``interrupt()``: the value shown and the id to resume it by."""

    __slots__ = ("value", "id", "response_schema")

    def __init__(self, value: Any, id: str = "placeholder-id", *, response_schema: Any = None) -> None:
        self.value = value
        self.id = id
        self.response_schema = response_schema

    def __repr__(self) -> str:
        return f"Interrupt(value={self.value!r}, id={self.id!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Interrupt)
            and self.value == other.value
            and self.id == other.id
            and self.response_schema == other.response_schema
        )

    def __hash__(self) -> int:
        return hash(self.id)


def interrupt(value: Any, *, response_schema: Any = None) -> Any:
    """Pause the run and show ``value``; on resume, return the resume value.

    The node runs again from its start when the run is resumed with ``Command(resume=...)``;
    the n-th call of ``interrupt`` in a task then returns the n-th resume value.
    """
    from ._internal.context import current_task

    task = current_task()
    if task is None:
        raise RuntimeError("Called interrupt() outside the context of a graph node.")
    return task.interrupt(value)


class Overwrite:
    """Store ``value`` in a reducer key as is, bypassing the reducer."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Overwrite(value={self.value!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Overwrite) and other.value == self.value


def _default_retry_on(exc: Exception) -> bool:
    if isinstance(exc, ConnectionError):
        return True
    if isinstance(
        exc,
        (
            ValueError,
            TypeError,
            ArithmeticError,
            ImportError,
            LookupError,
            NameError,
            SyntaxError,
            RuntimeError,
            ReferenceError,
            StopIteration,
            StopAsyncIteration,
            OSError,
        ),
    ):
        return False
    return True


class RetryPolicy(NamedTuple):
    """How to retry a failing node (LangGraph's fields and defaults)."""

    initial_interval: float = 0.5
    backoff_factor: float = 2.0
    max_interval: float = 128.0
    max_attempts: int = 3
    jitter: bool = True
    retry_on: type[Exception] | Sequence[type[Exception]] | Callable[[Exception], bool] = _default_retry_on


class CachePolicy:
    """Accepted for compatibility; the engine does not cache node results yet."""

    def __init__(self, key_func: Callable[..., Any] | None = None, ttl: int | None = None) -> None:
        self.key_func = key_func
        self.ttl = ttl


class PregelTask(NamedTuple):
    """A task of the next step of a snapshot."""

    id: str
    name: str
    path: tuple = ()
    error: Exception | None = None
    interrupts: tuple = ()
    state: Any = None
    result: Any | None = None


class StateSnapshot(NamedTuple):
    """A thread's state at one checkpoint."""

    values: Any
    next: tuple[str, ...]
    config: dict
    metadata: dict | None
    created_at: str | None
    parent_config: dict | None
    tasks: tuple[PregelTask, ...]
    interrupts: tuple[Interrupt, ...] = ()


class StateUpdate(NamedTuple):
    values: dict[str, Any] | None
    as_node: str | None = None
    task_id: str | None = None
