"""The PostgreSQL saver (``langgraph.checkpoint.postgres``), on Stategraph's Rust backend."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from ... import _native
from ..base import BaseCheckpointSaver

__all__ = ("PostgresSaver",)


class PostgresSaver(BaseCheckpointSaver):
    """Checkpoints in PostgreSQL (pooled; safe with many processes). Tables are created on open."""

    def __init__(
        self, conn: Any = None, *, conn_string: str | None = None, serde: Any = None, schema: str = "langgraph_rust"
    ) -> None:
        if conn_string is None:
            info = getattr(conn, "info", None)
            if info is None or not hasattr(info, "dsn"):
                raise TypeError("PostgresSaver needs a connection string: use PostgresSaver.from_conn_string(url)")
            conn_string = info.dsn
        self.conn_string = conn_string
        # Our tables live in their own schema: LangGraph's PostgresSaver uses the same table names
        # in the default schema, and both may share one database during a migration.
        self._native = _native.Saver.postgres(_as_url(conn_string), schema)

    @classmethod
    @contextmanager
    def from_conn_string(cls, conn_string: str, *, schema: str = "langgraph_rust", **kwargs: Any) -> Iterator["PostgresSaver"]:
        yield cls(conn_string=conn_string, schema=schema)


def _as_url(conn_string: str) -> str:
    if "://" in conn_string:
        return conn_string
    # libpq key=value form
    parts = dict(p.split("=", 1) for p in conn_string.split())
    user = parts.get("user", "postgres")
    pw = f":{parts['password']}" if "password" in parts else ""
    host = parts.get("host", "127.0.0.1")
    port = parts.get("port", "5432")
    return f"postgres://{user}{pw}@{host}:{port}/{parts.get('dbname', 'postgres')}"
