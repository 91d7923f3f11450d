//! An approval workflow that survives a restart: `draft` writes a post, `review` pauses the run
//! with `interrupt` (the payload says what to approve), and the process exits. Run it again with
//! the same SQLite file and an answer: the run resumes where it paused, then `publish`es, or
//! `revise`s the draft and asks again.
//!
//! ```sh
//! cargo run --example approval_sqlite --features sqlite -- --db /tmp/approval.db start "Rust 2024"
//! cargo run --example approval_sqlite --features sqlite -- --db /tmp/approval.db reject "shorter, please"
//! cargo run --example approval_sqlite --features sqlite -- --db /tmp/approval.db approve "looks good"
//! cargo run --example approval_sqlite --features sqlite -- --db /tmp/approval.db status
//! ```
//!
//! Options: `--db PATH` (default `approval.db`), `--thread ID` (default `approval-1`).

use std::process::ExitCode;
use std::sync::Arc;

use stategraph::checkpoint::CheckpointConfig;
use stategraph::prelude::*;
use stategraph::sqlite::SqliteSaver;
use stategraph::sync_node;

type AnyError = Box<dyn std::error::Error>;

fn graph(saver: Arc<SqliteSaver>) -> Result<CompiledGraph, stategraph::Error> {
    let schema = Schema::new()
        .last_value("topic")
        .last_value("draft")
        .key("revision", ChannelSpec::reducer(Reducer::add()).with_default(0))
        .last_value("decision")
        .last_value("published")
        .key("history", ChannelSpec::reducer(Reducer::extend()).with_default(value!([])));
    let mut g = StateGraph::new(schema);
    g.add_node(
        "draft",
        sync_node(|s: State, _ctx: NodeContext| {
            let topic = s.get_str("topic").unwrap_or("something");
            let draft = format!("{topic}: what changed, why it matters, and how to upgrade.");
            Ok::<Value, NodeError>(value!({"draft": draft, "revision": 1, "history": ["drafted v1"]}))
        }),
    );
    // Runs twice per answer: once to pause, and again on resume, when `interrupt` returns the
    // answer instead of pausing. Nothing before the `interrupt` call may have side effects.
    g.add_node(
        "review",
        sync_node(|s: State, ctx: NodeContext| {
            let answer = ctx.interrupt(value!({
                "action": "approve_post",
                "question": "Publish this draft?",
                "draft": s.get("draft").cloned().unwrap_or(Value::Null),
                "revision": s.get_i64("revision"),
                "answers": ["approve <comment>", "reject <what to change>"],
            }))?;
            let approved = answer["approved"].as_bool().unwrap_or(false);
            let comment = answer["comment"].as_str().unwrap_or_default().to_owned();
            let verdict = if approved { "approved" } else { "rejected" };
            Ok::<Value, NodeError>(value!({
                "decision": {"approved": approved, "comment": comment.clone()},
                "history": [format!("{verdict} v{}: {comment}", s.get_i64("revision"))],
            }))
        }),
    );
    g.add_node(
        "revise",
        sync_node(|s: State, _ctx: NodeContext| {
            let wanted = s.get("decision").and_then(|d| d["comment"].as_str()).unwrap_or_default().to_owned();
            let draft = format!("{} (revised: {wanted})", s.get_str("draft").unwrap_or_default());
            let v = s.get_i64("revision") + 1;
            Ok::<Value, NodeError>(value!({"draft": draft, "revision": 1, "history": [format!("revised to v{v}")]}))
        }),
    );
    g.add_node(
        "publish",
        sync_node(|s: State, _ctx: NodeContext| {
            Ok::<Value, NodeError>(value!({"published": s.get("draft").cloned(), "history": ["published"]}))
        }),
    );
    g.add_edge(START, "draft");
    g.add_edge("draft", "review");
    g.add_conditional_edges(
        "review",
        |s: &State| {
            let approved = s.get("decision").and_then(|d| d["approved"].as_bool()).unwrap_or(false);
            if approved { "publish" } else { "revise" }
        },
        PathMap::nodes(["publish", "revise"]),
    );
    g.add_edge("revise", "review");
    g.add_edge("publish", END);
    g.compile_with(CompileOptions::with_checkpointer(saver))
}

/// Prints what the run is waiting for, or that it finished.
async fn report(graph: &CompiledGraph, thread: &str) -> Result<(), AnyError> {
    let snap = graph.get_state(&CheckpointConfig::thread(thread)).await?;
    println!("state of thread {thread}:");
    println!("{:#}", snap.values);
    if snap.interrupts.is_empty() && snap.next.is_empty() {
        println!("\nfinished: nothing is pending");
    }
    for i in &snap.interrupts {
        println!("\nPENDING APPROVAL (interrupt {}):", i.id);
        println!("{:#}", i.value);
        println!("answer with `approve <comment>` or `reject <what to change>`");
    }
    Ok(())
}

struct Args {
    db: String,
    thread: String,
    command: String,
    text: String,
}

fn parse() -> Result<Args, String> {
    let mut args =
        Args { db: "approval.db".into(), thread: "approval-1".into(), command: String::new(), text: String::new() };
    let mut rest = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--db" => args.db = it.next().ok_or("--db needs a path")?,
            "--thread" => args.thread = it.next().ok_or("--thread needs an id")?,
            _ => rest.push(a),
        }
    }
    let mut rest = rest.into_iter();
    args.command = rest.next().ok_or("missing command: start | approve | reject | status")?;
    args.text = rest.collect::<Vec<_>>().join(" ");
    Ok(args)
}

async fn run(args: Args) -> Result<(), AnyError> {
    let saver = Arc::new(SqliteSaver::open(&args.db).await?);
    let graph = graph(saver.clone())?;
    let config = RunConfig::new().with_thread(&args.thread).with_durability(Durability::Sync);
    let snap = graph.get_state(&CheckpointConfig::thread(&args.thread)).await?;
    match args.command.as_str() {
        "start" => {
            if snap.metadata.is_some() {
                return Err(format!(
                    "thread {} already exists in {}; use approve, reject or status",
                    args.thread, args.db
                )
                .into());
            }
            let topic = if args.text.is_empty() { "Stategraph 0.1".to_owned() } else { args.text };
            println!("starting thread {} in {} (topic {topic:?})\n", args.thread, args.db);
            graph.invoke(value!({"topic": topic}), config).await?;
        }
        "approve" | "reject" => {
            if snap.interrupts.is_empty() {
                return Err(
                    format!("thread {} is not waiting for an approval; run `start` or `status`", args.thread).into()
                );
            }
            let answer = value!({"approved": args.command == "approve", "comment": args.text});
            println!("resuming thread {} from {} with {answer}\n", args.thread, args.db);
            graph.invoke(Command::new().resume(answer), config).await?;
        }
        "status" => {}
        other => return Err(format!("unknown command {other:?}: start | approve | reject | status").into()),
    }
    report(&graph, &args.thread).await?;
    saver.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "{e}\nusage: approval_sqlite [--db PATH] [--thread ID] start [topic] | approve [comment] | reject [what to change] | status"
            );
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
