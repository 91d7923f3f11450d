//! `llm`: asks a chat model (from `stategraph-prebuilt`) and writes its answer to a state key;
//! `tools`: runs the tool calls of the last AI message.
//!
//! ```yaml
//! - id: classify
//!   kind: llm
//!   config:
//!     model: default                     # a model the host registered (register_model), or
//!     # model: {model: gpt-4o-mini, base_url: "https://api.openai.com/v1", api_key_env: OPENAI_API_KEY,
//!     #         options: {temperature: 0}}     # any OpenAI-compatible endpoint
//!     # model: {scripted: ["billing", {type: ai, content: "", tool_calls: [...]}]}   # offline
//!     prompt: "Classify this ticket: {{ ticket }}"     # a template → one human message, or a list:
//!     # prompt: [{role: system, content: "You route tickets."}, {role: human, content: "{{ ticket }}"}]
//!     messages: messages                 # optional: a state key holding the conversation
//!     tools: [lookup_order]              # optional: tools the host registered (register_tool)
//!     output: category                   # messages key (reducer add_messages): the AI message is
//!                                        # appended; any other key: the answer's text
//!     streaming: true                    # default: tokens stream in `messages` mode
//! - id: tools
//!   kind: tools
//!   config: {tools: [lookup_order]}      # optional; default every registered tool
//! ```
//!
//! The request is the prompt's system messages, then the conversation of `messages`, then the
//! prompt's other messages. A scripted model answers in order and starts over after its last
//! answer (so a compiled graph can run more than once); text answers stream word by word.
//! `tools` reads and appends to the state key `messages` (LangGraph's `ToolNode`); route to it
//! with a condition such as `{expr: 'if state.messages[-1].tool_calls.len() > 0 { "tools" } else { END }'}`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::FutureExt;
use serde_json::{Map, Value};
use stategraph_core::{BoxNode, NodeContext, NodeError, State};
use stategraph_prebuilt::{
    ChatModel, ChatRequest, Message, OpenAiChat, OpenAiConfig, ScriptedModel, ToolNode, call_model, coerce_message,
    coerce_messages,
};

use super::template::Templates;
use super::{collect, optional_str, required_str, state_key, unknown_fields};
use crate::problem::{Code, join};
use crate::registry::{ConfigError, KindContext, NodeKind};

pub(crate) const FIELDS: &[&str] = &["model", "prompt", "messages", "tools", "output", "streaming"];
const MODEL_FIELDS: &[&str] = &["model", "base_url", "api_key_env", "options", "scripted"];
const ROLES: &[&str] = &["system", "human", "user", "ai", "assistant"];

/// The `llm` kind.
pub(crate) struct Llm;

/// One prompt message: its role and template name.
struct PromptPart {
    role: String,
    template: String,
}

/// The prompt's messages as `(role, template source)`, or the error.
fn prompt(config: &Map<String, Value>) -> Result<Vec<(String, String)>, ConfigError> {
    match config.get("prompt") {
        None => Ok(Vec::new()),
        Some(Value::String(t)) => Ok(vec![("human".into(), t.clone())]),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let at = format!("/prompt/{i}");
                let role = m.get("role").and_then(Value::as_str).unwrap_or("human");
                if !ROLES.contains(&role) {
                    return Err(ConfigError::new(
                        format!("{at}/role"),
                        format!("unknown role `{role}`; expected {}", ROLES.join(", ")),
                    ));
                }
                if let Some(k) = m.as_object().and_then(|o| o.keys().find(|k| *k != "role" && *k != "content")) {
                    return Err(ConfigError::new(join(&at, k), format!("unknown field `{k}`; expected role, content")));
                }
                match m.get("content") {
                    Some(Value::String(t)) => Ok((role.to_owned(), t.clone())),
                    _ => Err(ConfigError::new(at, "a prompt message is {role, content} with content a template")),
                }
            })
            .collect(),
        Some(_) => Err(ConfigError::new("/prompt", "`prompt` must be a template or a list of {role, content}")),
    }
}

fn tool_names(config: &Map<String, Value>) -> Result<Vec<String>, ConfigError> {
    match config.get("tools") {
        None => Ok(Vec::new()),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, t)| {
                t.as_str()
                    .map(String::from)
                    .ok_or_else(|| ConfigError::new(format!("/tools/{i}"), "a tool is named by a string"))
            })
            .collect(),
        Some(_) => Err(ConfigError::new("/tools", "`tools` must be a list of tool names")),
    }
}

fn check_tools(config: &Map<String, Value>, cx: &KindContext<'_>, errors: &mut Vec<ConfigError>) {
    if let Some(names) = collect(tool_names(config), errors) {
        for (i, name) in names.iter().enumerate() {
            if cx.registry.tool(name).is_none() {
                let known: Vec<&str> = cx.registry.tool_names().collect();
                errors.push(ConfigError::new(
                    format!("/tools/{i}"),
                    format!(
                        "no tool `{name}` is registered (the host registers tools; known: {})",
                        if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                    ),
                ));
            }
        }
    }
}

fn check_model(config: &Map<String, Value>, cx: &KindContext<'_>, errors: &mut Vec<ConfigError>) {
    match config.get("model") {
        None => errors.push(ConfigError::new("", "missing field `model`: a registered model's name or a provider")),
        Some(Value::String(name)) => {
            if cx.registry.model(name).is_none() {
                errors.push(ConfigError::new("/model", format!("no model `{name}` is registered by the host")));
            }
        }
        Some(Value::Object(m)) => {
            for k in m.keys().filter(|k| !MODEL_FIELDS.contains(&k.as_str())) {
                errors.push(ConfigError::new(
                    join("/model", k),
                    format!("unknown field `{k}` of a model; expected {}", MODEL_FIELDS.join(", ")),
                ));
            }
            match m.get("scripted") {
                Some(Value::Array(answers)) if !answers.is_empty() => {
                    for (i, a) in answers.iter().enumerate() {
                        if let Err(e) = scripted_answer(a) {
                            errors.push(ConfigError::new(format!("/model/scripted/{i}"), e));
                        }
                    }
                }
                Some(_) => errors.push(ConfigError::new("/model/scripted", "`scripted` must be a non-empty list")),
                None => {
                    if !m.get("model").is_some_and(Value::is_string) {
                        errors.push(ConfigError::new("/model", "a provider needs `model` (the model's name)"));
                    }
                    for k in ["base_url", "api_key_env"] {
                        if m.get(k).is_some_and(|v| !v.is_string()) {
                            errors.push(ConfigError::new(join("/model", k), format!("`{k}` must be a string")));
                        }
                    }
                    if m.get("options").is_some_and(|v| !v.is_object()) {
                        errors.push(ConfigError::new("/model/options", "`options` must be an object"));
                    }
                }
            }
        }
        Some(_) => errors.push(ConfigError::new("/model", "`model` must be a registered model's name or an object")),
    }
}

/// A scripted answer: text, or a message in LangChain's shape.
fn scripted_answer(answer: &Value) -> Result<Message, String> {
    match answer {
        Value::String(text) => Ok(Message::ai(text.as_str())),
        other => coerce_message(&other.into()).map_err(|e| format!("not a message: {e}")),
    }
}

/// The model a config names.
fn model(config: &Map<String, Value>, cx: &KindContext<'_>) -> Result<Arc<dyn ChatModel>, ConfigError> {
    match config.get("model") {
        Some(Value::String(name)) => cx
            .registry
            .model(name)
            .cloned()
            .ok_or_else(|| ConfigError::new("/model", format!("no model `{name}` is registered"))),
        Some(Value::Object(m)) => {
            if let Some(Value::Array(answers)) = m.get("scripted") {
                let answers: Vec<Message> = answers
                    .iter()
                    .map(scripted_answer)
                    .collect::<Result<_, _>>()
                    .map_err(|e| ConfigError::new("/model/scripted", e))?;
                let next = AtomicUsize::new(0);
                return Ok(Arc::new(ScriptedModel::from_fn(move |_request| {
                    Ok(answers[next.fetch_add(1, Ordering::Relaxed) % answers.len()].clone())
                })));
            }
            let name = m.get("model").and_then(Value::as_str).unwrap_or_default();
            let mut settings = OpenAiConfig::new(name);
            if let Some(url) = m.get("base_url").and_then(Value::as_str) {
                settings = settings.base_url(url);
            }
            if let Some(var) = m.get("api_key_env").and_then(Value::as_str) {
                let key = std::env::var(var).map_err(|_| {
                    ConfigError::new("/model/api_key_env", format!("the environment variable `{var}` is not set"))
                })?;
                settings = settings.api_key(key);
            }
            if let Some(Value::Object(options)) = m.get("options") {
                for (k, v) in options {
                    settings = settings.option(k, v.clone());
                }
            }
            let client = OpenAiChat::new(settings).map_err(|e| ConfigError::new("/model", e.to_string()))?;
            Ok(Arc::new(client))
        }
        _ => Err(ConfigError::new("/model", "`model` must be a registered model's name or an object")),
    }
}

/// Whether a state key holds a conversation (reduced by `add_messages`).
fn is_messages_key(cx: &KindContext<'_>, key: &str) -> bool {
    cx.spec.state.get(key).and_then(|s| s.reducer.as_deref()) == Some("add_messages")
}

impl NodeKind for Llm {
    fn info(&self) -> Option<crate::registry::KindInfo> {
        Some(super::info::llm())
    }

    fn validate(&self, _config: &Map<String, Value>, _spec: &crate::spec::GraphSpec) -> Vec<ConfigError> {
        // Needs the registry's models and tools: see validate_in.
        Vec::new()
    }

    fn build(&self, _node_id: &str, _config: &Map<String, Value>) -> Result<BoxNode, ConfigError> {
        Err(ConfigError::new("", "an `llm` node is built with its registry (build_in)"))
    }

    fn validate_in(&self, config: &Map<String, Value>, cx: &KindContext<'_>) -> Vec<ConfigError> {
        let mut errors = unknown_fields("llm", config, FIELDS);
        check_model(config, cx, &mut errors);
        if let Some(parts) = collect(prompt(config), &mut errors) {
            for (i, (_, source)) in parts.iter().enumerate() {
                if let Err(m) = Templates::check(source) {
                    let at = if config.get("prompt").is_some_and(Value::is_string) {
                        "/prompt".to_owned()
                    } else {
                        format!("/prompt/{i}/content")
                    };
                    errors.push(ConfigError::new(at, m).with_code(Code::Script));
                }
            }
            if parts.is_empty() && !config.contains_key("messages") {
                errors.push(ConfigError::new("", "nothing to send: set `prompt`, `messages` or both"));
            }
        }
        if let Some(Some(key)) = collect(optional_str(config, "messages"), &mut errors) {
            errors.extend(state_key(cx.spec, "/messages", key));
        }
        check_tools(config, cx, &mut errors);
        if let Some(key) = collect(required_str(config, "output", "the state key the answer goes to"), &mut errors) {
            errors.extend(state_key(cx.spec, "/output", key));
        }
        if config.get("streaming").is_some_and(|v| !v.is_boolean()) {
            errors.push(ConfigError::new("/streaming", "`streaming` must be true or false"));
        }
        errors
    }

    fn build_in(
        &self,
        node_id: &str,
        config: &Map<String, Value>,
        cx: &KindContext<'_>,
    ) -> Result<BoxNode, ConfigError> {
        let model = model(config, cx)?;
        let sources = prompt(config)?;
        let parts: Vec<PromptPart> = sources
            .iter()
            .enumerate()
            .map(|(i, (role, _))| PromptPart { role: role.clone(), template: format!("prompt{i}") })
            .collect();
        let templates =
            Templates::new(sources.iter().enumerate().map(|(i, (_, s))| (parts[i].template.as_str(), s.as_str())))
                .map_err(|(_, m)| ConfigError::new("/prompt", m).with_code(Code::Script))?;
        let tools = tool_names(config)?
            .iter()
            .map(|n| {
                cx.registry
                    .tool(n)
                    .map(|t| t.spec())
                    .ok_or_else(|| ConfigError::new("/tools", format!("no tool `{n}`")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let history = optional_str(config, "messages")?.map(String::from);
        let output = required_str(config, "output", "")?.to_owned();
        let as_message = is_messages_key(cx, &output);
        let streaming = config.get("streaming").and_then(Value::as_bool).unwrap_or(true);
        let shared = Arc::new((parts, templates, tools, history, output));
        let node: Arc<str> = Arc::from(node_id);
        Ok(Arc::new(move |state: State, ctx: NodeContext| {
            let (shared, model, node) = (shared.clone(), model.clone(), node.clone());
            async move {
                let (parts, templates, tools, history, output) = &*shared;
                let fail = |m: String| NodeError::new(format!("llm node `{node}`: {m}")).with_kind("ValueError");
                let mut system = Vec::new();
                let mut rest = Vec::new();
                for part in parts {
                    let text = templates
                        .render(&part.template, &state)
                        .map_err(|m| fail(format!("rendering the prompt failed{m}")).with_retryable(false))?;
                    match part.role.as_str() {
                        "system" => system.push(Message::system(text)),
                        "ai" | "assistant" => rest.push(Message::ai(text)),
                        _ => rest.push(Message::human(text)),
                    }
                }
                let mut messages = system;
                if let Some(key) = history
                    && let Some(v) = state.get(key)
                {
                    messages
                        .extend(coerce_messages(v).map_err(|e| fail(format!("`{key}` is not a conversation: {e}")))?);
                }
                messages.extend(rest);
                let mut request = ChatRequest::new(messages);
                request.tools = tools.clone();
                let answer =
                    if streaming { call_model(&model, request, &ctx).await } else { model.generate(request).await };
                let answer = answer.map_err(|e| {
                    let retryable = e.is_retryable();
                    fail(format!("the model failed: {e}")).with_retryable(retryable)
                })?;
                let value = if as_message {
                    stategraph_core::Value::from(vec![answer.into_value()])
                } else {
                    stategraph_core::Value::from(answer.text())
                };
                let mut update = stategraph_core::Map::new();
                update.insert(Arc::from(output.as_str()), value);
                Ok::<_, NodeError>(stategraph_core::Value::from(update))
            }
            .boxed()
        }))
    }
}

/// The `tools` kind.
pub(crate) struct Tools;

impl NodeKind for Tools {
    fn info(&self) -> Option<crate::registry::KindInfo> {
        Some(super::info::tools())
    }

    fn validate(&self, _config: &Map<String, Value>, _spec: &crate::spec::GraphSpec) -> Vec<ConfigError> {
        Vec::new()
    }

    fn build(&self, _node_id: &str, _config: &Map<String, Value>) -> Result<BoxNode, ConfigError> {
        Err(ConfigError::new("", "a `tools` node is built with its registry (build_in)"))
    }

    fn validate_in(&self, config: &Map<String, Value>, cx: &KindContext<'_>) -> Vec<ConfigError> {
        let mut errors = unknown_fields("tools", config, &["tools"]);
        check_tools(config, cx, &mut errors);
        if !is_messages_key(cx, "messages") {
            errors.push(ConfigError::new(
                "",
                "a `tools` node reads and appends to state key `messages`: declare it with reducer add_messages",
            ));
        }
        errors
    }

    fn build_in(
        &self,
        _node_id: &str,
        config: &Map<String, Value>,
        cx: &KindContext<'_>,
    ) -> Result<BoxNode, ConfigError> {
        let names = tool_names(config)?;
        let tools = if names.is_empty() {
            cx.registry.tool_names().filter_map(|n| cx.registry.tool(n).cloned()).collect()
        } else {
            names
                .iter()
                .map(|n| {
                    cx.registry.tool(n).cloned().ok_or_else(|| ConfigError::new("/tools", format!("no tool `{n}`")))
                })
                .collect::<Result<Vec<_>, _>>()?
        };
        Ok(Arc::new(ToolNode::new(tools)))
    }
}
