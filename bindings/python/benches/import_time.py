"""Time to import langgraph_rust (the public modules a graph script uses) vs langgraph.

Each import runs in a fresh interpreter; the time of an empty interpreter is subtracted.
Prints milliseconds (median of 5). Target: langgraph_rust under 100 ms.
"""

import statistics
import subprocess
import sys
import time

STMT = {
    "langgraph_rust": "import langgraph_rust.graph, langgraph_rust.types, langgraph_rust.checkpoint.memory",
    "langgraph": "import langgraph.graph, langgraph.types, langgraph.checkpoint.memory",
}


def wall(code: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t


def median_ms(code: str, n: int = 5) -> float:
    return statistics.median(wall(code) for _ in range(n)) * 1000


def importtime_ms(code: str) -> float:
    """The import cost Python itself reports (`-X importtime`, sum of top-level imports)."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True)
    total = 0
    for line in out.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].startswith(" ") and not parts[2].startswith("  "):
            try:
                total += int(parts[1])
            except ValueError:
                pass
    return total / 1000


def main() -> None:
    base = median_ms("pass")
    results = {}
    for pkg, code in STMT.items():
        try:
            results[pkg] = median_ms(code) - base
        except subprocess.CalledProcessError:
            results[pkg] = None
    for pkg, ms in results.items():
        try:
            own = statistics.median(importtime_ms(STMT[pkg]) for _ in range(3))
        except subprocess.CalledProcessError:
            own = None
        print(
            f"import {pkg}: {'n/a' if ms is None else f'{ms:.0f} ms'} wall"
            f" ({'n/a' if own is None else f'{own:.0f} ms'} by -X importtime)"
        )
    rust = results["langgraph_rust"]
    if rust is not None and rust > 100:
        print(f"warning: import langgraph_rust took {rust:.0f} ms (target < 100 ms)")


if __name__ == "__main__":
    main()
