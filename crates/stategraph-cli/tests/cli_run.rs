//! `stategraph run`: the final state, or stream events as JSON lines.

use std::process::{Command, Output};

use serde_json::{Value, json};

fn stategraph(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stategraph")).args(args).output().expect("the binary runs")
}

fn example(name: &str) -> String {
    format!("{}/../../examples/specs/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn prints_the_final_state() {
    let out = stategraph(&["run", &example("counter_loop.yaml"), "--input", r#"{"limit": 3}"#]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let state: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(state, json!({"count": 3, "limit": 3, "squares": [1, 4, 9], "summary": "3 steps, squares 1, 4, 9"}));
}

#[test]
fn streams_updates_as_json_lines() {
    let out = stategraph(&["run", &example("counter_loop.yaml"), "--input", r#"{"limit": 2}"#, "--stream", "updates"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let events: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let top: Vec<&Value> = events.iter().filter(|e| e["namespace"] == json!([])).collect();
    assert_eq!(top.len(), 3, "{events:#?}");
    assert!(events.iter().all(|e| e["mode"] == "updates"));
    assert_eq!(top[0]["data"], json!({"step": {"count": 1, "squares": [1]}}));
    assert_eq!(top[2]["data"]["summarise"]["summary"], json!("2 steps, squares 1, 4"));
    // The subgraph's own updates come with its namespace.
    assert!(events.iter().any(|e| e["namespace"].as_array().is_some_and(|n| !n.is_empty())), "{events:#?}");
}

#[test]
fn reads_the_input_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    std::fs::write(&input, r#"{"ticket": "Please refund the double charge"}"#).unwrap();
    let out = stategraph(&["run", &example("support_triage.yaml"), "--input", &format!("@{}", input.display())]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let state: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(state["category"], "billing");
}

#[test]
fn failures_are_reported_with_their_code() {
    let out = stategraph(&["run", &example("counter_loop.yaml"), "--input", "not json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--input is not valid JSON"));
    // http nodes reach nothing unless a host is allowed.
    let out = stategraph(&[
        "run",
        &example("ticket_lookup.yaml"),
        "--input",
        r#"{"api_base": "http://127.0.0.1:9", "ticket_id": "1"}"#,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SG030 node `fetch` failed") && stderr.contains("no host is allowed"), "{stderr}");
}

#[test]
fn a_paused_thread_resumes_from_its_sqlite_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("runs.db").display());
    let spec = example("approval_gate.yaml");
    let input = r#"{"customer": "Ada", "amount": 12.5}"#;
    let out = stategraph(&["run", &spec, "--input", input, "--thread", "r-17", "--checkpointer", &db]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let paused: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(paused["log"], json!(["drafted"]));
    // A new process picks the thread up from the database.
    let out = stategraph(&["resume", &spec, "--thread", "r-17", "--checkpointer", &db]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let done: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(done["log"], json!(["drafted", "paid"]));
    assert_eq!(done["message"], json!("Refund of 12.50 EUR for Ada"));
    // Resuming needs to know where the thread is.
    let out = stategraph(&["resume", &spec]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--thread and the --checkpointer"));
}
