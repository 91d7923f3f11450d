//! Per-run breakpoints (conditions over state, edges, stepping, subgraphs) over memory, SQLite and
//! PostgreSQL: the studio's step-through debugger stands on these.

mod support {
    pub mod backends;
}

use stategraph::checkpoint::{CheckpointConfig, Checkpointer};
use stategraph::prelude::*;
use stategraph::{Breakpoint, sync_node};
use std::sync::Arc;
use support::backends::{backends, thread};

fn count(state: &Value) -> i64 {
    state.get("count").and_then(Value::as_i64).unwrap_or(0)
}

/// START -> inc -> (count < 6 ? inc : END); `log` records every step.
fn counter(saver: Arc<dyn Checkpointer>) -> CompiledGraph {
    let schema =
        Schema::new().key("count", ChannelSpec::last_value()).key("log", ChannelSpec::reducer(Reducer::extend()));
    let mut g = StateGraph::new(schema);
    g.add_node(
        "inc",
        sync_node(|s: State, _c: NodeContext| {
            let n = count(&s.to_value()) + 1;
            Ok::<Value, NodeError>(value!({"count": n, "log": [format!("inc{n}")]}))
        }),
    );
    g.add_edge(START, "inc");
    g.add_conditional_edges(
        "inc",
        |s: &State| if count(&s.to_value()) < 6 { "inc".to_owned() } else { END.to_owned() },
        PathMap::none(),
    );
    g.compile_with(CompileOptions::with_checkpointer(saver)).unwrap()
}

async fn state_of(graph: &CompiledGraph, t: &str) -> (i64, Vec<String>) {
    let snap = graph.get_state(&CheckpointConfig::thread(t)).await.unwrap();
    (count(&snap.values), snap.next)
}

#[tokio::test]
async fn a_conditional_breakpoint_stops_when_its_condition_first_holds_and_each_time_after() {
    for b in backends("bp_conditional").await {
        let graph = counter(b.saver.clone());
        let t = thread("bp_conditional");
        let config =
            RunConfig::new().with_thread(&t).with_breakpoint(Breakpoint::before("inc").when(|s: &Value| count(s) > 3));
        graph.invoke(value!({"count": 0}), config.clone()).await.unwrap();
        assert_eq!(state_of(&graph, &t).await, (4, vec!["inc".to_owned()]), "{}: paused before inc at count 4", b.name);
        // Resuming does not fire at the place it resumes from; the next hit fires again.
        graph.invoke(Value::Null, config.clone()).await.unwrap();
        assert_eq!(state_of(&graph, &t).await, (5, vec!["inc".to_owned()]), "{}", b.name);
        // Without the breakpoint the run finishes.
        let out = graph.invoke(Value::Null, RunConfig::new().with_thread(&t)).await.unwrap();
        assert_eq!(count(&out), 6, "{}", b.name);
        assert_eq!(
            out["log"],
            value!(["inc1", "inc2", "inc3", "inc4", "inc5", "inc6"]),
            "{}: every step ran once",
            b.name
        );
    }
}

#[tokio::test]
async fn stepping_with_after_star_runs_one_superstep_per_resume() {
    for b in backends("bp_step").await {
        let graph = counter(b.saver.clone());
        let t = thread("bp_step");
        let step = RunConfig::new().with_thread(&t).with_breakpoint(Breakpoint::after("*"));
        graph.invoke(value!({"count": 0}), step.clone()).await.unwrap();
        for expected in 1..=5 {
            assert_eq!(state_of(&graph, &t).await.0, expected, "{}", b.name);
            graph.invoke(Value::Null, step.clone()).await.unwrap();
        }
        // The last step ran and nothing is next.
        assert_eq!(state_of(&graph, &t).await, (6, vec![]), "{}", b.name);
    }
}

#[tokio::test]
async fn an_edge_breakpoint_fires_only_when_that_edge_is_taken() {
    for b in backends("bp_edge").await {
        let schema =
            Schema::new().key("route", ChannelSpec::last_value()).key("log", ChannelSpec::reducer(Reducer::extend()));
        let mut g = StateGraph::new(schema);
        for n in ["plan", "act", "answer"] {
            g.add_node(n, sync_node(move |_s: State, _c: NodeContext| Ok::<Value, NodeError>(value!({"log": [n]}))));
        }
        g.add_edge(START, "plan");
        g.add_conditional_edges(
            "plan",
            |s: &State| s.to_value().get("route").and_then(Value::as_str).unwrap_or("answer").to_owned(),
            PathMap::none(),
        );
        g.add_edge("act", "answer");
        g.add_edge("answer", END);
        let graph = g.compile_with(CompileOptions::with_checkpointer(b.saver.clone())).unwrap();
        let bp = Breakpoint::edge("plan", "answer");

        // plan -> act -> answer: `answer` runs, but not right after `plan`: no pause.
        let t = thread("bp_edge_act");
        let out = graph
            .invoke(value!({"route": "act"}), RunConfig::new().with_thread(&t).with_breakpoint(bp.clone()))
            .await
            .unwrap();
        assert_eq!(out["log"], value!(["plan", "act", "answer"]), "{}", b.name);

        // plan -> answer: pauses before `answer`.
        let t = thread("bp_edge_answer");
        let config = RunConfig::new().with_thread(&t).with_breakpoint(bp);
        let out = graph.invoke(value!({"route": "answer"}), config.clone()).await.unwrap();
        assert_eq!(out["log"], value!(["plan"]), "{}", b.name);
        assert_eq!(state_of(&graph, &t).await.1, vec!["answer"], "{}", b.name);
        let out = graph.invoke(Value::Null, config).await.unwrap();
        assert_eq!(out["log"], value!(["plan", "answer"]), "{}", b.name);
    }
}

#[tokio::test]
async fn a_breakpoint_in_a_subgraph_pauses_inside_it() {
    for b in backends("bp_subgraph").await {
        let schema = || Schema::new().key("log", ChannelSpec::reducer(Reducer::extend()));
        let mut inner = StateGraph::new(schema());
        for n in ["a", "b"] {
            inner
                .add_node(n, sync_node(move |_s: State, _c: NodeContext| Ok::<Value, NodeError>(value!({"log": [n]}))));
        }
        inner.add_edge(START, "a");
        inner.add_edge("a", "b");
        inner.add_edge("b", END);
        let mut outer = StateGraph::new(schema());
        outer.add_node("child", inner.compile().unwrap());
        // A root node named like the inner one: the breakpoint must not fire there.
        outer
            .add_node("b", sync_node(|_s: State, _c: NodeContext| Ok::<Value, NodeError>(value!({"log": ["root b"]}))));
        outer.add_edge(START, "child");
        outer.add_edge("child", "b");
        outer.add_edge("b", END);
        let graph = outer.compile_with(CompileOptions::with_checkpointer(b.saver.clone())).unwrap();
        let t = thread("bp_subgraph");
        let config = RunConfig::new().with_thread(&t).with_breakpoint(Breakpoint::before("b").in_subgraph(["child"]));
        graph.invoke(value!({"log": []}), config.clone()).await.unwrap();
        let snap = graph.get_state_with_subgraphs(&CheckpointConfig::thread(&t)).await.unwrap();
        assert_eq!(snap.next, vec!["child"], "{}", b.name);
        let sub = snap.tasks[0].state.as_ref().expect("the subgraph's state");
        assert_eq!(sub.next, vec!["b"], "{}: paused inside the subgraph before b", b.name);
        assert_eq!(sub.values["log"], value!(["a"]), "{}", b.name);
        let out = graph.invoke(Value::Null, config).await.unwrap();
        assert_eq!(out["log"], value!(["a", "b", "root b"]), "{}: the root's b did not pause", b.name);
    }
}
