//! JSON and YAML round trips, and the same graph in both formats.

use stategraph_spec::{EdgeSpec, GraphSpec};

const JSON: &str = include_str!("data/graph.json");
const YAML: &str = include_str!("data/graph.yaml");

#[test]
fn json_round_trip_is_lossless() {
    let spec = GraphSpec::from_json(JSON).unwrap();
    assert_eq!(GraphSpec::from_json(&spec.to_json()).unwrap(), spec);
}

#[test]
fn yaml_round_trip_is_lossless() {
    let spec = GraphSpec::from_yaml(YAML).unwrap();
    let yaml = spec.to_yaml();
    assert_eq!(GraphSpec::from_yaml(&yaml).unwrap(), spec, "YAML written:\n{yaml}");
}

#[test]
fn json_to_yaml_to_json_is_lossless() {
    let spec = GraphSpec::from_json(JSON).unwrap();
    let back = GraphSpec::from_yaml(&spec.to_yaml()).unwrap();
    assert_eq!(back, spec);
    assert_eq!(back.to_json(), spec.to_json());
}

#[test]
fn json_and_yaml_documents_parse_to_the_same_spec() {
    let json = GraphSpec::from_json(JSON).unwrap();
    let yaml = GraphSpec::from_yaml(YAML).unwrap();
    // Positions are numbers: YAML's `0` and JSON's `0` both read as 0.0.
    assert_eq!(json, yaml);
}

#[test]
fn edges_are_read_as_their_kind() {
    let spec = GraphSpec::from_json(JSON).unwrap();
    let kinds: Vec<&str> = spec
        .edges
        .iter()
        .map(|e| match e {
            EdgeSpec::Plain(_) => "plain",
            EdgeSpec::Join(_) => "join",
            EdgeSpec::Conditional(_) => "conditional",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["plain", "plain", "plain", "join", "conditional", "plain", "plain"]);
}

#[test]
fn ui_and_metadata_keep_anything() {
    let spec = GraphSpec::from_json(JSON).unwrap();
    assert_eq!(spec.nodes[0].ui["color"], "#ffcc00");
    assert_eq!(spec.metadata["tags"][0], "example");
    assert_eq!(spec.interrupts.before, ["accept"]);
}

#[test]
fn the_readme_example_is_a_valid_spec() {
    let readme = include_str!("../README.md");
    let yaml = readme.split("```yaml\n").nth(1).and_then(|s| s.split("```").next()).unwrap();
    let spec = GraphSpec::from_yaml(yaml).unwrap();
    stategraph_spec::compile(&spec, &stategraph_spec::NodeKindRegistry::with_builtins()).unwrap();
}
