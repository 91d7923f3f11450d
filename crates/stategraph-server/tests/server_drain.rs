//! Shutdown drains runs: SIGTERM stops a run in flight at its next superstep boundary with its
//! checkpoint saved and its record `interrupted`; after a restart on the same database, a run
//! with `input: null` finishes the thread with every step's write exactly once.
//!
//! The server runs in a child process (this test binary re-executed with `SG_DRAIN_SERVER` set,
//! serving with [`stategraph_server::serve`], which handles the signal).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stategraph_core::{ChannelSpec, END, NodeContext, NodeError, Reducer, START, Schema, State, StateGraph};
use stategraph_server::{Database, ServerConfig};

const STEPS: usize = 6;

/// `s0 -> s1 -> ... -> s5`, each sleeping 250 ms and appending its name.
fn slow() -> StateGraph {
    let mut g = StateGraph::new(Schema::new().key("log", ChannelSpec::reducer(Reducer::add()).with_default(json!([]))));
    for i in 0..STEPS {
        let name = format!("s{i}");
        let n = name.clone();
        g.add_node(name.clone(), move |_s: State, _c: NodeContext| {
            let n = n.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(250)).await;
                Ok::<_, NodeError>(json!({"log": [n]}))
            }
        });
        if i == 0 {
            g.add_edge(START, name.as_str());
        } else {
            g.add_edge(format!("s{}", i - 1).as_str(), name.as_str());
        }
    }
    g.add_edge(format!("s{}", STEPS - 1).as_str(), END);
    g
}

/// The child process: serve until SIGTERM.
#[test]
#[ignore = "run by server_drain_interrupts_runs_at_a_step_boundary in a child process"]
fn drain_server_process() {
    let (Ok(port), Ok(db)) = (std::env::var("SG_DRAIN_PORT"), std::env::var("SG_DRAIN_DB")) else { return };
    let mut config = ServerConfig::new().with_graph("slow", slow()).with_database(Database::Sqlite(db.into()));
    config.port = port.parse().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(stategraph_server::serve(config)).unwrap();
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(port: u16, db: &std::path::Path) -> Server {
    Server(
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "drain_server_process", "--ignored", "--nocapture"])
            .env("SG_DRAIN_PORT", port.to_string())
            .env("SG_DRAIN_DB", db)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

async fn wait_ok(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{base}/ok")).send().await
            && r.status().is_success()
        {
            return;
        }
        assert!(Instant::now() < deadline, "server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn call(client: &reqwest::Client, method: reqwest::Method, url: String, body: Option<Value>) -> Value {
    let mut req = client.request(method, url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{status}: {v}");
    v
}

#[tokio::test]
async fn server_drain_interrupts_runs_at_a_step_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();

    let mut server = start(port, &db);
    wait_ok(&client, &base).await;
    let thread = call(&client, reqwest::Method::POST, format!("{base}/threads"), Some(json!({}))).await;
    let tid = thread["thread_id"].as_str().unwrap().to_owned();
    let run = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/threads/{tid}/runs"),
        Some(json!({"assistant_id": "slow", "input": {"log": []}})),
    )
    .await;
    let rid = run["run_id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(600)).await;

    let pid = server.0.id().to_string();
    let killed = Instant::now();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = server.0.wait().unwrap();
    assert!(status.success(), "the server exits cleanly on SIGTERM: {status:?}");
    assert!(killed.elapsed() < Duration::from_secs(10), "drained within the step (took {:?})", killed.elapsed());
    drop(server);

    let _server = start(port, &db);
    wait_ok(&client, &base).await;
    let run = call(&client, reqwest::Method::GET, format!("{base}/threads/{tid}/runs/{rid}"), None).await;
    assert_eq!(run["status"], "interrupted", "{run}");
    let state = call(&client, reqwest::Method::GET, format!("{base}/threads/{tid}/state"), None).await;
    let done = state["values"]["log"].as_array().unwrap().len();
    assert!((1..STEPS).contains(&done), "stopped mid-way at a step boundary: {state}");
    assert!(!state["next"].as_array().unwrap().is_empty(), "{state}");

    let out = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/threads/{tid}/runs/wait"),
        Some(json!({"assistant_id": "slow", "input": null})),
    )
    .await;
    let expected: Vec<Value> = (0..STEPS).map(|i| json!(format!("s{i}"))).collect();
    assert_eq!(out["log"], Value::Array(expected), "every step exactly once: {out}");
}
