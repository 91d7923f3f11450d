"""Stategraph vs Python LangGraph on the same graph shapes, from one run.

Builds the Rust timing binaries (``cargo build --release --example bench_shapes``, and
``--features sqlite --example bench_savers``), checks that both engines end each shape in the same
state, times each shape on both sides (median wall time of ``invoke``), and prints markdown tables
that it also writes to ``benches/compare/RESULTS.md``:

1. without a checkpointer;
2. with a checkpointer (``--savers`` runs only this part): Python's ``InMemorySaver`` and
   ``SqliteSaver`` against Stategraph's ``InMemorySaver`` and ``SqliteSaver``, async durability on
   both sides, a fresh thread per run, one SQLite file per backend per shape in a temp dir; plus
   the peak RSS of one ``react_agent_100x`` run with each saver, each side in a child process of
   its own.

See README.md in this directory.
"""

import argparse
import datetime
import gc
import importlib.metadata
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

from py_shapes import RANDOM_STRING_KEYS, RECURSION_LIMIT, SAVER_SHAPES, SHAPES  # noqa: E402

TARGET = 100.0
# With a checkpointer (issue 3): speed per backend, and react_agent_100x's peak RSS.
SAVER_TARGETS = {"memory": 50.0, "sqlite": 20.0, "sqlite-full": 20.0, "sqlite-normal": 20.0}
# backend -> (saver, Python's PRAGMA synchronous, bench_savers --sqlite-synchronous). "sqlite" is
# each library with its defaults: Python's SqliteSaver commits with FULL; ours commits the `async`
# batches with NORMAL (its `sync`-durability puts with FULL). "sqlite-full" is FULL on both sides
# for every commit, "sqlite-normal" NORMAL on both.
SAVER_VARIANTS = {
    "memory": ("memory", "full", "default"),
    "sqlite": ("sqlite", "full", "default"),
    "sqlite-full": ("sqlite", "full", "full"),
    "sqlite-normal": ("sqlite", "normal", "normal"),
}
RSS_SHAPE = "react_agent_100x"
RSS_TARGET = 10.0  # Python's peak RSS / ours
# --quick: the saver shapes timed (react_agent_100x is also the RSS shape).
QUICK_SAVER_SHAPES = ["sequential_10", "fanout_static_100", "react_agent_10x", "react_agent_100x"]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def build_rust(example: str = "bench_shapes", features: tuple[str, ...] = ()) -> Path:
    """Builds a timing binary in release mode and returns its path (from cargo's own report)."""
    cmd = ["cargo", "build", "--release", "--example", example, "--message-format=json-render-diagnostics"]
    if features:
        cmd += ["--features", ",".join(features)]
    log("$ " + " ".join(cmd))
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True)
    for line in proc.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == example and msg.get("executable"):
            return Path(msg["executable"])
    raise SystemExit(f"cargo did not report the {example} executable")


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def message_dict(m):
    """A langchain-core message as its `model_dump()` (the shape Stategraph's messages have), with
    the id `add_messages` generated for a tool message (a fresh uuid4 on each side) replaced by a
    placeholder. Other ids, and every other field, are compared as they are."""
    if hasattr(m, "model_dump"):
        m = m.model_dump()
    if isinstance(m, dict) and m.get("type") == "tool" and UUID.fullmatch(str(m.get("id"))):
        m = {**m, "id": "<generated uuid4>"}
    return m


def normalise(out: dict) -> str:
    """Canonical JSON of a final state. Random strings (wide_state) are compared by length;
    LangChain message objects (react_prebuilt) as their `model_dump()`, see `message_dict`."""
    out = dict(out)
    for k in RANDOM_STRING_KEYS:
        if isinstance(out.get(k), str):
            out[k] = f"<{len(out[k])} random letters>"
    if isinstance(out.get("messages"), list):
        out["messages"] = [message_dict(m) for m in out["messages"]]
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


# --- with a checkpointer -------------------------------------------------------------------------


def py_saver(backend: str, db: Path, synchronous: str):
    """A fresh Python saver: InMemorySaver, or SqliteSaver on its own file (WAL, set by setup())."""
    if backend == "memory":
        from langgraph.checkpoint.memory import InMemorySaver

        return InMemorySaver()
    from langgraph.checkpoint.sqlite import SqliteSaver

    # check_same_thread=False: async durability writes from LangGraph's background thread (the
    # saver serialises its own use of the connection with a lock).
    conn = sqlite3.connect(str(db), check_same_thread=False)
    if synchronous != "full":
        conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
    return SqliteSaver(conn)


def close_py_saver(saver) -> None:
    conn = getattr(saver, "conn", None)
    if conn is not None:
        conn.close()


def saver_config(thread: str) -> dict:
    return {"recursion_limit": RECURSION_LIMIT, "configurable": {"thread_id": thread}}


def time_python_saver(name: str, backend: str, tmp: Path, budget_s: float, min_runs: int, synchronous: str) -> dict:
    """Like time_python, with a saver: each run (warm-up included) on a fresh thread. The warm-up
    run's final state is returned for the equality check."""
    saver = py_saver(backend, tmp / f"py-{name}.db", synchronous)
    graph, inp = SHAPES[name](saver)
    runs = 0

    def run():
        nonlocal runs
        runs += 1
        return graph.invoke(inp, saver_config(f"{name}-{runs}"), durability="async")

    first = normalise(run())  # warm-up
    samples = []
    started = time.perf_counter()
    while len(samples) < min_runs or time.perf_counter() - started < budget_s:
        t = time.perf_counter()
        out = run()
        del out
        samples.append((time.perf_counter() - t) * 1e3)
    close_py_saver(saver)
    del graph, saver
    gc.collect()
    return {"median_ms": statistics.median(samples), "min_ms": min(samples), "runs": len(samples), "first": first,
            "samples_ms": samples}


def pooled(turns: list[dict]) -> dict:
    """One side's timing over several turns: the median and minimum of all their samples; the first
    turn's warm-up result for the equality check."""
    samples = [x for t in turns for x in t["samples_ms"]]
    return {"median_ms": statistics.median(samples), "min_ms": min(samples), "runs": len(samples),
            "first": turns[0]["first"]}


def time_rust_saver(binary: Path, name: str, backend: str, tmp: Path, target_ms: int, min_runs: int, synchronous: str):
    dump = tmp / f"{binary.name}-{backend}-{synchronous}-out"
    cmd = [str(binary), "time", "--saver", backend, "--dir", str(tmp), "--sqlite-synchronous", synchronous,
           "--dump", str(dump), "--target-ms", str(target_ms), "--min-runs", str(min_runs), name]
    proc = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
    result = json.loads(proc.stdout)[name]
    result["first"] = normalise(json.loads((dump / f"{name}.json").read_text()))
    return result


def verdict(py: str, rs: str) -> str:
    if py == rs:
        return f"equal ({len(py):,} bytes of JSON)"
    at = next((i for i, (a, b) in enumerate(zip(py, rs)) if a != b), min(len(py), len(rs)))
    return f"DIFFERENT at byte {at}: python …{py[at - 40:at + 40]!r} rust …{rs[at - 40:at + 40]!r}"


def vm_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise SystemExit(f"no {field} in /proc/self/status")


def rss_child(backend: str, name: str, tmp: Path, synchronous: str) -> None:
    """In a child process of its own: one run of `name` with a saver; prints the peak RSS."""
    saver = py_saver(backend, tmp / f"py-{name}-rss.db", synchronous)
    graph, inp = SHAPES[name](saver)
    before = vm_kib("VmRSS")
    t = time.perf_counter()
    out = graph.invoke(inp, saver_config(f"{name}-rss"), durability="async")
    ms = (time.perf_counter() - t) * 1e3
    del out
    print(json.dumps({"peak_rss_kib": vm_kib("VmHWM"), "before_run_kib": before, "run_ms": ms}))


def measure_rss(rust: Path, backend: str, tmp: Path, py_sync: str, rs_sync: str) -> dict:
    py = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--rss-child", backend, RSS_SHAPE, str(tmp),
         "--sqlite-synchronous", py_sync],
        check=True, stdout=subprocess.PIPE, text=True,
    )
    rs = subprocess.run(
        [str(rust), "rss", "--saver", backend, "--dir", str(tmp), "--sqlite-synchronous", rs_sync, RSS_SHAPE],
        check=True, stdout=subprocess.PIPE, text=True,
    )
    return {"python": json.loads(py.stdout), "rust": json.loads(rs.stdout)}


def fmt_mib(kib: int) -> str:
    return f"{kib / 1024:,.1f} MiB"


def run_savers(binary: Path, binary_mi: Path, shapes: list[str], backends: list[str], args) -> dict:
    """Times every shape with each saver, Python then Rust (the system allocator, then mimalloc),
    and measures react_agent_100x's RSS (system allocator)."""
    timings: dict[tuple[str, str], dict] = {}
    rss: dict[str, dict] = {}
    rounds = args.rounds
    for backend in backends:
        kind, py_sync, rs_sync = SAVER_VARIANTS[backend]
        with tempfile.TemporaryDirectory(prefix=f"sg-compare-{backend}-") as t:
            tmp = Path(t)
            for name in shapes:
                # Python, Stategraph and Stategraph with mimalloc take turns, `rounds` times, each with
                # a share of the budget: the machine's speed drifts over seconds (other VMs on the
                # host), and taking turns exposes each side to the same drift. Every turn starts
                # with fresh savers and files; the samples of all turns are pooled.
                turns: dict[str, list[dict]] = {"python": [], "rust": [], "mimalloc": []}
                for r in range(rounds):
                    d = tmp / f"round-{r}"
                    (d / "mimalloc").mkdir(parents=True, exist_ok=True)
                    # Each turn starts with no dirty pages of the turn before (the kernel's writeback
                    # of one side's files must not stall the other side's writes).
                    os.sync()
                    turns["python"].append(time_python_saver(
                        name, kind, d, args.python_budget / rounds, -(-args.min_runs // rounds), py_sync))
                    os.sync()
                    turns["rust"].append(time_rust_saver(
                        binary, name, kind, d, args.rust_target_ms // rounds, -(-args.rust_min_runs // rounds), rs_sync))
                    os.sync()
                    # A directory of its own: the same file and thread ids would resume the other's threads.
                    turns["mimalloc"].append(time_rust_saver(
                        binary_mi, name, kind, d / "mimalloc", args.rust_target_ms // rounds,
                        -(-args.rust_min_runs // rounds), rs_sync))
                py, rs, mi = (pooled(turns[k]) for k in ("python", "rust", "mimalloc"))
                log(f"python {backend:<6} {name:<26} median {py['median_ms']:10.3f} ms over {py['runs']} runs")
                log(f"rust   {backend:<6} {name:<26} median {rs['median_ms']:10.3f} ms over {rs['runs']} runs "
                    f"(mimalloc {mi['median_ms']:.3f} ms)")
                first = py.pop("first")
                check = "not checked" if args.no_check else verdict(first, rs.pop("first"))
                if not args.no_check and not (mi_check := verdict(first, mi.pop("first"))).startswith("equal"):
                    check = f"mimalloc build: {mi_check}"
                log(f"check  {backend:<6} {name:<26} {check[:160]}")
                timings[(backend, name)] = {"python": py, "rust": rs, "mimalloc": mi, "check": check}
            rss[backend] = measure_rss(binary, kind, tmp, py_sync, rs_sync)
            log(f"rss    {backend:<6} {RSS_SHAPE:<26} python {fmt_mib(rss[backend]['python']['peak_rss_kib'])}"
                f" rust {fmt_mib(rss[backend]['rust']['peak_rss_kib'])}")
    return {"timings": timings, "rss": rss}


def saver_tables(result: dict, shapes: list[str], backends: list[str]) -> tuple[str, list[str]]:
    rows = [
        "| shape | saver | Python LangGraph median | Stategraph median | ratio | target | ratio of fastest runs "
        "| Stategraph with mimalloc | ratio | same final state |",
        "|---|---|---:|---:|---:|:---:|---:|---:|---:|---|",
    ]
    below = []
    for backend in backends:
        target = SAVER_TARGETS[backend]
        for name in shapes:
            r = result["timings"][(backend, name)]
            p, s = r["python"], r["rust"]
            ratio = p["median_ms"] / s["median_ms"]
            ok = ratio >= target
            if not ok:
                below.append(f"{name} ({backend}, {fmt_ratio(ratio)})")
            rows.append(
                f"| {name} | {backend} | {fmt_ms(p['median_ms'])} ({p['runs']} runs) "
                f"| {fmt_ms(s['median_ms'])} ({s['runs']} runs) | {fmt_ratio(ratio)} "
                f"| ≥{target:.0f}×: {'yes' if ok else '**no**'} | {fmt_ratio(p['min_ms'] / s['min_ms'])} "
                f"| {fmt_ms(r['mimalloc']['median_ms'])} | {fmt_ratio(p['median_ms'] / r['mimalloc']['median_ms'])} "
                f"| {r['check']} |"
            )
    rows += [
        "",
        f"Peak RSS of one `{RSS_SHAPE}` run with a saver (`VmHWM`, each side in a fresh child process; "
        "in brackets, before the run: the process with the graph built, interpreter and libraries loaded):",
        "",
        "| saver | Python peak RSS (before the run) | Stategraph peak RSS (before the run) | Python / Stategraph "
        f"| ≥{RSS_TARGET:.0f}× less | run time Python / Stategraph |",
        "|---|---:|---:|---:|:---:|---:|",
    ]
    for backend in backends:
        m = result["rss"][backend]
        p, s = m["python"], m["rust"]
        ratio = p["peak_rss_kib"] / s["peak_rss_kib"]
        if ratio < RSS_TARGET:
            below.append(f"{RSS_SHAPE} peak RSS ({backend}, {ratio:.1f}× less)")
        rows.append(
            f"| {backend} | {fmt_mib(p['peak_rss_kib'])} ({fmt_mib(p['before_run_kib'])}) "
            f"| {fmt_mib(s['peak_rss_kib'])} ({fmt_mib(s['before_run_kib'])}) | {ratio:,.1f}× "
            f"| {'yes' if ratio >= RSS_TARGET else '**no**'} | {fmt_ms(p['run_ms'])} / {fmt_ms(s['run_ms'])} |"
        )
    return "\n".join(rows), below


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


NO_SAVER_BEGIN, NO_SAVER_END = "<!-- no-saver:begin -->", "<!-- no-saver:end -->"
SAVERS_BEGIN, SAVERS_END = "<!-- savers:begin -->", "<!-- savers:end -->"


def section(text: str, begin: str, end: str) -> str | None:
    if begin in text and end in text:
        return text[text.index(begin) : text.index(end) + len(end)]
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("shapes", nargs="*", help="shapes to run (default: all; with --quick, fewer with a saver)")
    ap.add_argument("--savers", action="store_true", help="run only the part with a checkpointer")
    ap.add_argument("--no-savers", action="store_true", help="run only the part without a checkpointer")
    ap.add_argument("--backends", default="memory,sqlite,sqlite-full",
                    help="savers to compare: memory, sqlite (each library's defaults), sqlite-full (FULL on both "
                         "sides), sqlite-normal (NORMAL on both); default memory,sqlite,sqlite-full")
    ap.add_argument("--quick", action="store_true",
                    help="short budgets, and with a saver only " + ", ".join(QUICK_SAVER_SHAPES) + " (< 2 min)")
    ap.add_argument("--sqlite-synchronous", choices=["full", "normal"], default="full",
                    help=argparse.SUPPRESS)  # for --rss-child: the Python saver's PRAGMA synchronous
    ap.add_argument("--python-budget", type=float, default=None, help="seconds of Python timing per shape (default 2.5)")
    ap.add_argument("--rust-target-ms", type=int, default=None, help="milliseconds of Rust timing per shape (default 500)")
    ap.add_argument("--min-runs", type=int, default=None, help="minimum timed Python runs per shape (default 3)")
    ap.add_argument("--rounds", type=int, default=None,
                    help="with a saver: turns Python and Stategraph take per shape, each with a share of the "
                         "budgets (default 3; 1 with --quick)")
    ap.add_argument("--no-check", action="store_true", help="skip the final-state equality check")
    ap.add_argument("--binary", type=Path, help="use this bench_shapes binary instead of building it")
    ap.add_argument("--saver-binary", type=Path, help="use this bench_savers binary instead of building it")
    ap.add_argument("--no-write", action="store_true", help="do not write RESULTS.md")
    ap.add_argument("--rss-child", nargs=3, metavar=("SAVER", "SHAPE", "DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rss_child:
        backend, name, tmp = args.rss_child
        rss_child(backend, name, Path(tmp), args.sqlite_synchronous)
        return 0

    quick = args.quick
    args.python_budget = args.python_budget if args.python_budget is not None else (0.3 if quick else 2.5)
    args.rust_target_ms = args.rust_target_ms if args.rust_target_ms is not None else (100 if quick else 500)
    args.min_runs = args.min_runs if args.min_runs is not None else (1 if quick else 3)
    args.rust_min_runs = 1 if quick else 5
    args.rounds = max(1, args.rounds if args.rounds is not None else (1 if quick else 3))
    backends = [b for b in args.backends.split(",") if b]
    if unknown := [b for b in backends if b not in SAVER_TARGETS]:
        raise SystemExit(f"unknown backends: {unknown}; known: {list(SAVER_TARGETS)}")

    shapes = args.shapes or list(SHAPES)
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown:
        raise SystemExit(f"unknown shapes: {unknown}; known: {list(SHAPES)}")
    saver_shapes = args.shapes or (QUICK_SAVER_SHAPES if quick else SAVER_SHAPES)
    run_plain, run_saver = not args.savers, not args.no_savers

    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    plain_text = saver_text = None
    bad = []

    if run_plain:
        binary = args.binary or build_rust()
        binary_mi = build_rust("bench_shapes_mimalloc")
        verdicts = {} if args.no_check else check_equal(binary, shapes)
        bad += [n for n, v in verdicts.items() if not v.startswith("equal")]
        t0, load0 = time.perf_counter(), os.getloadavg()[0]
        # Shape by shape, Python then Rust, so that both sides of a ratio see the same machine load.
        py, rs, mi = {}, {}, {}
        for name in shapes:
            py[name] = time_python(name, args.python_budget, args.min_runs, 10_000)
            log(f"python {name:<26} median {py[name]['median_ms']:10.3f} ms over {py[name]['runs']} runs")
            rs.update(time_rust(binary, [name], args.rust_target_ms))
            mi.update(time_rust(binary_mi, [name], args.rust_target_ms))
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
        summary = f"{len(shapes) - len(below)}/{len(shapes)} shapes at ≥{TARGET:.0f}×"
        print(f"\n{summary}")
        plain_text = f"""{NO_SAVER_BEGIN}
## Without a checkpointer

Measured {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}{' (`--quick`)' if quick else ''}, {time.perf_counter() - t0:.0f} s; 1-minute load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end.

- Python: `invoke`, no checkpointer, sync nodes. Rust: `--release`, `invoke` on a current-thread
  tokio runtime.
- Median wall time of one `invoke` (input copied before the clock on the Rust side; freeing the
  output timed on both). Ratio = Python median / Stategraph median. Target: ≥{TARGET:.0f}×. The
  ratio of the fastest runs is less sensitive to other work on the machine.
- Each shape is timed in a fresh `bench_shapes` process, right after its Python timing. Final
  states checked equal on both sides before timing (last column). Engine hot spots: HOTSPOTS.md.
- "ratio" and "≥100×" use the system allocator (glibc). The mimalloc columns run the same code with
  mimalloc as the global allocator (`bench_shapes_mimalloc`), as an application may choose.

{table}

{summary}{': below target: ' + ', '.join(below) if below else ''}.
{NO_SAVER_END}"""

    if run_saver:
        saver_bin = args.saver_binary or build_rust("bench_savers", ("sqlite",))
        # With --saver-binary, its mimalloc twin is expected beside it (same cargo build).
        saver_bin_mi = (saver_bin.with_name("bench_savers_mimalloc") if args.saver_binary
                        else build_rust("bench_savers_mimalloc", ("sqlite",)))
        if not saver_bin_mi.exists():
            raise SystemExit(f"{saver_bin_mi} not found: build it with "
                             "`cargo build --release --features sqlite --example bench_savers_mimalloc`")
        t0, load0 = time.perf_counter(), os.getloadavg()[0]
        result = run_savers(saver_bin, saver_bin_mi, saver_shapes, backends, args)
        bad += [f"{b}/{n}" for (b, n), r in result["timings"].items() if not r["check"].startswith(("equal", "not"))]
        table, below = saver_tables(result, saver_shapes, backends)
        print("\n" + table)
        summary = f"{len(below)} below target" + (": " + "; ".join(below) if below else "")
        print(f"\n{summary}")
        saver_text = f"""{SAVERS_BEGIN}
## With a checkpointer (memory, SQLite)

Measured {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}{' (`--quick`)' if quick else ''}, {time.perf_counter() - t0:.0f} s; 1-minute load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end.

- Python: LangGraph's `InMemorySaver`, and `SqliteSaver` (langgraph-checkpoint-sqlite
  {pkg_version('langgraph-checkpoint-sqlite')}) on `sqlite3.connect(file, check_same_thread=False)`;
  `invoke(..., durability="async")` (LangGraph's default). Rust: `stategraph::checkpoint::InMemorySaver`,
  `stategraph::sqlite::SqliteSaver::open_with(file)`; `Durability::Async` (the default), current-thread
  tokio runtime (`bench_savers`).
- SQLite, WAL on both sides; one file per side per shape in a temp dir on the same disk. Rows
  `sqlite`: each library with its defaults. Python's `SqliteSaver` commits with SQLite's default
  `synchronous=FULL` (an fsync per commit). Ours (`SqliteOptions::default()`) commits the batches
  of `async` durability with `synchronous=NORMAL` (no fsync: once the run returns, its checkpoints
  survive a crash of the process, but a power loss or OS crash may roll back the last ones; the
  `put`s of `sync` durability stay FULL). That is a weaker guarantee than Python's at the moment
  the run returns, so rows `sqlite-full` run both sides with FULL for every commit (ours:
  `SqliteOptions::default().durability(Durability::Sync)`): the like-for-like comparison.
- Every run, warm-up included, uses a fresh thread id, so it starts from an empty thread and saves
  all its steps; the savers keep every thread (memory grows over the runs on both sides alike).
  The run returns once its checkpoints are written, on both sides, so writing them is timed.
- Each side's warm-up run is checked against the other's (final state, canonical JSON).
- Per shape, Python, Stategraph and Stategraph with mimalloc take {args.rounds} turns each (a share of
  the time budget per turn, fresh savers and files every turn), and the medians are of all the
  turns' runs together: this VM's speed drifts over seconds (other guests on the host), and taking
  turns exposes both sides to the same drift. Before each turn, `sync` writes back the files of
  the turn before, so neither side's writes wait for the other's.
- "ratio" and the targets use the system allocator (glibc); the mimalloc columns run the same code
  with mimalloc as the global allocator (`bench_savers_mimalloc`), as an application may choose.
  A saver keeps every run's values, so each run's new values land on pages the process never
  touched: with glibc, one page fault per 4 KiB (112 per `react_agent_10x` run, counted with
  `perf stat -e page-faults`; ~3 µs each on this VM, timed by touching fresh memory: HOTSPOTS.md,
  round 6); mimalloc's large arenas take far fewer. Peak RSS is measured with glibc.
- Targets (issue 3): ≥{SAVER_TARGETS['memory']:.0f}× with the memory saver, ≥{SAVER_TARGETS['sqlite']:.0f}× with SQLite; `{RSS_SHAPE}` with a
  saver using ≤ 1/{RSS_TARGET:.0f} of Python's peak memory.

{table}

{summary}.
{SAVERS_END}"""

    elapsed = time.perf_counter() - started
    log(f"total {elapsed:.0f} s")
    if not args.no_write:
        path = HERE / "RESULTS.md"
        old = path.read_text() if path.exists() else ""
        if plain_text is None:
            # Keep the previous no-saver part (a file from before the sections: all of its body).
            plain_text = section(old, NO_SAVER_BEGIN, NO_SAVER_END)
            if plain_text is None and old and SAVERS_BEGIN not in old:
                body = old.split("\n", 1)[1].strip() if "\n" in old else ""
                plain_text = f"{NO_SAVER_BEGIN}\n## Without a checkpointer\n\n{body}\n{NO_SAVER_END}"
        if saver_text is None:
            saver_text = section(old, SAVERS_BEGIN, SAVERS_END)
        m = machine()
        text = f"""# Stategraph vs Python LangGraph

Written {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z} by `benches/compare/compare.py` (this run: {' '.join(sys.argv[1:]) or 'all'}; {elapsed:.0f} s).
A part not run this time is kept from the previous file, with its own date.

- Machine: {m['cpu']}, {m['nproc']} logical CPUs (`nproc`), {m['os']}; other work on the machine
  (other builds) slows both sides, see the load averages.
- Python {m['python']}, langgraph {m['langgraph']}; {m['rustc']}, `--release`; commit {m['commit']}

{plain_text or ''}

{saver_text or ''}
"""
        path.write_text(text)
        log(f"wrote {path}")
    return 1 if bad else 0


def pkg_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
