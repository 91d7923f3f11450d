//! The conformance suite against the in-memory saver.

use std::sync::Arc;

use stategraph_checkpoint::{InMemorySaver, testkit};

#[tokio::test]
async fn memory_passes_the_conformance_suite() {
    testkit::run_all(&InMemorySaver::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_concurrent_writers_on_tokio_tasks() {
    testkit::concurrent_writers_spawned(Arc::new(InMemorySaver::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_put_next_race_has_one_winner() {
    testkit::put_next_race(&[Arc::new(InMemorySaver::new())], 1000).await;
}

#[tokio::test]
async fn memory_matches_itself_under_random_operations() {
    // The model against itself: checks the harness (names, cleanup, comparisons) is sound.
    testkit::compare_with_memory(&InMemorySaver::new(), 64).await;
}
