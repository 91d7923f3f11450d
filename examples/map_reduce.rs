//! Map-reduce with `Send`: one task per item runs in parallel, results are gathered by a reducer.
//!
//! Run with `cargo run --example map_reduce`.

use serde_json::json;
use stategraph::Send;
use stategraph::prelude::*;

#[tokio::main]
async fn main() -> Result<(), stategraph::Error> {
    let schema = Schema::new()
        .last_value("subjects")
        .key("jokes", ChannelSpec::reducer(Reducer::add()).with_default(json!([])))
        .last_value("best");
    let mut graph = StateGraph::new(schema);
    graph
        .add_node("plan", |_s: State, _ctx: NodeContext| async {
            Ok::<_, NodeError>(json!({"subjects": ["cats", "graphs", "rust"]}))
        })
        // Each Send task gets its own input (the subject), not the state.
        .add_node("joke", |arg: State, _ctx: NodeContext| async move {
            let subject = arg.get_str("subject").unwrap_or_default().to_owned();
            Ok::<_, NodeError>(json!({"jokes": [format!("a joke about {subject}")]}))
        })
        .add_node("pick", |s: State, _ctx: NodeContext| async move {
            let jokes = s.get_array("jokes").cloned().unwrap_or_default();
            let best = jokes.iter().filter_map(|j| j.as_str()).max_by_key(|j| j.len()).unwrap_or_default().to_owned();
            Ok::<_, NodeError>(json!({"best": best}))
        })
        .add_edge(START, "plan")
        .add_conditional_edges(
            "plan",
            |s: &State| {
                let subjects = s.get_array("subjects").cloned().unwrap_or_default();
                subjects.into_iter().map(|subject| Send::new("joke", json!({"subject": subject}))).collect::<Vec<_>>()
            },
            (),
        )
        .add_edge("joke", "pick")
        .add_edge("pick", END);
    let app = graph.compile()?;
    let out = app.invoke(json!({}), RunConfig::default()).await?;
    println!("{out:#}");
    assert_eq!(out["jokes"].as_array().map(Vec::len), Some(3));
    Ok(())
}
