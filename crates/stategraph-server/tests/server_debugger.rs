//! What the studio's debugger needs beyond LangGraph's API: per-run `breakpoints` (conditions,
//! stepping) and `x-reducer` in state schemas.

mod support {
    pub mod http;
    pub mod probe_graphs;
}

use std::path::Path;

use serde_json::json;
use stategraph_server::{Database, ServerConfig, assistant_id_for};

async fn counter_loop_server() -> (support::http::TestServer, tempfile::TempDir) {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/specs");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(examples.join("counter_loop.yaml"), dir.path().join("counter_loop.yaml")).unwrap();
    std::fs::create_dir(dir.path().join("parts")).unwrap();
    for f in std::fs::read_dir(examples.join("parts")).unwrap().flatten() {
        std::fs::copy(f.path(), dir.path().join("parts").join(f.file_name())).unwrap();
    }
    let config = ServerConfig::new().with_specs_dir(dir.path()).with_database(Database::Memory);
    (support::http::start_with(config).await, dir)
}

#[tokio::test]
async fn a_conditional_breakpoint_pauses_the_run_and_a_plain_resume_finishes_it() {
    let (s, _dir) = counter_loop_server().await;
    let t = s.thread().await;
    let body = json!({
        "assistant_id": "counter_loop",
        "input": {"limit": 4},
        "breakpoints": [{"node": "step", "position": "before", "when": "state.count >= 2"}],
    });
    let (status, out) = s.post(&format!("/threads/{t}/runs/wait"), body).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["count"], 2, "paused before `step` once count reached 2: {out}");
    let (_, state) = s.get(&format!("/threads/{t}/state")).await;
    assert_eq!(state["next"], json!(["step"]));
    let (_, thread) = s.get(&format!("/threads/{t}")).await;
    assert_eq!(thread["status"], "interrupted", "{thread}");

    // Stepping: one superstep per run.
    let step = json!({"assistant_id": "counter_loop", "input": null,
                      "breakpoints": [{"node": "*", "position": "after"}]});
    let (_, out) = s.post(&format!("/threads/{t}/runs/wait"), step).await;
    assert_eq!(out["count"], 3, "{out}");

    let (status, out) =
        s.post(&format!("/threads/{t}/runs/wait"), json!({"assistant_id": "counter_loop", "input": null})).await;
    assert_eq!(status, 200);
    assert_eq!(out["count"], 4);
    assert_eq!(out["summary"], "4 steps, squares 1, 4, 9, 16");
}

#[tokio::test]
async fn a_bad_breakpoint_is_rejected_with_its_index_and_problem() {
    let (s, _dir) = counter_loop_server().await;
    let t = s.thread().await;
    let body = json!({"assistant_id": "counter_loop", "input": {},
                      "breakpoints": [{"node": "step"}, {"node": "step", "when": "state.count >"}]});
    let (status, out) = s.post(&format!("/threads/{t}/runs/wait"), body).await;
    assert_eq!(status, 422, "{out}");
    let detail = out["detail"].as_str().unwrap();
    assert!(detail.contains("breakpoints[1]") && detail.contains("syntax error"), "{detail}");
}

#[tokio::test]
async fn state_schemas_name_each_keys_reducer() {
    let (s, _dir) = counter_loop_server().await;
    let (_, schemas) = s.get(&format!("/assistants/{}/schemas", assistant_id_for("counter_loop"))).await;
    assert_eq!(schemas["state_schema"]["properties"]["count"]["x-reducer"], "last_value", "{schemas}");
    let config = support::probe_graphs::config().with_database(Database::Memory);
    let probe = support::http::start_with(config).await;
    let (_, found) = probe.post("/assistants/search", json!({})).await;
    let reducers: Vec<String> =
        found.as_array().unwrap().iter().map(|a| a["assistant_id"].as_str().unwrap().to_owned()).collect();
    let mut seen = Vec::new();
    for id in reducers {
        let (_, schemas) = probe.get(&format!("/assistants/{id}/schemas")).await;
        for (_, p) in schemas["state_schema"]["properties"].as_object().unwrap() {
            seen.push(p["x-reducer"].as_str().expect("every key names its reducer").to_owned());
        }
    }
    assert!(seen.iter().any(|r| r == "last_value"), "{seen:?}");
    assert!(seen.iter().any(|r| r != "last_value"), "some probe graph has a reducer key: {seen:?}");
}
