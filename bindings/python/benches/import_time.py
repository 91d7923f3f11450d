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


def main() -> None:
    base = median_ms("pass")
    results = {}
    for pkg, code in STMT.items():
        try:
            results[pkg] = median_ms(code) - base
        except subprocess.CalledProcessError:
            results[pkg] = None
    for pkg, ms in results.items():
        print(f"import {pkg}: {'n/a' if ms is None else f'{ms:.0f} ms'}")
    rust = results["langgraph_rust"]
    if rust is not None and rust > 100:
        print(f"warning: import langgraph_rust took {rust:.0f} ms (target < 100 ms)")


if __name__ == "__main__":
    main()
