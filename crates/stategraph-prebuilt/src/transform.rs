//! Transformations of a message list: trim to the last (or first) messages within a token budget,
//! filter, merge consecutive messages of one role, strip tool calls.
//!
//! Each is a [`MessageTransform`]; apply it to a slice, use it as a graph node with
//! [`transform_node`] (the node replaces the history), or give it to the ReAct agent as a
//! pre-model step (the model sees the transformed list; the state keeps everything).
//! Trim, filter and merge follow langchain-core's `trim_messages`, `filter_messages` and
//! `merge_message_runs` (pinned by parity fixtures).

use std::sync::{Arc, Mutex, Weak};

use futures::FutureExt;
use futures::future::BoxFuture;
use stategraph_core::{Map, Node, NodeContext, NodeResult, State, Value};

use crate::add_messages::MESSAGES_KEY;
use crate::error::{Error, Result};
use crate::message::{Content, Kind, Message, converts_infallibly};
use crate::model::History;

/// A function of a message list.
pub trait MessageTransform: Send + Sync + 'static {
    /// Applies the transformation.
    fn apply(&self, messages: &[Message]) -> Result<Vec<Message>>;
}

impl<F> MessageTransform for F
where
    F: Fn(&[Message]) -> Result<Vec<Message>> + Send + Sync + 'static,
{
    fn apply(&self, messages: &[Message]) -> Result<Vec<Message>> {
        self(messages)
    }
}

/// Reads the message list of a state (`messages`, or the whole value when the state is a list).
pub fn messages_of(state: &State) -> Result<Vec<Message>> {
    match state.get(MESSAGES_KEY) {
        Some(Value::Array(items)) => items.iter().map(Message::from_value).collect(),
        Some(other) => Err(Error::InvalidState(format!("`messages` is {}, not a list", other.kind()))),
        None => Ok(Vec::new()),
    }
}

/// Reads the message list of a state as the [`History`] of a model request: without converting
/// the messages when the state holds them in the canonical shape (as
/// [`add_messages`](crate::add_messages) writes them), so that a call costs nothing per earlier
/// message until the model reads them; converted now (reporting errors) otherwise. `prefix`
/// (e.g. a system prompt) comes first.
pub fn history_of(state: &State, prefix: Option<&Message>) -> Result<History> {
    let items = state_messages(state)?;
    match History::lazy(prefix.into_iter().cloned().collect(), items.to_vec()) {
        Some(history) => Ok(history),
        None => convert_now(items, prefix),
    }
}

fn state_messages(state: &State) -> Result<&[Value]> {
    match state.get(MESSAGES_KEY) {
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(Error::InvalidState(format!("`messages` is {}, not a list", other.kind()))),
        None => Ok(&[]),
    }
}

fn convert_now(items: &[Value], prefix: Option<&Message>) -> Result<History> {
    let mut messages = Vec::with_capacity(items.len() + 1);
    messages.extend(prefix.cloned());
    for item in items.iter() {
        messages.push(Message::from_value(item)?);
    }
    Ok(History::new(messages))
}

/// The messages a node saw on its last call that convert without error, held weakly (nothing is
/// kept alive): [`history_of_checked`] checks only the messages that came since, so a model call
/// of a growing conversation costs a check per new message and a pointer comparison per earlier
/// one.
///
/// Sound because a message map is immutable while a weak reference to it exists (`Arc::get_mut`
/// refuses and `Arc::make_mut` moves it), and its address is not reused while the weak reference
/// keeps the allocation.
#[derive(Default)]
pub(crate) struct CheckedMessages(Mutex<Vec<Weak<Map>>>);

/// [`history_of`], skipping the check of the messages `checked` saw last time.
pub(crate) fn history_of_checked(
    state: &State,
    prefix: Option<&Message>,
    checked: &CheckedMessages,
) -> Result<History> {
    let items = state_messages(state)?;
    let mut seen = checked.0.lock().unwrap_or_else(|e| e.into_inner());
    let known = items
        .iter()
        .zip(seen.iter())
        .take_while(|(v, w)| matches!(v, Value::Object(m) if Arc::as_ptr(m) == w.as_ptr()))
        .count();
    if !items[known..].iter().all(converts_infallibly) {
        drop(seen);
        return convert_now(items, prefix);
    }
    seen.truncate(known);
    seen.extend(items[known..].iter().map(|v| match v {
        Value::Object(m) => Arc::downgrade(m),
        // Not reached: a message that converts is an object.
        _ => Weak::new(),
    }));
    drop(seen);
    Ok(History::lazy_checked(prefix.into_iter().cloned().collect(), items.to_vec()))
}

/// A node that applies `transform` to the state's messages and replaces the history with the
/// result (a remove-all marker followed by the kept messages, LangGraph's idiom).
///
/// ```
/// use stategraph_prebuilt::{Trim, transform_node};
/// let node = transform_node(Trim::last(10));
/// # let _ = node;
/// ```
pub fn transform_node(transform: impl MessageTransform) -> TransformNode {
    TransformNode(Arc::new(transform))
}

/// See [`transform_node`].
#[derive(Clone)]
pub struct TransformNode(Arc<dyn MessageTransform>);

impl Node for TransformNode {
    fn call(&self, input: State, _ctx: NodeContext) -> BoxFuture<'static, NodeResult> {
        let t = self.0.clone();
        async move {
            let messages = messages_of(&input)?;
            let kept = t.apply(&messages)?;
            let mut out = Vec::with_capacity(kept.len() + 1);
            out.push(Message::remove_all().into_value());
            out.extend(kept.into_iter().map(Message::into_value));
            let mut update = Map::new();
            update.insert(MESSAGES_KEY.into(), Value::from(out));
            Ok(update.into())
        }
        .boxed()
    }
}

// ----- token counting -----------------------------------------------------------------------

/// Counts the tokens of a list of messages (LangChain's `token_counter`).
pub trait TokenCounter: Send + Sync + 'static {
    /// The number of tokens `messages` take.
    fn count(&self, messages: &[Message]) -> usize;
}

impl<F> TokenCounter for F
where
    F: Fn(&[Message]) -> usize + Send + Sync + 'static,
{
    fn count(&self, messages: &[Message]) -> usize {
        self(messages)
    }
}

/// Counts one token per message, so a budget of N keeps N messages.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountMessages;

impl TokenCounter for CountMessages {
    fn count(&self, messages: &[Message]) -> usize {
        messages.len()
    }
}

/// A rough estimate without a tokenizer: about 4 characters per token of text and tool-call
/// arguments, plus 3 tokens per message (LangChain's `count_tokens_approximately` heuristic).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApproxTokens;

impl TokenCounter for ApproxTokens {
    fn count(&self, messages: &[Message]) -> usize {
        messages
            .iter()
            .map(|m| {
                let mut chars = m.text().chars().count();
                for call in m.tool_calls() {
                    chars += call.name.len() + call.args.to_string().len();
                }
                chars.div_ceil(4) + 3
            })
            .sum()
    }
}

// ----- trim ----------------------------------------------------------------------------------

/// Which end of the history [`Trim`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Keep the first messages.
    First,
    /// Keep the last messages (the usual choice for chat history).
    Last,
}

/// Keeps the most messages that fit a token budget (langchain-core's `trim_messages` without
/// partial messages).
///
/// ```
/// use stategraph_prebuilt::{Message, MessageTransform, Trim};
/// let history = vec![Message::system("s"), Message::human("a"), Message::ai("b"), Message::human("c")];
/// let kept = Trim::last(2).include_system(true).apply(&history).unwrap();
/// assert_eq!(kept.iter().map(|m| m.text()).collect::<Vec<_>>(), ["s", "c"]);
/// ```
#[derive(Clone)]
pub struct Trim {
    max_tokens: usize,
    counter: Arc<dyn TokenCounter>,
    strategy: Strategy,
    include_system: bool,
    start_on: Vec<String>,
    end_on: Vec<String>,
}

impl Trim {
    /// Keep the last messages within `max_tokens` counted by `counter`.
    pub fn new(max_tokens: usize, counter: impl TokenCounter) -> Trim {
        Trim {
            max_tokens,
            counter: Arc::new(counter),
            strategy: Strategy::Last,
            include_system: false,
            start_on: Vec::new(),
            end_on: Vec::new(),
        }
    }
    /// Keep the last `n` messages.
    pub fn last(n: usize) -> Trim {
        Trim::new(n, CountMessages)
    }
    /// Sets which end to keep.
    pub fn strategy(mut self, strategy: Strategy) -> Trim {
        self.strategy = strategy;
        self
    }
    /// Keep a leading system message (counted in the budget); `Last` only.
    pub fn include_system(mut self, yes: bool) -> Trim {
        self.include_system = yes;
        self
    }
    /// The kept history must start with one of these types (e.g. `["human"]`); `Last` only.
    pub fn start_on<I: IntoIterator<Item = S>, S: Into<String>>(mut self, types: I) -> Trim {
        self.start_on = types.into_iter().map(Into::into).collect();
        self
    }
    /// The kept history must end with one of these types.
    pub fn end_on<I: IntoIterator<Item = S>, S: Into<String>>(mut self, types: I) -> Trim {
        self.end_on = types.into_iter().map(Into::into).collect();
        self
    }

    fn first_max_tokens(&self, mut messages: Vec<Message>, max_tokens: usize, end_on: &[String]) -> Vec<Message> {
        if messages.is_empty() {
            return messages;
        }
        let is_type = |m: &Message| end_on.iter().any(|t| t == m.type_name());
        if self.counter.count(&messages) <= max_tokens {
            if !end_on.is_empty() {
                while messages.last().is_some_and(|m| !is_type(m)) {
                    messages.pop();
                }
            }
            return messages;
        }
        // The same binary search as langchain-core, so that an uneven counter gives the same cut.
        let (mut left, mut right) = (0usize, messages.len());
        let iterations = usize::BITS - messages.len().leading_zeros();
        for _ in 0..iterations {
            if left >= right {
                break;
            }
            let mid = (left + right).div_ceil(2);
            if self.counter.count(&messages[..mid]) <= max_tokens {
                left = mid;
            } else {
                right = mid - 1;
            }
        }
        let mut idx = left;
        if !end_on.is_empty() {
            while idx > 0 && !is_type(&messages[idx - 1]) {
                idx -= 1;
            }
        }
        messages.truncate(idx);
        messages
    }
}

impl MessageTransform for Trim {
    fn apply(&self, messages: &[Message]) -> Result<Vec<Message>> {
        match self.strategy {
            Strategy::First => {
                if !self.start_on.is_empty() {
                    return Err(Error::InvalidOption("start_on parameter is only valid with strategy='last'".into()));
                }
                if self.include_system {
                    return Err(Error::InvalidOption(
                        "include_system parameter is only valid with strategy='last'".into(),
                    ));
                }
                Ok(self.first_max_tokens(messages.to_vec(), self.max_tokens, &self.end_on))
            }
            Strategy::Last => {
                let mut messages = messages.to_vec();
                if messages.is_empty() {
                    return Ok(messages);
                }
                if !self.end_on.is_empty() {
                    while messages.last().is_some_and(|m| !self.end_on.iter().any(|t| t == m.type_name())) {
                        messages.pop();
                    }
                }
                let system = if self.include_system && messages.first().is_some_and(|m| matches!(m.kind, Kind::System))
                {
                    Some(messages.remove(0))
                } else {
                    None
                };
                let mut remaining = self.max_tokens;
                if let Some(s) = &system {
                    remaining = self.max_tokens.saturating_sub(self.counter.count(std::slice::from_ref(s)));
                }
                messages.reverse();
                let mut kept = self.first_max_tokens(messages, remaining, &self.start_on);
                kept.reverse();
                if let Some(s) = system {
                    kept.insert(0, s);
                }
                Ok(kept)
            }
        }
    }
}

// ----- filter --------------------------------------------------------------------------------

/// Which tool calls [`Filter`] drops.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum ExcludeToolCalls {
    /// None.
    #[default]
    None,
    /// Every AI message with tool calls, and every tool message.
    All,
    /// These calls (by id) and their tool messages; an AI message left with no call is dropped.
    Ids(Vec<String>),
}

/// Keeps messages by type, name or id (langchain-core's `filter_messages`): excluded ones are
/// dropped first; then, when any include list is set, a message is kept if it matches any of them.
///
/// ```
/// use stategraph_prebuilt::{Filter, Message, MessageTransform};
/// let history = vec![Message::system("s"), Message::human("a"), Message::ai("b")];
/// let kept = Filter::new().exclude_types(["system"]).apply(&history).unwrap();
/// assert_eq!(kept.len(), 2);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Filter {
    include_names: Vec<String>,
    exclude_names: Vec<String>,
    include_types: Vec<String>,
    exclude_types: Vec<String>,
    include_ids: Vec<String>,
    exclude_ids: Vec<String>,
    exclude_tool_calls: ExcludeToolCalls,
}

fn strings<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Vec<String> {
    items.into_iter().map(Into::into).collect()
}

impl Filter {
    /// A filter that keeps everything.
    pub fn new() -> Filter {
        Filter::default()
    }
    /// Keep messages with one of these names.
    pub fn include_names<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Filter {
        self.include_names = strings(names);
        self
    }
    /// Drop messages with one of these names.
    pub fn exclude_names<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Filter {
        self.exclude_names = strings(names);
        self
    }
    /// Keep messages of these types (`"human"`, `"ai"`, `"system"`, `"tool"`).
    pub fn include_types<I: IntoIterator<Item = S>, S: Into<String>>(mut self, types: I) -> Filter {
        self.include_types = strings(types);
        self
    }
    /// Drop messages of these types.
    pub fn exclude_types<I: IntoIterator<Item = S>, S: Into<String>>(mut self, types: I) -> Filter {
        self.exclude_types = strings(types);
        self
    }
    /// Keep messages with these ids.
    pub fn include_ids<I: IntoIterator<Item = S>, S: Into<String>>(mut self, ids: I) -> Filter {
        self.include_ids = strings(ids);
        self
    }
    /// Drop messages with these ids.
    pub fn exclude_ids<I: IntoIterator<Item = S>, S: Into<String>>(mut self, ids: I) -> Filter {
        self.exclude_ids = strings(ids);
        self
    }
    /// Drop tool calls (see [`ExcludeToolCalls`]).
    pub fn exclude_tool_calls(mut self, which: ExcludeToolCalls) -> Filter {
        self.exclude_tool_calls = which;
        self
    }
}

fn contains(list: &[String], item: Option<&str>) -> bool {
    item.is_some_and(|i| list.iter().any(|x| x == i))
}

impl MessageTransform for Filter {
    fn apply(&self, messages: &[Message]) -> Result<Vec<Message>> {
        let mut out = Vec::new();
        for msg in messages {
            if contains(&self.exclude_names, msg.name.as_deref())
                || contains(&self.exclude_types, Some(msg.type_name()))
                || contains(&self.exclude_ids, msg.id.as_deref())
            {
                continue;
            }
            let is_tool = matches!(msg.kind, Kind::Tool(_));
            let mut msg = msg.clone();
            match &self.exclude_tool_calls {
                ExcludeToolCalls::None => {}
                ExcludeToolCalls::All => {
                    if msg.has_tool_calls() || is_tool {
                        continue;
                    }
                }
                ExcludeToolCalls::Ids(ids) => {
                    if let Kind::Ai(ai) = &mut msg.kind
                        && !ai.tool_calls.is_empty()
                    {
                        ai.tool_calls.retain(|c| !contains(ids, c.id.as_deref()));
                        if ai.tool_calls.is_empty() {
                            continue;
                        }
                        if let Content::Parts(parts) = &mut msg.content {
                            parts.retain(|p| !(p["type"] == "tool_use" && contains(ids, p["id"].as_str())));
                        }
                    } else if contains(ids, msg.tool_call_id()) {
                        continue;
                    }
                }
            }
            let no_includes =
                self.include_types.is_empty() && self.include_ids.is_empty() && self.include_names.is_empty();
            if no_includes
                || contains(&self.include_names, msg.name.as_deref())
                || contains(&self.include_types, Some(msg.type_name()))
                || contains(&self.include_ids, msg.id.as_deref())
            {
                out.push(msg);
            }
        }
        Ok(out)
    }
}

// ----- merge runs ------------------------------------------------------------------------------

/// Merges consecutive messages of the same type into one (langchain-core's `merge_message_runs`):
/// texts are joined with the separator (`"\n"` by default), tool calls concatenated, the first
/// message's id kept. Tool messages are never merged. Differences: usage is summed into
/// `usage_metadata` (langchain-core moves it into `additional_kwargs`).
///
/// ```
/// use stategraph_prebuilt::{MergeRuns, Message, MessageTransform};
/// let merged = MergeRuns::new().apply(&[Message::human("a"), Message::human("b")]).unwrap();
/// assert_eq!(merged[0].text(), "a\nb");
/// ```
#[derive(Debug, Clone)]
pub struct MergeRuns {
    separator: String,
}

impl Default for MergeRuns {
    fn default() -> Self {
        MergeRuns { separator: "\n".into() }
    }
}

impl MergeRuns {
    /// Merges with `"\n"` between texts.
    pub fn new() -> MergeRuns {
        MergeRuns::default()
    }
    /// Merges with another separator.
    pub fn separator(mut self, separator: impl Into<String>) -> MergeRuns {
        self.separator = separator.into();
        self
    }
}

fn merge_content(left: Content, right: Content, separator: &str) -> Content {
    match (left, right) {
        (Content::Text(mut a), Content::Text(b)) => {
            if !a.is_empty() && !b.is_empty() {
                a.push_str(separator);
            }
            a.push_str(&b);
            Content::Text(a)
        }
        (Content::Text(a), Content::Parts(b)) => {
            let mut parts = vec![Value::from(a)];
            parts.extend(b);
            Content::Parts(parts)
        }
        (Content::Parts(mut a), Content::Text(b)) => {
            if b.is_empty() {
                // Nothing to add.
            } else if let Some(Value::String(last)) = a.last_mut() {
                std::sync::Arc::make_mut(last).push_str(&b);
            } else {
                a.push(Value::from(b));
            }
            Content::Parts(a)
        }
        (Content::Parts(mut a), Content::Parts(b)) => {
            a.extend(b);
            Content::Parts(a)
        }
    }
}

impl MessageTransform for MergeRuns {
    fn apply(&self, messages: &[Message]) -> Result<Vec<Message>> {
        let mut merged: Vec<Message> = Vec::with_capacity(messages.len());
        for msg in messages {
            let same = merged.last().is_some_and(|last| {
                last.type_name() == msg.type_name() && !matches!(msg.kind, Kind::Tool(_) | Kind::Remove)
            });
            if !same {
                merged.push(msg.clone());
                continue;
            }
            let mut last = merged.pop().expect("checked above");
            last.content = merge_content(std::mem::take(&mut last.content), msg.content.clone(), &self.separator);
            // langchain-core adds message chunks, which drops the name.
            last.name = None;
            for (k, v) in &msg.additional_kwargs {
                last.additional_kwargs.insert(k.clone(), v.clone());
            }
            if let (Kind::Ai(a), Kind::Ai(b)) = (&mut last.kind, &msg.kind) {
                a.tool_calls.extend(b.tool_calls.iter().cloned());
                a.invalid_tool_calls.extend(b.invalid_tool_calls.iter().cloned());
                match (&mut a.usage_metadata, &b.usage_metadata) {
                    (Some(x), Some(y)) => x.add(y),
                    (None, Some(y)) => a.usage_metadata = Some(y.clone()),
                    _ => {}
                }
            }
            merged.push(last);
        }
        Ok(merged)
    }
}

// ----- strip tool calls ----------------------------------------------------------------------------

/// Removes tool use from a history: tool messages are dropped, AI messages lose their tool
/// calls, and an AI message left with no content is dropped. Useful before handing a history
/// to a model that has no tools bound.
///
/// ```
/// use serde_json::json;
/// use stategraph_prebuilt::{Message, MessageTransform, StripToolCalls, ToolCall};
/// let history = vec![
///     Message::human("2+2?"),
///     Message::ai_with_tool_calls("", vec![ToolCall::new("add", json!({}), "c1")]),
///     Message::tool("4", "c1"),
///     Message::ai("4"),
/// ];
/// assert_eq!(StripToolCalls.apply(&history).unwrap().len(), 2);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct StripToolCalls;

impl MessageTransform for StripToolCalls {
    fn apply(&self, messages: &[Message]) -> Result<Vec<Message>> {
        let mut out = Vec::with_capacity(messages.len());
        for msg in messages {
            match &msg.kind {
                Kind::Tool(_) => continue,
                Kind::Ai(ai) if !ai.tool_calls.is_empty() || !ai.invalid_tool_calls.is_empty() => {
                    if msg.content.is_empty() {
                        continue;
                    }
                    let mut m = msg.clone();
                    if let Kind::Ai(ai) = &mut m.kind {
                        ai.tool_calls.clear();
                        ai.invalid_tool_calls.clear();
                    }
                    if let Content::Parts(parts) = &mut m.content {
                        parts.retain(|p| p["type"] != "tool_use");
                    }
                    out.push(m);
                }
                _ => out.push(msg.clone()),
            }
        }
        Ok(out)
    }
}
