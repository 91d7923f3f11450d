//! The `add_messages` reducer and `MessagesState`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use stategraph_core::{ChannelSpec, Reducer, Schema, Value};

use crate::error::{Error, Result};
use crate::message::{REMOVE_ALL_MESSAGES, coerce_message, is_canonical, is_canonical_but_id};

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
    if is_canonical_but_id(&item)
        && let Value::Object(mut m) = item
    {
        // What coercing would give, without copying the content: only the id is new.
        Arc::make_mut(&mut m).insert("id".into(), Value::from(uuid::Uuid::new_v4().to_string()));
        return Ok((Value::Object(m), true));
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
    merge_in_place(current, right, None).map(drop)
}

/// The positions of a list's messages by id.
type IdIndex = HashMap<String, usize>;

/// [`add_messages_in_place`]. With `known`, `current` is a list this reducer wrote: its messages
/// are canonical, so they are not checked again, and the index of their ids is given when it was
/// built. Returns the index of the result when there is one.
fn merge_in_place(current: &mut Value, right: Value, known: Option<Option<IdIndex>>) -> Result<Option<IdIndex>> {
    let mut left = into_items(std::mem::take(current));
    let left_canonical = known.is_some();
    if !left_canonical {
        for item in left.iter_mut() {
            if !is_canonical(item) {
                *item = normalize(std::mem::take(item))?.0;
            }
        }
    }
    let right = into_items(right).into_iter().map(normalize).collect::<Result<Vec<_>>>()?;

    if let Some(last_remove_all) = right.iter().rposition(|(m, _)| is_remove(m) && id_of(m) == REMOVE_ALL_MESSAGES) {
        *current = Value::from(right.into_iter().skip(last_remove_all + 1).map(|(m, _)| m).collect::<Vec<_>>());
        return Ok(None);
    }

    // The index of left's ids is built only when some incoming message brings its own id (and
    // then kept with the list, for the next write).
    let mut index: Option<IdIndex> = known.flatten();
    let mut to_remove: Vec<String> = Vec::new();
    for (message, fresh) in right {
        if fresh {
            if let Some(index) = index.as_mut() {
                index.insert(id_of(&message).to_owned(), left.len());
            }
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
        // The positions moved.
        index = None;
    }
    *current = Value::from(left);
    Ok(index)
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
    let written = Written::default();
    Reducer::new("add_messages", move |current, update| {
        let known = written.take(current);
        let index = merge_in_place(current, update, known).map_err(|e| e.to_string())?;
        written.remember(current, index);
        Ok(())
    })
}

/// The lists a reducer wrote lately (all canonical), held weakly, with the index of their ids when
/// one was built: when the channel hands one back on the next step, its messages need not be
/// checked again nor its ids indexed again, so appending to a conversation costs O(new messages)
/// rather than O(history).
///
/// Sound because a list is immutable while a weak reference to it exists (`Arc::get_mut` refuses
/// and `Arc::make_mut` moves it), and its address is not reused while the weak reference keeps the
/// allocation.
#[derive(Default)]
struct Written(Mutex<Vec<WrittenList>>);

/// A list a reducer wrote, and the index of its ids if one was built.
type WrittenList = (Weak<Vec<Value>>, Option<IdIndex>);

impl Written {
    /// At most this many lists are remembered (one per run in flight, typically).
    const MAX: usize = 32;

    /// Whether `v` is a list remembered (then forgotten, as the reducer replaces it), with its
    /// index.
    fn take(&self, v: &Value) -> Option<Option<IdIndex>> {
        let Value::Array(a) = v else { return None };
        let ptr = Arc::as_ptr(a);
        let mut lists = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let at = lists.iter().position(|(w, _)| w.as_ptr() == ptr)?;
        Some(lists.swap_remove(at).1)
    }

    fn remember(&self, v: &Value, index: Option<IdIndex>) {
        let Value::Array(a) = v else { return };
        let mut lists = self.0.lock().unwrap_or_else(|e| e.into_inner());
        lists.retain(|(w, _)| w.strong_count() > 0);
        if lists.len() >= Self::MAX {
            lists.remove(0);
        }
        lists.push((Arc::downgrade(a), index));
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Message, ToolStatus};

    /// The reducer, which remembers the lists it wrote and their id index, merges as
    /// `add_messages_in_place` does.
    #[test]
    fn reducer_with_remembered_lists_merges_the_same() {
        use serde_json::json;
        let reducer = add_messages_reducer();
        let updates = [
            json!([{"type": "human", "content": "a", "id": "1"}]),
            json!([{"type": "ai", "content": "b", "id": "2"}]),
            json!([{"type": "tool", "content": "c", "tool_call_id": "x"}]),
            json!([{"type": "ai", "content": "b2", "id": "2"}, {"type": "human", "content": "d", "id": "3"}]),
            json!([{"type": "ai", "content": "e", "id": "4"}]),
            json!([{"type": "remove", "content": "", "id": "1"}]),
            json!([{"type": "human", "content": "f", "id": "5"}, {"type": "ai", "content": "e2", "id": "4"}]),
            json!([{"type": "human", "content": "g"}]),
            json!([{"type": "ai", "content": "b3", "id": "2"}]),
        ];
        let (mut cached, mut plain) = (Value::array(), Value::array());
        for u in updates {
            reducer.apply(&mut cached, Value::from(u.clone())).unwrap();
            add_messages_in_place(&mut plain, Value::from(u)).unwrap();
            let strip = |v: &Value| -> Vec<(String, String)> {
                v.as_array().unwrap().iter().map(|m| (id_of(m).to_owned(), m["content"].to_string())).collect()
            };
            let (c, p) = (strip(&cached), strip(&plain));
            assert_eq!(c.len(), p.len());
            for ((ci, cc), (pi, pc)) in c.iter().zip(&p) {
                assert_eq!(cc, pc);
                // Generated ids differ; given ones are the same.
                if pi.len() < 5 {
                    assert_eq!(ci, pi);
                }
            }
        }
    }

    /// Setting the id in place gives what coercing the message would.
    #[test]
    fn id_in_place_equals_coercion() {
        let messages = [
            Message::human("hi"),
            Message::system("be brief").with_name("sys"),
            Message::tool("3", "c1").with_name("add"),
            Message::tool_error("boom", "c2"),
        ];
        for m in messages {
            let v = m.clone().into_value();
            assert!(is_canonical_but_id(&v), "{v}");
            let (fast, fresh) = normalize(v.clone()).unwrap();
            assert!(fresh);
            let id = id_of(&fast).to_owned();
            let slow = coerce_message(&v).unwrap().with_id(id).into_value();
            assert_eq!(fast, slow);
            assert_eq!(
                fast.as_object().unwrap().keys().collect::<Vec<_>>(),
                slow.as_object().unwrap().keys().collect::<Vec<_>>()
            );
        }
        assert!(!is_canonical_but_id(&Message::ai("x").into_value()), "AI messages are coerced");
        let mut with_kwargs = Message::tool_error("boom", "c2");
        with_kwargs.additional_kwargs.insert("k".into(), 1.into());
        assert_eq!(with_kwargs.tool_status(), Some(ToolStatus::Error));
        assert!(!is_canonical_but_id(&with_kwargs.into_value()));
    }
}
