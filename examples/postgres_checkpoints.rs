//! Checkpoints in PostgreSQL: run a three-step graph on a thread, list the thread's history, then
//! fork it — `update_state` on a past checkpoint makes a new branch, and the next run continues
//! from there. The old branch stays in the history.
//!
//! ```sh
//! DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/test \
//!     cargo run --example postgres_checkpoints --features postgres
//! ```
//!
//! The example deletes its thread at the end.

use std::sync::Arc;

use stategraph::checkpoint::{CheckpointConfig, Checkpointer, ListFilter};
use stategraph::postgres::PostgresSaver;
use stategraph::prelude::*;
use stategraph::sync_node;

type AnyError = Box<dyn std::error::Error>;

fn graph(saver: Arc<dyn Checkpointer>) -> Result<CompiledGraph, stategraph::Error> {
    let schema = Schema::new()
        .last_value("topic")
        .last_value("outline")
        .last_value("article")
        .key("trail", ChannelSpec::reducer(Reducer::extend()).with_default(value!([])));
    let mut g = StateGraph::new(schema);
    g.add_node(
        "research",
        sync_node(|s: State, _c: NodeContext| {
            let topic = s.get_str("topic").unwrap_or_default().to_owned();
            Ok::<Value, NodeError>(value!({"outline": format!("three facts about {topic}"), "trail": ["research"]}))
        }),
    );
    g.add_node(
        "write",
        sync_node(|s: State, _c: NodeContext| {
            let article = format!("An article on {}", s.get_str("outline").unwrap_or_default());
            Ok::<Value, NodeError>(value!({"article": article, "trail": ["write"]}))
        }),
    );
    g.add_node(
        "edit",
        sync_node(|s: State, _c: NodeContext| {
            let article = format!("{} (edited)", s.get_str("article").unwrap_or_default());
            Ok::<Value, NodeError>(value!({"article": article, "trail": ["edit"]}))
        }),
    );
    g.add_edge(START, "research");
    g.add_edge("research", "write");
    g.add_edge("write", "edit");
    g.add_edge("edit", END);
    g.compile_with(CompileOptions::with_checkpointer(saver))
}

fn short(id: Option<impl std::fmt::Display>) -> String {
    id.map(|i| i.to_string()).map(|s| s[s.len() - 8..].to_owned()).unwrap_or_else(|| "-".into())
}

async fn print_history(graph: &CompiledGraph, thread: &str) -> Result<usize, AnyError> {
    let history = graph.get_state_history(&CheckpointConfig::thread(thread), ListFilter::default()).await?;
    println!("{:<10} {:<10} {:<8} {:>4}  {:<12} article", "checkpoint", "parent", "source", "step", "next");
    for snap in &history {
        let (source, step) = snap.metadata.as_ref().map(|m| (format!("{:?}", m.source), m.step)).unwrap_or_default();
        println!(
            "{:<10} {:<10} {:<8} {:>4}  {:<12} {}",
            short(snap.config.checkpoint_id),
            short(snap.parent_config.as_ref().and_then(|p| p.checkpoint_id)),
            source.to_lowercase(),
            step,
            snap.next.join(","),
            snap.values.get("article").map(|a| a.to_string()).unwrap_or_else(|| "-".into()),
        );
    }
    Ok(history.len())
}

#[tokio::main]
async fn main() -> Result<(), AnyError> {
    let url = std::env::var("DATABASE_URL")
        .map_err(|_| "set DATABASE_URL, e.g. postgres://postgres:postgres@127.0.0.1:5432/test")?;
    let saver = Arc::new(PostgresSaver::connect(&url).await?);
    let graph = graph(saver.clone())?;
    // A thread id of its own, so runs of the example never share history.
    let thread = format!("postgres-example-{}", std::process::id());
    let config = RunConfig::new().with_thread(&thread).with_durability(Durability::Sync);

    let out = graph.invoke(value!({"topic": "checkpoints"}), config.clone()).await?;
    println!("run 1 finished: {}\n", out["article"]);
    println!("history of thread {thread} (newest first):");
    let before = print_history(&graph, &thread).await?;

    // Fork: go back to the checkpoint where `write` was about to run, change the outline as if
    // `research` had written it, and run again from there.
    let cfg = CheckpointConfig::thread(&thread);
    let history = graph.get_state_history(&cfg, ListFilter::default()).await?;
    let before_write = history.iter().find(|s| s.next == ["write"]).ok_or("no checkpoint before `write`")?;
    let fork = graph
        .update_state(&before_write.config, value!({"outline": "one surprising fact about forks"}), Some("research"))
        .await?;
    println!("\nforked from {} as {}", short(before_write.config.checkpoint_id), short(fork.checkpoint_id));
    let out = graph.invoke(Value::Null, config).await?;
    println!("run 2 (from the fork) finished: {}\n", out["article"]);
    println!("history after the fork (the first branch is still there):");
    let after = print_history(&graph, &thread).await?;
    assert_eq!(after, before + 3, "the fork, then write and edit again");
    assert_eq!(out["article"], value!("An article on one surprising fact about forks (edited)"));

    let latest = graph.get_state(&cfg).await?;
    println!("\nlatest state: {:#}", latest.values);
    saver.delete_thread(&thread).await?;
    saver.close().await;
    Ok(())
}
