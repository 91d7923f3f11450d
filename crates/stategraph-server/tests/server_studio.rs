//! The studio endpoints (`/stategraph/*`) over real HTTP on loopback: kinds, schema, validation,
//! parse, export, import, and the specs directory (list, get, atomic and validated put).

mod support {
    pub mod http;
    pub mod probe_graphs;
}

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use stategraph_server::{Database, ServerConfig};
use support::http::{TestServer, start_with};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/specs")
}

/// A specs directory with two example specs (and the parts one of them includes).
fn specs_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["counter_loop.yaml", "approval_gate.yaml"] {
        std::fs::copy(examples().join(f), dir.path().join(f)).unwrap();
    }
    std::fs::create_dir(dir.path().join("parts")).unwrap();
    for f in std::fs::read_dir(examples().join("parts")).unwrap().flatten() {
        std::fs::copy(f.path(), dir.path().join("parts").join(f.file_name())).unwrap();
    }
    dir
}

async fn studio(dir: &Path, writable: bool) -> TestServer {
    let config = ServerConfig::new().with_specs_dir(dir).with_writable_specs(writable).with_database(Database::Memory);
    start_with(config).await
}

async fn put(s: &TestServer, path: &str, body: Value) -> (u16, Value) {
    let r = s.client.put(format!("{}{path}", s.base)).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

fn small_spec() -> Value {
    json!({
        "version": 1,
        "name": "hello",
        "state": {"greeting": {"type": "string"}},
        "nodes": [{"id": "greet", "kind": "set", "config": {"update": {"greeting": "hi"}}}],
        "entry": "greet",
        "edges": [{"source": "greet", "target": "__end__"}]
    })
}

#[tokio::test]
async fn info_reports_version_specs_dir_and_writability() {
    let dir = specs_dir();
    let s = studio(dir.path(), true).await;
    let (status, info) = s.get("/stategraph/info").await;
    assert_eq!(status, 200);
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["spec_version"], stategraph_spec::CURRENT_VERSION);
    assert_eq!(info["specs_dir"], dir.path().display().to_string());
    assert_eq!(info["writable"], true);

    let ro = studio(dir.path(), false).await;
    assert_eq!(ro.get("/stategraph/info").await.1["writable"], false);
    let none = start_with(ServerConfig::new().with_database(Database::Memory).with_writable_specs(true)).await;
    let (_, info) = none.get("/stategraph/info").await;
    assert_eq!(info["specs_dir"], Value::Null);
    assert_eq!(info["writable"], false, "no directory, nothing to write");
}

#[tokio::test]
async fn node_kinds_carry_titles_and_config_schemas() {
    let dir = specs_dir();
    let s = studio(dir.path(), false).await;
    let (status, body) = s.get("/stategraph/node-kinds").await;
    assert_eq!(status, 200);
    let kinds = body["kinds"].as_array().unwrap();
    let names: Vec<&str> = kinds.iter().map(|k| k["kind"].as_str().unwrap()).collect();
    for want in ["passthrough", "set", "script", "transform", "template", "http", "subgraph", "human", "llm", "tools"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let script = kinds.iter().find(|k| k["kind"] == "script").unwrap();
    assert_eq!(script["title"], "Script");
    assert_eq!(script["config_schema"]["required"], json!(["code"]));
    assert_eq!(script["config_schema"]["properties"]["code"]["type"], "string");

    let (status, schema) = s.get("/stategraph/spec-schema").await;
    assert_eq!(status, 200);
    assert_eq!(schema["title"], "Stategraph graph spec");
    assert!(schema["$defs"]["NodeSpec"].is_object());
}

#[tokio::test]
async fn validate_returns_problems_with_codes_and_pointers() {
    let dir = specs_dir();
    let s = studio(dir.path(), false).await;
    let (status, ok) = s.post("/stategraph/specs/validate", json!({"spec": small_spec()})).await;
    assert_eq!(status, 200);
    assert_eq!(ok, json!({"ok": true, "problems": []}));

    let mut bad = small_spec();
    bad["edges"][0]["target"] = json!("nowhere");
    bad["nodes"][0]["config"] = json!({"update": {"undeclared": 1}});
    let (status, res) = s.post("/stategraph/specs/validate", json!({"spec": bad})).await;
    assert_eq!(status, 200);
    assert_eq!(res["ok"], false);
    let problems = res["problems"].as_array().unwrap();
    assert!(problems.iter().any(|p| p["code"] == "SP012" && p["pointer"] == "/edges/0/target"), "{problems:?}");
    assert!(problems.iter().any(|p| p["code"] == "SP021" && p["pointer"] == "/nodes/0/config/update/undeclared"));

    // Not even shaped like a spec: problems, not a 500.
    let (status, res) = s.post("/stategraph/specs/validate", json!({"spec": {"version": 1, "nodes": 7}})).await;
    assert_eq!(status, 200);
    assert_eq!(res["ok"], false);
    assert_eq!(res["problems"][0]["code"], "SP002");
    let (status, res) = s.post("/stategraph/specs/validate", json!({"spec": [1, 2]})).await;
    assert_eq!(status, 200);
    assert_eq!(res["ok"], false);

    // The body itself is wrong: a 4xx naming the field.
    let (status, res) = s.post("/stategraph/specs/validate", json!({"nope": 1})).await;
    assert_eq!(status, 422);
    assert!(res["detail"].as_str().unwrap().contains("`spec`"));
    let r = s.post_raw("/stategraph/specs/validate", "{not json").await;
    assert_eq!(r.status().as_u16(), 422);
}

#[tokio::test]
async fn parse_reads_json_and_yaml_and_reports_syntax_errors_with_positions() {
    let dir = specs_dir();
    let s = studio(dir.path(), false).await;
    let yaml = std::fs::read_to_string(examples().join("approval_gate.yaml")).unwrap();
    let (status, res) = s.post("/stategraph/specs/parse", json!({"content": yaml, "format": null})).await;
    assert_eq!(status, 200);
    assert_eq!(res["format"], "yaml");
    assert_eq!(res["spec"]["name"], "approval_gate");
    assert_eq!(res["problems"], json!([]));

    let text = serde_json::to_string(&small_spec()).unwrap();
    let (_, res) = s.post("/stategraph/specs/parse", json!({"content": text, "format": "json"})).await;
    assert_eq!(res["spec"]["nodes"][0]["id"], "greet");

    let (status, res) = s.post("/stategraph/specs/parse", json!({"content": "{\"version\": 1,\n  oops}"})).await;
    assert_eq!(status, 200);
    assert_eq!(res["spec"], Value::Null);
    assert_eq!(res["problems"][0]["code"], "SP001");
    assert_eq!(res["problems"][0]["line"], 2);

    let (status, _) = s.post("/stategraph/specs/parse", json!({"content": "x", "format": "toml"})).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn export_writes_every_format_and_refuses_invalid_drawings() {
    let dir = specs_dir();
    let s = studio(dir.path(), false).await;
    for (format, needle) in
        [("json", "\"greet\""), ("yaml", "name: hello"), ("mermaid", "greet"), ("python", "builder.add_node(\"greet\"")]
    {
        let (status, res) = s.post("/stategraph/specs/export", json!({"spec": small_spec(), "format": format})).await;
        assert_eq!(status, 200, "{format}: {res}");
        let content = res["content"].as_str().unwrap();
        assert!(content.contains(needle), "{format}: {content}");
        assert_eq!(res["warnings"], json!([]), "{format}");
    }
    // The exported JSON and YAML read back to the same spec.
    for format in ["json", "yaml"] {
        let (_, res) = s.post("/stategraph/specs/export", json!({"spec": small_spec(), "format": format})).await;
        let (_, back) = s.post("/stategraph/specs/parse", json!({"content": res["content"], "format": format})).await;
        assert_eq!(back["spec"]["nodes"], small_spec()["nodes"], "{format}");
    }

    let mut bad = small_spec();
    bad["edges"][0]["target"] = json!("nowhere");
    let (status, res) = s.post("/stategraph/specs/export", json!({"spec": bad, "format": "mermaid"})).await;
    assert_eq!(status, 422);
    assert_eq!(res["problems"][0]["code"], "SP012");
    // Work in progress still saves as JSON, with the problems as warnings.
    let (status, res) = s.post("/stategraph/specs/export", json!({"spec": bad, "format": "json"})).await;
    assert_eq!(status, 200);
    assert!(res["warnings"][0].as_str().unwrap().starts_with("SP012"));

    // A script node has no Python translation: a stub and a warning.
    let mut scripted = small_spec();
    scripted["nodes"][0] = json!({"id": "greet", "kind": "script", "config": {"code": "#{greeting: \"hi\"}"}});
    let (status, res) = s.post("/stategraph/specs/export", json!({"spec": scripted, "format": "python"})).await;
    assert_eq!(status, 200);
    assert!(res["warnings"][0].as_str().unwrap().contains("greet"), "{res}");

    let (status, res) = s.post("/stategraph/specs/export", json!({"spec": small_spec(), "format": "png"})).await;
    assert_eq!(status, 422);
    assert!(res["detail"].as_str().unwrap().contains("png"));
}

#[tokio::test]
async fn import_turns_langgraph_graph_json_into_a_spec() {
    let dir = specs_dir();
    let s = studio(dir.path(), false).await;
    let lg = json!({
        "nodes": [{"id": "__start__"}, {"id": "agent"}, {"id": "tools"}, {"id": "__end__"}],
        "edges": [
            {"source": "__start__", "target": "agent"},
            {"source": "agent", "target": "tools", "conditional": true, "data": "continue"},
            {"source": "agent", "target": "__end__", "conditional": true, "data": "end"},
            {"source": "tools", "target": "agent"}
        ]
    });
    let (status, res) = s.post("/stategraph/specs/import", json!({"content": lg.to_string(), "name": "agent"})).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["spec"]["name"], "agent");
    assert_eq!(res["spec"]["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(res["warnings"].as_array().unwrap().len(), 3, "two passthrough nodes and the route key");
    // The skeleton is a valid spec.
    let (_, v) = s.post("/stategraph/specs/validate", json!({"spec": res["spec"]})).await;
    assert_eq!(v["ok"], true, "{v}");

    // The server's own drawing of a served graph imports too (what the UI does for code graphs).
    let id = stategraph_server::assistant_id_for("approval_gate");
    let (_, drawing) = s.get(&format!("/assistants/{id}/graph?xray=true")).await;
    let (status, res) = s.post("/stategraph/specs/import", json!({"content": drawing.to_string()})).await;
    assert_eq!(status, 200, "{res}");
    assert!(!res["spec"]["nodes"].as_array().unwrap().is_empty());

    let (status, _) = s.post("/stategraph/specs/import", json!({"content": "not json"})).await;
    assert_eq!(status, 422);
    let (status, res) = s.post("/stategraph/specs/import", json!({"content": "{\"nodes\": 1}"})).await;
    assert_eq!(status, 422);
    assert_eq!(res["problems"][0]["code"], "SP002");
}

#[tokio::test]
async fn the_specs_directory_is_listed_and_read() {
    let dir = specs_dir();
    let s = studio(dir.path(), false).await;
    let (status, res) = s.get("/stategraph/specs").await;
    assert_eq!(status, 200);
    let specs = res["specs"].as_array().unwrap();
    assert_eq!(specs.len(), 2, "{specs:?}");
    assert_eq!(specs[0]["name"], "approval_gate");
    assert_eq!(specs[0]["file"], "approval_gate.yaml");
    assert_eq!(specs[0]["graph_id"], "approval_gate");
    assert_eq!(specs[0]["assistant_id"], stategraph_server::assistant_id_for("approval_gate").to_string());
    // The listed assistant is the one the LangGraph API serves.
    let (status, _) = s.get(&format!("/assistants/{}", specs[1]["assistant_id"].as_str().unwrap())).await;
    assert_eq!(status, 200);

    let (status, spec) = s.get("/stategraph/specs/counter_loop").await;
    assert_eq!(status, 200);
    assert_eq!(spec["name"], "counter_loop");
    assert_eq!(spec["nodes"][1]["config"]["path"], "parts/summarise.yaml");

    assert_eq!(s.get("/stategraph/specs/missing").await.0, 404);
    assert_eq!(s.get("/stategraph/specs/..%2Fetc").await.0, 422);

    let none = start_with(ServerConfig::new().with_database(Database::Memory)).await;
    let (status, res) = none.get("/stategraph/specs").await;
    assert_eq!(status, 404);
    assert!(res["detail"].as_str().unwrap().contains("--specs"));
}

#[tokio::test]
async fn put_validates_then_writes_atomically_in_the_files_format() {
    let dir = specs_dir();
    let s = studio(dir.path(), true).await;

    // A new spec: written as JSON, then listed and read back.
    let (status, res) = put(&s, "/stategraph/specs/hello", small_spec()).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["ok"], true);
    assert_eq!(res["problems"], json!([]));
    let written = std::fs::read_to_string(dir.path().join("hello.json")).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&written).unwrap()["nodes"], small_spec()["nodes"]);
    assert_eq!(s.get("/stategraph/specs/hello").await.1["entry"], "greet");
    let (_, list) = s.get("/stategraph/specs").await;
    assert_eq!(list["specs"].as_array().unwrap().len(), 3);

    // An existing YAML file stays YAML; a relative subgraph path resolves in the directory.
    let (_, mut counter) = s.get("/stategraph/specs/counter_loop").await;
    counter["description"] = json!("edited in the studio");
    let (status, res) = put(&s, "/stategraph/specs/counter_loop", counter).await;
    assert_eq!(status, 200, "{res}");
    let text = std::fs::read_to_string(dir.path().join("counter_loop.yaml")).unwrap();
    assert!(text.contains("description: edited in the studio"), "{text}");
    assert!(!dir.path().join("counter_loop.json").exists());

    // Invalid: 422 with problems, the file untouched.
    let mut bad = small_spec();
    bad["edges"][0]["target"] = json!("nowhere");
    let (status, res) = put(&s, "/stategraph/specs/hello", bad).await;
    assert_eq!(status, 422);
    assert_eq!(res["problems"][0]["code"], "SP012");
    assert_eq!(std::fs::read_to_string(dir.path().join("hello.json")).unwrap(), written);
    let (status, res) = put(&s, "/stategraph/specs/hello", json!({"version": 1})).await;
    assert_eq!(status, 422, "{res}");

    // No temporary files are left behind.
    let names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into()).collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");

    // Bad names never reach the file system.
    assert_eq!(put(&s, "/stategraph/specs/.hidden", small_spec()).await.0, 422);
    assert_eq!(put(&s, "/stategraph/specs/a%2Fb", small_spec()).await.0, 422);
}

#[tokio::test]
async fn put_is_forbidden_when_the_directory_is_read_only() {
    let dir = specs_dir();
    let s = studio(dir.path(), false).await;
    let (status, res) = put(&s, "/stategraph/specs/hello", small_spec()).await;
    assert_eq!(status, 403);
    assert!(res["detail"].as_str().unwrap().contains("read-only"));
    assert!(!dir.path().join("hello.json").exists());
}

#[tokio::test]
async fn studio_routes_need_the_token_like_the_rest_of_the_api() {
    let dir = specs_dir();
    let config =
        ServerConfig::new().with_specs_dir(dir.path()).with_database(Database::Memory).with_auth_token("sesame");
    let s = start_with(config).await;
    assert_eq!(s.get("/stategraph/info").await.0, 401);
    assert_eq!(s.post("/stategraph/specs/validate", json!({"spec": small_spec()})).await.0, 401);
    let r = s.client.get(format!("{}/stategraph/info", s.base)).header("x-api-key", "sesame").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = s.client.get(format!("{}/stategraph/node-kinds", s.base)).bearer_auth("sesame").send().await.unwrap();
    assert_eq!(r.status(), 200);
    // CORS preflight from the desktop app's origin passes without the token.
    let r = s
        .client
        .request(reqwest::Method::OPTIONS, format!("{}/stategraph/specs/validate", s.base))
        .header("origin", "tauri://localhost")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type,x-api-key")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let r = s
        .client
        .get(format!("{}/stategraph/info", s.base))
        .header("origin", "http://tauri.localhost")
        .header("x-api-key", "sesame")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn a_large_body_is_refused_with_413() {
    let dir = specs_dir();
    let mut config = ServerConfig::new().with_specs_dir(dir.path()).with_database(Database::Memory);
    config.limits.max_body_bytes = 1000;
    let s = start_with(config).await;
    let big = json!({"spec": {"version": 1, "name": "x".repeat(2000)}});
    let (status, _) = s.post("/stategraph/specs/validate", big).await;
    assert_eq!(status, 413);
}
