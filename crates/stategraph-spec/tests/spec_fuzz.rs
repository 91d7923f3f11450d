//! A bounded fuzz of the reader, validator and compiler: mutated example specs (bytes replaced,
//! inserted, deleted, the text cut short) never panic or hang; they parse, or fail with problems.

use proptest::prelude::*;
use stategraph_spec::{GraphSpec, Limits, NodeKindRegistry, compile_with};

const EXAMPLES: [&str; 5] = [
    include_str!("../../../examples/specs/review_pipeline.yaml"),
    include_str!("../../../examples/specs/prompt_router.yaml"),
    include_str!("../../../examples/specs/support_triage.yaml"),
    include_str!("../../../examples/specs/counter_loop.yaml"),
    include_str!("../../../examples/specs/ticket_lookup.yaml"),
];

/// Bytes that make YAML and JSON interesting: structure, quotes, anchors, escapes, digits.
const SPICE: &[u8] = b"{}[]:,-'\"&*!|>#%@`\\\n \t0123456789aZ_.~";

#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let byte = prop::sample::select(SPICE.to_vec());
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(i, b)| Edit::Replace(i, b)),
        (any::<usize>(), byte).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn mutate(text: &str, edits: &[Edit]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for e in edits {
        let n = bytes.len().max(1);
        match *e {
            Edit::Replace(i, b) if !bytes.is_empty() => bytes[i % n] = b,
            Edit::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
            Edit::Delete(i) if !bytes.is_empty() => {
                bytes.remove(i % n);
            }
            Edit::Truncate(i) if i % 8 == 0 => bytes.truncate(i % n),
            _ => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn check(text: &str, json: bool) {
    let limits = Limits::default();
    let parsed = if json { GraphSpec::from_json_with(text, &limits) } else { GraphSpec::from_yaml_with(text, &limits) };
    if let Ok(spec) = parsed {
        // Whatever parses must validate and compile (or report problems) without panicking,
        // and export the same way.
        let registry = NodeKindRegistry::with_builtins();
        let _ = compile_with(&spec, &registry, &limits);
        let _ = spec.to_python(&registry, &Default::default());
        let _ = GraphSpec::from_json(&spec.to_json());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn mutated_yaml_never_panics(which in 0..EXAMPLES.len(), edits in prop::collection::vec(edit(), 1..8)) {
        check(&mutate(EXAMPLES[which], &edits), false);
    }

    #[test]
    fn mutated_json_never_panics(which in 0..EXAMPLES.len(), edits in prop::collection::vec(edit(), 1..8)) {
        let json = GraphSpec::from_yaml(EXAMPLES[which]).unwrap().to_json();
        check(&mutate(&json, &edits), true);
    }
}

#[test]
fn hostile_documents_are_problems() {
    // A YAML alias bomb, deep nesting, a huge document: each a problem, quickly.
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n\
                c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n\
                e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n\
                g: [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nversion: 1\nname: bomb\n";
    let start = std::time::Instant::now();
    assert!(GraphSpec::from_yaml(bomb).is_err());
    assert!(GraphSpec::from_json(&format!("{}1{}", "[".repeat(20_000), "]".repeat(20_000))).is_err());
    assert!(GraphSpec::from_yaml(&format!("{}1{}", "[".repeat(20_000), "]".repeat(20_000))).is_err());
    // Generous: the point is "no hang" on a loaded 2-core machine in a debug build.
    assert!(start.elapsed() < std::time::Duration::from_secs(30), "{:?}", start.elapsed());
}
