//! Subgraphs: a compiled graph used as a node (sharing state keys with its parent), streaming its
//! events under its namespace.
//!
//! Run with `cargo run --example subgraph`.

use futures::StreamExt;
use serde_json::json;
use stategraph::prelude::*;

#[tokio::main]
async fn main() -> Result<(), stategraph::Error> {
    // The child: two steps that refine a shared `text` key.
    let mut child = StateGraph::new(Schema::new().last_value("text"));
    child
        .add_node("upper", |s: State, _ctx: NodeContext| async move {
            Ok::<_, NodeError>(json!({"text": s.get_str("text").unwrap_or_default().to_uppercase()}))
        })
        .add_node("exclaim", |s: State, _ctx: NodeContext| async move {
            Ok::<_, NodeError>(json!({"text": format!("{}!", s.get_str("text").unwrap_or_default())}))
        })
        .add_edge(START, "upper")
        .add_edge("upper", "exclaim")
        .add_edge("exclaim", END);
    let child = child.compile()?;

    let mut parent = StateGraph::new(Schema::new().last_value("text"));
    parent
        .add_node("greet", |_s: State, _ctx: NodeContext| async { Ok::<_, NodeError>(json!({"text": "hello"})) })
        .add_node("shout", child)
        .add_edge(START, "greet")
        .add_edge("greet", "shout")
        .add_edge("shout", END);
    let app = parent.compile()?;

    let opts = StreamOptions::mode(StreamMode::Updates).with_subgraphs(true);
    let mut stream = app.stream(json!({}), RunConfig::default(), opts);
    while let Some(ev) = stream.next().await {
        let ev = ev?;
        println!("{:?} {}", ev.namespace, ev.data);
    }
    let out = app.invoke(json!({}), RunConfig::default()).await?;
    assert_eq!(out, json!({"text": "HELLO!"}));
    println!("final: {out}");
    Ok(())
}
