//! The published JSON Schema and TypeScript declarations are generated from the Rust types and
//! kept up to date.
//!
//! Run with `STATEGRAPH_UPDATE_SCHEMA=1` to rewrite `schema/graph-spec.schema.json` and
//! `ts/graph-spec.d.ts`.

use std::path::Path;

#[test]
fn published_schema_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/graph-spec.schema.json");
    let generated = format!("{}\n", serde_json::to_string_pretty(&stategraph_spec::json_schema()).unwrap());
    if std::env::var_os("STATEGRAPH_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is out of date: run `STATEGRAPH_UPDATE_SCHEMA=1 cargo test -p stategraph-spec --test spec_schema`",
        path.display()
    );
}

#[test]
fn typescript_types_are_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ts/graph-spec.d.ts");
    let generated = stategraph_spec::typescript();
    if std::env::var_os("STATEGRAPH_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is out of date: run `STATEGRAPH_UPDATE_SCHEMA=1 cargo test -p stategraph-spec --test spec_schema`",
        path.display()
    );
}

#[test]
fn typescript_types_follow_the_schema() {
    let ts = stategraph_spec::typescript();
    // Required fields are plain, optional ones `?`, free-form maps are records, untagged edges a union.
    assert!(ts.contains("export interface GraphSpec {"), "{ts}");
    assert!(ts.contains("  version: number;"), "{ts}");
    assert!(ts.contains("  description?: string | null;"), "{ts}");
    assert!(ts.contains("  state?: Record<string, StateKeySpec>;"), "{ts}");
    assert!(ts.contains("  nodes?: NodeSpec[];"), "{ts}");
    assert!(ts.contains("  config?: Record<string, unknown>;"), "{ts}");
    assert!(ts.contains("export type EdgeSpec = PlainEdge | JoinEdge | ConditionalEdge | SendEdge;"), "{ts}");
    assert!(ts.contains("export type Condition = {\n  key: string;\n} | {\n  expr: string;\n};"), "{ts}");
    // Every declared name is defined.
    for name in [
        "Branch",
        "Condition",
        "Interrupts",
        "Position",
        "RetrySpec",
        "SendEdge",
        "SendSpec",
        "ForEachSend",
        "ExprSend",
    ] {
        assert!(
            ts.contains(&format!("export interface {name} ")) || ts.contains(&format!("export type {name} ")),
            "{name}"
        );
    }
}

#[test]
fn schema_rejects_unknown_fields_but_not_in_ui_and_metadata() {
    let schema = stategraph_spec::json_schema();
    assert_eq!(schema["additionalProperties"], false);
    let node = &schema["$defs"]["NodeSpec"];
    assert_eq!(node["additionalProperties"], false);
    assert_ne!(node["properties"]["ui"]["additionalProperties"], false);
    assert_ne!(schema["properties"]["metadata"]["additionalProperties"], false);
}
