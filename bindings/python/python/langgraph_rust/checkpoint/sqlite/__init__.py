"""The SQLite saver (``langgraph.checkpoint.sqlite``), on Stategraph's Rust SQLite backend.

Plain data is stored as MessagePack; values holding other Python objects are pickled.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from typing import Any, Iterator

from ... import _native
from ..base import BaseCheckpointSaver

__all__ = ("SqliteSaver",)


def _path_of(conn: Any) -> str:
    for _, name, path in conn.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return path or ""
    return ""


class SqliteSaver(BaseCheckpointSaver):
    """Checkpoints in a SQLite file. ``SqliteSaver(conn)`` takes a ``sqlite3`` connection's
    file (the Rust backend opens its own connections); ``from_conn_string(path)`` a path."""

    def __init__(self, conn: Any = None, *, path: str | None = None, serde: Any = None) -> None:
        if path is None:
            path = _path_of(conn) if conn is not None else ""
        if path in ("", ":memory:"):
            # An in-memory database lives for the saver: a private temporary file.
            self._tmp = tempfile.TemporaryDirectory(prefix="langgraph-rust-")
            path = os.path.join(self._tmp.name, "checkpoints.sqlite")
        self.path = path
        self._native = _native.Saver.sqlite(path)

    @classmethod
    @contextmanager
    def from_conn_string(cls, conn_string: str) -> Iterator["SqliteSaver"]:
        yield cls(path=conn_string)
