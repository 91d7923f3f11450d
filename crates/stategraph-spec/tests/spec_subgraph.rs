//! `subgraph` nodes: specs by file path (relative to the referring file) or by an id the host
//! resolves, and reference cycles caught when the parent is checked.

use std::path::Path;

use serde_json::json;
use stategraph_core::RunConfig;
use stategraph_spec::{
    CompileContext, GraphSpec, LoadedSpec, NodeKindRegistry, SpecRef, Subgraph, compile, compile_in, validate_in,
};

const CHILD: &str = r#"
version: 1
name: child
state:
  log: {type: array, reducer: add, default: []}
nodes:
  - {id: inner, kind: set, config: {update: {log: [inner]}}}
entry: inner
edges: [{source: inner, target: __end__}]
"#;

fn parent(reference: &str) -> String {
    format!(
        r#"
version: 1
name: parent
state:
  log: {{type: array, reducer: add, default: []}}
nodes:
  - {{id: before, kind: set, config: {{update: {{log: [before]}}}}}}
  - {{id: nested, kind: subgraph, config: {reference}}}
entry: before
edges: [{{source: before, target: nested}}, {{source: nested, target: __end__}}]
"#
    )
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn a_path_resolves_against_the_referring_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "parts/child.yaml", CHILD);
    let path = write(dir.path(), "main.yaml", &parent("{path: parts/child.yaml}"));
    let spec = GraphSpec::from_path(&path).unwrap();
    let graph = compile_in(&spec, &NodeKindRegistry::with_builtins(), &CompileContext::new().with_path(&path)).unwrap();
    let out = graph.invoke(json!({"log": ["start"]}), RunConfig::default()).await.unwrap();
    // The child gets the parent's state and returns its own final state as the update.
    assert_eq!(out["log"], json!(["start", "before", "start", "before", "inner"]));
}

#[test]
fn a_cycle_of_files_is_a_problem_at_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.yaml", &parent("{path: b.yaml}"));
    write(dir.path(), "b.yaml", &parent("{path: a.yaml}"));
    let spec = GraphSpec::from_path(&a).unwrap();
    let problems = validate_in(&spec, &NodeKindRegistry::with_builtins(), &CompileContext::new().with_path(&a));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!((problems[0].code.as_str(), problems[0].pointer.as_str()), ("SP024", "/nodes/1/config/path"));
    assert!(
        problems[0].message.contains("a.yaml → ") && problems[0].message.contains("b.yaml → "),
        "{}",
        problems[0].message
    );

    // A file including itself.
    let me = write(dir.path(), "me.yaml", &parent("{path: me.yaml}"));
    let problems = validate_in(
        &GraphSpec::from_path(&me).unwrap(),
        &NodeKindRegistry::with_builtins(),
        &CompileContext::new().with_path(&me),
    );
    assert_eq!(problems[0].code.as_str(), "SP024", "{problems:?}");
}

#[test]
fn a_missing_or_invalid_child_is_a_problem_at_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "main.yaml", &parent("{path: nowhere.yaml}"));
    let cx = CompileContext::new().with_path(&path);
    let problems = validate_in(&GraphSpec::from_path(&path).unwrap(), &NodeKindRegistry::with_builtins(), &cx);
    assert_eq!((problems[0].code.as_str(), problems[0].pointer.as_str()), ("SP023", "/nodes/1/config/path"));
    assert!(problems[0].message.contains("nowhere.yaml"), "{}", problems[0].message);

    write(dir.path(), "bad.yaml", &CHILD.replace("target: __end__", "target: nope"));
    let path = write(dir.path(), "main.yaml", &parent("{path: bad.yaml}"));
    let problems = validate_in(&GraphSpec::from_path(&path).unwrap(), &NodeKindRegistry::with_builtins(), &cx);
    assert_eq!(problems[0].code.as_str(), "SP023");
    assert!(problems[0].message.contains("in subgraph `child`: SP012 at /edges/0/target"), "{}", problems[0].message);
}

#[tokio::test]
async fn ids_resolve_through_the_hosts_loader_and_their_cycles_are_caught() {
    let loader = |r: &SpecRef, _from: Option<&Path>| match r {
        SpecRef::Id(id) if id == "child" => {
            Ok(LoadedSpec { key: "child".into(), spec: GraphSpec::from_yaml(CHILD).unwrap(), path: None })
        }
        SpecRef::Id(id) if id == "loop" => Ok(LoadedSpec {
            key: "loop".into(),
            spec: GraphSpec::from_yaml(&parent("{id: loop}")).unwrap(),
            path: None,
        }),
        other => Err(format!("unknown {other}")),
    };
    let mut registry = NodeKindRegistry::with_builtins();
    registry.register("subgraph", Subgraph::new(loader));
    let graph = compile(&GraphSpec::from_yaml(&parent("{id: child}")).unwrap(), &registry).unwrap();
    let out = graph.invoke(json!({"log": []}), RunConfig::default()).await.unwrap();
    assert_eq!(out["log"], json!(["before", "before", "inner"]));

    let problems = compile(&GraphSpec::from_yaml(&parent("{id: loop}")).unwrap(), &registry).unwrap_err();
    assert_eq!(problems[0].code.as_str(), "SP024", "{problems:?}");
    assert!(problems[0].message.contains("loop → loop"), "{}", problems[0].message);

    // The built-in file loader knows no ids.
    let problems = compile(&GraphSpec::from_yaml(&parent("{id: child}")).unwrap(), &NodeKindRegistry::with_builtins())
        .unwrap_err();
    assert!(problems[0].message.contains("cannot resolve id `child`"), "{}", problems[0].message);
}
