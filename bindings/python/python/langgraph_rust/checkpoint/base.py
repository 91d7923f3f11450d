"""The saver base class."""

from __future__ import annotations

from typing import Any

__all__ = ("BaseCheckpointSaver",)


class BaseCheckpointSaver:
    """A checkpointer backed by a Rust saver (``self._native``).

    Graphs compiled with it save every step there; read threads back with the compiled
    graph's ``get_state`` / ``get_state_history``.
    """

    _native: Any

    def delete_thread(self, thread_id: str) -> None:
        """Deletes every checkpoint of a thread."""
        self._native.delete_thread(str(thread_id))

    def setup(self) -> None:
        """Tables are created when the saver opens; kept for LangGraph compatibility."""
