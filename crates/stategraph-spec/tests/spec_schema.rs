//! The published JSON Schema is generated from the Rust types and kept up to date.
//!
//! Run with `STATEGRAPH_UPDATE_SCHEMA=1` to rewrite `schema/graph-spec.schema.json`.

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
fn schema_rejects_unknown_fields_but_not_in_ui_and_metadata() {
    let schema = stategraph_spec::json_schema();
    assert_eq!(schema["additionalProperties"], false);
    let node = &schema["$defs"]["NodeSpec"];
    assert_eq!(node["additionalProperties"], false);
    assert_ne!(node["properties"]["ui"]["additionalProperties"], false);
    assert_ne!(schema["properties"]["metadata"]["additionalProperties"], false);
}
