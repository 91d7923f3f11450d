"""Records what Python LangGraph streams in `messages` mode, for `tests/parity_stream_messages.rs`.

Run with the venv of requirements.txt (langgraph 1.2.24, langchain-core 1.8.3):

    python crates/stategraph-prebuilt/tests/parity/record_stream.py

The graph is a ReAct loop built by hand: `agent` (a chat model that streams fixed chunks) and
`tools` (LangGraph's ToolNode with one `add` tool), routed by `tools_condition`, over
`MessagesState`. Each case lists the model's turns (the chunks its `_stream` yields) and how the
graph is streamed; the fixture keeps the turns (the Rust side scripts its model with them) and
every event the stream produced:

- messages: the message's `model_dump()` minus the fields that carry random ids (`id`) and, for
  tool messages, nothing else; plus the metadata with task ids cut from the namespaces
  (`agent:<task id>` -> `agent`) and `lc_versions` (langchain-core's version) dropped;
- updates: the node names of the update;
- the namespace of the event when subgraphs are streamed, task ids cut the same way.
"""

import json
import os
import re
from typing import Any, Iterator

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
import langgraph.version

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")


class ChatScripted(BaseChatModel):
    """Streams prepared chunks, one list per call. LangChain names the provider after the class
    (`ls_provider: "scripted"`) and the model after `model_name`."""

    model_name: str = "scripted"
    turns: list = []
    turn: int = 0

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages, stop=None, run_manager=None, **kw):
        raise NotImplementedError("streams only")

    def _stream(self, messages, stop=None, run_manager=None, **kw) -> Iterator[ChatGenerationChunk]:
        chunks = self.turns[self.turn]
        self.turn += 1
        for c in chunks:
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content=c.get("content", ""),
                    tool_call_chunks=[
                        tool_call_chunk(name=t.get("name"), args=t.get("args"), id=t.get("id"), index=t.get("index"))
                        for t in c.get("tool_call_chunks", [])
                    ],
                )
            )


@tool
def add(a: int, b: int) -> int:
    """Adds two numbers."""
    return a + b


def agent_graph(turns):
    model = ChatScripted(turns=turns)

    def agent(state):
        return {"messages": [model.invoke(state["messages"])]}

    g = StateGraph(MessagesState)
    g.add_node("agent", agent)
    g.add_node("tools", ToolNode([add]))
    g.add_edge(START, "agent")
    g.add_conditional_edges("agent", tools_condition)
    g.add_edge("tools", "agent")
    return g.compile()


def in_parent(turns):
    g = StateGraph(MessagesState)
    g.add_node("assistant", agent_graph(turns))
    g.add_edge(START, "assistant")
    g.add_edge("assistant", END)
    return g.compile()


TOOL_THEN_ANSWER = [
    [
        {"content": "", "tool_call_chunks": [{"name": "add", "args": '{"a": 1', "id": "call_1", "index": 0}]},
        {"content": "", "tool_call_chunks": [{"args": ', "b": 2}', "index": 0}]},
        {"content": "", "tool_call_chunks": [{"name": "add", "args": '{"a": 3, ', "id": "call_2", "index": 1}]},
        {"content": "", "tool_call_chunks": [{"args": '"b": 4}', "index": 1}]},
    ],
    [{"content": "The"}, {"content": " sums"}, {"content": " are 3"}, {"content": " and 7."}],
]
ANSWER_ONLY = [[{"content": "Hi"}, {"content": " there"}, {"content": "!"}]]

# name, turns, graph ("agent" | "parent"), stream modes, subgraphs
CASES = [
    ("tool_loop", TOOL_THEN_ANSWER, "agent", ["messages"], False),
    ("answer_only", ANSWER_ONLY, "agent", ["messages"], False),
    ("with_updates", TOOL_THEN_ANSWER, "agent", ["messages", "updates"], False),
    ("subgraph", TOOL_THEN_ANSWER, "parent", ["messages"], True),
    ("subgraph_not_streamed", ANSWER_ONLY, "parent", ["messages"], False),
]

TASK_ID = re.compile(r":[0-9a-f-]{36}")


def cut(ns: str) -> str:
    return TASK_ID.sub("", ns)


def message(m: BaseMessage) -> dict:
    d = m.model_dump()
    d.pop("id")
    return d


def metadata(md: dict) -> dict:
    out = {}
    for k, v in md.items():
        if k == "lc_versions":
            continue
        out[k] = cut(v) if k in ("langgraph_checkpoint_ns", "checkpoint_ns") else v
    return out


def run(turns, graph, modes, subgraphs):
    app = agent_graph(turns) if graph == "agent" else in_parent(turns)
    config = {"configurable": {"thread_id": "t1"}}
    events = []
    for ev in app.stream(
        {"messages": [("user", "1+2 and 3+4?")]},
        config,
        stream_mode=modes if len(modes) > 1 else modes[0],
        subgraphs=subgraphs,
    ):
        # LangGraph yields (namespace?, mode?, data): the namespace with subgraphs, the mode with
        # several modes.
        parts = list(ev) if subgraphs or len(modes) > 1 else [ev]
        ns = parts.pop(0) if subgraphs else ()
        mode = parts.pop(0) if len(modes) > 1 else modes[0]
        ev = parts[0]
        out = {"mode": mode}
        if subgraphs:
            out["namespace"] = [cut(n) for n in ns]
        if mode == "messages":
            m, md = ev
            out["message"] = message(m)
            out["metadata"] = metadata(md)
        else:
            out["nodes"] = sorted(ev.keys())
        events.append(out)
    return events


def main():
    os.makedirs(FIXTURES, exist_ok=True)
    cases = []
    for name, turns, graph, modes, subgraphs in CASES:
        cases.append(
            {
                "name": name,
                "turns": turns,
                "graph": graph,
                "modes": modes,
                "subgraphs": subgraphs,
                "events": run(turns, graph, modes, subgraphs),
            }
        )
    out = {"langgraph": langgraph.version.__version__, "cases": cases}
    with open(os.path.join(FIXTURES, "stream_messages.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
