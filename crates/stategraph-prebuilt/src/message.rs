//! Chat messages in LangChain's shape: system, human, AI (with tool calls and token usage), tool
//! results, and remove markers.
//!
//! A [`Message`] converts to and from a [`Value`] shaped like LangChain's `message.model_dump()`
//! (`{"content", "additional_kwargs", "response_metadata", "type", "name", "id", ...}`), which is
//! how messages live in graph state, so states round-trip between Stategraph and LangGraph tools.
//! [`Message::from_value`] also accepts LangChain's shorthand forms (see [`coerce_message`]).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use stategraph_core::{Map, Value};

use crate::error::{Error, Result};

/// The `id` of a [`Message::remove_all`] marker (LangGraph's `REMOVE_ALL_MESSAGES`).
pub const REMOVE_ALL_MESSAGES: &str = "__remove_all__";

/// What a message holds: text, or a list of content parts (`{"type": "text", "text": ...}`,
/// images, ...), kept as they are.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Content parts (strings or objects), as the provider sent them.
    Parts(Vec<Value>),
}

impl Default for Content {
    fn default() -> Self {
        Content::Text(String::new())
    }
}

impl Content {
    /// The text: the string itself, or the text parts (`"..."` and `{"type": "text", "text": ...}`)
    /// joined without separator (LangChain's `message.text`).
    ///
    /// ```
    /// use stategraph_prebuilt::Content;
    /// let parts = Content::Parts(vec![serde_json::json!({"type": "text", "text": "hi"}).into()]);
    /// assert_eq!(parts.text(), "hi");
    /// ```
    pub fn text(&self) -> String {
        match self {
            Content::Text(s) => s.clone(),
            Content::Parts(parts) => parts
                .iter()
                .filter_map(|p| match p {
                    Value::String(s) => Some(s.as_str()),
                    Value::Object(_) if p["type"] == "text" => p["text"].as_str(),
                    _ => None,
                })
                .collect(),
        }
    }

    /// Whether there is no content (an empty string or no parts).
    pub fn is_empty(&self) -> bool {
        match self {
            Content::Text(s) => s.is_empty(),
            Content::Parts(p) => p.is_empty(),
        }
    }

    /// The content as a value (a string or a list).
    pub fn to_value(&self) -> Value {
        match self {
            Content::Text(s) => Value::from(s.as_str()),
            Content::Parts(p) => Value::from(p.clone()),
        }
    }

    fn from_value(v: &Value) -> Option<Content> {
        match v {
            Value::String(s) => Some(Content::Text(s.to_string())),
            Value::Array(a) => Some(Content::Parts(a.to_vec())),
            _ => None,
        }
    }
}

impl From<&str> for Content {
    fn from(s: &str) -> Self {
        Content::Text(s.to_owned())
    }
}
impl From<String> for Content {
    fn from(s: String) -> Self {
        Content::Text(s)
    }
}

/// A tool call requested by the model (LangChain's `ToolCall`).
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// The tool's name.
    pub name: String,
    /// The arguments (an object).
    pub args: Value,
    /// The provider's id of the call; the tool's answer names it in `tool_call_id`.
    pub id: Option<String>,
}

impl ToolCall {
    /// A tool call.
    ///
    /// ```
    /// use stategraph_prebuilt::ToolCall;
    /// let call = ToolCall::new("add", serde_json::json!({"a": 1}), "call_1");
    /// assert_eq!(call.id.as_deref(), Some("call_1"));
    /// ```
    pub fn new(name: impl Into<String>, args: impl Into<Value>, id: impl Into<String>) -> Self {
        ToolCall { name: name.into(), args: args.into(), id: Some(id.into()) }
    }

    /// `{"name", "args", "id", "type": "tool_call"}`.
    pub fn to_value(&self) -> Value {
        let mut m = Map::with_capacity(4);
        m.insert("name".into(), Value::from(self.name.as_str()));
        m.insert("args".into(), self.args.clone());
        m.insert("id".into(), Value::from(self.id.clone()));
        m.insert("type".into(), Value::from("tool_call"));
        Value::from(m)
    }

    fn from_value(v: &Value) -> Result<ToolCall> {
        let name = v["name"].as_str().ok_or_else(|| Error::InvalidMessage(format!("tool call without a name: {v}")))?;
        let args = match &v["args"] {
            Value::Null => Value::object(),
            a => a.clone(),
        };
        Ok(ToolCall { name: name.to_owned(), args, id: v["id"].as_str().map(str::to_owned) })
    }
}

/// A tool call the model produced but that could not be parsed (LangChain's `InvalidToolCall`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InvalidToolCall {
    /// The tool's name, if known.
    pub name: Option<String>,
    /// The raw argument text.
    pub args: Option<String>,
    /// The call id, if known.
    pub id: Option<String>,
    /// Why it is invalid.
    pub error: Option<String>,
}

impl InvalidToolCall {
    /// `{"name", "args", "id", "error", "type": "invalid_tool_call"}`.
    pub fn to_value(&self) -> Value {
        let mut m = Map::with_capacity(5);
        m.insert("name".into(), Value::from(self.name.clone()));
        m.insert("args".into(), Value::from(self.args.clone()));
        m.insert("id".into(), Value::from(self.id.clone()));
        m.insert("error".into(), Value::from(self.error.clone()));
        m.insert("type".into(), Value::from("invalid_tool_call"));
        Value::from(m)
    }

    fn from_value(v: &Value) -> InvalidToolCall {
        let s = |k: &str| v[k].as_str().map(str::to_owned);
        InvalidToolCall { name: s("name"), args: s("args"), id: s("id"), error: s("error") }
    }
}

/// Token counts reported by the provider (LangChain's `UsageMetadata`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UsageMetadata {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// Their sum, as the provider reports it.
    pub total_tokens: u64,
    /// Other fields (`input_token_details`, `output_token_details`, ...), kept as they are.
    pub details: Map,
}

impl UsageMetadata {
    /// Usage with these counts; the total is their sum.
    pub fn new(input_tokens: u64, output_tokens: u64) -> Self {
        UsageMetadata { input_tokens, output_tokens, total_tokens: input_tokens + output_tokens, details: Map::new() }
    }

    /// The object LangChain writes.
    pub fn to_value(&self) -> Value {
        let mut m = Map::with_capacity(3 + self.details.len());
        m.insert("input_tokens".into(), Value::from(self.input_tokens));
        m.insert("output_tokens".into(), Value::from(self.output_tokens));
        m.insert("total_tokens".into(), Value::from(self.total_tokens));
        for (k, v) in &self.details {
            m.insert(k.clone(), v.clone());
        }
        Value::from(m)
    }

    fn from_value(v: &Value) -> Option<UsageMetadata> {
        let m = v.as_object()?;
        let n = |k: &str| m.get(k).and_then(Value::as_u64).unwrap_or(0);
        let details = m
            .iter()
            .filter(|(k, _)| !matches!(&***k, "input_tokens" | "output_tokens" | "total_tokens"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Some(UsageMetadata {
            input_tokens: n("input_tokens"),
            output_tokens: n("output_tokens"),
            total_tokens: n("total_tokens"),
            details,
        })
    }

    /// Adds another usage (for merged or streamed messages).
    pub fn add(&mut self, other: &UsageMetadata) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.total_tokens += other.total_tokens;
    }
}

/// Whether a tool ran successfully.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ToolStatus {
    /// It did.
    #[default]
    Success,
    /// It failed; the content says why.
    Error,
}

impl ToolStatus {
    /// `"success"` or `"error"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ToolStatus::Success => "success",
            ToolStatus::Error => "error",
        }
    }
}

/// The fields only AI messages have.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AiFields {
    /// Tools the model asks to run.
    pub tool_calls: Vec<ToolCall>,
    /// Tool calls whose arguments could not be parsed.
    pub invalid_tool_calls: Vec<InvalidToolCall>,
    /// Token usage, when the provider reported it.
    pub usage_metadata: Option<UsageMetadata>,
}

/// The fields only tool messages have.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ToolFields {
    /// The id of the tool call this answers.
    pub tool_call_id: String,
    /// Whether the tool succeeded.
    pub status: ToolStatus,
    /// Output of the tool that is not sent to the model.
    pub artifact: Value,
}

/// Which kind of message this is, with the fields of that kind.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Kind {
    /// Instructions for the model (`"system"`).
    System,
    /// The user's turn (`"human"`).
    Human,
    /// The model's turn (`"ai"`).
    Ai(AiFields),
    /// A tool's result (`"tool"`).
    Tool(ToolFields),
    /// A marker that deletes the message with the same id when reduced by
    /// [`add_messages`](crate::add_messages) (`"remove"`).
    Remove,
}

/// A chat message (LangChain's `BaseMessage` subclasses in one type).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The content.
    pub content: Content,
    /// The message id; [`add_messages`](crate::add_messages) assigns one when absent.
    pub id: Option<String>,
    /// An optional name of the speaker (or tool).
    pub name: Option<String>,
    /// Provider-specific fields.
    pub additional_kwargs: Map,
    /// Response metadata (model name, finish reason, ...).
    pub response_metadata: Map,
    /// Other top-level fields, kept so that the message round-trips (e.g. LangChain's `example`).
    pub extra: Map,
    /// The kind and its own fields.
    pub kind: Kind,
}

impl Message {
    fn of(kind: Kind, content: impl Into<Content>) -> Message {
        Message {
            content: content.into(),
            id: None,
            name: None,
            additional_kwargs: Map::new(),
            response_metadata: Map::new(),
            extra: Map::new(),
            kind,
        }
    }

    /// A system message.
    ///
    /// ```
    /// use stategraph_prebuilt::Message;
    /// assert_eq!(Message::system("be brief").type_name(), "system");
    /// ```
    pub fn system(content: impl Into<Content>) -> Message {
        Message::of(Kind::System, content)
    }

    /// A human (user) message.
    ///
    /// ```
    /// use stategraph_prebuilt::Message;
    /// assert_eq!(Message::human("hi").text(), "hi");
    /// ```
    pub fn human(content: impl Into<Content>) -> Message {
        Message::of(Kind::Human, content)
    }

    /// An AI message without tool calls.
    ///
    /// ```
    /// use stategraph_prebuilt::Message;
    /// assert!(!Message::ai("hello").has_tool_calls());
    /// ```
    pub fn ai(content: impl Into<Content>) -> Message {
        Message::of(Kind::Ai(AiFields::default()), content)
    }

    /// An AI message asking for tool calls.
    ///
    /// ```
    /// use stategraph_prebuilt::{Message, ToolCall};
    /// let m = Message::ai_with_tool_calls("", vec![ToolCall::new("add", serde_json::json!({}), "c1")]);
    /// assert_eq!(m.tool_calls().len(), 1);
    /// ```
    pub fn ai_with_tool_calls(content: impl Into<Content>, tool_calls: Vec<ToolCall>) -> Message {
        Message::of(Kind::Ai(AiFields { tool_calls, ..AiFields::default() }), content)
    }

    /// A successful tool result answering the call `tool_call_id`.
    ///
    /// ```
    /// use stategraph_prebuilt::Message;
    /// assert_eq!(Message::tool("3", "c1").tool_call_id(), Some("c1"));
    /// ```
    pub fn tool(content: impl Into<Content>, tool_call_id: impl Into<String>) -> Message {
        Message::of(
            Kind::Tool(ToolFields {
                tool_call_id: tool_call_id.into(),
                status: ToolStatus::Success,
                artifact: Value::Null,
            }),
            content,
        )
    }

    /// A failed tool result (status `"error"`).
    ///
    /// ```
    /// use stategraph_prebuilt::{Message, ToolStatus};
    /// assert_eq!(Message::tool_error("boom", "c1").tool_status(), Some(ToolStatus::Error));
    /// ```
    pub fn tool_error(content: impl Into<Content>, tool_call_id: impl Into<String>) -> Message {
        let mut m = Message::tool(content, tool_call_id);
        if let Kind::Tool(t) = &mut m.kind {
            t.status = ToolStatus::Error;
        }
        m
    }

    /// A marker removing the message with this id (LangChain's `RemoveMessage`).
    ///
    /// ```
    /// use stategraph_prebuilt::Message;
    /// assert_eq!(Message::remove("m1").id.as_deref(), Some("m1"));
    /// ```
    pub fn remove(id: impl Into<String>) -> Message {
        Message::of(Kind::Remove, "").with_id(id)
    }

    /// A marker removing every message before it (`RemoveMessage(id=REMOVE_ALL_MESSAGES)`).
    ///
    /// ```
    /// use stategraph_prebuilt::{Message, REMOVE_ALL_MESSAGES};
    /// assert_eq!(Message::remove_all().id.as_deref(), Some(REMOVE_ALL_MESSAGES));
    /// ```
    pub fn remove_all() -> Message {
        Message::remove(REMOVE_ALL_MESSAGES)
    }

    /// Sets the id.
    pub fn with_id(mut self, id: impl Into<String>) -> Message {
        self.id = Some(id.into());
        self
    }

    /// Sets the name.
    pub fn with_name(mut self, name: impl Into<String>) -> Message {
        self.name = Some(name.into());
        self
    }

    /// Sets the token usage (AI messages only; ignored otherwise).
    pub fn with_usage(mut self, usage: UsageMetadata) -> Message {
        if let Kind::Ai(ai) = &mut self.kind {
            ai.usage_metadata = Some(usage);
        }
        self
    }

    /// LangChain's type name: `"system"`, `"human"`, `"ai"`, `"tool"` or `"remove"`.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::System => "system",
            Kind::Human => "human",
            Kind::Ai(_) => "ai",
            Kind::Tool(_) => "tool",
            Kind::Remove => "remove",
        }
    }

    /// The text of the content (see [`Content::text`]).
    pub fn text(&self) -> String {
        self.content.text()
    }

    /// The tool calls of an AI message (empty for other kinds).
    pub fn tool_calls(&self) -> &[ToolCall] {
        match &self.kind {
            Kind::Ai(ai) => &ai.tool_calls,
            _ => &[],
        }
    }

    /// Whether this is an AI message with at least one tool call.
    pub fn has_tool_calls(&self) -> bool {
        !self.tool_calls().is_empty()
    }

    /// The call a tool message answers.
    pub fn tool_call_id(&self) -> Option<&str> {
        match &self.kind {
            Kind::Tool(t) => Some(&t.tool_call_id),
            _ => None,
        }
    }

    /// The status of a tool message.
    pub fn tool_status(&self) -> Option<ToolStatus> {
        match &self.kind {
            Kind::Tool(t) => Some(t.status),
            _ => None,
        }
    }

    /// The token usage of an AI message.
    pub fn usage(&self) -> Option<&UsageMetadata> {
        match &self.kind {
            Kind::Ai(ai) => ai.usage_metadata.as_ref(),
            _ => None,
        }
    }

    /// The message in LangChain's dict shape (`model_dump()`), with fields in LangChain's order.
    pub fn to_value(&self) -> Value {
        self.clone().into_value()
    }

    /// Like [`to_value`](Self::to_value), moving the content instead of copying it.
    pub fn into_value(self) -> Value {
        let mut m = Map::with_capacity(12);
        m.insert(
            "content".into(),
            match self.content {
                Content::Text(s) => Value::from(s),
                Content::Parts(p) => Value::from(p),
            },
        );
        m.insert("additional_kwargs".into(), Value::from(self.additional_kwargs));
        m.insert("response_metadata".into(), Value::from(self.response_metadata));
        m.insert("type".into(), Value::from(type_name(&self.kind)));
        m.insert("name".into(), Value::from(self.name));
        m.insert("id".into(), Value::from(self.id));
        match self.kind {
            Kind::Ai(ai) => {
                m.insert("tool_calls".into(), ai.tool_calls.iter().map(ToolCall::to_value).collect());
                m.insert(
                    "invalid_tool_calls".into(),
                    ai.invalid_tool_calls.iter().map(InvalidToolCall::to_value).collect(),
                );
                m.insert("usage_metadata".into(), ai.usage_metadata.as_ref().map(UsageMetadata::to_value).into());
            }
            Kind::Tool(t) => {
                m.insert("tool_call_id".into(), Value::from(t.tool_call_id));
                m.insert("artifact".into(), t.artifact);
                m.insert("status".into(), Value::from(t.status.as_str()));
            }
            Kind::System | Kind::Human | Kind::Remove => {}
        }
        for (k, v) in self.extra {
            m.entry(k).or_insert(v);
        }
        Value::from(m)
    }

    /// Reads a message from any form [`coerce_message`] accepts: LangChain's dict shape, an
    /// OpenAI-style `{"role", "content"}` dict, a `[role, content]` pair, or a string.
    ///
    /// ```
    /// use stategraph_prebuilt::Message;
    /// let m = Message::from_value(&serde_json::json!(["assistant", "hello"]).into()).unwrap();
    /// assert_eq!(m.type_name(), "ai");
    /// assert_eq!(Message::from_value(&m.to_value()).unwrap(), m);
    /// ```
    pub fn from_value(value: &Value) -> Result<Message> {
        coerce_message(value)
    }
}

fn type_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::System => "system",
        Kind::Human => "human",
        Kind::Ai(_) => "ai",
        Kind::Tool(_) => "tool",
        Kind::Remove => "remove",
    }
}

impl From<Message> for Value {
    fn from(m: Message) -> Value {
        m.into_value()
    }
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let v = Value::deserialize(deserializer)?;
        Message::from_value(&v).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.type_name(), self.text())?;
        for call in self.tool_calls() {
            write!(f, " [{}({})]", call.name, call.args)?;
        }
        Ok(())
    }
}

/// Converts many message-like values (see [`coerce_message`]); a single non-list value counts as
/// a list of one, as in LangGraph.
///
/// ```
/// use stategraph_prebuilt::coerce_messages;
/// let msgs = coerce_messages(&serde_json::json!([["user", "hi"], "again"]).into()).unwrap();
/// assert_eq!(msgs.len(), 2);
/// ```
pub fn coerce_messages(value: &Value) -> Result<Vec<Message>> {
    match value {
        Value::Array(items) => items.iter().map(coerce_message).collect(),
        other => Ok(vec![coerce_message(other)?]),
    }
}

/// Converts one message-like value to a [`Message`] with langchain-core's rules
/// (`convert_to_messages`):
/// - a string is a human message;
/// - a `[role, content]` pair: roles `human`/`user`, `ai`/`assistant`, `system`/`developer`, `tool`;
/// - an object with `role` (or else `type`) and `content`: `name`, `id`, `tool_call_id`,
///   `tool_calls` (LangChain or OpenAI form) are read, `response_metadata` too, and every other
///   key goes to `additional_kwargs`; a LangChain serialisation envelope (`{"lc": 1, "type":
///   "constructor", ...}`) is unpacked.
///
/// One deliberate difference: an AI message's `usage_metadata` and `invalid_tool_calls` are read
/// as those fields (langchain-core moves them into `additional_kwargs`), so that the dict shape
/// round-trips.
///
/// ```
/// use stategraph_prebuilt::coerce_message;
/// let m = coerce_message(&serde_json::json!({"role": "tool", "content": "3", "tool_call_id": "c1"}).into()).unwrap();
/// assert_eq!(m.tool_call_id(), Some("c1"));
/// ```
pub fn coerce_message(value: &Value) -> Result<Message> {
    match value {
        Value::String(s) => create(MessageKindName::Human, Value::from(s.as_str()), Map::new()),
        Value::Array(items) => {
            if items.len() != 2 {
                return Err(Error::Coercion("Message as a sequence must be (role string, template)".into()));
            }
            let role = role_of(&items[0])?;
            create(role, items[1].clone(), Map::new())
        }
        Value::Object(obj) => {
            if obj.get("lc").and_then(Value::as_i64) == Some(1)
                && obj.get("type") == Some(&Value::from("constructor"))
                && let Some(Value::Array(id)) = obj.get("id")
                && let Some(Value::Object(kwargs)) = obj.get("kwargs")
                && let Some(class) = id.last().and_then(Value::as_str)
                && let Some(mapped) = constructor_type(class)
            {
                let mut m = Map::with_capacity(kwargs.len() + 1);
                m.insert("type".into(), Value::from(mapped));
                for (k, v) in kwargs.iter() {
                    m.insert(k.clone(), v.clone());
                }
                return coerce_message(&Value::from(m));
            }
            let mut kwargs: Map = (**obj).clone();
            let role = match kwargs.shift_remove("role") {
                Some(r) => Some(r),
                None => kwargs.shift_remove("type"),
            };
            let content = kwargs.shift_remove("content");
            let (Some(role), Some(content)) = (role, content) else {
                return Err(Error::InvalidMessage(format!(
                    "Message dict must contain 'role' and 'content' keys, got {value}"
                )));
            };
            let content = if is_falsy(&content) { Value::from("") } else { content };
            create(role_of(&role)?, content, kwargs)
        }
        other => Err(Error::Coercion(format!("Unsupported message type: {}", python_type(other)))),
    }
}

/// The fast path of [`add_messages`](crate::add_messages): whether `v` already is a message in
/// the canonical dict shape with an id, so it can be kept without being parsed again.
pub(crate) fn is_canonical(v: &Value) -> bool {
    let Some(m) = v.as_object() else { return false };
    let has = |k: &str| m.contains_key(k);
    let base = matches!(m.get("id"), Some(Value::String(_)))
        && matches!(m.get("content"), Some(Value::String(_) | Value::Array(_)))
        && matches!(m.get("additional_kwargs"), Some(Value::Object(_)))
        && matches!(m.get("response_metadata"), Some(Value::Object(_)))
        && has("name");
    if !base {
        return false;
    }
    match m.get("type").and_then(Value::as_str) {
        Some("human" | "system" | "remove") => true,
        Some("ai") => {
            matches!(m.get("tool_calls"), Some(Value::Array(_)))
                && matches!(m.get("invalid_tool_calls"), Some(Value::Array(_)))
                && has("usage_metadata")
        }
        Some("tool") => matches!(m.get("tool_call_id"), Some(Value::String(_))) && has("artifact") && has("status"),
        _ => false,
    }
}

/// Whether `v` is a human, system or tool message exactly as [`Message::into_value`] writes one
/// without an id (same keys in the same order, string content, no `additional_kwargs`, a string
/// or null name, a tool status named): then coercing it and giving it an id changes nothing but
/// the id, so [`add_messages`](crate::add_messages) sets the id in place (as for a tool node's
/// results) instead of converting the message.
pub(crate) fn is_canonical_but_id(v: &Value) -> bool {
    const BASE: [&str; 6] = ["content", "additional_kwargs", "response_metadata", "type", "name", "id"];
    const TOOL: [&str; 3] = ["tool_call_id", "artifact", "status"];
    let Some(m) = v.as_object() else { return false };
    let kind = m.get("type").and_then(Value::as_str);
    let rest: &[&str] = match kind {
        Some("human" | "system") => &[],
        Some("tool") => &TOOL,
        _ => return false,
    };
    m.len() == BASE.len() + rest.len()
        && m.keys().zip(BASE.iter().chain(rest)).all(|(k, want)| &**k == *want)
        && matches!(m.get("content"), Some(Value::String(_)))
        && m.get("additional_kwargs").and_then(Value::as_object).is_some_and(|o| o.is_empty())
        && matches!(m.get("response_metadata"), Some(Value::Object(_)))
        && matches!(m.get("name"), Some(Value::Null | Value::String(_)))
        && matches!(m.get("id"), Some(Value::Null))
        && (kind != Some("tool")
            || (matches!(m.get("tool_call_id"), Some(Value::String(_)))
                && matches!(m.get("status").and_then(Value::as_str), Some("success" | "error"))))
}

/// Whether [`coerce_message`] cannot fail on `v`: a canonical message ([`is_canonical`]) whose
/// tool calls are in LangChain form with a name and whose tool status is known. A
/// [`History`](crate::model::History) of such values converts them only when read.
pub(crate) fn converts_infallibly(v: &Value) -> bool {
    // A `role` would take precedence over `type` (and might be no role at all).
    if !is_canonical(v) || v.get("role").is_some() {
        return false;
    }
    match v["type"].as_str() {
        Some("ai") => v["tool_calls"].as_array().is_some_and(|calls| {
            calls.iter().all(|c| c.as_object().is_some_and(|o| !o.contains_key("function")) && c["name"].is_string())
        }),
        Some("tool") => matches!(&v["status"], Value::Null) || v["status"] == "success" || v["status"] == "error",
        _ => true,
    }
}

#[derive(Clone, Copy)]
enum MessageKindName {
    Human,
    Ai,
    System,
    Developer,
    Tool,
    Remove,
}

fn role_of(role: &Value) -> Result<MessageKindName> {
    let name = match role {
        Value::String(s) => s.to_string(),
        other => other.to_string(),
    };
    Ok(match name.as_str() {
        "human" | "user" => MessageKindName::Human,
        "ai" | "assistant" => MessageKindName::Ai,
        "system" => MessageKindName::System,
        "developer" => MessageKindName::Developer,
        "tool" => MessageKindName::Tool,
        "remove" => MessageKindName::Remove,
        _ => {
            return Err(Error::Coercion(format!(
                "Unexpected message type: '{name}'. Use one of 'human', 'user', 'ai', 'assistant', 'function', 'tool', 'system', or 'developer'."
            )));
        }
    })
}

fn constructor_type(class: &str) -> Option<&'static str> {
    Some(match class.strip_suffix("Chunk").unwrap_or(class) {
        "HumanMessage" => "human",
        "AIMessage" => "ai",
        "SystemMessage" => "system",
        "FunctionMessage" => "function",
        "ToolMessage" => "tool",
        "RemoveMessage" => "remove",
        _ => return None,
    })
}

/// Python truthiness, for `content or ""`.
fn is_falsy(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        // A host object (a Python object) is truthy unless the host says otherwise; the Python
        // package never hands message contents to these helpers as host objects.
        Value::Foreign(_) => false,
    }
}

fn python_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<class 'NoneType'>",
        Value::Bool(_) => "<class 'bool'>",
        Value::Number(n) if n.is_f64() => "<class 'float'>",
        Value::Number(_) => "<class 'int'>",
        Value::String(_) => "<class 'str'>",
        Value::Array(_) => "<class 'list'>",
        Value::Object(_) => "<class 'dict'>",
        Value::Foreign(_) => "<class 'object'>",
    }
}

/// Python's `str()` of a scalar, for tool message content and ids.
fn python_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        other => other.to_string(),
    }
}

fn opt_string(v: Option<Value>) -> Option<String> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.to_string()),
        Some(other) => Some(python_str(&other)),
    }
}

/// langchain-core's `_create_message_from_message_type`.
fn create(kind: MessageKindName, content: Value, mut kwargs: Map) -> Result<Message> {
    let name = opt_string(kwargs.shift_remove("name"));
    let tool_call_id = kwargs.shift_remove("tool_call_id").filter(|v| !v.is_null());
    let tool_calls = kwargs.shift_remove("tool_calls").filter(|v| !v.is_null());
    let id = opt_string(kwargs.shift_remove("id"));
    // Stategraph keeps these as fields (langchain-core would move them to additional_kwargs).
    let (usage, invalid) = if matches!(kind, MessageKindName::Ai) {
        (kwargs.shift_remove("usage_metadata"), kwargs.shift_remove("invalid_tool_calls"))
    } else {
        (None, None)
    };
    let mut response_metadata = Map::new();
    let mut additional_kwargs = Map::new();
    if !kwargs.is_empty() {
        if let Some(Value::Object(rm)) = kwargs.shift_remove("response_metadata") {
            response_metadata = (*rm).clone();
        }
        let nested = kwargs.shift_remove("additional_kwargs");
        additional_kwargs = kwargs;
        if let Some(Value::Object(nested)) = nested {
            for (k, v) in nested.iter() {
                additional_kwargs.insert(k.clone(), v.clone());
            }
        }
    }
    let mut extra = Map::new();
    let content_of = |v: &Value| {
        Content::from_value(v).ok_or_else(|| {
            Error::InvalidMessage(format!("message content must be a string or a list, got {}", v.kind()))
        })
    };
    let kind = match kind {
        MessageKindName::Human | MessageKindName::Ai => {
            if let Some(example) = additional_kwargs.shift_remove("example") {
                if is_falsy(&example) {
                    // Python pops it and drops a falsy value.
                } else {
                    extra.insert("example".into(), example);
                }
            }
            if matches!(kind, MessageKindName::Human) {
                Kind::Human
            } else {
                let mut ai = AiFields::default();
                match tool_calls {
                    Some(Value::Array(calls)) => {
                        for call in calls.iter() {
                            ai.tool_calls.push(parse_tool_call(call, &mut ai.invalid_tool_calls, true)?);
                        }
                    }
                    Some(other) => {
                        return Err(Error::InvalidMessage(format!("tool_calls must be a list, got {other}")));
                    }
                    None => {}
                }
                if let Some(Value::Array(invalid)) = invalid {
                    ai.invalid_tool_calls.extend(invalid.iter().map(InvalidToolCall::from_value));
                }
                // langchain-core reads OpenAI tool calls left in additional_kwargs when there are
                // no parsed ones.
                if ai.tool_calls.is_empty()
                    && ai.invalid_tool_calls.is_empty()
                    && let Some(Value::Array(raw)) = additional_kwargs.get("tool_calls")
                {
                    for call in raw.iter() {
                        let mut invalid = Vec::new();
                        match parse_tool_call(call, &mut invalid, false) {
                            Ok(c) if invalid.is_empty() => ai.tool_calls.push(c),
                            _ => ai.invalid_tool_calls.extend(invalid),
                        }
                    }
                }
                ai.usage_metadata = usage.as_ref().and_then(UsageMetadata::from_value);
                Kind::Ai(ai)
            }
        }
        MessageKindName::System => Kind::System,
        MessageKindName::Developer => {
            additional_kwargs.insert("__openai_role__".into(), Value::from("developer"));
            Kind::System
        }
        MessageKindName::Tool => {
            let artifact = additional_kwargs.shift_remove("artifact").unwrap_or(Value::Null);
            let status = match additional_kwargs.shift_remove("status") {
                None | Some(Value::Null) => ToolStatus::Success,
                Some(s) if s == "success" => ToolStatus::Success,
                Some(s) if s == "error" => ToolStatus::Error,
                Some(other) => {
                    return Err(Error::InvalidMessage(format!(
                        "tool status must be 'success' or 'error', got {other}"
                    )));
                }
            };
            let Some(tool_call_id) = tool_call_id else {
                return Err(Error::InvalidMessage("tool message without 'tool_call_id'".into()));
            };
            let content = match &content {
                Value::String(_) => content_of(&content)?,
                Value::Array(items) => Content::Parts(
                    items
                        .iter()
                        .map(|x| match x {
                            Value::String(_) | Value::Object(_) => x.clone(),
                            other => Value::from(python_str(other)),
                        })
                        .collect(),
                ),
                other => Content::Text(python_str(other)),
            };
            return Ok(Message {
                content,
                id,
                name,
                additional_kwargs,
                response_metadata,
                extra,
                kind: Kind::Tool(ToolFields { tool_call_id: python_str(&tool_call_id), status, artifact }),
            });
        }
        MessageKindName::Remove => {
            let Some(id) = id else {
                return Err(Error::InvalidMessage("a remove message needs an id".into()));
            };
            return Ok(Message {
                content: Content::default(),
                id: Some(id),
                name,
                additional_kwargs,
                response_metadata,
                extra,
                kind: Kind::Remove,
            });
        }
    };
    Ok(Message { content: content_of(&content)?, id, name, additional_kwargs, response_metadata, extra, kind })
}

/// A tool call in LangChain form (`{"name", "args", "id"}`) or OpenAI form (`{"id", "function":
/// {"name", "arguments": "<json>"}}`). With `strict`, unparsable arguments are an error (as in
/// langchain-core's dict coercion); otherwise they become an invalid tool call.
fn parse_tool_call(call: &Value, invalid: &mut Vec<InvalidToolCall>, strict: bool) -> Result<ToolCall> {
    let Some(function) = call.get("function") else {
        return ToolCall::from_value(call);
    };
    let name = function["name"].as_str().map(str::to_owned);
    let id = call["id"].as_str().map(str::to_owned);
    let args = match &function["arguments"] {
        Value::String(s) => match serde_json::from_str::<Value>(if s.trim().is_empty() { "{}" } else { s }) {
            Ok(v) => v,
            Err(e) => {
                if strict {
                    return Err(Error::InvalidMessage(format!("tool call arguments are not JSON: {e}")));
                }
                invalid.push(InvalidToolCall { name, args: Some(s.to_string()), id, error: Some(e.to_string()) });
                return Ok(ToolCall { name: String::new(), args: Value::Null, id: None });
            }
        },
        Value::Null => Value::object(),
        other => other.clone(),
    };
    Ok(ToolCall { name: name.unwrap_or_default(), args, id })
}

/// Messages as values (for writing them into state).
pub fn messages_to_value(messages: impl IntoIterator<Item = Message>) -> Value {
    Value::from(messages.into_iter().map(Message::into_value).collect::<Vec<_>>())
}
