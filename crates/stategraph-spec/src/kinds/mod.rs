//! The built-in node kinds beyond `passthrough` and `set` (which live with the registry), one per
//! file, and the config-reading helpers they share.

mod http;
mod human;
pub(crate) mod info;
mod llm;
mod script;
mod subgraph;
mod template;
mod transform;

use std::time::Duration;

use serde_json::{Map, Value};

pub use http::{Http, HttpPolicy};
pub(crate) use human::Human;
pub(crate) use llm::{Llm, Tools};
pub(crate) use script::Script;
pub use subgraph::{FileLoader, LoadedSpec, SpecLoader, SpecRef, Subgraph};
pub(crate) use template::Template;
pub(crate) use transform::Transform;

use crate::problem::join;
use crate::registry::ConfigError;
use crate::spec::GraphSpec;

/// An error for every field of `config` not in `allowed`.
pub(crate) fn unknown_fields(kind: &str, config: &Map<String, Value>, allowed: &[&str]) -> Vec<ConfigError> {
    config
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .map(|k| {
            ConfigError::new(
                join("", k),
                format!("unknown field `{k}` of a `{kind}` node; expected {}", allowed.join(", ")),
            )
        })
        .collect()
}

/// A required string field, or the error saying what it should be.
pub(crate) fn required_str<'a>(
    config: &'a Map<String, Value>,
    field: &str,
    what: &str,
) -> Result<&'a str, ConfigError> {
    match config.get(field) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ConfigError::new(join("", field), format!("`{field}` must be a string: {what}"))),
        None => Err(ConfigError::new("", format!("missing field `{field}`: {what}"))),
    }
}

/// An optional string field.
pub(crate) fn optional_str<'a>(config: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, ConfigError> {
    match config.get(field) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ConfigError::new(join("", field), format!("`{field}` must be a string"))),
    }
}

/// `timeout_ms`, a positive integer, when present.
pub(crate) fn timeout_ms(config: &Map<String, Value>) -> Result<Option<Duration>, ConfigError> {
    match config.get("timeout_ms") {
        None => Ok(None),
        Some(v) => match v.as_u64() {
            Some(ms) if ms > 0 => Ok(Some(Duration::from_millis(ms))),
            _ => Err(ConfigError::new("/timeout_ms", format!("`timeout_ms` must be a positive integer, got {v}"))),
        },
    }
}

/// An error unless `key` is a declared state key.
pub(crate) fn state_key(spec: &GraphSpec, pointer: &str, key: &str) -> Option<ConfigError> {
    (!spec.state.contains_key(key))
        .then(|| ConfigError::new(pointer, format!("`{key}` is not a state key; declare it under `state`")))
}

/// Collects the error of a `Result` into `errors`, returning the value if any.
pub(crate) fn collect<T>(result: Result<T, ConfigError>, errors: &mut Vec<ConfigError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}
