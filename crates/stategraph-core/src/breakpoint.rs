//! Breakpoints: per-run pauses beyond `interrupt_before` / `interrupt_after`.

use std::fmt;
use std::sync::Arc;

use crate::value::Value;

/// Whether a breakpoint is checked before its node runs or after it ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BreakpointPosition {
    /// Before the step in which the node would run (the node has not run yet).
    Before,
    /// After the step in which the node ran (its writes are applied and saved).
    After,
}

/// A predicate over the graph's state (the values `get_state` shows) deciding whether a breakpoint
/// fires. It must be cheap and must not panic.
pub type BreakpointCondition = Arc<dyn Fn(&Value) -> bool + Send + Sync>;

/// A place where a run pauses, beyond `interrupt_before` / `interrupt_after`: a condition over
/// the state, an edge being taken, a place inside a subgraph.
///
/// A breakpoint pauses the run exactly as a static interrupt does: the step's checkpoint is saved,
/// the thread's state names the nodes to run next, and invoking the thread with `Value::Null`
/// continues. A breakpoint never fires twice at the same place: like static interrupts, it only
/// fires when some channel changed since the run was last resumed. Breakpoints need a
/// checkpointer and a thread, as interrupts do.
///
/// ```
/// use stategraph_core::{Breakpoint, RunConfig, Value};
///
/// // Pause before `review` once `count` exceeds 3, and whenever `plan -> act` is taken.
/// let config = RunConfig::new()
///     .with_breakpoint(Breakpoint::before("review").when(|state: &Value| {
///         state.get("count").and_then(Value::as_i64).is_some_and(|c| c > 3)
///     }))
///     .with_breakpoint(Breakpoint::edge("plan", "act"));
/// assert_eq!(config.breakpoints.len(), 2);
/// ```
#[derive(Clone)]
pub struct Breakpoint {
    /// Before or after the node.
    pub position: BreakpointPosition,
    /// The node, or `"*"` for every node (stepping superstep by superstep).
    pub node: String,
    /// Only for [`Before`](BreakpointPosition::Before): fire only when this node ran in the step
    /// just finished — the edge `from -> node` is being taken.
    pub from: Option<String>,
    /// Fire only when this holds for the state at that point.
    pub condition: Option<BreakpointCondition>,
    /// The subgraph the breakpoint lives in, as the names of the nodes that lead to it from the
    /// root graph (empty: the root graph). `["research"]` places it in the graph run by node
    /// `research`; `["*"]` in every subgraph one level down.
    pub subgraph: Vec<String>,
}

impl Breakpoint {
    /// Pauses before `node` runs (`"*"`: before every step).
    pub fn before(node: impl Into<String>) -> Self {
        Breakpoint {
            position: BreakpointPosition::Before,
            node: node.into(),
            from: None,
            condition: None,
            subgraph: Vec::new(),
        }
    }
    /// Pauses after `node` ran (`"*"`: after every step).
    pub fn after(node: impl Into<String>) -> Self {
        Breakpoint { position: BreakpointPosition::After, ..Breakpoint::before(node) }
    }
    /// Pauses when the edge `from -> to` is taken: before `to` runs in the step after `from` ran.
    pub fn edge(from: impl Into<String>, to: impl Into<String>) -> Self {
        Breakpoint { from: Some(from.into()), ..Breakpoint::before(to) }
    }
    /// Fires only when `condition` holds for the state.
    pub fn when(mut self, condition: impl Fn(&Value) -> bool + Send + Sync + 'static) -> Self {
        self.condition = Some(Arc::new(condition));
        self
    }
    /// Places the breakpoint in a subgraph (see [`subgraph`](Breakpoint::subgraph)).
    pub fn in_subgraph<S: Into<String>>(mut self, path: impl IntoIterator<Item = S>) -> Self {
        self.subgraph = path.into_iter().map(Into::into).collect();
        self
    }

    /// Whether the breakpoint applies in the run at `namespace` (LangGraph's checkpoint namespace,
    /// `node:task|node:task`).
    pub(crate) fn applies_in(&self, namespace: &str) -> bool {
        let path: Vec<&str> = if namespace.is_empty() {
            Vec::new()
        } else {
            namespace.split('|').map(|p| p.split(':').next().unwrap_or(p)).collect()
        };
        path.len() == self.subgraph.len() && path.iter().zip(&self.subgraph).all(|(p, s)| s == "*" || s == p)
    }

    /// Whether the breakpoint fires at `position`, given the nodes about to run (`Before`) or that
    /// just ran (`After`), the nodes of the previous step, and the state.
    pub(crate) fn fires(
        &self,
        position: BreakpointPosition,
        nodes: &[&str],
        previous: &[&str],
        state: impl FnOnce() -> Value,
    ) -> bool {
        if self.position != position || !nodes.iter().any(|n| self.node == "*" || self.node == *n) {
            return false;
        }
        if let Some(from) = &self.from
            && !previous.iter().any(|n| n == from)
        {
            return false;
        }
        self.condition.as_ref().is_none_or(|c| c(&state()))
    }
}

impl fmt::Debug for Breakpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Breakpoint")
            .field("position", &self.position)
            .field("node", &self.node)
            .field("from", &self.from)
            .field("condition", &self.condition.as_ref().map(|_| "<fn>"))
            .field("subgraph", &self.subgraph)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_only_in_its_subgraph() {
        let root = Breakpoint::before("a");
        assert!(root.applies_in(""));
        assert!(!root.applies_in("child:1234"));
        let child = Breakpoint::before("a").in_subgraph(["child"]);
        assert!(child.applies_in("child:1234"));
        assert!(!child.applies_in(""));
        assert!(!child.applies_in("other:1"));
        assert!(!child.applies_in("child:1|grand:2"));
        assert!(Breakpoint::before("a").in_subgraph(["*", "grand"]).applies_in("child:1|grand:2"));
    }

    #[test]
    fn fires_on_node_edge_and_condition() {
        let st = || Value::from(serde_json::json!({"count": 4}));
        assert!(Breakpoint::before("b").fires(BreakpointPosition::Before, &["b"], &[], st));
        assert!(!Breakpoint::before("b").fires(BreakpointPosition::After, &["b"], &[], st));
        assert!(!Breakpoint::before("b").fires(BreakpointPosition::Before, &["c"], &[], st));
        assert!(Breakpoint::before("*").fires(BreakpointPosition::Before, &["c"], &[], st));
        assert!(Breakpoint::edge("a", "b").fires(BreakpointPosition::Before, &["b"], &["a"], st));
        assert!(!Breakpoint::edge("a", "b").fires(BreakpointPosition::Before, &["b"], &["x"], st));
        let gt = |n: i64| move |s: &Value| s.get("count").and_then(Value::as_i64).is_some_and(|c| c > n);
        assert!(Breakpoint::after("b").when(gt(3)).fires(BreakpointPosition::After, &["b"], &[], st));
        assert!(!Breakpoint::after("b").when(gt(4)).fires(BreakpointPosition::After, &["b"], &[], st));
    }
}
