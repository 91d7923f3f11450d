"""The benchmark shapes, built in Python LangGraph.

Each function returns ``(compiled_graph, input)``; given a checkpointer, the outer graph is
compiled with it (a subgraph inherits it, as in LangGraph). The Rust twins live in ``benches/shapes.rs``;
keep the two files in step (same nodes, edges, state keys, reducers, and data written), since
``compare.py`` checks that both produce the same final state.

The shapes follow LangGraph's own suite (``libs/langgraph/bench/``), with two deliberate changes:
inputs are deterministic (so outputs can be compared across languages), and ``react_agent`` uses
plain-dict messages with ``operator.add`` instead of ``create_react_agent`` and LangChain message
objects (an engine-only comparison). ``react_prebuilt`` is the same conversation through the
prebuilt agents of both sides: LangGraph's ``create_react_agent`` with langchain-core messages,
``add_messages``, ``ToolNode`` and a ``@tool``, against ``stategraph_prebuilt::create_react_agent``
(``benches/shapes/prebuilt.rs``).
"""

import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from random import choice
from typing import Annotated, Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool as lc_tool
from typing_extensions import TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

LETTERS = "abcdefghijklmnopqrstuvwxyz"
# Large enough for every shape; LangGraph's suite uses 10**9 too.
RECURSION_LIMIT = 1_000_000_000


def lcg_letters(count: int, length: int, seed: int = 12345) -> list[list[str]]:
    """Deterministic "random" letters; `shapes.rs::lcg_letters` computes the same sequence."""
    x = seed
    out = []
    for _ in range(count):
        s = []
        for _ in range(length):
            x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
            s.append(LETTERS[(x >> 33) % 26])
        out.append(s)
    return out


# --- sequential_N: a chain of N nodes, each appending its name and incrementing a counter ------


def sequential(n: int, checkpointer=None):
    class State(TypedDict):
        messages: Annotated[list, operator.add]
        count: Annotated[int, operator.add]

    builder = StateGraph(State)
    prev = START
    for i in range(n):
        name = f"node_{i}"

        def step(state: State, _name: str = name) -> dict:
            return {"messages": [_name], "count": 1}

        builder.add_node(name, step)
        builder.add_edge(prev, name)
        prev = name
    builder.add_edge(prev, END)
    return builder.compile(checkpointer=checkpointer), {"messages": [], "count": 0}


# --- fanout_static_100: one node with N plain edges to N workers, joined back into one node ----


def fanout_static(n: int, checkpointer=None):
    class State(TypedDict):
        results: Annotated[list, operator.add]
        total: int

    builder = StateGraph(State)

    def fan(state: State) -> dict:
        return {"results": ["fan"]}

    builder.add_node("fan", fan)
    builder.add_edge(START, "fan")
    workers = []
    for i in range(n):
        name = f"w_{i:03}"

        def work(state: State, _i: int = i) -> dict:
            return {"results": [_i]}

        builder.add_node(name, work)
        builder.add_edge("fan", name)
        workers.append(name)

    def join(state: State) -> dict:
        return {"total": sum(r for r in state["results"] if isinstance(r, int))}

    builder.add_node("join", join)
    builder.add_edge(workers, "join")
    builder.add_edge("join", END)
    return builder.compile(checkpointer=checkpointer), {"results": []}


# --- fanout_to_subgraph_Nx: LangGraph's shape; Send each subject to a 12-step subgraph ---------


def fanout_to_subgraph(n: int, checkpointer=None):
    class OverallState(TypedDict):
        subjects: list[str]
        jokes: Annotated[list[str], operator.add]

    def continue_to_jokes(state: OverallState):
        return [Send("generate_joke", {"subject": s}) for s in state["subjects"]]

    class JokeInput(TypedDict):
        subject: str

    class JokeOutput(TypedDict):
        jokes: list[str]

    class JokeState(JokeInput, JokeOutput): ...

    def bump(state: JokeOutput):
        return {"jokes": [state["jokes"][0] + " a"]}

    def generate(state: JokeInput):
        return {"jokes": [f"Joke about {state['subject']}"]}

    def edit(state: JokeInput):
        subject = state["subject"]
        return {"subject": f"{subject} - hohoho"}

    def bump_loop(state: JokeOutput):
        return END if state["jokes"][0].endswith(" a" * 10) else "bump"

    subgraph = StateGraph(JokeState, input_schema=JokeInput, output_schema=JokeOutput)
    subgraph.add_node("edit", edit)
    subgraph.add_node("generate", generate)
    subgraph.add_node("bump", bump)
    subgraph.set_entry_point("edit")
    subgraph.add_edge("edit", "generate")
    subgraph.add_edge("generate", "bump")
    subgraph.add_conditional_edges("bump", bump_loop)
    subgraph.set_finish_point("generate")
    subgraphc = subgraph.compile()

    builder = StateGraph(OverallState)
    builder.add_node("generate_joke", subgraphc)
    builder.add_conditional_edges(START, continue_to_jokes)
    builder.add_edge("generate_joke", END)
    return builder.compile(checkpointer=checkpointer), {"subjects": lcg_letters(n, 1000)}


# --- react_agent_Nx: a scripted model calls a tool N times, then answers -----------------------


def query_for(i: int) -> str:
    # 36 characters like the uuid4 of LangGraph's suite, repeated 100 times.
    return f"{i:036d}" * 100


def react_agent(n: int, checkpointer=None):
    class State(TypedDict):
        messages: Annotated[list, operator.add]

    # The fake model's scripted responses, built once (as LangGraph's FakeMessagesListChatModel).
    responses = [
        {
            "role": "ai",
            "id": f"ai-{i}",
            "content": "",
            "tool_calls": [{"id": f"call-{i}", "name": "search", "args": {"query": query_for(i)}}],
        }
        for i in range(n)
    ] + [{"role": "ai", "id": "ai-final", "content": "answer" * 100, "tool_calls": []}]

    def agent(state: State) -> dict:
        # One human message, then an (ai, tool) pair per round.
        i = (len(state["messages"]) - 1) // 2
        return {"messages": [dict(responses[min(i, n)])]}

    def tool(query: str) -> str:
        return f"result for query: {query}" * 10

    def tools(state: State) -> dict:
        last = state["messages"][-1]
        return {
            "messages": [
                {
                    "role": "tool",
                    "id": f"tool-{call['id']}",
                    "tool_call_id": call["id"],
                    "name": call["name"],
                    "content": tool(**call["args"]),
                }
                for call in last["tool_calls"]
            ]
        }

    def should_continue(state: State) -> str:
        return "tools" if state["messages"][-1]["tool_calls"] else END

    builder = StateGraph(State)
    builder.add_node("agent", agent)
    builder.add_node("tools", tools)
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", should_continue, ["tools", END])
    builder.add_edge("tools", "agent")
    return builder.compile(checkpointer=checkpointer), {"messages": [{"role": "human", "id": "human-0", "content": "hi?"}]}


# --- react_prebuilt_Nx: the same conversation through LangGraph's prebuilt ReAct agent ------------


class ScriptedChatModel(BaseChatModel):
    """A fake chat model answering from a script, like the Rust twin's ``BenchModel``: the answer
    is chosen by the length of the conversation (one human message, then an (ai, tool) pair
    per round), so the graph can be invoked again and again. ``bind_tools`` returns the model
    itself (``create_react_agent`` binds the tools; the script does not need them)."""

    responses: list[AIMessage]

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        i = min((len(messages) - 1) // 2, len(self.responses) - 1)
        return ChatResult(generations=[ChatGeneration(message=self.responses[i])])

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools, **kwargs):
        return self


@lc_tool
def search(query: str) -> str:
    """Searches for the query."""
    return f"result for query: {query}" * 10


def react_prebuilt(n: int, checkpointer=None):
    import warnings

    from langgraph.prebuilt import create_react_agent

    # Stategraph's ScriptedModel reports its name in `response_metadata`, as LangChain's provider
    # models do; the scripted messages carry the same on both sides.
    meta = {"model_name": "scripted"}
    responses = [
        AIMessage(
            content="",
            id=f"ai-{i}",
            tool_calls=[{"id": f"call-{i}", "name": "search", "args": {"query": query_for(i)}}],
            response_metadata=meta,
        )
        for i in range(n)
    ] + [AIMessage(content="answer" * 100, id="ai-final", response_metadata=meta)]
    with warnings.catch_warnings():
        # "create_react_agent has been moved to `langchain.agents`": langgraph 1.x keeps it.
        warnings.simplefilter("ignore")
        graph = create_react_agent(ScriptedChatModel(responses=responses), [search], checkpointer=checkpointer)
    return graph, {"messages": [HumanMessage("hi?", id="human-0")]}


# --- wide_state_KxN: LangGraph's shape, 16 keys with assorted reducers, looped until len > N ---


def wide_message(outer: int, inner: int) -> dict:
    return {
        str(i) * 10: {str(j) * 10: ["hi?" * 10, True, 1, 6327816386138, None] * 5 for j in range(inner)}
        for i in range(outer)
    }


def wide_state(n: int, outer: int, inner: int, checkpointer=None):
    @dataclass(kw_only=True)
    class State:
        messages: Annotated[list, operator.add] = field(default_factory=list)
        trigger_events: Annotated[list, operator.add] = field(default_factory=list)
        primary_issue_medium: Annotated[str, lambda x, y: y or x] = field(default="email")
        autoresponse: Annotated[dict | None, lambda _, y: y] = field(default=None)
        issue: Annotated[dict | None, lambda x, y: y if y else x] = field(default=None)
        relevant_rules: list[dict] | None = field(default=None)
        memory_docs: list[dict] | None = field(default=None)
        categorizations: Annotated[list[dict], operator.add] = field(default_factory=list)
        responses: Annotated[list[dict], operator.add] = field(default_factory=list)
        user_info: Annotated[dict | None, lambda x, y: y if y is not None else x] = field(default=None)
        crm_info: Annotated[dict | None, lambda x, y: y if y is not None else x] = field(default=None)
        email_thread_id: Annotated[str | None, lambda x, y: y if y is not None else x] = field(default=None)
        slack_participants: Annotated[dict, operator.or_] = field(default_factory=dict)
        bot_id: str | None = field(default=None)
        notified_assignees: Annotated[dict, operator.or_] = field(default_factory=dict)

    list_fields = {"messages", "trigger_events", "categorizations", "responses", "memory_docs", "relevant_rules"}
    dict_fields = {"user_info", "crm_info", "slack_participants", "notified_assignees", "autoresponse", "issue"}

    def read_write(read: str, write: Sequence[str], input: State) -> dict:
        val = getattr(input, read)
        val = {val: val} if isinstance(val, str) else val
        val_single = val[-1] if isinstance(val, list) else val
        val_list = val if isinstance(val, list) else [val]
        return {
            k: val_list
            if k in list_fields
            else val_single
            if k in dict_fields
            else "".join(choice(LETTERS) for _ in range(n))
            for k in write
        }

    builder = StateGraph(State)
    builder.add_edge(START, "one")
    builder.add_node("one", partial(read_write, "messages", ["trigger_events", "primary_issue_medium"]))
    builder.add_edge("one", "two")
    builder.add_node("two", partial(read_write, "trigger_events", ["autoresponse", "issue"]))
    builder.add_edge("two", "three")
    builder.add_edge("two", "four")
    builder.add_node("three", partial(read_write, "autoresponse", ["relevant_rules"]))
    builder.add_node(
        "four", partial(read_write, "trigger_events", ["categorizations", "responses", "memory_docs"])
    )
    builder.add_node(
        "five",
        partial(
            read_write,
            "categorizations",
            ["user_info", "crm_info", "email_thread_id", "slack_participants", "bot_id", "notified_assignees"],
        ),
    )
    builder.add_edge(["three", "four"], "five")
    builder.add_edge("five", "six")
    builder.add_node("six", partial(read_write, "responses", ["messages"]))
    builder.add_conditional_edges("six", lambda state: END if len(state.messages) > n else "one")
    return builder.compile(checkpointer=checkpointer), {"messages": [wide_message(outer, inner)]}


# Keys whose values are random strings of a given length (compared by length only).
RANDOM_STRING_KEYS = ("primary_issue_medium", "email_thread_id", "bot_id")

# Shapes timed with a saver by default (`compare.py --savers` without shape names): the
# react_prebuilt shapes run with a saver only when named.
SAVER_SHAPES = [
    "sequential_10", "sequential_1000", "fanout_static_100", "fanout_to_subgraph_10x",
    "fanout_to_subgraph_100x", "react_agent_10x", "react_agent_100x", "wide_state_25x300", "wide_state_15x600",
]

# name -> f(checkpointer=None) -> (compiled graph, input)
SHAPES: dict[str, Any] = {
    "sequential_10": lambda cp=None: sequential(10, cp),
    "sequential_1000": lambda cp=None: sequential(1000, cp),
    "fanout_static_100": lambda cp=None: fanout_static(100, cp),
    "fanout_to_subgraph_10x": lambda cp=None: fanout_to_subgraph(10, cp),
    "fanout_to_subgraph_100x": lambda cp=None: fanout_to_subgraph(100, cp),
    "react_agent_10x": lambda cp=None: react_agent(10, cp),
    "react_agent_100x": lambda cp=None: react_agent(100, cp),
    "react_prebuilt_10x": lambda cp=None: react_prebuilt(10, cp),
    "react_prebuilt_100x": lambda cp=None: react_prebuilt(100, cp),
    "wide_state_25x300": lambda cp=None: wide_state(300, 5, 5, cp),
    "wide_state_15x600": lambda cp=None: wide_state(600, 3, 5, cp),
}
