"""Graph builders (``langgraph.graph``)."""

from ..constants import END, START
from .message import MessageGraph, MessagesState, add_messages
from .state import CompiledStateGraph, StateGraph

__all__ = ("END", "START", "StateGraph", "CompiledStateGraph", "MessageGraph", "MessagesState", "add_messages")
