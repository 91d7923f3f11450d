//! Engine persistence over memory, SQLite and PostgreSQL: saving steps, interrupts and resume,
//! failures that keep finished siblings' writes, state history, update_state and forks.

mod support {
    pub mod backends;
}

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use stategraph::checkpoint::{CheckpointConfig, CheckpointSource, Checkpointer, ListFilter};
use stategraph::prelude::*;
use stategraph::sync_node;
use support::backends::{backends, thread};

fn counter_schema() -> Schema {
    Schema::new().key("log", ChannelSpec::reducer(Reducer::extend())).key("answer", ChannelSpec::last_value())
}

/// START -> ask -> finish; `ask` interrupts once.
fn approval_graph(saver: Arc<dyn Checkpointer>, runs: Arc<AtomicUsize>) -> CompiledGraph {
    let mut g = StateGraph::new(counter_schema());
    g.add_node(
        "ask",
        sync_node(move |_s: State, ctx: NodeContext| {
            runs.fetch_add(1, Ordering::SeqCst);
            let answer = ctx.interrupt(value!({"question": "ok?"}))?;
            Ok::<Value, NodeError>(value!({"answer": answer, "log": ["asked"]}))
        }),
    );
    g.add_node(
        "finish",
        sync_node(|_s: State, _ctx: NodeContext| Ok::<Value, NodeError>(value!({"log": ["finished"]}))),
    );
    g.add_edge(START, "ask");
    g.add_edge("ask", "finish");
    g.add_edge("finish", END);
    g.compile_with(CompileOptions::with_checkpointer(saver)).unwrap()
}

#[tokio::test]
async fn interrupt_pauses_and_resume_continues_on_every_backend() {
    for b in backends("interrupt_pauses_and_resume_continues").await {
        let runs = Arc::new(AtomicUsize::new(0));
        let graph = approval_graph(b.saver.clone(), runs.clone());
        let t = thread("approval");
        let config = RunConfig::new().with_thread(&t).with_durability(Durability::Sync);
        let out = graph.invoke(value!({"log": ["start"]}), config.clone()).await.unwrap();
        let pending = out.get(INTERRUPT_KEY).and_then(Value::as_array).expect("interrupted");
        assert_eq!(pending.len(), 1, "{}", b.name);
        assert_eq!(pending[0]["value"], value!({"question": "ok?"}));
        assert_eq!(out["log"], value!(["start"]));

        let cfg = CheckpointConfig::thread(&t);
        let snap = graph.get_state(&cfg).await.unwrap();
        assert_eq!(snap.next, vec!["ask"], "{}", b.name);
        assert_eq!(snap.interrupts.len(), 1);
        assert_eq!(snap.tasks[0].interrupts[0].value, value!({"question": "ok?"}));

        let out = graph.invoke(Command::new().resume("yes"), config.clone()).await.unwrap();
        assert_eq!(out, value!({"log": ["start", "asked", "finished"], "answer": "yes"}), "{}", b.name);
        assert_eq!(runs.load(Ordering::SeqCst), 2, "the node runs again on resume");

        let history = graph.get_state_history(&cfg, ListFilter::default()).await.unwrap();
        let sources: Vec<(CheckpointSource, i64)> =
            history.iter().map(|s| s.metadata.as_ref().map(|m| (m.source, m.step)).unwrap()).collect();
        assert_eq!(
            sources,
            vec![
                (CheckpointSource::Loop, 2),
                (CheckpointSource::Loop, 1),
                (CheckpointSource::Loop, 0),
                (CheckpointSource::Input, -1)
            ],
            "{}: pausing adds no checkpoint",
            b.name
        );
        assert!(graph.get_state(&cfg).await.unwrap().next.is_empty());
    }
}

/// a and b run in parallel; b fails the first time. A resume runs only b.
#[tokio::test]
async fn failed_step_keeps_sibling_writes_and_resume_reruns_only_the_failed_node() {
    for backend in backends("failed_step_keeps_sibling_writes").await {
        let a_runs = Arc::new(AtomicUsize::new(0));
        let b_runs = Arc::new(AtomicUsize::new(0));
        let mut g = StateGraph::new(counter_schema());
        let ar = a_runs.clone();
        g.add_node(
            "a",
            sync_node(move |_s: State, _c: NodeContext| {
                ar.fetch_add(1, Ordering::SeqCst);
                Ok::<Value, NodeError>(value!({"log": ["a"]}))
            }),
        );
        let br = b_runs.clone();
        g.add_node(
            "b",
            sync_node(move |_s: State, _c: NodeContext| {
                if br.fetch_add(1, Ordering::SeqCst) == 0 {
                    return Err(NodeError::permanent("boom"));
                }
                Ok::<Value, NodeError>(value!({"log": ["b"]}))
            }),
        );
        g.add_edge(START, "a");
        g.add_edge(START, "b");
        g.add_edge("a", END);
        g.add_edge("b", END);
        let graph = g.compile_with(CompileOptions::with_checkpointer(backend.saver.clone())).unwrap();
        let t = thread("siblings");
        let config = RunConfig::new().with_thread(&t).with_durability(Durability::Sync);
        let err = graph.invoke(value!({"log": []}), config.clone()).await.unwrap_err();
        assert_eq!(err.code(), "SG030");
        let snap = graph.get_state(&CheckpointConfig::thread(&t)).await.unwrap();
        // As in LangGraph, the latest state shows what finished: a's write, and only b left to run.
        assert_eq!(snap.next, vec!["b"], "{}", backend.name);
        assert_eq!(snap.values["log"], value!(["a"]), "{}", backend.name);
        let a = snap.tasks.iter().find(|t| t.name == "a").unwrap();
        let b = snap.tasks.iter().find(|t| t.name == "b").unwrap();
        assert_eq!(a.result, Some(value!({"log": ["a"]})), "{}: partial result visible", backend.name);
        assert!(b.error.as_ref().unwrap()["message"].as_str().unwrap().contains("boom"));

        let out = graph.invoke(Value::Null, config).await.unwrap();
        assert_eq!(out["log"], value!(["a", "b"]), "{}", backend.name);
        assert_eq!(a_runs.load(Ordering::SeqCst), 1, "{}: a is not run again", backend.name);
        assert_eq!(b_runs.load(Ordering::SeqCst), 2);
    }
}

#[tokio::test]
async fn durability_modes_all_end_with_the_same_state() {
    for b in backends("durability_modes").await {
        for d in [Durability::Sync, Durability::Async, Durability::Exit] {
            let runs = Arc::new(AtomicUsize::new(0));
            let graph = approval_graph(b.saver.clone(), runs);
            let t = thread("durability");
            let config = RunConfig::new().with_thread(&t).with_durability(d);
            graph.invoke(value!({"log": ["s"]}), config.clone()).await.unwrap();
            let out = graph.invoke(Command::new().resume(1), config).await.unwrap();
            assert_eq!(out, value!({"log": ["s", "asked", "finished"], "answer": 1}), "{} {d:?}", b.name);
            let n = graph.get_state_history(&CheckpointConfig::thread(&t), ListFilter::default()).await.unwrap().len();
            match d {
                Durability::Exit => assert_eq!(n, 2, "{}: one checkpoint per run", b.name),
                _ => assert_eq!(n, 4, "{} {d:?}", b.name),
            }
        }
    }
}

#[tokio::test]
async fn static_interrupts_pause_before_and_after() {
    for b in backends("static_interrupts").await {
        let mut g = StateGraph::new(counter_schema());
        for n in ["one", "two", "three"] {
            g.add_node(n, sync_node(move |_s: State, _c: NodeContext| Ok::<Value, NodeError>(value!({"log": [n]}))));
        }
        g.add_edge("one", "two");
        g.add_edge("two", "three");
        g.add_edge(START, "one");
        g.add_edge("three", END);
        let options =
            CompileOptions::with_checkpointer(b.saver.clone()).interrupt_before(["two"]).interrupt_after(["three"]);
        let graph = g.compile_with(options).unwrap();
        let t = thread("static");
        let config = RunConfig::new().with_thread(&t);
        let out = graph.invoke(value!({"log": []}), config.clone()).await.unwrap();
        assert_eq!(out, value!({"log": ["one"]}), "{}", b.name);
        assert_eq!(graph.get_state(&CheckpointConfig::thread(&t)).await.unwrap().next, vec!["two"]);
        let out = graph.invoke(Value::Null, config.clone()).await.unwrap();
        assert_eq!(out, value!({"log": ["one", "two", "three"]}), "{}", b.name);
        let out = graph.invoke(Value::Null, config.clone()).await.unwrap();
        assert_eq!(out, value!({"log": ["one", "two", "three"]}), "{}: nothing left to run", b.name);
    }
}

#[tokio::test]
async fn update_state_and_fork_from_a_past_checkpoint() {
    for b in backends("update_state_fork").await {
        let mut g = StateGraph::new(counter_schema());
        g.add_node("one", sync_node(|_s: State, _c: NodeContext| Ok::<Value, NodeError>(value!({"log": ["one"]}))));
        g.add_node(
            "two",
            sync_node(|s: State, _c: NodeContext| Ok::<Value, NodeError>(value!({"answer": s.get("log").cloned()}))),
        );
        g.add_edge(START, "one");
        g.add_edge("one", "two");
        g.add_edge("two", END);
        let graph = g.compile_with(CompileOptions::with_checkpointer(b.saver.clone())).unwrap();
        let t = thread("fork");
        let config = RunConfig::new().with_thread(&t).with_durability(Durability::Sync);
        graph.invoke(value!({"log": ["x"]}), config.clone()).await.unwrap();
        let cfg = CheckpointConfig::thread(&t);
        let history = graph.get_state_history(&cfg, ListFilter::default()).await.unwrap();
        // The checkpoint after `one`: `two` runs next.
        let after_one = history.iter().find(|s| s.next == vec!["two"]).expect("checkpoint before two");
        let forked = graph.update_state(&after_one.config, value!({"log": ["edited"]}), Some("one")).await.unwrap();
        let snap = graph.get_state(&forked).await.unwrap();
        assert_eq!(snap.values["log"], value!(["x", "one", "edited"]), "{}", b.name);
        assert_eq!(snap.next, vec!["two"]);
        assert_eq!(snap.parent_config.as_ref().and_then(|c| c.checkpoint_id), after_one.config.checkpoint_id);
        assert_eq!(snap.metadata.as_ref().unwrap().source, CheckpointSource::Update);
        let out = graph.invoke(Value::Null, config.clone()).await.unwrap();
        assert_eq!(out["answer"], value!(["x", "one", "edited"]), "{}: the run continues from the fork", b.name);
        let len = graph.get_state_history(&cfg, ListFilter::default()).await.unwrap().len();
        assert_eq!(len, 6, "{}: input, START, one, two, the fork, and two again", b.name);
    }
}

#[tokio::test]
async fn replay_from_a_checkpoint_reruns_what_follows() {
    for b in backends("replay").await {
        let runs = Arc::new(AtomicUsize::new(0));
        let mut g = StateGraph::new(counter_schema());
        let r = runs.clone();
        g.add_node(
            "one",
            sync_node(move |_s: State, _c: NodeContext| {
                r.fetch_add(1, Ordering::SeqCst);
                Ok::<Value, NodeError>(value!({"log": ["one"]}))
            }),
        );
        g.add_edge(START, "one");
        g.add_edge("one", END);
        let graph = g.compile_with(CompileOptions::with_checkpointer(b.saver.clone())).unwrap();
        let t = thread("replay");
        let config = RunConfig::new().with_thread(&t).with_durability(Durability::Sync);
        graph.invoke(value!({"log": []}), config.clone()).await.unwrap();
        let cfg = CheckpointConfig::thread(&t);
        let history = graph.get_state_history(&cfg, ListFilter::default()).await.unwrap();
        let input = history.last().unwrap();
        assert_eq!(input.next, vec![START], "the input checkpoint runs START next, as in LangGraph");
        let id = input.config.checkpoint_id.unwrap();
        let out = graph.invoke(Value::Null, config.clone().with_checkpoint(id)).await.unwrap();
        assert_eq!(out["log"], value!(["one"]), "{}", b.name);
        assert_eq!(runs.load(Ordering::SeqCst), 2, "{}: replay runs the node again", b.name);
    }
}

#[tokio::test]
async fn a_resume_value_with_two_pending_interrupts_is_an_error_and_a_map_resumes_both() {
    for b in backends("two_interrupts").await {
        let mut g = StateGraph::new(counter_schema());
        for n in ["left", "right"] {
            g.add_node(
                n,
                sync_node(move |_s: State, ctx: NodeContext| {
                    let v = ctx.interrupt(n)?;
                    Ok::<Value, NodeError>(value!({"log": [v]}))
                }),
            );
            g.add_edge(START, n);
            g.add_edge(n, END);
        }
        let graph = g.compile_with(CompileOptions::with_checkpointer(b.saver.clone())).unwrap();
        let t = thread("two");
        let config = RunConfig::new().with_thread(&t);
        let out = graph.invoke(value!({"log": []}), config.clone()).await.unwrap();
        let pending: Vec<Interrupt> =
            out[INTERRUPT_KEY].as_array().unwrap().iter().map(|v| Interrupt::from_value(v).unwrap()).collect();
        assert_eq!(pending.len(), 2, "{}", b.name);
        let err = graph.invoke(Command::new().resume("x"), config.clone()).await.unwrap_err();
        assert_eq!(err.code(), "SG082", "{}", b.name);
        let answers =
            pending.iter().map(|i| (i.id.clone(), Value::from(format!("answer-{}", i.value.as_str().unwrap()))));
        let out = graph.invoke(Command::new().resume_map(answers), config).await.unwrap();
        assert_eq!(out["log"], value!(["answer-left", "answer-right"]), "{}", b.name);
    }
}

/// One thread, one runner: 1,000 runners resume one paused thread at once. Exactly one's answer
/// ends up in the state; every other runner either gets the typed conflict error (SG081) or,
/// having started after the winner finished, finds the run complete with the winner's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_resumes_of_one_thread_have_exactly_one_winner() {
    const RUNNERS: usize = 1000;
    for b in backends("concurrent_resumes").await {
        let mut g = StateGraph::new(counter_schema());
        g.add_node("ask", |_s: State, ctx: NodeContext| async move {
            let answer = ctx.interrupt("which?")?;
            // Widen the window in which runners overlap: the other runners must read the paused
            // thread before the first one's answer commits. Their reads queue for the pool's
            // connections while the SQLite saver's writes have a connection of their own, so on a
            // loaded machine 20 ms sometimes passed before any other runner had read.
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            Ok::<Value, NodeError>(value!({"answer": answer, "log": ["asked"]}))
        });
        g.add_edge(START, "ask");
        g.add_edge("ask", END);
        let graph = g.compile_with(CompileOptions::with_checkpointer(b.saver.clone())).unwrap();
        let t = thread("race");
        let config = RunConfig::new().with_thread(&t).with_durability(Durability::Sync);
        graph.invoke(value!({"log": []}), config.clone()).await.unwrap();

        let start = Arc::new(tokio::sync::Barrier::new(RUNNERS));
        let mut handles = Vec::with_capacity(RUNNERS);
        for i in 0..RUNNERS {
            let (graph, config, start) = (graph.clone(), config.clone(), start.clone());
            handles.push(tokio::spawn(async move {
                start.wait().await;
                (i, graph.invoke(Command::new().resume(i as u64), config).await)
            }));
        }
        let (mut own_answer, mut conflicts, mut later) = (Vec::new(), 0, 0);
        for h in handles {
            let (i, r) = h.await.unwrap();
            match r {
                Ok(out) if out["answer"] == Value::from(i as u64) => own_answer.push(i),
                Ok(_) => later += 1,
                Err(e) if e.code() == "SG081" => conflicts += 1,
                Err(e) => panic!("{}: runner {i} failed with an unexpected error: {e}", b.name),
            }
        }
        assert_eq!(own_answer.len(), 1, "{}: winners {own_answer:?} (conflicts {conflicts}, later {later})", b.name);
        let state = graph.get_state(&CheckpointConfig::thread(&t)).await.unwrap();
        assert_eq!(state.values["answer"], Value::from(own_answer[0] as u64), "{}", b.name);
        assert_eq!(state.values["log"], value!(["asked"]), "{}: the node's write is applied once", b.name);
        assert!(conflicts > 0, "{}: the runners overlapped", b.name);
        eprintln!("{}: 1 winner, {conflicts} conflicts, {later} found the run finished", b.name);
    }
}

#[test]
fn breakpoints_must_name_nodes() {
    let mut g = StateGraph::new(counter_schema());
    g.add_node("one", sync_node(|_s: State, _c: NodeContext| Ok::<Value, NodeError>(value!({}))));
    g.add_edge(START, "one");
    g.add_edge("one", END);
    let err = g.compile_with(CompileOptions::default().interrupt_before(["missing"])).unwrap_err();
    assert_eq!(err.code(), "SG001");
    assert!(err.to_string().contains("interrupt_before"), "{err}");
    assert!(g.compile_with(CompileOptions::default().interrupt_after(["*"])).is_ok());
}

#[tokio::test]
async fn a_graph_with_a_checkpointer_needs_a_thread_and_resume_needs_a_checkpointer() {
    let mut g = StateGraph::new(counter_schema());
    g.add_node("one", sync_node(|_s: State, _c: NodeContext| Ok::<Value, NodeError>(value!({"log": ["one"]}))));
    g.add_edge(START, "one");
    g.add_edge("one", END);
    let saver: Arc<dyn Checkpointer> = Arc::new(stategraph::checkpoint::InMemorySaver::new());
    let with = g.compile_with(CompileOptions::with_checkpointer(saver)).unwrap();
    let err = with.invoke(value!({"log": []}), RunConfig::new()).await.unwrap_err();
    assert_eq!(err.code(), "SG083");
    assert!(err.to_string().contains("with_thread"), "{err}");
    let without = g.compile().unwrap();
    let err = without.invoke(Command::new().resume(1), RunConfig::new()).await.unwrap_err();
    assert_eq!(err.code(), "SG083");
    let err = without.get_state(&CheckpointConfig::thread("t")).await.unwrap_err();
    assert_eq!(err.code(), "SG083");
}

#[tokio::test]
async fn get_state_with_subgraphs_shows_where_a_paused_subgraph_stands() {
    for b in backends("subgraph_state").await {
        let mut inner = StateGraph::new(counter_schema());
        inner.add_node(
            "prep",
            sync_node(|_s: State, _c: NodeContext| Ok::<Value, NodeError>(value!({"log": ["prep"]}))),
        );
        inner.add_node(
            "ask",
            sync_node(|_s: State, ctx: NodeContext| {
                let a = ctx.interrupt("inner?")?;
                Ok::<Value, NodeError>(value!({"answer": a}))
            }),
        );
        inner.add_edge(START, "prep");
        inner.add_edge("prep", "ask");
        inner.add_edge("ask", END);
        let inner = inner.compile().unwrap();
        let mut outer = StateGraph::new(counter_schema());
        outer.add_node("child", inner);
        outer.add_edge(START, "child");
        outer.add_edge("child", END);
        let graph = outer.compile_with(CompileOptions::with_checkpointer(b.saver.clone())).unwrap();
        let t = thread("subgraph_state");
        graph.invoke(value!({"log": []}), RunConfig::new().with_thread(&t)).await.unwrap();
        let snap = graph.get_state_with_subgraphs(&CheckpointConfig::thread(&t)).await.unwrap();
        assert_eq!(snap.next, vec!["child"], "{}", b.name);
        let sub = snap.tasks[0].state.as_ref().expect("the subgraph's state");
        assert_eq!(sub.next, vec!["ask"], "{}", b.name);
        assert_eq!(sub.values["log"], value!(["prep"]), "{}", b.name);
        assert!(sub.config.checkpoint_ns.starts_with("child:"), "{}", sub.config.checkpoint_ns);
        assert_eq!(sub.interrupts[0].value, Value::from("inner?"));
        assert_eq!(sub.metadata.as_ref().unwrap().parents.len(), 1, "{}: parents name the outer checkpoint", b.name);
    }
}

/// Replaying an older checkpoint with exit durability saves the branch at the end (its parent is
/// not the thread's latest checkpoint, by design: that is not a conflict).
#[tokio::test]
async fn replay_with_exit_durability_saves_the_branch() {
    for b in backends("replay_exit").await {
        let mut g = StateGraph::new(counter_schema());
        g.add_node("one", sync_node(|_s: State, _c: NodeContext| Ok::<Value, NodeError>(value!({"log": ["one"]}))));
        g.add_node("two", sync_node(|_s: State, _c: NodeContext| Ok::<Value, NodeError>(value!({"log": ["two"]}))));
        g.add_edge(START, "one");
        g.add_edge("one", "two");
        g.add_edge("two", END);
        let graph = g.compile_with(CompileOptions::with_checkpointer(b.saver.clone())).unwrap();
        let t = thread("replay_exit");
        let config = RunConfig::new().with_thread(&t).with_durability(Durability::Sync);
        graph.invoke(value!({"log": []}), config.clone()).await.unwrap();
        let cfg = CheckpointConfig::thread(&t);
        let history = graph.get_state_history(&cfg, ListFilter::default()).await.unwrap();
        let before_two = history.iter().find(|s| s.next == vec!["two"]).unwrap().config.checkpoint_id.unwrap();
        let replay = config.with_durability(Durability::Exit).with_checkpoint(before_two);
        let out = graph.invoke(Value::Null, replay).await.unwrap();
        assert_eq!(out["log"], value!(["one", "two"]), "{}", b.name);
        let latest = graph.get_state(&cfg).await.unwrap();
        assert!(latest.next.is_empty(), "{}", b.name);
        assert_eq!(latest.values["log"], value!(["one", "two"]), "{}", b.name);
    }
}

/// Regression: user metadata named like a checkpoint's own key (`run_id`, `step`) made the stored
/// metadata unreadable on SQLite ("duplicate field").
#[tokio::test]
async fn user_metadata_with_reserved_names_does_not_break_stored_metadata() {
    for b in backends("reserved_metadata").await {
        let runs = Arc::new(AtomicUsize::new(0));
        let graph = approval_graph(b.saver.clone(), runs);
        let t = thread("reserved_metadata");
        let mut config = RunConfig::new().with_thread(&t).with_run_id("run-1").with_durability(Durability::Sync);
        config.metadata.insert("run_id".into(), Value::from("user-value"));
        config.metadata.insert("step".into(), Value::from(99));
        config.metadata.insert("user".into(), Value::from("ana"));
        graph.invoke(value!({"log": []}), config).await.unwrap();
        let history = graph.get_state_history(&CheckpointConfig::thread(&t), ListFilter::default()).await.unwrap();
        let m = history[0].metadata.as_ref().unwrap();
        assert_eq!(m.run_id.as_deref(), Some("run-1"), "{}", b.name);
        assert_ne!(m.step, 99, "{}", b.name);
        assert_eq!(m.extra.get("user"), Some(&Value::from("ana")), "{}", b.name);
    }
}

/// A cancelled run stops at the next step boundary with its last checkpoint saved; invoking the
/// thread again finishes it.
#[tokio::test]
async fn cancel_stops_at_a_step_boundary_and_the_thread_resumes() {
    for b in backends("cancel").await {
        let token = stategraph::CancelToken::new();
        let mut g = StateGraph::new(counter_schema());
        let t2 = token.clone();
        g.add_node(
            "one",
            sync_node(move |_s: State, _c: NodeContext| {
                t2.cancel(); // e.g. SIGTERM arrives while `one` runs
                Ok::<Value, NodeError>(value!({"log": ["one"]}))
            }),
        );
        g.add_node("two", sync_node(|_s: State, _c: NodeContext| Ok::<Value, NodeError>(value!({"log": ["two"]}))));
        g.add_edge(START, "one");
        g.add_edge("one", "two");
        g.add_edge("two", END);
        let graph = g.compile_with(CompileOptions::with_checkpointer(b.saver.clone())).unwrap();
        let t = thread("cancel");
        let config = RunConfig::new().with_thread(&t);
        let err = graph.invoke(value!({"log": []}), config.clone().with_cancel(token)).await.unwrap_err();
        assert_eq!(err.code(), "SG060", "{}", b.name);
        let snap = graph.get_state(&CheckpointConfig::thread(&t)).await.unwrap();
        assert_eq!(snap.values["log"], value!(["one"]), "{}: the step that was running finished", b.name);
        assert_eq!(snap.next, vec!["two"], "{}", b.name);
        let out = graph.invoke(Value::Null, config).await.unwrap();
        assert_eq!(out["log"], value!(["one", "two"]), "{}", b.name);
    }
}

/// Regression: 120 subgraph runs at once (a `Send` fan-out into a subgraph), each saving its own
/// steps, in every durability mode. The run loop used to await each finished task's save while
/// the other tasks' futures were parked; a parked subgraph holding the SQLite saver's write turn
/// (or a pooled connection) then blocked that save for good, and ten subgraphs were enough to
/// hang every run on SQLite.
#[tokio::test]
async fn a_fan_out_of_many_subgraphs_saves_on_every_backend_and_durability() {
    const N: usize = 120;
    for b in backends("fan_out_subgraphs").await {
        let mut inner =
            StateGraph::new(Schema::new().key("item", ChannelSpec::last_value()).key("log", ChannelSpec::last_value()));
        inner.add_node(
            "first",
            sync_node(|s: State, _c: NodeContext| {
                Ok::<Value, NodeError>(value!({"log": [s.get("item").cloned().unwrap_or_default()]}))
            }),
        );
        inner.add_node(
            "second",
            sync_node(|s: State, _c: NodeContext| {
                let mut log = s.get_array("log").cloned().unwrap_or_default();
                log.push(Value::from("second"));
                Ok::<Value, NodeError>(value!({"log": log}))
            }),
        );
        inner.add_edge(START, "first");
        inner.add_edge("first", "second");
        inner.add_edge("second", END);
        let inner = inner.compile().unwrap();
        let mut outer = StateGraph::new(counter_schema());
        outer.add_node("child", inner);
        outer.add_conditional_edges(
            START,
            |_s: &State| (0..N).map(|i| stategraph::Send::new("child", value!({"item": i}))).collect::<Vec<_>>(),
            (),
        );
        outer.add_edge("child", END);
        let graph = outer.compile_with(CompileOptions::with_checkpointer(b.saver.clone())).unwrap();
        for durability in [Durability::Sync, Durability::Async, Durability::Exit] {
            let t = thread("fan_out_subgraphs");
            let config = RunConfig::new().with_thread(&t).with_durability(durability);
            let run = graph.invoke(value!({"log": []}), config);
            let out = tokio::time::timeout(std::time::Duration::from_secs(60), run)
                .await
                .unwrap_or_else(|_| panic!("{} {durability:?}: the run hung", b.name))
                .unwrap();
            let log = out["log"].as_array().unwrap();
            assert_eq!(log.len(), 2 * N, "{} {durability:?}", b.name);
            let mut items: Vec<i64> = log.iter().filter_map(Value::as_i64).collect();
            items.sort_unstable();
            assert_eq!(items, (0..N as i64).collect::<Vec<_>>(), "{} {durability:?}", b.name);
            // Every subgraph run's steps were saved under its own namespace.
            let state = graph.get_state(&CheckpointConfig::thread(&t)).await.unwrap();
            assert_eq!(state.values["log"].as_array().unwrap().len(), 2 * N, "{} {durability:?}", b.name);
            let saved = b.saver.list(&ListFilter::thread(&t)).await.unwrap();
            let namespaces: std::collections::BTreeSet<&str> =
                saved.iter().map(|c| c.config.checkpoint_ns.as_str()).filter(|ns| ns.starts_with("child:")).collect();
            assert_eq!(namespaces.len(), N, "{} {durability:?}: one namespace per subgraph run", b.name);
        }
    }
}

/// A saver that counts `get_tuple` calls per namespace and hands everything to an in-memory one.
struct LookupCounter {
    inner: stategraph::checkpoint::InMemorySaver,
    lookups: std::sync::Mutex<Vec<String>>,
}

impl LookupCounter {
    fn new() -> Arc<LookupCounter> {
        Arc::new(LookupCounter { inner: Default::default(), lookups: Default::default() })
    }

    /// Lookups in the root namespace and in namespaces of the node `child`.
    fn counts(&self) -> (usize, usize) {
        let l = self.lookups.lock().unwrap();
        (l.iter().filter(|ns| ns.is_empty()).count(), l.iter().filter(|ns| ns.starts_with("child:")).count())
    }
}

mod lookup_counter {
    use futures::future::BoxFuture;
    use stategraph::checkpoint::{
        ChannelVersions, Checkpoint, CheckpointConfig, CheckpointMetadata, CheckpointTuple, Checkpointer, ListFilter,
        PruneStrategy, Result, SaveOp,
    };
    use stategraph::prelude::Value;

    impl Checkpointer for super::LookupCounter {
        fn get_tuple<'a>(&'a self, config: &'a CheckpointConfig) -> BoxFuture<'a, Result<Option<CheckpointTuple>>> {
            self.lookups.lock().unwrap().push(config.checkpoint_ns.clone());
            self.inner.get_tuple(config)
        }
        fn list<'a>(&'a self, filter: &'a ListFilter) -> BoxFuture<'a, Result<Vec<CheckpointTuple>>> {
            self.inner.list(filter)
        }
        fn put<'a>(
            &'a self,
            config: &'a CheckpointConfig,
            checkpoint: &'a Checkpoint,
            metadata: &'a CheckpointMetadata,
            new_versions: &'a ChannelVersions,
        ) -> BoxFuture<'a, Result<CheckpointConfig>> {
            self.inner.put(config, checkpoint, metadata, new_versions)
        }
        fn put_next<'a>(
            &'a self,
            config: &'a CheckpointConfig,
            checkpoint: &'a Checkpoint,
            metadata: &'a CheckpointMetadata,
            new_versions: &'a ChannelVersions,
        ) -> BoxFuture<'a, Result<CheckpointConfig>> {
            self.inner.put_next(config, checkpoint, metadata, new_versions)
        }
        fn save_batch<'a>(&'a self, ops: &'a [SaveOp]) -> BoxFuture<'a, Result<()>> {
            self.inner.save_batch(ops)
        }
        fn put_writes<'a>(
            &'a self,
            config: &'a CheckpointConfig,
            writes: &'a [(String, Value)],
            task_id: &'a str,
            task_path: &'a str,
        ) -> BoxFuture<'a, Result<()>> {
            self.inner.put_writes(config, writes, task_id, task_path)
        }
        fn delete_thread<'a>(&'a self, thread_id: &'a str) -> BoxFuture<'a, Result<()>> {
            self.inner.delete_thread(thread_id)
        }
        fn copy_thread<'a>(&'a self, source: &'a str, target: &'a str) -> BoxFuture<'a, Result<()>> {
            self.inner.copy_thread(source, target)
        }
        fn prune<'a>(&'a self, thread_ids: &'a [String], strategy: PruneStrategy) -> BoxFuture<'a, Result<()>> {
            self.inner.prune(thread_ids, strategy)
        }
    }
}

/// START -> child (a subgraph: first -> second) -> END, with `second` given as a node.
fn graph_with_child(
    saver: Arc<dyn Checkpointer>,
    second: impl Fn(State, NodeContext) -> std::result::Result<Value, NodeError> + Send + Sync + 'static,
    child_options: NodeOptions,
    fan_out: usize,
) -> CompiledGraph {
    let mut inner = StateGraph::new(counter_schema());
    inner.add_node("first", sync_node(|_s: State, _c: NodeContext| Ok::<Value, NodeError>(value!({"log": ["first"]}))));
    inner.add_node("second", sync_node(second));
    inner.add_edge(START, "first");
    inner.add_edge("first", "second");
    inner.add_edge("second", END);
    let mut outer = StateGraph::new(counter_schema());
    outer.add_node_with("child", inner.compile().unwrap(), child_options);
    if fan_out > 0 {
        outer.add_conditional_edges(
            START,
            move |_s: &State| {
                (0..fan_out).map(|_| stategraph::Send::new("child", value!({"log": []}))).collect::<Vec<_>>()
            },
            (),
        );
    } else {
        outer.add_edge(START, "child");
    }
    outer.add_edge("child", END);
    outer.compile_with(CompileOptions::with_checkpointer(saver)).unwrap()
}

/// A nested run of a task that no run saw before (its step began at a checkpoint this run made)
/// does not look its namespace up: nothing can be there. One that may find something does: a
/// resumed subgraph, and the second attempt of a retried one.
#[tokio::test]
async fn nested_runs_look_their_namespace_up_only_when_it_may_hold_checkpoints() {
    // A fan-out into three fresh subgraph runs: one lookup, the root's; all steps still saved.
    let saver = LookupCounter::new();
    let second = |_s: State, _c: NodeContext| Ok::<Value, NodeError>(value!({"log": ["second"]}));
    let graph = graph_with_child(saver.clone(), second, NodeOptions::new(), 3);
    let config = RunConfig::new().with_thread("fresh");
    let out = graph.invoke(value!({"log": []}), config).await.unwrap();
    assert_eq!(out["log"].as_array().unwrap().len(), 6, "{out:?}");
    assert_eq!(saver.counts(), (1, 0));
    let saved = saver.list(&ListFilter::thread("fresh")).await.unwrap();
    let namespaces: std::collections::BTreeSet<&str> =
        saved.iter().map(|c| c.config.checkpoint_ns.as_str()).filter(|ns| ns.starts_with("child:")).collect();
    assert_eq!(namespaces.len(), 3);

    // A subgraph paused by `interrupt` resumes from its namespace.
    let saver = LookupCounter::new();
    let second = |_s: State, c: NodeContext| {
        let answer = c.interrupt(value!("go on?"))?;
        Ok::<Value, NodeError>(value!({"log": [answer]}))
    };
    let graph = graph_with_child(saver.clone(), second, NodeOptions::new(), 0);
    let config = RunConfig::new().with_thread("paused");
    graph.invoke(value!({"log": []}), config.clone()).await.unwrap();
    assert_eq!(saver.counts(), (1, 0));
    let out = graph.invoke(Command::new().resume("yes"), config).await.unwrap();
    assert_eq!(out["log"], value!(["first", "yes"]), "the subgraph went on from its checkpoint");
    assert_eq!(saver.counts(), (2, 1));

    // A retried subgraph: its second attempt looks up what the first one saved.
    let saver = LookupCounter::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = calls.clone();
    let second = move |_s: State, _c: NodeContext| {
        if c2.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(NodeError::new("flaky"));
        }
        Ok::<Value, NodeError>(value!({"log": ["second"]}))
    };
    let retry = RetryPolicy::new().max_attempts(2).initial_interval(std::time::Duration::ZERO).retry_on(|_| true);
    let graph = graph_with_child(saver.clone(), second, NodeOptions::new().retry(retry), 0);
    let out = graph.invoke(value!({"log": []}), RunConfig::new().with_thread("retried")).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(out["log"].as_array().unwrap().last(), Some(&value!("second")), "{out:?}");
    assert_eq!(saver.counts(), (1, 1), "only the second attempt looks the namespace up");
}
