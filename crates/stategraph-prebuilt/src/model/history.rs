//! [`History`]: the conversation of a [`ChatRequest`](super::ChatRequest), read from graph state
//! only when a model looks at it.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

use stategraph_core::Value;

use crate::message::{Message, coerce_message, converts_infallibly};

/// The messages of a [`ChatRequest`](super::ChatRequest).
///
/// It dereferences to a `Vec<Message>`, so it reads (and edits) like one. Built by the agent and
/// model nodes from the state's message values, it converts them to [`Message`]s only when first
/// dereferenced: the values share their strings with the state (cloning one is a reference-count
/// bump), so a model that never reads the text — a scripted model that answers by the length of
/// the conversation, say — costs nothing per earlier message, and a provider that does pays for the
/// conversion once per request. [`len`](Self::len) and [`values`](Self::values) never convert.
#[derive(Clone, Default)]
pub struct History {
    /// Messages before the values (e.g. a system prompt), already converted.
    head: Vec<Message>,
    /// The messages after the head as values, while they are current (`None` when the history was built from
    /// messages, or may have been edited since).
    values: Option<Vec<Value>>,
    /// The messages, once converted (or as given).
    messages: OnceLock<Vec<Message>>,
}

impl History {
    /// A history of these messages.
    pub fn new(messages: Vec<Message>) -> Self {
        History { head: Vec::new(), values: None, messages: OnceLock::from(messages) }
    }

    /// `head` then messages read from `values` when first needed, or `None` if some value is not
    /// a message in the canonical dict shape that converts without error (the caller then converts
    /// eagerly, to report the error).
    pub(crate) fn lazy(head: Vec<Message>, values: Vec<Value>) -> Option<Self> {
        values.iter().all(converts_infallibly).then(|| History::lazy_checked(head, values))
    }

    /// Like [`lazy`](Self::lazy), for values the caller has checked with [`converts_infallibly`].
    pub(crate) fn lazy_checked(head: Vec<Message>, values: Vec<Value>) -> Self {
        History { head, values: Some(values), messages: OnceLock::new() }
    }

    /// The number of messages (without converting them).
    pub fn len(&self) -> usize {
        match (self.messages.get(), &self.values) {
            (Some(m), _) => m.len(),
            (None, Some(v)) => self.head.len() + v.len(),
            (None, None) => self.head.len(),
        }
    }

    /// Whether there is no message (without converting them).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The messages as values (LangChain's dict shape), shared with the state when the history was
    /// read from it and not changed since; converted otherwise.
    pub fn values(&self) -> Vec<Value> {
        match &self.values {
            Some(v) => self.head.iter().map(Message::to_value).chain(v.iter().cloned()).collect(),
            None => self.force().iter().map(Message::to_value).collect(),
        }
    }

    /// The messages.
    pub fn into_vec(mut self) -> Vec<Message> {
        self.force();
        self.messages.take().unwrap_or_default()
    }

    fn force(&self) -> &Vec<Message> {
        self.messages.get_or_init(|| {
            let values = self.values.as_deref().unwrap_or_default();
            let mut messages = Vec::with_capacity(self.head.len() + values.len());
            messages.extend(self.head.iter().cloned());
            messages.extend(values.iter().map(|v| coerce_message(v).expect("checked by converts_infallibly")));
            messages
        })
    }
}

impl Deref for History {
    type Target = Vec<Message>;

    fn deref(&self) -> &Vec<Message> {
        self.force()
    }
}

impl DerefMut for History {
    fn deref_mut(&mut self) -> &mut Vec<Message> {
        self.force();
        // The values are stale once the messages may change.
        self.values = None;
        self.head = Vec::new();
        self.messages.get_mut().expect("just converted")
    }
}

impl From<Vec<Message>> for History {
    fn from(messages: Vec<Message>) -> Self {
        History::new(messages)
    }
}

impl From<History> for Vec<Message> {
    fn from(history: History) -> Self {
        history.into_vec()
    }
}

impl FromIterator<Message> for History {
    fn from_iter<I: IntoIterator<Item = Message>>(iter: I) -> Self {
        History::new(iter.into_iter().collect())
    }
}

impl IntoIterator for History {
    type Item = Message;
    type IntoIter = std::vec::IntoIter<Message>;

    fn into_iter(self) -> Self::IntoIter {
        self.into_vec().into_iter()
    }
}

impl<'a> IntoIterator for &'a History {
    type Item = &'a Message;
    type IntoIter = std::slice::Iter<'a, Message>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl fmt::Debug for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl PartialEq for History {
    fn eq(&self, other: &History) -> bool {
        **self == **other
    }
}

impl PartialEq<Vec<Message>> for History {
    fn eq(&self, other: &Vec<Message>) -> bool {
        **self == *other
    }
}

impl PartialEq<[Message]> for History {
    fn eq(&self, other: &[Message]) -> bool {
        self.as_slice() == other
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn converts_only_when_read() {
        let values: Vec<Value> =
            vec![Message::human("hi").with_id("h").into_value(), Message::tool("3", "c1").with_id("t").into_value()];
        let h = History::lazy(vec![], values.clone()).expect("canonical");
        assert_eq!(h.len(), 2);
        assert!(h.messages.get().is_none(), "len does not convert");
        assert_eq!(h.values(), values);
        assert_eq!(h[1].tool_call_id(), Some("c1"));
        assert_eq!(h, vec![Message::human("hi").with_id("h"), Message::tool("3", "c1").with_id("t")]);
    }

    #[test]
    fn edits_drop_the_values() {
        let mut h =
            History::lazy(vec![Message::system("be brief")], vec![Message::human("hi").with_id("h").into_value()])
                .unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(h.values()[0]["content"], json!("be brief"));
        h.push(Message::ai("yo"));
        assert_eq!(h.len(), 3);
        assert_eq!(h[0], Message::system("be brief"));
        assert_eq!(h.values()[2]["content"], json!("yo"));
    }

    #[test]
    fn non_canonical_values_are_not_lazy() {
        assert!(History::lazy(vec![], vec![json!(["user", "hi"]).into()]).is_none());
        let bad_status = json!({"type": "tool", "content": "x", "id": "t", "name": null, "additional_kwargs": {},
            "response_metadata": {}, "tool_call_id": "c", "artifact": null, "status": "weird"});
        assert!(History::lazy(vec![], vec![bad_status.into()]).is_none());
    }
}
