"""Messages in state: ``add_messages``, ``MessagesState``, ``MessageGraph``.

Messages are LangChain message objects (``langchain_core``, imported when first needed), as in
LangGraph: dicts, tuples and strings written to a messages key become message objects.
"""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

__all__ = ("add_messages", "MessagesState", "MessageGraph", "REMOVE_ALL_MESSAGES")

REMOVE_ALL_MESSAGES = "__remove_all__"


def add_messages(left: Any, right: Any, **kwargs: Any) -> Any:
    """Merge two lists of messages: new ids are appended, existing ids are replaced,
    ``RemoveMessage`` deletes (LangGraph's reducer)."""
    import uuid

    from langchain_core.messages import RemoveMessage, convert_to_messages, message_chunk_to_message

    if not isinstance(left, list):
        left = [left]
    if not isinstance(right, list):
        right = [right]
    left = [message_chunk_to_message(m) for m in convert_to_messages(left)]
    right = [message_chunk_to_message(m) for m in convert_to_messages(right)]
    for m in left:
        if m.id is None:
            m.id = str(uuid.uuid4())
    remove_all_idx = None
    for idx, m in enumerate(right):
        if m.id is None:
            m.id = str(uuid.uuid4())
        if isinstance(m, RemoveMessage) and m.id == REMOVE_ALL_MESSAGES:
            remove_all_idx = idx
    if remove_all_idx is not None:
        return right[remove_all_idx + 1 :]
    merged = left.copy()
    by_id = {m.id: i for i, m in enumerate(merged)}
    ids_to_remove = set()
    for m in right:
        if (existing := by_id.get(m.id)) is not None:
            if isinstance(m, RemoveMessage):
                ids_to_remove.add(m.id)
            else:
                ids_to_remove.discard(m.id)
                merged[existing] = m
        else:
            if isinstance(m, RemoveMessage):
                raise ValueError(f"Attempting to delete a message with an ID that doesn't exist ('{m.id}')")
            by_id[m.id] = len(merged)
            merged.append(m)
    return [m for m in merged if m.id not in ids_to_remove]


class MessagesState(TypedDict):
    """A state with one key, ``messages``, reduced by ``add_messages``."""

    messages: Annotated[list, add_messages]


class _Root(TypedDict):
    __root__: Annotated[list, add_messages]


def _message_graph_class() -> Any:
    from .state import StateGraph

    class MessageGraph(StateGraph):
        """A graph whose whole state is a list of messages, reduced by ``add_messages``
        (deprecated in LangGraph in favour of ``StateGraph(MessagesState)``)."""

        _root = True

        def __init__(self) -> None:
            super().__init__(_Root)

    return MessageGraph


def __getattr__(name: str) -> Any:
    if name == "MessageGraph":
        cls = _message_graph_class()
        globals()["MessageGraph"] = cls
        return cls
    raise AttributeError(name)
