//! The rejection corpus (`tests/data/rejections.yaml`): every case is rejected with exactly the
//! problem it names, and never with a panic.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use stategraph_spec::{GraphSpec, Limits, NodeKindRegistry, Problem, compile_with};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    set: Map<String, Value>,
    #[serde(default)]
    remove: Vec<String>,
    text: Option<String>,
    format: Option<String>,
    #[serde(default)]
    limits: Map<String, Value>,
    code: String,
    pointer: String,
}

/// A valid document: `work` (script) → `done` (set) → END.
fn base() -> Value {
    json!({
        "version": 1, "name": "base",
        "state": {"count": {"type": "integer", "default": 0}, "route": {"type": "string"}},
        "nodes": [
            {"id": "work", "kind": "script", "config": {"code": "#{ count: state.count + 1 }"}},
            {"id": "done", "kind": "set", "config": {"update": {"route": "finished"}}}
        ],
        "entry": "work",
        "edges": [{"source": "work", "target": "done"}, {"source": "done", "target": "__end__"}]
    })
}

/// Sets `pointer` in `doc`, adding the last key or array slot if absent.
fn set(doc: &mut Value, pointer: &str, value: Value) {
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    match doc.pointer_mut(parent).unwrap_or_else(|| panic!("no parent for {pointer}")) {
        Value::Object(o) => {
            o.insert(last.to_owned(), value);
        }
        Value::Array(a) => {
            let i: usize = last.parse().unwrap();
            if i == a.len() { a.push(value) } else { a[i] = value }
        }
        other => panic!("cannot set {pointer} in {other}"),
    }
}

fn remove(doc: &mut Value, pointer: &str) {
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    match doc.pointer_mut(parent).unwrap() {
        Value::Object(o) => {
            o.remove(last);
        }
        Value::Array(a) => {
            a.remove(last.parse::<usize>().unwrap());
        }
        _ => panic!("cannot remove {pointer}"),
    }
}

fn problems(case: &Case) -> Vec<Problem> {
    let mut limits = Limits::default();
    for (field, v) in &case.limits {
        let n = v.as_u64().unwrap() as usize;
        match field.as_str() {
            "max_document_bytes" => limits.max_document_bytes = n,
            "max_nodes" => limits.max_nodes = n,
            "max_edges" => limits.max_edges = n,
            "max_depth" => limits.max_depth = n,
            other => panic!("unknown limit {other}"),
        }
    }
    let (text, json) = match &case.text {
        Some(text) => (text.clone(), case.format.as_deref() == Some("json")),
        None => {
            let mut doc = base();
            for (pointer, value) in &case.set {
                set(&mut doc, pointer, value.clone());
            }
            for pointer in &case.remove {
                remove(&mut doc, pointer);
            }
            (doc.to_string(), true)
        }
    };
    let parsed =
        if json { GraphSpec::from_json_with(&text, &limits) } else { GraphSpec::from_yaml_with(&text, &limits) };
    match parsed {
        Err(problems) => problems,
        Ok(spec) => compile_with(&spec, &NodeKindRegistry::with_builtins(), &limits).err().unwrap_or_default(),
    }
}

#[test]
fn the_base_document_compiles() {
    let spec = GraphSpec::from_json(&base().to_string()).unwrap();
    compile_with(&spec, &NodeKindRegistry::with_builtins(), &Limits::default()).unwrap();
}

#[test]
fn every_case_is_rejected_with_its_code_and_pointer() {
    let text = include_str!("data/rejections.yaml");
    let cases: Vec<Case> = serde_saphyr::from_str(text).unwrap();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let found = problems(case);
        let got: Vec<(&str, &str)> = found.iter().map(|p| (p.code.as_str(), p.pointer.as_str())).collect();
        if got != [(case.code.as_str(), case.pointer.as_str())] {
            failures.push(format!("{}: expected [({}, {:?})], got {got:?}", case.name, case.code, case.pointer));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
