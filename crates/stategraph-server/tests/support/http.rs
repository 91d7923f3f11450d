//! Starting a probe server for a test and talking to it over real HTTP.

#![allow(dead_code, unreachable_pub)]

use serde_json::Value;
use stategraph_server::{Database, RunningServer, ServerConfig};

use super::probe_graphs;

/// A running server and a client for it.
pub struct TestServer {
    pub server: RunningServer,
    pub client: reqwest::Client,
    pub base: String,
    /// The PostgreSQL schema the server works in (dropped with the server).
    pub pg: Option<PgSchema>,
}

/// The probe graphs on a free port: in memory, or with `SG_SERVER_TEST_DB=postgres` in a fresh
/// schema of the PostgreSQL database at `DATABASE_URL` (the same suite on both backends).
pub async fn start() -> TestServer {
    let pg = (std::env::var("SG_SERVER_TEST_DB").as_deref() == Ok("postgres")).then(PgSchema::create);
    let database = match &pg {
        Some(p) => Database::Postgres { url: pg_url(), schema: Some(p.0.clone()) },
        None => Database::Memory,
    };
    let mut s = start_with(probe_graphs::config().with_database(database)).await;
    s.pg = pg;
    s
}

/// `config` on a free loopback port.
pub async fn start_with(mut config: ServerConfig) -> TestServer {
    config.port = 0;
    let server = stategraph_server::spawn(config).await.expect("server starts");
    let base = server.url();
    TestServer { server, client: reqwest::Client::new(), base, pg: None }
}

/// The PostgreSQL the tests use.
pub fn pg_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/test".to_owned())
}

/// A throwaway schema name, dropped (with everything in it) when this is dropped.
pub struct PgSchema(pub String);

impl PgSchema {
    /// A new schema name (the server creates the schema).
    pub fn create() -> PgSchema {
        PgSchema(format!("sg_srv_test_{}", uuid::Uuid::now_v7().simple()))
    }
}

/// Runs `f` on a fresh runtime in its own thread (usable from `Drop` inside a test's runtime).
fn blocking<T: Send + 'static>(f: impl std::future::Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f))
        .join()
        .unwrap()
}

/// Whether PostgreSQL answers at [`pg_url`]. When it does not: a panic under `CI` (the
/// PostgreSQL tests must run there), otherwise a loud banner on stderr and `false`.
pub fn pg_reachable(test: &str) -> bool {
    use sqlx::Connection;
    let url = pg_url();
    let u = url.clone();
    let attempt = blocking(async move {
        tokio::time::timeout(std::time::Duration::from_secs(10), sqlx::PgConnection::connect(&u)).await
    });
    let error = match attempt {
        Ok(Ok(_)) => return true,
        Ok(Err(e)) => e.to_string(),
        Err(_) => "timed out after 10 s".to_owned(),
    };
    let message = format!("PostgreSQL is not reachable at {url}: {error}");
    if std::env::var_os("CI").is_some() || std::env::var("SG_SERVER_TEST_DB").as_deref() == Ok("postgres") {
        panic!("{message} (CI or SG_SERVER_TEST_DB=postgres is set: the PostgreSQL tests must run)");
    }
    let line = "*".repeat(78);
    let banner = format!("\n{line}\n*** SKIPPED {test}: {message}\n*** (set CI=1 to make this a failure)\n{line}\n");
    let _ = std::io::Write::write_all(&mut std::io::stderr(), banner.as_bytes());
    false
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        use sqlx::{Connection, Executor};
        let sql = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.0);
        let url = pg_url();
        blocking(async move {
            if let Ok(mut c) = sqlx::PgConnection::connect(&url).await {
                let _ = c.execute(sqlx::AssertSqlSafe(sql)).await;
            }
        });
    }
}

impl TestServer {
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self.client.get(format!("{}{path}", self.base)).send().await.expect("request");
        read(r).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self.client.post(format!("{}{path}", self.base)).json(&body).send().await.expect("request");
        read(r).await
    }

    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn delete(&self, path: &str) -> u16 {
        self.client.delete(format!("{}{path}", self.base)).send().await.expect("request").status().as_u16()
    }

    /// A new thread's id.
    pub async fn thread(&self) -> String {
        let (status, t) = self.post("/threads", serde_json::json!({})).await;
        assert_eq!(status, 200);
        t["thread_id"].as_str().unwrap().to_owned()
    }

    /// Posts a streaming run and reads the whole SSE body: `(event, data)` pairs.
    pub async fn stream(&self, path: &str, body: Value) -> (reqwest::header::HeaderMap, Vec<(String, Value)>, String) {
        let r = self.client.post(format!("{}{path}", self.base)).json(&body).send().await.expect("request");
        assert_eq!(r.status(), 200, "stream status");
        let headers = r.headers().clone();
        let text = r.text().await.expect("body");
        (headers, parse_sse(&text), text)
    }
}

async fn read(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    let body = if text.trim().is_empty() { Value::Null } else { serde_json::from_str(text.trim()).expect(&text) };
    (status, body)
}

/// Splits an SSE body into `(event, data)`; comments (heartbeats) are skipped.
pub fn parse_sse(text: &str) -> Vec<(String, Value)> {
    text.split("\r\n\r\n")
        .filter_map(|block| {
            let mut event = None;
            let mut data = None;
            for line in block.split("\r\n") {
                if let Some(e) = line.strip_prefix("event: ") {
                    event = Some(e.to_owned());
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data = Some(serde_json::from_str(d).expect(d));
                }
            }
            Some((event?, data.unwrap_or(Value::Null)))
        })
        .collect()
}
