"""Checkpointers backed by the Rust savers (``langgraph.checkpoint``)."""
