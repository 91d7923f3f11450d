//! Serialisation of values: a type-tagged, allow-listed codec.
//!
//! Every stored value is a `(type_tag, bytes)` pair. The tag names the format *and its version*:
//! a reader accepts only the tags it knows (the allow list) and fails with a typed error on any
//! other, so data written by a newer build, or bytes that were never ours, are refused instead of
//! being misread. A future incompatible layout gets a new tag (say `msgpack/2`) while the old tags
//! stay readable.
//!
//! ## Shared containers: `msgpack+refs/1`
//!
//! A [`Value`] shares strings, lists and objects by `Arc`, and graph state often holds one container
//! many times (a list of 300 references to one 10 kB dict). Plain MessagePack has no references, so
//! it would write every occurrence in full: bytes, time and, on reading, memory proportional to the
//! *expanded* value. [`MsgpackSerde`] therefore writes a shared container once and refers to it
//! after that:
//!
//! - Every array, every map and every string value (not a map key) of at least 32 bytes gets an
//!   index, counting from 0 in the order their headers appear in the bytes (pre-order), whether or
//!   not anything refers to it.
//! - A reference stands in place of a value: a MessagePack extension of type `0x52` (`R`) as
//!   fixext1, fixext2 or fixext4 (`d4 52 ii`, `d5 52 ii ii`, `d6 52 ii ii ii ii`) holding a
//!   big-endian index. It means "the same value as the container with this index": decoding gives a
//!   clone of that container's `Arc`, so the decoded value shares what the encoded one shared.
//! - A reference may name only a container that is complete: an index not given yet, or a container
//!   still open around the reference (which would make a cycle), is corrupt (SG102).
//! - Depth is counted as if references were expanded: [`MAX_DEPTH`] holds for the value a reader
//!   gets, on writing (SG100) and on reading (SG102). Both sides remember each container's depth,
//!   so checking costs nothing per reference.
//!
//! The writer finds sharing by address (`Arc::as_ptr`) in a table that lives for one `dumps` call,
//! while the value is borrowed. Only an `Arc` with other handles (`strong_count > 1`) can occur
//! twice, so unshared containers never enter the table, and a container shorter than a reference
//! (`[]`) is written again instead. When no reference was written the bytes are exactly what
//! `rmp-serde` writes, tagged `msgpack`: LangGraph and older builds read them. Otherwise the tag is
//! [`TAG_MSGPACK_REFS`], which an older build refuses with SG101 instead of misreading.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use stategraph_value::{Map, Value};

use crate::error::{Error, Result};

mod msgpack;

/// The tag of a MessagePack-encoded value (LangGraph's tag for the same format).
pub const TAG_MSGPACK: &str = "msgpack";
/// The tag of MessagePack with shared containers written once (see the module docs).
pub const TAG_MSGPACK_REFS: &str = "msgpack+refs/1";
/// The tag of `null` (no bytes), as LangGraph writes `None`.
pub const TAG_NULL: &str = "null";
/// The tag of a channel version that holds no value (no bytes). Written by savers, never by a codec.
pub const TAG_EMPTY: &str = "empty";

/// How deep values may nest. Deeper values are refused when written (SG100), so what is stored can
/// always be read back without risking the reader's stack.
pub const MAX_DEPTH: usize = 128;

/// A codec: turns values into tagged bytes and back.
///
/// Savers hold one as `Arc<dyn Serde>`, so a host (the Python package) can supply its own for
/// foreign values: handle its tags (`pickle`, `ext/...`) and delegate everything else to
/// [`MsgpackSerde`]. `loads` must reject tags it does not know with [`Error::UnknownType`] and bad
/// bytes with [`Error::Corrupt`]; it must never panic.
///
/// ```
/// use stategraph_checkpoint::{MsgpackSerde, Serde};
/// use stategraph_value::Value;
/// let codec = MsgpackSerde;
/// let v = Value::from(serde_json::json!({"messages": ["hi", {"role": "ai"}], "n": 1.5}));
/// let (tag, bytes) = codec.dumps(&v).unwrap();
/// assert_eq!(tag, "msgpack");
/// assert_eq!(codec.loads(&tag, &bytes).unwrap(), v);
/// assert_eq!(codec.loads("pickle", &bytes).unwrap_err().code(), "SG101");
/// assert_eq!(codec.loads("msgpack", &[0xc1]).unwrap_err().code(), "SG102");
/// ```
pub trait Serde: Send + Sync + fmt::Debug {
    /// Encodes a value as `(type_tag, bytes)`.
    fn dumps(&self, value: &Value) -> Result<(String, Vec<u8>)>;
    /// Decodes what [`dumps`](Serde::dumps) produced.
    fn loads(&self, type_tag: &str, bytes: &[u8]) -> Result<Value>;
}

/// The default codec: MessagePack of JSON's data model; `null` as the `null` tag.
///
/// Values that share containers are written with each shared container once, under the tag
/// [`TAG_MSGPACK_REFS`]; other values as plain `msgpack` (see the module docs). Plain data written
/// by LangGraph's `JsonPlusSerializer` (tag `msgpack`, no extension types) reads back unchanged;
/// extension types (Pydantic models, datetimes) are refused with a typed error until a host codec
/// handles them.
///
/// ```
/// use stategraph_checkpoint::{MsgpackSerde, Serde, TAG_MSGPACK_REFS};
/// use stategraph_value::Value;
/// let doc = Value::from("a long string, shared by every item of the list".repeat(100));
/// let list = Value::from(vec![doc; 300]);
/// let (tag, bytes) = MsgpackSerde.dumps(&list).unwrap();
/// assert_eq!(tag, TAG_MSGPACK_REFS);
/// assert!(bytes.len() < 6_000, "written once, then 300 references of 3 or 4 bytes");
/// assert_eq!(MsgpackSerde.loads(&tag, &bytes).unwrap(), list);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct MsgpackSerde;

impl Serde for MsgpackSerde {
    fn dumps(&self, value: &Value) -> Result<(String, Vec<u8>)> {
        if value.is_null() {
            return Ok((TAG_NULL.to_owned(), Vec::new()));
        }
        let encoded = msgpack::encode(value)?;
        let tag = if encoded.refs { TAG_MSGPACK_REFS } else { TAG_MSGPACK };
        Ok((tag.to_owned(), encoded.bytes))
    }

    fn loads(&self, type_tag: &str, bytes: &[u8]) -> Result<Value> {
        match type_tag {
            TAG_NULL => Ok(Value::Null),
            TAG_MSGPACK => decode_msgpack(bytes),
            TAG_MSGPACK_REFS => msgpack::decode(bytes),
            other => Err(Error::UnknownType { type_tag: other.to_owned(), what: "value".into() }),
        }
    }
}

fn decode_msgpack(bytes: &[u8]) -> Result<Value> {
    // Reading through `&mut &[u8]` leaves the unread tail in `input`, to detect trailing bytes.
    let mut input = bytes;
    let mut de = rmp_serde::Deserializer::new(&mut input);
    de.set_max_depth(MAX_DEPTH + 1);
    let value = ValueSeed.deserialize(&mut de).map_err(|e| Error::corrupt("msgpack value", e))?;
    drop(de);
    let rest = input.len();
    if rest != 0 {
        return Err(Error::corrupt("msgpack value", format!("{rest} trailing bytes")));
    }
    Ok(value)
}

/// Builds a [`Value`] from untrusted input. Unlike `Value`'s own `Deserialize`, it never trusts a
/// length prefix for pre-allocation (a corrupt header claiming 2^32 elements must fail on the
/// missing bytes, not abort on a huge allocation).
struct ValueSeed;

const CAUTIOUS_CAPACITY: usize = 4096;

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> std::result::Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-like value")
    }
    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Value, D::Error> {
        ValueSeed.deserialize(d)
    }
    fn visit_bool<E>(self, b: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> std::result::Result<Value, E> {
        Ok(Value::from(n))
    }
    fn visit_u64<E>(self, n: u64) -> std::result::Result<Value, E> {
        Ok(Value::from(n))
    }
    fn visit_f64<E: de::Error>(self, f: f64) -> std::result::Result<Value, E> {
        // JSON has no NaN or infinity; `Value::from` would silently turn them into null.
        serde_json::Number::from_f64(f).map(Value::Number).ok_or_else(|| E::custom("non-finite float"))
    }
    fn visit_str<E>(self, s: &str) -> std::result::Result<Value, E> {
        Ok(Value::from(s))
    }
    fn visit_string<E>(self, s: String) -> std::result::Result<Value, E> {
        Ok(Value::from(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(CAUTIOUS_CAPACITY));
        while let Some(v) = seq.next_element_seed(ValueSeed)? {
            items.push(v);
        }
        Ok(Value::from(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> std::result::Result<Value, A::Error> {
        let mut m = Map::with_capacity(access.size_hint().unwrap_or(0).min(CAUTIOUS_CAPACITY));
        while let Some(k) = access.next_key::<String>()? {
            let v = access.next_value_seed(ValueSeed)?;
            m.insert(k.into(), v);
        }
        Ok(Value::from(m))
    }
}

#[cfg(test)]
mod tests {
    use super::msgpack::MIN_SHARED_STR;
    use super::*;
    use serde_json::json;

    fn round_trip(j: serde_json::Value) {
        let v = Value::from(j.clone());
        let (tag, bytes) = MsgpackSerde.dumps(&v).unwrap();
        assert_eq!(MsgpackSerde.loads(&tag, &bytes).unwrap(), j);
    }

    #[test]
    fn every_value_kind_round_trips() {
        round_trip(json!(null));
        round_trip(json!(true));
        round_trip(json!(-7));
        round_trip(json!(u64::MAX));
        round_trip(json!(i64::MIN));
        round_trip(json!(0.1));
        round_trip(json!("héllo 🌍 \u{0}"));
        round_trip(json!([]));
        round_trip(json!({}));
        round_trip(json!({"a": [1, {"b": [null, false, "x"]}], "": 2}));
    }

    #[test]
    fn key_order_is_kept() {
        let v = Value::from(json!({"z": 1, "a": 2, "m": 3}));
        let (tag, bytes) = MsgpackSerde.dumps(&v).unwrap();
        let back = MsgpackSerde.loads(&tag, &bytes).unwrap();
        let keys: Vec<&str> = back.as_object().unwrap().keys().map(|k| &**k).collect();
        assert_eq!(keys, ["z", "a", "m"]);
    }

    #[test]
    fn corrupt_bytes_are_typed_errors_never_panics() {
        let v = Value::from(json!({"list": [1, 2, 3, "four"], "nested": {"k": [true]}}));
        let (_, bytes) = MsgpackSerde.dumps(&v).unwrap();
        // Every truncation and every single-byte flip must give an error or a value, never a panic.
        for n in 0..bytes.len() {
            assert_eq!(MsgpackSerde.loads(TAG_MSGPACK, &bytes[..n]).unwrap_err().code(), "SG102");
        }
        for i in 0..bytes.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= flip;
                if let Err(e) = MsgpackSerde.loads(TAG_MSGPACK, &b) {
                    assert!(matches!(e.code(), "SG102"), "{e}");
                }
            }
        }
        // A header that claims 2^32-1 elements with no bytes behind it.
        let e = MsgpackSerde.loads(TAG_MSGPACK, &[0xdd, 0xff, 0xff, 0xff, 0xff]).unwrap_err();
        assert_eq!(e.code(), "SG102");
        // Trailing garbage.
        let mut b = bytes.clone();
        b.push(0);
        assert_eq!(MsgpackSerde.loads(TAG_MSGPACK, &b).unwrap_err().code(), "SG102");
        // Binary data (not a JSON type) and non-string keys.
        assert_eq!(MsgpackSerde.loads(TAG_MSGPACK, &[0xc4, 0x01, 0x00]).unwrap_err().code(), "SG102");
        assert_eq!(MsgpackSerde.loads(TAG_MSGPACK, &[0x81, 0x01, 0x02]).unwrap_err().code(), "SG102");
        // NaN is not JSON.
        let nan = rmp_serde::to_vec(&f64::NAN).unwrap();
        assert_eq!(MsgpackSerde.loads(TAG_MSGPACK, &nan).unwrap_err().code(), "SG102");
    }

    #[test]
    fn unknown_tags_are_refused() {
        for tag in ["pickle", "json", "", "empty", "msgpack/2", "msgpack+refs/2"] {
            assert_eq!(MsgpackSerde.loads(tag, b"").unwrap_err().code(), "SG101", "{tag}");
        }
    }

    #[test]
    fn depth_is_limited_both_ways() {
        let mut v = Value::from(1);
        for _ in 0..MAX_DEPTH {
            v = Value::from(vec![v]);
        }
        let (tag, bytes) = MsgpackSerde.dumps(&v).unwrap();
        assert_eq!(MsgpackSerde.loads(&tag, &bytes).unwrap(), v);
        let deeper = Value::from(vec![v]);
        assert_eq!(MsgpackSerde.dumps(&deeper).unwrap_err().code(), "SG100");
        // Hand-made deep bytes (a million nested one-element lists) fail cleanly on read.
        let bytes = vec![0x91u8; 1_000_000];
        assert_eq!(MsgpackSerde.loads(TAG_MSGPACK, &bytes).unwrap_err().code(), "SG102");
    }

    // ----- shared containers (`msgpack+refs/1`) ----------------------------------------------------

    use std::sync::Arc;

    use proptest::prelude::*;
    use rustc_hash::FxHashMap;

    /// An object of `keys` keys with 40-byte strings: long enough that a reference to it pays off.
    fn doc(keys: usize) -> Value {
        (0..keys).map(|k| (format!("key_{k}"), Value::from(format!("{k:>40}")))).collect()
    }

    fn list(items: Vec<Value>) -> Value {
        Value::from(items)
    }

    /// Encodes with references, checks the tag, decodes, and checks the result equals both the
    /// value and the plain codec's decoding of the expanded value.
    fn shared_round_trip(v: &Value) -> Value {
        let (tag, bytes) = MsgpackSerde.dumps(v).unwrap();
        assert_eq!(tag, TAG_MSGPACK_REFS);
        let back = MsgpackSerde.loads(&tag, &bytes).unwrap();
        assert_eq!(&back, v);
        let plain = MsgpackSerde.loads(TAG_MSGPACK, &rmp_serde::to_vec(v).unwrap()).unwrap();
        assert_eq!(back, plain);
        assert!(bytes.len() < rmp_serde::to_vec(v).unwrap().len(), "sharing made it smaller");
        back
    }

    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Array(x), Value::Array(y)) => Arc::ptr_eq(x, y),
            (Value::Object(x), Value::Object(y)) => Arc::ptr_eq(x, y),
            (Value::String(x), Value::String(y)) => Arc::ptr_eq(x, y),
            _ => false,
        }
    }

    #[test]
    fn shared_containers_round_trip_and_stay_shared() {
        // The same list twice.
        let l = list((0..50).map(Value::from).collect());
        let back = shared_round_trip(&list(vec![l.clone(), l.clone()]));
        assert!(same(&back[0], &back[1]));

        // A dict shared across lists, and by key.
        let d = doc(10);
        let v: Value =
            [("a", list(vec![d.clone(), Value::from(1)])), ("b", list(vec![Value::Null, d.clone()])), ("c", d)]
                .into_iter()
                .collect();
        let back = shared_round_trip(&v);
        assert!(same(&back["a"][0], &back["b"][1]) && same(&back["a"][0], &back["c"]));
        assert!(!same(&back["a"], &back["b"]));

        // Shared strings: long ones by reference, short ones repeated (not worth an index).
        let long = Value::from("x".repeat(MIN_SHARED_STR));
        let short = Value::from("y".repeat(MIN_SHARED_STR - 1));
        let back = shared_round_trip(&list(vec![long.clone(), short.clone(), long.clone(), short]));
        assert!(same(&back[0], &back[2]) && !same(&back[1], &back[3]));

        // Nested sharing: a shared list holding a shared dict, also shared on its own.
        let inner = doc(5);
        let outer = list(vec![inner.clone(), inner.clone()]);
        let back = shared_round_trip(&list(vec![outer.clone(), inner.clone(), outer]));
        assert!(same(&back[0], &back[2]) && same(&back[1], &back[0][0]) && same(&back[0][0], &back[0][1]));

        // Sharing at depth: a dict shared between two branches 100 levels down.
        let shared = doc(5);
        let mut a = shared.clone();
        let mut b = list(vec![shared]);
        for _ in 0..100 {
            a = list(vec![a]);
            b = list(vec![b]);
        }
        let back = shared_round_trip(&list(vec![a, b]));
        let (mut x, mut y) = (&back[0], &back[1]);
        for _ in 0..100 {
            (x, y) = (&x[0], &y[0]);
        }
        assert!(same(x, &y[0]));
    }

    #[test]
    fn a_list_of_references_to_one_dict_is_written_once() {
        let d = doc(250);
        let v = list(vec![d.clone(); 300]);
        let (tag, bytes) = MsgpackSerde.dumps(&v).unwrap();
        assert_eq!(tag, TAG_MSGPACK_REFS);
        let one = MsgpackSerde.dumps(&d).unwrap().1.len();
        // The dict, then 299 three-byte references (the dict is index 1) and a 3-byte list header.
        assert_eq!(bytes.len(), 3 + one + 299 * 3);
        let back = MsgpackSerde.loads(&tag, &bytes).unwrap();
        assert!(back.as_array().unwrap().iter().all(|item| same(item, &back[0])));
    }

    #[test]
    fn unshared_values_are_plain_msgpack_byte_for_byte() {
        let mut corpus: Vec<Value> = vec![
            Value::from(true),
            Value::from(false),
            Value::from(json!([1.5, -0.0, 1e300, 0.1])),
            Value::from(json!({"a": [1, {"b": [null, false, "x"]}], "": 2, "ключ": "значение"})),
            Value::from("héllo 🌍 \u{0}"),
            Value::array(),
            Value::object(),
        ];
        for n in [0u64, 1, 127, 128, 255, 256, 65535, 65536, u32::MAX as u64, u32::MAX as u64 + 1, u64::MAX] {
            corpus.push(Value::from(n));
        }
        for n in [-1i64, -32, -33, -128, -129, -32768, -32769, i32::MIN as i64, i32::MIN as i64 - 1, i64::MIN] {
            corpus.push(Value::from(n));
        }
        for len in [31, 32, 255, 256, 65535, 65536] {
            corpus.push(Value::from("s".repeat(len)));
        }
        for len in [15, 16, 65535, 65536] {
            corpus.push(list((0..len).map(Value::from).collect()));
            corpus.push((0..len).map(|i| (i.to_string(), Value::from(i))).collect());
        }
        // Host objects are written as their plain rendering.
        corpus.push(list(vec![Value::Foreign(stategraph_value::Foreign::new(Token)), Value::from(1)]));
        // Shared only with handles outside the value, or shared but shorter than a reference.
        let outside = doc(3);
        let _handle = outside.clone();
        corpus.push(outside);
        let empty = Value::array();
        corpus.push(list(vec![empty.clone(), empty.clone(), Value::object(), Value::from("ab"), empty]));
        for v in corpus {
            let (tag, bytes) = MsgpackSerde.dumps(&v).unwrap();
            assert_eq!(tag, TAG_MSGPACK, "{v}");
            assert_eq!(bytes, rmp_serde::to_vec(&v).unwrap(), "{v}");
            // (Compared as JSON: a host object reads back as its rendering.)
            assert_eq!(MsgpackSerde.loads(&tag, &bytes).unwrap(), v.to_json());
        }
    }

    struct Token;
    impl stategraph_value::HostValue for Token {
        fn to_json(&self) -> serde_json::Value {
            json!({"token": ["a", "b".repeat(40)]})
        }
        fn type_name(&self) -> String {
            "Token".into()
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }

    #[test]
    fn host_objects_are_counted_but_never_referred_to() {
        // The rendering's list and long string take indices the reader counts too: the reference
        // to the shared dict after it must still name the dict.
        let d = doc(3);
        let token = Value::Foreign(stategraph_value::Foreign::new(Token));
        let v = list(vec![token.clone(), d.clone(), token, d]);
        let (tag, bytes) = MsgpackSerde.dumps(&v).unwrap();
        assert_eq!(tag, TAG_MSGPACK_REFS);
        let back = MsgpackSerde.loads(&tag, &bytes).unwrap();
        assert_eq!(back, v.to_json());
        assert!(same(&back[1], &back[3]) && !same(&back[0], &back[2]));
    }

    #[test]
    fn corrupt_shared_encodings_are_typed_errors_never_panics() {
        let d = doc(2);
        let s = Value::from("a string long enough to get an index");
        let v = list(vec![d.clone(), list(vec![s.clone(), d.clone()]), s, d]);
        let (tag, bytes) = MsgpackSerde.dumps(&v).unwrap();
        assert_eq!(tag, TAG_MSGPACK_REFS);
        for n in 0..bytes.len() {
            assert_eq!(MsgpackSerde.loads(&tag, &bytes[..n]).unwrap_err().code(), "SG102", "{n}");
        }
        for i in 0..bytes.len() {
            for flip in [0x01u8, 0x02, 0x04, 0x10, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= flip;
                if let Err(e) = MsgpackSerde.loads(&tag, &b) {
                    assert_eq!(e.code(), "SG102", "{e}");
                }
            }
        }
        let mut b = bytes.clone();
        b.push(0xc0);
        assert_eq!(MsgpackSerde.loads(&tag, &b).unwrap_err().code(), "SG102");
        // The plain decoder does not know references.
        assert_eq!(MsgpackSerde.loads(TAG_MSGPACK, &bytes).unwrap_err().code(), "SG102");
        // What the plain decoder refuses, this one refuses too.
        for bad in [
            &[0xdd, 0xff, 0xff, 0xff, 0xff][..],
            &[0xdf, 0xff, 0xff, 0xff, 0xff],
            &[0xdb, 0xff, 0xff, 0xff, 0xff],
            &[0xc4, 0x01, 0x00],
            &[0x81, 0x01, 0x02],
            &[0xa2, 0xff, 0xfe],
            &[0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0],
            &[0xca, 0x7f, 0x80, 0, 0],
            &[0xc1],
            &[],
        ] {
            assert_eq!(MsgpackSerde.loads(TAG_MSGPACK_REFS, bad).unwrap_err().code(), "SG102", "{bad:x?}");
        }
        let bytes = vec![0x91u8; 1_000_000];
        assert_eq!(MsgpackSerde.loads(TAG_MSGPACK_REFS, &bytes).unwrap_err().code(), "SG102");
    }

    #[test]
    fn bad_references_are_corrupt() {
        let cases: [(&str, &[u8]); 8] = [
            ("at the root, nothing defined", &[0xd4, 0x52, 0x00]),
            ("forward: index 1 is the list after it", &[0x92, 0xd4, 0x52, 0x01, 0x90]),
            ("to its own list", &[0x91, 0xd4, 0x52, 0x00]),
            ("to an enclosing list", &[0x91, 0x91, 0xd4, 0x52, 0x00]),
            ("out of range", &[0x92, 0x90, 0xd6, 0x52, 0xff, 0xff, 0xff, 0xff]),
            ("a short string has no index", &[0x92, 0xa1, 0x61, 0xd4, 0x52, 0x01]),
            ("another extension type", &[0x92, 0x90, 0xd4, 0x53, 0x01]),
            ("as a map key", &[0x92, 0x90, 0x81, 0xd4, 0x52, 0x01, 0x01]),
        ];
        for (what, bytes) in cases {
            let e = MsgpackSerde.loads(TAG_MSGPACK_REFS, bytes).unwrap_err();
            assert_eq!(e.code(), "SG102", "{what}: {e}");
        }
        // The same shapes with a valid reference decode, in each width.
        for bytes in [
            &[0x92, 0x90, 0xd4, 0x52, 0x01][..],
            &[0x92, 0x90, 0xd5, 0x52, 0, 1],
            &[0x92, 0x90, 0xd6, 0x52, 0, 0, 0, 1],
        ] {
            let back = MsgpackSerde.loads(TAG_MSGPACK_REFS, bytes).unwrap();
            assert!(same(&back[0], &back[1]), "{bytes:x?}");
        }
    }

    /// `n` one-item lists around `inner`.
    fn nest(inner: Value, n: usize) -> Value {
        (0..n).fold(inner, |v, _| list(vec![v]))
    }

    #[test]
    fn depth_counts_references_expanded_both_ways() {
        // A 100-deep list, and a reference to it placed 27 or 28 lists down beside it.
        let deep = nest(doc(1), 99);
        let ok = list(vec![deep.clone(), nest(deep.clone(), 27)]);
        let back = shared_round_trip(&ok);
        assert!(same(&back[0], nest_get(&back[1], 27)));
        let too_deep = list(vec![deep.clone(), nest(deep, 28)]);
        assert_eq!(MsgpackSerde.dumps(&too_deep).unwrap_err().code(), "SG100");

        // The same by hand on the reading side: list 1 is the 100-deep one, one-item lists to depth 29.
        let bytes = |wrappers: usize| {
            let mut b = vec![0x92];
            b.extend(std::iter::repeat_n(0x91, 100));
            b.push(0x01);
            b.extend(std::iter::repeat_n(0x91, wrappers));
            b.extend([0xd4, 0x52, 0x01]);
            b
        };
        let back = MsgpackSerde.loads(TAG_MSGPACK_REFS, &bytes(27)).unwrap();
        assert!(same(&back[0], nest_get(&back[1], 27)));
        assert_eq!(MsgpackSerde.loads(TAG_MSGPACK_REFS, &bytes(28)).unwrap_err().code(), "SG102");

        // Sharing makes the expanded value 2^120 lists; writing and reading it costs 120 lists.
        let mut v = list(vec![Value::from("x".repeat(40))]);
        for _ in 0..119 {
            v = list(vec![v.clone(), v]);
        }
        let (tag, bytes) = MsgpackSerde.dumps(&v).unwrap();
        assert!(bytes.len() < 1_000, "{}", bytes.len());
        let mut back = &MsgpackSerde.loads(&tag, &bytes).unwrap();
        for _ in 0..119 {
            assert!(same(&back[0], &back[1]));
            back = &back[0];
        }
        let deeper = (0..9).fold(v, |v, _| list(vec![v.clone(), v]));
        assert_eq!(MsgpackSerde.dumps(&deeper).unwrap_err().code(), "SG100");
    }

    fn nest_get(v: &Value, n: usize) -> &Value {
        (0..n).fold(v, |v, _| &v[0])
    }

    /// How to build a value with sharing: `Ref(n)` is a clone of the n-th (mod count) container
    /// finished before it, so sharing never makes a cycle.
    #[derive(Clone, Debug)]
    enum Recipe {
        Scalar(serde_json::Value),
        Text(String),
        List(Vec<Recipe>),
        Object(Vec<(String, Recipe)>),
        Ref(usize),
        /// `n` one-item lists around `Ref(r)`: references to these stack up depth quickly.
        Deep(usize, usize),
    }

    fn recipe() -> impl Strategy<Value = Recipe> {
        let leaf = prop_oneof![
            1 => Just(Recipe::Scalar(json!(null))),
            1 => any::<bool>().prop_map(|b| Recipe::Scalar(json!(b))),
            1 => any::<i64>().prop_map(|n| Recipe::Scalar(json!(n))),
            1 => any::<u64>().prop_map(|n| Recipe::Scalar(json!(n))),
            1 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| Recipe::Scalar(json!(f))),
            2 => "[a-z]{0,5}|.{28,40}".prop_map(Recipe::Text),
            4 => any::<usize>().prop_map(Recipe::Ref),
            1 => (10usize..60, any::<usize>()).prop_map(|(n, r)| Recipe::Deep(n, r)),
        ];
        leaf.prop_recursive(5, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Recipe::List),
                prop::collection::vec(("[a-c]{1,2}", inner), 0..6).prop_map(Recipe::Object),
            ]
        })
    }

    fn build(recipe: &Recipe, done: &mut Vec<Value>) -> Value {
        let v = match recipe {
            Recipe::Scalar(j) => return Value::from(j.clone()),
            Recipe::Ref(n) if done.is_empty() => return Value::from(*n as u64),
            Recipe::Ref(n) => return done[n % done.len()].clone(),
            Recipe::Text(s) => Value::from(s.as_str()),
            Recipe::List(items) => items.iter().map(|r| build(r, done)).collect(),
            Recipe::Object(entries) => entries.iter().map(|(k, r)| (k.as_str(), build(r, done))).collect(),
            Recipe::Deep(n, r) => nest(build(&Recipe::Ref(*r), done), *n),
        };
        done.push(v.clone());
        v
    }

    /// Depth and size of the expanded value, computed once per shared container.
    fn expanded(v: &Value, memo: &mut FxHashMap<usize, (usize, u128)>) -> (usize, u128) {
        let (key, children): (usize, Vec<&Value>) = match v {
            Value::Array(a) => (Arc::as_ptr(a) as usize, a.iter().collect()),
            Value::Object(m) => (Arc::as_ptr(m) as usize, m.values().collect()),
            _ => return (0, 1),
        };
        if let Some(&known) = memo.get(&key) {
            return known;
        }
        let (mut depth, mut size) = (0, 1);
        for child in children {
            let (d, s) = expanded(child, memo);
            depth = depth.max(d);
            size += s;
        }
        memo.insert(key, (depth + 1, size));
        (depth + 1, size)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]
        #[test]
        fn random_sharing_round_trips_like_the_plain_codec(recipe in recipe()) {
            let v = build(&recipe, &mut Vec::new());
            let (depth, size) = expanded(&v, &mut FxHashMap::default());
            let encoded = MsgpackSerde.dumps(&v);
            if depth > MAX_DEPTH {
                prop_assert_eq!(encoded.unwrap_err().code(), "SG100");
                return Ok(());
            }
            let (tag, bytes) = encoded.unwrap();
            let back = MsgpackSerde.loads(&tag, &bytes).unwrap();
            prop_assume!(size < 200_000, "too big to compare expanded");
            prop_assert_eq!(&back, &v);
            let plain_bytes = rmp_serde::to_vec(&v).unwrap();
            prop_assert_eq!(&back, &MsgpackSerde.loads(TAG_MSGPACK, &plain_bytes).unwrap());
            if tag == TAG_NULL {
                prop_assert!(v.is_null());
            } else if tag == TAG_MSGPACK {
                prop_assert_eq!(bytes, plain_bytes);
            } else {
                prop_assert_eq!(tag, TAG_MSGPACK_REFS);
                prop_assert!(bytes.len() < plain_bytes.len());
            }
        }
    }
}
