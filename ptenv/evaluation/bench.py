"""``ptenv bench``: where users wait, measured, each figure beside a floor measured in the same run.

    ptenv bench                      # every section, a table (progress on stderr)
    ptenv bench --only steps,numeric # some sections
    ptenv bench --json               # the same rows as JSON

Sections: ``startup`` (fresh processes, warm dataset cache: ``import``, ``gym.make`` + first reset,
``ptenv eval`` end to end with 1 and 2 workers), ``steps`` (reset, tool step at step 1, over an
episode and at steps 100-200, finishing step with its scoring; ratios to a bare Gymnasium text
env whose step only ``json.loads`` its action, in interleaved rounds), ``numeric`` (the numeric id
against the text id it wraps, same actions), ``vector`` (``gym.make_vec`` async), ``memory``,
``llm`` (``--concurrency 16`` against a loopback server answering in 50 ms), ``ray`` (only when
named: ``--backend ray`` scaling and overhead, :mod:`ptenv.evaluation.bench_ray`). Figures are medians;
budgets are the ratios (or, for start-up, seconds) the project holds. A loaded machine (load
average above its processor count) is said before and after: its figures are not comparable.
Figures are never asserted in tests: the test machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict
from typing import Any

from ptenv.evaluation.bench_rows import SERVER, Row

SECTIONS: tuple[str, ...] = ("startup", "steps", "numeric", "vector", "memory", "llm", "ray")
#: Run when no section is named: all but ``ray`` (it needs the ray extra and starts a Ray).
DEFAULT_SECTIONS: tuple[str, ...] = SECTIONS[:-1]


# -- start-up: fresh processes --------------------------------------------------------------------
def _wall(argv: list[str], repeats: int, env: dict[str, str] | None = None) -> float:
    """Median wall time of a command, from process start to exit."""
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def _printed(code: str, repeats: int, env: dict[str, str] | None = None) -> float:
    """Median of the float a fresh interpreter prints after running ``code``."""
    out = []
    for _ in range(repeats):
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
        out.append(float(res.stdout.strip().splitlines()[-1]))
    return statistics.median(out)


IMPORT = "import time; t=time.perf_counter(); import {m}; print((time.perf_counter()-t)*1e3)"
MAKE_RESET = "import gymnasium as gym, ptenv; gym.make('ptenv/PersonalTool-v0').reset(seed=0)"
REGISTRY = (
    "import time; from ptenv.tools_registry.registry import Registry, SCENARIOS, load_scenario\n"
    "t=time.perf_counter(); r=Registry(load_scenario(s) for s in SCENARIOS); print((time.perf_counter()-t)*1e3)"
)
GENERATE = (
    "import time; t=time.perf_counter()\nfrom ptenv.scenarios.dataset import generate, DATASETS\n"
    "ds=generate(DATASETS['ptenv-v1']); assert len(ds.tasks) >= 10000; print(time.perf_counter()-t)"
)
CACHE_READ = "import time; from ptenv.scenarios import load_dataset; t=time.perf_counter(); load_dataset(); print(time.perf_counter()-t)"


def startup(repeats: int) -> list[Row]:
    py = sys.executable
    subprocess.run([py, "-c", MAKE_RESET], check=True, capture_output=True)  # warm the on-disk caches
    bare = _wall([py, "-c", "import gymnasium as gym; gym.make('CartPole-v1').reset(seed=0)"], repeats)
    make = _wall([py, "-c", MAKE_RESET], repeats)
    eval_cmd = [py, "-m", "ptenv", "eval", "--agent", "heuristic", "--split", "test", "--quiet"]
    one = _wall(eval_cmd, repeats)
    two = _wall([*eval_cmd, "--workers", "2"], repeats)
    gym_ms = _printed(IMPORT.format(m="gymnasium"), repeats)
    ptenv_ms = _printed(IMPORT.format(m="ptenv"), repeats)
    no_cache = {**os.environ, "PTENV_CACHE_DIR": "off"}
    s = "startup"
    return [
        Row(s, "bare: python, gym.make('CartPole-v1') and reset", bare, "s"),
        Row(s, "gym.make('ptenv/PersonalTool-v0') + first reset", make, "s", make / bare, "bare", (0.5, True, False)),
        Row(s, "ptenv eval --agent heuristic --split test (1,440 episodes)", one, "s", one / bare, "bare", (2.0, True, False)),
        Row(s, "  the same with --workers 2", two, "s", two / one, "1 worker", (1.0, True, True)),
        Row(s, "bare: import gymnasium", gym_ms, "ms"),
        Row(s, "import ptenv", ptenv_ms, "ms", ptenv_ms / gym_ms, "import gymnasium"),
        Row(s, "registry build (5 scenarios, 360 tools)", _printed(REGISTRY, repeats), "ms"),
        Row(s, "dataset read from the on-disk cache", _printed(CACHE_READ, repeats), "s"),
        Row(s, "dataset generation, cache off (10,800 tasks)", _printed(GENERATE, max(1, repeats // 2), no_cache), "s"),
    ]


# -- in-process sections ------------------------------------------------------------------------------
def steps(rounds: int) -> list[Row]:
    from ptenv.evaluation.bench_steps import step_figures

    f = step_figures(rounds)
    s = "steps"
    return [
        Row(s, "bare: reset", f["bare_reset"], "µs"),
        Row(s, "bare: step (json.loads of the action)", f["bare"], "µs"),
        Row(s, "bare: first step after reset", f["bare_first"], "µs"),
        Row(s, "reset", f["reset"], "µs", f["reset"] / f["bare_reset"], "bare reset"),
        Row(s, "tool step (parse, validate, execute, encode)", f["step"], "µs", f["step"] / f["bare"], "bare step", (4.0, True, True)),
        Row(s, "  at step 1 of an episode", f["first"], "µs", f["first"] / f["bare_first"], "bare first step", (4.0, True, True)),
        Row(s, "  at steps 100-200", f["late"], "µs", f["late"] / f["bare"], "bare step", (4.0, True, True)),
        Row(s, "finishing step with its scoring", f["finish"], "µs", f["finish"] / f["bare_finish"], "bare step", (10.0, True, True)),
        Row(s, "scripted rollouts (heuristic's actions, resets included)", f["scripted_steps_per_s"], "steps/s"),
    ]


def numeric(rounds: int) -> list[Row]:
    from ptenv.evaluation.bench_steps import numeric_figures

    f = numeric_figures(rounds)
    s = "numeric"
    t_reset, t_step = f["text_reset"], f["text_step"]
    return [
        Row(s, "text id (History-v0): reset", t_reset, "µs"),
        Row(s, "text id (History-v0): step", t_step, "µs"),
        Row(s, "PersonalTool-Numeric-v0: reset", f["numeric_reset"], "µs", f["numeric_reset"] / t_reset, "text reset", (2.0, True, True)),
        Row(s, "PersonalTool-Numeric-v0: step", f["numeric_step"], "µs", f["numeric_step"] / t_step, "text step", (2.0, True, True)),
    ]


def vector() -> list[Row]:
    from ptenv.evaluation.bench_steps import vector_figures

    f = vector_figures()
    one, a1, a2 = f["single_steps_per_s"], f["async1_steps_per_s"], f["async2_steps_per_s"]
    s = "vector"
    return [
        Row(s, "one env, in this process", one, "steps/s"),
        Row(s, "make_vec async, 1 env", a1, "steps/s", f["async1_vs_single"], "in process"),
        Row(s, "make_vec async, 2 envs", a2, "steps/s", f["async2_vs_async1"], "async, 1 env", (1.6, False, True)),
        Row(s, "  2 envs against one env in this process", a2, "steps/s", f["async2_vs_single"], "in process"),
        Row(s, "floor: bare env of the same spaces, async, 1 env", f["bare1_steps_per_s"], "steps/s"),
        Row(s, "floor: bare env of the same spaces, async, 2 envs", f["bare2_steps_per_s"], "steps/s", f["bare2_vs_bare1"], "bare, 1 env"),
    ]


MEMORY = (
    "import tracemalloc, gymnasium as gym, ptenv\nfrom ptenv.scenarios import load_dataset\n"
    "tracemalloc.start(); load_dataset(); a=tracemalloc.get_traced_memory()[0]\n"
    "gym.make('ptenv/PersonalTool-v0', split='test').reset(seed=0)  # first env: warms per-process caches\n"
    "b=tracemalloc.get_traced_memory()[0]\n"
    "envs=[gym.make('ptenv/PersonalTool-v0', split='test') for _ in range(20)]\n"
    "[e.reset(seed=i) for i, e in enumerate(envs)]\n"
    "c=tracemalloc.get_traced_memory()[0]\nprint(a/2**20, (c-b)/20/2**10)"
)


def memory() -> list[Row]:
    res = subprocess.run([sys.executable, "-c", MEMORY], capture_output=True, text=True, check=True)
    dataset_mb, env_kb = (float(x) for x in res.stdout.split())
    return [Row("memory", "dataset, shared by a process's envs", dataset_mb, "MB"), Row("memory", "each env, reset", env_kb, "KB")]


def llm() -> list[Row]:
    """Requests/s of an evaluation at ``--concurrency 16`` (ptbench-text: one request per episode)."""
    from ptenv.evaluation.runner import evaluate

    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        kw = {"base_url": base_url, "model": "loopback", "cache_dir": None}
        sdk = _sdk_alone(base_url)
        evaluate("ptenv/PTBench-v0", "ptbench-text", "test_untrained", None, episodes=32, agent_kwargs=kw, concurrency=16, progress=False)
        t0 = time.perf_counter()
        summary = evaluate("ptenv/PTBench-v0", "ptbench-text", "test", None, episodes=320, agent_kwargs=kw, concurrency=16, progress=False)
        rate = float(summary["usage"]["requests"]) / (time.perf_counter() - t0)
    finally:
        proc.kill()
        proc.wait()
    ideal = 16 / 0.05
    return [
        Row("llm", "ideal: 16 in flight, 50 ms each", ideal, "req/s"),
        Row("llm", "floor: the OpenAI SDK alone, 16 in flight, same size bodies", sdk, "req/s", sdk / ideal, "ideal"),
        Row("llm", "ptenv eval --concurrency 16 (ptbench-text)", rate, "req/s", rate / ideal, "ideal", (0.9, False, True)),
    ]


def _sdk_alone(base_url: str, requests: int = 640) -> float:
    """Requests/s of the SDK by itself (no env, no agent) against the same server: what this
    machine allows a Python client at all. Bodies are the size of a PTBench prompt (~45 KB)."""
    import asyncio

    import openai

    body = {"model": "loopback", "messages": [{"role": "system", "content": 'tool "x"\n' * 4500}, {"role": "user", "content": "q"}]}

    async def main() -> float:
        client = openai.AsyncOpenAI(api_key="not-needed", base_url=base_url)

        async def worker(n: int) -> None:
            for _ in range(n):
                await client.post("/chat/completions", body=body, cast_to=object)

        await asyncio.gather(*(worker(2) for _ in range(16)))  # connections open
        t = time.perf_counter()
        await asyncio.gather(*(worker(requests // 16) for _ in range(16)))
        rate = (requests // 16) * 16 / (time.perf_counter() - t)
        await client.close()
        return rate

    return asyncio.run(main())


# -- the command -----------------------------------------------------------------------------------
def _ray() -> list[Row]:
    from ptenv.evaluation.bench_ray import ray_rows

    return ray_rows()


def _load() -> tuple[float, int]:
    return os.getloadavg()[0], os.cpu_count() or 1


def measure(sections: tuple[str, ...], repeats: int, rounds: int, say: Any = None) -> list[Row]:
    stages = {
        "startup": lambda: startup(repeats),
        "steps": lambda: steps(rounds),
        "numeric": lambda: numeric(rounds),
        "vector": vector,
        "memory": memory,
        "llm": llm,
        "ray": _ray,
    }
    rows: list[Row] = []
    for i, name in enumerate(sections):
        if say is not None:
            say(i, name)
        rows += stages[name]()
    return rows


def _table(rows: list[Row]) -> str:
    lines = [f"{'measure':<58}{'figure':>11} {'unit':<8}{'ratio':>8}  {'to':<16}{'budget':>9}  ok"]
    section = None
    for r in rows:
        if r.section != section:
            section = r.section
            lines.append(f"[{section}]")
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else ""
        budget = ""
        if r.budget is not None:
            limit, at_most, on_ratio = r.budget
            budget = ("<= " if at_most else ">= ") + (f"{limit:g}x" if on_ratio else f"{limit:g}{r.unit}")
        ok = {None: "", True: "yes", False: "NO"}[r.ok]
        figure = f"{r.value:,.0f}" if r.value >= 1000 else f"{r.value:.3g}" if r.value < 10 else f"{r.value:.1f}"
        lines.append(f"  {r.name:<56}{figure:>11} {r.unit:<8}{ratio:>8}  {r.floor or '':<16}{budget:>9}  {ok}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    sections = args.only
    load_before, cpus = _load()
    if load_before > cpus:
        print(f"ptenv bench: warning: load average {load_before:.1f} on {cpus} processors: figures will be slow and noisy", file=sys.stderr)
    bar: Any = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=len(sections), unit="section", file=sys.stderr, leave=False)

    def say(i: int, name: str) -> None:
        if bar is not None:
            bar.set_description(f"bench: {name}")
            bar.update(i - bar.n)
        else:
            print(f"ptenv bench: [{i + 1}/{len(sections)}] {name}", file=sys.stderr, flush=True)

    try:
        rows = measure(sections, args.repeats, args.rounds, say)
    finally:
        if bar is not None:
            bar.close()
    load_after, _ = _load()
    loaded = max(load_before, load_after) > cpus
    if args.json:
        out = {"rows": [asdict(r) | {"ok": r.ok} for r in rows], "load_average": [load_before, load_after], "cpus": cpus, "loaded": loaded}
        print(json.dumps(out, indent=2))
    else:
        print(_table(rows))
        missed = [r.name.strip() for r in rows if r.ok is False]
        print(
            f"\n{len(rows)} figures; budgets: {sum(r.ok is True for r in rows)} met, {len(missed)} missed"
            + (f" ({'; '.join(missed)})" if missed else "")
        )
    if loaded:
        print(f"ptenv bench: warning: load average {max(load_before, load_after):.1f} on {cpus} processors during the run", file=sys.stderr)
    return 0


def _count(low: int, high: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


def _sections(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in SECTIONS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown section(s) {', '.join(unknown) or repr(text)}; choose from {', '.join(SECTIONS)}")
    return tuple(n for n in SECTIONS if n in names)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the rows (figures, ratios, budgets) as JSON")
    parser.add_argument(
        "--only",
        type=_sections,
        default=DEFAULT_SECTIONS,
        help=f"comma-separated sections, of {', '.join(SECTIONS)} (default: all but ray, which needs the ray extra)",
    )
    parser.add_argument(
        "--repeats", type=_count(1, 100), default=5, help="fresh-process runs of each start-up figure, 1 to 100 (default 5)"
    )
    parser.add_argument(
        "--rounds", type=_count(1, 100), default=5, help="interleaved rounds of the in-process figures, 1 to 100 (default 5)"
    )


__all__ = ["SECTIONS", "Row", "add_arguments", "measure", "run"]
