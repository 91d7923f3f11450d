//! `script`: a Rhai snippet that reads `state` and returns an update map.
//!
//! ```yaml
//! - id: count
//!   kind: script
//!   config:
//!     code: |
//!       let n = state.count + 1;
//!       #{ count: n, log: ["counted " + n] }
//!     timeout_ms: 200        # optional; at most the sandbox's timeout
//! ```

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Map, Value};
use stategraph_core::{BoxNode, NodeError, sync_node};

use super::{collect, required_str, timeout_ms, unknown_fields};
use crate::problem::Code;
use crate::registry::{ConfigError, KindContext, NodeKind};
use crate::sandbox::from_dynamic;
use crate::spec::GraphSpec;

pub(crate) const FIELDS: &[&str] = &["code", "timeout_ms"];
const CODE: &str = "Rhai code reading `state` and returning a map of state key → new value";

/// The `script` kind.
pub(crate) struct Script;

impl NodeKind for Script {
    fn info(&self) -> Option<crate::registry::KindInfo> {
        Some(super::info::script())
    }

    fn validate(&self, _config: &Map<String, Value>, _spec: &GraphSpec) -> Vec<ConfigError> {
        // Needs the registry's sandbox to compile: see validate_in.
        Vec::new()
    }

    fn build(&self, _node_id: &str, _config: &Map<String, Value>) -> Result<BoxNode, ConfigError> {
        Err(ConfigError::new("", "a `script` node is built with its registry (build_in)"))
    }

    fn validate_in(&self, config: &Map<String, Value>, cx: &KindContext<'_>) -> Vec<ConfigError> {
        let mut errors = unknown_fields("script", config, FIELDS);
        collect(timeout_ms(config), &mut errors);
        if let Some(code) = collect(required_str(config, "code", CODE), &mut errors)
            && let Err(e) = cx.registry.sandbox().compile(code)
        {
            errors.push(ConfigError::new("/code", e.describe()).with_code(Code::Script));
        }
        errors
    }

    fn build_in(
        &self,
        node_id: &str,
        config: &Map<String, Value>,
        cx: &KindContext<'_>,
    ) -> Result<BoxNode, ConfigError> {
        let code = required_str(config, "code", CODE)?;
        let sandbox = cx.registry.sandbox().clone();
        let timeout = timeout_ms(config)?.unwrap_or(sandbox.limits().timeout);
        let program =
            sandbox.compile(code).map_err(|e| ConfigError::new("/code", e.describe()).with_code(Code::Script))?;
        let keys: HashSet<String> = cx.spec.state.keys().cloned().collect();
        let node = node_id.to_owned();
        Ok(Arc::new(sync_node(move |state, _ctx| {
            let fail =
                |m: String| NodeError::permanent(format!("script node `{node}` failed{m}")).with_kind("ValueError");
            let value = sandbox.run(&program, &state, timeout).map_err(|e| fail(e.describe()))?;
            let update = from_dynamic(value).map_err(|m| fail(format!(" to return a value: {m}")))?;
            match &update {
                stategraph_core::Value::Null => {}
                stategraph_core::Value::Object(m) => {
                    if let Some(k) = m.keys().find(|k| !keys.contains(k.as_ref())) {
                        return Err(fail(format!(
                            "to return its update: `{k}` is not a state key (declared: {})",
                            sorted(&keys)
                        )));
                    }
                }
                other => {
                    return Err(fail(format!(
                        "to return its update: a script must end with a map (`#{{ key: value }}`) or nothing, got {}",
                        other.kind()
                    )));
                }
            }
            Ok::<_, NodeError>(update)
        })))
    }
}

fn sorted(keys: &HashSet<String>) -> String {
    let mut keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    keys.sort_unstable();
    keys.join(", ")
}
