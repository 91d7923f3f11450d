//! Live progress of `stategraph run` on a terminal: one line per task with its step, node, status
//! (running, done, error, interrupted) and time, redrawn in place with ANSI escapes while tasks
//! run, and a closing line with the outcome. Fed by the engine's `debug` stream events of the
//! graph itself (subgraphs run inside their node's line). Written to stderr, so stdout keeps the
//! machine-readable output.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::Value;

/// When to draw progress (`--progress`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ProgressMode {
    /// When stderr is a terminal.
    Auto,
    /// Always (ANSI escapes even into a file or pipe).
    Always,
    /// Never.
    Never,
}

impl ProgressMode {
    /// Whether progress is drawn, given whether stderr is a terminal.
    pub(crate) fn enabled(self, stderr_is_terminal: bool) -> bool {
        match self {
            ProgressMode::Auto => stderr_is_terminal && std::env::var_os("NO_PROGRESS").is_none(),
            ProgressMode::Always => true,
            ProgressMode::Never => false,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Status {
    Running,
    Done,
    Error(String),
    Interrupted,
}

struct Row {
    id: String,
    step: i64,
    node: String,
    status: Status,
    started: Instant,
    took: Option<Duration>,
}

/// The progress display: task rows of the current step are live (redrawn), earlier ones are
/// final.
pub(crate) struct Progress<W: Write> {
    out: W,
    started: Instant,
    rows: Vec<Row>,
    /// Rows before this index are final and never redrawn.
    settled: usize,
    /// Lines drawn for the live region last time (to move back over them).
    drawn: usize,
    last_step: i64,
}

const RESET: &str = "\x1b[0m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";

impl<W: Write> Progress<W> {
    /// A display writing to `out`, with `name` (the graph's) in its first line.
    pub(crate) fn new(mut out: W, name: &str) -> Self {
        let _ = writeln!(out, "{BOLD}▶ {name}{RESET}");
        Progress { out, started: Instant::now(), rows: Vec::new(), settled: 0, drawn: 0, last_step: -1 }
    }

    /// Takes one `debug` event of the graph itself (`{type, step, payload}`).
    pub(crate) fn event(&mut self, event: &Value) {
        let step = event["step"].as_i64().unwrap_or(0);
        let payload = &event["payload"];
        let id = payload["id"].as_str().unwrap_or_default();
        match event["type"].as_str() {
            Some("task") => {
                if step != self.last_step {
                    // A new step: the earlier rows are final.
                    self.redraw();
                    self.settled = self.rows.len();
                    self.drawn = 0;
                    self.last_step = step;
                }
                self.rows.push(Row {
                    id: id.to_owned(),
                    step,
                    node: payload["name"].as_str().unwrap_or("?").to_owned(),
                    status: Status::Running,
                    started: Instant::now(),
                    took: None,
                });
            }
            Some("task_result") => {
                if let Some(row) = self.rows.iter_mut().rev().find(|r| r.id == id) {
                    row.took = Some(row.started.elapsed());
                    row.status = if !payload["error"].is_null() {
                        Status::Error(error_text(&payload["error"]))
                    } else if payload["interrupts"].as_array().is_some_and(|i| !i.is_empty()) {
                        Status::Interrupted
                    } else {
                        Status::Done
                    };
                }
            }
            _ => return,
        }
        self.redraw();
    }

    /// Redraws the live region (also called on a timer, so running times tick).
    pub(crate) fn redraw(&mut self) {
        let mut text = String::new();
        if self.drawn > 0 {
            text.push_str(&format!("\x1b[{}A", self.drawn));
        }
        let live = &self.rows[self.settled..];
        for row in live {
            text.push_str("\r\x1b[2K");
            text.push_str(&line(row));
            text.push('\n');
        }
        self.drawn = live.len();
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }

    /// The closing line: how the run ended, after how many steps and how long.
    pub(crate) fn finish(&mut self, outcome: Outcome<'_>) {
        self.redraw();
        let steps = self.last_step.max(0);
        let elapsed = format_duration(self.started.elapsed());
        let plural = if steps == 1 { "" } else { "s" };
        let text = match outcome {
            Outcome::Done => format!("\x1b[32m✔ done{RESET} in {steps} step{plural}, {elapsed}"),
            Outcome::Interrupted => {
                format!(
                    "\x1b[35m⏸ interrupted{RESET} after {steps} step{plural}, {elapsed} (continue with `stategraph resume`)"
                )
            }
            Outcome::Failed(e) => format!("\x1b[31m✘ failed{RESET} after {elapsed}: {e}"),
        };
        let _ = writeln!(self.out, "{text}");
        let _ = self.out.flush();
    }
}

/// How a run ended.
pub(crate) enum Outcome<'a> {
    /// It finished.
    Done,
    /// It paused (an interrupt or a static breakpoint).
    Interrupted,
    /// It failed with this error.
    Failed(&'a str),
}

fn line(row: &Row) -> String {
    let (mark, status) = match &row.status {
        Status::Running => ("\x1b[33m●", "running".to_owned()),
        Status::Done => ("\x1b[32m✔", "done".to_owned()),
        Status::Error(e) => ("\x1b[31m✘", format!("error: {e}")),
        Status::Interrupted => ("\x1b[35m⏸", "interrupted".to_owned()),
    };
    let took = format_duration(row.took.unwrap_or_else(|| row.started.elapsed()));
    format!("{DIM}step {:>3}{RESET}  {mark}{RESET} {:<24} {status:<12} {DIM}{took}{RESET}", row.step, row.node)
}

fn error_text(error: &Value) -> String {
    let text = match error {
        Value::String(s) => s.clone(),
        Value::Object(o) => match (o.get("type").and_then(Value::as_str), o.get("message").and_then(Value::as_str)) {
            (Some(t), Some(m)) => format!("{t}: {m}"),
            (None, Some(m)) => m.to_owned(),
            _ => error.to_string(),
        },
        other => other.to_string(),
    };
    let first = text.lines().next().unwrap_or_default();
    if first.chars().count() > 100 {
        format!("{}…", first.chars().take(100).collect::<String>())
    } else {
        first.to_owned()
    }
}

fn format_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) { format!("{} ms", d.as_millis()) } else { format!("{:.1} s", d.as_secs_f64()) }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn task(step: i64, id: &str, name: &str) -> Value {
        json!({"type": "task", "step": step, "payload": {"id": id, "name": name}})
    }

    fn result(step: i64, id: &str, name: &str, error: Value, interrupts: Value) -> Value {
        json!({"type": "task_result", "step": step, "payload": {"id": id, "name": name, "error": error, "interrupts": interrupts}})
    }

    fn visible(bytes: &[u8]) -> String {
        // Drop the escapes: what a terminal would show, line by line, appended.
        let text = String::from_utf8_lossy(bytes);
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else if c != '\r' {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn rows_go_from_running_to_their_outcome_and_earlier_steps_stay() {
        let mut buf = Vec::new();
        {
            let mut p = Progress::new(&mut buf, "g");
            p.event(&task(1, "t1", "fetch"));
            p.event(&task(1, "t2", "parse"));
            p.event(&result(1, "t1", "fetch", Value::Null, json!([])));
            p.event(&result(1, "t2", "parse", json!({"type": "ValueError", "message": "bad\nmore"}), json!([])));
            p.event(&task(2, "t3", "ask"));
            p.event(&result(2, "t3", "ask", Value::Null, json!([{"value": "?"}])));
            p.finish(Outcome::Interrupted);
        }
        let shown = visible(&buf);
        assert!(shown.contains("step   1  ● fetch") && shown.contains("running"), "{shown}");
        assert!(shown.contains("✔ fetch") && shown.contains("done"), "{shown}");
        assert!(shown.contains("✘ parse                    error: ValueError: bad"), "{shown}");
        assert!(shown.contains("step   2  ⏸ ask") && shown.contains("interrupted"), "{shown}");
        assert!(shown.contains("⏸ interrupted after 2 steps"), "{shown}");
        // The step-2 redraw moves back over step 2's single row only: step 1 stays on screen.
        let raw = String::from_utf8_lossy(&buf);
        let after_step_2 = &raw[raw.find("ask").unwrap()..];
        assert!(after_step_2.contains("\x1b[1A") && !after_step_2.contains("\x1b[2A"), "{raw:?}");
    }

    #[test]
    fn auto_draws_only_on_a_terminal() {
        assert!(ProgressMode::Always.enabled(false));
        assert!(!ProgressMode::Never.enabled(true));
        assert!(!ProgressMode::Auto.enabled(false));
    }
}
