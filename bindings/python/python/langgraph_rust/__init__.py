"""LangGraph's Python API on the Stategraph Rust engine.

Migrating is changing the import: ``from langgraph.graph import StateGraph`` becomes
``from langgraph_rust.graph import StateGraph`` (and likewise for ``types``, ``errors``,
``checkpoint.memory``, ``checkpoint.sqlite``, ``checkpoint.postgres``, ``config``, ``runtime``).
"""

__version__ = "0.1.0"
