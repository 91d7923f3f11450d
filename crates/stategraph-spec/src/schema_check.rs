//! A small JSON Schema subset, enough to check the answers a `human` node receives: `type`
//! (a name or a list of names), `enum`, `const`, `required`, `properties`,
//! `additionalProperties: false`, `items`. Other keywords (`description`, `title`, `format`, ...)
//! are accepted and not enforced.
//!
//! Written here rather than taken from the `jsonschema` crate: that crate pulls in a regex engine,
//! a URL resolver and an HTTP client for remote references, which is a lot of build time and
//! reach for checking a handful of fields of an inbox answer.

use serde_json::Value;

use crate::problem::join;
use crate::spec::kind_name;

const TYPES: &[&str] = &["null", "boolean", "integer", "number", "string", "array", "object"];

/// Problems in a schema itself: `(pointer relative to the schema, message)`.
pub(crate) fn check_schema(schema: &Value, at: &str, errors: &mut Vec<(String, String)>) {
    let Value::Object(s) = schema else {
        if !schema.is_boolean() {
            errors.push((at.to_owned(), format!("a schema must be an object or a boolean, got {}", kind_name(schema))));
        }
        return;
    };
    if let Some(t) = s.get("type") {
        let names: Vec<&Value> = match t {
            Value::Array(list) => list.iter().collect(),
            other => vec![other],
        };
        for name in names {
            if !name.as_str().is_some_and(|n| TYPES.contains(&n)) {
                errors.push((join(at, "type"), format!("unknown type {name}; expected one of {}", TYPES.join(", "))));
            }
        }
    }
    if let Some(e) = s.get("enum")
        && !e.is_array()
    {
        errors.push((join(at, "enum"), "`enum` must be a list of values".into()));
    }
    if let Some(r) = s.get("required")
        && !r.as_array().is_some_and(|r| r.iter().all(Value::is_string))
    {
        errors.push((join(at, "required"), "`required` must be a list of property names".into()));
    }
    match s.get("properties") {
        None => {}
        Some(Value::Object(props)) => {
            for (name, sub) in props {
                check_schema(sub, &join(&join(at, "properties"), name), errors);
            }
        }
        Some(_) => errors.push((join(at, "properties"), "`properties` must be an object of name → schema".into())),
    }
    if let Some(items) = s.get("items") {
        check_schema(items, &join(at, "items"), errors);
    }
    if let Some(a) = s.get("additionalProperties") {
        check_schema(a, &join(at, "additionalProperties"), errors);
    }
}

/// Where `value` breaks `schema`, as `"<pointer>: <what>"` messages (empty = it conforms).
/// `schema` must have passed [`check_schema`].
pub(crate) fn violations(schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    let Value::Object(s) = schema else {
        if schema == &Value::Bool(false) {
            out.push(format!("{}: no value is allowed here", shown(at)));
        }
        return;
    };
    if let Some(t) = s.get("type") {
        let names: Vec<&str> = match t {
            Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
            other => other.as_str().into_iter().collect(),
        };
        let actual = kind_name(value);
        let fits = names.iter().any(|n| *n == actual || (*n == "number" && actual == "integer"));
        if !fits {
            out.push(format!("{}: expected {}, got {actual}", shown(at), names.join(" or ")));
            return;
        }
    }
    if let Some(Value::Array(options)) = s.get("enum")
        && !options.contains(value)
    {
        let list: Vec<String> = options.iter().map(Value::to_string).collect();
        out.push(format!("{}: {value} is not one of {}", shown(at), list.join(", ")));
    }
    if let Some(c) = s.get("const")
        && c != value
    {
        out.push(format!("{}: expected {c}, got {value}", shown(at)));
    }
    if let Value::Object(object) = value {
        if let Some(Value::Array(required)) = s.get("required") {
            for name in required.iter().filter_map(Value::as_str) {
                if !object.contains_key(name) {
                    out.push(format!("{}: missing required property `{name}`", shown(at)));
                }
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        for (name, v) in object {
            match props.and_then(|p| p.get(name)) {
                Some(sub) => violations(sub, v, &join(at, name), out),
                None => {
                    if let Some(extra) = s.get("additionalProperties") {
                        if extra == &Value::Bool(false) {
                            out.push(format!("{}: property `{name}` is not allowed", shown(at)));
                        } else {
                            violations(extra, v, &join(at, name), out);
                        }
                    }
                }
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, s.get("items")) {
        for (i, item) in items.iter().enumerate() {
            violations(item_schema, item, &format!("{at}/{i}"), out);
        }
    }
}

fn shown(at: &str) -> &str {
    if at.is_empty() { "(the value)" } else { at }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(schema: Value, value: Value) -> Vec<String> {
        let mut out = Vec::new();
        violations(&schema, &value, "", &mut out);
        out
    }

    #[test]
    fn subset_keywords_are_enforced() {
        let schema = json!({"type": "object", "required": ["amount"], "additionalProperties": false,
            "properties": {"amount": {"type": "number"}, "tags": {"type": "array", "items": {"enum": ["a", "b"]}}}});
        assert!(check(schema.clone(), json!({"amount": 3, "tags": ["a"]})).is_empty());
        assert_eq!(check(schema.clone(), json!({"amount": "3"})), ["/amount: expected number, got string"]);
        assert_eq!(check(schema.clone(), json!({})), ["(the value): missing required property `amount`"]);
        assert_eq!(check(schema.clone(), json!({"amount": 1, "x": 1})), ["(the value): property `x` is not allowed"]);
        assert_eq!(check(schema, json!({"amount": 1, "tags": ["c"]})), [r#"/tags/0: "c" is not one of "a", "b""#]);
    }

    #[test]
    fn bad_schemas_are_reported_with_pointers() {
        let mut errors = Vec::new();
        check_schema(&json!({"type": "text", "properties": {"a": {"required": "a"}}}), "", &mut errors);
        let pointers: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(pointers, ["/type", "/properties/a/required"]);
    }
}
