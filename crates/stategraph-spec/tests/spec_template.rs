//! `template` nodes: MiniJinja over the state into a key, strict about undefined variables.

use serde_json::json;
use stategraph_core::RunConfig;
use stategraph_spec::{GraphSpec, Limits, NodeKindRegistry, compile, validate};

fn spec(template: &str) -> GraphSpec {
    GraphSpec::from_json(
        &json!({
            "version": 1, "name": "prompt",
            "state": {"audience": {"type": "string"}, "docs": {"type": "array"}, "prompt": {"type": "string"}},
            "nodes": [{"id": "build", "kind": "template", "config": {"template": template, "key": "prompt"}}],
            "entry": "build",
            "edges": [{"source": "build", "target": "__end__"}]
        })
        .to_string(),
    )
    .unwrap()
}

#[tokio::test]
async fn renders_the_state_into_a_key() {
    let template = "Summarise for {{ audience }}:\n{% for d in docs %}- {{ d.title }}\n{% endfor %}";
    let graph = compile(&spec(template), &NodeKindRegistry::with_builtins()).unwrap();
    let out = graph
        .invoke(json!({"audience": "execs", "docs": [{"title": "Q3"}, {"title": "Q4"}]}), RunConfig::default())
        .await
        .unwrap();
    assert_eq!(out["prompt"], json!("Summarise for execs:\n- Q3\n- Q4\n"));
}

#[tokio::test]
async fn an_undefined_variable_is_an_error_naming_the_node() {
    let graph = compile(&spec("Hello {{ name }}"), &NodeKindRegistry::with_builtins()).unwrap();
    let err = graph.invoke(json!({"audience": "x"}), RunConfig::default()).await.unwrap_err().to_string();
    assert!(err.contains("template node `build` failed") && err.contains("undefined"), "{err}");
}

#[test]
fn a_syntax_error_is_a_problem_with_its_line() {
    let problems = validate(&spec("line one\n{% for x in %}"), &NodeKindRegistry::with_builtins(), &Limits::default());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!((problems[0].code.as_str(), problems[0].pointer.as_str()), ("SP022", "/nodes/0/config/template"));
    assert!(problems[0].message.contains("line 2"), "{}", problems[0].message);
    let mut bad_key = spec("x");
    bad_key.nodes[0].config.insert("key".into(), json!("nope"));
    let problems = validate(&bad_key, &NodeKindRegistry::with_builtins(), &Limits::default());
    assert_eq!((problems[0].code.as_str(), problems[0].pointer.as_str()), ("SP021", "/nodes/0/config/key"));
}
