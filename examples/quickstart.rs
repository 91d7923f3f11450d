//! A plain graph: a draft is written, reviewed, and revised until the review passes.
//!
//! Run with `cargo run --example quickstart`.

use serde_json::json;
use stategraph::prelude::*;

#[tokio::main]
async fn main() -> Result<(), stategraph::Error> {
    let schema = Schema::new()
        .last_value("topic")
        .last_value("draft")
        .key("revisions", ChannelSpec::reducer(Reducer::add()).with_default(json!(0)))
        .key("log", ChannelSpec::reducer(Reducer::append()).with_default(json!([])));

    let mut graph = StateGraph::new(schema);
    graph
        .add_node("write", |s: State, _ctx: NodeContext| async move {
            let topic = s.get_str("topic").unwrap_or("nothing").to_owned();
            Ok::<_, NodeError>(json!({"draft": format!("A short note about {topic}."), "log": "write"}))
        })
        .add_node("review", |s: State, _ctx: NodeContext| async move {
            let n = s.get_i64("revisions");
            Ok::<_, NodeError>(json!({"log": format!("review #{}", n + 1)}))
        })
        .add_node("revise", |s: State, _ctx: NodeContext| async move {
            let draft = s.get_str("draft").unwrap_or_default().to_owned();
            Ok::<_, NodeError>(json!({"draft": format!("{draft} (revised)"), "revisions": 1, "log": "revise"}))
        })
        .add_edge(START, "write")
        .add_edge("write", "review")
        .add_conditional_edges(
            "review",
            |s: &State| if s.get_i64("revisions") < 2 { "revise" } else { "done" },
            [("revise", "revise"), ("done", END)],
        )
        .add_edge("revise", "review");
    let app = graph.compile()?;

    let mut stream =
        app.stream(json!({"topic": "graphs"}), RunConfig::default(), StreamOptions::mode(StreamMode::Updates));
    use futures::StreamExt;
    while let Some(event) = stream.next().await {
        println!("{}", event?.data);
    }
    let out = app.invoke(json!({"topic": "graphs"}), RunConfig::default()).await?;
    println!("final state: {out:#}");
    assert_eq!(out["revisions"], json!(2));
    Ok(())
}
