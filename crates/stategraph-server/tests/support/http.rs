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
}

/// The probe graphs on a free port, in memory.
pub async fn start() -> TestServer {
    start_with(probe_graphs::config().with_database(Database::Memory)).await
}

/// `config` on a free loopback port.
pub async fn start_with(mut config: ServerConfig) -> TestServer {
    config.port = 0;
    let server = stategraph_server::spawn(config).await.expect("server starts");
    let base = server.url();
    TestServer { server, client: reqwest::Client::new(), base }
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
