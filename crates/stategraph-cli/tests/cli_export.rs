//! `stategraph export`: JSON, YAML and Mermaid, and Python LangGraph code proven by running it
//! with the real `langgraph` package and comparing its final state (and drawing) with ours.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// Where `scripts/test.sh` puts the venv (`$HOME/.cache/sg-venv`; `/root/.cache/sg-venv` on CI).
fn venv_python() -> String {
    format!("{}/.cache/sg-venv/bin/python", std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
}

fn stategraph(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stategraph")).args(args).output().expect("the binary runs")
}

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/specs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn text(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn json_and_yaml_exports_read_back_as_the_same_spec() {
    for file in examples() {
        let file = file.display().to_string();
        let original = stategraph_spec::GraphSpec::from_path(&file).unwrap();
        let json = text(&stategraph(&["export", &file, "--format", "json"]));
        assert_eq!(stategraph_spec::GraphSpec::from_json(&json).unwrap(), original, "{file}");
        let yaml = text(&stategraph(&["export", &file, "--format", "yaml"]));
        assert_eq!(stategraph_spec::GraphSpec::from_yaml(&yaml).unwrap(), original, "{file}");
    }
}

#[test]
fn mermaid_export_draws_the_graph() {
    let file = examples().into_iter().find(|f| f.ends_with("review_pipeline.yaml")).unwrap();
    let drawing = text(&stategraph(&["export", &file.display().to_string(), "--format", "mermaid"]));
    assert!(
        drawing.starts_with("---\nconfig:") || drawing.starts_with("graph TD") || drawing.contains("flowchart"),
        "{drawing}"
    );
    for node in ["write_draft", "style_review", "fact_review", "editor", "publish", "revise"] {
        assert!(drawing.contains(node), "{drawing}");
    }
}

/// The venv's Python, or `None` when the test should be skipped (never under CI).
fn python() -> Option<String> {
    let python = venv_python();
    if Path::new(&python).exists() {
        return Some(python);
    }
    assert!(std::env::var_os("CI").is_none(), "{python} is missing under CI: scripts/test.sh should have created it");
    eprintln!(
        "SKIPPED: {python} is missing (scripts/test.sh creates it from crates/stategraph-cli/tests/python-requirements.txt)"
    );
    None
}

fn run_python(python: &str, args: &[&str]) -> String {
    let out = Command::new(python).args(args).output().expect("python runs");
    assert!(
        out.status.success(),
        "python {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn python_export_runs_with_langgraph_and_ends_in_the_same_state() {
    let Some(python) = python() else { return };
    let python = python.as_str();
    let dir = tempfile::tempdir().unwrap();
    let mut compared = Vec::new();
    let mut drawn_with_stubs = Vec::new();
    for file in examples() {
        let spec = stategraph_spec::GraphSpec::from_path(&file).unwrap();
        let path = file.display().to_string();
        let out = stategraph(&["export", &path, "--format", "python"]);
        let code = text(&out);
        let module = dir.path().join(format!("{}.py", spec.name));
        std::fs::write(&module, &code).unwrap();
        if !String::from_utf8_lossy(&out.stderr).is_empty() {
            // Stubs: the module must still build its graph, but cannot run it; the graph it builds
            // has our nodes and edges all the same.
            assert!(code.contains("STUB"), "{path}");
            let draw = format!(
                "import runpy; print(runpy.run_path({:?})['graph'].get_graph().draw_mermaid(), end='')",
                module.display().to_string()
            );
            let theirs = run_python(python, &["-c", &draw]);
            let ours = text(&stategraph(&["export", &path, "--format", "mermaid"]));
            assert_eq!(ours, theirs, "{path}: the drawing of the exported graph (with stubs)");
            drawn_with_stubs.push(spec.name);
            continue;
        }
        let input = spec.metadata["example_input"].to_string();
        if let Some(answer) = spec.metadata.get("resume") {
            // A `human` node pauses: both sides run to the pause and resume with the same answer.
            let db = format!("sqlite:{}", dir.path().join(format!("{}.db", spec.name)).display());
            text(&stategraph(&["run", &path, "--input", &input, "--thread", "t", "--checkpointer", &db]));
            let answer = answer.to_string();
            let resume = ["resume", &path, "--thread", "t", "--checkpointer", &db, "--resume", &answer];
            let ours: Value = serde_json::from_str(&text(&stategraph(&resume))).unwrap();
            let script = format!(
                "import json, runpy\nfrom langgraph.types import Command\nm = runpy.run_path({:?})\n\
                 cfg = {{'configurable': {{'thread_id': '1'}}}}\nm['graph'].invoke(m['with_defaults'](json.loads({input:?})), cfg)\n\
                 print(json.dumps(m['graph'].invoke(Command(resume=json.loads({answer:?})), cfg)))",
                module.display().to_string()
            );
            let theirs: Value = serde_json::from_str(&run_python(python, &["-c", &script])).unwrap();
            assert_eq!(ours, theirs, "{path}: Stategraph vs the exported LangGraph code after resuming\n{code}");
            compared.push(spec.name);
            continue;
        }
        let ours: Value = serde_json::from_str(&text(&stategraph(&["run", &path, "--input", &input]))).unwrap();
        let theirs: Value =
            serde_json::from_str(&run_python(python, &[&module.display().to_string(), &input])).unwrap();
        assert_eq!(ours, theirs, "{path}: Stategraph vs the exported LangGraph code\n{code}");
        // Same nodes and edges: LangGraph's drawing of the exported graph is ours.
        let draw = format!(
            "import runpy; print(runpy.run_path({:?})['graph'].get_graph().draw_mermaid(), end='')",
            module.display().to_string()
        );
        let ours_drawing = text(&stategraph(&["export", &path, "--format", "mermaid"]));
        // Breakpoints included: both mark them in node labels.
        let theirs_drawing = run_python(python, &["-c", &draw]);
        assert_eq!(ours_drawing, theirs_drawing, "{path}");
        compared.push(spec.name);
    }
    assert!(compared.len() >= 3, "fully translatable examples compared: {compared:?}");
    assert!(drawn_with_stubs.len() >= 3, "examples with stubs drawn: {drawn_with_stubs:?}");
}

#[test]
fn import_of_langgraphs_graph_json_draws_the_same_graph() {
    let Some(python) = python() else { return };
    let python = python.as_str();
    let dir = tempfile::tempdir().unwrap();
    for name in ["review_pipeline", "prompt_router", "approval_gate"] {
        let path = examples().into_iter().find(|f| f.ends_with(format!("{name}.yaml"))).unwrap();
        let module = dir.path().join(format!("{name}.py"));
        std::fs::write(&module, text(&stategraph(&["export", &path.display().to_string(), "--format", "python"])))
            .unwrap();
        // LangGraph's own description of the graph, and its drawing.
        let script = format!(
            "import runpy, json\ng = runpy.run_path({:?})['graph'].get_graph()\n\
             open({:?}, 'w').write(json.dumps(g.to_json(), default=str))\nprint(g.draw_mermaid(), end='')",
            module.display().to_string(),
            dir.path().join(format!("{name}.json")).display().to_string()
        );
        let theirs = run_python(python, &["-c", &script]);
        let imported = dir.path().join(format!("{name}.yaml"));
        let json = dir.path().join(format!("{name}.json")).display().to_string();
        std::fs::write(&imported, text(&stategraph(&["import", &json, "--name", name]))).unwrap();
        let imported = imported.display().to_string();
        let validate = stategraph(&["validate", &imported]);
        assert!(validate.status.success(), "{}", String::from_utf8_lossy(&validate.stdout));
        let ours = text(&stategraph(&["export", &imported, "--format", "mermaid"]));
        assert_eq!(ours, theirs, "{name}");
    }
}
