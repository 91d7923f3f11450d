//! Breakpoint conditions written as expressions, for debuggers (the studio, the server's
//! `breakpoints` run option): the same Rhai sandbox and limits as a spec's edge conditions.

use std::sync::Arc;

use stategraph_core::{BreakpointCondition, Value};

use crate::sandbox::{Sandbox, ScriptLimits};

/// Compiles `expr`, a Rhai expression over `state` (e.g. `state.count > 3`), into a breakpoint
/// condition. Syntax errors and unknown variables are reported here, worded for people.
///
/// At run time the condition holds only when the expression yields `true`: an expression that
/// fails (a missing key compared with a number, a limit hit) or yields anything else does not stop
/// the run, and the failure is logged (`tracing` warn) with the expression.
///
/// ```
/// use serde_json::json;
/// use stategraph_core::Value;
/// use stategraph_spec::{ScriptLimits, breakpoint_condition};
/// let when = breakpoint_condition("state.count > 3", &ScriptLimits::default()).unwrap();
/// assert!(when(&Value::from(json!({"count": 4}))));
/// assert!(!when(&Value::from(json!({"count": 3}))));
/// assert!(!when(&Value::from(json!({}))), "a missing key does not stop the run");
/// let bad = breakpoint_condition("state.count >", &ScriptLimits::default());
/// assert!(bad.err().unwrap().contains("syntax error"));
/// ```
pub fn breakpoint_condition(expr: &str, limits: &ScriptLimits) -> Result<BreakpointCondition, String> {
    let sandbox = Arc::new(Sandbox::new(limits.clone()));
    let program = sandbox.compile(expr).map_err(|e| e.describe())?;
    let expr = expr.to_owned();
    let timeout = limits.timeout;
    Ok(Arc::new(move |state: &Value| match sandbox.run_on_value(&program, state, timeout) {
        Ok(v) => match v.as_bool() {
            Ok(b) => b,
            Err(type_name) => {
                tracing::warn!(condition = %expr, "breakpoint condition gave a {type_name}, not a boolean");
                false
            }
        },
        Err(e) => {
            tracing::warn!(condition = %expr, "breakpoint condition failed{}", e.describe());
            false
        }
    }))
}
