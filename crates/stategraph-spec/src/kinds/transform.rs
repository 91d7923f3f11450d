//! `transform`: each listed state key gets the value of a Rhai expression over `state` (all
//! expressions read the state as it was when the node started).
//!
//! ```yaml
//! - id: tally
//!   kind: transform
//!   config:
//!     update:
//!       count: state.count + 1
//!       summary: '"seen " + state.items.len() + " items"'
//! ```

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value};
use stategraph_core::{BoxNode, NodeError, sync_node};

use super::{collect, state_key, timeout_ms, unknown_fields};
use crate::problem::{Code, join};
use crate::registry::{ConfigError, KindContext, NodeKind};
use crate::sandbox::{Program, from_dynamic};
use crate::spec::GraphSpec;

pub(crate) const FIELDS: &[&str] = &["update", "timeout_ms"];

/// The `transform` kind.
pub(crate) struct Transform;

fn expressions(config: &Map<String, Value>) -> Result<&Map<String, Value>, ConfigError> {
    match config.get("update") {
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(ConfigError::new("/update", "`update` must be an object of state key → Rhai expression")),
        None => Err(ConfigError::new("", "missing field `update` (an object of state key → Rhai expression)")),
    }
}

impl NodeKind for Transform {
    fn info(&self) -> Option<crate::registry::KindInfo> {
        Some(super::info::transform())
    }

    fn validate(&self, _config: &Map<String, Value>, _spec: &GraphSpec) -> Vec<ConfigError> {
        Vec::new()
    }

    fn build(&self, _node_id: &str, _config: &Map<String, Value>) -> Result<BoxNode, ConfigError> {
        Err(ConfigError::new("", "a `transform` node is built with its registry (build_in)"))
    }

    fn validate_in(&self, config: &Map<String, Value>, cx: &KindContext<'_>) -> Vec<ConfigError> {
        let mut errors = unknown_fields("transform", config, FIELDS);
        collect(timeout_ms(config), &mut errors);
        if let Some(update) = collect(expressions(config), &mut errors) {
            for (key, expr) in update {
                let at = join("/update", key);
                errors.extend(state_key(cx.spec, &at, key));
                match expr {
                    Value::String(code) => {
                        if let Err(e) = cx.registry.sandbox().compile(code) {
                            errors.push(ConfigError::new(at, e.describe()).with_code(Code::Script));
                        }
                    }
                    _ => errors
                        .push(ConfigError::new(at, format!("the expression for `{key}` must be a string of Rhai"))),
                }
            }
        }
        errors
    }

    fn build_in(
        &self,
        node_id: &str,
        config: &Map<String, Value>,
        cx: &KindContext<'_>,
    ) -> Result<BoxNode, ConfigError> {
        let sandbox = cx.registry.sandbox().clone();
        let timeout = timeout_ms(config)?.unwrap_or(sandbox.limits().timeout);
        let mut programs: Vec<(Arc<str>, Program)> = Vec::new();
        for (key, expr) in expressions(config)? {
            let at = join("/update", key);
            let code = expr.as_str().ok_or_else(|| ConfigError::new(&at, "must be a string"))?;
            let program =
                sandbox.compile(code).map_err(|e| ConfigError::new(&at, e.describe()).with_code(Code::Script))?;
            programs.push((Arc::from(key.as_str()), program));
        }
        let node = node_id.to_owned();
        Ok(Arc::new(sync_node(move |state, _ctx| {
            // One clock for the whole node: the expressions share its timeout.
            let start = Instant::now();
            let mut update = stategraph_core::Map::new();
            for (key, program) in &programs {
                let fail = |m: String| {
                    NodeError::permanent(format!("transform node `{node}` failed computing `{key}`{m}"))
                        .with_kind("ValueError")
                };
                let left = timeout.saturating_sub(start.elapsed());
                let value = sandbox.run(program, &state, left).map_err(|e| fail(e.describe()))?;
                update.insert(key.clone(), from_dynamic(value).map_err(|m| fail(format!(": {m}")))?);
            }
            Ok::<_, NodeError>(stategraph_core::Value::from(update))
        })))
    }
}
