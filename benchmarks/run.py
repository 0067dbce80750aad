"""Speed budgets, measured (not asserted: this machine is shared and noisy).

    python benchmarks/run.py            # a table
    python benchmarks/run.py --json     # the same figures as JSON

Each figure is the median of several runs; cold measurements (import, registry build, dataset
generation) run in fresh interpreter processes so no cache is warm.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from typing import Any

BUDGETS = {
    "import_ptenv_ms": 300.0,
    "registry_build_ms": 100.0,
    "dataset_generation_s": 5.0,
}


def _fresh(code: str, repeats: int) -> list[float]:
    """Run ``code`` (which prints one float) in fresh interpreters; return the values."""
    out = []
    for _ in range(repeats):
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        out.append(float(res.stdout.strip().splitlines()[-1]))
    return out


IMPORT = "import time; t=time.perf_counter(); import ptenv; print((time.perf_counter()-t)*1e3)"
REGISTRY = (
    "import time; from ptenv.tools_registry.registry import Registry, SCENARIOS, load_scenario\n"
    "t=time.perf_counter(); r=Registry(load_scenario(s) for s in SCENARIOS); print((time.perf_counter()-t)*1e3)"
)
GENERATE = (
    "import time; t=time.perf_counter()\n"
    "from ptenv.scenarios.dataset import generate, DATASETS\n"
    "ds=generate(DATASETS['ptenv-v1']); assert len(ds.tasks) >= 10000; print(time.perf_counter()-t)"
)


def measure(repeats: int = 5) -> dict[str, Any]:
    results: dict[str, Any] = {}
    results["import_ptenv_ms"] = statistics.median(_fresh(IMPORT, repeats))
    results["registry_build_ms"] = statistics.median(_fresh(REGISTRY, repeats))
    results["dataset_generation_s"] = statistics.median(_fresh(GENERATE, max(3, repeats // 2)))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    res = measure(args.repeats)
    if args.json:
        print(json.dumps({"results": res, "budgets": BUDGETS}, indent=2))
        return 0
    print(f"{'measure':<24}{'median':>12}{'budget':>10}  ok")
    for k, v in res.items():
        print(f"{k:<24}{v:>12.3f}{BUDGETS[k]:>10.1f}  {'yes' if v <= BUDGETS[k] else 'NO'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
