//! sequential_1000 built from a spec whose nodes are `script`s, against the same chain written
//! in Rust (the bound: within 3× of native). `cargo bench -p stategraph-spec --bench
//! spec_scripts`.

use std::time::{Duration, Instant};

use serde_json::json;
use stategraph_core::{ChannelSpec, CompiledGraph, END, NodeError, RunConfig, START, Schema, StateGraph, sync_node};
use stategraph_spec::{GraphSpec, NodeKindRegistry, compile};

const N: usize = 1000;

fn spec_graph() -> CompiledGraph {
    let nodes: Vec<_> = (0..N)
        .map(|i| json!({"id": format!("n{i}"), "kind": "script", "config": {"code": "#{ count: state.count + 1 }"}}))
        .collect();
    let mut edges: Vec<_> =
        (1..N).map(|i| json!({"source": format!("n{}", i - 1), "target": format!("n{i}")})).collect();
    edges.push(json!({"source": format!("n{}", N - 1), "target": "__end__"}));
    let doc = json!({"version": 1, "name": "seq", "state": {"count": {"type": "integer", "default": 0}},
                     "nodes": nodes, "entry": "n0", "edges": edges});
    compile(&GraphSpec::from_json(&doc.to_string()).unwrap(), &NodeKindRegistry::with_builtins()).unwrap()
}

fn native_graph() -> CompiledGraph {
    let mut g = StateGraph::new(Schema::new().key("count", ChannelSpec::last_value().with_default(json!(0))));
    for i in 0..N {
        g.add_node(
            format!("n{i}"),
            sync_node(|s: stategraph_core::State, _c| Ok::<_, NodeError>(json!({"count": s.get_i64("count") + 1}))),
        );
    }
    g.add_edge(START, "n0");
    for i in 1..N {
        g.add_edge(format!("n{}", i - 1).as_str(), &format!("n{i}"));
    }
    g.add_edge(format!("n{}", N - 1).as_str(), END);
    g.compile().unwrap()
}

fn time(rt: &tokio::runtime::Runtime, graph: &CompiledGraph) -> Duration {
    let config = || {
        let mut config = RunConfig::default();
        config.recursion_limit = N + 10;
        config
    };
    let out = rt.block_on(graph.invoke(json!({"count": 0}), config())).unwrap();
    assert_eq!(out["count"], json!(N));
    let mut runs: Vec<Duration> = (0..15)
        .map(|_| {
            let start = Instant::now();
            rt.block_on(graph.invoke(json!({"count": 0}), config())).unwrap();
            start.elapsed()
        })
        .collect();
    runs.sort();
    runs[runs.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let native = time(&rt, &native_graph());
    let spec = time(&rt, &spec_graph());
    println!(
        "sequential_{N}: native {native:?}, spec with script nodes {spec:?}, ratio {:.2}",
        spec.as_secs_f64() / native.as_secs_f64()
    );
}
