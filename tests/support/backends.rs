//! The three checkpointers engine persistence tests run over: in-memory, SQLite (a temporary
//! file) and PostgreSQL (the local server, schema `sg_engine_tests`; unreachable fails under `CI`
//! and prints a loud SKIPPED banner otherwise).

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use stategraph::checkpoint::{Checkpointer, InMemorySaver};
use stategraph_checkpoint_postgres::{PostgresOptions, PostgresSaver};
use stategraph_checkpoint_sqlite::SqliteSaver;

/// A backend under test; keeps its temporary directory alive.
pub struct Backend {
    pub name: &'static str,
    pub saver: Arc<dyn Checkpointer>,
    _dir: Option<tempfile::TempDir>,
}

pub fn pg_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/test".to_owned())
}

/// Memory, SQLite and (when reachable) PostgreSQL.
pub async fn backends(test: &str) -> Vec<Backend> {
    let mut out = vec![Backend { name: "memory", saver: Arc::new(InMemorySaver::new()), _dir: None }];
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = SqliteSaver::open(dir.path().join("state.db")).await.expect("open sqlite");
    out.push(Backend { name: "sqlite", saver: Arc::new(sqlite), _dir: Some(dir) });
    if let Some(pg) = postgres(test).await {
        out.push(Backend { name: "postgres", saver: Arc::new(pg), _dir: None });
    }
    out
}

/// The PostgreSQL saver, or `None` after a loud banner when the server is unreachable outside CI.
pub async fn postgres(test: &str) -> Option<PostgresSaver> {
    let url = pg_url();
    let attempt = tokio::time::timeout(
        Duration::from_secs(10),
        PostgresSaver::connect_with(&url, PostgresOptions::default().schema("sg_engine_tests").max_connections(8)),
    )
    .await;
    let error = match attempt {
        Ok(Ok(saver)) => return Some(saver),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "timed out after 10 s".to_owned(),
    };
    let message = format!("PostgreSQL is not reachable at {url}: {error}");
    if std::env::var_os("CI").is_some() {
        panic!("{message} (CI is set: the PostgreSQL tests must run; start the server, see .ci/run)");
    }
    let banner = format!(
        "\n{line}\n*** SKIPPED {test} on postgres: {message}\n*** (set CI=1 to make this a failure)\n{line}\n",
        line = "*".repeat(78)
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), banner.as_bytes());
    None
}

/// A thread id no other test (or earlier run against the same database) uses.
pub fn thread(test: &str) -> String {
    format!("{test}-{}", uuid_like())
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{n:x}-{}", std::process::id())
}
