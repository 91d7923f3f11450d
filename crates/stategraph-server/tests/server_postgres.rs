//! Several server processes on one PostgreSQL database: runs on one thread are serialised across
//! the processes (none lost, none overlapping), `reject` sees a run of the other process,
//! `interrupt` and cancel reach the process that runs the run, and assistants are shared.
//!
//! The servers are this test binary re-executed (`SG_PG_SERVER_PORT` set) serving with
//! [`stategraph_server::serve`]. PostgreSQL is `DATABASE_URL` (default
//! `postgres://postgres:postgres@127.0.0.1:5432/test`); each test works in a schema of its own.
//! Unreachable: a loud skip, or a failure when `CI` is set.

mod support {
    pub mod http;
    pub mod probe_graphs;
}

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stategraph_core::{END, NodeContext, NodeError, START, Schema, State, StateGraph};
use stategraph_server::{Database, ServerConfig};
use support::http::{PgSchema, pg_reachable, pg_url};

const STEPS: usize = 3;

/// `c0 -> c1 -> c2`, each reading `count`, sleeping, and writing `count + 1` (a last-value key:
/// two runs overlapping on the thread would read the same count and lose increments).
fn counter(sleep_ms: u64) -> StateGraph {
    let mut g = StateGraph::new(Schema::new().last_value("count"));
    for i in 0..STEPS {
        let name = format!("c{i}");
        g.add_node(name.clone(), move |s: State, _c: NodeContext| async move {
            let n = s.get("count").and_then(|v| v.as_i64()).unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(sleep_ms)).await;
            Ok::<_, NodeError>(json!({"count": n + 1}))
        });
        if i == 0 {
            g.add_edge(START, name.as_str());
        } else {
            g.add_edge(format!("c{}", i - 1).as_str(), name.as_str());
        }
    }
    g.add_edge(format!("c{}", STEPS - 1).as_str(), END);
    g
}

/// The child process: serve until killed.
#[test]
#[ignore = "run by the tests below in child processes"]
fn pg_server_process() {
    let (Ok(port), Ok(schema)) = (std::env::var("SG_PG_SERVER_PORT"), std::env::var("SG_PG_SERVER_SCHEMA")) else {
        return;
    };
    let mut config = ServerConfig::new()
        .with_graph("counter", counter(20))
        .with_graph("slow", counter(400))
        .with_database(Database::Postgres { url: pg_url(), schema: Some(schema) });
    config.port = port.parse().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(stategraph_server::serve(config)).unwrap();
}

struct Server(Child, String);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn spawn_server(schema: &str) -> Server {
    let port = free_port();
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "pg_server_process", "--ignored", "--nocapture"])
        .env("SG_PG_SERVER_PORT", port.to_string())
        .env("SG_PG_SERVER_SCHEMA", schema)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{base}/ok")).send().await
            && r.status().is_success()
        {
            break;
        }
        assert!(Instant::now() < deadline, "server on port {port} did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Server(child, base)
}

async fn call(client: &reqwest::Client, method: reqwest::Method, url: String, body: Option<Value>) -> (u16, Value) {
    let mut req = client.request(method, url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(text.trim()).unwrap_or(Value::Null))
}

async fn run_status(client: &reqwest::Client, base: &str, t: &str, r: &str) -> String {
    let (_, run) = call(client, reqwest::Method::GET, format!("{base}/threads/{t}/runs/{r}"), None).await;
    run["status"].as_str().unwrap_or_default().to_owned()
}

async fn wait_status(client: &reqwest::Client, base: &str, t: &str, r: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = run_status(client, base, t, r).await;
        if got == want {
            return;
        }
        assert!(Instant::now() < deadline, "run {r} is {got}, expected {want}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_serialise_runs_on_one_thread_and_lose_none() {
    if !pg_reachable("two_processes_serialise_runs_on_one_thread_and_lose_none") {
        return;
    }
    let schema = PgSchema::create();
    let (a, b) = tokio::join!(spawn_server(&schema.0), spawn_server(&schema.0));
    let client = reqwest::Client::new();
    let (status, thread) = call(&client, reqwest::Method::POST, format!("{}/threads", a.1), Some(json!({}))).await;
    assert_eq!(status, 200);
    let t = thread["thread_id"].as_str().unwrap().to_owned();

    // Ten runs at once, alternating between the processes, all queued on one thread.
    const RUNS: usize = 10;
    let mut tasks = Vec::new();
    for i in 0..RUNS {
        let base = if i % 2 == 0 { a.1.clone() } else { b.1.clone() };
        let (client, t) = (client.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            call(
                &client,
                reqwest::Method::POST,
                format!("{base}/threads/{t}/runs/wait"),
                Some(json!({"assistant_id": "counter", "input": {}, "multitask_strategy": "enqueue"})),
            )
            .await
        }));
    }
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(body.get("__error__").is_none(), "{body}");
    }
    let (_, state) = call(&client, reqwest::Method::GET, format!("{}/threads/{t}/state", b.1), None).await;
    assert_eq!(state["values"]["count"], json!(RUNS * STEPS), "every step of every run counted exactly once");
    let (_, runs) = call(&client, reqwest::Method::GET, format!("{}/threads/{t}/runs?limit=100", a.1), None).await;
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), RUNS);
    assert!(runs.iter().all(|r| r["status"] == "success"), "{runs:?}");
    let (_, thread) = call(&client, reqwest::Method::GET, format!("{}/threads/{t}", b.1), None).await;
    assert_eq!(thread["status"], "idle");

    // A run in process A makes the thread busy for process B: `reject` is a 409 there.
    let slow = json!({"assistant_id": "slow", "input": {}});
    let (status, first) =
        call(&client, reqwest::Method::POST, format!("{}/threads/{t}/runs", a.1), Some(slow.clone())).await;
    assert_eq!(status, 200);
    let first_id = first["run_id"].as_str().unwrap().to_owned();
    wait_status(&client, &b.1, &t, &first_id, "running").await;
    let mut reject = slow.clone();
    reject["multitask_strategy"] = json!("reject");
    let (status, body) = call(&client, reqwest::Method::POST, format!("{}/threads/{t}/runs", b.1), Some(reject)).await;
    assert_eq!(status, 409, "{body}");

    // `interrupt` from process B stops the run in process A, then runs.
    let mut interrupt = slow.clone();
    interrupt["multitask_strategy"] = json!("interrupt");
    let (status, second) =
        call(&client, reqwest::Method::POST, format!("{}/threads/{t}/runs", b.1), Some(interrupt)).await;
    assert_eq!(status, 200);
    let second_id = second["run_id"].as_str().unwrap().to_owned();
    wait_status(&client, &a.1, &t, &first_id, "interrupted").await;
    // A cancel sent to process A reaches the run in process B; `wait` returns once it stopped.
    wait_status(&client, &a.1, &t, &second_id, "running").await;
    let (status, _) =
        call(&client, reqwest::Method::POST, format!("{}/threads/{t}/runs/{second_id}/cancel?wait=1", a.1), None).await;
    assert_eq!(status, 200);
    assert_eq!(run_status(&client, &b.1, &t, &second_id).await, "interrupted");

    // Assistants live in the database: created in one process, used in the other.
    let (status, assistant) = call(
        &client,
        reqwest::Method::POST,
        format!("{}/assistants", a.1),
        Some(json!({"graph_id": "counter", "name": "shared", "metadata": {"team": "x"}})),
    )
    .await;
    assert_eq!(status, 200);
    let aid = assistant["assistant_id"].as_str().unwrap();
    let (status, got) = call(&client, reqwest::Method::GET, format!("{}/assistants/{aid}", b.1), None).await;
    assert_eq!((status, got["name"].clone()), (200, json!("shared")));
    let (status, body) = call(
        &client,
        reqwest::Method::POST,
        format!("{}/runs/wait", b.1),
        Some(json!({"assistant_id": aid, "input": {"count": 100}})),
    )
    .await;
    assert_eq!((status, body["count"].clone()), (200, json!(100 + STEPS)));
    drop((a, b));
}
