"""Stategraph vs Python LangGraph on the same graph shapes, from one run.

Builds the Rust timing binary (``cargo build --release --example bench_shapes``), checks that
both engines end each shape in the same state, times each shape on both sides (median wall time
of ``invoke``, no checkpointer), and prints a markdown table that it also writes to
``benches/compare/RESULTS.md``. See README.md in this directory.
"""

import argparse
import datetime
import gc
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

from py_shapes import RANDOM_STRING_KEYS, RECURSION_LIMIT, SHAPES  # noqa: E402

TARGET = 100.0


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def build_rust(example: str = "bench_shapes") -> Path:
    """Builds a timing binary in release mode and returns its path (from cargo's own report)."""
    cmd = ["cargo", "build", "--release", "--example", example, "--message-format=json-render-diagnostics"]
    log("$ " + " ".join(cmd))
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True)
    for line in proc.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == example and msg.get("executable"):
            return Path(msg["executable"])
    raise SystemExit(f"cargo did not report the {example} executable")


def normalise(out: dict) -> str:
    """Canonical JSON of a final state. Random strings (wide_state) are compared by length."""
    out = dict(out)
    for k in RANDOM_STRING_KEYS:
        if isinstance(out.get(k), str):
            out[k] = f"<{len(out[k])} random letters>"
    # sort_keys: key order is not part of the state; json.dumps tells true from 1, unlike ==.
    return json.dumps(out, sort_keys=True)


def check_equal(binary: Path, shapes: list[str]) -> dict[str, str]:
    """Runs every shape once on each side and compares the final states."""
    verdicts = {}
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([str(binary), "dump", tmp, *shapes], check=True)
        for name in shapes:
            graph, inp = SHAPES[name]()
            py = normalise(graph.invoke(inp, {"recursion_limit": RECURSION_LIMIT}))
            rs = normalise(json.loads(Path(tmp, f"{name}.json").read_text()))
            if py == rs:
                verdicts[name] = f"equal ({len(py):,} bytes of JSON)"
            else:
                at = next((i for i, (a, b) in enumerate(zip(py, rs)) if a != b), min(len(py), len(rs)))
                verdicts[name] = f"DIFFERENT at byte {at}: python …{py[at - 40:at + 40]!r} rust …{rs[at - 40:at + 40]!r}"
            log(f"check {name:<26} {verdicts[name][:160]}")
    return verdicts


def time_python(name: str, budget_s: float, min_runs: int, max_runs: int) -> dict:
    graph, inp = SHAPES[name]()
    config = {"recursion_limit": RECURSION_LIMIT}
    graph.invoke(inp, config)  # warm-up
    samples = []
    started = time.perf_counter()
    while len(samples) < max_runs and (len(samples) < min_runs or time.perf_counter() - started < budget_s):
        t = time.perf_counter()
        out = graph.invoke(inp, config)
        del out  # freeing the output is part of a run, as on the Rust side
        samples.append((time.perf_counter() - t) * 1e3)
    gc.collect()
    return {"median_ms": statistics.median(samples), "min_ms": min(samples), "runs": len(samples)}


def time_rust(binary: Path, shapes: list[str], target_ms: int) -> dict:
    proc = subprocess.run(
        [str(binary), "time", "--target-ms", str(target_ms), "--max-runs", "100000", *shapes],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return json.loads(proc.stdout)


def fmt_ms(ms: float) -> str:
    if ms >= 100:
        return f"{ms:,.0f} ms"
    if ms >= 1:
        return f"{ms:.2f} ms"
    return f"{ms * 1000:.1f} µs"


def fmt_ratio(ratio: float) -> str:
    if ratio >= 10:
        return f"{ratio:,.0f}×"
    if ratio >= 1:
        return f"{ratio:.1f}×"
    return f"{ratio:.2f}× (Stategraph {1 / ratio:.1f}× slower)"


def machine() -> dict:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def cmd(*c: str) -> str:
        try:
            return subprocess.run(c, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout.strip()
        except OSError:
            return "?"

    return {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "langgraph": importlib.metadata.version("langgraph"),
        "rustc": cmd("rustc", "--version"),
        "commit": cmd("git", "rev-parse", "--short", "HEAD") + (" (dirty)" if cmd("git", "status", "--porcelain") else ""),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("shapes", nargs="*", help="shapes to run (default: all)")
    ap.add_argument("--python-budget", type=float, default=2.5, help="seconds of Python timing per shape (default 2.5)")
    ap.add_argument("--rust-target-ms", type=int, default=500, help="milliseconds of Rust timing per shape")
    ap.add_argument("--min-runs", type=int, default=3, help="minimum timed Python runs per shape (default 3)")
    ap.add_argument("--no-check", action="store_true", help="skip the final-state equality check")
    ap.add_argument("--binary", type=Path, help="use this bench_shapes binary instead of building it")
    ap.add_argument("--no-write", action="store_true", help="do not write RESULTS.md")
    args = ap.parse_args()

    shapes = args.shapes or list(SHAPES)
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown:
        raise SystemExit(f"unknown shapes: {unknown}; known: {list(SHAPES)}")

    started = time.perf_counter()
    binary = args.binary or build_rust()
    binary_mi = build_rust("bench_shapes_mimalloc")
    verdicts = {} if args.no_check else check_equal(binary, shapes)

    # Shape by shape, Python then Rust, so that both sides of a ratio see the same machine load.
    load_before = os.getloadavg()[0]
    py, rs, mi = {}, {}, {}
    for name in shapes:
        py[name] = time_python(name, args.python_budget, args.min_runs, 10_000)
        log(f"python {name:<26} median {py[name]['median_ms']:10.3f} ms over {py[name]['runs']} runs")
        rs.update(time_rust(binary, [name], args.rust_target_ms))
        mi.update(time_rust(binary_mi, [name], args.rust_target_ms))
    load_after = os.getloadavg()[0]
    elapsed = time.perf_counter() - started

    rows = [
        "| shape | Python LangGraph median | Stategraph median | ratio | ≥100× | ratio of fastest runs "
        "| Stategraph with mimalloc | ratio | same final state |",
        "|---|---:|---:|---:|:---:|---:|---:|---:|---|",
    ]
    below = []
    for name in shapes:
        p, r = py[name]["median_ms"], rs[name]["median_ms"]
        ratio = p / r
        if ratio < TARGET:
            below.append(name)
        rows.append(
            f"| {name} | {fmt_ms(p)} ({py[name]['runs']} runs) | {fmt_ms(r)} ({rs[name]['runs']} runs) "
            f"| {fmt_ratio(ratio)} | {'yes' if ratio >= TARGET else '**no**'} "
            f"| {fmt_ratio(py[name]['min_ms'] / rs[name]['min_ms'])} "
            f"| {fmt_ms(mi[name]['median_ms'])} | {fmt_ratio(p / mi[name]['median_ms'])} "
            f"| {verdicts.get(name, 'not checked')} |"
        )
    table = "\n".join(rows)
    print(table)
    print(f"\n{len(shapes) - len(below)}/{len(shapes)} shapes at ≥{TARGET:.0f}×; total {elapsed:.0f} s")

    if not args.no_write:
        m = machine()
        text = f"""# Stategraph vs Python LangGraph

Measured {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z} by `benches/compare/compare.py` (one run, {elapsed:.0f} s).

- Machine: {m['cpu']}, {m['nproc']} logical CPUs (`nproc`), {m['os']}
- 1-minute load average {load_before:.1f} before, {load_after:.1f} after (other work on the
  machine slows both sides)
- Python {m['python']}, langgraph {m['langgraph']}; `invoke`, no checkpointer, sync nodes
- {m['rustc']}, `--release`; `invoke` on a current-thread tokio runtime; commit {m['commit']}
- Median wall time of one `invoke` (input copied before the clock on the Rust side; freeing the
  output timed on both). Ratio = Python median / Stategraph median. Target: ≥{TARGET:.0f}×. The
  ratio of the fastest runs is less sensitive to other work on the machine.
- Each shape is timed in a fresh `bench_shapes` process, right after its Python timing. Final
  states checked equal on both sides before timing (last column). Engine hot spots: HOTSPOTS.md.
- "ratio" and "≥100×" use the system allocator (glibc). The mimalloc columns run the same code with
  mimalloc as the global allocator (`bench_shapes_mimalloc`), as an application may choose.

{table}

{len(shapes) - len(below)}/{len(shapes)} shapes at ≥{TARGET:.0f}×{': below target: ' + ', '.join(below) if below else ''}.
"""
        (HERE / "RESULTS.md").write_text(text)
        log(f"wrote {HERE / 'RESULTS.md'}")
    bad = [n for n, v in verdicts.items() if not v.startswith("equal")]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
