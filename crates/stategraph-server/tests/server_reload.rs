//! Hot reload of the specs directory: a spec added while serving is served (with its system
//! assistant), a changed spec replaces its graph, an invalid edit keeps the last good version
//! served (the server keeps going), a removed spec stops being served.

mod support {
    pub mod http;
    pub mod probe_graphs;
}

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stategraph_server::{Database, ServerConfig, assistant_id_for};
use support::http::TestServer;

async fn eventually(s: &TestServer, what: &str, check: impl Fn(u16, &Value) -> bool, path: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = s.get(path).await;
        if check(status, &body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{what}: still {status} {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn spec_files_added_changed_broken_and_removed_while_serving() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/specs");
    let original = std::fs::read_to_string(examples.join("counter_loop.yaml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("counter_loop.yaml"), &original).unwrap();
    std::fs::create_dir(dir.path().join("parts")).unwrap();
    for f in std::fs::read_dir(examples.join("parts")).unwrap().flatten() {
        std::fs::copy(f.path(), dir.path().join("parts").join(f.file_name())).unwrap();
    }
    let mut config = ServerConfig::new().with_specs_dir(dir.path()).with_database(Database::Memory);
    config.limits.specs_poll = Some(Duration::from_millis(50));
    let s = support::http::start_with(config).await;
    let second = format!("/assistants/{}", assistant_id_for("second"));
    assert_eq!(s.get(&second).await.0, 404);

    // Added: served under its file stem, with its system assistant, and runs.
    std::fs::write(dir.path().join("second.yaml"), &original).unwrap();
    let a = eventually(&s, "added spec", |st, _| st == 200, &second).await;
    assert_eq!(a["graph_id"], "second");
    let t = s.thread().await;
    let (status, out) =
        s.post(&format!("/threads/{t}/runs/wait"), json!({"assistant_id": "second", "input": {"limit": 2}})).await;
    assert_eq!((status, out["count"].clone()), (200, json!(2)));

    // Changed: the new version is served.
    let changed = original
        .replace("description: A loop with a counter", "description: Changed while serving. A loop with a counter");
    assert_ne!(changed, original);
    std::fs::write(dir.path().join("second.yaml"), &changed).unwrap();
    eventually(
        &s,
        "changed spec",
        |_, b| b["description"].as_str().is_some_and(|d| d.starts_with("Changed while serving")),
        &second,
    )
    .await;

    // Broken: the last good version stays served, and the server keeps serving.
    std::fs::write(dir.path().join("second.yaml"), "version: 1\nname: second\nnodes: [{id: x, kind: no_such_kind}]\n")
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, still) = s.get(&second).await;
    assert_eq!(status, 200);
    assert!(still["description"].as_str().unwrap().starts_with("Changed while serving"));
    let (status, out) =
        s.post(&format!("/threads/{t}/runs/wait"), json!({"assistant_id": "second", "input": {"limit": 3}})).await;
    assert_eq!((status, out["count"].clone()), (200, json!(3)), "{out}");
    assert_eq!(s.get("/ok").await.0, 200);

    // Removed: no longer served; the other spec is untouched.
    std::fs::remove_file(dir.path().join("second.yaml")).unwrap();
    eventually(&s, "removed spec", |st, _| st == 404, &second).await;
    let (_, found) = s.post("/assistants/search", json!({})).await;
    let ids: Vec<&str> = found.as_array().unwrap().iter().map(|a| a["graph_id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["counter_loop"]);
}
