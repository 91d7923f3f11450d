//! A small HTTP/1.1 server for the client tests: it listens on 127.0.0.1:0, answers each request
//! with the next scripted reply, and records what it received.
//!
//! Written on tokio's TCP directly rather than with a web framework: the tests need to control
//! the exact bytes on the wire (a broken SSE line, a reply that never comes), and it keeps the
//! test build light on a small machine.

#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value as Json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One scripted reply.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A JSON body with a status and extra headers.
    Json { status: u16, headers: Vec<(String, String)>, body: Json },
    /// A server-sent events body, written piece by piece (each piece is sent as is).
    Sse(Vec<String>),
    /// Waits, then sends the inner reply.
    Delayed(Duration, Box<Reply>),
    /// Like `Sse`, with this pause before each piece after the first (to see tokens arrive one
    /// by one at the other end).
    SsePaced(Vec<String>, Duration),
}

impl Reply {
    /// 200 with this JSON.
    pub fn ok(body: Json) -> Reply {
        Reply::Json { status: 200, headers: vec![], body }
    }
    /// An error status with OpenAI's error body.
    pub fn error(status: u16, message: &str) -> Reply {
        Reply::Json {
            status,
            headers: vec![],
            body: serde_json::json!({"error": {"message": message, "type": "server_error"}}),
        }
    }
    /// Adds a header.
    pub fn header(self, k: &str, v: &str) -> Reply {
        match self {
            Reply::Json { status, mut headers, body } => {
                headers.push((k.into(), v.into()));
                Reply::Json { status, headers, body }
            }
            other => other,
        }
    }
    /// SSE events: each JSON chunk as a `data:` line, then `[DONE]`.
    pub fn sse(chunks: &[Json]) -> Reply {
        let mut pieces: Vec<String> = chunks.iter().map(|c| format!("data: {c}\n\n")).collect();
        pieces.push("data: [DONE]\n\n".into());
        Reply::Sse(pieces)
    }
    /// Like [`Reply::sse`], pausing before each event after the first.
    pub fn sse_paced(chunks: &[Json], pause: Duration) -> Reply {
        match Reply::sse(chunks) {
            Reply::Sse(pieces) => Reply::SsePaced(pieces, pause),
            _ => unreachable!("sse builds Sse"),
        }
    }
}

/// A request as received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Json,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

pub struct Server {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Server {
    /// Starts serving the replies, in order (a request beyond them gets a 500).
    pub async fn start(replies: Vec<Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let replies = Arc::new(Mutex::new(VecDeque::from(replies)));
        let recorded = requests.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else { return };
                let (replies, recorded) = (replies.clone(), recorded.clone());
                tokio::spawn(async move {
                    let _ = serve(socket, replies, recorded).await;
                });
            }
        });
        Server { addr, requests }
    }

    /// The base URL to give the client.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// What was received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

async fn serve(
    mut socket: TcpStream,
    replies: Arc<Mutex<VecDeque<Reply>>>,
    recorded: Arc<Mutex<Vec<Recorded>>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        let n = socket.read(&mut tmp).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_owned();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize =
        headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    while buf.len() < head_end + length {
        let n = socket.read(&mut tmp).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
    let body = serde_json::from_slice(&buf[head_end..]).unwrap_or(Json::Null);
    recorded.lock().unwrap().push(Recorded { method, path, headers, body });
    let reply = replies.lock().unwrap().pop_front().unwrap_or_else(|| Reply::error(500, "no reply scripted"));
    write_reply(&mut socket, reply).await
}

async fn write_reply(socket: &mut TcpStream, reply: Reply) -> std::io::Result<()> {
    let mut reply = reply;
    while let Reply::Delayed(d, inner) = reply {
        tokio::time::sleep(d).await;
        reply = *inner;
    }
    match reply {
        Reply::Json { status, headers, body } => {
            let body = body.to_string();
            let mut head = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            socket.write_all(head.as_bytes()).await?;
            socket.write_all(body.as_bytes()).await?;
        }
        Reply::Sse(pieces) => write_sse(socket, pieces, Duration::from_millis(2)).await?,
        Reply::SsePaced(pieces, pause) => write_sse(socket, pieces, pause).await?,
        Reply::Delayed(..) => unreachable!("unwrapped above"),
    }
    socket.shutdown().await
}

async fn write_sse(socket: &mut TcpStream, pieces: Vec<String>, pause: Duration) -> std::io::Result<()> {
    socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n").await?;
    for (i, p) in pieces.into_iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(pause).await;
        }
        socket.write_all(p.as_bytes()).await?;
        socket.flush().await?;
    }
    Ok(())
}
