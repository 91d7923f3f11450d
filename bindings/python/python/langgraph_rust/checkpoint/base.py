"""The saver base class and LangGraph's checkpoint types."""

from __future__ import annotations

from typing import Any, Iterator, NamedTuple

__all__ = ("BaseCheckpointSaver", "CheckpointTuple")


class CheckpointTuple(NamedTuple):
    """A checkpoint with its config, metadata, parent and pending writes (LangGraph's fields)."""

    config: dict
    checkpoint: dict
    metadata: dict
    parent_config: dict | None = None
    pending_writes: list | None = None


def _config(c: dict | None) -> dict | None:
    return None if c is None else {"configurable": c}


def _tuple(d: dict) -> CheckpointTuple:
    return CheckpointTuple(
        config=_config(d["config"]),
        checkpoint=d["checkpoint"],
        metadata=d["metadata"],
        parent_config=_config(d["parent_config"]),
        pending_writes=[tuple(w) for w in d["pending_writes"]],
    )


class BaseCheckpointSaver:
    """A checkpointer backed by a Rust saver (``self._native``).

    Graphs compiled with it save every step there; read threads back with the compiled graph's
    ``get_state`` / ``get_state_history``, or the raw checkpoints with ``get_tuple`` / ``list``.
    """

    _native: Any

    def get_tuple(self, config: dict) -> CheckpointTuple | None:
        """The thread's latest checkpoint (or the one ``checkpoint_id`` names)."""
        conf = config.get("configurable") or {}
        d = self._native.get_tuple(str(conf["thread_id"]), conf.get("checkpoint_ns", "") or "", conf.get("checkpoint_id"))
        return None if d is None else _tuple(d)

    def get(self, config: dict) -> dict | None:
        """The checkpoint itself (``channel_values``, ``channel_versions``, ...)."""
        t = self.get_tuple(config)
        return None if t is None else t.checkpoint

    def list(
        self, config: dict | None, *, filter: dict | None = None, before: dict | None = None, limit: int | None = None
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints newest first: of the config's thread (every thread when ``config`` is None)."""
        conf = (config or {}).get("configurable") or {}
        thread = conf.get("thread_id")
        before_id = ((before or {}).get("configurable") or {}).get("checkpoint_id")
        ns = conf.get("checkpoint_ns")
        for d in self._native.list(None if thread is None else str(thread), ns, before_id, limit, filter):
            yield _tuple(d)

    def delete_thread(self, thread_id: str) -> None:
        """Deletes every checkpoint of a thread."""
        self._native.delete_thread(str(thread_id))

    def setup(self) -> None:
        """Tables are created when the saver opens; kept for LangGraph compatibility."""
