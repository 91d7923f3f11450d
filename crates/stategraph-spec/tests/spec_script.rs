//! `script` nodes and the sandbox: updates from Rhai, compile errors as problems with the line,
//! and every limit stopping a hostile script with a typed error while the host keeps running.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stategraph_core::RunConfig;
use stategraph_spec::{GraphSpec, Limits, NodeKindRegistry, ScriptLimits, compile, validate};

/// A one-node graph running `code`, with state keys `count`, `log`, `text`.
fn spec(code: &str) -> GraphSpec {
    GraphSpec::from_json(
        &json!({
            "version": 1, "name": "script",
            "state": {
                "count": {"type": "integer", "default": 0},
                "log": {"type": "array", "reducer": "add", "default": []},
                "text": {"type": "string"}
            },
            "nodes": [{"id": "work", "kind": "script", "config": {"code": code}}],
            "entry": "work",
            "edges": [{"source": "work", "target": "__end__"}]
        })
        .to_string(),
    )
    .unwrap()
}

async fn run_with(code: &str, registry: &NodeKindRegistry, input: Value) -> Result<Value, String> {
    let graph = compile(&spec(code), registry).map_err(|p| format!("{p:?}"))?;
    graph.invoke(input, RunConfig::default()).await.map(|v| v.to_json()).map_err(|e| e.to_string())
}

async fn run(code: &str, input: Value) -> Result<Value, String> {
    run_with(code, &NodeKindRegistry::with_builtins(), input).await
}

#[tokio::test]
async fn a_script_reads_the_state_and_returns_an_update() {
    let code = r#"
        let n = state.count + 1;
        #{ count: n, log: ["counted " + n] }
    "#;
    assert_eq!(run(code, json!({"count": 41})).await.unwrap(), json!({"count": 42, "log": ["counted 42"]}));
    // Nothing returned (`()`) is no update.
    assert_eq!(run("let x = 1;", json!({"count": 1})).await.unwrap(), json!({"count": 1, "log": []}));
}

#[tokio::test]
async fn a_script_cannot_write_undeclared_keys_or_return_a_non_map() {
    let err = run("#{ nope: 1 }", json!({"count": 1})).await.unwrap_err();
    assert!(err.contains("script node `work`") && err.contains("`nope` is not a state key"), "{err}");
    let err = run("42", json!({"count": 1})).await.unwrap_err();
    assert!(err.contains("must end with a map"), "{err}");
}

#[test]
fn a_syntax_error_is_a_problem_naming_node_line_and_column() {
    let problems =
        validate(&spec("let a = 1;\nlet b = ;\n#{}"), &NodeKindRegistry::with_builtins(), &Limits::default());
    assert_eq!(problems.len(), 1, "{problems:?}");
    let p = &problems[0];
    assert_eq!((p.code.as_str(), p.pointer.as_str()), ("SP022", "/nodes/0/config/code"));
    assert!(p.message.contains("line 2, column 9"), "{}", p.message);
    // An undeclared variable is caught at compile time too (strict variables).
    let problems = validate(&spec("#{ count: stat.count }"), &NodeKindRegistry::with_builtins(), &Limits::default());
    assert_eq!(problems[0].code.as_str(), "SP022");
    assert!(problems[0].message.contains("line 1"), "{}", problems[0].message);
}

#[tokio::test]
async fn a_runtime_error_names_the_node_and_the_line() {
    let err = run("let a = 1;\nlet b = a / 0;\n#{}", json!({"count": 1})).await.unwrap_err();
    assert!(err.contains("script node `work` failed at line 2"), "{err}");
}

/// A registry whose sandbox has a short timeout and a huge operation budget, so that the clock
/// is what stops a loop.
fn timed(timeout: Duration) -> NodeKindRegistry {
    NodeKindRegistry::with_builtins().with_script_limits(ScriptLimits {
        timeout,
        max_operations: u64::MAX / 2,
        ..Default::default()
    })
}

#[tokio::test]
async fn an_infinite_loop_stops_at_the_timeout() {
    // The issue's bound: stopped within 1.1x the configured timeout (the run alone is timed).
    let timeout = Duration::from_secs(1);
    let graph = compile(&spec("loop { }"), &timed(timeout)).unwrap();
    let start = Instant::now();
    let err = graph.invoke(json!({"count": 1}), RunConfig::default()).await.unwrap_err().to_string();
    let took = start.elapsed();
    assert!(err.contains("timed out after 1000 ms"), "{err}");
    assert!(took >= timeout && took < timeout.mul_f64(1.1), "took {took:?}");
}

#[tokio::test]
async fn an_infinite_loop_stops_at_the_operation_limit() {
    let registry = NodeKindRegistry::with_builtins()
        .with_script_limits(ScriptLimits { max_operations: 10_000, ..Default::default() });
    let err = run_with("let i = 0; while true { i += 1; }", &registry, json!({"count": 1})).await.unwrap_err();
    assert!(err.contains("limit of 10000 operations"), "{err}");
}

#[tokio::test]
async fn a_node_can_lower_its_timeout_but_not_raise_it() {
    let mut doc = spec("loop { }");
    doc.nodes[0].config.insert("timeout_ms".into(), json!(100));
    let graph = compile(&doc, &timed(Duration::from_secs(5))).unwrap();
    let start = Instant::now();
    let err = graph.invoke(json!({"count": 1}), RunConfig::default()).await.unwrap_err().to_string();
    assert!(err.contains("timed out after 100 ms") && start.elapsed() < Duration::from_secs(1), "{err}");

    let mut doc = spec("loop { }");
    doc.nodes[0].config.insert("timeout_ms".into(), json!(60_000));
    let graph = compile(&doc, &timed(Duration::from_millis(100))).unwrap();
    let err = graph.invoke(json!({"count": 1}), RunConfig::default()).await.unwrap_err().to_string();
    assert!(err.contains("timed out after 100 ms"), "{err}");
}

#[tokio::test]
async fn a_huge_string_stops_at_the_size_limit() {
    let code = r#"let s = "xxxxxxxxxxxxxxxx"; loop { s += s; }"#;
    let err = run(code, json!({"count": 1})).await.unwrap_err();
    assert!(err.contains("over its limit") && err.contains("script node `work`"), "{err}");
    // Growing an array element by element is stopped too (a small limit keeps the test fast:
    // Rhai measures the array on every push).
    let registry = NodeKindRegistry::with_builtins()
        .with_script_limits(ScriptLimits { max_array_size: 1000, ..Default::default() });
    let err = run_with("let a = []; loop { a.push(1); }", &registry, json!({"count": 1})).await.unwrap_err();
    assert!(err.contains("over its limit"), "{err}");
}

#[tokio::test]
async fn deep_recursion_stops_at_the_call_depth_limit() {
    let err = run("fn f(n) { f(n + 1) } f(0)", json!({"count": 1})).await.unwrap_err();
    assert!(err.contains("calls nested deeper than the limit of 16"), "{err}");
}

#[test]
fn no_imports_no_eval_no_files() {
    for code in ["import \"os\" as os; #{}", "eval(\"1\")", "#{ text: open_file(\"/etc/passwd\") }"] {
        let problems = validate(&spec(code), &NodeKindRegistry::with_builtins(), &Limits::default());
        // `import` and `eval` are not keywords here: a syntax error; a file function does not exist.
        if problems.is_empty() {
            let rt = tokio::runtime::Runtime::new().unwrap();
            let err = rt.block_on(run(code, json!({"count": 1}))).unwrap_err();
            assert!(err.contains("Function not found"), "{code}: {err}");
        } else {
            assert_eq!(problems[0].code.as_str(), "SP022", "{code}: {problems:?}");
        }
    }
}

#[tokio::test]
async fn the_host_keeps_running_after_a_script_is_stopped() {
    let registry = timed(Duration::from_millis(50));
    assert!(run_with("loop {}", &registry, json!({"count": 1})).await.is_err());
    assert_eq!(run_with("#{ count: 7 }", &registry, json!({"count": 1})).await.unwrap()["count"], json!(7));
}
