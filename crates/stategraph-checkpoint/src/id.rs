//! Checkpoint ids: UUID v7, ordered by creation time.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::error::Error;

/// The id of a checkpoint: a UUID v7, so ids compare in creation order.
///
/// Ids made by [`CheckpointId::new`] in one process are strictly increasing (the `uuid` crate keeps
/// a shared counter within a millisecond), so "latest checkpoint" is the greatest id and every
/// backend answers it with an index lookup. The text form is the lowercase hyphenated UUID, whose
/// byte-wise order is the same as the UUID's.
///
/// ```
/// use stategraph_checkpoint::CheckpointId;
/// let a = CheckpointId::new();
/// let b = CheckpointId::new();
/// assert!(a < b);
/// assert_eq!(a.to_string().parse::<CheckpointId>().unwrap(), a);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CheckpointId(Uuid);

impl CheckpointId {
    /// A new id, greater than every id this process made before.
    #[allow(clippy::new_without_default)] // a default id would be a surprising fresh timestamp
    pub fn new() -> CheckpointId {
        CheckpointId(Uuid::now_v7())
    }

    /// Wraps a UUID (any version; ordering is only meaningful between v7 ids).
    pub fn from_uuid(uuid: Uuid) -> CheckpointId {
        CheckpointId(uuid)
    }

    /// The UUID.
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }

    /// Milliseconds since the Unix epoch embedded in a v7 id (`None` for other versions).
    ///
    /// ```
    /// use stategraph_checkpoint::CheckpointId;
    /// assert!(CheckpointId::new().unix_millis().unwrap() > 1_700_000_000_000);
    /// ```
    pub fn unix_millis(&self) -> Option<u64> {
        let (secs, nanos) = self.0.get_timestamp()?.to_unix();
        Some(secs * 1000 + u64::from(nanos) / 1_000_000)
    }
}

impl fmt::Display for CheckpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl fmt::Debug for CheckpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CheckpointId({})", self.0.hyphenated())
    }
}

impl FromStr for CheckpointId {
    type Err = Error;
    /// Parses the hyphenated (or simple) text form.
    fn from_str(s: &str) -> Result<CheckpointId, Error> {
        Uuid::parse_str(s)
            .map(CheckpointId)
            .map_err(|e| Error::InvalidInput { message: format!("invalid checkpoint id '{s}': {e}") })
    }
}

impl Serialize for CheckpointId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0.hyphenated())
    }
}

impl<'de> Deserialize<'de> for CheckpointId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<CheckpointId, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Formats Unix milliseconds as RFC 3339 in UTC with LangGraph's `+00:00` offset
/// (`2024-07-31T20:14:19.804+00:00`).
pub(crate) fn rfc3339_from_millis(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Written digit by digit: this runs for every checkpoint, and `format!` costs several times
    // more than the arithmetic.
    fn push(out: &mut String, n: u64, width: u32, sep: char) {
        for i in (0..width).rev() {
            out.push(char::from(b'0' + (n / 10u64.pow(i) % 10) as u8));
        }
        out.push(sep);
    }
    let mut out = String::with_capacity(29);
    push(&mut out, year.clamp(0, 9999) as u64, 4, '-');
    push(&mut out, month as u64, 2, '-');
    push(&mut out, day as u64, 2, 'T');
    push(&mut out, rem / 3600, 2, ':');
    push(&mut out, rem % 3600 / 60, 2, ':');
    push(&mut out, rem % 60, 2, '.');
    push(&mut out, ms % 1000, 3, '+');
    out.push_str("00:00");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(rfc3339_from_millis(0), "1970-01-01T00:00:00.000+00:00");
        assert_eq!(rfc3339_from_millis(1_722_456_859_804), "2024-07-31T20:14:19.804+00:00");
        assert_eq!(rfc3339_from_millis(951_782_400_000), "2000-02-29T00:00:00.000+00:00");
    }

    #[test]
    fn ids_are_strictly_increasing_in_text_form_too() {
        let ids: Vec<CheckpointId> = (0..1000).map(|_| CheckpointId::new()).collect();
        for w in ids.windows(2) {
            assert!(w[0] < w[1]);
            assert!(w[0].to_string() < w[1].to_string());
        }
    }

    #[test]
    fn bad_id_is_a_typed_error() {
        let e = "nope".parse::<CheckpointId>().unwrap_err();
        assert_eq!(e.code(), "SG106");
    }
}
