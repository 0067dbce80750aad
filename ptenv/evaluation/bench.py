"""``ptenv bench``: the speed and size budgets, measured (never asserted in tests: this machine
is shared and noisy).

    ptenv bench            # a table
    ptenv bench --json     # the same figures as JSON

Cold figures (import, registry build, dataset generation, memory) run in fresh interpreter
processes so no cache is warm; hot paths (reset, step, scoring) are medians of many warm calls.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from typing import Any

#: Each budget and whether a figure must stay at most (True) or at least (False) that value.
BUDGETS: dict[str, tuple[float, bool]] = {
    "import_ptenv_ms": (300.0, True),
    "registry_build_ms": (100.0, True),
    "dataset_generation_s": (5.0, True),
    "reset_us": (200.0, True),
    "tool_step_us": (20.0, True),
    "tool_step_first100_us": (20.0, True),
    "tool_step_last100_us": (20.0, True),
    "terminal_scoring_us": (50.0, True),
    "scripted_steps_per_s": (20_000.0, False),
    "dataset_memory_mb": (float("inf"), True),
    "env_instance_memory_kb": (float("inf"), True),
    "eval_heuristic_test_episodes_per_s": (1440 / 5.0, False),
    "eval_heuristic_test_episodes_per_s_2_workers": (1440 / 5.0, False),
    "llm_requests_per_s_c16_at_50ms": (0.8 * 16 / 0.05, False),
    "llm_throughput_vs_ideal_c16": (0.8, False),
}

#: A loopback LLM server in its own process (as a real server would be: no shared GIL), 50 ms a reply.
SERVER = (
    "import time\nfrom ptenv.testing.loopback import LoopbackLLM, Text\n"
    "srv = LoopbackLLM(latency=0.05).start()\nsrv.handler = lambda provider, body: Text('X:[f(a=1)]')\n"
    "print(srv.openai_base_url, flush=True)\ntime.sleep(900)\n"
)


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


def _env_figures() -> dict[str, Any]:
    """Warm, in-process timings of the environment's hot paths (medians of many calls)."""
    import json as _json

    from ptenv.core.agent import load_agent
    from ptenv.envs.tool_env import PersonalToolEnv

    env = PersonalToolEnv(split="test", max_steps=10_000)
    agent: Any = load_agent("heuristic")  # by name: product code never imports an agent

    def scripted(key: str) -> list[str]:
        """The heuristic's actions on a task (it solves every task, as the gold would)."""
        obs, _ = env.reset(options={"task_id": key})
        agent.reset(seed=0)
        actions: list[str] = []
        while True:
            actions.append(str(agent.act(obs)))
            obs, _, term, trunc, _ = env.step(actions[-1])
            if term or trunc:
                return actions

    keys = env.episode_keys()
    n = len(keys)
    env.reset(seed=0, options={"task_index": 0})  # warm the caches (tool schemas, profile views)
    for i in range(n):  # every scenario's argument models built once
        env.reset(options={"task_index": i})
    resets = []
    for i in range(2000):
        t = time.perf_counter_ns()
        env.reset(options={"task_index": i % n})
        resets.append(time.perf_counter_ns() - t)
    # tool steps: the same valid search, 1000 times in one episode (is the cost flat as it grows?)
    env.reset(options={"task_id": next(k for k in keys if env.source.info(k).scenario == "takeout")})
    action = _json.dumps({"name": "quickbite__search_dishes", "arguments": {"keyword": "curry", "max_price": 15}})
    steps = []
    for _ in range(1000):
        t = time.perf_counter_ns()
        env.step(action)
        steps.append(time.perf_counter_ns() - t)
    scripts = [(i, scripted(k)) for i, k in enumerate(keys)]
    # terminal scoring of a solved trajectory (each task's gold is worked out once, at its first reset)
    scoring = []
    for i, script in scripts[:: max(1, n // 300)]:
        env.reset(options={"task_index": i})
        for a in script[:-1]:
            env.step(a)
        t = time.perf_counter_ns()
        assert env.episode is not None
        env.episode.score()
        scoring.append(time.perf_counter_ns() - t)
    # scripted rollouts: precomputed heuristic actions replayed, resets included, after one warm
    # pass (as in RL training, where every task recurs and its gold is already worked out)
    for i, script in scripts:
        env.reset(options={"task_index": i})
        for a in script:
            env.step(a)
    t0 = time.perf_counter()
    count = 0
    for i, script in scripts:
        env.reset(options={"task_index": i})
        for a in script:
            env.step(a)
            count += 1
    steps_per_s = count / (time.perf_counter() - t0)
    return {
        "reset_us": statistics.median(resets) / 1e3,
        "tool_step_us": statistics.median(steps) / 1e3,
        "tool_step_first100_us": statistics.median(steps[:100]) / 1e3,
        "tool_step_last100_us": statistics.median(steps[-100:]) / 1e3,
        "terminal_scoring_us": statistics.median(scoring) / 1e3,
        "scripted_steps_per_s": steps_per_s,
    }


def _eval_throughput(workers: int) -> float:
    from ptenv.evaluation.runner import evaluate

    evaluate("ptenv/PersonalTool-v0", "heuristic", "test", None, progress=False)  # warm
    t = time.perf_counter()
    summary = evaluate("ptenv/PersonalTool-v0", "heuristic", "test", None, progress=False, workers=workers)
    return float(summary["episodes"]) / (time.perf_counter() - t)


MEMORY = (
    "import tracemalloc, gymnasium as gym, ptenv\n"
    "from ptenv.scenarios import load_dataset\n"
    "tracemalloc.start(); load_dataset(); a=tracemalloc.get_traced_memory()[0]\n"
    "gym.make('ptenv/PersonalTool-v0', split='test').reset(seed=0)  # first env: warms per-process caches\n"
    "b=tracemalloc.get_traced_memory()[0]\n"
    "envs=[gym.make('ptenv/PersonalTool-v0', split='test') for _ in range(20)]\n"
    "[e.reset(seed=i) for i, e in enumerate(envs)]\n"
    "c=tracemalloc.get_traced_memory()[0]\n"
    "print(a/2**20, (c-b)/20/2**10)"
)


def _memory() -> tuple[float, float]:
    res = subprocess.run([sys.executable, "-c", MEMORY], capture_output=True, text=True, check=True)
    dataset_mb, env_kb = (float(x) for x in res.stdout.split())
    return dataset_mb, env_kb


def _llm_throughput() -> float:
    """Requests/s of ``ptenv eval --concurrency 16`` (ptbench-text: one request per episode)."""
    from ptenv.evaluation.runner import evaluate

    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        kw = {"base_url": proc.stdout.readline().strip(), "model": "loopback", "cache_dir": None}
        evaluate("ptenv/PTBench-v0", "ptbench-text", "test_untrained", None, episodes=32, agent_kwargs=kw, concurrency=16, progress=False)
        t0 = time.perf_counter()
        s = evaluate("ptenv/PTBench-v0", "ptbench-text", "test", None, episodes=320, agent_kwargs=kw, concurrency=16, progress=False)
        return float(s["usage"]["requests"]) / (time.perf_counter() - t0)
    finally:
        proc.kill()
        proc.wait()


def measure(repeats: int = 5) -> dict[str, Any]:
    results: dict[str, Any] = {}
    results["import_ptenv_ms"] = statistics.median(_fresh(IMPORT, repeats))
    results["registry_build_ms"] = statistics.median(_fresh(REGISTRY, repeats))
    results["dataset_generation_s"] = statistics.median(_fresh(GENERATE, max(3, repeats // 2)))
    results.update(_env_figures())
    results["dataset_memory_mb"], results["env_instance_memory_kb"] = _memory()
    results["eval_heuristic_test_episodes_per_s"] = _eval_throughput(1)
    results["eval_heuristic_test_episodes_per_s_2_workers"] = _eval_throughput(2)
    rate = _llm_throughput()
    results["llm_requests_per_s_c16_at_50ms"] = rate
    results["llm_throughput_vs_ideal_c16"] = rate / (16 / 0.05)
    return results


def run(args: argparse.Namespace) -> int:
    res = measure(args.repeats)
    if args.json:
        print(json.dumps({"results": res, "budgets": {k: {"value": b, "at_most": m} for k, (b, m) in BUDGETS.items()}}, indent=2))
        return 0
    print(f"{'measure':<46}{'figure':>12}{'budget':>12}  ok")
    for k, v in res.items():
        budget, at_most = BUDGETS[k]
        ok = v <= budget if at_most else v >= budget
        shown = "-" if budget == float("inf") else ("<= " if at_most else ">= ") + f"{budget:g}"
        print(f"{k:<46}{v:>12.3f}{shown:>12}  {'yes' if ok else 'NO'}")
    return 0


def _repeats(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be between 1 and 100, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the figures and budgets as JSON")
    parser.add_argument("--repeats", type=_repeats, default=5, help="fresh-process repeats of the cold figures (1 to 100)")
