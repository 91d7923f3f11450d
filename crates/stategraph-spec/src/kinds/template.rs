//! `template`: renders a [MiniJinja](https://docs.rs/minijinja) template over the state into a
//! state key — prompt building. Undefined variables are errors (strict mode), never empty text.
//!
//! ```yaml
//! - id: prompt
//!   kind: template
//!   config:
//!     template: "Summarise for {{ audience }}:\n{% for d in docs %}- {{ d.title }}\n{% endfor %}"
//!     key: prompt
//! ```
//!
//! State keys are the template's variables (`{{ audience }}`), as in Jinja's `render(**state)`.

use std::sync::Arc;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde_json::{Map, Value};
use stategraph_core::{BoxNode, NodeError, State, sync_node};

use super::{collect, required_str, state_key, unknown_fields};
use crate::problem::Code;
use crate::registry::{ConfigError, KindContext, NodeKind};
use crate::spec::GraphSpec;

pub(crate) const FIELDS: &[&str] = &["template", "key"];

/// Compiled templates sharing one strict environment (also used by `http` for its URL, headers
/// and body).
#[derive(Clone)]
pub(crate) struct Templates {
    env: Arc<Environment<'static>>,
}

/// A template that does not compile: message and 1-based position in the template.
pub(crate) fn syntax_error(source: &str, e: &minijinja::Error) -> String {
    let (line, column) = match e.range() {
        Some(r) => {
            let before = &source[..r.start.min(source.len())];
            (before.matches('\n').count() + 1, before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1)
        }
        None => (e.line().unwrap_or(1), 1),
    };
    format!("template syntax error at line {line}, column {column}: {}", describe(e))
}

/// The error's kind and detail, without MiniJinja's own location suffix.
fn describe(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    }
}

impl Templates {
    /// Compiles `(name, source)` pairs; the error names the failing template.
    pub(crate) fn new<'a>(sources: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, (String, String)> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        for (name, source) in sources {
            env.add_template_owned(name.to_owned(), source.to_owned())
                .map_err(|e| (name.to_owned(), syntax_error(source, &e)))?;
        }
        Ok(Templates { env: Arc::new(env) })
    }

    /// Checks that `source` compiles.
    pub(crate) fn check(source: &str) -> Result<(), String> {
        Self::new([("t", source)]).map(|_| ()).map_err(|(_, m)| m)
    }

    /// Whether a template called `name` was compiled.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.env.get_template(name).is_ok()
    }

    /// Renders template `name` with the state's keys as variables.
    pub(crate) fn render(&self, name: &str, state: &State) -> Result<String, String> {
        let template = self.env.get_template(name).map_err(|e| describe(&e))?;
        template.render(minijinja::Value::from_serialize(state)).map_err(|e| match e.line() {
            Some(line) => format!(" at line {line}: {}", describe(&e)),
            None => format!(": {}", describe(&e)),
        })
    }
}

/// The `template` kind.
pub(crate) struct Template;

impl NodeKind for Template {
    fn info(&self) -> Option<crate::registry::KindInfo> {
        Some(super::info::template_kind())
    }

    fn validate(&self, config: &Map<String, Value>, spec: &GraphSpec) -> Vec<ConfigError> {
        let mut errors = unknown_fields("template", config, FIELDS);
        if let Some(source) = collect(required_str(config, "template", "MiniJinja source"), &mut errors)
            && let Err(m) = Templates::check(source)
        {
            errors.push(ConfigError::new("/template", m).with_code(Code::Script));
        }
        if let Some(key) = collect(required_str(config, "key", "the state key the text is written to"), &mut errors) {
            errors.extend(state_key(spec, "/key", key));
        }
        errors
    }

    fn build(&self, node_id: &str, config: &Map<String, Value>) -> Result<BoxNode, ConfigError> {
        let source = required_str(config, "template", "")?;
        let key: Arc<str> = Arc::from(required_str(config, "key", "")?);
        let templates = Templates::new([("template", source)])
            .map_err(|(_, m)| ConfigError::new("/template", m).with_code(Code::Script))?;
        let node = node_id.to_owned();
        Ok(Arc::new(sync_node(move |state, _ctx| {
            let text = templates.render("template", &state).map_err(|m| {
                NodeError::permanent(format!("template node `{node}` failed{m}")).with_kind("ValueError")
            })?;
            let mut update = stategraph_core::Map::new();
            update.insert(key.clone(), stategraph_core::Value::from(text));
            Ok::<_, NodeError>(stategraph_core::Value::from(update))
        })))
    }

    fn validate_in(&self, config: &Map<String, Value>, cx: &KindContext<'_>) -> Vec<ConfigError> {
        self.validate(config, cx.spec)
    }

    fn python(&self, _node_id: &str, config: &Map<String, Value>) -> Option<Vec<String>> {
        let source = config.get("template")?.as_str()?;
        let key = config.get("key")?.as_str()?;
        Some(vec![
            format!("template = _template({})", crate::python::string(source)),
            format!("return {{{}: template.render(**state)}}", crate::python::string(key)),
        ])
    }
}
