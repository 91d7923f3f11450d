use serde::{Deserialize, Serialize};
use stategraph::State;

#[derive(State, Serialize, Deserialize)]
enum Mode {
    Fast,
    Slow,
}

#[derive(State, Serialize, Deserialize)]
struct Pair(i64, i64);

fn main() {}
