//! Random graphs: whatever the shape — edges, joins, conditional edges with and without path
//! maps, `Command` gotos, `Send` fan-out, deferred nodes — compiling and running never panics,
//! every run ends in a value or a typed error, and the streams agree with each other and with
//! `invoke`.

use futures::StreamExt;
use proptest::prelude::*;
use serde_json::json;
use stategraph::prelude::*;
use stategraph::{CompileOptions, Goto, NodeError, Send, StreamEvent};

#[derive(Debug, Clone)]
enum Behaviour {
    Append,
    Goto(usize),
    SendTo(usize),
    Fail,
}

#[derive(Debug, Clone)]
struct Spec {
    nodes: Vec<(Behaviour, bool)>,
    edges: Vec<(usize, usize)>,
    joins: Vec<(Vec<usize>, usize)>,
    branches: Vec<(usize, Vec<usize>, bool)>,
}

/// Index 0 is START, 1..=n are nodes, n+1 is END.
fn name(i: usize, n: usize) -> String {
    if i == 0 {
        START.to_owned()
    } else if i > n {
        END.to_owned()
    } else {
        format!("n{i}")
    }
}

fn spec() -> impl Strategy<Value = Spec> {
    (1usize..6).prop_flat_map(|n| {
        let behaviour = prop_oneof![
            4 => Just(Behaviour::Append),
            1 => (1..=n).prop_map(Behaviour::Goto),
            1 => (1..=n).prop_map(Behaviour::SendTo),
            1 => Just(Behaviour::Fail),
        ];
        (
            proptest::collection::vec((behaviour, proptest::bool::weighted(0.15)), n),
            proptest::collection::vec((0..=n, 1..=n + 1), 0..8),
            proptest::collection::vec((proptest::collection::vec(1..=n, 1..3), 1..=n), 0..2),
            proptest::collection::vec((0..=n, proptest::collection::vec(1..=n + 1, 1..4), any::<bool>()), 0..3),
        )
            .prop_map(|(nodes, edges, joins, branches)| Spec { nodes, edges, joins, branches })
    })
}

fn build(spec: &Spec) -> stategraph::Result<CompiledGraph> {
    let n = spec.nodes.len();
    let schema = Schema::new()
        .key("log", ChannelSpec::reducer(Reducer::add()).with_default(json!([])))
        .key("count", ChannelSpec::reducer(Reducer::add()).with_default(json!(0)));
    let mut g = StateGraph::new(schema);
    for (i, (behaviour, defer)) in spec.nodes.iter().enumerate() {
        let me = name(i + 1, n);
        let behaviour = behaviour.clone();
        let label = me.clone();
        let node = move |_s: State, ctx: NodeContext| {
            let behaviour = behaviour.clone();
            let label = label.clone();
            async move {
                let update = json!({"log": [label], "count": 1});
                match behaviour {
                    Behaviour::Append => Ok(NodeOutput::from(update)),
                    // Only the first attempt of a Send task fans out again, so runs stay finite.
                    Behaviour::Goto(t) => Ok(NodeOutput::Command(Command::new().update(update).goto(name(t, n)))),
                    Behaviour::SendTo(t) if ctx.step() < 4 => Ok(NodeOutput::Command(
                        Command::new().update(update).goto(Send::new(name(t, n), json!({"from": ctx.node()}))),
                    )),
                    Behaviour::SendTo(_) => Ok(NodeOutput::from(update)),
                    Behaviour::Fail => Err(NodeError::permanent("planned failure").with_kind("ValueError")),
                }
            }
        };
        let options = if *defer { NodeOptions::new().defer() } else { NodeOptions::new() };
        g.add_node_with(me, node, options);
    }
    for (s, t) in &spec.edges {
        g.add_edge(name(*s, n).as_str(), &name(*t, n));
    }
    for (sources, t) in &spec.joins {
        let mut sources: Vec<String> = sources.iter().map(|s| name(*s, n)).collect();
        sources.dedup();
        g.add_edge(sources, &name(*t, n));
    }
    for (source, targets, mapped) in &spec.branches {
        let targets: Vec<String> = targets.iter().map(|t| name(*t, n)).collect();
        let choices = targets.clone();
        let router = move |s: &State| {
            // Deterministic but state-dependent: walks through the choices as the count grows.
            let i = s.get_i64("count") as usize % choices.len();
            Route(vec![Goto::Node(choices[i].clone())])
        };
        let map = if *mapped { PathMap::nodes(targets) } else { PathMap::none() };
        g.add_conditional_edges(&name(*source, n), router, map);
    }
    g.compile_with(CompileOptions { allow_unreachable: true, ..Default::default() })
}

async fn collect(graph: &CompiledGraph, modes: &[StreamMode]) -> (Vec<StreamEvent>, Option<stategraph::Error>) {
    let mut stream = graph.stream(
        json!({}),
        RunConfig::default().with_recursion_limit(40),
        StreamOptions::modes(modes.iter().copied()),
    );
    let mut events = Vec::new();
    let mut error = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(e) => events.push(e),
            Err(e) => error = Some(e),
        }
    }
    (events, error)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn random_graphs_run_without_panics_and_streams_agree(spec in spec()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let Ok(graph) = build(&spec) else { return Ok(()) };
            let invoked = graph.invoke(json!({}), RunConfig::default().with_recursion_limit(40)).await;
            let (events, error) = collect(&graph, &[StreamMode::Values, StreamMode::Updates, StreamMode::Tasks]).await;
            // Same graph, same input: the same outcome either way.
            prop_assert_eq!(invoked.is_ok(), error.is_none(), "invoke {:?} vs stream {:?}", invoked, error);
            if let Some(e) = &error {
                prop_assert!(e.code().starts_with("SG"), "{e}");
            }
            let values: Vec<&StreamEvent> = events.iter().filter(|e| e.mode == StreamMode::Values).collect();
            if let (Ok(out), Some(last)) = (&invoked, values.last()) {
                prop_assert_eq!(out, &last.data, "invoke returns the last values chunk");
            }
            // Every task start has one result, and every successful result one updates chunk.
            let starts = events.iter().filter(|e| e.mode == StreamMode::Tasks && e.data.get("input").is_some()).count();
            let results: Vec<&StreamEvent> =
                events.iter().filter(|e| e.mode == StreamMode::Tasks && e.data.get("result").is_some()).collect();
            prop_assert_eq!(starts, results.len());
            let ok_results = results.iter().filter(|e| e.data["error"].is_null()).count();
            let updates = events.iter().filter(|e| e.mode == StreamMode::Updates).count();
            prop_assert_eq!(ok_results, updates);
            // The log records exactly the successful node runs.
            if let Ok(out) = &invoked {
                let logged = out["log"].as_array().map_or(0, Vec::len);
                prop_assert_eq!(logged, updates, "{}", out);
                prop_assert_eq!(out["count"].as_u64(), Some(updates as u64));
            }
            Ok(())
        })?;
    }
}
