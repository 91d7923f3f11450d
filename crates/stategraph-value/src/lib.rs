//! The value type the engine moves: JSON's data model with shared, copy-on-write containers.
//!
//! Why not `serde_json::Value`: its clone is a deep copy. Graph state is handed from node to node,
//! read by routers with a task's writes applied, concatenated by reducers and streamed; in Python
//! all of that shares objects by reference. Here strings, lists and objects sit behind `Arc`s, so
//! a clone is a reference-count bump and `add`-ing two lists copies pointers, not trees. Writing
//! to a shared container copies that container only (`Arc::make_mut`).
//!
//! Convert from and to `serde_json::Value` with `From`/`Into` at the edges; the `value!` macro of
//! the `stategraph` facade builds one from JSON syntax.
//!
//! This crate sits below the engine and the checkpointers, which both move these values.
//!
//! A host language embedding the engine (the Python package) can put its own objects into a value
//! as [`Value::Foreign`]: the engine moves them like any other value without looking inside, and
//! the host decides how they compare and how they are stored ([`HostValue`]).
//!
//! ```
//! use stategraph_value::Value;
//!
//! let v = Value::from(serde_json::json!({"messages": ["hi"]}));
//! let shared = v.clone(); // a reference-count bump, not a copy
//! assert_eq!(shared["messages"][0], serde_json::json!("hi"));
//! ```

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use indexmap::IndexMap;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

pub use serde_json::Number;

/// An object: ordered keys (insertion order, like Python dicts) to values.
pub type Map = IndexMap<Arc<str>, Value>;

/// A JSON-like value with cheap clones (see the module docs).
#[derive(Clone, Default, PartialEq)]
pub enum Value {
    /// `null` (Python `None`).
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A number (integer or float).
    Number(Number),
    /// A string. (An `Arc<String>` rather than `Arc<str>` so that a `String` a node built — often
    /// a large model or tool output — becomes a value without being copied.)
    String(Arc<String>),
    /// A list.
    Array(Arc<Vec<Value>>),
    /// An object.
    Object(Arc<Map>),
    /// An object of the host language (e.g. a Python object that is not plain data), carried
    /// opaquely: cloning shares it, and only the host looks inside.
    Foreign(Foreign),
}

/// What the engine needs from a host object (see [`Value::Foreign`]).
///
/// The engine never inspects one: it clones (shares) it, compares it (`==` is identity, or
/// [`host_eq`](HostValue::host_eq) when the host says more), and renders it as plain data only
/// where it must show it (`Display`, `Serialize`, conversion to `serde_json::Value`). Checkpoints
/// store host objects through a codec the host supplies; the default codec stores the rendering.
pub trait HostValue: Any + Send + Sync {
    /// Whether `other` is equal to this object (called only when they are not the same object).
    fn host_eq(&self, other: &dyn HostValue) -> bool {
        let _ = other;
        false
    }
    /// Plain data standing for the object where the engine must show it (lossy).
    fn to_json(&self) -> serde_json::Value;
    /// The object's type name, for error messages.
    fn type_name(&self) -> String;
    /// `self` as `Any`, to get the host's type back.
    fn as_any(&self) -> &dyn Any;
}

/// A shared host object (see [`Value::Foreign`]).
#[derive(Clone)]
pub struct Foreign(Arc<dyn HostValue>);

impl Foreign {
    /// Wraps a host object.
    pub fn new(value: impl HostValue) -> Foreign {
        Foreign(Arc::new(value))
    }
    /// The host object, if it is a `T`.
    pub fn downcast_ref<T: HostValue>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref::<T>()
    }
    /// The host object.
    pub fn get(&self) -> &dyn HostValue {
        &*self.0
    }
    /// Whether both are the same object.
    pub fn ptr_eq(&self, other: &Foreign) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl PartialEq for Foreign {
    fn eq(&self, other: &Foreign) -> bool {
        self.ptr_eq(other) || self.0.host_eq(&*other.0)
    }
}

impl fmt::Debug for Foreign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Foreign({})", self.0.type_name())
    }
}

static NULL: Value = Value::Null;

impl Value {
    /// An empty list.
    pub fn array() -> Value {
        Value::Array(Arc::new(Vec::new()))
    }
    /// An empty object.
    pub fn object() -> Value {
        Value::Object(Arc::new(Map::new()))
    }
    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    /// Whether this is an object.
    pub fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }
    /// Whether this is a list.
    pub fn is_array(&self) -> bool {
        matches!(self, Value::Array(_))
    }
    /// Whether this is a string.
    pub fn is_string(&self) -> bool {
        matches!(self, Value::String(_))
    }
    /// Whether this is a number.
    pub fn is_number(&self) -> bool {
        matches!(self, Value::Number(_))
    }
    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    /// The number as an i64, if it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }
    /// The number as a u64, if it is a non-negative integer that fits.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
    }
    /// The number as an f64.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
    }
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s.as_str()),
            _ => None,
        }
    }
    /// The list, if this is one.
    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
    /// The list for writing (copied first if shared), if this is one.
    pub fn as_array_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Value::Array(a) => Some(Arc::make_mut(a)),
            _ => None,
        }
    }
    /// The object, if this is one.
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }
    /// The object for writing (copied first if shared), if this is one.
    pub fn as_object_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Object(m) => Some(Arc::make_mut(m)),
            _ => None,
        }
    }
    /// `self[key]` of an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object().and_then(|m| m.get(key))
    }
    /// Follows a JSON pointer (`/a/0/b`).
    pub fn pointer(&self, pointer: &str) -> Option<&Value> {
        if pointer.is_empty() {
            return Some(self);
        }
        let mut cur = self;
        for token in pointer.strip_prefix('/')?.split('/') {
            let token = token.replace("~1", "/").replace("~0", "~");
            cur = match cur {
                Value::Object(m) => m.get(token.as_str())?,
                Value::Array(a) => a.get(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }
    /// Replaces the value with `null` and returns it.
    pub fn take(&mut self) -> Value {
        std::mem::take(self)
    }
    /// A short name of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "a list",
            Value::Object(_) => "an object",
            Value::Foreign(_) => "a host object",
        }
    }
    /// The host object, if this is one.
    pub fn as_foreign(&self) -> Option<&Foreign> {
        match self {
            Value::Foreign(f) => Some(f),
            _ => None,
        }
    }
    /// Whether this value is or holds a host object (so a host codec must store it).
    pub fn contains_foreign(&self) -> bool {
        match self {
            Value::Foreign(_) => true,
            Value::Array(a) => a.iter().any(Value::contains_foreign),
            Value::Object(m) => m.values().any(Value::contains_foreign),
            _ => false,
        }
    }
    /// A deep copy as a `serde_json::Value`.
    pub fn to_json(&self) -> serde_json::Value {
        self.into()
    }
    /// Converts a serializable Rust value (through `serde_json`).
    pub fn from_serialize<T: Serialize + ?Sized>(value: &T) -> Result<Value, serde_json::Error> {
        serde_json::to_value(value).map(Value::from)
    }
    /// Converts to a Rust type that can be deserialized (through `serde_json`).
    pub fn deserialize_into<T: de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_value(self.to_json())
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = if f.alternate() { serde_json::to_string_pretty(self) } else { serde_json::to_string(self) };
        f.write_str(&text.map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::ops::Index<&str> for Value {
    type Output = Value;
    /// `null` when this is not an object or the key is absent, like `serde_json`.
    fn index(&self, key: &str) -> &Value {
        self.get(key).unwrap_or(&NULL)
    }
}

impl std::ops::Index<usize> for Value {
    type Output = Value;
    /// `null` when this is not a list or the index is out of range, like `serde_json`.
    fn index(&self, i: usize) -> &Value {
        self.as_array().and_then(|a| a.get(i)).unwrap_or(&NULL)
    }
}

// ----- conversions -------------------------------------------------------------------------------

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n),
            serde_json::Value::String(s) => Value::String(Arc::new(s)),
            serde_json::Value::Array(a) => Value::Array(Arc::new(a.into_iter().map(Value::from).collect())),
            serde_json::Value::Object(m) => {
                Value::Object(Arc::new(m.into_iter().map(|(k, v)| (Arc::from(k), Value::from(v))).collect()))
            }
        }
    }
}

impl From<&serde_json::Value> for Value {
    fn from(v: &serde_json::Value) -> Value {
        Value::from(v.clone())
    }
}

impl From<&Value> for serde_json::Value {
    fn from(v: &Value) -> serde_json::Value {
        match v {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Value::Number(n.clone()),
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::Array(a) => serde_json::Value::Array(a.iter().map(serde_json::Value::from).collect()),
            Value::Object(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.to_string(), serde_json::Value::from(v))).collect())
            }
            Value::Foreign(f) => f.0.to_json(),
        }
    }
}

impl From<Value> for serde_json::Value {
    fn from(v: Value) -> serde_json::Value {
        serde_json::Value::from(&v)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(Arc::new(s.to_owned()))
    }
}
impl From<String> for Value {
    /// Takes the string without copying it. Spare capacity beyond a quarter of the length (what
    /// `format!` and `push_str` leave after doubling) is given back first: values are long-lived
    /// (state, checkpoints), and a shrink in place returns the tail to the allocator for the next
    /// allocation instead of keeping it with the value.
    fn from(mut s: String) -> Value {
        if s.capacity() - s.len() > 64 + s.len() / 4 {
            s.shrink_to_fit();
        }
        Value::String(Arc::new(s))
    }
}
impl From<Arc<str>> for Value {
    fn from(s: Arc<str>) -> Value {
        Value::String(Arc::new(s.to_string()))
    }
}
impl From<&Arc<str>> for Value {
    fn from(s: &Arc<str>) -> Value {
        Value::String(Arc::new(s.to_string()))
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
macro_rules! from_number {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(n: $t) -> Value {
                Value::Number(Number::from(n))
            }
        }
    )*};
}
from_number!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);
impl From<f64> for Value {
    /// Non-finite floats become `null`, as in JSON.
    fn from(f: f64) -> Value {
        Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)
    }
}
impl From<f32> for Value {
    fn from(f: f32) -> Value {
        Value::from(f as f64)
    }
}
impl From<Number> for Value {
    fn from(n: Number) -> Value {
        Value::Number(n)
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Value {
        Value::Array(Arc::new(v))
    }
}
impl From<Map> for Value {
    fn from(m: Map) -> Value {
        Value::Object(Arc::new(m))
    }
}
impl From<()> for Value {
    fn from(_: ()) -> Value {
        Value::Null
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Value {
        o.map(Into::into).unwrap_or(Value::Null)
    }
}
impl FromIterator<Value> for Value {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Value {
        Value::Array(Arc::new(iter.into_iter().collect()))
    }
}
impl<K: Into<Arc<str>>> FromIterator<(K, Value)> for Value {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Value {
        Value::Object(Arc::new(iter.into_iter().map(|(k, v)| (k.into(), v)).collect()))
    }
}

// ----- equality with serde_json (tests compare against `json!`) -----------------------------------

impl PartialEq<serde_json::Value> for Value {
    fn eq(&self, other: &serde_json::Value) -> bool {
        match (self, other) {
            (Value::Null, serde_json::Value::Null) => true,
            (Value::Bool(a), serde_json::Value::Bool(b)) => a == b,
            (Value::Number(a), serde_json::Value::Number(b)) => a == b,
            (Value::String(a), serde_json::Value::String(b)) => a.as_str() == b.as_str(),
            (Value::Array(a), serde_json::Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
            }
            (Value::Object(a), serde_json::Value::Object(b)) => {
                a.len() == b.len() && a.iter().all(|(k, v)| b.get(&**k).is_some_and(|w| v == w))
            }
            (Value::Foreign(f), other) => &f.0.to_json() == other,
            _ => false,
        }
    }
}

impl PartialEq<Value> for serde_json::Value {
    fn eq(&self, other: &Value) -> bool {
        other == self
    }
}

impl PartialEq<str> for Value {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == Some(other)
    }
}

impl PartialEq<&str> for Value {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

// ----- serde ---------------------------------------------------------------------------------------

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Number(n) => n.serialize(serializer),
            Value::String(s) => serializer.serialize_str(s),
            Value::Array(a) => {
                let mut seq = serializer.serialize_seq(Some(a.len()))?;
                for v in a.iter() {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Object(m) => {
                let mut map = serializer.serialize_map(Some(m.len()))?;
                for (k, v) in m.iter() {
                    map.serialize_entry(&**k, v)?;
                }
                map.end()
            }
            Value::Foreign(f) => f.0.to_json().serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_none<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
                Value::deserialize(d)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
                Ok(Value::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
                Ok(Value::from(n))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
                Ok(Value::from(n))
            }
            fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
                Ok(Value::from(f))
            }
            fn visit_str<E>(self, s: &str) -> Result<Value, E> {
                Ok(Value::from(s))
            }
            fn visit_string<E>(self, s: String) -> Result<Value, E> {
                Ok(Value::from(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(v) = seq.next_element()? {
                    items.push(v);
                }
                Ok(Value::from(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
                let mut m = Map::with_capacity(access.size_hint().unwrap_or(0));
                while let Some((k, v)) = access.next_entry::<String, Value>()? {
                    m.insert(k.into(), v);
                }
                Ok(Value::from(m))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_through_serde_json_and_text() {
        let j = json!({"a": [1, 2.5, "x", null, true], "b": {"c": {}}});
        let v = Value::from(j.clone());
        assert_eq!(v, j);
        assert_eq!(serde_json::Value::from(&v), j);
        let text = v.to_string();
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
        assert_eq!(v["a"][2], json!("x"));
        assert_eq!(v.pointer("/b/c"), Some(&Value::object()));
        assert!(v["nope"].is_null());
    }

    #[test]
    fn clones_share_and_writes_copy_only_what_is_shared() {
        let v = Value::from(json!({"list": [1, 2, 3]}));
        let mut w = v.clone();
        let (Value::Object(a), Value::Object(b)) = (&v, &w) else { unreachable!() };
        assert!(Arc::ptr_eq(a, b), "a clone is a reference");
        w.as_object_mut().unwrap().insert("k".into(), Value::from(1));
        assert_eq!(v, json!({"list": [1, 2, 3]}), "the original is untouched");
        let (Value::Array(x), Value::Array(y)) = (&v["list"], &w["list"]) else { unreachable!() };
        assert!(Arc::ptr_eq(x, y), "untouched children stay shared");
    }

    struct Token(u32);
    impl HostValue for Token {
        fn host_eq(&self, other: &dyn HostValue) -> bool {
            other.as_any().downcast_ref::<Token>().is_some_and(|o| o.0 == self.0)
        }
        fn to_json(&self) -> serde_json::Value {
            json!({"token": self.0})
        }
        fn type_name(&self) -> String {
            "Token".into()
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
    }

    #[test]
    fn host_objects_are_shared_compared_by_the_host_and_rendered_as_plain_data() {
        let a = Value::Foreign(Foreign::new(Token(7)));
        let list = Value::from(vec![Value::from(1), a.clone()]);
        assert!(list.contains_foreign());
        assert!(!Value::from(json!([1, {"x": 2}])).contains_foreign());
        let (Value::Foreign(x), Value::Foreign(y)) = (&a, &list[1]) else { unreachable!() };
        assert!(x.ptr_eq(y), "a clone shares the host object");
        assert_eq!(x.downcast_ref::<Token>().map(|t| t.0), Some(7));
        assert_eq!(a, Value::Foreign(Foreign::new(Token(7))), "equality is the host's");
        assert_ne!(a, Value::Foreign(Foreign::new(Token(8))));
        assert_eq!(list.to_string(), r#"[1,{"token":7}]"#);
        assert_eq!(a.kind(), "a host object");
        assert_eq!(format!("{x:?}"), "Foreign(Token)");
    }
}
