"""Constants of the graph API (as in ``langgraph.constants``)."""

import sys

__all__ = ("START", "END", "TAG_HIDDEN", "TAG_NOSTREAM")

#: The first (virtual) node of every graph.
START = sys.intern("__start__")
#: The last (virtual) node of every graph.
END = sys.intern("__end__")
#: Tag hiding a node's events from tracers.
TAG_HIDDEN = sys.intern("langsmith:hidden")
#: Tag disabling token streaming for a chat model.
TAG_NOSTREAM = sys.intern("nostream")
