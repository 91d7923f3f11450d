//! Each channel's rule, as LangGraph's channels behave (`langgraph/channels/*.py`).

use crate::value::Value;

use super::*;

/// JSON syntax for an engine value.
macro_rules! jv {
    ($($t:tt)+) => {
        crate::value::Value::from(serde_json::json!($($t)+))
    };
}
use crate::Error;

fn get(c: &dyn Channel) -> Option<Value> {
    c.get()
}

fn list_ptr(v: &Value) -> *const Vec<Value> {
    match v {
        Value::Array(a) => Arc::as_ptr(a),
        other => panic!("not a list: {other}"),
    }
}

#[test]
fn last_value_keeps_one_write_and_rejects_two() {
    let mut c = LastValue::new(None);
    assert!(!c.is_available());
    assert!(!c.update("k", vec![]).unwrap());
    assert!(c.update("k", vec![jv!(1)]).unwrap());
    assert_eq!(get(&c), Some(jv!(1)));
    let err = c.update("k", vec![jv!(2), jv!(3)]).unwrap_err();
    assert!(matches!(err, Error::InvalidUpdate { ref key, .. } if key == "k"), "{err}");
    assert_eq!(err.code(), "SG010");
    assert_eq!(get(&c), Some(jv!(1)), "a rejected step leaves the value alone");
}

#[test]
fn reducer_folds_in_order_and_appends_in_place() {
    let mut c = BinaryOperator::new(Reducer::add(), Some(jv!([])));
    assert!(c.update("k", vec![jv!(["a"]), jv!(["b", "c"])]).unwrap());
    assert_eq!(get(&c), Some(jv!(["a", "b", "c"])));
    // Unshared values are appended to without copying.
    let before = c.get().unwrap();
    let ptr = list_ptr(&before);
    drop(before);
    c.update("k", vec![jv!(["d"])]).unwrap();
    assert_eq!(list_ptr(&c.get().unwrap()), ptr);
    // A reader holding the old value keeps it (copy on write).
    let held = c.get().unwrap();
    c.update("k", vec![jv!(["e"])]).unwrap();
    assert_eq!(held, jv!(["a", "b", "c", "d"]));
    assert_eq!(get(&c), Some(jv!(["a", "b", "c", "d", "e"])));
}

#[test]
fn reducer_without_default_takes_the_first_write() {
    let mut c = BinaryOperator::new(Reducer::add(), None);
    assert!(!c.is_available());
    c.update("k", vec![jv!(5), jv!(7)]).unwrap();
    assert_eq!(get(&c), Some(jv!(12)));
}

#[test]
fn overwrite_bypasses_the_reducer_and_only_once_per_step() {
    let mut c = BinaryOperator::new(Reducer::add(), Some(jv!([1])));
    c.update("k", vec![jv!([2]), crate::types::Overwrite(jv!([9])).into(), jv!([3])]).unwrap();
    // Writes after an Overwrite in the same step are ignored, as in LangGraph.
    assert_eq!(get(&c), Some(jv!([9])));
    let err = c.update("k", vec![jv!({"__overwrite__": [1]}), jv!({"__overwrite__": [2]})]).unwrap_err();
    assert!(err.to_string().contains("Overwrite"), "{err}");
}

#[test]
fn reducer_errors_name_key_and_reducer() {
    let mut c = BinaryOperator::new(Reducer::add(), Some(jv!([])));
    let err = c.update("items", vec![jv!("x")]).unwrap_err();
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
    assert_eq!(apply("add", jv!(1), vec![jv!(2), jv!(3.5)]), jv!(6.5));
    assert_eq!(apply("add", jv!("a"), vec![jv!("b")]), jv!("ab"));
    assert_eq!(apply("append", jv!([]), vec![jv!([1]), jv!(2)]), jv!([[1], 2]));
    assert_eq!(apply("extend", jv!([0]), vec![jv!([1, 2]), jv!(3)]), jv!([0, 1, 2, 3]));
    assert_eq!(apply("merge", jv!({"a": 1}), vec![jv!({"b": 2}), jv!({"a": 3})]), jv!({"a": 3, "b": 2}));
    assert_eq!(apply("min", jv!(5), vec![jv!(7), jv!(2)]), jv!(2));
    assert_eq!(apply("max", jv!(5), vec![jv!(7), jv!(2)]), jv!(7));
    assert!(Reducer::builtin("nope").is_none());
}

#[test]
fn topic_clears_each_step_unless_accumulating() {
    let mut t = Topic::new(false);
    t.update("t", vec![jv!(1), jv!([2, 3])]).unwrap();
    assert_eq!(get(&t), Some(jv!([1, 2, 3])));
    assert!(t.update("t", vec![]).unwrap(), "an empty step clears it");
    assert!(!t.is_available());
    let mut a = Topic::new(true);
    a.update("t", vec![jv!(1)]).unwrap();
    a.update("t", vec![]).unwrap();
    a.update("t", vec![jv!(2)]).unwrap();
    assert_eq!(get(&a), Some(jv!([1, 2])));
}

#[test]
fn ephemeral_lives_one_step() {
    let mut e = Ephemeral::new(true);
    e.update("e", vec![jv!("x")]).unwrap();
    assert_eq!(get(&e), Some(jv!("x")));
    assert!(e.update("e", vec![]).unwrap());
    assert!(!e.is_available());
    assert!(e.update("e", vec![jv!(1), jv!(2)]).is_err(), "guarded: one write per step");
    let mut edge = Ephemeral::new(false);
    edge.update("branch:to:x", vec![Value::Null, Value::Null]).unwrap();
    assert!(edge.is_available(), "edges write null from many sources");
}

#[test]
fn named_barrier_waits_for_every_writer() {
    let names = ["a".to_owned(), "b".to_owned()].into_iter().collect();
    let mut j = NamedBarrier::new(names, false);
    j.update("join", vec![jv!("a")]).unwrap();
    assert!(!j.is_available());
    j.update("join", vec![jv!("b")]).unwrap();
    assert!(j.is_available());
    assert!(j.consume());
    assert!(!j.is_available());
    assert!(j.update("join", vec![jv!("z")]).is_err());
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
    j.update("join", vec![jv!("a")]).unwrap();
    assert!(!j.is_available());
    assert!(j.finish());
    assert!(j.is_available());
}

#[test]
fn untracked_is_not_checkpointed_and_others_round_trip() {
    let mut u = Untracked::new(None);
    u.update("u", vec![jv!(1)]).unwrap();
    assert_eq!(u.checkpoint(), None);

    let specs = [
        ChannelSpec::last_value(),
        ChannelSpec::reducer(Reducer::add()).with_default(jv!([])),
        ChannelSpec::topic(true),
        ChannelSpec::of(ChannelKind::LastValueAfterFinish),
    ];
    for spec in specs {
        let mut c = spec.build();
        c.update("k", vec![jv!([1])]).unwrap();
        c.finish();
        let saved = c.checkpoint().expect("has a value");
        let mut restored = spec.build();
        restored.restore(saved);
        assert_eq!(get(&*restored), get(&*c), "{spec:?}");
    }
}
