"""Parity harness: every scenario runs the same graph code under Python LangGraph (``langgraph``)
and under ``langgraph_rust``, and the results must be identical."""

from __future__ import annotations

import importlib
import os
import types
from typing import Any, Callable

import pytest

PACKAGES = ("langgraph", "langgraph_rust")


def load(pkg: str) -> types.SimpleNamespace:
    """The public API of one package, under the same names."""
    graph = importlib.import_module(f"{pkg}.graph")
    typ = importlib.import_module(f"{pkg}.types")
    errors = importlib.import_module(f"{pkg}.errors")
    memory = importlib.import_module(f"{pkg}.checkpoint.memory")
    sqlite = importlib.import_module(f"{pkg}.checkpoint.sqlite")
    config = importlib.import_module(f"{pkg}.config")
    runtime = importlib.import_module(f"{pkg}.runtime")
    managed = importlib.import_module(f"{pkg}.managed")
    ns = types.SimpleNamespace(
        pkg=pkg,
        StateGraph=graph.StateGraph,
        START=graph.START,
        END=graph.END,
        MessagesState=graph.MessagesState,
        add_messages=graph.add_messages,
        Send=typ.Send,
        Command=typ.Command,
        interrupt=typ.interrupt,
        Interrupt=typ.Interrupt,
        Overwrite=typ.Overwrite,
        RetryPolicy=typ.RetryPolicy,
        errors=errors,
        InMemorySaver=memory.InMemorySaver,
        MemorySaver=memory.MemorySaver,
        SqliteSaver=sqlite.SqliteSaver,
        get_config=config.get_config,
        get_stream_writer=config.get_stream_writer,
        Runtime=runtime.Runtime,
        RemainingSteps=managed.RemainingSteps,
    )
    return ns


_LOADED: dict[str, Any] = {}


def api(pkg: str) -> types.SimpleNamespace:
    if pkg not in _LOADED:
        _LOADED[pkg] = load(pkg)
    return _LOADED[pkg]


def outcome(fn: Callable[[Any], Any], pkg: str) -> Any:
    """The scenario's result, or the exception's class name (and nothing else: messages differ)."""
    try:
        return ("ok", fn(api(pkg)))
    except Exception as e:  # noqa: BLE001 - the class is what is compared
        return ("error", type(e).__name__)


def same(fn: Callable[[Any], Any]) -> Any:
    """Runs ``fn`` under both packages; asserts identical results; returns LangGraph's."""
    expected = outcome(fn, "langgraph")
    got = outcome(fn, "langgraph_rust")
    assert got == expected, f"langgraph_rust differs from langgraph:\n  langgraph:      {expected!r}\n  langgraph_rust: {got!r}"
    return expected


def postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/test")
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=2):
            return url
    except Exception:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true but {url} is not reachable")
        return None


def in_schema(url: str, schema: str) -> str:
    """``url`` with its tables in ``schema`` (created when missing) instead of ``public``.

    LangGraph's PostgresSaver names its tables like ours (``checkpoints``, ...): left in ``public``
    of the shared ``test`` database they would break every later run of our own saver there.
    """
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"

