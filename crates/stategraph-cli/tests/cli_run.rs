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

/// What a terminal would show of `bytes`: escapes dropped.
fn visible(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else if c != '\r' {
            out.push(c);
        }
    }
    out
}

/// The screen a terminal ends with after `bytes`: handles the escapes progress uses (cursor up,
/// clear line, colours), so redrawn lines appear once, as last drawn.
fn screen(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = vec![String::new()];
    let mut row = 0usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                let mut seq = String::new();
                for c in chars.by_ref() {
                    seq.push(c);
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
                if let Some(n) = seq.strip_prefix('[').and_then(|s| s.strip_suffix('A')) {
                    row = row.saturating_sub(n.parse().unwrap_or(1));
                } else if seq == "[2K" {
                    lines[row].clear();
                }
            }
            '\r' => {}
            '\n' => {
                row += 1;
                if lines.len() <= row {
                    lines.push(String::new());
                }
            }
            c => lines[row].push(c),
        }
    }
    lines.join("\n")
}

#[test]
fn progress_shows_steps_nodes_and_their_status_on_stderr() {
    // `--progress always` draws as on a terminal, although stderr is a pipe here.
    let out = stategraph(&[
        "run",
        &example("map_reduce.yaml"),
        "--input",
        r#"{"subjects": ["a", "b"]}"#,
        "--progress",
        "always",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // stdout is still the final state, and only that.
    let state: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(state["jokes"], json!(["A dry joke about a", "A dry joke about b"]));
    let raw = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(raw.contains("\x1b["), "ANSI escapes: {raw:?}");
    let shown = screen(&out.stderr);
    assert!(shown.starts_with("▶ map_reduce\n"), "{shown}");
    let rows: Vec<&str> = shown.lines().skip(1).collect();
    assert_eq!(rows.len(), 5, "four task lines and the outcome: {shown}");
    for (row, (step, node)) in [(1, "plan"), (2, "write_joke"), (2, "write_joke"), (3, "summarise")].iter().enumerate()
    {
        assert!(rows[row].starts_with(&format!("step   {step}  ✔ {node}")), "{node}: {shown}");
        assert!(rows[row].contains(" done ") && rows[row].ends_with(" ms"), "{shown}");
    }
    assert!(rows[4].starts_with("✔ done in 3 steps, "), "{shown}");
    // Before its result, each line said running.
    let history = visible(&out.stderr);
    assert!(history.contains("● plan") && history.contains("running"), "{history}");
}

#[test]
fn progress_shows_errors_and_interrupts() {
    let out = stategraph(&[
        "run",
        &example("ticket_lookup.yaml"),
        "--input",
        r#"{"api_base": "http://127.0.0.1:9", "ticket_id": "1"}"#,
        "--progress",
        "always",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let shown = screen(&out.stderr);
    assert!(shown.contains("✘ fetch") && shown.contains("error: HTTPError: http node `fetch`"), "{shown}");
    assert!(shown.contains("✘ failed after"), "{shown}");
    // A static breakpoint: the run pauses after `draft` and says so.
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("runs.db").display());
    let input = r#"{"customer": "Ada", "amount": 12.5}"#;
    let spec = example("approval_gate.yaml");
    let out =
        stategraph(&["run", &spec, "--input", input, "--thread", "p", "--checkpointer", &db, "--progress", "always"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let shown = screen(&out.stderr);
    assert!(shown.contains("⏸ interrupted after"), "{shown}");
    // A `human` node's question: its task line says interrupted.
    let spec = example("approval_workflow.yaml");
    let input = serde_json::to_string(&stategraph_spec::GraphSpec::from_path(&spec).unwrap().metadata["example_input"])
        .unwrap();
    let out =
        stategraph(&["run", &spec, "--input", &input, "--thread", "q", "--checkpointer", &db, "--progress", "always"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let shown = screen(&out.stderr);
    assert!(shown.lines().any(|l| l.contains('⏸') && l.contains("interrupted") && l.contains("step")), "{shown}");
}

#[test]
fn piped_runs_draw_no_progress_by_default() {
    // stderr is a pipe: `auto` draws nothing, and --stream prints JSON lines only.
    let out =
        stategraph(&["run", &example("map_reduce.yaml"), "--input", r#"{"subjects": ["a"]}"#, "--stream", "updates"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let event: Value = serde_json::from_str(line).unwrap();
        assert_eq!(event["mode"], "updates");
    }
    // --progress with --stream: the events on stdout stay the ones asked for.
    let out = stategraph(&[
        "run",
        &example("map_reduce.yaml"),
        "--input",
        r#"{"subjects": ["a"]}"#,
        "--stream",
        "updates",
        "--progress",
        "always",
    ]);
    let lines: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(lines.iter().all(|e| e["mode"] == "updates"));
    assert!(screen(&out.stderr).contains("✔ done in 3 steps"));
}

#[test]
fn a_terminal_gets_progress_without_asking() {
    // A real pseudo-terminal from util-linux's `script` (stdout and stderr both on it).
    if !std::path::Path::new("/usr/bin/script").exists() {
        assert!(std::env::var_os("CI").is_none(), "util-linux `script` is missing");
        eprintln!("SKIPPED: /usr/bin/script is missing");
        return;
    }
    let command = format!(
        "{} run {} --input '{{\"subjects\": [\"x\"]}}'",
        env!("CARGO_BIN_EXE_stategraph"),
        example("map_reduce.yaml")
    );
    let run = |no_progress: bool| {
        let mut c = Command::new("/usr/bin/script");
        c.args(["-qec", &command, "/dev/null"]);
        if no_progress {
            c.env("NO_PROGRESS", "1");
        }
        c.output().unwrap()
    };
    let out = run(false);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let shown = screen(&out.stdout).replace("\r", "");
    assert!(shown.contains("step   2  ✔ write_joke") && shown.contains("✔ done in 3 steps"), "{shown}");
    assert!(shown.contains("\"summary\": \"1 dry jokes: A dry joke about x\""), "{shown}");
    // NO_PROGRESS turns it off.
    let shown = screen(&run(true).stdout);
    assert!(!shown.contains("done in") && shown.contains("\"summary\""), "{shown}");
}
