//! `stategraph serve` starts a LangGraph-API server on the given port and serves the specs of a
//! directory; a bad flag is refused with a clear message.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn get(port: u16, path: &str) -> Option<String> {
    request(port, "GET", path, "")
}

fn request(port: u16, method: &str, path: &str, body: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_answers_ok_and_lists_the_specs_of_a_directory() {
    let specs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/specs");
    let port = free_port();
    let server = Server(
        Command::new(env!("CARGO_BIN_EXE_stategraph"))
            .args(["serve", "--db", "memory", "--port", &port.to_string(), "--specs"])
            .arg(&specs)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start stategraph serve"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let ok = loop {
        if let Some(r) = get(port, "/ok") {
            break r;
        }
        assert!(Instant::now() < deadline, "the server did not answer within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok.contains("\"ok\":true"), "{ok}");
    let info = get(port, "/info").expect("info");
    assert!(info.starts_with("HTTP/1.1 200"), "{info}");
    let found = request(port, "POST", "/assistants/search", r#"{"limit": 100}"#).expect("search");
    assert!(found.starts_with("HTTP/1.1 200"), "{found}");
    for graph in ["approval_workflow", "counter_loop", "review_pipeline"] {
        assert!(found.contains(&format!("\"graph_id\":\"{graph}\"")), "{graph} is served: {found}");
    }
    drop(server);
}

/// With `--port 0` the OS picks the port; the line saying where the server listens names it, and
/// is printed only once the server accepts connections.
#[test]
fn serve_reports_the_address_it_listens_on() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stategraph"))
        .args(["serve", "--db", "memory", "--port", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start stategraph serve");
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let _server = Server(child);
    let mut line = String::new();
    let port = loop {
        line.clear();
        assert!(std::io::BufRead::read_line(&mut stderr, &mut line).unwrap() > 0, "stderr closed before the address");
        if let Some(rest) = line.trim().strip_prefix("stategraph: serving on http://127.0.0.1:") {
            break rest.split_whitespace().next().unwrap().parse::<u16>().expect("a port number");
        }
    };
    assert_ne!(port, 0, "{line}");
    let ok = get(port, "/ok").expect("the server answers at the printed address");
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
}

#[test]
fn serve_refuses_bad_directories() {
    let out = Command::new(env!("CARGO_BIN_EXE_stategraph"))
        .args(["serve", "--specs", "/nonexistent-dir", "--db", "memory"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a directory"));
}
