//! Limits: document size, node and edge counts, nesting depth.

use serde_json::{Value, json};
use stategraph_spec::{Code, EdgeSpec, GraphSpec, Limits, NodeKindRegistry, NodeSpec, validate};

fn chain(n: usize) -> GraphSpec {
    let mut spec = GraphSpec::new("chain");
    spec.entry = Some("n0".into());
    for i in 0..n {
        spec.nodes.push(NodeSpec::new(format!("n{i}"), "passthrough", json!({})));
        let next = if i + 1 == n { "__end__".to_owned() } else { format!("n{}", i + 1) };
        spec.edges.push(EdgeSpec::plain(format!("n{i}"), next));
    }
    spec
}

fn codes(spec: &GraphSpec, limits: &Limits) -> Vec<(Code, String)> {
    validate(spec, &NodeKindRegistry::with_builtins(), limits).into_iter().map(|p| (p.code, p.pointer)).collect()
}

#[test]
fn default_limits_accept_a_thousand_nodes() {
    assert_eq!(codes(&chain(1000), &Limits::default()), vec![]);
    assert_eq!(codes(&chain(1001), &Limits::default()), vec![(Code::TooManyNodes, "/nodes".into())]);
}

#[test]
fn node_and_edge_counts_are_configurable() {
    let limits = Limits { max_nodes: 5, max_edges: 3, ..Limits::default() };
    assert_eq!(codes(&chain(3), &limits), vec![]);
    assert_eq!(codes(&chain(4), &limits), vec![(Code::TooManyEdges, "/edges".into())]);
    assert_eq!(
        codes(&chain(6), &limits),
        vec![(Code::TooManyNodes, "/nodes".into()), (Code::TooManyEdges, "/edges".into())]
    );
}

#[test]
fn documents_over_the_size_limit_are_rejected_before_parsing() {
    let text = chain(10).to_json();
    let limits = Limits { max_document_bytes: text.len() - 1, ..Limits::default() };
    let err = GraphSpec::from_json_with(&text, &limits).unwrap_err();
    assert_eq!((err[0].code, err[0].pointer.as_str()), (Code::DocumentTooLarge, ""));
    let err =
        GraphSpec::from_yaml_with(&chain(10).to_yaml(), &Limits { max_document_bytes: 10, ..limits }).unwrap_err();
    assert_eq!(err[0].code, Code::DocumentTooLarge);
    assert!(GraphSpec::from_json_with(&text, &Limits { max_document_bytes: text.len(), ..Limits::default() }).is_ok());
}

fn nested(depth: usize) -> Value {
    let mut v = json!(1);
    for _ in 0..depth {
        v = json!({"k": v});
    }
    v
}

#[test]
fn nesting_deeper_than_the_limit_is_rejected_with_its_pointer() {
    // Arrays and objects count: the document is level 1 and `metadata` level 2, so 62 more
    // objects fit under it.
    let doc = |depth| json!({"version": 1, "name": "g", "metadata": {"deep": nested(depth)}}).to_string();
    assert!(GraphSpec::from_json(&doc(62)).is_ok());
    let err = GraphSpec::from_json(&doc(63)).unwrap_err();
    assert_eq!(err[0].code, Code::TooDeep);
    assert_eq!(err[0].pointer, format!("/metadata/deep{}", "/k".repeat(62)));
    let limits = Limits { max_depth: 4, ..Limits::default() };
    let err = GraphSpec::from_yaml_with("version: 1\nname: g\nmetadata: {a: {b: {c: {d: 1}}}}\n", &limits).unwrap_err();
    assert_eq!((err[0].code, err[0].pointer.as_str()), (Code::TooDeep, "/metadata/a/b/c"));
}

#[test]
fn nesting_beyond_the_json_parser_is_too_deep_not_a_crash() {
    let text = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let err = GraphSpec::from_json(&text).unwrap_err();
    assert_eq!(err[0].code, Code::TooDeep);
    assert!(err[0].line.is_some());
}
