//! Spec parsing and validation on arbitrary input: the first byte picks JSON or YAML, the rest is
//! the document. Reading, validating, compiling and exporting a spec must never panic or hang,
//! whatever the document; problems are values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stategraph_spec::{GraphSpec, Limits, NodeKindRegistry, validate};

fuzz_target!(|data: &[u8]| {
    let Some((&format, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    // Small limits keep each input cheap; the code paths are the same.
    let limits = Limits { max_document_bytes: 64 * 1024, max_nodes: 64, max_edges: 128, max_depth: 32 };
    let parsed = if format % 2 == 0 { GraphSpec::from_json_with(text, &limits) } else { GraphSpec::from_yaml_with(text, &limits) };
    let Ok(spec) = parsed else { return };
    let registry = NodeKindRegistry::with_builtins();
    if !validate(&spec, &registry, &limits).is_empty() {
        return;
    }
    // A valid spec also compiles (or reports the engine's problems) and exports.
    let _ = spec.to_mermaid(&registry);
    let _ = spec.to_python(&registry, &Default::default());
    // What we write reads back as the same spec.
    assert_eq!(GraphSpec::from_json(&spec.to_json()).as_ref(), Ok(&spec), "JSON round trip");
    assert_eq!(GraphSpec::from_yaml(&spec.to_yaml()).as_ref(), Ok(&spec), "YAML round trip");
});
