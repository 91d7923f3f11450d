"""Graph builders (``langgraph.graph``)."""

from ..constants import END, START
from .message import MessagesState, add_messages
from .state import CompiledStateGraph, StateGraph



def __getattr__(name: str):
    if name == "MessageGraph":
        from .message import MessageGraph

        return MessageGraph
    raise AttributeError(name)


__all__ = ("END", "START", "StateGraph", "CompiledStateGraph", "MessageGraph", "MessagesState", "add_messages")
