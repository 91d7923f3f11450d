//! Graphs served from a directory of specs (stategraph-spec), next to graphs registered in Rust.

mod support {
    pub mod http;
    pub mod probe_graphs;
}

use std::path::Path;

use serde_json::json;
use stategraph_server::{Database, ServerConfig};

#[tokio::test]
async fn specs_in_a_directory_are_served_under_their_file_stem() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/specs");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(examples.join("counter_loop.yaml"), dir.path().join("counter_loop.yaml")).unwrap();
    std::fs::create_dir(dir.path().join("parts")).unwrap();
    for f in std::fs::read_dir(examples.join("parts")).unwrap().flatten() {
        std::fs::copy(f.path(), dir.path().join("parts").join(f.file_name())).unwrap();
    }
    let config = ServerConfig::new()
        .with_graph("simple", support::probe_graphs::simple())
        .with_specs_dir(dir.path())
        .with_database(Database::Memory);
    let s = support::http::start_with(config).await;
    let (_, found) = s.post("/assistants/search", json!({})).await;
    let ids: Vec<&str> = found.as_array().unwrap().iter().map(|a| a["graph_id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["simple", "counter_loop"]);
    let (_, schemas) =
        s.get(&format!("/assistants/{}/schemas", stategraph_server::assistant_id_for("counter_loop"))).await;
    assert_eq!(schemas["state_schema"]["properties"]["count"]["type"], "integer");
    let t = s.thread().await;
    let (status, out) = s
        .post(&format!("/threads/{t}/runs/wait"), json!({"assistant_id": "counter_loop", "input": {"limit": 4}}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(out["count"], 4);
    assert_eq!(out["squares"], json!([1, 4, 9, 16]));
    assert_eq!(out["summary"], "4 steps, squares 1, 4, 9, 16");
}

#[tokio::test]
async fn a_spec_that_does_not_compile_stops_the_server_with_its_problems() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.yaml"),
        "version: 1\nname: broken\nnodes: [{id: a, kind: nope}]\nentry: a\n",
    )
    .unwrap();
    let config = ServerConfig::new().with_specs_dir(dir.path()).with_database(Database::Memory);
    let err = stategraph_server::spawn(config).await.err().expect("refused");
    assert!(err.to_string().contains("broken"), "{err}");
}
