//! MessageGraph with transformations as nodes, routing conditions on the last message, and the
//! transformations on their own (token budgets with a custom counter, strip tool calls).

use serde_json::json;
use stategraph_core::{END, NodeError, START, State};
use stategraph_prebuilt::{
    ApproxTokens, Condition, ExcludeToolCalls, Filter, MergeRuns, Message, MessageGraph, MessageTransform,
    StripToolCalls, ToolCall, Trim, route_first,
};

fn texts(messages: &[Message]) -> Vec<String> {
    messages.iter().map(Message::text).collect()
}

fn state(messages: Vec<Message>) -> State {
    State::from_value(json!({"messages": messages.into_iter().map(|m| m.to_value().to_json()).collect::<Vec<_>>()}))
}

#[test]
fn conditions_on_the_last_message() {
    let tool_call = Message::ai_with_tool_calls("", vec![ToolCall::new("f", json!({}), "1")]);
    assert!(Condition::has_tool_calls().test_state(&state(vec![Message::human("x"), tool_call.clone()])));
    assert!(!Condition::has_tool_calls().test_state(&state(vec![tool_call, Message::ai("done")])));
    assert!(Condition::last_type("human").test_state(&state(vec![Message::human("x")])));
    assert!(Condition::last_name("critic").test_state(&state(vec![Message::ai("meh").with_name("critic")])));
    assert!(!Condition::last_name("critic").test_state(&state(vec![Message::ai("meh")])));
    let approve = Condition::content_matches(r"(?i)^approved\b").unwrap();
    assert!(approve.test_state(&state(vec![Message::ai("Approved, ship it")])));
    assert!(!approve.test_state(&state(vec![Message::ai("not approved")])));
    assert!(Condition::is_empty().test_state(&state(vec![])));
    let short = Condition::predicate("short", |m| m.is_some_and(|m| m.text().len() < 5));
    let either = short.clone().or(Condition::last_type("tool"));
    assert!(either.test(Some(&Message::tool("a long tool output", "c"))));
    assert!(!short.clone().and(Condition::last_type("human")).test(Some(&Message::ai("ok"))));
    assert!(short.negate().test(Some(&Message::ai("a long answer"))));
}

#[test]
fn route_first_picks_the_first_condition_that_holds() {
    let router = route_first(
        vec![
            (Condition::has_tool_calls(), "tools"),
            (Condition::content_matches("FINAL").unwrap(), "publish"),
            (Condition::last_type("ai"), "review"),
        ],
        END,
    );
    assert_eq!(router(&state(vec![Message::ai("FINAL draft")])), "publish".into());
    assert_eq!(router(&state(vec![Message::ai("draft")])), "review".into());
    assert_eq!(router(&state(vec![Message::human("hi")])), END.into());
}

#[tokio::test]
async fn message_graph_with_a_reviewer_loop_and_a_trim_node() {
    let mut graph = MessageGraph::new();
    graph
        .add_node("writer", |history: Vec<Message>| async move {
            let drafts = history.iter().filter(|m| m.name.as_deref() == Some("writer")).count();
            let text = if drafts < 2 { format!("draft {}", drafts + 1) } else { "FINAL text".to_owned() };
            Ok::<_, NodeError>(Message::ai(text).with_name("writer"))
        })
        .add_node("critic", |_h: Vec<Message>| async {
            Ok::<_, NodeError>(Message::human("try again").with_name("critic"))
        })
        .add_transform("compact", Trim::last(3).include_system(true))
        .add_edge(START, "writer")
        .add_conditional_edges(
            "writer",
            Condition::content_matches("^FINAL").unwrap().route("compact", "critic"),
            ["compact", "critic"],
        )
        .add_edge("critic", "writer")
        .add_edge("compact", END);
    let app = graph.compile().unwrap();
    let out = app.invoke(vec![Message::system("be good"), Message::human("write")]).await.unwrap();
    assert_eq!(texts(&out), ["be good", "try again", "FINAL text"]);
    assert!(out.iter().all(|m| m.id.is_some()));
}

#[tokio::test]
async fn message_graph_accepts_simple_forms_and_removals() {
    let mut graph = MessageGraph::new();
    graph
        .add_node("forget_first", |h: Vec<Message>| async move {
            Ok::<_, NodeError>(vec![Message::remove(h[0].id.clone().unwrap()), Message::ai("forgot")])
        })
        .add_edge(START, "forget_first")
        .add_edge("forget_first", END);
    let out =
        graph.compile().unwrap().invoke_value(json!([["user", "a"], "b"]).into(), Default::default()).await.unwrap();
    assert_eq!(texts(&out), ["b", "forgot"]);
}

#[test]
fn trim_to_a_token_budget_with_a_custom_counter() {
    let history = vec![
        Message::system("rules"),
        Message::human("aaaaaaaaaa"),
        Message::ai("bbbbbbbbbb"),
        Message::human("cccc"),
        Message::ai("dd"),
    ];
    let chars = |ms: &[Message]| ms.iter().map(|m| m.text().len()).sum::<usize>();
    let kept = Trim::new(16, chars).apply(&history).unwrap();
    assert_eq!(texts(&kept), ["bbbbbbbbbb", "cccc", "dd"]);
    let kept = Trim::new(16, chars).include_system(true).apply(&history).unwrap();
    assert_eq!(texts(&kept), ["rules", "cccc", "dd"]);
    let kept = Trim::new(16, chars).start_on(["human"]).apply(&history).unwrap();
    assert_eq!(texts(&kept), ["cccc", "dd"]);
    assert!(ApproxTokens.count_of(&history) > 0);
}

trait CountOf {
    fn count_of(&self, m: &[Message]) -> usize;
}
impl<T: stategraph_prebuilt::TokenCounter> CountOf for T {
    fn count_of(&self, m: &[Message]) -> usize {
        self.count(m)
    }
}

#[test]
fn strip_tool_calls_and_filters() {
    let history = vec![
        Message::human("2+2 and 3+3?"),
        Message::ai_with_tool_calls(
            "computing",
            vec![ToolCall::new("add", json!({"a": 2}), "c1"), ToolCall::new("add", json!({"a": 3}), "c2")],
        ),
        Message::tool("4", "c1"),
        Message::tool("6", "c2"),
        Message::ai("4 and 6"),
    ];
    let stripped = StripToolCalls.apply(&history).unwrap();
    assert_eq!(texts(&stripped), ["2+2 and 3+3?", "computing", "4 and 6"]);
    assert!(!stripped[1].has_tool_calls());

    let without_c1 =
        Filter::new().exclude_tool_calls(ExcludeToolCalls::Ids(vec!["c1".into()])).apply(&history).unwrap();
    assert_eq!(texts(&without_c1), ["2+2 and 3+3?", "computing", "6", "4 and 6"]);
    assert_eq!(without_c1[1].tool_calls().len(), 1);

    let ai_only = Filter::new().include_types(["ai"]).apply(&history).unwrap();
    assert_eq!(ai_only.len(), 2);

    let merged =
        MergeRuns::new().separator(" ").apply(&[Message::human("a"), Message::human("b"), Message::ai("c")]).unwrap();
    assert_eq!(texts(&merged), ["a b", "c"]);
}
