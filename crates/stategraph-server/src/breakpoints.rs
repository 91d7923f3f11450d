//! The `breakpoints` run option (ours; LangGraph's servers ignore it): pauses beyond
//! `interrupt_before` / `interrupt_after` for debuggers such as the studio.
//!
//! ```json
//! "breakpoints": [
//!   {"node": "review", "position": "before", "when": "state.count > 3"},
//!   {"from": "plan", "node": "act"},
//!   {"node": "*", "position": "after", "subgraph": ["research"]}
//! ]
//! ```
//! `position` defaults to `before`; `from` (an edge being taken) is only valid before; `when` is a
//! Rhai expression over `state` (the spec format's expression language); `subgraph` is the path
//! of node names from the root graph to the graph the breakpoint lives in.

use serde_json::Value as Json;
use stategraph_core::Breakpoint;
use stategraph_spec::{ScriptLimits, breakpoint_condition};

use crate::error::{ApiResult, ServerError};

/// Most breakpoints one run may carry.
const MAX_BREAKPOINTS: usize = 256;

fn bad(i: usize, message: impl std::fmt::Display) -> ServerError {
    ServerError::Unprocessable(format!("breakpoints[{i}]: {message}"))
}

fn opt_str<'a>(item: &'a Json, i: usize, key: &str) -> ApiResult<Option<&'a str>> {
    match item.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s)),
        Some(other) => Err(bad(i, format!("`{key}` must be a string, not {other}"))),
    }
}

/// Parses the `breakpoints` field of a run body (absent or null: none).
pub(crate) fn parse(body: &Json) -> ApiResult<Vec<Breakpoint>> {
    let items = match body.get("breakpoints") {
        None | Some(Json::Null) => return Ok(Vec::new()),
        Some(Json::Array(items)) => items,
        Some(other) => {
            return Err(ServerError::Unprocessable(format!("`breakpoints` must be a list, not {other}")));
        }
    };
    if items.len() > MAX_BREAKPOINTS {
        return Err(ServerError::Unprocessable(format!("at most {MAX_BREAKPOINTS} breakpoints per run")));
    }
    items.iter().enumerate().map(|(i, item)| parse_one(i, item)).collect()
}

fn parse_one(i: usize, item: &Json) -> ApiResult<Breakpoint> {
    if !item.is_object() {
        return Err(bad(i, format!("must be an object, not {item}")));
    }
    let node = opt_str(item, i, "node")?.ok_or_else(|| bad(i, "`node` is required (a node name or \"*\")"))?;
    let from = opt_str(item, i, "from")?;
    let mut bp = match (opt_str(item, i, "position")?.unwrap_or("before"), from) {
        ("before", Some(from)) => Breakpoint::edge(from, node),
        ("before", None) => Breakpoint::before(node),
        ("after", None) => Breakpoint::after(node),
        ("after", Some(_)) => return Err(bad(i, "`from` (an edge) only works with position \"before\"")),
        (other, _) => return Err(bad(i, format!("`position` must be \"before\" or \"after\", not \"{other}\""))),
    };
    if let Some(expr) = opt_str(item, i, "when")? {
        let condition =
            breakpoint_condition(expr, &ScriptLimits::default()).map_err(|e| bad(i, format!("`when`: {e}")))?;
        bp.condition = Some(condition);
    }
    match item.get("subgraph") {
        None | Some(Json::Null) => {}
        Some(Json::Array(path)) => {
            let path = path
                .iter()
                .map(|p| p.as_str().map(str::to_owned).ok_or_else(|| bad(i, "`subgraph` must be a list of node names")))
                .collect::<ApiResult<Vec<_>>>()?;
            bp = bp.in_subgraph(path);
        }
        Some(_) => return Err(bad(i, "`subgraph` must be a list of node names")),
    }
    Ok(bp)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn parses_every_form_and_names_the_bad_item() {
        let bps = super::parse(&json!({"breakpoints": [
            {"node": "a"},
            {"node": "b", "position": "after", "when": "state.n > 1"},
            {"from": "a", "node": "b"},
            {"node": "*", "subgraph": ["child"]}
        ]}))
        .unwrap();
        assert_eq!(bps.len(), 4);
        assert_eq!(bps[1].position, stategraph_core::BreakpointPosition::After);
        assert!(bps[1].condition.is_some());
        assert_eq!(bps[2].from.as_deref(), Some("a"));
        assert_eq!(bps[3].subgraph, vec!["child"]);
        assert!(super::parse(&json!({})).unwrap().is_empty());

        let err = |body| super::parse(&body).unwrap_err().to_string();
        assert!(err(json!({"breakpoints": [{"node": "a"}, {"position": "before"}]})).contains("breakpoints[1]"));
        assert!(err(json!({"breakpoints": [{"node": "a", "when": "state.n >"}]})).contains("syntax error"));
        assert!(err(json!({"breakpoints": [{"node": "a", "from": "x", "position": "after"}]})).contains("only works"));
        assert!(err(json!({"breakpoints": "a"})).contains("must be a list"));
    }
}
