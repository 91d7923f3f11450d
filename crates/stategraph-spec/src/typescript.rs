//! TypeScript declarations of the format for the studio, generated from the published JSON Schema
//! (itself generated from the Rust types), so the UI's types cannot drift from the Rust ones.
//!
//! A small generator of our own rather than `ts-rs`/`specta`: the schema is already the contract
//! (with `deny_unknown_fields`, untagged edges and free-form maps spelled out), and translating
//! the few JSON Schema forms it uses keeps one source of truth.

use std::fmt::Write;

use serde_json::{Map, Value};

/// The TypeScript declarations (`crates/stategraph-spec/ts/graph-spec.d.ts`).
///
/// ```
/// let ts = stategraph_spec::typescript();
/// assert!(ts.contains("export interface GraphSpec {"));
/// assert!(ts.contains("export type EdgeSpec = PlainEdge | JoinEdge | ConditionalEdge | SendEdge;"));
/// ```
pub fn typescript() -> String {
    let schema = crate::json_schema();
    let mut out = String::from(
        "// Generated from the Rust types of stategraph-spec (via its JSON Schema). Do not edit:\n\
         // run `STATEGRAPH_UPDATE_SCHEMA=1 cargo test -p stategraph-spec --test spec_schema`.\n\n",
    );
    let root = schema.as_object().cloned().unwrap_or_default();
    declare(&mut out, "GraphSpec", &root);
    if let Some(Value::Object(defs)) = schema.get("$defs") {
        for (name, def) in defs {
            if let Value::Object(def) = def {
                declare(&mut out, name, def);
            }
        }
    }
    out
}

/// One `export interface` (objects with properties) or `export type`.
fn declare(out: &mut String, name: &str, schema: &Map<String, Value>) {
    doc(out, schema.get("description"), "");
    if let Some(Value::Object(props)) = schema.get("properties") {
        let _ = writeln!(out, "export interface {name} {{");
        fields(out, schema, props, "  ");
        out.push_str("}\n\n");
    } else {
        let _ = writeln!(out, "export type {name} = {};\n", ty(schema, ""));
    }
}

fn fields(out: &mut String, schema: &Map<String, Value>, props: &Map<String, Value>, indent: &str) {
    let required: Vec<&str> = match schema.get("required") {
        Some(Value::Array(r)) => r.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    for (field, sub) in props {
        let sub = sub.as_object().cloned().unwrap_or_default();
        doc(out, sub.get("description"), indent);
        let optional = if required.contains(&field.as_str()) { "" } else { "?" };
        let _ = writeln!(out, "{indent}{}{optional}: {};", property_name(field), ty(&sub, indent));
    }
}

fn property_name(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if plain { name.to_owned() } else { format!("{name:?}") }
}

fn doc(out: &mut String, description: Option<&Value>, indent: &str) {
    if let Some(Value::String(d)) = description {
        let _ = writeln!(out, "{indent}/**");
        for line in d.lines() {
            let line = line.replace("*/", "*\\/");
            let _ = if line.is_empty() { writeln!(out, "{indent} *") } else { writeln!(out, "{indent} * {line}") };
        }
        let _ = writeln!(out, "{indent} */");
    }
}

/// The TypeScript type of a schema.
fn ty(schema: &Map<String, Value>, indent: &str) -> String {
    if let Some(Value::String(r)) = schema.get("$ref") {
        return r.rsplit('/').next().unwrap_or("unknown").to_owned();
    }
    if let Some(Value::Array(values)) = schema.get("enum") {
        return values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(" | ");
    }
    if let Some(Value::String(c)) = schema.get("const") {
        return format!("{c:?}");
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(variants)) = schema.get(key) {
            return union(variants.iter().map(|v| ty(v.as_object().unwrap_or(&Map::new()), indent)));
        }
    }
    match schema.get("type") {
        Some(Value::String(t)) => one_type(t, schema, indent),
        Some(Value::Array(types)) => union(types.iter().filter_map(Value::as_str).map(|t| one_type(t, schema, indent))),
        _ => "unknown".into(),
    }
}

fn union(types: impl Iterator<Item = String>) -> String {
    let mut seen: Vec<String> = Vec::new();
    for t in types {
        if !seen.contains(&t) {
            seen.push(t);
        }
    }
    seen.join(" | ")
}

fn one_type(t: &str, schema: &Map<String, Value>, indent: &str) -> String {
    match t {
        "string" => "string".into(),
        "number" | "integer" => "number".into(),
        "boolean" => "boolean".into(),
        "null" => "null".into(),
        "array" => match schema.get("items") {
            Some(Value::Object(items)) => {
                let inner = ty(items, indent);
                if inner.contains(' ') { format!("({inner})[]") } else { format!("{inner}[]") }
            }
            _ => "unknown[]".into(),
        },
        "object" => match (schema.get("properties"), schema.get("additionalProperties")) {
            (Some(Value::Object(props)), _) => {
                let mut out = String::from("{\n");
                fields(&mut out, schema, props, &format!("{indent}  "));
                out.push_str(indent);
                out.push('}');
                out
            }
            (None, Some(Value::Object(values))) => format!("Record<string, {}>", ty(values, indent)),
            _ => "Record<string, unknown>".into(),
        },
        _ => "unknown".into(),
    }
}
