//! Conditional edges with Rhai expressions: one label, several (fan-out), `END`, and errors.

use serde_json::{Value, json};
use stategraph_core::RunConfig;
use stategraph_spec::{GraphSpec, NodeKindRegistry, compile};

fn spec(expr: &str) -> GraphSpec {
    GraphSpec::from_json(
        &json!({
            "version": 1, "name": "router",
            "state": {"score": {"type": "integer"}, "log": {"type": "array", "reducer": "add", "default": []}},
            "nodes": [
                {"id": "grade", "kind": "passthrough"},
                {"id": "high", "kind": "set", "config": {"update": {"log": ["high"]}}},
                {"id": "low", "kind": "set", "config": {"update": {"log": ["low"]}}}
            ],
            "entry": "grade",
            "edges": [
                {"source": "grade", "condition": {"expr": expr},
                 "branches": [{"label": "high", "target": "high"}, {"label": "low", "target": "low"}]},
                {"source": "high", "target": "__end__"},
                {"source": "low", "target": "__end__"}
            ]
        })
        .to_string(),
    )
    .unwrap()
}

async fn run(expr: &str, score: i64) -> Result<Value, String> {
    let graph = compile(&spec(expr), &NodeKindRegistry::with_builtins()).map_err(|p| format!("{p:?}"))?;
    graph.invoke(json!({"score": score}), RunConfig::default()).await.map(|v| v.to_json()).map_err(|e| e.to_string())
}

#[tokio::test]
async fn an_expression_picks_a_branch_by_label() {
    let expr = r#"if state.score > 5 { "high" } else { "low" }"#;
    assert_eq!(run(expr, 9).await.unwrap()["log"], json!(["high"]));
    assert_eq!(run(expr, 1).await.unwrap()["log"], json!(["low"]));
}

#[tokio::test]
async fn an_array_of_labels_fans_out_and_end_stops() {
    assert_eq!(run(r#"["high", "low"]"#, 0).await.unwrap()["log"], json!(["high", "low"]));
    // END (a constant in every expression) ends the run even with no branch labelled `__end__`.
    let expr = r#"if state.score < 0 { END } else { "low" }"#;
    assert_eq!(run(expr, -1).await.unwrap()["log"], json!([]));
    assert_eq!(run(expr, 3).await.unwrap()["log"], json!(["low"]));
}

#[tokio::test]
async fn bad_results_are_errors_naming_the_edge() {
    let err = run("42", 0).await.unwrap_err();
    assert!(err.contains("the condition of the edge from `grade`") && err.contains("got `i64`"), "{err}");
    let err = run(r#""middle""#, 0).await.unwrap_err();
    assert!(err.starts_with("SG013"), "{err}");
    let err = run("state.score / 0", 0).await.unwrap_err();
    assert!(err.contains("failed at line 1"), "{err}");
}

#[tokio::test]
async fn expression_and_key_conditions_route_the_same() {
    let mut by_key = spec("");
    by_key.state.insert("route".into(), serde_json::from_value(json!({"type": "string"})).unwrap());
    if let stategraph_spec::EdgeSpec::Conditional(e) = &mut by_key.edges[0] {
        e.condition = serde_json::from_value(json!({"key": "route"})).unwrap();
    }
    let by_key = compile(&by_key, &NodeKindRegistry::with_builtins()).unwrap();
    let mut by_expr = spec("state.route");
    by_expr.state.insert("route".into(), serde_json::from_value(json!({"type": "string"})).unwrap());
    let by_expr = compile(&by_expr, &NodeKindRegistry::with_builtins()).unwrap();
    for route in ["high", "low"] {
        let input = json!({"score": 0, "route": route});
        let a = by_key.invoke(input.clone(), RunConfig::default()).await.unwrap().to_json();
        let b = by_expr.invoke(input, RunConfig::default()).await.unwrap().to_json();
        assert_eq!(a["log"], b["log"]);
    }
    assert_eq!(by_key.draw_mermaid(), by_expr.draw_mermaid());
}
