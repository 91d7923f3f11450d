use serde::{Deserialize, Serialize};
use stategraph::State;

#[derive(State, Serialize, Deserialize)]
struct Totals {
    #[reducer(sum)]
    total: i64,
}

#[derive(State, Serialize, Deserialize)]
struct Log {
    #[reducer(append)]
    lines: String,
}

fn main() {}
