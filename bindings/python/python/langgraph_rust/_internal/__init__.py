"""Internals of langgraph_rust (not public API)."""
