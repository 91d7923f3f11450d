//! How the built-in kinds present themselves to the studio ([`KindInfo`]): a title, a one-line
//! description and the JSON Schema of the config, from which the studio's inspector builds its
//! forms. Each schema lists exactly the fields the kind's `validate` accepts (a test checks it
//! against the kinds' own field lists), so a form never offers a field the kind then rejects.
//!
//! The schemas describe the shape; the kinds still do the real checking (state keys exist,
//! scripts compile, models are registered), which a JSON Schema cannot express.

use serde_json::{Value, json};

use crate::registry::KindInfo;

fn info(title: &str, description: &str, config_schema: Value) -> KindInfo {
    KindInfo { title: title.to_owned(), description: description.to_owned(), config_schema }
}

/// `timeout_ms`, shared by several kinds.
fn timeout() -> Value {
    json!({"type": "integer", "minimum": 1, "description": "Time limit in milliseconds (at most the host's limit)."})
}

/// A state key name (the studio offers the declared keys).
fn state_key(description: &str) -> Value {
    json!({"type": "string", "minLength": 1, "description": description, "x-stategraph": "state-key"})
}

/// A template (the studio shows a code editor for it).
fn template(description: &str) -> Value {
    json!({"type": "string", "description": description, "x-stategraph": "template"})
}

pub(crate) fn passthrough() -> KindInfo {
    info(
        "Passthrough",
        "Does nothing and returns no update: a junction point.",
        json!({"type": "object", "properties": {}, "additionalProperties": false}),
    )
}

pub(crate) fn set() -> KindInfo {
    info(
        "Set values",
        "Writes fixed values to state keys every time it runs.",
        json!({
            "type": "object",
            "properties": {
                "update": {
                    "type": "object",
                    "description": "State key → the value written to it.",
                    "additionalProperties": true,
                    "x-stategraph": "state-key-map"
                }
            },
            "required": ["update"],
            "additionalProperties": false
        }),
    )
}

pub(crate) fn script() -> KindInfo {
    info(
        "Script",
        "A Rhai snippet that reads `state` and returns a map of state key → new value.",
        json!({
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "Rhai code; `state` is the current state.", "x-stategraph": "rhai"},
                "timeout_ms": timeout()
            },
            "required": ["code"],
            "additionalProperties": false
        }),
    )
}

pub(crate) fn transform() -> KindInfo {
    info(
        "Transform",
        "Each listed state key gets the value of a Rhai expression over `state`.",
        json!({
            "type": "object",
            "properties": {
                "update": {
                    "type": "object",
                    "description": "State key → Rhai expression (all read the state as it was when the node started).",
                    "additionalProperties": {"type": "string", "x-stategraph": "rhai"},
                    "x-stategraph": "state-key-map"
                },
                "timeout_ms": timeout()
            },
            "required": ["update"],
            "additionalProperties": false
        }),
    )
}

pub(crate) fn template_kind() -> KindInfo {
    info(
        "Template",
        "Renders a MiniJinja template over the state into a state key (prompt building).",
        json!({
            "type": "object",
            "properties": {
                "template": template("MiniJinja source; state keys are its variables."),
                "key": state_key("The state key the text is written to.")
            },
            "required": ["template", "key"],
            "additionalProperties": false
        }),
    )
}

pub(crate) fn http() -> KindInfo {
    info(
        "HTTP request",
        "One HTTP request with templated URL, headers and body; the JSON response goes to a state key. \
         Hosts are denied unless the host application allows them.",
        json!({
            "type": "object",
            "properties": {
                "method": {"type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE"], "default": "GET"},
                "url": template("The URL, a template."),
                "headers": {
                    "type": "object",
                    "description": "Header name → value (a template).",
                    "additionalProperties": {"type": "string"}
                },
                "body": template("Sent as is (JSON content type unless a header says otherwise), a template."),
                "timeout_ms": timeout(),
                "key": state_key("The state key receiving the parsed JSON response.")
            },
            "required": ["url", "key"],
            "additionalProperties": false
        }),
    )
}

pub(crate) fn subgraph() -> KindInfo {
    info(
        "Subgraph",
        "Another spec, compiled with the same kinds and run as one node.",
        json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "A spec file, relative to this spec's file."},
                "id": {"type": "string", "description": "A spec the host resolves by id."}
            },
            "oneOf": [{"required": ["path"]}, {"required": ["id"]}],
            "additionalProperties": false
        }),
    )
}

pub(crate) fn human() -> KindInfo {
    let flag = json!({"type": "boolean", "default": false});
    info(
        "Human",
        "Pauses the run with a question for a person (Agent Inbox) and checks the answer before using it.",
        json!({
            "type": "object",
            "properties": {
                "action": template("What is asked (a template)."),
                "description": template("Shown to the person (a template)."),
                "allow": {
                    "type": "object",
                    "description": "Which answers are allowed (at least one).",
                    "properties": {"accept": flag, "edit": flag, "respond": flag, "ignore": flag},
                    "additionalProperties": false
                },
                "args": {
                    "description": "The action's arguments: a state key holding an object, or name → template or literal.",
                    "anyOf": [{"type": "string"}, {"type": "object"}]
                },
                "args_schema": {"type": "object", "description": "JSON Schema the (edited) args must match."},
                "response_schema": {"type": "object", "description": "JSON Schema a `response` answer must match."},
                "output": state_key("Receives {type, args} of the answer."),
                "edit_key": state_key("Edited args replace this key (default: `args` when it is a key)."),
                "routes": {
                    "type": "object",
                    "description": "Answer type → the node to go to (`__end__` ends the branch).",
                    "properties": {
                        "accept": {"type": "string"}, "edit": {"type": "string"},
                        "respond": {"type": "string"}, "ignore": {"type": "string"}
                    },
                    "additionalProperties": false
                }
            },
            "required": ["action", "allow"],
            "additionalProperties": false
        }),
    )
}

pub(crate) fn llm() -> KindInfo {
    let message = json!({
        "type": "object",
        "properties": {
            "role": {"type": "string", "enum": ["system", "human", "user", "ai", "assistant"], "default": "human"},
            "content": template("The message text (a template).")
        },
        "required": ["content"],
        "additionalProperties": false
    });
    info(
        "LLM",
        "Asks a chat model and writes its answer to a state key.",
        json!({
            "type": "object",
            "properties": {
                "model": {
                    "description": "A model the host registered (its name), or an OpenAI-compatible endpoint, or scripted answers.",
                    "anyOf": [
                        {"type": "string"},
                        {
                            "type": "object",
                            "properties": {
                                "model": {"type": "string"},
                                "base_url": {"type": "string"},
                                "api_key_env": {"type": "string", "description": "The environment variable holding the key."},
                                "options": {"type": "object"},
                                "scripted": {"type": "array", "minItems": 1}
                            },
                            "additionalProperties": false
                        }
                    ]
                },
                "prompt": {
                    "description": "A template (one human message) or a list of messages.",
                    "anyOf": [template("One human message."), {"type": "array", "items": message}]
                },
                "messages": state_key("A state key holding the conversation."),
                "tools": {"type": "array", "items": {"type": "string"}, "description": "Tools the host registered."},
                "output": state_key("A messages key gets the AI message appended; any other key the answer's text."),
                "streaming": {"type": "boolean", "default": true}
            },
            "required": ["model", "output"],
            "additionalProperties": false
        }),
    )
}

pub(crate) fn tools() -> KindInfo {
    info(
        "Tools",
        "Runs the tool calls of the last AI message in `messages` (LangGraph's ToolNode).",
        json!({
            "type": "object",
            "properties": {
                "tools": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "The tools it may run (default: every registered tool)."
                }
            },
            "additionalProperties": false
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::NodeKindRegistry;

    /// The fields each built-in kind accepts, as its `validate` lists them.
    fn accepted(kind: &str) -> &'static [&'static str] {
        match kind {
            "passthrough" => &[],
            "set" => &["update"],
            "script" => crate::kinds::script::FIELDS,
            "transform" => crate::kinds::transform::FIELDS,
            "template" => crate::kinds::template::FIELDS,
            "http" => crate::kinds::http::FIELDS,
            "subgraph" => &["path", "id"],
            "human" => crate::kinds::human::FIELDS,
            "llm" => crate::kinds::llm::FIELDS,
            "tools" => &["tools"],
            other => panic!("no field list for kind `{other}`"),
        }
    }

    #[test]
    fn every_builtin_kind_describes_exactly_the_fields_it_accepts() {
        let registry = NodeKindRegistry::with_builtins();
        let infos: Vec<_> = registry.kind_infos().collect();
        assert_eq!(infos.len(), registry.names().count());
        assert!(infos.len() >= 10);
        for (name, info) in infos {
            assert!(!info.title.is_empty() && !info.description.is_empty(), "{name}");
            let schema = &info.config_schema;
            assert_eq!(schema["type"], "object", "{name}");
            assert_eq!(schema["additionalProperties"], false, "{name}: unknown fields are rejected by the kind");
            let mut props: Vec<&str> = schema["properties"].as_object().unwrap().keys().map(String::as_str).collect();
            let mut fields = accepted(name).to_vec();
            props.sort_unstable();
            fields.sort_unstable();
            assert_eq!(props, fields, "{name}: schema properties differ from the fields the kind accepts");
            for req in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
                assert!(props.contains(&req.as_str().unwrap()), "{name}: required {req} is not a property");
            }
        }
    }

    #[test]
    fn required_fields_are_the_ones_the_kind_misses() {
        // A config with none of the fields: the kind must complain about each required field.
        let registry = NodeKindRegistry::with_builtins();
        let spec = crate::spec::GraphSpec::new("g");
        for (name, info) in registry.kind_infos() {
            let Some(required) = info.config_schema.get("required").and_then(Value::as_array) else { continue };
            let limits = crate::problem::Limits::default();
            let cx = crate::registry::KindContext {
                spec: &spec,
                registry: &registry,
                limits: &limits,
                path: None,
                stack: &[],
            };
            let errors = registry.get(name).unwrap().validate_in(&serde_json::Map::new(), &cx);
            for req in required {
                let req = req.as_str().unwrap();
                assert!(
                    errors.iter().any(|e| e.message.contains(&format!("`{req}`"))),
                    "{name}: required `{req}` but an empty config gives {errors:?}"
                );
            }
        }
    }

    #[test]
    fn a_host_kind_without_info_gets_an_open_object_schema() {
        struct Bare;
        impl crate::registry::NodeKind for Bare {
            fn validate(
                &self,
                _: &serde_json::Map<String, Value>,
                _: &crate::spec::GraphSpec,
            ) -> Vec<crate::registry::ConfigError> {
                Vec::new()
            }
            fn build(
                &self,
                _: &str,
                _: &serde_json::Map<String, Value>,
            ) -> Result<stategraph_core::BoxNode, crate::registry::ConfigError> {
                Err(crate::registry::ConfigError::new("", "not built in this test"))
            }
        }
        let mut registry = NodeKindRegistry::empty();
        registry.register("bare", Bare);
        let (name, info) = registry.kind_infos().next().unwrap();
        assert_eq!(name, "bare");
        assert_eq!(info.title, "bare");
        assert_eq!(info.config_schema, json!({"type": "object"}));
    }
}
