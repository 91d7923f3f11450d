//! MessagePack written by hand, with shared containers written once (the format is described in
//! the codec's module docs).
//!
//! The writer produces what `rmp-serde` produces for a [`Value`] (smallest integer forms, floats
//! as f64, fix/8/16/32-bit headers), so output without references is the plain `msgpack` format.
//! The reader here is the one for `msgpack+refs/1`; plain `msgpack` is still read by the serde
//! decoder in the parent module, which reads what LangGraph writes.

use std::sync::Arc;

use rustc_hash::FxHashMap;
use stategraph_value::{Map, Number, Value};

use super::{CAUTIOUS_CAPACITY, MAX_DEPTH};
use crate::error::{Error, Result};

/// The MessagePack extension type of a reference (`R`).
pub(super) const EXT_REF: u8 = 0x52;

/// Strings at least this long get an index and may be referred to. A reference costs at most
/// 6 bytes; shorter strings cost little to repeat, and counting them would only grow the tables.
pub(super) const MIN_SHARED_STR: usize = 32;

/// An encoded value: its bytes, and whether any reference was written (which decides the tag).
pub(super) struct Encoded {
    pub(super) bytes: Vec<u8>,
    pub(super) refs: bool,
}

/// Encodes a value, writing each shared container once; refuses values nested deeper than
/// [`MAX_DEPTH`] (counted as if every reference were expanded).
pub(super) fn encode(value: &Value) -> Result<Encoded> {
    let out = Vec::with_capacity(size_hint(value));
    let mut encoder = Encoder { out, next: 0, seen: FxHashMap::default(), refs: false };
    encoder.value(value, 0, true)?;
    Ok(Encoded { bytes: encoder.out, refs: encoder.refs })
}

/// About how many bytes `value` encodes to, looking one level down, so the output buffer is not
/// grown and copied again and again (a long string or a list of them is most of a checkpoint).
/// Exact for a string or a list of scalars and strings; deeper items count as a small guess.
fn size_hint(value: &Value) -> usize {
    fn shallow(v: &Value) -> usize {
        match v {
            Value::String(s) => {
                s.len()
                    + if s.len() < 32 {
                        1
                    } else if s.len() < 256 {
                        2
                    } else {
                        5
                    }
            }
            Value::Array(_) | Value::Object(_) | Value::Foreign(_) => 16,
            _ => 9,
        }
    }
    match value {
        Value::Array(items) => 5 + items.iter().map(shallow).sum::<usize>(),
        Value::Object(map) => 5 + map.iter().map(|(k, v)| k.len() + 2 + shallow(v)).sum::<usize>(),
        v => shallow(v),
    }
}

fn too_deep() -> Error {
    Error::Encode { what: "value".into(), message: format!("nested deeper than {MAX_DEPTH} levels") }
}

fn too_long(len: usize) -> Error {
    Error::Encode {
        what: "value".into(),
        message: format!("{len} elements or bytes is more than MessagePack can hold"),
    }
}

/// A shared container already written.
#[derive(Clone, Copy)]
struct Seen {
    index: u64,
    /// Its depth (0 for a string), or `OPEN` while it is being written.
    height: usize,
    /// Bytes its first encoding took: a reference is written only when it is shorter.
    len: usize,
}

const OPEN: usize = usize::MAX;

struct Encoder {
    out: Vec<u8>,
    /// The index the next array, map or long string gets; the reader counts the same way.
    next: u64,
    /// Containers written so far that have other handles, by address. The addresses stay valid because
    /// the value is borrowed for the whole call, and the table dies with the call.
    seen: FxHashMap<usize, Seen>,
    refs: bool,
}

impl Encoder {
    /// Writes `value`, which sits inside `depth` containers, and returns its height (0 for a
    /// scalar or string, 1 + the tallest item for a container). `shareable` is false inside the
    /// rendering of a host object, a temporary whose addresses may be reused once it is dropped.
    fn value(&mut self, value: &Value, depth: usize, shareable: bool) -> Result<usize> {
        match value {
            Value::Null => self.out.push(0xc0),
            Value::Bool(b) => self.out.push(if *b { 0xc3 } else { 0xc2 }),
            Value::Number(n) => self.number(n)?,
            Value::String(s) if s.len() < MIN_SHARED_STR => self.str(s)?,
            Value::String(s) => return self.shared(s, depth, shareable, |e| e.str(s).map(|()| 0)),
            Value::Array(items) => {
                return self.shared(items, depth, shareable, |e| {
                    if depth >= MAX_DEPTH {
                        return Err(too_deep());
                    }
                    e.header(items.len(), 0x90, 16, 0xdc)?;
                    let mut height = 0;
                    for item in items.iter() {
                        height = height.max(e.value(item, depth + 1, shareable)?);
                    }
                    Ok(height + 1)
                });
            }
            Value::Object(map) => {
                return self.shared(map, depth, shareable, |e| {
                    if depth >= MAX_DEPTH {
                        return Err(too_deep());
                    }
                    e.header(map.len(), 0x80, 16, 0xde)?;
                    let mut height = 0;
                    for (key, item) in map.iter() {
                        e.str(key)?;
                        height = height.max(e.value(item, depth + 1, shareable)?);
                    }
                    Ok(height + 1)
                });
            }
            // Stored as its plain rendering, as `rmp-serde` did through `Value`'s `Serialize`.
            Value::Foreign(f) => return self.value(&Value::from(f.get().to_json()), depth, false),
        }
        Ok(0)
    }

    /// Writes a container (or long string) with `write`, or a reference to where it was written
    /// before. Either way it takes the next index, as the reader will.
    fn shared<T>(
        &mut self,
        arc: &Arc<T>,
        depth: usize,
        shareable: bool,
        write: impl FnOnce(&mut Encoder) -> Result<usize>,
    ) -> Result<usize> {
        // An `Arc` with no other handle occurs once: its one parent is written once and referred to
        // after. So values without sharing never touch the table.
        let key = (shareable && Arc::strong_count(arc) > 1).then_some(Arc::as_ptr(arc) as *const () as usize);
        let mut first = key.is_some();
        if let Some(seen) = key.and_then(|k| self.seen.get(&k).copied()) {
            if seen.height == OPEN {
                // Unreachable through `Value`'s API (a container cannot hold itself); refused, not looped.
                return Err(Error::Encode { what: "value".into(), message: "a container holds itself".into() });
            }
            if let Some(ref_len) = ref_len(seen.index).filter(|&n| n < seen.len) {
                if depth + seen.height > MAX_DEPTH {
                    return Err(too_deep());
                }
                self.write_ref(seen.index, ref_len);
                self.refs = true;
                return Ok(seen.height);
            }
            // A tiny container (`[]`) is shorter written again than referred to.
            first = false;
        }
        let index = self.next;
        self.next += 1;
        let start = self.out.len();
        if let (true, Some(k)) = (first, key) {
            self.seen.insert(k, Seen { index, height: OPEN, len: 0 });
        }
        let height = write(self)?;
        if let (true, Some(seen)) = (first, key.and_then(|k| self.seen.get_mut(&k))) {
            seen.height = height;
            seen.len = self.out.len() - start;
        }
        Ok(height)
    }

    fn write_ref(&mut self, index: u64, len: usize) {
        // fixext1, fixext2 or fixext4: marker, type, then the index big-endian in 1, 2 or 4 bytes.
        let width = len - 2;
        self.out.extend_from_slice(&[0xd4 + width.trailing_zeros() as u8, EXT_REF]);
        self.out.extend_from_slice(&index.to_be_bytes()[8 - width..]);
    }

    fn number(&mut self, n: &Number) -> Result<()> {
        if let Some(u) = n.as_u64() {
            self.uint(u);
        } else if let Some(i) = n.as_i64() {
            // Only negative integers get here (`as_u64` took the others).
            match i {
                -32..=-1 => self.out.push(i as u8),
                -128..=-33 => self.out.extend_from_slice(&[0xd0, i as u8]),
                -32768..=-129 => self.marked(0xd1, &(i as i16).to_be_bytes()),
                -2147483648..=-32769 => self.marked(0xd2, &(i as i32).to_be_bytes()),
                _ => self.marked(0xd3, &i.to_be_bytes()),
            }
        } else if let Some(f) = n.as_f64() {
            self.marked(0xcb, &f.to_be_bytes());
        } else {
            return Err(Error::Encode { what: "value".into(), message: format!("number {n} has no MessagePack form") });
        }
        Ok(())
    }

    fn uint(&mut self, u: u64) {
        match u {
            0..=0x7f => self.out.push(u as u8),
            0x80..=0xff => self.out.extend_from_slice(&[0xcc, u as u8]),
            0x100..=0xffff => self.marked(0xcd, &(u as u16).to_be_bytes()),
            0x1_0000..=0xffff_ffff => self.marked(0xce, &(u as u32).to_be_bytes()),
            _ => self.marked(0xcf, &u.to_be_bytes()),
        }
    }

    fn marked(&mut self, marker: u8, bytes: &[u8]) {
        self.out.push(marker);
        self.out.extend_from_slice(bytes);
    }

    fn str(&mut self, s: &str) -> Result<()> {
        if s.len() < 32 {
            self.out.push(0xa0 | s.len() as u8);
        } else if s.len() < 256 {
            self.out.extend_from_slice(&[0xd9, s.len() as u8]);
        } else {
            self.header(s.len(), 0, 0, 0xda)?;
        }
        self.out.extend_from_slice(s.as_bytes());
        Ok(())
    }

    /// A length header: `fix | len` below `fix_limit`, else `m16` with a u16 or `m16 + 1` with a
    /// u32 (the str, array and map families are laid out alike).
    fn header(&mut self, len: usize, fix: u8, fix_limit: usize, m16: u8) -> Result<()> {
        if len < fix_limit {
            self.out.push(fix | len as u8);
        } else if let Ok(n) = u16::try_from(len) {
            self.marked(m16, &n.to_be_bytes());
        } else if let Ok(n) = u32::try_from(len) {
            self.marked(m16 + 1, &n.to_be_bytes());
        } else {
            return Err(too_long(len));
        }
        Ok(())
    }
}

/// Bytes of a reference to `index` (`None`: beyond what a reference can name).
fn ref_len(index: u64) -> Option<usize> {
    match index {
        0..=0xff => Some(3),
        0x100..=0xffff => Some(4),
        0x1_0000..=0xffff_ffff => Some(6),
        _ => None,
    }
}

/// Decodes `msgpack+refs/1`: a reference yields the very container it names (a clone of its
/// `Arc`), so the decoded value shares what the encoded one shared.
pub(super) fn decode(bytes: &[u8]) -> Result<Value> {
    let mut decoder = Decoder { input: bytes, pos: 0, table: Vec::new() };
    let value = decoder.value(0).map(|(v, _)| v).and_then(|v| match decoder.input.len() - decoder.pos {
        0 => Ok(v),
        rest => Err(format!("{rest} trailing bytes")),
    });
    value.map_err(|message| Error::corrupt("msgpack value", format!("{message} (at byte {})", decoder.pos)))
}

type Decoded<T> = std::result::Result<T, String>;

struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
    /// Every array, map and long string by index, with its height; `None` while still open.
    table: Vec<Option<(Value, usize)>>,
}

impl<'a> Decoder<'a> {
    fn take(&mut self, n: usize) -> Decoded<&'a [u8]> {
        let bytes = self.input.get(self.pos..).and_then(|rest| rest.get(..n)).ok_or("truncated")?;
        self.pos += n;
        Ok(bytes)
    }

    fn byte(&mut self) -> Decoded<u8> {
        self.take(1).map(|b| b[0])
    }

    fn be<const N: usize>(&mut self) -> Decoded<[u8; N]> {
        let mut buf = [0; N];
        buf.copy_from_slice(self.take(N)?);
        Ok(buf)
    }

    fn len16(&mut self) -> Decoded<usize> {
        self.be().map(|b| usize::from(u16::from_be_bytes(b)))
    }

    fn len32(&mut self) -> Decoded<usize> {
        // Lossless: `usize` has at least 32 bits wherever `std` (which this crate needs) exists.
        self.be().map(|b| u32::from_be_bytes(b) as usize)
    }

    /// A value inside `depth` containers, and its height.
    fn value(&mut self, depth: usize) -> Decoded<(Value, usize)> {
        let marker = self.byte()?;
        let scalar = match marker {
            0x00..=0x7f => Value::from(marker),
            0xe0..=0xff => Value::from(marker as i8),
            0xc0 => Value::Null,
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xcc => Value::from(self.byte()?),
            0xcd => Value::from(u16::from_be_bytes(self.be()?)),
            0xce => Value::from(u32::from_be_bytes(self.be()?)),
            0xcf => Value::from(u64::from_be_bytes(self.be()?)),
            0xd0 => Value::from(self.byte()? as i8),
            0xd1 => Value::from(i16::from_be_bytes(self.be()?)),
            0xd2 => Value::from(i32::from_be_bytes(self.be()?)),
            0xd3 => Value::from(i64::from_be_bytes(self.be()?)),
            0xca => float(f64::from(f32::from_be_bytes(self.be()?)))?,
            0xcb => float(f64::from_be_bytes(self.be()?))?,
            0xa0..=0xbf => return self.string(usize::from(marker & 0x1f)),
            0xd9 => {
                let len = usize::from(self.byte()?);
                return self.string(len);
            }
            0xda => {
                let len = self.len16()?;
                return self.string(len);
            }
            0xdb => {
                let len = self.len32()?;
                return self.string(len);
            }
            0x90..=0x9f => return self.array(usize::from(marker & 0x0f), depth),
            0xdc => {
                let len = self.len16()?;
                return self.array(len, depth);
            }
            0xdd => {
                let len = self.len32()?;
                return self.array(len, depth);
            }
            0x80..=0x8f => return self.map(usize::from(marker & 0x0f), depth),
            0xde => {
                let len = self.len16()?;
                return self.map(len, depth);
            }
            0xdf => {
                let len = self.len32()?;
                return self.map(len, depth);
            }
            0xd4 => return self.reference(1, depth),
            0xd5 => return self.reference(2, depth),
            0xd6 => return self.reference(4, depth),
            0xc4..=0xc6 => return Err("binary data is not a JSON value".into()),
            other => return Err(format!("unexpected marker {other:#04x}")),
        };
        Ok((scalar, 0))
    }

    fn text(&mut self, len: usize) -> Decoded<&'a str> {
        std::str::from_utf8(self.take(len)?).map_err(|e| format!("string is not UTF-8: {e}"))
    }

    fn string(&mut self, len: usize) -> Decoded<(Value, usize)> {
        let value = Value::from(self.text(len)?);
        if len >= MIN_SHARED_STR {
            self.table.push(Some((value.clone(), 0)));
        }
        Ok((value, 0))
    }

    /// Opens a container at `depth`: checks the depth, reserves its index, and gives a capacity
    /// that a lying length prefix cannot inflate (every item takes at least one byte).
    fn open(&mut self, len: usize, depth: usize) -> Decoded<(usize, usize)> {
        if depth >= MAX_DEPTH {
            return Err(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        self.table.push(None);
        let rest = self.input.len() - self.pos;
        Ok((self.table.len() - 1, len.min(rest).min(CAUTIOUS_CAPACITY)))
    }

    fn close(&mut self, index: usize, value: Value, height: usize) -> (Value, usize) {
        self.table[index] = Some((value.clone(), height));
        (value, height)
    }

    fn array(&mut self, len: usize, depth: usize) -> Decoded<(Value, usize)> {
        let (index, capacity) = self.open(len, depth)?;
        let mut items = Vec::with_capacity(capacity);
        let mut height = 0;
        for _ in 0..len {
            let (item, h) = self.value(depth + 1)?;
            height = height.max(h);
            items.push(item);
        }
        Ok(self.close(index, Value::from(items), height + 1))
    }

    fn map(&mut self, len: usize, depth: usize) -> Decoded<(Value, usize)> {
        let (index, capacity) = self.open(len, depth)?;
        let mut map = Map::with_capacity(capacity);
        let mut height = 0;
        for _ in 0..len {
            let key_len = match self.byte()? {
                m @ 0xa0..=0xbf => usize::from(m & 0x1f),
                0xd9 => usize::from(self.byte()?),
                0xda => self.len16()?,
                0xdb => self.len32()?,
                other => return Err(format!("map key with marker {other:#04x} is not a string")),
            };
            let key = self.text(key_len)?;
            let (item, h) = self.value(depth + 1)?;
            height = height.max(h);
            map.insert(key.into(), item);
        }
        Ok(self.close(index, Value::from(map), height + 1))
    }

    /// A reference (fixext of `width` bytes) found inside `depth` containers.
    fn reference(&mut self, width: usize, depth: usize) -> Decoded<(Value, usize)> {
        let ext = self.byte()?;
        if ext != EXT_REF {
            return Err(format!("unknown extension type {ext}"));
        }
        let index = self.take(width)?.iter().fold(0usize, |n, &b| n << 8 | usize::from(b));
        match self.table.get(index) {
            None => Err(format!("reference to container {index}, which is not defined yet")),
            Some(None) => Err(format!("reference to container {index}, which encloses the reference")),
            Some(Some((_, height))) if depth + height > MAX_DEPTH => {
                Err(format!("reference makes the value nested deeper than {MAX_DEPTH} levels"))
            }
            Some(Some((value, height))) => Ok((value.clone(), *height)),
        }
    }
}

/// JSON has no NaN or infinity (`Value::from` would silently turn them into null).
fn float(f: f64) -> Decoded<Value> {
    Number::from_f64(f).map(Value::Number).ok_or_else(|| "non-finite float".into())
}
