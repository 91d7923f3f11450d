//! Reducer channels: combine every write with a binary operator (LangGraph's
//! `Annotated[list, operator.add]`).

use std::fmt;
use std::sync::Arc;

use crate::value::{Number, Value};

use super::Channel;
use crate::types::as_overwrite;
use crate::{Error, Result};

type ReduceFn = dyn Fn(&mut Value, Value) -> std::result::Result<(), String> + Send + Sync;

/// A named binary operator `current ⊕ update → current`, applied in place so that appending to a
/// long list does not copy it (unless a reader still holds the old value).
#[derive(Clone)]
pub struct Reducer {
    name: Arc<str>,
    f: Arc<ReduceFn>,
}

impl fmt::Debug for Reducer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reducer({})", self.name)
    }
}

impl Reducer {
    /// A reducer from a function that folds `update` into `current` in place.
    pub fn new(
        name: impl Into<Arc<str>>,
        f: impl Fn(&mut Value, Value) -> std::result::Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        Reducer { name: name.into(), f: Arc::new(f) }
    }

    /// A reducer from a pure function `(current, update) -> new`, like a Python reducer.
    pub fn from_fn(
        name: impl Into<Arc<str>>,
        f: impl Fn(Value, Value) -> std::result::Result<Value, String> + Send + Sync + 'static,
    ) -> Self {
        Reducer::new(name, move |cur, upd| {
            let old = std::mem::take(cur);
            *cur = f(old, upd)?;
            Ok(())
        })
    }

    /// The reducer's name (shown in errors, drawings and state diffs).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Applies the reducer.
    pub fn apply(&self, current: &mut Value, update: Value) -> std::result::Result<(), String> {
        (self.f)(current, update)
    }

    /// Looks up a built-in reducer by name: `add`, `append`, `extend`, `merge`, `min`, `max`.
    pub fn builtin(name: &str) -> Option<Reducer> {
        Some(match name {
            "add" => Reducer::add(),
            "append" => Reducer::append(),
            "extend" => Reducer::extend(),
            "merge" => Reducer::merge(),
            "min" => Reducer::min(),
            "max" => Reducer::max(),
            _ => return None,
        })
    }

    /// Python's `operator.add`: numbers add, lists concatenate, strings concatenate.
    pub fn add() -> Reducer {
        Reducer::new("add", |cur, upd| match (cur, upd) {
            (Value::Array(a), Value::Array(b)) => {
                extend_shared(Arc::make_mut(a), b);
                Ok(())
            }
            (Value::String(a), Value::String(b)) => {
                Arc::make_mut(a).push_str(&b);
                Ok(())
            }
            (Value::Number(a), Value::Number(b)) => {
                *a = add_numbers(a, &b)?;
                Ok(())
            }
            (cur @ Value::Null, upd) => {
                *cur = upd;
                Ok(())
            }
            (cur, upd) => Err(format!("cannot add {} to {}", upd.kind(), cur.kind())),
        })
    }

    /// Appends the written value as one item of a list (`lambda a, b: a + [b]`).
    pub fn append() -> Reducer {
        Reducer::new("append", |cur, upd| match cur {
            Value::Array(a) => {
                Arc::make_mut(a).push(upd);
                Ok(())
            }
            Value::Null => {
                *cur = Value::from(vec![upd]);
                Ok(())
            }
            other => Err(format!("cannot append to {}", other.kind())),
        })
    }

    /// Extends a list with the written list; a single non-list value is appended.
    pub fn extend() -> Reducer {
        Reducer::new("extend", |cur, upd| {
            if cur.is_null() {
                *cur = Value::array();
            }
            match (cur, upd) {
                (Value::Array(a), Value::Array(b)) => {
                    extend_shared(Arc::make_mut(a), b);
                    Ok(())
                }
                (Value::Array(a), other) => {
                    Arc::make_mut(a).push(other);
                    Ok(())
                }
                (other, _) => Err(format!("cannot extend {}", other.kind())),
            }
        })
    }

    /// Shallow-merges objects (`{**a, **b}`).
    pub fn merge() -> Reducer {
        Reducer::new("merge", |cur, upd| {
            if cur.is_null() {
                *cur = Value::object();
            }
            match (cur, upd) {
                (Value::Object(a), Value::Object(b)) => {
                    let a = Arc::make_mut(a);
                    match Arc::try_unwrap(b) {
                        Ok(b) => a.extend(b),
                        Err(b) => a.extend(b.iter().map(|(k, v)| (k.clone(), v.clone()))),
                    }
                    Ok(())
                }
                (cur, upd) => Err(format!("cannot merge {} into {}", upd.kind(), cur.kind())),
            }
        })
    }

    /// Keeps the smaller number.
    pub fn min() -> Reducer {
        Reducer::new("min", |cur, upd| pick_number(cur, upd, std::cmp::Ordering::Less))
    }

    /// Keeps the larger number.
    pub fn max() -> Reducer {
        Reducer::new("max", |cur, upd| pick_number(cur, upd, std::cmp::Ordering::Greater))
    }
}

/// Appends `items`, moving them when nobody else holds the list, else cloning (cheap: values
/// share their contents).
fn extend_shared(target: &mut Vec<Value>, items: Arc<Vec<Value>>) {
    match Arc::try_unwrap(items) {
        Ok(items) => target.extend(items),
        Err(items) => target.extend(items.iter().cloned()),
    }
}

fn add_numbers(a: &Number, b: &Number) -> std::result::Result<Number, String> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64())
        && let Some(s) = x.checked_add(y)
    {
        return Ok(Number::from(s));
    }
    let s = a.as_f64().unwrap_or(0.0) + b.as_f64().unwrap_or(0.0);
    Number::from_f64(s).ok_or_else(|| "sum is not a finite number".to_owned())
}

fn pick_number(cur: &mut Value, upd: Value, keep: std::cmp::Ordering) -> std::result::Result<(), String> {
    match (&*cur, &upd) {
        (Value::Null, Value::Number(_)) => {
            *cur = upd;
            Ok(())
        }
        (Value::Number(a), Value::Number(b)) => {
            let ord = b.as_f64().partial_cmp(&a.as_f64()).unwrap_or(std::cmp::Ordering::Equal);
            if ord == keep {
                *cur = upd;
            }
            Ok(())
        }
        _ => Err(format!("expected numbers, got {} and {}", cur.kind(), upd.kind())),
    }
}

/// A channel whose writes are folded by a [`Reducer`] (LangGraph's `BinaryOperatorAggregate`).
/// An [`Overwrite`](crate::types::Overwrite) replaces the value instead; two in one step are an
/// error.
#[derive(Debug, Clone)]
pub struct BinaryOperator {
    reducer: Reducer,
    value: Option<Value>,
}

impl BinaryOperator {
    /// A channel starting at `initial` (or empty: the first write is taken as is).
    pub fn new(reducer: Reducer, initial: Option<Value>) -> Self {
        BinaryOperator { reducer, value: initial }
    }
}

impl Channel for BinaryOperator {
    fn get(&self) -> Option<Value> {
        self.value.clone()
    }
    fn is_available(&self) -> bool {
        self.value.is_some()
    }
    fn update(&mut self, key: &str, values: Vec<Value>) -> Result<bool> {
        if values.is_empty() {
            return Ok(false);
        }
        let mut iter = values.into_iter();
        let mut seen_overwrite = false;
        if self.value.is_none() {
            // No initial value: the first write becomes the value, as LangGraph does for types
            // without a default constructor.
            // (LangGraph does not count this first write as an Overwrite even when it is one.)
            let first = iter.next().expect("non-empty");
            self.value = Some(unwrap_overwrite(first).unwrap_or_else(|v| v));
        }
        let slot = self.value.as_mut().expect("set above");
        for v in iter {
            match unwrap_overwrite(v) {
                Ok(v) => {
                    if seen_overwrite {
                        return Err(Error::InvalidUpdate {
                            key: key.to_owned(),
                            message: "can receive only one Overwrite value per step".to_owned(),
                        });
                    }
                    seen_overwrite = true;
                    *slot = v;
                }
                Err(v) => {
                    if seen_overwrite {
                        // LangGraph ignores ordinary writes once an Overwrite was seen in the step.
                        continue;
                    }
                    // Copy-on-write: containers are written in place when no reader holds them.
                    self.reducer.apply(slot, v).map_err(|message| Error::Reducer {
                        key: key.to_owned(),
                        reducer: self.reducer.name().to_owned(),
                        message,
                    })?;
                }
            }
        }
        Ok(true)
    }
    fn restore(&mut self, value: Value) {
        self.value = Some(value);
    }
    fn clone_box(&self) -> Box<dyn Channel> {
        Box::new(self.clone())
    }
}

fn unwrap_overwrite(v: Value) -> std::result::Result<Value, Value> {
    match as_overwrite(&v) {
        Some(inner) => Ok(inner.clone()),
        None => Err(v),
    }
}
