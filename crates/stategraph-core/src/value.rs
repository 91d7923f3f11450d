//! The engine's value type ([`stategraph_value`]), re-exported, and an internal object builder.

pub use stategraph_value::{Map, Number, Value};

/// Builds an object from `key => value` pairs (values converted with `Value::from`).
macro_rules! obj {
    ($($k:expr => $v:expr),* $(,)?) => {
        $crate::value::Value::from(<$crate::value::Map as ::std::iter::FromIterator<_>>::from_iter([
            $((::std::sync::Arc::<str>::from($k), $crate::value::Value::from($v))),*
        ]))
    };
}
pub(crate) use obj;
