//! Run-time behaviour through the public API: retries and their backoff, errors with their codes,
//! run context, managed values, Overwrite, nested graphs invoked from a node, concurrency.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use stategraph::prelude::*;
use stategraph::{CommandGraph, NodeError, Overwrite};

fn counter_schema() -> Schema {
    Schema::new().key("n", ChannelSpec::reducer(Reducer::add()).with_default(json!(0)))
}

fn flaky(failures: u32, error: fn() -> NodeError) -> (Arc<AtomicU32>, impl stategraph::Node) {
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let node = move |_s: State, _ctx: NodeContext| {
        let c = c.clone();
        async move { if c.fetch_add(1, Ordering::SeqCst) < failures { Err(error()) } else { Ok(json!({"n": 1})) } }
    };
    (calls, node)
}

fn single(node: impl stategraph::Node, options: NodeOptions) -> CompiledGraph {
    let mut g = StateGraph::new(counter_schema());
    g.add_node_with("work", node, options).add_edge(START, "work").add_edge("work", END);
    g.compile().unwrap()
}

#[tokio::test(start_paused = true)]
async fn retries_back_off_exponentially() {
    let (calls, node) = flaky(3, || NodeError::transient("503"));
    let policy = RetryPolicy::new()
        .max_attempts(4)
        .initial_interval(Duration::from_millis(100))
        .backoff_factor(2.0)
        .jitter(false);
    let app = single(node, NodeOptions::new().retry(policy));
    let started = tokio::time::Instant::now();
    let out = app.invoke(json!({}), RunConfig::default()).await.unwrap();
    assert_eq!(out, json!({"n": 1}));
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    // 100 + 200 + 400 ms of (virtual) sleeping between the four attempts.
    assert_eq!(started.elapsed(), Duration::from_millis(700));
}

#[tokio::test(start_paused = true)]
async fn backoff_is_capped_and_jitter_stays_below_a_second() {
    let p =
        RetryPolicy::new().initial_interval(Duration::from_secs(1)).max_interval(Duration::from_secs(3)).jitter(false);
    assert_eq!(p.delay(1), Duration::from_secs(1));
    assert_eq!(p.delay(2), Duration::from_secs(2));
    assert_eq!(p.delay(5), Duration::from_secs(3));
    let j = p.jitter(true);
    for _ in 0..50 {
        let d = j.delay(1);
        assert!(d >= Duration::from_secs(1) && d < Duration::from_secs(2), "{d:?}");
    }
}

#[tokio::test]
async fn permanent_errors_are_not_retried_by_default_and_give_up_after_max_attempts() {
    let (calls, node) = flaky(1, || NodeError::permanent("bad input").with_kind("ValueError"));
    let app = single(node, NodeOptions::new().retry(RetryPolicy::new().initial_interval(Duration::ZERO).jitter(false)));
    let err = app.invoke(json!({}), RunConfig::default()).await.unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 1, "a programming error is not retried");
    assert_eq!(err.code(), "SG030");
    assert_eq!(err.langgraph_name(), "ValueError");
    assert!(err.to_string().contains("`work`") && err.to_string().contains("bad input"), "{err}");

    let (calls, node) = flaky(10, || NodeError::new("flaky"));
    let policy = RetryPolicy::new().max_attempts(3).initial_interval(Duration::ZERO).jitter(false);
    let err = single(node, NodeOptions::new().retry(policy)).invoke(json!({}), RunConfig::default()).await.unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(err.code(), "SG030");

    let (calls, node) = flaky(2, || NodeError::permanent("only retried by a custom predicate").with_kind("KeyError"));
    let policy = RetryPolicy::new()
        .initial_interval(Duration::ZERO)
        .jitter(false)
        .retry_on(|e: &NodeError| e.kind() == "KeyError");
    single(node, NodeOptions::new().retry(policy)).invoke(json!({}), RunConfig::default()).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn nodes_see_their_attempt_step_context_and_remaining_steps() {
    #[derive(serde::Deserialize)]
    struct Ctx {
        user: String,
    }
    let mut g = StateGraph::new(Schema::new().last_value("seen").managed("left", Managed::RemainingSteps));
    g.add_node("look", |s: State, ctx: NodeContext| async move {
        let c: Ctx = ctx.context_as()?;
        Ok::<_, NodeError>(json!({"seen": {
            "user": c.user, "step": ctx.step(), "attempt": ctx.attempt(), "node": ctx.node(),
            "remaining": ctx.remaining_steps(), "managed": s.get("left").cloned(),
        }}))
    })
    .add_edge(START, "look")
    .add_edge("look", END);
    let out = g
        .compile()
        .unwrap()
        .invoke(json!({}), RunConfig::default().with_context(json!({"user": "ada"})).with_recursion_limit(10))
        .await
        .unwrap();
    assert_eq!(
        out["seen"],
        json!({"user": "ada", "step": 1, "attempt": 1, "node": "look", "remaining": 9, "managed": 9})
    );
}

#[tokio::test]
async fn run_errors_have_codes() {
    let mut g = StateGraph::new(Schema::new().last_value("x"));
    g.add_node("bad", |_s: State, _c: NodeContext| async { Ok::<_, NodeError>(json!([1, 2])) })
        .add_edge(START, "bad")
        .add_edge("bad", END);
    let app = g.compile().unwrap();
    assert_eq!(app.invoke(json!({}), RunConfig::default()).await.unwrap_err().code(), "SG012");
    assert_eq!(app.invoke(Value::Null, RunConfig::default()).await.unwrap_err().code(), "SG011");
    assert_eq!(app.invoke(json!(5), RunConfig::default()).await.unwrap_err().code(), "SG012");

    let mut g = StateGraph::new(Schema::new().last_value("x"));
    g.add_node("up", |_s: State, _c: NodeContext| async { Ok::<_, NodeError>(Command::new().parent().goto("x")) })
        .add_edge(START, "up")
        .add_edge("up", END);
    let err = g.compile().unwrap().invoke(json!({}), RunConfig::default()).await.unwrap_err();
    assert_eq!(err.code(), "SG050", "{err}");

    let mut g = StateGraph::new(counter_schema());
    g.add_node("spin", |_s: State, _c: NodeContext| async { Ok::<_, NodeError>(json!({"n": 1})) })
        .add_edge(START, "spin")
        .add_conditional_edges("spin", |_s: &State| "spin", ["spin", END]);
    let err = g.compile().unwrap().invoke(json!({}), RunConfig::default().with_recursion_limit(7)).await.unwrap_err();
    assert_eq!(err.code(), "SG020");
    assert!(err.to_string().contains("recursion limit of 7"), "{err}");
}

#[tokio::test]
async fn overwrite_replaces_a_reduced_value() {
    let mut g =
        StateGraph::new(Schema::new().key("items", ChannelSpec::reducer(Reducer::add()).with_default(json!([]))));
    g.add_node("reset", |_s: State, _c: NodeContext| async {
        Ok::<_, NodeError>(
            json!({"items": serde_json::Value::from(&stategraph::Value::from(Overwrite::new(json!(["fresh"]))))}),
        )
    })
    .add_edge(START, "reset")
    .add_edge("reset", END);
    let out = g.compile().unwrap().invoke(json!({"items": ["old"]}), RunConfig::default()).await.unwrap();
    assert_eq!(out, json!({"items": ["fresh"]}));
}

#[tokio::test]
async fn a_graph_invoked_inside_a_node_streams_under_the_node_and_can_command_the_parent() {
    let mut child = StateGraph::new(Schema::new().last_value("q").last_value("answer"));
    child
        .add_node("solve", |s: State, ctx: NodeContext| async move {
            ctx.write(json!("thinking"));
            let q = s.get_str("q").unwrap_or_default().to_owned();
            if q == "escalate" {
                return Ok::<_, NodeError>(NodeOutput::Command(
                    Command::new().parent().goto("human").update(json!({"log": ["escalated"]})),
                ));
            }
            Ok(json!({"answer": q.len()}).into())
        })
        .add_edge(START, "solve")
        .add_edge("solve", END);
    let child = child.compile().unwrap();

    let schema =
        Schema::new().last_value("question").key("log", ChannelSpec::reducer(Reducer::add()).with_default(json!([])));
    let mut parent = StateGraph::new(schema);
    parent
        .add_node_with(
            "ask",
            move |s: State, ctx: NodeContext| {
                let child = child.clone();
                async move {
                    let out = child.invoke(json!({"q": s.get("question")}), ctx.child_config()).await?;
                    Ok::<_, NodeError>(json!({"log": [out["answer"]]}))
                }
            },
            NodeOptions::new().destinations(["human"]),
        )
        .add_node("human", |_s: State, _c: NodeContext| async { Ok::<_, NodeError>(json!({"log": ["human"]})) })
        .add_edge(START, "ask")
        .add_edge("ask", END)
        .add_edge("human", END);
    let app = parent.compile().unwrap();

    let opts = StreamOptions::modes([StreamMode::Custom]).with_subgraphs(true);
    let events: Vec<_> =
        app.stream(json!({"question": "why"}), RunConfig::default(), opts).map(|e| e.unwrap()).collect().await;
    assert_eq!(events.len(), 1);
    assert!(events[0].namespace[0].starts_with("ask:"), "{:?}", events[0].namespace);
    assert_eq!(events[0].data, json!("thinking"));
    assert_eq!(app.invoke(json!({"question": "why"}), RunConfig::default()).await.unwrap()["log"], json!([3]));

    let out = app.invoke(json!({"question": "escalate"}), RunConfig::default()).await.unwrap();
    assert_eq!(out["log"], json!(["escalated", "human"]));
    assert_eq!(CommandGraph::Parent, Command::new().parent().graph);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compiled_graph_serves_concurrent_runs() {
    let mut g = StateGraph::new(counter_schema());
    g.add_node("inc", |_s: State, _c: NodeContext| async { Ok::<_, NodeError>(json!({"n": 1})) })
        .add_edge(START, "inc")
        .add_conditional_edges("inc", |s: &State| if s.get_i64("n") < 50 { "inc" } else { END }, ["inc", END]);
    let app = g.compile().unwrap();
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move { app.invoke(json!({"n": i}), RunConfig::default()).await })
        })
        .collect();
    for h in handles {
        assert_eq!(h.await.unwrap().unwrap(), json!({"n": 50}));
    }
}

#[test]
fn compiled_graphs_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<CompiledGraph>();
    assert_send_sync::<stategraph::Error>();
}

#[tokio::test]
async fn add_sequence_chains_nodes_in_order() {
    fn step(name: &'static str) -> stategraph::BoxNode {
        Arc::new(move |_s: State, _c: NodeContext| async move { Ok::<_, NodeError>(json!({"log": [name]})) })
    }
    let mut g = StateGraph::new(Schema::new().key("log", ChannelSpec::reducer(Reducer::add()).with_default(json!([]))));
    g.add_sequence([("one", step("one")), ("two", step("two")), ("three", step("three"))])
        .add_edge(START, "one")
        .add_edge("three", END);
    let out = g.compile().unwrap().invoke(json!({}), RunConfig::default()).await.unwrap();
    assert_eq!(out, json!({"log": ["one", "two", "three"]}));
}

#[tokio::test]
async fn private_keys_pass_between_nodes_without_entering_the_output() {
    let mut g = StateGraph::new(Schema::new().last_value("answer"));
    g.add_node("think", |_s: State, _c: NodeContext| async { Ok::<_, NodeError>(json!({"scratch": "42"})) })
        .add_node_with(
            "say",
            |s: State, _c: NodeContext| async move {
                assert_eq!(s.keys(), vec!["scratch"], "reads only its input keys");
                Ok::<_, NodeError>(json!({"answer": s.get_str("scratch")}))
            },
            NodeOptions::new().input_keys(["scratch"]),
        )
        .add_edge(START, "think")
        .add_edge("think", "say")
        .add_edge("say", END);
    let out = g.compile().unwrap().invoke(json!({}), RunConfig::default()).await.unwrap();
    assert_eq!(out, json!({"answer": "42"}));
}

/// Regression: a State view kept alive during write application made every append copy the
/// whole list (O(n²) runs). A reducer that looks at the list's reference count proves nobody
/// else holds it when the engine folds a write in, with and without a conditional edge.
#[tokio::test]
async fn reducers_append_in_place_when_no_view_is_held() {
    use std::sync::Mutex;
    let shared_seen = Arc::new(Mutex::new(Vec::new()));
    let seen = shared_seen.clone();
    let probe = Reducer::new("probe", move |cur, upd| {
        if let stategraph::Value::Array(list) = cur {
            seen.lock().unwrap().push(Arc::strong_count(list));
            let items = upd.as_array().cloned().unwrap_or_default();
            Arc::make_mut(list).extend(items);
        }
        Ok(())
    });
    let mut g = StateGraph::new(Schema::new().key("log", ChannelSpec::reducer(probe).with_default(json!([]))));
    g.add_node("a", |_s: State, _c: NodeContext| async { Ok::<_, NodeError>(json!({"log": ["a"]})) })
        .add_node("b", |_s: State, _c: NodeContext| async { Ok::<_, NodeError>(json!({"log": ["b"]})) })
        .add_edge(START, "a")
        .add_conditional_edges(
            "a",
            |s: &State| if s.get_array("log").map_or(0, Vec::len) < 6 { "b" } else { END },
            ["b", END],
        )
        .add_edge("b", "a");
    let out = g.compile().unwrap().invoke(json!({"log": []}), RunConfig::default()).await.unwrap();
    assert_eq!(out["log"].as_array().map(Vec::len), Some(7), "a b a b a b a");
    let counts = shared_seen.lock().unwrap().clone();
    assert!(counts.len() >= 6, "{counts:?}");
    // The first write lands on the schema's default `[]`, which the graph definition shares (and
    // which is empty, so copying it is free); every later append must find the list unshared.
    assert!(counts[1..].iter().all(|&c| c == 1), "a list was shared while being appended to: {counts:?}");
}
