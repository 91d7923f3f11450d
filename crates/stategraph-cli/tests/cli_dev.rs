//! `stategraph dev` on a fresh machine: no flags but the port, an empty app data folder. It must
//! create the specs folder with examples and the database in the app data folder, serve the
//! studio page, the studio endpoints and the API, and let the studio save a spec.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `(status, headers+body)` of one HTTP/1.1 request.
fn request(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, out))
}

fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn dev_serves_the_studio_with_app_data_defaults() {
    let data = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap(); // no ./specs here
    let port = free_port();
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_stategraph"))
        .args(["dev", "--no-browser", "--port", &port.to_string()])
        .current_dir(cwd.path())
        .env("STATEGRAPH_DATA_DIR", data.path())
        .env_remove("STATEGRAPH_API_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start stategraph dev");
    let mut stderr = child.stderr.take().unwrap();
    let _server = Server(child);
    let ok = loop {
        if let Some(r) = request(port, "GET", "/ok", "") {
            break r;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "stategraph dev did not answer within 60 s");
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!("stategraph dev answered after {:?}", started.elapsed());
    assert_eq!(ok.0, 200);

    // The studio page (the built UI, or the page saying how to build it).
    let (status, page) = request(port, "GET", "/studio/", "").unwrap();
    assert_eq!(status, 200);
    assert!(page.to_ascii_lowercase().contains("content-type: text/html"), "{page}");
    assert!(body(&page).to_ascii_lowercase().contains("<html"));
    let (status, root) = request(port, "GET", "/", "").unwrap();
    assert_eq!(status, 307, "{root}");
    assert!(root.to_ascii_lowercase().contains("location: /studio/"));

    // The specs folder was created in the app data folder with the examples, and is writable.
    let specs = data.path().join("specs");
    assert!(specs.join("support_triage.yaml").is_file());
    let (status, info) = request(port, "GET", "/stategraph/info", "").unwrap();
    assert_eq!(status, 200);
    let info: serde_json::Value = serde_json::from_str(body(&info)).unwrap();
    assert_eq!(info["writable"], true);
    assert_eq!(info["ui"], true);
    assert_eq!(
        std::path::Path::new(info["specs_dir"].as_str().unwrap()).canonicalize().unwrap(),
        specs.canonicalize().unwrap()
    );
    let (_, list) = request(port, "GET", "/stategraph/specs", "").unwrap();
    assert!(body(&list).contains("\"support_triage\""), "{list}");
    // The examples are served as graphs by the LangGraph API too.
    let (status, found) = request(port, "POST", "/assistants/search", "{}").unwrap();
    assert_eq!(status, 200);
    assert!(body(&found).contains("\"graph_id\":\"approval_workflow\""), "{found}");

    // The database lives in the app data folder.
    assert!(data.path().join("stategraph.db").is_file());

    // The studio saves into the folder.
    let spec = r#"{"version":1,"name":"saved","state":{"x":{"type":"integer"}},"nodes":[{"id":"a","kind":"set","config":{"update":{"x":1}}}],"entry":"a","edges":[{"source":"a","target":"__end__"}]}"#;
    let (status, saved) = request(port, "PUT", "/stategraph/specs/saved", spec).unwrap();
    assert_eq!(status, 200, "{saved}");
    assert!(specs.join("saved.json").is_file());

    // It printed where everything is.
    drop(_server);
    let mut printed = String::new();
    stderr.read_to_string(&mut printed).unwrap();
    assert!(printed.contains(&format!("http://127.0.0.1:{port}/studio/")), "{printed}");
    assert!(printed.contains("stategraph.db"), "{printed}");
}

#[test]
fn dev_refuses_a_port_in_use_with_a_clear_message() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stategraph"))
        .args(["dev", "--no-browser", "--db", "memory", "--port", &port.to_string()])
        .env("STATEGRAPH_DATA_DIR", data.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("port {port}")) && err.contains("--port"), "{err}");
}

#[test]
fn dev_help_explains_the_defaults() {
    let out = Command::new(env!("CARGO_BIN_EXE_stategraph")).args(["dev", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in ["--no-browser", "--port", "--specs", "2024", "app data folder"] {
        assert!(help.contains(needle), "`{needle}` missing from:\n{help}");
    }
}
