//! `transform` nodes: per-key Rhai expressions over the state as it was when the node started.

use serde_json::json;
use stategraph_core::RunConfig;
use stategraph_spec::{GraphSpec, Limits, NodeKindRegistry, compile, validate};

fn spec(update: serde_json::Value) -> GraphSpec {
    GraphSpec::from_json(
        &json!({
            "version": 1, "name": "transform",
            "state": {"count": {"type": "integer", "default": 0}, "items": {"type": "array", "default": []},
                      "summary": {"type": "string"}},
            "nodes": [{"id": "tally", "kind": "transform", "config": {"update": update}}],
            "entry": "tally",
            "edges": [{"source": "tally", "target": "__end__"}]
        })
        .to_string(),
    )
    .unwrap()
}

#[tokio::test]
async fn each_key_gets_its_expression_over_the_input_state() {
    let graph = compile(
        &spec(json!({"count": "state.count + 1", "summary": r#""had " + state.count + " of " + state.items.len()"#})),
        &NodeKindRegistry::with_builtins(),
    )
    .unwrap();
    let out = graph.invoke(json!({"count": 2, "items": ["a", "b"]}), RunConfig::default()).await.unwrap();
    assert_eq!(out, json!({"count": 3, "items": ["a", "b"], "summary": "had 2 of 2"}));
}

#[test]
fn undeclared_keys_and_bad_expressions_are_problems() {
    let problems = validate(
        &spec(json!({"nope": "1", "count": "state.count +"})),
        &NodeKindRegistry::with_builtins(),
        &Limits::default(),
    );
    let found: Vec<_> = problems.iter().map(|p| (p.code.as_str(), p.pointer.as_str())).collect();
    assert_eq!(found, [("SP021", "/nodes/0/config/update/nope"), ("SP022", "/nodes/0/config/update/count")]);
}

#[tokio::test]
async fn a_failing_expression_names_node_and_key() {
    let graph = compile(&spec(json!({"count": "state.count / 0"})), &NodeKindRegistry::with_builtins()).unwrap();
    let err = graph.invoke(json!({"count": 1}), RunConfig::default()).await.unwrap_err().to_string();
    assert!(err.contains("transform node `tally` failed computing `count` at line 1"), "{err}");
}
