//! Derive macros for Stategraph. Use them through the `stategraph` crate
//! (`stategraph::State`, also in `stategraph::prelude`), whose `typed` module has runnable
//! examples; the generated code refers to `::stategraph` paths.

mod attrs;
mod expand;
mod serde_attrs;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives a typed state: `stategraph::typed::StateSchema` (one channel per field) and a
/// partial-update struct `<Name>Update`.
///
/// The struct must also derive `serde::Serialize` and `serde::Deserialize`: nodes read the state
/// as the struct and the run's output is read back into it.
///
/// ```ignore
/// use serde::{Deserialize, Serialize};
/// use stategraph::prelude::*;
///
/// #[derive(State, Serialize, Deserialize, Debug, Clone)]
/// struct Chat {
///     #[reducer(add)]
///     messages: Vec<String>,
///     #[validate(length(min = 1, max = 40), pattern = "^[a-z ]+$")]
///     topic: String,
///     #[validate(range(min = 0, max = 100))]
///     score: i64,
///     #[state(managed = "remaining_steps")]
///     #[serde(default)]
///     remaining_steps: i64,
/// }
/// // Generated: `impl StateSchema for Chat` and
/// // `struct ChatUpdate { messages: Option<Vec<String>>, topic: Option<String>, score: Option<i64> }`.
/// ```
///
/// # Field attributes
///
/// Channel (at most one per field; default: LastValue, a key that keeps the last value written):
/// - `#[reducer(add)]`, `append`, `extend`, `merge`, `min`, `max`: the built-in reducers. The
///   key starts at the field type's `Default` value serialized (e.g. `[]`), as LangGraph starts a
///   reducer key at its type's default.
/// - `#[reducer(fn = path::to::function)]`: a reducer
///   `fn(serde_json::Value, serde_json::Value) -> Result<serde_json::Value, String>` taking the
///   current value and the update. Also starts at the type's default.
/// - `#[state(ephemeral)]`, `#[state(topic)]`, `#[state(topic(accumulate))]`,
///   `#[state(untracked)]`: those channel kinds.
/// - `#[state(managed = "remaining_steps")]`, `#[state(managed = "is_last_step")]`: a managed
///   value, computed by the engine, readable by nodes, never written (left out of the update
///   struct).
///
/// # The update struct
///
/// `<Name>Update` has the struct's visibility and one `Option` field per key (managed values
/// left out), with the field's visibility; `None` writes nothing. An `Option<T>` field's update
/// is `Option<T>` (not `Option<Option<T>>`), so setting such a key to `null` takes an untyped
/// update; an `append` field (which must be a `Vec<T>`) takes one `T`. It derives `Default`,
/// `Debug`, `Clone` and `Serialize` (so the field types need `Debug` and `Clone`), converts into
/// `NodeOutput`, and is a `stategraph::typed::StateInput`.
///
/// Managed, ephemeral and topic fields are often absent from the state, so they must be an
/// `Option<_>` or have `#[serde(default)]`; the derive rejects them otherwise.
///
/// Validation (any number per field, checked in order; run on the input and after every step
/// that writes the key, and reported as `SG040` naming the field and the node that wrote it;
/// a reducer key is checked after reducing, so `length` bounds the accumulated list; `null`
/// values pass every check, and `custom` on an `Option<T>` field sees only present values):
/// - `#[validate(length(min = 1, max = 10))]`: characters of a string, items of a list, entries
///   of an object.
/// - `#[validate(range(min = 0, max = 100))]`: a number (integer or float bounds).
/// - `#[validate(pattern = "^[a-z]+$")]`: a string matching the regex (unanchored unless the
///   pattern says so; checked when the crate compiles, compiled once at run time).
/// - `#[validate(custom = path::to::function)]`: `fn(&FieldType) -> Result<(), String>`, or a
///   function of what the field type borrows as (`fn(&str)` for a `String`, `fn(&[T])` for a
///   `Vec<T>`); for an `Option<T>` field, a function of `&T` that sees only present values. The
///   value is first read as the field type, so a value of the wrong type fails too.
///
/// # Key names
///
/// The state key is the field's serde name: `#[serde(rename = "...")]` and the struct's
/// `#[serde(rename_all = "...")]` are honoured. `#[serde(skip)]` fields are not state keys;
/// `#[serde(flatten)]` is rejected.
///
/// # Errors
///
/// Enums, tuple and unit structs, generic structs, unknown reducers, state options or
/// validators, bad bounds and invalid patterns are compile errors pointing at the culprit.
#[proc_macro_derive(State, attributes(state, reducer, validate))]
pub fn derive_state(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match attrs::StateStruct::parse(&input) {
        Ok(state) => expand::expand(&state).into(),
        Err(e) => e.to_compile_error().into(),
    }
}
