//! Load tool: N concurrent streaming runs of a 10-step graph against a server on loopback, each
//! on its own thread, bounded in time; reports errors, throughput and latency percentiles.
//!
//! ```text
//! cargo run --release -p stategraph-server --example load -- [--runs 200] [--db sqlite|postgres]
//!     [--url postgres://...] [--timeout-secs 120] [--step-ms 0]
//! ```
//!
//! The server runs in this process (`stategraph_server::spawn`) on a temporary SQLite file or in
//! a fresh schema of the PostgreSQL database (dropped afterwards). Each run: `POST /threads`, then
//! `POST /threads/{id}/runs/stream` with `stream_mode: ["values", "updates"]`, reading the SSE
//! body to its end; a run counts as an error when a request fails, an `error` event arrives, or
//! the final `values` event does not hold all 10 steps. Exits non-zero on any error or timeout.

use std::time::{Duration, Instant};

use serde_json::json;
use stategraph_core::{ChannelSpec, END, NodeContext, NodeError, Reducer, START, Schema, State, StateGraph};
use stategraph_server::{Database, ServerConfig};

const STEPS: usize = 10;

fn ten_steps(step_ms: u64) -> StateGraph {
    let mut g = StateGraph::new(Schema::new().key("log", ChannelSpec::reducer(Reducer::add()).with_default(json!([]))));
    for i in 0..STEPS {
        let name = format!("step_{i}");
        let n = name.clone();
        g.add_node(name.clone(), move |_s: State, _c: NodeContext| {
            let n = n.clone();
            async move {
                if step_ms > 0 {
                    tokio::time::sleep(Duration::from_millis(step_ms)).await;
                }
                Ok::<_, NodeError>(json!({"log": [n]}))
            }
        });
        if i == 0 {
            g.add_edge(START, name.as_str());
        } else {
            g.add_edge(format!("step_{}", i - 1).as_str(), name.as_str());
        }
    }
    g.add_edge(format!("step_{}", STEPS - 1).as_str(), END);
    g
}

async fn one_run(client: reqwest::Client, base: String) -> Result<Duration, String> {
    let started = Instant::now();
    let thread: serde_json::Value = client
        .post(format!("{base}/threads"))
        .json(&json!({}))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let t = thread["thread_id"].as_str().ok_or("no thread id")?;
    let res = client
        .post(format!("{base}/threads/{t}/runs/stream"))
        .json(&json!({"assistant_id": "ten_steps", "input": {}, "stream_mode": ["values", "updates"]}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !res.status().is_success() {
        return Err(format!("stream: HTTP {}", res.status()));
    }
    let body = res.text().await.map_err(|e| e.to_string())?;
    let mut last_values = None;
    let mut updates = 0;
    for block in body.split("\r\n\r\n") {
        let mut event = "";
        let mut data = "";
        for line in block.split("\r\n") {
            if let Some(e) = line.strip_prefix("event: ") {
                event = e;
            } else if let Some(d) = line.strip_prefix("data: ") {
                data = d;
            }
        }
        match event {
            "error" => return Err(format!("error event: {data}")),
            "values" => last_values = Some(data.to_owned()),
            "updates" => updates += 1,
            _ => {}
        }
    }
    let values: serde_json::Value =
        serde_json::from_str(&last_values.ok_or("no values event")?).map_err(|e| e.to_string())?;
    let steps = values["log"].as_array().map_or(0, Vec::len);
    if steps != STEPS || updates != STEPS {
        return Err(format!("{steps} steps in the final values, {updates} updates events (want {STEPS})"));
    }
    Ok(started.elapsed())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut runs = 200usize;
    let mut db = "sqlite".to_owned();
    let mut url =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/test".into());
    let mut timeout = Duration::from_secs(120);
    let mut step_ms = 0u64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--runs" => runs = value()?.parse()?,
            "--db" => db = value()?,
            "--url" => url = value()?,
            "--timeout-secs" => timeout = Duration::from_secs(value()?.parse()?),
            "--step-ms" => step_ms = value()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let dir = tempfile::tempdir()?;
    let schema = format!("sg_load_{}", uuid::Uuid::now_v7().simple());
    let database = match db.as_str() {
        "sqlite" => Database::Sqlite(dir.path().join("load.db")),
        "postgres" => Database::Postgres { url: url.clone(), schema: Some(schema.clone()) },
        other => return Err(format!("--db {other}: expected sqlite or postgres").into()),
    };
    let mut config = ServerConfig::new().with_graph("ten_steps", ten_steps(step_ms)).with_database(database);
    config.port = 0;
    let server = stategraph_server::spawn(config).await?;
    let base = server.url();
    let client = reqwest::Client::builder().pool_max_idle_per_host(runs).build()?;

    let started = Instant::now();
    let tasks: Vec<_> = (0..runs).map(|_| tokio::spawn(one_run(client.clone(), base.clone()))).collect();
    let all = tokio::time::timeout(timeout, futures::future::join_all(tasks)).await;
    let wall = started.elapsed();
    let results = match all {
        Ok(r) => r,
        Err(_) => return Err(format!("timed out after {timeout:?}").into()),
    };
    let mut latencies = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(Ok(d)) => latencies.push(d),
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(e.to_string()),
        }
    }
    latencies.sort();
    println!(
        "db={db} runs={runs} steps/run={STEPS} step_ms={step_ms} errors={} wall={:.2}s throughput={:.1} runs/s ({:.0} steps/s) p50={:.0}ms p90={:.0}ms p99={:.0}ms max={:.0}ms",
        errors.len(),
        wall.as_secs_f64(),
        latencies.len() as f64 / wall.as_secs_f64(),
        (latencies.len() * STEPS) as f64 / wall.as_secs_f64(),
        percentile(&latencies, 50.0).as_secs_f64() * 1e3,
        percentile(&latencies, 90.0).as_secs_f64() * 1e3,
        percentile(&latencies, 99.0).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    server.shutdown().await?;
    if db == "postgres" {
        use sqlx::{Connection, Executor};
        let mut c = sqlx::PgConnection::connect(&url).await?;
        c.execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))).await?;
    }
    if let Some(e) = errors.first() {
        return Err(format!("{} of {runs} runs failed; first: {e}", errors.len()).into());
    }
    Ok(())
}
