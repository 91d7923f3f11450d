//! Every problem code, with the pointer it reports.

use serde_json::{Value, json};
use stategraph_spec::{Code, GraphSpec, Limits, NodeKindRegistry, Problem, validate};

/// Parses and validates; returns `(code, pointer)` of every problem.
fn problems_of(doc: &str) -> Vec<(String, String)> {
    let problems = match GraphSpec::from_json(doc) {
        Err(p) => p,
        Ok(spec) => validate(&spec, &NodeKindRegistry::with_builtins(), &Limits::default()),
    };
    problems.iter().map(|p| (p.code.as_str().to_owned(), p.pointer.clone())).collect()
}

/// A valid document to break: `a` → `b`, both `set`.
fn base() -> Value {
    json!({
        "version": 1,
        "name": "g",
        "state": {"x": {"type": "integer", "default": 0}, "route": {"type": "string"}},
        "nodes": [
            {"id": "a", "kind": "set", "config": {"update": {"x": 1}}},
            {"id": "b", "kind": "passthrough"}
        ],
        "edges": [
            {"source": "__start__", "target": "a"},
            {"source": "a", "target": "b"},
            {"source": "b", "target": "__end__"}
        ]
    })
}

fn with(edit: impl FnOnce(&mut Value)) -> Vec<(String, String)> {
    let mut doc = base();
    edit(&mut doc);
    problems_of(&doc.to_string())
}

fn one(code: &str, pointer: &str) -> Vec<(String, String)> {
    vec![(code.to_owned(), pointer.to_owned())]
}

#[test]
fn the_base_document_is_valid() {
    assert_eq!(with(|_| {}), vec![]);
}

#[test]
fn sp001_bad_json_has_line_and_column() {
    let err = GraphSpec::from_json("{\n  \"version\": 1,\n  \"name\": \n}").unwrap_err();
    assert_eq!(err[0].code, Code::Syntax);
    assert_eq!((err[0].line, err[0].column), (Some(4), Some(1)));
}

#[test]
fn sp001_bad_yaml_has_line_and_column() {
    let err = GraphSpec::from_yaml("version: 1\nname: g\nnodes: [\n  {id: a\n").unwrap_err();
    assert_eq!(err[0].code, Code::Syntax);
    assert!(err[0].line.is_some_and(|l| l >= 3), "{:?}", err[0]);
    assert!(err[0].to_string().starts_with("SP001 at line"), "{}", err[0]);
}

#[test]
fn sp002_unknown_field_points_at_it() {
    assert_eq!(with(|d| d["nodes"][1]["colour"] = json!("red")), one("SP002", "/nodes/1/colour"));
    assert_eq!(with(|d| d["nme"] = json!("x")), one("SP002", "/nme"));
    assert_eq!(with(|d| d["state"]["x"]["reduce"] = json!("add")), one("SP002", "/state/x/reduce"));
    assert_eq!(with(|d| d["edges"][1]["weight"] = json!(1)), one("SP002", "/edges/1/weight"));
}

#[test]
fn sp002_every_malformed_node_and_edge_is_reported() {
    let found = with(|d| {
        d["nodes"][0]["position"] = json!({"x": 1, "y": "high"});
        d["edges"][2] = json!({"source": "b", "branches": [{"label": "l", "target": "a", "extra": 1}], "condition": {"key": "route"}});
    });
    assert_eq!(
        found,
        vec![("SP002".into(), "/nodes/0/position/y".into()), ("SP002".into(), "/edges/2/branches/0/extra".into())]
    );
}

#[test]
fn sp002_missing_field_and_wrong_type() {
    assert_eq!(
        with(|d| {
            d["nodes"][1].as_object_mut().unwrap().remove("kind");
        }),
        one("SP002", "/nodes/1")
    );
    assert_eq!(with(|d| d["name"] = json!(3)), one("SP002", "/name"));
    assert_eq!(with(|d| d["edges"][0] = json!("a->b")), one("SP002", "/edges/0"));
}

#[test]
fn sp002_unknown_condition_form_is_rejected() {
    let found = with(|d| {
        d["edges"][2] =
            json!({"source": "b", "branches": [{"label": "l", "target": "a"}], "condition": {"python": "x > 1"}});
    });
    assert_eq!(found, one("SP002", "/edges/2/condition"));
}

#[test]
fn sp022_a_condition_expression_that_does_not_compile() {
    let found = with(|d| {
        d["edges"][2] =
            json!({"source": "b", "branches": [{"label": "l", "target": "a"}], "condition": {"expr": "state.x >"}});
    });
    assert_eq!(found, one("SP022", "/edges/2/condition/expr"));
    // Strict variables: a name that is neither `state` nor declared is caught when checking.
    let found = with(|d| {
        d["edges"][2] =
            json!({"source": "b", "branches": [{"label": "l", "target": "a"}], "condition": {"expr": "stat.x"}});
    });
    assert_eq!(found, one("SP022", "/edges/2/condition/expr"));
}

#[test]
fn sp003_versions() {
    assert_eq!(with(|d| d["version"] = json!(2)), one("SP003", "/version"));
    assert_eq!(with(|d| d["version"] = json!(0)), one("SP003", "/version"));
    assert_eq!(with(|d| d["version"] = json!("1")), one("SP003", "/version"));
    assert_eq!(
        with(|d| {
            d.as_object_mut().unwrap().remove("version");
        }),
        one("SP003", "/version")
    );
    let err = GraphSpec::from_json(r#"{"version": 7, "name": "g"}"#).unwrap_err();
    assert!(err[0].message.contains("newer than this build supports (1)"), "{}", err[0]);
}

#[test]
fn sp010_duplicate_node_id() {
    assert_eq!(
        with(|d| d["nodes"].as_array_mut().unwrap().push(json!({"id": "a", "kind": "passthrough"}))),
        one("SP010", "/nodes/2/id")
    );
}

#[test]
fn sp011_reserved_ids() {
    for id in ["__start__", "__end__", "a:b", "a|b", ""] {
        let found = with(|d| d["nodes"].as_array_mut().unwrap().push(json!({"id": id, "kind": "passthrough"})));
        assert_eq!(found, one("SP011", "/nodes/2/id"), "id {id:?}");
    }
}

#[test]
fn sp012_unknown_node_everywhere_a_node_is_named() {
    assert_eq!(with(|d| d["edges"][1]["target"] = json!("zz")), one("SP012", "/edges/1/target"));
    assert_eq!(with(|d| d["edges"][1]["source"] = json!("zz")), one("SP012", "/edges/1/source"));
    assert_eq!(
        with(|d| d["edges"][1] = json!({"sources": ["a", "zz"], "target": "b"})),
        one("SP012", "/edges/1/sources/1")
    );
    assert_eq!(
        with(|d| d["edges"][2] = json!({"source": "b", "condition": {"key": "route"},
            "branches": [{"label": "x", "target": "__end__"}, {"label": "y", "target": "zz"}]})),
        one("SP012", "/edges/2/branches/1/target")
    );
    assert_eq!(with(|d| d["entry"] = json!("zz")), one("SP012", "/entry"));
    assert_eq!(with(|d| d["interrupts"] = json!({"after": ["a", "zz"]})), one("SP012", "/interrupts/after/1"));
    assert_eq!(with(|d| d["retry"] = json!({"zz": {}})), one("SP012", "/retry/zz"));
}

#[test]
fn sp013_missing_entry() {
    assert_eq!(
        with(|d| {
            d["edges"].as_array_mut().unwrap().remove(0);
        }),
        one("SP013", "/entry")
    );
    // `entry` is an entry too.
    assert_eq!(
        with(|d| {
            d["edges"].as_array_mut().unwrap().remove(0);
            d["entry"] = json!("a");
        }),
        vec![]
    );
}

#[test]
fn sp014_malformed_edges() {
    assert_eq!(with(|d| d["edges"][1]["target"] = json!("__start__")), one("SP014", "/edges/1/target"));
    assert_eq!(with(|d| d["edges"][1]["source"] = json!("__end__")), one("SP014", "/edges/1/source"));
    assert_eq!(with(|d| d["edges"][1] = json!({"sources": [], "target": "b"})), one("SP014", "/edges/1/sources"));
    assert_eq!(
        with(|d| d["edges"][1] = json!({"sources": ["a"], "target": "__end__"})),
        one("SP014", "/edges/1/target")
    );
    assert_eq!(
        with(|d| d["edges"][2] = json!({"source": "b", "condition": {"key": "route"}, "branches": []})),
        one("SP014", "/edges/2/branches")
    );
    assert_eq!(
        with(|d| d["edges"][2] = json!({"source": "b", "condition": {"key": "route"},
            "branches": [{"label": "x", "target": "__end__"}, {"label": "x", "target": "a"}]})),
        one("SP014", "/edges/2/branches/1/label")
    );
}

#[test]
fn sp015_condition_on_undeclared_key() {
    assert_eq!(
        with(|d| d["edges"][2] = json!({"source": "b", "condition": {"key": "nope"},
            "branches": [{"label": "x", "target": "__end__"}]})),
        one("SP015", "/edges/2/condition/key")
    );
}

#[test]
fn sp020_unknown_kind() {
    let found = with(|d| d["nodes"][1]["kind"] = json!("vector_search"));
    assert_eq!(found, one("SP020", "/nodes/1/kind"));
}

#[test]
fn sp021_invalid_config() {
    assert_eq!(with(|d| d["nodes"][1]["config"] = json!({"x": 1})), one("SP021", "/nodes/1/config/x"));
    assert_eq!(with(|d| d["nodes"][0]["config"] = json!({})), one("SP021", "/nodes/0/config"));
    assert_eq!(with(|d| d["nodes"][0]["config"] = json!({"update": 3})), one("SP021", "/nodes/0/config/update"));
    assert_eq!(
        with(|d| d["nodes"][0]["config"]["update"]["nope"] = json!(1)),
        one("SP021", "/nodes/0/config/update/nope")
    );
    // Pointer tokens are escaped (RFC 6901).
    assert_eq!(
        with(|d| d["nodes"][0]["config"]["update"]["a/b~c"] = json!(1)),
        one("SP021", "/nodes/0/config/update/a~1b~0c")
    );
}

#[test]
fn sp030_unknown_reducer() {
    assert_eq!(with(|d| d["state"]["x"]["reducer"] = json!("sum")), one("SP030", "/state/x/reducer"));
}

#[test]
fn sp031_invalid_type() {
    assert_eq!(with(|d| d["state"]["x"]["type"] = json!("int")), one("SP031", "/state/x/type"));
    assert_eq!(with(|d| d["state"]["x"]["type"] = json!({"type": "float"})), one("SP031", "/state/x/type/type"));
    assert_eq!(
        with(|d| d["state"]["x"]["type"] = json!({"type": ["integer", 3]})),
        one("SP031", "/state/x/type/type/1")
    );
    assert_eq!(with(|d| d["state"]["x"]["type"] = json!(5)), one("SP031", "/state/x/type"));
}

#[test]
fn sp032_default_must_match_type() {
    assert_eq!(with(|d| d["state"]["x"]["default"] = json!("zero")), one("SP032", "/state/x/default"));
    assert_eq!(with(|d| d["state"]["x"]["default"] = json!(1.5)), one("SP032", "/state/x/default"));
    // JSON Schema counts 2.0 as an integer; a list of types allows any of them.
    assert_eq!(with(|d| d["state"]["x"]["default"] = json!(2.0)), vec![]);
    assert_eq!(with(|d| d["state"]["x"] = json!({"type": {"type": ["integer", "null"]}, "default": null})), vec![]);
    for (ty, ok, bad) in [
        ("string", json!("s"), json!(1)),
        ("number", json!(1.5), json!("1")),
        ("boolean", json!(true), json!(0)),
        ("array", json!([]), json!({})),
        ("object", json!({}), json!([])),
        ("null", json!(null), json!(false)),
    ] {
        assert_eq!(with(|d| d["state"]["x"] = json!({"type": ty, "default": ok})), vec![], "{ty}");
        assert_eq!(with(|d| d["state"]["x"] = json!({"type": ty, "default": bad})), one("SP032", "/state/x/default"));
    }
}

#[test]
fn sp040_invalid_retry() {
    assert_eq!(with(|d| d["retry"] = json!({"a": {"max_attempts": 0}})), one("SP040", "/retry/a/max_attempts"));
    assert_eq!(
        with(|d| d["retry"] = json!({"a": {"initial_interval": -1.0}})),
        one("SP040", "/retry/a/initial_interval")
    );
}

#[test]
fn all_problems_are_reported_at_once() {
    let found = with(|d| {
        d["nodes"][1]["kind"] = json!("nope");
        d["edges"][1]["target"] = json!("zz");
        d["state"]["x"]["reducer"] = json!("sum");
        d["nodes"].as_array_mut().unwrap().push(json!({"id": "__end__", "kind": "passthrough"}));
    });
    let codes: Vec<&str> = found.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(codes, ["SP030", "SP020", "SP011", "SP012"]);
}

#[test]
fn problems_serialize_with_code_pointer_and_message() {
    let p = Problem::new(Code::UnknownNode, "/edges/0/target", "unknown node `x`");
    assert_eq!(
        serde_json::to_value(&p).unwrap(),
        json!({"code": "SP012", "pointer": "/edges/0/target", "message": "unknown node `x`"})
    );
}
