"""Graphs for the studio's e2e against a Python `langgraph dev` server (scripts/ci/e2e-langgraph-dev.sh).

`steps`: four nodes in a row (the studio steps through them); `approval`: pauses with an Agent
Inbox `HumanInterrupt` and acts on the answer (accept / edit / response / ignore).
"""

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt


class Steps(TypedDict, total=False):
    count: int
    log: Annotated[list, operator.add]


def a(s: Steps) -> Steps:
    return {"count": s.get("count", 0) + 1, "log": ["a"]}


def b(s: Steps) -> Steps:
    return {"count": s["count"] + 10, "log": ["b"]}


def c(s: Steps) -> Steps:
    return {"count": s["count"] * 2, "log": ["c"]}


def d(s: Steps) -> Steps:
    return {"count": s["count"] - 1, "log": ["d"]}


_g = StateGraph(Steps)
for _name, _fn in (("a", a), ("b", b), ("c", c), ("d", d)):
    _g.add_node(_name, _fn)
_g.add_edge(START, "a")
_g.add_edge("a", "b")
_g.add_edge("b", "c")
_g.add_edge("c", "d")
_g.add_edge("d", END)
steps = _g.compile()


class Approval(TypedDict, total=False):
    request: str
    replicas: int
    decision: dict
    log: Annotated[list, operator.add]


def propose(s: Approval) -> Approval:
    return {"log": [f"proposed:{s['request']}"]}


def review(s: Approval) -> Approval:
    answer: Any = interrupt(
        [
            {
                "action_request": {"action": "deploy", "args": {"target": s["request"], "replicas": s.get("replicas", 2)}},
                "config": {"allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": True},
                "description": f"Deploy {s['request']}?",
            }
        ]
    )
    if isinstance(answer, list):
        answer = answer[0]
    out: Approval = {"decision": answer}
    if answer.get("type") == "edit":
        out["replicas"] = answer["args"]["args"]["replicas"]
    return out


def act(s: Approval) -> Approval:
    kind = s["decision"].get("type")
    return {"log": [f"{kind}:{s['request']}x{s.get('replicas', 2)}"]}


_a = StateGraph(Approval)
_a.add_node("propose", propose)
_a.add_node("review", review)
_a.add_node("act", act)
_a.add_edge(START, "propose")
_a.add_edge("propose", "review")
_a.add_edge("review", "act")
_a.add_edge("act", END)
approval = _a.compile()
