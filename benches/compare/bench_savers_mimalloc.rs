//! `bench_savers` with mimalloc as the global allocator (as `bench_shapes_mimalloc` is for
//! `bench_shapes`): saving checkpoints is allocation-heavy, and an application chooses its
//! allocator; `compare.py --savers --saver-binary <this>` measures it.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "bench_savers.rs"]
mod bench_savers;

fn main() {
    bench_savers::main();
}
