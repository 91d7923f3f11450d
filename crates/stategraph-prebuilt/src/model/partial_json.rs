//! Reading the JSON arguments of a tool call that is still streaming, the way LangChain reads them
//! for each `AIMessageChunk` (`langchain_core.utils.json.parse_partial_json`): close what is open,
//! and drop characters from the end until it parses. Pure; no IO.

use stategraph_core::Value;

/// Parses `s`, completing it if it was cut short: open strings, objects and arrays are closed and
/// trailing characters dropped until the text parses. `None` when it cannot be read at all (a
/// closing bracket that matches nothing, or nothing left that parses).
///
/// The stack of closers is taken from the whole text once, as LangChain does, so that both sides
/// read the same fragment the same way.
pub(crate) fn parse_partial_json(s: &str) -> Option<Value> {
    if let Ok(v) = serde_json::from_str::<Value>(s) {
        return Some(v);
    }
    // Each element is what one input character becomes (a raw newline in a string becomes `\n`).
    let mut pieces: Vec<&str> = Vec::with_capacity(s.len());
    let mut closers: Vec<char> = Vec::new();
    let (mut in_string, mut escaped) = (false, false);
    for (i, c) in s.char_indices() {
        let raw = &s[i..i + c.len_utf8()];
        let mut piece = raw;
        if in_string {
            if c == '"' && !escaped {
                in_string = false;
            } else if c == '\n' && !escaped {
                piece = "\\n";
            } else if c == '\\' {
                escaped = !escaped;
            } else {
                escaped = false;
            }
        } else {
            match c {
                '"' => {
                    in_string = true;
                    escaped = false;
                }
                '{' => closers.push('}'),
                '[' => closers.push(']'),
                '}' | ']' => {
                    if closers.last() == Some(&c) {
                        closers.pop();
                    } else {
                        return None;
                    }
                }
                _ => {}
            }
        }
        pieces.push(piece);
    }
    if in_string {
        if escaped {
            pieces.pop();
        }
        pieces.push("\"");
    }
    let tail: String = closers.iter().rev().collect();
    while !pieces.is_empty() {
        let candidate = format!("{}{tail}", pieces.concat());
        if let Ok(v) = serde_json::from_str::<Value>(&candidate) {
            return Some(v);
        }
        pieces.pop();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(s: &str) -> Option<serde_json::Value> {
        parse_partial_json(s).map(serde_json::Value::from)
    }

    #[test]
    fn completes_what_was_cut_short() {
        assert_eq!(parse(r#"{"a": 1"#), Some(json!({"a": 1})));
        assert_eq!(parse(r#"{"a": 3, "#), Some(json!({"a": 3})));
        assert_eq!(parse(r#"{"city": "Par"#), Some(json!({"city": "Par"})));
        assert_eq!(parse(r#"{"a""#), Some(json!({})));
        assert_eq!(parse(r#"{"xs": [1, 2"#), Some(json!({"xs": [1, 2]})));
        assert_eq!(parse("{\"t\": \"a\nb"), Some(json!({"t": "a\nb"})));
        assert_eq!(parse(r#"{"a": 1}"#), Some(json!({"a": 1})));
    }

    #[test]
    fn unreadable_fragments_are_none() {
        assert_eq!(parse(r#", "b": 2}"#), None, "a closer that matches nothing");
        assert_eq!(parse("nul"), None);
    }
}
