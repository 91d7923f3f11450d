//! Routing conditions on the last message, for `add_conditional_edges`.
//!
//! A [`Condition`] looks at the last message of the state's `messages`; [`Condition::route`]
//! turns it into a router (`then` when it holds, `otherwise` when not) and [`route_first`]
//! picks the first of several conditions that holds.
//!
//! ```
//! use serde_json::json;
//! use stategraph_core::State;
//! use stategraph_prebuilt::Condition;
//!
//! let router = Condition::has_tool_calls().route("tools", "__end__");
//! let state = State::from_value(json!({"messages": [{"type": "ai", "content": "done"}]}));
//! assert_eq!(router(&state), "__end__".into());
//! ```

use std::fmt;
use std::sync::Arc;

use regex::Regex;
use stategraph_core::{Route, State};

use crate::add_messages::MESSAGES_KEY;
use crate::error::{Error, Result};
use crate::message::Message;

type Predicate = Arc<dyn Fn(Option<&Message>) -> bool + Send + Sync>;

/// A test of the last message (`None` when there is no message).
#[derive(Clone)]
pub struct Condition {
    test: Predicate,
    label: String,
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Condition({})", self.label)
    }
}

/// The last message of the state's `messages`, parsed (`None` when there is none or it cannot be
/// read as a message).
pub fn last_message(state: &State) -> Option<Message> {
    let last = state.get(MESSAGES_KEY)?.as_array()?.last()?;
    Message::from_value(last).ok()
}

impl Condition {
    /// A condition from a predicate over the last message.
    ///
    /// ```
    /// use stategraph_prebuilt::{Condition, Message};
    /// let long = Condition::predicate("long", |m| m.is_some_and(|m| m.text().len() > 3));
    /// assert!(long.test(Some(&Message::ai("hello"))));
    /// ```
    pub fn predicate(
        label: impl Into<String>,
        f: impl Fn(Option<&Message>) -> bool + Send + Sync + 'static,
    ) -> Condition {
        Condition { test: Arc::new(f), label: label.into() }
    }

    /// The last message is an AI message with tool calls.
    pub fn has_tool_calls() -> Condition {
        Condition::predicate("has_tool_calls", |m| m.is_some_and(Message::has_tool_calls))
    }

    /// The last message is of this type (`"human"`, `"ai"`, `"tool"`, `"system"`).
    pub fn last_type(type_name: impl Into<String>) -> Condition {
        let t = type_name.into();
        Condition::predicate(format!("type == {t}"), move |m| m.is_some_and(|m| m.type_name() == t))
    }

    /// The last message has this name.
    pub fn last_name(name: impl Into<String>) -> Condition {
        let n = name.into();
        Condition::predicate(format!("name == {n}"), move |m| m.is_some_and(|m| m.name.as_deref() == Some(&n)))
    }

    /// The last message's text matches the regular expression (anywhere in the text).
    ///
    /// ```
    /// use stategraph_prebuilt::{Condition, Message};
    /// let done = Condition::content_matches(r"(?i)\bdone\b").unwrap();
    /// assert!(done.test(Some(&Message::ai("All DONE."))));
    /// assert!(Condition::content_matches("(").is_err());
    /// ```
    pub fn content_matches(pattern: &str) -> Result<Condition> {
        let re = Regex::new(pattern).map_err(|e| Error::InvalidOption(format!("content pattern: {e}")))?;
        Ok(Condition::predicate(format!("content ~ /{pattern}/"), move |m| m.is_some_and(|m| re.is_match(&m.text()))))
    }

    /// There is no message at all.
    pub fn is_empty() -> Condition {
        Condition::predicate("empty", |m| m.is_none())
    }

    /// Both hold.
    pub fn and(self, other: Condition) -> Condition {
        let label = format!("({} and {})", self.label, other.label);
        Condition::predicate(label, move |m| (self.test)(m) && (other.test)(m))
    }

    /// Either holds.
    pub fn or(self, other: Condition) -> Condition {
        let label = format!("({} or {})", self.label, other.label);
        Condition::predicate(label, move |m| (self.test)(m) || (other.test)(m))
    }

    /// The opposite.
    pub fn negate(self) -> Condition {
        let label = format!("not {}", self.label);
        Condition::predicate(label, move |m| !(self.test)(m))
    }

    /// Evaluates the condition on a message.
    pub fn test(&self, last: Option<&Message>) -> bool {
        (self.test)(last)
    }

    /// Evaluates the condition on the last message of a state.
    pub fn test_state(&self, state: &State) -> bool {
        self.test(last_message(state).as_ref())
    }

    /// A router for `add_conditional_edges`: `then` when the condition holds, else `otherwise`.
    pub fn route(self, then: &str, otherwise: &str) -> impl Fn(&State) -> Route + Send + Sync + 'static {
        let (then, otherwise) = (then.to_owned(), otherwise.to_owned());
        move |state: &State| Route::from(if self.test_state(state) { then.clone() } else { otherwise.clone() })
    }
}

/// A router that goes to the destination of the first condition that holds, else to `default`.
///
/// ```
/// use serde_json::json;
/// use stategraph_core::State;
/// use stategraph_prebuilt::{Condition, route_first};
///
/// let router = route_first(
///     vec![(Condition::has_tool_calls(), "tools"), (Condition::last_name("critic"), "revise")],
///     "__end__",
/// );
/// let state = State::from_value(json!({"messages": [{"type": "ai", "content": "meh", "name": "critic"}]}));
/// assert_eq!(router(&state), "revise".into());
/// ```
pub fn route_first(cases: Vec<(Condition, &str)>, default: &str) -> impl Fn(&State) -> Route + Send + Sync + 'static {
    let cases: Vec<(Condition, String)> = cases.into_iter().map(|(c, d)| (c, d.to_owned())).collect();
    let default = default.to_owned();
    move |state: &State| {
        let last = last_message(state);
        let to = cases.iter().find(|(c, _)| c.test(last.as_ref())).map(|(_, d)| d.clone()).unwrap_or(default.clone());
        Route::from(to)
    }
}
