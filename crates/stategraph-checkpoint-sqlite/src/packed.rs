//! Several small encoded values in one column (migration 0003): the inline values of a checkpoint
//! row, and the writes of a write bundle.
//!
//! Format: a format byte (`1`), then for each entry: the name (u16 length + UTF-8), a number
//! (i64, little-endian: a channel version or a write's `idx`), the codec's type tag (u8 length +
//! UTF-8) and the encoded value (u32 length + bytes). Reading checks every length against what is
//! left, so damaged bytes are a typed error, never a panic.

use stategraph_checkpoint::{Error, Result};

const FORMAT: u8 = 1;

/// One packed value, copied (tests compare these).
#[cfg(test)]
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    /// The channel.
    pub name: String,
    /// The channel's version (inline values) or the write's `idx` (bundles).
    pub number: i64,
    /// The codec's type tag.
    pub tag: String,
    /// The encoded value.
    pub bytes: Vec<u8>,
}

fn too_long(what: &str, name: &str, len: usize) -> Error {
    Error::Encode { what: format!("channel '{name}'"), message: format!("{what} of {len} bytes is too long to pack") }
}

/// Whether an entry with this name, type tag and value length can be packed.
pub(crate) fn fits(name: &str, tag: &str, bytes: usize) -> bool {
    name.len() <= u16::MAX as usize && tag.len() <= u8::MAX as usize && bytes <= u32::MAX as usize
}

/// Appends one entry to `out` (started with [`start`]); nothing when it does not [`fit`](fits).
pub(crate) fn push(out: &mut Vec<u8>, name: &str, number: i64, tag: &str, bytes: &[u8]) -> Result<()> {
    let name_len = u16::try_from(name.len()).map_err(|_| too_long("a name", name, name.len()))?;
    let tag_len = u8::try_from(tag.len()).map_err(|_| too_long("a type tag", name, tag.len()))?;
    let bytes_len = u32::try_from(bytes.len()).map_err(|_| too_long("a value", name, bytes.len()))?;
    out.reserve(2 + name.len() + 8 + 1 + tag.len() + 4 + bytes.len());
    out.extend_from_slice(&name_len.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&number.to_le_bytes());
    out.push(tag_len);
    out.extend_from_slice(tag.as_bytes());
    out.extend_from_slice(&bytes_len.to_le_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

/// An empty pack (entries are added with [`push`]).
pub(crate) fn start() -> Vec<u8> {
    vec![FORMAT]
}

/// An empty pack with room for entries of these (name, tag, value) lengths, so that pushing them
/// copies each value once (a bundle may hold large writes).
pub(crate) fn start_for(entries: impl Iterator<Item = (usize, usize, usize)>) -> Vec<u8> {
    let size = entries.map(|(name, tag, bytes)| 2 + name + 8 + 1 + tag + 4 + bytes).sum::<usize>();
    let mut pack = Vec::with_capacity(1 + size);
    pack.push(FORMAT);
    pack
}

/// The entries of a pack, copied; `what` names the column in errors.
#[cfg(test)]
pub(crate) fn unpack(bytes: &[u8], what: impl Fn() -> String) -> Result<Vec<Entry>> {
    Ok(entries(bytes, what)?
        .into_iter()
        .map(|e| Entry { name: e.name.to_owned(), number: e.number, tag: e.tag.to_owned(), bytes: e.bytes.to_vec() })
        .collect())
}

/// One entry of a pack, borrowed, and where its whole encoding lies in the pack (to copy it into
/// another pack with [`push_raw`]).
pub(crate) struct Located<'a> {
    pub name: &'a str,
    pub number: i64,
    pub tag: &'a str,
    pub bytes: &'a [u8],
    pub range: std::ops::Range<usize>,
}

/// The entries of a pack without copying them, sorted by name.
pub(crate) fn locate<'a>(bytes: &'a [u8], what: impl Fn() -> String) -> Result<Vec<Located<'a>>> {
    let mut entries = entries(bytes, what)?;
    entries.sort_by(|a, b| a.name.cmp(b.name));
    Ok(entries)
}

/// The entries of a pack without copying them, in stored order; `what` names the column in errors.
pub(crate) fn entries<'a>(pack: &'a [u8], what: impl Fn() -> String) -> Result<Vec<Located<'a>>> {
    let bad = |message: &str| Error::corrupt(what(), message.to_owned());
    let (&format, mut rest) = pack.split_first().ok_or_else(|| bad("an empty pack"))?;
    if format != FORMAT {
        return Err(bad(&format!("unknown pack format {format}")));
    }
    let mut entries = Vec::new();
    while !rest.is_empty() {
        let start = pack.len() - rest.len();
        let name_len = u16::from_le_bytes(take(&mut rest, &bad)?) as usize;
        let name = text(take_n(&mut rest, name_len, &bad)?, "a name", &bad)?;
        let number = i64::from_le_bytes(take(&mut rest, &bad)?);
        let [tag_len] = take::<1>(&mut rest, &bad)?;
        let tag = text(take_n(&mut rest, tag_len as usize, &bad)?, "a type tag", &bad)?;
        let bytes_len = u32::from_le_bytes(take(&mut rest, &bad)?) as usize;
        let bytes = take_n(&mut rest, bytes_len, &bad)?;
        entries.push(Located { name, number, tag, bytes, range: start..pack.len() - rest.len() });
    }
    Ok(entries)
}

/// Appends an entry copied whole from another pack (a range [`locate`] gave).
pub(crate) fn push_raw(out: &mut Vec<u8>, entry: &[u8]) {
    out.extend_from_slice(entry);
}

fn take_n<'a>(rest: &mut &'a [u8], n: usize, bad: &impl Fn(&str) -> Error) -> Result<&'a [u8]> {
    if rest.len() < n {
        return Err(bad("the pack ends in the middle of an entry"));
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

fn take<const N: usize>(rest: &mut &[u8], bad: &impl Fn(&str) -> Error) -> Result<[u8; N]> {
    Ok(take_n(rest, N, bad)?.try_into().expect("N bytes"))
}

fn text<'a>(bytes: &'a [u8], what: &str, bad: &impl Fn(&str) -> Error) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|_| bad(&format!("{what} is not UTF-8")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_damage_is_a_typed_error() {
        let mut pack = start();
        push(&mut pack, "count", 7, "msgpack", &[0x2a]).unwrap();
        push(&mut pack, "branch:to:ü", -3, "null", &[]).unwrap();
        let entries = unpack(&pack, || "test".into()).unwrap();
        assert_eq!(
            entries,
            vec![
                Entry { name: "count".into(), number: 7, tag: "msgpack".into(), bytes: vec![0x2a] },
                Entry { name: "branch:to:ü".into(), number: -3, tag: "null".into(), bytes: vec![] },
            ]
        );
        assert_eq!(unpack(&start(), || "test".into()).unwrap(), vec![]);
        // Entries copied whole into another pack read back the same.
        let located = locate(&pack, || "test".into()).unwrap();
        assert_eq!(located.iter().map(|e| (e.name, e.number)).collect::<Vec<_>>(), [("branch:to:ü", -3), ("count", 7)]);
        let mut copy = start();
        push_raw(&mut copy, &pack[located[1].range.clone()]);
        push_raw(&mut copy, &pack[located[0].range.clone()]);
        assert_eq!(unpack(&copy, || "test".into()).unwrap(), entries);
        // Every truncation but the ones at an entry boundary is an error, never a panic.
        let first_end = 1 + 2 + 5 + 8 + 1 + 7 + 4 + 1;
        for cut in 0..pack.len() {
            let result = unpack(&pack[..cut], || "test".into());
            if cut == 1 || cut == first_end {
                assert!(result.is_ok(), "cut at {cut}");
                assert!(locate(&pack[..cut], || "test".into()).is_ok());
            } else {
                let err = result.expect_err("a truncated pack");
                assert_eq!(err.code(), "SG102", "cut at {cut}: {err}");
                assert_eq!(locate(&pack[..cut], || "test".into()).err().map(|e| e.code()), Some("SG102"));
            }
        }
        assert_eq!(unpack(&[9], || "test".into()).unwrap_err().code(), "SG102");
        let mut bad_utf8 = start();
        bad_utf8.extend_from_slice(&[1, 0, 0xff]);
        assert_eq!(unpack(&bad_utf8, || "test".into()).unwrap_err().code(), "SG102");
    }
}
