//! Stream events: every mode at once, subgraph namespaces, the error at the end of a failing run,
//! and cancellation by dropping the stream. Event streams are snapshot-tested with ids and
//! timestamps replaced, so any change of shape or order is a deliberate one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt;
use serde_json::{Value, json};
use stategraph::prelude::*;
use stategraph::{NodeError, Send, StreamEvent};

fn normalise(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                match k.as_str() {
                    "id" => *v = json!("<task id>"),
                    "timestamp" => *v = json!("<time>"),
                    _ => normalise(v),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(normalise),
        _ => {}
    }
}

fn render(events: &[StreamEvent]) -> String {
    events
        .iter()
        .map(|e| {
            let mut data = e.data.to_json();
            normalise(&mut data);
            let ns: Vec<String> =
                e.namespace.iter().map(|s| s.split(':').next().unwrap_or_default().to_owned()).collect();
            format!("{:<8} {:<10} {}\n", ns.join("|"), e.mode.as_str(), data)
        })
        .collect()
}

fn app() -> CompiledGraph {
    let schema =
        Schema::new().last_value("topic").key("items", ChannelSpec::reducer(Reducer::add()).with_default(json!([])));
    let mut inner = StateGraph::new(schema.clone());
    inner
        .add_node("inner_work", |_s: State, ctx: NodeContext| async move {
            ctx.write(json!({"progress": "inside"}));
            Ok::<_, NodeError>(json!({"items": ["inner"]}))
        })
        .add_edge(START, "inner_work")
        .add_edge("inner_work", END);
    let inner = inner.compile().unwrap();

    let mut g = StateGraph::new(schema);
    g.add_node("plan", |_s: State, ctx: NodeContext| async move {
        ctx.write(json!("planning"));
        Ok::<_, NodeError>(json!({"topic": "t"}))
    })
    .add_node("worker", |arg: State, _c: NodeContext| async move {
        Ok::<_, NodeError>(json!({"items": [arg.get("n").cloned().unwrap_or_default()]}))
    })
    .add_node("sub", inner)
    .add_edge(START, "plan")
    .add_conditional_edges(
        "plan",
        |_s: &State| vec![Send::new("worker", json!({"n": 1})), Send::new("worker", json!({"n": 2}))],
        ["worker"],
    )
    .add_edge("plan", "sub")
    .add_edge("sub", END)
    .add_edge("worker", END);
    g.compile().unwrap()
}

#[tokio::test]
async fn every_mode_with_subgraphs() {
    let opts = StreamOptions::modes([
        StreamMode::Values,
        StreamMode::Updates,
        StreamMode::Custom,
        StreamMode::Tasks,
        StreamMode::Debug,
    ])
    .with_subgraphs(true);
    let events: Vec<StreamEvent> =
        app().stream(json!({}), RunConfig::default(), opts).map(|e| e.unwrap()).collect().await;
    insta::assert_snapshot!(render(&events));
}

#[tokio::test]
async fn subgraph_events_are_hidden_unless_asked_for() {
    let events: Vec<StreamEvent> = app()
        .stream(json!({}), RunConfig::default(), StreamOptions::modes([StreamMode::Updates, StreamMode::Custom]))
        .map(|e| e.unwrap())
        .collect()
        .await;
    assert!(events.iter().all(|e| e.namespace.is_empty()), "{events:?}");
    let updates: Vec<&stategraph::Value> =
        events.iter().filter(|e| e.mode == StreamMode::Updates).map(|e| &e.data).collect();
    // Send tasks and the subgraph all report; the subgraph reports its whole output as its update.
    assert_eq!(updates.len(), 4, "{updates:?}");
    assert_eq!(updates[0], &json!({"plan": {"topic": "t"}}));
}

#[tokio::test]
async fn a_failing_run_streams_what_happened_then_the_error() {
    let mut g = StateGraph::new(Schema::new().last_value("x"));
    g.add_node("ok", |_s: State, _c: NodeContext| async { Ok::<_, NodeError>(json!({"x": 1})) })
        .add_node("boom", |_s: State, _c: NodeContext| async { Err::<Value, _>(NodeError::permanent("kaput")) })
        .add_edge(START, "ok")
        .add_edge("ok", "boom")
        .add_edge("boom", END);
    let items: Vec<_> = g
        .compile()
        .unwrap()
        .stream(json!({}), RunConfig::default(), StreamOptions::mode(StreamMode::Updates))
        .collect()
        .await;
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap().data, json!({"ok": {"x": 1}}));
    let err = items[1].as_ref().unwrap_err();
    assert_eq!(err.code(), "SG030");
    assert!(err.to_string().contains("`boom`") && err.to_string().contains("kaput"), "{err}");
}

#[tokio::test]
async fn dropping_the_stream_cancels_the_run() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let mut g = StateGraph::new(Schema::new().key("n", ChannelSpec::reducer(Reducer::add()).with_default(json!(0))));
    g.add_node("tick", move |_s: State, _c: NodeContext| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Ok::<_, NodeError>(json!({"n": 1}))
        }
    })
    .add_edge(START, "tick")
    .add_conditional_edges("tick", |s: &State| if s.get_i64("n") < 1000 { "tick" } else { END }, ["tick", END]);
    let app = g.compile().unwrap();
    let mut stream = app.stream(
        json!({}),
        RunConfig::default().with_recursion_limit(5000),
        StreamOptions::mode(StreamMode::Updates),
    );
    for _ in 0..3 {
        stream.next().await.unwrap().unwrap();
    }
    drop(stream);
    tokio::task::yield_now().await;
    let seen = runs.load(Ordering::SeqCst);
    assert!(seen <= 4, "the run went on after the stream was dropped: {seen} node runs");
}

#[tokio::test]
async fn values_stream_starts_with_the_input_state_and_invoke_returns_the_last() {
    let mut g = StateGraph::new(Schema::new().last_value("x"));
    g.add_node(
        "double",
        |s: State, _c: NodeContext| async move { Ok::<_, NodeError>(json!({"x": s.get_i64("x") * 2})) },
    )
    .add_edge(START, "double")
    .add_edge("double", END);
    let app = g.compile().unwrap();
    let chunks: Vec<stategraph::Value> = app
        .stream(json!({"x": 21}), RunConfig::default(), StreamOptions::mode(StreamMode::Values))
        .map(|e| e.unwrap().data)
        .collect()
        .await;
    assert_eq!(chunks, vec![json!({"x": 21}), json!({"x": 42})]);
    assert_eq!(app.invoke(json!({"x": 21}), RunConfig::default()).await.unwrap(), json!({"x": 42}));
}
