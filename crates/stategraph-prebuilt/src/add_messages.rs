//! The `add_messages` reducer and `MessagesState`.

use std::collections::HashMap;
use std::sync::Arc;

use stategraph_core::{ChannelSpec, Reducer, Schema, Value};

use crate::error::{Error, Result};
use crate::message::{REMOVE_ALL_MESSAGES, coerce_message, is_canonical};

/// The state key [`MessagesState`] keeps the conversation under.
pub const MESSAGES_KEY: &str = "messages";

/// Merges two message lists with LangGraph's `add_messages` semantics:
/// - both sides are coerced to messages ([`coerce_message`](crate::coerce_message)); a side that
///   is not a list counts as a list of one;
/// - messages without an id get a fresh uuid4;
/// - a message of `right` whose id is already present replaces it, in place; any other is
///   appended;
/// - a remove marker deletes the message with its id (an error when there is none), and
///   [`Message::remove_all`](crate::Message::remove_all) drops everything before it, `left` included.
///
/// Messages are returned in LangChain's dict shape.
///
/// ```
/// use serde_json::json;
/// use stategraph_prebuilt::add_messages;
///
/// let left = json!([{"type": "human", "content": "hi", "id": "1"}]).into();
/// let right = json!([{"type": "human", "content": "hello", "id": "1"}, ["ai", "hey"]]).into();
/// let merged = add_messages(left, right).unwrap();
/// assert_eq!(merged[0]["content"], json!("hello"));
/// assert_eq!(merged[1]["type"], json!("ai"));
/// assert!(merged[1]["id"].as_str().is_some());
/// ```
pub fn add_messages(left: Value, right: Value) -> Result<Value> {
    let mut left = left;
    add_messages_in_place(&mut left, right)?;
    Ok(left)
}

/// Turns a value into a list of items, reusing the list when nobody else holds it.
fn into_items(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => Arc::try_unwrap(a).unwrap_or_else(|a| a.to_vec()),
        // LangGraph would reject a `None` left side; a channel without a value is simply empty.
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// Coerces an item to the canonical dict shape with an id. Returns whether the id was generated
/// (a fresh uuid cannot collide with anything, so the merge need not look it up).
fn normalize(item: Value) -> Result<(Value, bool)> {
    if is_canonical(&item) {
        return Ok((item, false));
    }
    let mut message = coerce_message(&item)?;
    let fresh = message.id.is_none();
    if fresh {
        message.id = Some(uuid::Uuid::new_v4().to_string());
    }
    Ok((message.into_value(), fresh))
}

fn id_of(v: &Value) -> &str {
    v["id"].as_str().unwrap_or_default()
}

fn is_remove(v: &Value) -> bool {
    v["type"] == "remove"
}

/// [`add_messages`] writing into `current` (the reducer channel's value), so that appending to a
/// long history copies nothing when no reader holds the list.
pub fn add_messages_in_place(current: &mut Value, right: Value) -> Result<()> {
    let mut left = into_items(std::mem::take(current));
    for item in left.iter_mut() {
        if !is_canonical(item) {
            *item = normalize(std::mem::take(item))?.0;
        }
    }
    let right = into_items(right).into_iter().map(normalize).collect::<Result<Vec<_>>>()?;

    if let Some(last_remove_all) = right.iter().rposition(|(m, _)| is_remove(m) && id_of(m) == REMOVE_ALL_MESSAGES) {
        *current = Value::from(right.into_iter().skip(last_remove_all + 1).map(|(m, _)| m).collect::<Vec<_>>());
        return Ok(());
    }

    // The index of left's ids is built only when some incoming message brings its own id.
    let mut index: Option<HashMap<String, usize>> = None;
    let mut to_remove: Vec<String> = Vec::new();
    for (message, fresh) in right {
        if fresh {
            left.push(message);
            continue;
        }
        let index = index.get_or_insert_with(|| {
            left.iter().enumerate().map(|(i, m)| (id_of(m).to_owned(), i)).collect::<HashMap<_, _>>()
        });
        let id = id_of(&message).to_owned();
        match index.get(&id) {
            Some(&at) => {
                if is_remove(&message) {
                    to_remove.push(id);
                } else {
                    to_remove.retain(|r| *r != id);
                    left[at] = message;
                }
            }
            None => {
                if is_remove(&message) {
                    return Err(Error::RemoveMissing(id));
                }
                index.insert(id, left.len());
                left.push(message);
            }
        }
    }
    if !to_remove.is_empty() {
        left.retain(|m| !to_remove.iter().any(|r| r == id_of(m)));
    }
    *current = Value::from(left);
    Ok(())
}

/// The `add_messages` reducer, to register on a state key.
///
/// ```
/// use serde_json::json;
/// use stategraph_core::{ChannelSpec, Schema};
/// use stategraph_prebuilt::add_messages_reducer;
///
/// let schema = Schema::new()
///     .key("history", ChannelSpec::reducer(add_messages_reducer()).with_default(json!([])));
/// assert!(schema.contains("history"));
/// ```
pub fn add_messages_reducer() -> Reducer {
    Reducer::new("add_messages", |current, update| add_messages_in_place(current, update).map_err(|e| e.to_string()))
}

/// A channel for a message list: [`add_messages_reducer`] starting from an empty list (like
/// LangGraph's `Annotated[list[AnyMessage], add_messages]`, so the first write is coerced too).
pub fn messages_channel() -> ChannelSpec {
    ChannelSpec::reducer(add_messages_reducer()).with_default(Value::array())
}

/// LangGraph's `MessagesState`: a schema with one key, `messages`, reduced by
/// [`add_messages`]. Extend it with more keys through [`Schema`]'s builder.
///
/// ```
/// use serde_json::json;
/// use stategraph_core::{NodeContext, NodeError, RunConfig, State, StateGraph, END, START};
/// use stategraph_prebuilt::MessagesState;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let mut graph = StateGraph::new(MessagesState::schema());
/// graph
///     .add_node("bot", |_s: State, _c: NodeContext| async {
///         Ok::<_, NodeError>(json!({"messages": [["ai", "hello"]]}))
///     })
///     .add_edge(START, "bot")
///     .add_edge("bot", END);
/// let out = graph.compile().unwrap().invoke(json!({"messages": "hi"}), RunConfig::default()).await.unwrap();
/// assert_eq!(out["messages"][1]["content"], json!("hello"));
/// # });
/// ```
#[derive(Debug, Clone, Copy)]
pub struct MessagesState;

impl MessagesState {
    /// The schema: `messages` with [`messages_channel`].
    pub fn schema() -> Schema {
        Schema::new().key(MESSAGES_KEY, messages_channel())
    }
}
