//! `stategraph validate`: every problem as `POINTER: CODE message`, exit code 1 when any.

use std::path::Path;
use std::process::{Command, Output};

fn stategraph(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stategraph")).args(args).output().expect("the binary runs")
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn a_valid_spec_exits_0() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/specs/support_triage.yaml");
    let out = stategraph(&["validate", example]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).ends_with("valid\n"));
}

#[test]
fn every_problem_is_printed_with_pointer_and_code() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "bad.yaml",
        r#"
version: 1
name: bad
state: {n: {type: integer, reducer: sum}}
nodes:
  - {id: a, kind: script, config: {code: "let x = ;"}}
  - {id: a, kind: nope}
edges: [{source: a, target: b}]
"#,
    );
    let out = stategraph(&["validate", &file]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{stdout}");
    assert!(lines[0].starts_with("/state/n/reducer: SP030 unknown reducer `sum`"), "{stdout}");
    assert!(lines[1].starts_with("/nodes/0/config/code: SP022 syntax error at line 1, column 9"), "{stdout}");
    assert!(lines[2].starts_with("/nodes/1/id: SP010 "), "{stdout}");
    assert!(lines[3].starts_with("/nodes/1/kind: SP020 unknown node kind `nope`"), "{stdout}");
    assert!(lines[4].starts_with("/edges/0/target: SP012 unknown node `b`"), "{stdout}");
    assert!(lines[5].starts_with("/entry: SP013 "), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.yaml: 6 problems"));
}

#[test]
fn a_syntax_error_is_printed_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "broken.json", "{\n  \"version\": 1,\n  \"name\": \n}");
    let out = stategraph(&["validate", &file]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("4:1: SP001 invalid JSON"), "{stdout}");
}

#[test]
fn a_missing_file_is_a_problem_not_a_crash() {
    let out = stategraph(&["validate", "/nonexistent/graph.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("SP001 cannot read /nonexistent/graph.yaml"));
}

#[test]
fn help_lists_the_commands() {
    let out = stategraph(&["--help"]);
    let help = String::from_utf8(out.stdout).unwrap();
    for command in ["validate", "run", "export", "schema"] {
        assert!(help.contains(command), "{help}");
    }
}
