//! Server-sent events, as OpenAI-compatible servers stream them: pure line splitting, no IO.

use super::ModelError;

/// One `data:` payload, or the end marker.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SseData {
    /// The text after `data:`.
    Data(String),
    /// `data: [DONE]`.
    Done,
}

/// Splits a byte stream into SSE lines and yields the `data` payloads. Comments (`:`), other
/// fields (`event`, `id`, `retry`) and blank lines are skipped, as the SSE format says.
#[derive(Debug, Default)]
pub(crate) struct SseDecoder {
    buf: Vec<u8>,
}

impl SseDecoder {
    /// Feeds bytes; returns the payloads of the lines they complete.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<Vec<SseData>, ModelError> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=pos).collect();
            if let Some(data) = parse_line(&line[..line.len() - 1])? {
                out.push(data);
            }
        }
        Ok(out)
    }

    /// The last line, when the stream ended without a newline after it.
    pub(crate) fn finish(&mut self) -> Result<Option<SseData>, ModelError> {
        let rest = std::mem::take(&mut self.buf);
        if rest.is_empty() { Ok(None) } else { parse_line(&rest) }
    }
}

fn parse_line(line: &[u8]) -> Result<Option<SseData>, ModelError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = std::str::from_utf8(line).map_err(|e| ModelError::InvalidStream {
        line: String::from_utf8_lossy(line).chars().take(200).collect(),
        reason: format!("not UTF-8: {e}"),
    })?;
    if text.is_empty() || text.starts_with(':') {
        return Ok(None);
    }
    let (field, value) = match text.split_once(':') {
        Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
        None => (text, ""),
    };
    if field != "data" {
        return Ok(None);
    }
    if value.trim() == "[DONE]" {
        return Ok(Some(SseData::Done));
    }
    Ok(Some(SseData::Data(value.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_across_pushes_and_skips_comments() {
        let mut d = SseDecoder::default();
        assert_eq!(d.push(b": keep-alive\n\ndata: {\"a\"").unwrap(), vec![]);
        assert_eq!(
            d.push(b":1}\r\n\nevent: x\ndata: [DONE]\n").unwrap(),
            vec![SseData::Data("{\"a\":1}".into()), SseData::Done]
        );
        assert_eq!(d.finish().unwrap(), None);
    }

    #[test]
    fn last_line_without_newline_is_read_at_the_end() {
        let mut d = SseDecoder::default();
        assert_eq!(d.push(b"data: x").unwrap(), vec![]);
        assert_eq!(d.finish().unwrap(), Some(SseData::Data("x".into())));
    }
}
