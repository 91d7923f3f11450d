//! `bench_shapes` with mimalloc as the global allocator.
//!
//! glibc's malloc hands freed heap back to the kernel after each run and page-faults it in again
//! on the next; for shapes that allocate large strings (react_agent) that is a large share of the
//! time. Applications embedding the engine choose their allocator; `compare.py` reports both.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "bench_shapes.rs"]
mod bench_shapes;

fn main() {
    bench_shapes::main();
}
