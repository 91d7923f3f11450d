//! The `human` kind: an Agent Inbox interrupt that pauses, is resumed through a checkpointer, and
//! checks the answer (a wrong one asks again instead of failing the run).

use std::sync::Arc;

use serde_json::{Value, json};
use stategraph_core::{Command, CompiledGraph, RunConfig};
use stategraph_spec::{Code, CompileContext, GraphSpec, NodeKindRegistry, compile_in, validate};

const SPEC: &str = r#"
version: 1
name: refund_review
state:
  customer: {type: string}
  refund: {type: object}
  review: {type: object}
  log: {type: array, reducer: add, default: []}
nodes:
  - id: review
    kind: human
    config:
      action: approve_refund
      description: "Refund {{ refund.amount }} EUR to {{ customer }}?"
      allow: {accept: true, edit: true, respond: true, ignore: true}
      args: refund
      args_schema: {type: object, required: [amount], properties: {amount: {type: number}}}
      output: review
      routes: {accept: pay, edit: pay, respond: reply, ignore: __end__}
  - {id: pay, kind: set, config: {update: {log: [paid]}}}
  - {id: reply, kind: set, config: {update: {log: [replied]}}}
entry: review
edges:
  - {source: pay, target: __end__}
  - {source: reply, target: __end__}
"#;

fn graph(spec: &str) -> CompiledGraph {
    let saver = Arc::new(stategraph_checkpoint::InMemorySaver::new());
    let cx = CompileContext::new().with_checkpointer(saver);
    compile_in(&GraphSpec::from_yaml(spec).unwrap(), &NodeKindRegistry::with_builtins(), &cx).unwrap()
}

fn thread() -> RunConfig {
    RunConfig::new().with_thread("t1")
}

async fn pause(graph: &CompiledGraph) -> Value {
    let out = graph.invoke(json!({"customer": "Ada", "refund": {"amount": 12.5}}), thread()).await.unwrap().to_json();
    out["__interrupt__"][0].clone()
}

async fn resume(graph: &CompiledGraph, answer: Value) -> Value {
    graph.invoke(Command::new().resume(answer), thread()).await.unwrap().to_json()
}

#[tokio::test]
async fn pauses_with_a_human_interrupt_and_its_response_schema() {
    let g = graph(SPEC);
    let interrupt = pause(&g).await;
    assert_eq!(
        interrupt["value"],
        json!({
            "action_request": {"action": "approve_refund", "args": {"amount": 12.5}},
            "config": {"allow_ignore": true, "allow_respond": true, "allow_edit": true, "allow_accept": true},
            "description": "Refund 12.5 EUR to Ada?",
        })
    );
    let schema = &interrupt["response_schema"];
    assert_eq!(schema["properties"]["type"]["enum"], json!(["accept", "edit", "response", "ignore"]));
    assert_eq!(schema["oneOf"][1]["properties"]["args"]["properties"]["args"]["required"], json!(["amount"]));
}

#[tokio::test]
async fn accept_goes_on_to_its_route() {
    let g = graph(SPEC);
    pause(&g).await;
    let out = resume(&g, json!({"type": "accept", "args": null})).await;
    assert_eq!(out["log"], json!(["paid"]));
    assert_eq!(out["review"], json!({"type": "accept", "args": null}));
    assert!(out.get("__interrupt__").is_none(), "{out}");
}

#[tokio::test]
async fn edit_replaces_the_args_key_and_a_one_element_list_is_accepted() {
    let g = graph(SPEC);
    pause(&g).await;
    let answer = json!([{"type": "edit", "args": {"action": "approve_refund", "args": {"amount": 10}}}]);
    let out = resume(&g, answer).await;
    assert_eq!(out["refund"], json!({"amount": 10}));
    assert_eq!(out["log"], json!(["paid"]));
}

#[tokio::test]
async fn respond_and_ignore_take_their_routes() {
    let g = graph(SPEC);
    pause(&g).await;
    let out = resume(&g, json!({"type": "response", "args": "Ask for the receipt first"})).await;
    assert_eq!(out["log"], json!(["replied"]));
    assert_eq!(out["review"]["args"], json!("Ask for the receipt first"));

    let g = graph(SPEC);
    pause(&g).await;
    let out = resume(&g, json!({"type": "ignore"})).await;
    assert_eq!(out["log"], json!([]), "ignore routes to __end__");
    assert_eq!(out["review"]["type"], json!("ignore"));
}

#[tokio::test]
async fn a_disallowed_answer_asks_again_with_an_error_and_keeps_the_pause() {
    let spec = SPEC
        .replace(
            "allow: {accept: true, edit: true, respond: true, ignore: true}",
            "allow: {accept: true, ignore: true}",
        )
        .replace(
            "routes: {accept: pay, edit: pay, respond: reply, ignore: __end__}",
            "routes: {accept: pay, ignore: reply}",
        );
    let g = graph(&spec);
    let first = pause(&g).await;
    let out = resume(&g, json!({"type": "response", "args": "no"})).await;
    let again = &out["__interrupt__"][0]["value"];
    let error = again["error"].as_str().unwrap();
    assert!(error.contains("human node `review`") && error.contains("`response` is not allowed"), "{error}");
    assert_eq!(again["action_request"], first["value"]["action_request"]);
    // The pause is still there: a valid answer finishes the run.
    let out = resume(&g, json!({"type": "accept"})).await;
    assert_eq!(out["log"], json!(["paid"]));
}

#[tokio::test]
async fn an_edit_that_breaks_the_schema_asks_again() {
    let g = graph(SPEC);
    pause(&g).await;
    let out =
        resume(&g, json!({"type": "edit", "args": {"action": "approve_refund", "args": {"amount": "ten"}}})).await;
    let error = out["__interrupt__"][0]["value"]["error"].as_str().unwrap().to_owned();
    assert!(error.contains("/args/args/amount: expected number, got string"), "{error}");
    assert!(out["__interrupt__"][0]["response_schema"].is_object());
    let out = resume(&g, json!({"type": "edit", "args": {"action": "approve_refund", "args": {"amount": 9}}})).await;
    assert_eq!(out["refund"], json!({"amount": 9}));
}

#[test]
fn config_mistakes_are_problems_with_pointers() {
    let spec = SPEC
        .replace("allow: {accept: true,", "allow: {approve: true, accept: true,")
        .replace("args_schema: {type: object,", "args_schema: {type: dict,");
    let problems =
        validate(&GraphSpec::from_yaml(&spec).unwrap(), &NodeKindRegistry::with_builtins(), &Default::default());
    let found: Vec<(Code, &str)> = problems.iter().map(|p| (p.code, p.pointer.as_str())).collect();
    assert_eq!(
        found,
        [
            (Code::InvalidConfig, "/nodes/0/config/allow/approve"),
            (Code::InvalidConfig, "/nodes/0/config/args_schema/type")
        ]
    );
    let spec = SPEC.replace("respond: reply,", "");
    let problems =
        validate(&GraphSpec::from_yaml(&spec).unwrap(), &NodeKindRegistry::with_builtins(), &Default::default());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].message.contains("`respond` is allowed but has no route"), "{problems:?}");
}
