//! Each channel's rule, as LangGraph's channels behave (`langgraph/channels/*.py`).

use serde_json::{Value, json};

use super::*;
use crate::Error;

fn get(c: &dyn Channel) -> Option<Value> {
    c.get().map(|v| (*v).clone())
}

#[test]
fn last_value_keeps_one_write_and_rejects_two() {
    let mut c = LastValue::new(None);
    assert!(!c.is_available());
    assert!(!c.update("k", vec![]).unwrap());
    assert!(c.update("k", vec![json!(1)]).unwrap());
    assert_eq!(get(&c), Some(json!(1)));
    let err = c.update("k", vec![json!(2), json!(3)]).unwrap_err();
    assert!(matches!(err, Error::InvalidUpdate { ref key, .. } if key == "k"), "{err}");
    assert_eq!(err.code(), "SG010");
    assert_eq!(get(&c), Some(json!(1)), "a rejected step leaves the value alone");
}

#[test]
fn reducer_folds_in_order_and_appends_in_place() {
    let mut c = BinaryOperator::new(Reducer::add(), Some(json!([])));
    assert!(c.update("k", vec![json!(["a"]), json!(["b", "c"])]).unwrap());
    assert_eq!(get(&c), Some(json!(["a", "b", "c"])));
    // Unshared values are appended to without copying.
    let before = c.get().unwrap();
    let ptr = Arc::as_ptr(&before);
    drop(before);
    c.update("k", vec![json!(["d"])]).unwrap();
    assert_eq!(Arc::as_ptr(&c.get().unwrap()), ptr);
    // A reader holding the old value keeps it (copy on write).
    let held = c.get().unwrap();
    c.update("k", vec![json!(["e"])]).unwrap();
    assert_eq!(*held, json!(["a", "b", "c", "d"]));
    assert_eq!(get(&c), Some(json!(["a", "b", "c", "d", "e"])));
}

#[test]
fn reducer_without_default_takes_the_first_write() {
    let mut c = BinaryOperator::new(Reducer::add(), None);
    assert!(!c.is_available());
    c.update("k", vec![json!(5), json!(7)]).unwrap();
    assert_eq!(get(&c), Some(json!(12)));
}

#[test]
fn overwrite_bypasses_the_reducer_and_only_once_per_step() {
    let mut c = BinaryOperator::new(Reducer::add(), Some(json!([1])));
    c.update("k", vec![json!([2]), crate::types::Overwrite(json!([9])).into(), json!([3])]).unwrap();
    // Writes after an Overwrite in the same step are ignored, as in LangGraph.
    assert_eq!(get(&c), Some(json!([9])));
    let err = c.update("k", vec![json!({"__overwrite__": [1]}), json!({"__overwrite__": [2]})]).unwrap_err();
    assert!(err.to_string().contains("Overwrite"), "{err}");
}

#[test]
fn reducer_errors_name_key_and_reducer() {
    let mut c = BinaryOperator::new(Reducer::add(), Some(json!([])));
    let err = c.update("items", vec![json!("x")]).unwrap_err();
    assert_eq!(err.code(), "SG031");
    assert!(err.to_string().contains("`items`") && err.to_string().contains("`add`"), "{err}");
}

#[test]
fn builtin_reducers() {
    let apply = |name: &str, init: Value, writes: Vec<Value>| {
        let mut c = BinaryOperator::new(Reducer::builtin(name).unwrap(), Some(init));
        c.update("k", writes).unwrap();
        get(&c).unwrap()
    };
    assert_eq!(apply("add", json!(1), vec![json!(2), json!(3.5)]), json!(6.5));
    assert_eq!(apply("add", json!("a"), vec![json!("b")]), json!("ab"));
    assert_eq!(apply("append", json!([]), vec![json!([1]), json!(2)]), json!([[1], 2]));
    assert_eq!(apply("extend", json!([0]), vec![json!([1, 2]), json!(3)]), json!([0, 1, 2, 3]));
    assert_eq!(apply("merge", json!({"a": 1}), vec![json!({"b": 2}), json!({"a": 3})]), json!({"a": 3, "b": 2}));
    assert_eq!(apply("min", json!(5), vec![json!(7), json!(2)]), json!(2));
    assert_eq!(apply("max", json!(5), vec![json!(7), json!(2)]), json!(7));
    assert!(Reducer::builtin("nope").is_none());
}

#[test]
fn topic_clears_each_step_unless_accumulating() {
    let mut t = Topic::new(false);
    t.update("t", vec![json!(1), json!([2, 3])]).unwrap();
    assert_eq!(get(&t), Some(json!([1, 2, 3])));
    assert!(t.update("t", vec![]).unwrap(), "an empty step clears it");
    assert!(!t.is_available());
    let mut a = Topic::new(true);
    a.update("t", vec![json!(1)]).unwrap();
    a.update("t", vec![]).unwrap();
    a.update("t", vec![json!(2)]).unwrap();
    assert_eq!(get(&a), Some(json!([1, 2])));
}

#[test]
fn ephemeral_lives_one_step() {
    let mut e = Ephemeral::new(true);
    e.update("e", vec![json!("x")]).unwrap();
    assert_eq!(get(&e), Some(json!("x")));
    assert!(e.update("e", vec![]).unwrap());
    assert!(!e.is_available());
    assert!(e.update("e", vec![json!(1), json!(2)]).is_err(), "guarded: one write per step");
    let mut edge = Ephemeral::new(false);
    edge.update("branch:to:x", vec![Value::Null, Value::Null]).unwrap();
    assert!(edge.is_available(), "edges write null from many sources");
}

#[test]
fn named_barrier_waits_for_every_writer() {
    let names = ["a".to_owned(), "b".to_owned()].into_iter().collect();
    let mut j = NamedBarrier::new(names, false);
    j.update("join", vec![json!("a")]).unwrap();
    assert!(!j.is_available());
    j.update("join", vec![json!("b")]).unwrap();
    assert!(j.is_available());
    assert!(j.consume());
    assert!(!j.is_available());
    assert!(j.update("join", vec![json!("z")]).is_err());
}

#[test]
fn after_finish_channels_wait_for_the_end_of_the_run() {
    let mut d = LastValueAfterFinish::default();
    d.update("d", vec![Value::Null]).unwrap();
    assert!(!d.is_available());
    assert!(d.finish());
    assert!(d.is_available());
    assert!(d.consume());
    assert!(!d.is_available());

    let names = ["a".to_owned()].into_iter().collect();
    let mut j = NamedBarrier::new(names, true);
    j.update("join", vec![json!("a")]).unwrap();
    assert!(!j.is_available());
    assert!(j.finish());
    assert!(j.is_available());
}

#[test]
fn untracked_is_not_checkpointed_and_others_round_trip() {
    let mut u = Untracked::new(None);
    u.update("u", vec![json!(1)]).unwrap();
    assert_eq!(u.checkpoint(), None);

    let specs = [
        ChannelSpec::last_value(),
        ChannelSpec::reducer(Reducer::add()).with_default(json!([])),
        ChannelSpec::topic(true),
        ChannelSpec::of(ChannelKind::LastValueAfterFinish),
    ];
    for spec in specs {
        let mut c = spec.build();
        c.update("k", vec![json!([1])]).unwrap();
        c.finish();
        let saved = c.checkpoint().expect("has a value");
        let mut restored = spec.build();
        restored.restore(saved);
        assert_eq!(get(&*restored), get(&*c), "{spec:?}");
    }
}
