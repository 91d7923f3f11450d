//! Drawings: `draw_mermaid` must produce exactly the text Python LangGraph's
//! `get_graph().draw_mermaid()` produces for the same graph (fixtures in `tests/draw/`, recorded by
//! `tests/draw/record.py`, which builds the same graphs as the functions below); `draw_ascii` is
//! pinned by exact strings.

use std::path::Path;

use serde_json::{Value, json};
use stategraph::graph::{CurveStyle, MermaidOptions};
use stategraph::{CompileOptions, CompiledGraph, END, NodeError, NodeOptions, PathMap, START, Schema, StateGraph};

fn graph(nodes: &[&str]) -> StateGraph {
    let mut g = StateGraph::new(Schema::new().last_value("x"));
    for n in nodes {
        g.add_node(*n, |_s, _ctx| async { Ok::<_, NodeError>(json!({})) });
    }
    g
}

fn noop() -> impl stategraph::Node {
    |_s, _ctx| async { Ok::<_, NodeError>(json!({})) }
}

/// Routers are never called when drawing.
fn route(_: &stategraph::State) -> &'static str {
    unreachable!("drawing does not run routers")
}

#[track_caller]
fn assert_fixture(name: &str, ours: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/draw").join(format!("{name}.mmd"));
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e} (run tests/draw/record.py)", path.display()));
    assert!(ours == expected, "{name}: drawing differs from LangGraph's\n--- ours\n{ours}\n--- LangGraph\n{expected}");
}

/// Both drawings of `graph` match LangGraph's: the Mermaid text (`<name>.mmd`) and the drawable
/// graph's JSON (`<name>.json`, what `GET /assistants/{id}/graph` returns).
#[track_caller]
fn assert_drawn(name: &str, graph: &CompiledGraph, options: MermaidOptions) {
    let xray = options.xray;
    assert_fixture(name, &graph.draw_mermaid_with(options));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/draw").join(format!("{name}.json"));
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run tests/draw/record.py)", path.display())),
    )
    .unwrap();
    let ours = graph.graph_json(xray);
    assert!(
        ours == expected,
        "{name}: graph JSON differs from LangGraph's\n--- ours\n{ours:#}\n--- LangGraph\n{expected:#}"
    );
}

fn sequence() -> CompiledGraph {
    let mut g = graph(&["a", "b", "c"]);
    g.add_edge(START, "a").add_edge("a", "b").add_edge("b", "c").add_edge("c", END);
    g.compile().unwrap()
}

fn fan_out_join() -> CompiledGraph {
    let mut g = graph(&["fetch", "left", "right", "merge"]);
    g.add_edge(START, "fetch")
        .add_edge("fetch", "left")
        .add_edge("fetch", "right")
        .add_edge(["left", "right"], "merge")
        .add_edge("merge", END);
    g.compile().unwrap()
}

fn conditional_labels() -> CompiledGraph {
    let mut g = graph(&["classify", "accept", "reject"]);
    g.add_edge(START, "classify")
        .add_conditional_edges("classify", route, [("yes", "accept"), ("no", "reject"), ("give up", END)])
        .add_edge("accept", END)
        .add_edge("reject", END);
    g.compile().unwrap()
}

fn conditional_no_map() -> CompiledGraph {
    let mut g = graph(&["router", "a", "b"]);
    g.add_edge(START, "router")
        .add_conditional_edges("router", route, PathMap::none())
        .add_edge("a", END)
        .add_edge("b", END);
    g.compile().unwrap()
}

fn loop_exit() -> CompiledGraph {
    let mut g = graph(&["agent", "tools"]);
    g.add_edge(START, "agent")
        .add_conditional_edges("agent", route, [("continue", "tools"), ("done", END)])
        .add_edge("tools", "agent");
    g.compile().unwrap()
}

fn command_destinations() -> CompiledGraph {
    let mut g = StateGraph::new(Schema::new().last_value("x"));
    g.add_node_with("triage", noop(), NodeOptions::new().destinations(["billing", "support", END]))
        .add_node("billing", noop())
        .add_node("support", noop())
        .add_edge(START, "triage")
        .add_edge("billing", END)
        .add_edge("support", END);
    g.compile().unwrap()
}

fn with_subgraph() -> CompiledGraph {
    let mut inner = graph(&["inner_a", "inner_b"]);
    inner.add_edge(START, "inner_a").add_edge("inner_a", "inner_b").add_edge("inner_b", END);
    let mut g = StateGraph::new(Schema::new().last_value("x"));
    g.add_node("prep", noop())
        .add_node("inner", inner.compile().unwrap())
        .add_node("finish", noop())
        .add_edge(START, "prep")
        .add_edge("prep", "inner")
        .add_edge("inner", "finish")
        .add_edge("finish", END);
    g.compile().unwrap()
}

fn odd_names() -> CompiledGraph {
    let mut g = graph(&["look up", "answer?", "_private_"]);
    g.add_edge(START, "look up")
        .add_conditional_edges(
            "look up",
            route,
            [("the answer was found in the index so we can reply right away", "answer?"), ("nothing", "_private_")],
        )
        .add_edge("answer?", END)
        .add_edge("_private_", END);
    g.compile().unwrap()
}

#[test]
fn mermaid_sequence() {
    assert_drawn("sequence", &sequence(), MermaidOptions::default());
}

#[test]
fn mermaid_fan_out_join() {
    assert_drawn("fan_out_join", &fan_out_join(), MermaidOptions::default());
}

#[test]
fn mermaid_uneven_join() {
    let mut g = graph(&["split", "fast", "slow_1", "slow_2", "merge"]);
    g.add_edge(START, "split")
        .add_edge("split", "fast")
        .add_edge("split", "slow_1")
        .add_edge("slow_1", "slow_2")
        .add_edge(["fast", "slow_2"], "merge")
        .add_edge("merge", END);
    assert_drawn("uneven_join", &g.compile().unwrap(), MermaidOptions::default());
}

#[test]
fn mermaid_conditional_labels() {
    assert_drawn("conditional_labels", &conditional_labels(), MermaidOptions::default());
}

#[test]
fn mermaid_conditional_list() {
    let mut g = graph(&["plan", "fast", "slow"]);
    g.add_edge(START, "plan")
        .add_conditional_edges("plan", route, ["fast", "slow", END])
        .add_edge("fast", END)
        .add_edge("slow", END);
    assert_drawn("conditional_list", &g.compile().unwrap(), MermaidOptions::default());
}

#[test]
fn mermaid_conditional_no_map() {
    assert_drawn("conditional_no_map", &conditional_no_map(), MermaidOptions::default());
}

#[test]
fn mermaid_conditional_from_start() {
    let mut g = graph(&["small", "large"]);
    g.add_conditional_edges(START, route, [("size <= 10", "small"), ("size > 10", "large")])
        .add_edge("small", END)
        .add_edge("large", END);
    assert_drawn("conditional_from_start", &g.compile().unwrap(), MermaidOptions::default());
}

#[test]
fn mermaid_loop_exit() {
    assert_drawn("loop_exit", &loop_exit(), MermaidOptions::default());
}

#[test]
fn mermaid_plain_cycle() {
    let mut g = graph(&["write", "review", "publish"]);
    g.add_edge(START, "write")
        .add_edge("write", "review")
        .add_edge("review", "write")
        .add_conditional_edges("review", route, [("approved", "publish"), ("rejected", "write")])
        .add_edge("publish", END);
    assert_drawn("plain_cycle", &g.compile().unwrap(), MermaidOptions::default());
}

#[test]
fn mermaid_self_loop() {
    let mut g = graph(&["a", "b"]);
    g.add_edge(START, "a").add_conditional_edges("a", route, [("again", "a"), ("next", "b")]).add_edge("b", END);
    assert_drawn("self_loop", &g.compile().unwrap(), MermaidOptions::default());
}

#[test]
fn mermaid_command_destinations() {
    assert_drawn("command_destinations", &command_destinations(), MermaidOptions::default());
}

#[test]
fn mermaid_subgraph() {
    assert_drawn("subgraph", &with_subgraph(), MermaidOptions::default());
}

#[test]
fn mermaid_subgraph_xray() {
    let options = MermaidOptions { xray: true, ..MermaidOptions::default() };
    assert_drawn("subgraph_xray", &with_subgraph(), options);
}

#[test]
fn mermaid_nested_xray() {
    let mut deep = graph(&["x", "y"]);
    deep.add_edge(START, "x").add_edge(START, "y").add_edge("x", END).add_edge("y", END);
    let mut middle = graph(&["m1"]);
    middle.add_node("deep", deep.compile().unwrap()).add_edge(START, "m1").add_edge("m1", "deep").add_edge("deep", END);
    let mut outer = StateGraph::new(Schema::new().last_value("x"));
    outer
        .add_node("middle", middle.compile().unwrap())
        .add_node("after", noop())
        .add_edge(START, "middle")
        .add_edge("middle", "after")
        .add_edge("after", END);
    let options = MermaidOptions { xray: true, ..MermaidOptions::default() };
    assert_drawn("nested_xray", &outer.compile().unwrap(), options);
}

#[test]
fn mermaid_defer_metadata() {
    let start = NodeOptions::new()
        .metadata("owner", "ops#1")
        .metadata("retries", 3)
        .metadata("tags", json!(["a", "b"]))
        .metadata("ratio", 0.5);
    let mut g = StateGraph::new(Schema::new().last_value("x"));
    g.add_node_with("start", noop(), start)
        .add_node("short", noop())
        .add_node("long_1", noop())
        .add_node("long_2", noop())
        .add_node_with("collect", noop(), NodeOptions::new().defer())
        .add_edge(START, "start")
        .add_edge("start", "short")
        .add_edge("start", "long_1")
        .add_edge("long_1", "long_2")
        .add_edge("short", "collect")
        .add_edge("long_2", "collect")
        .add_edge("collect", END);
    assert_drawn("defer_metadata", &g.compile().unwrap(), MermaidOptions::default());
}

/// Static breakpoints show as LangGraph marks them: `__interrupt = before`, `after` or both.
#[test]
fn mermaid_static_breakpoints() {
    let mut g = StateGraph::new(Schema::new().last_value("x"));
    g.add_node_with("a", noop(), NodeOptions::new().metadata("owner", "ops"))
        .add_node("b", noop())
        .add_node("c", noop())
        .add_node("d", noop())
        .add_edge(START, "a")
        .add_edge("a", "b")
        .add_edge("b", "c")
        .add_edge("c", "d")
        .add_edge("d", END);
    let options = CompileOptions::default().interrupt_before(["a", "c"]).interrupt_after(["b", "c"]);
    assert_drawn("static_breakpoints", &g.compile_with(options).unwrap(), MermaidOptions::default());
}

#[test]
fn mermaid_odd_names_no_styles() {
    let options = MermaidOptions { xray: false, curve_style: CurveStyle::Basis, with_styles: false };
    assert_drawn("odd_names_no_styles", &odd_names(), options);
}

#[test]
fn mermaid_odd_names_basis() {
    let options = MermaidOptions { curve_style: CurveStyle::Basis, ..MermaidOptions::default() };
    assert_drawn("odd_names_basis", &odd_names(), options);
}

/// Rebuilds a graph of `tests/draw/random_graphs.json` (format in `record.py`).
fn from_spec(spec: &Value) -> Result<CompiledGraph, stategraph::Error> {
    let strings =
        |v: &Value| -> Vec<String> { v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect() };
    let mut g = StateGraph::new(Schema::new().last_value("x"));
    for n in spec["nodes"].as_array().unwrap() {
        let mut options = NodeOptions::new().destinations(strings(&n["destinations"]));
        if n["defer"].as_bool().unwrap() {
            options = options.defer();
        }
        g.add_node_with(n["name"].as_str().unwrap(), noop(), options);
    }
    for e in spec["edges"].as_array().unwrap() {
        g.add_edge(e[0].as_str().unwrap(), e[1].as_str().unwrap());
    }
    for j in spec["joins"].as_array().unwrap() {
        g.add_edge(strings(&j[0]), j[1].as_str().unwrap());
    }
    for b in spec["branches"].as_array().unwrap() {
        let path_map = match &b["path_map"] {
            Value::Null => PathMap::none(),
            Value::Array(items) if items.first().is_some_and(Value::is_array) => PathMap::labels(
                items.iter().map(|p| (p[0].as_str().unwrap().to_owned(), p[1].as_str().unwrap().to_owned())),
            ),
            targets => PathMap::nodes(strings(targets)),
        };
        g.add_conditional_edges(b["source"].as_str().unwrap(), route, path_map);
    }
    // LangGraph accepts nodes nothing leads to; so does this check.
    g.compile_with(CompileOptions { allow_unreachable: true, ..CompileOptions::default() })
}

#[test]
fn mermaid_random_graphs() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/draw/random_graphs.json");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(cases.len() >= 100, "{} holds too few graphs", path.display());
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let expected = case["mermaid"].as_str().unwrap();
        match from_spec(&case["spec"]) {
            Err(e) => failures.push(format!("graph {i}: does not compile: {e}\n{}", case["spec"])),
            Ok(g) if g.draw_mermaid() != expected => failures.push(format!(
                "graph {i}: {}\n--- ours\n{}\n--- LangGraph\n{expected}",
                case["spec"],
                g.draw_mermaid()
            )),
            Ok(_) => {}
        }
    }
    let summary: Vec<&str> = failures.iter().filter_map(|f| f.lines().next()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} graphs differ from LangGraph:\n{}\n\nfirst:\n{}",
        failures.len(),
        cases.len(),
        summary.join("\n"),
        failures[0]
    );
}

#[test]
fn ascii_fan_out_join() {
    assert_eq!(
        fan_out_join().draw_ascii(),
        "\
__start__
  --> fetch
fetch
  --> left
  --> right
left
  ==> merge  (join: left + right)
right
  ==> merge  (join: left + right)
merge
  --> __end__
__end__
arrows: --> edge, ==> join (the target waits for all its sources)
"
    );
}

#[test]
fn ascii_conditional_edges_and_commands() {
    let mut g = StateGraph::new(Schema::new().last_value("x"));
    g.add_node_with("triage", noop(), NodeOptions::new().destinations(["billing", END]))
        .add_node("billing", noop())
        .add_node("review", noop())
        .add_node("router", noop())
        .add_node("anywhere", noop())
        .add_edge(START, "triage")
        .add_conditional_edges("billing", route, [("needs review", "review"), ("router", "router")])
        .add_conditional_edges("router", route, PathMap::none())
        .add_edge("review", "triage")
        .add_edge("anywhere", END);
    assert_eq!(
        g.compile().unwrap().draw_ascii(),
        "\
__start__
  --> triage
triage
  ~~> billing
  ~~> __end__
billing
  -.-> review  [needs review]
  -.-> router
review
  --> triage  (loops back)
router
  -.-> ?  (no path map: the router decides)
anywhere
  --> __end__
__end__
arrows: --> edge, -.-> conditional edge, ~~> Command destination
"
    );
}

#[test]
fn ascii_subgraph_and_defer() {
    let mut inner = graph(&["inner_a"]);
    inner.add_edge(START, "inner_a").add_edge("inner_a", END);
    let mut g = StateGraph::new(Schema::new().last_value("x"));
    g.add_node("inner", inner.compile().unwrap())
        .add_node_with("last", noop(), NodeOptions::new().defer())
        .add_edge(START, "inner")
        .add_edge("inner", "last")
        .add_edge("last", END);
    assert_eq!(
        g.compile().unwrap().draw_ascii(),
        "\
__start__
  --> inner
inner  [subgraph]
  | __start__
  |   --> inner_a
  | inner_a
  |   --> __end__
  | __end__
  --> last
last  [defer]
  --> __end__
__end__
arrows: --> edge
"
    );
}

#[test]
fn ascii_self_loop() {
    let mut g = graph(&["a"]);
    g.add_edge(START, "a").add_conditional_edges("a", route, [("again", "a"), ("stop", END)]);
    assert_eq!(
        g.compile().unwrap().draw_ascii(),
        "\
__start__
  --> a
a
  -.-> a        [again]  (loops back)
  -.-> __end__  [stop]
__end__
arrows: --> edge, -.-> conditional edge
"
    );
}
