//! Compile-time validation: every invalid graph is rejected by `compile()` with an error that
//! names the node or edge. Messages are snapshot-tested so wording changes are deliberate.

use serde_json::json;
use stategraph::prelude::*;
use stategraph::{CompileOptions, NodeError};

fn noop() -> impl stategraph::Node {
    |_s: State, _c: NodeContext| async { Ok::<_, NodeError>(json!({})) }
}

fn schema() -> Schema {
    Schema::new().last_value("x")
}

fn compile_err(build: impl FnOnce(&mut StateGraph)) -> String {
    let mut g = StateGraph::new(schema());
    build(&mut g);
    let err = g.compile().expect_err("graph should be rejected");
    format!("{} | {}", err.code(), err)
}

#[test]
fn compile_errors_name_the_culprit() {
    let cases: Vec<(&str, String)> = vec![
        (
            "unknown_target",
            compile_err(|g| {
                g.add_node("a", noop()).add_edge(START, "a").add_edge("a", "nope");
            }),
        ),
        (
            "unknown_source",
            compile_err(|g| {
                g.add_node("a", noop()).add_edge(START, "a").add_edge("ghost", "a");
            }),
        ),
        (
            "no_entry",
            compile_err(|g| {
                g.add_node("a", noop()).add_edge("a", END);
            }),
        ),
        (
            "reserved_start",
            compile_err(|g| {
                g.add_node(START, noop());
            }),
        ),
        (
            "reserved_char",
            compile_err(|g| {
                g.add_node("a:b", noop()).add_edge(START, "a:b");
            }),
        ),
        (
            "duplicate_node",
            compile_err(|g| {
                g.add_node("a", noop()).add_node("a", noop()).add_edge(START, "a");
            }),
        ),
        (
            "unreachable",
            compile_err(|g| {
                g.add_node("a", noop()).add_node("island", noop()).add_edge(START, "a").add_edge("island", END);
            }),
        ),
        (
            "loop_without_exit",
            compile_err(|g| {
                g.add_node("a", noop())
                    .add_node("b", noop())
                    .add_node("c", noop())
                    .add_edge(START, "a")
                    .add_edge("a", "b")
                    .add_edge("b", "c")
                    .add_edge("c", "b");
            }),
        ),
        (
            "self_loop_without_exit",
            compile_err(|g| {
                g.add_node("a", noop()).add_edge(START, "a").add_edge("a", "a");
            }),
        ),
        (
            "path_map_unknown",
            compile_err(|g| {
                g.add_node("a", noop()).add_edge(START, "a").add_conditional_edges(
                    "a",
                    |_s: &State| "x",
                    [("x", "nowhere")],
                );
            }),
        ),
        (
            "edge_from_end",
            compile_err(|g| {
                g.add_node("a", noop()).add_edge(START, "a").add_edge(END, "a");
            }),
        ),
        (
            "edge_to_start",
            compile_err(|g| {
                g.add_node("a", noop()).add_edge(START, "a").add_edge("a", START);
            }),
        ),
        (
            "join_unknown_source",
            compile_err(|g| {
                g.add_node("a", noop()).add_node("c", noop()).add_edge(START, "a").add_edge(["a", "zz"], "c");
            }),
        ),
        (
            "unknown_destination",
            compile_err(|g| {
                g.add_node_with("a", noop(), NodeOptions::new().destinations(["zz"])).add_edge(START, "a");
            }),
        ),
    ];
    let text: String = cases.iter().map(|(name, msg)| format!("{name}: {msg}\n")).collect();
    insta::assert_snapshot!(text);
}

#[test]
fn loops_with_an_exit_compile() {
    // A loop with a conditional edge can leave it; a loop that can reach END is left to the
    // recursion limit (as in LangGraph).
    let mut g = StateGraph::new(schema());
    g.add_node("a", noop()).add_node("b", noop()).add_edge(START, "a").add_edge("a", "b").add_conditional_edges(
        "b",
        |_s: &State| END,
        ["a", END],
    );
    g.compile().expect("conditional exit");

    let mut g = StateGraph::new(schema());
    g.add_node("a", noop())
        .add_node("b", noop())
        .add_edge(START, "a")
        .add_edge("a", "b")
        .add_edge("b", "a")
        .add_edge("b", END);
    g.compile().expect("path to END");
}

#[test]
fn unreachable_nodes_can_be_allowed_or_declared() {
    let mut g = StateGraph::new(schema());
    g.add_node("a", noop()).add_node("b", noop()).add_edge(START, "a");
    assert_eq!(g.compile().unwrap_err().code(), "SG006");
    g.compile_with(CompileOptions { allow_unreachable: true, ..Default::default() }).expect("allowed");

    let mut g = StateGraph::new(schema());
    g.add_node_with("a", noop(), NodeOptions::new().destinations(["b"])).add_node("b", noop()).add_edge(START, "a");
    g.compile().expect("b is a declared Command destination");

    // A router without a path map can go anywhere, so nothing is called unreachable.
    let mut g = StateGraph::new(schema());
    g.add_node("a", noop()).add_node("b", noop()).add_edge(START, "a").add_conditional_edges("a", |_s: &State| "b", ());
    g.compile().expect("dynamic router");
}
