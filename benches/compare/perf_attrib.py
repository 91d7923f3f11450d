"""Attributes `perf` samples of `bench_shapes` to engine functions (see HOTSPOTS.md).

    B=$CARGO_TARGET_DIR/release/examples/bench_shapes
    perf record -o /tmp/p.data -F 3000 --call-graph dwarf,16384 $B time --target-ms 1500 SHAPE
    perf script -i /tmp/p.data | python3 benches/compare/perf_attrib.py

Each sample goes to the innermost frame of its stack that matches a category below, so the
percentages add up to 100 and a deep copy made inside, say, `read_fresh_state` counts there and
not in `Clone::clone`. Release builds carry symbols but no line tables, and `perf` unwinds through
inlined code with `.eh_frame`, so functions inlined into their caller count for the caller.
"""

import collections
import re
import sys

CATEGORIES = [
    ("output: algo::read_channels (copies the final state)", r"algo::read_channels"),
    ("router: algo::read_fresh_state (copies written channels)", r"algo::read_fresh_state"),
    ("router: Loop::route, rest (drops the fresh copy, builds Sends)", r"run_loop::Loop::route"),
    ("subgraph node: State::to_value (copies its input)", r"State::to_value"),
    ("START: run_loop::start_output (copies the input)", r"run_loop::start_output"),
    ("run_loop::send_write (json! re-serialises the Send arg)", r"run_loop::send_write"),
    ("node code (SyncNode::call)", r"SyncNode<F> as stategraph_core::node::Node>::call"),
    ("algo::prepare_next_tasks", r"algo::prepare_next_tasks"),
    ("algo::apply_writes", r"algo::apply_writes"),
    ("run end: drop(Loop) (frees channel values)", r"drop_in_place<stategraph_core::pregel::run_loop::Loop>"),
    ("Uuid::now_v7", r"now_v7"),
    ("task ids", r"algo::task_id|TaskIds"),
    ("Loop::new", r"run_loop::Loop::new"),
    ("harness", r"bench_shapes::main"),
]


def categorise(stack: list[str]) -> str:
    """`stack[0]` is the innermost frame."""
    for i, frame in enumerate(stack):
        for name, pattern in CATEGORIES:
            if re.search(pattern, frame):
                if name != "harness":
                    return name
                inner = stack[i - 1] if i > 0 else ""
                if "drop_in_place" in inner or "drop_slow" in inner or "as core::ops::drop::Drop" in inner:
                    return "harness: frees the returned output (timed)"
                if "clone" in inner:
                    return "harness: copies the input (not timed)"
                return "run loop, rest (run_task, output_writes, executor, tracing)"
    if any("stategraph_core::" in frame for frame in stack):
        # e.g. the run loop of a subgraph, below `CompiledGraph::call`
        return "run loop, rest (run_task, output_writes, executor, tracing)"
    return "other"


def main() -> None:
    counts: collections.Counter[str] = collections.Counter()
    stack: list[str] = []
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line.strip():
            if stack:
                counts[categorise(stack)] += 1
            stack = []
        elif line[0] in " \t":
            parts = line.strip().split(None, 1)
            if len(parts) == 2:
                stack.append(parts[1])
    if stack:
        counts[categorise(stack)] += 1
    total = sum(counts.values()) or 1
    for name, n in counts.most_common():
        print(f"{100 * n / total:6.1f}%  {name}")
    print(f"({total} samples)")


if __name__ == "__main__":
    main()
