//! Serialisation of values: a type-tagged, allow-listed codec.
//!
//! Every stored value is a `(type_tag, bytes)` pair. The tag names the format *and its version*:
//! a reader accepts only the tags it knows (the allow list) and fails with a typed error on any
//! other, so data written by a newer build, or bytes that were never ours, are refused instead of
//! being misread. A future incompatible layout gets a new tag (say `msgpack/2`) while the old tags
//! stay readable.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use stategraph_value::{Map, Value};

use crate::error::{Error, Result};

/// The tag of a MessagePack-encoded value (LangGraph's tag for the same format).
pub const TAG_MSGPACK: &str = "msgpack";
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

/// The default codec: MessagePack (`rmp-serde`) of JSON's data model; `null` as the `null` tag.
///
/// Plain data written by LangGraph's `JsonPlusSerializer` (tag `msgpack`, no extension types) reads
/// back unchanged; extension types (Pydantic models, datetimes) are refused with a typed error
/// until a host codec handles them.
#[derive(Clone, Copy, Debug, Default)]
pub struct MsgpackSerde;

impl Serde for MsgpackSerde {
    fn dumps(&self, value: &Value) -> Result<(String, Vec<u8>)> {
        if value.is_null() {
            return Ok((TAG_NULL.to_owned(), Vec::new()));
        }
        if depth(value) > MAX_DEPTH {
            return Err(Error::Encode {
                what: "value".into(),
                message: format!("nested deeper than {MAX_DEPTH} levels"),
            });
        }
        let bytes =
            rmp_serde::to_vec(value).map_err(|e| Error::Encode { what: "value".into(), message: e.to_string() })?;
        Ok((TAG_MSGPACK.to_owned(), bytes))
    }

    fn loads(&self, type_tag: &str, bytes: &[u8]) -> Result<Value> {
        match type_tag {
            TAG_NULL => Ok(Value::Null),
            TAG_MSGPACK => decode_msgpack(bytes),
            other => Err(Error::UnknownType { type_tag: other.to_owned(), what: "value".into() }),
        }
    }
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        _ => 0,
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
        for tag in ["pickle", "json", "", "empty", "msgpack/2"] {
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
}
