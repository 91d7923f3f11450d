"""The in-memory saver (``langgraph.checkpoint.memory``)."""

from __future__ import annotations

from typing import Any

from .. import _native
from .base import BaseCheckpointSaver

__all__ = ("InMemorySaver", "MemorySaver")


class InMemorySaver(BaseCheckpointSaver):
    """Keeps checkpoints in process memory; values (Python objects too) are stored as they are."""

    def __init__(self, *, serde: Any = None, factory: Any = None) -> None:
        self._native = _native.Saver.memory()

    def __enter__(self) -> "InMemorySaver":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


MemorySaver = InMemorySaver
