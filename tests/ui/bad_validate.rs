use serde::{Deserialize, Serialize};
use stategraph::State;

#[derive(State, Serialize, Deserialize)]
struct Signup {
    #[validate(email)]
    address: String,
    #[validate(pattern = "[a-z")]
    handle: String,
    #[validate(length(min = 5, max = 2))]
    name: String,
    #[state(managed = "remaining_steps")]
    remaining: i64,
}

fn main() {}
