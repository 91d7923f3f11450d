//! Typed state: `#[derive(State)]` schemas, validation and partial updates, through the facade.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stategraph::prelude::*;
use stategraph::typed::{StateInput, StateSchema, TypedCompiledGraph, TypedGraph};
use stategraph::{ChannelKind, Error};

fn concat_unique(current: stategraph::Value, update: stategraph::Value) -> Result<stategraph::Value, String> {
    let mut items = current.as_array().cloned().unwrap_or_default();
    for v in update.as_array().ok_or("expected a list")? {
        if !items.contains(v) {
            items.push(v.clone());
        }
    }
    Ok(stategraph::Value::from(items))
}

fn even(n: &i64) -> Result<(), String> {
    if n % 2 == 0 { Ok(()) } else { Err(format!("{n} is odd")) }
}

#[derive(State, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Pipeline {
    #[reducer(add)]
    log: Vec<String>,
    #[reducer(add)]
    total: i64,
    #[reducer(append)]
    events: Vec<Value>,
    #[reducer(merge)]
    meta: serde_json::Map<String, Value>,
    #[reducer(max)]
    best: Option<i64>,
    #[reducer(fn = concat_unique)]
    tags: Vec<String>,
    status: Option<String>,
    #[serde(rename = "userName")]
    user: Option<String>,
    #[state(managed = "remaining_steps")]
    #[serde(default)]
    remaining: i64,
}

fn update() -> PipelineUpdate {
    PipelineUpdate::default()
}

async fn run<S: StateSchema>(app: &TypedCompiledGraph<S>, input: impl StateInput<S>) -> Result<S, Error> {
    app.invoke(input, RunConfig::default()).await
}

fn pipeline() -> TypedCompiledGraph<Pipeline> {
    let mut graph = TypedGraph::<Pipeline>::new();
    graph
        .add_node("a", |_s: Pipeline, _ctx| async {
            Ok::<_, NodeError>(PipelineUpdate {
                log: Some(vec!["a".into()]),
                total: Some(2),
                events: Some(json!({"n": 1})),
                meta: Some(json!({"a": true}).as_object().cloned().unwrap()),
                best: Some(3),
                tags: Some(vec!["x".into(), "y".into()]),
                status: Some("started".into()),
                ..update()
            })
        })
        .add_node("b", |s: Pipeline, _ctx| async move {
            Ok::<_, NodeError>(PipelineUpdate {
                log: Some(vec![format!("b saw {}", s.status.unwrap_or_default())]),
                total: Some(3),
                events: Some(json!({"n": 2})),
                meta: Some(json!({"b": true}).as_object().cloned().unwrap()),
                best: Some(1),
                tags: Some(vec!["y".into(), "z".into()]),
                status: Some("done".into()),
                ..update()
            })
        })
        .add_edge(START, "a")
        .add_edge("a", "b")
        .add_edge("b", END);
    graph.compile().unwrap()
}

#[tokio::test]
async fn reducer_fields_accumulate_and_last_value_fields_keep_the_last_write() {
    let out = run(&pipeline(), PipelineUpdate { log: Some(vec!["start".into()]), ..update() }).await.unwrap();
    assert_eq!(out.log, ["start", "a", "b saw started"]);
    assert_eq!(out.total, 5);
    assert_eq!(out.events, [json!({"n": 1}), json!({"n": 2})]);
    assert_eq!(Value::Object(out.meta), json!({"a": true, "b": true}));
    assert_eq!(out.best, Some(3));
    assert_eq!(out.tags, ["x", "y", "z"]);
    assert_eq!(out.status.as_deref(), Some("done"));
    assert_eq!(out.user, None);
}

#[test]
fn schema_has_one_channel_per_field_with_reducer_defaults() {
    let schema = Pipeline::schema();
    let keys: Vec<(&str, String)> = schema.keys().map(|(k, spec)| (k, format!("{:?}", spec.kind()))).collect();
    assert_eq!(
        keys,
        [
            ("log", "Reducer(add)".to_owned()),
            ("total", "Reducer(add)".to_owned()),
            ("events", "Reducer(append)".to_owned()),
            ("meta", "Reducer(merge)".to_owned()),
            ("best", "Reducer(max)".to_owned()),
            ("tags", "Reducer(concat_unique)".to_owned()),
            ("status", "LastValue".to_owned()),
            ("userName", "LastValue".to_owned()),
        ]
    );
    let defaults: Vec<Option<Value>> = schema.keys().map(|(_, spec)| spec.default_value().map(Value::from)).collect();
    assert_eq!(
        defaults,
        [
            Some(json!([])),
            Some(json!(0)),
            Some(json!([])),
            Some(json!({})),
            Some(Value::Null),
            Some(json!([])),
            None,
            None
        ]
    );
    assert!(schema.contains("remaining"), "managed value is part of the schema");
}

#[tokio::test]
async fn serde_rename_names_the_key_and_managed_values_are_readable() {
    let mut graph = TypedGraph::<Pipeline>::new();
    graph
        .add_node("who", |s: Pipeline, _ctx| async move {
            Ok::<_, NodeError>(PipelineUpdate {
                log: Some(vec![format!("{} with {} steps left", s.user.unwrap_or_default(), s.remaining)]),
                ..update()
            })
        })
        .add_edge(START, "who");
    let app = graph.compile().unwrap();
    let out =
        app.graph().invoke(json!({"userName": "ada"}), RunConfig::default().with_recursion_limit(10)).await.unwrap();
    assert_eq!(out["log"], json!(["ada with 9 steps left"]));
    assert_eq!(out["userName"], json!("ada"));
}

#[test]
fn partial_update_only_writes_the_fields_set() {
    let out = NodeOutput::from(PipelineUpdate { status: Some("x".into()), user: Some("y".into()), ..update() });
    assert_eq!(out, NodeOutput::from(json!({"status": "x", "userName": "y"})));
    assert_eq!(NodeOutput::from(update()), NodeOutput::Update(Default::default()));
}

#[tokio::test]
async fn partial_update_leaves_other_fields_alone() {
    let mut graph = TypedGraph::<Pipeline>::new();
    graph
        .add_node("set_status", |_s: Pipeline, _ctx| async {
            Ok::<_, NodeError>(PipelineUpdate { status: Some("checked".into()), ..update() })
        })
        .add_edge(START, "set_status");
    let app = graph.compile().unwrap();
    let input = PipelineUpdate { user: Some("ada".into()), total: Some(7), ..update() };
    let out = run(&app, input).await.unwrap();
    assert_eq!(out.user.as_deref(), Some("ada"));
    assert_eq!(out.total, 7);
    assert_eq!(out.status.as_deref(), Some("checked"));
    assert!(out.log.is_empty());
}

#[derive(State, Serialize, Deserialize, Debug, Clone)]
struct Form {
    #[validate(length(min = 1, max = 5))]
    name: Option<String>,
    #[validate(length(max = 2))]
    #[reducer(add)]
    items: Vec<i64>,
    #[validate(range(min = 0, max = 100))]
    score: Option<i64>,
    #[validate(range(min = -0.5, max = 0.5))]
    bias: Option<f64>,
    #[validate(pattern = "^[a-z]+$")]
    slug: Option<String>,
    #[validate(custom = even)]
    count: Option<i64>,
}

fn form() -> FormUpdate {
    FormUpdate::default()
}

/// A graph whose one node writes `write`; `form_graph(None)` has a node that writes nothing.
fn form_graph(write: Option<FormUpdate>) -> TypedCompiledGraph<Form> {
    let mut graph = TypedGraph::<Form>::new();
    graph
        .add_node("writer", move |_s: Form, _ctx| {
            let write = write.clone();
            async move { Ok::<_, NodeError>(write) }
        })
        .add_edge(START, "writer");
    graph.compile().unwrap()
}

fn validation(err: Error) -> (String, String, String) {
    match err {
        Error::Validation { field, writer, message } => (field, writer, message),
        other => panic!("expected a validation error, got {other}"),
    }
}

async fn input_error(input: FormUpdate) -> (String, String, String) {
    validation(run(&form_graph(None), input).await.unwrap_err())
}

async fn node_error(write: FormUpdate) -> (String, String, String) {
    validation(run(&form_graph(Some(write)), form()).await.unwrap_err())
}

fn expect(field: &str, writer: &str, message: &str) -> (String, String, String) {
    (field.to_owned(), writer.to_owned(), message.to_owned())
}

#[tokio::test]
async fn valid_values_pass_every_check() {
    let input = FormUpdate {
        name: Some("ada".into()),
        items: Some(vec![1, 2]),
        score: Some(100),
        bias: Some(-0.5),
        slug: Some("abc".into()),
        count: Some(4),
    };
    let out = run(&form_graph(Some(FormUpdate { items: None, ..input.clone() })), input).await.unwrap();
    assert_eq!(out.name.as_deref(), Some("ada"));
    assert_eq!(out.score, Some(100));
}

#[tokio::test]
async fn invalid_input_names_the_field_and_the_input() {
    assert_eq!(
        input_error(FormUpdate { name: Some(String::new()), ..form() }).await,
        expect("name", "input", "length 0 is below the minimum 1")
    );
    let err = run(&form_graph(None), FormUpdate { score: Some(120), ..form() }).await.unwrap_err();
    assert_eq!(err.code(), "SG040");
    assert_eq!(
        err.to_string(),
        "SG040 invalid value for field `score` written by `input`: value 120 is above the maximum 100"
    );
}

#[tokio::test]
async fn invalid_node_write_names_the_field_and_the_node() {
    assert_eq!(
        node_error(FormUpdate { slug: Some("Not A Slug".into()), ..form() }).await,
        expect("slug", "writer", "\"Not A Slug\" does not match pattern ^[a-z]+$")
    );
}

#[tokio::test]
async fn length_counts_characters_and_items() {
    // Five characters, more than five bytes.
    let out = run(&form_graph(None), FormUpdate { name: Some("héllö".into()), ..form() }).await.unwrap();
    assert_eq!(out.name.as_deref(), Some("héllö"));
    assert_eq!(
        node_error(FormUpdate { name: Some("abcdef".into()), ..form() }).await,
        expect("name", "writer", "length 6 is above the maximum 5")
    );
    // A reducer key is checked after reducing: two items from the input plus one from the node.
    let err = run(
        &form_graph(Some(FormUpdate { items: Some(vec![3]), ..form() })),
        FormUpdate { items: Some(vec![1, 2]), ..form() },
    )
    .await
    .unwrap_err();
    assert_eq!(validation(err), expect("items", "writer", "length 3 is above the maximum 2"));
}

#[tokio::test]
async fn range_checks_integers_and_floats() {
    assert_eq!(
        input_error(FormUpdate { score: Some(-1), ..form() }).await,
        expect("score", "input", "value -1 is below the minimum 0")
    );
    assert_eq!(
        node_error(FormUpdate { bias: Some(0.75), ..form() }).await,
        expect("bias", "writer", "value 0.75 is above the maximum 0.5")
    );
    assert!(run(&form_graph(None), FormUpdate { score: Some(0), bias: Some(0.5), ..form() }).await.is_ok());
}

#[tokio::test]
async fn pattern_accepts_matching_strings() {
    assert!(run(&form_graph(Some(FormUpdate { slug: Some("ok".into()), ..form() })), form()).await.is_ok());
    assert_eq!(
        input_error(FormUpdate { slug: Some("UPPER".into()), ..form() }).await,
        expect("slug", "input", "\"UPPER\" does not match pattern ^[a-z]+$")
    );
}

#[tokio::test]
async fn custom_validators_get_the_typed_value() {
    assert!(run(&form_graph(None), FormUpdate { count: Some(2), ..form() }).await.is_ok());
    assert_eq!(node_error(FormUpdate { count: Some(3), ..form() }).await, expect("count", "writer", "3 is odd"));
}

#[tokio::test]
async fn custom_validators_reject_values_of_the_wrong_type() {
    // An untyped node can write anything; the custom check reads it as the field type first.
    let mut graph = TypedGraph::<Form>::new();
    graph
        .graph_mut()
        .add_node("raw", |_s: State, _ctx| async { Ok::<_, NodeError>(json!({"count": "three"})) })
        .add_edge(START, "raw");
    let err = run(&graph.compile().unwrap(), form()).await.unwrap_err();
    let (field, writer, message) = validation(err);
    assert_eq!((field.as_str(), writer.as_str()), ("count", "raw"));
    assert!(message.starts_with("expected `i64`: invalid type: string \"three\""), "{message}");
}

#[tokio::test]
async fn a_state_that_does_not_fit_the_struct_fails_the_node_with_a_validation_error() {
    #[derive(State, Serialize, Deserialize, Debug)]
    struct Strict {
        required: String,
        seen: Option<bool>,
    }
    let mut graph = TypedGraph::<Strict>::new();
    graph
        .add_node("reader", |_s: Strict, _ctx| async {
            Ok::<_, NodeError>(StrictUpdate { seen: Some(true), ..Default::default() })
        })
        .add_edge(START, "reader");
    let app = graph.compile().unwrap();
    let err = run(&app, StrictUpdate { seen: Some(false), ..Default::default() }).await.unwrap_err();
    let Error::NodeFailed { node, error } = err else { panic!("expected a node failure, got {err}") };
    assert_eq!(node, "reader");
    assert_eq!(error.kind(), "ValidationError");
    assert!(!error.is_retryable());
    assert!(error.message().contains("missing field `required`"), "{}", error.message());
}

#[derive(State, Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
struct Kinds {
    #[state(ephemeral)]
    #[serde(default)]
    just_now: Option<String>,
    #[state(topic(accumulate))]
    #[serde(default)]
    seen_items: Vec<i64>,
    #[state(untracked)]
    scratch_pad: Option<String>,
    #[state(managed = "is_last_step")]
    #[serde(default)]
    last_step: bool,
    #[serde(skip)]
    not_state: u8,
}

#[tokio::test]
async fn state_options_select_channel_kinds() {
    let schema = Kinds::schema();
    let kinds: Vec<(&str, bool)> = schema
        .keys()
        .map(|(k, spec)| {
            let ok = match k {
                "justNow" => matches!(spec.kind(), ChannelKind::Ephemeral),
                "seenItems" => matches!(spec.kind(), ChannelKind::Topic { accumulate: true }),
                "scratchPad" => matches!(spec.kind(), ChannelKind::Untracked),
                _ => false,
            };
            (k, ok)
        })
        .collect();
    assert_eq!(kinds, [("justNow", true), ("seenItems", true), ("scratchPad", true)]);
    assert!(schema.contains("lastStep"));

    let mut graph = TypedGraph::<Kinds>::new();
    graph
        .add_node("one", |_s: Kinds, _ctx| async {
            Ok::<_, NodeError>(KindsUpdate {
                just_now: Some("one".into()),
                seen_items: Some(vec![1]),
                ..Default::default()
            })
        })
        .add_node("two", |s: Kinds, _ctx| async move {
            assert_eq!(s.just_now.as_deref(), Some("one"));
            assert_eq!(s.not_state, 0);
            Ok::<_, NodeError>(KindsUpdate { seen_items: Some(vec![2, 3]), ..Default::default() })
        })
        .add_edge(START, "one")
        .add_edge("one", "two");
    let out = run(&graph.compile().unwrap(), KindsUpdate { scratch_pad: Some("x".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(out.just_now, None, "ephemeral value is gone after its step");
    assert_eq!(out.seen_items, [1, 2, 3]);
    assert_eq!(out.scratch_pad.as_deref(), Some("x"));
}

#[tokio::test]
async fn typed_routers_read_the_struct() {
    #[derive(State, Serialize, Deserialize, Debug)]
    struct Counter {
        #[reducer(add)]
        n: i64,
    }
    let mut graph = TypedGraph::<Counter>::new();
    graph
        .add_node("inc", |_c: Counter, _ctx| async { Ok::<_, NodeError>(CounterUpdate { n: Some(1) }) })
        .add_edge(START, "inc")
        .add_conditional_edges("inc", |c: &Counter| if c.n < 4 { "inc" } else { END }, ["inc", END]);
    let out = run(&graph.compile().unwrap(), CounterUpdate::default()).await.unwrap();
    assert_eq!(out.n, 4);
}

#[tokio::test]
async fn the_whole_state_is_a_valid_input() {
    let input = Form { name: Some("bo".into()), items: vec![1], score: None, bias: None, slug: None, count: Some(8) };
    let out = run(&form_graph(None), input).await.unwrap();
    assert_eq!(out.items, [1]);
    assert_eq!(out.count, Some(8));
}

#[tokio::test]
async fn the_whole_state_as_input_sets_reducer_keys_as_given() {
    let mut graph = TypedGraph::<Pipeline>::new();
    graph.add_node("noop", |_s: Pipeline, _ctx| async { Ok::<_, NodeError>(()) }).add_edge(START, "noop");
    let app = graph.compile().unwrap();
    let input = Pipeline {
        log: vec!["kept".into()],
        total: -4,
        events: vec![json!(1), json!(2)],
        meta: Default::default(),
        best: Some(-7),
        tags: vec!["t".into()],
        status: None,
        user: Some("ada".into()),
        remaining: 99,
    };
    let out = run(&app, input.clone()).await.unwrap();
    // `append` does not nest the list and `max` does not keep a larger default: the state is the input.
    assert_eq!(out, Pipeline { remaining: 0, ..input });
}

#[test]
fn derive_rejects_bad_uses_at_compile_time() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}

fn sorted(items: &[i64]) -> Result<(), String> {
    if items.is_sorted() { Ok(()) } else { Err("items are not sorted".to_owned()) }
}

fn not_blank(s: &str) -> Result<(), String> {
    if s.trim().is_empty() { Err("is blank".to_owned()) } else { Ok(()) }
}

#[tokio::test]
async fn custom_validators_may_take_the_borrowed_form() {
    #[derive(State, Serialize, Deserialize, Debug)]
    struct Borrowed {
        #[validate(custom = sorted)]
        items: Vec<i64>,
        #[validate(custom = not_blank)]
        note: Option<String>,
    }
    let mut graph = TypedGraph::<Borrowed>::new();
    graph.add_node("noop", |_s: Borrowed, _ctx| async { Ok::<_, NodeError>(()) }).add_edge(START, "noop");
    let app = graph.compile().unwrap();
    let ok = BorrowedUpdate { items: Some(vec![1, 2]), note: Some("hi".into()) };
    assert!(run(&app, ok).await.is_ok());
    let err = run(&app, BorrowedUpdate { items: Some(vec![2, 1]), note: None }).await.unwrap_err();
    assert_eq!(validation(err), expect("items", "input", "items are not sorted"));
    let err = run(&app, BorrowedUpdate { items: Some(vec![]), note: Some("  ".into()) }).await.unwrap_err();
    assert_eq!(validation(err), expect("note", "input", "is blank"));
}
