"""Send generated actions to every env's ``step`` and report what escaped, what hung and what leaked.

    python benchmarks/fuzz_actions.py                      # 200,000 actions, seed 0 (~1 min)
    python benchmarks/fuzz_actions.py --actions 20000 --seed 7

The actions are split evenly over the ids. Text ids (every registered id but the numeric ones and
the LLM-user id, which needs a server) get strings of many shapes, drawn from one seeded
``random.Random`` per id: random text (control characters, astral characters, lone surrogates),
broken JSON, tool calls in every accepted shape with real and random tool names and arguments
(huge integers, ``NaN``/``Infinity``, ``1e999``, deep nesting, arguments as a JSON string nested in
strings), real tools called with acceptable arguments but one, PTBench's ``Platform:[f(a=...)]``
form (hex literals, arithmetic, attribute chains, code), fenced blocks, and inputs near the size
limit. The promise checked on each step: ``step`` never raises, the observation is strict JSON (no
NaN/Infinity) and valid UTF-8 with a ``type``, and the reward is a finite float.

Numeric ids get valid indices (ints, numpy integer scalars and 0-d arrays) and invalid ones (bools,
floats, strings, None, lists, arrays, out-of-range ints). A refusal is expected there: a
``ValueError`` naming the space (``Discrete(9)``) counts as ``refused``; anything else raised, or a
valid action refused, or an invalid one accepted, is a failure.

The table, per id: actions sent; steps that kept the promise (``ok``); clear refusals; failures
(listed below the table with examples); the slowest step in the run; the slowest of the five
slowest re-run alone with the garbage collector off (a full collection of this process takes
~0.15 s and lands inside some step); steps over ``--hang`` seconds (1 s by default) in the run,
and ``hangs``: those still over it alone. Then the growth of the resident memory over the id's
run and over its second half (a leak grows in both; caches filling up only in the first), each
measured after a ``gc.collect()``. Exits 1 on any failure or hang, else 0.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

import ptenv
from ptenv.core.builtins import Builtins
from ptenv.envs.registration import NONDETERMINISTIC
from ptenv.tools_registry import Registry

TEXT_IDS = [i for i in ptenv.ENV_IDS if i not in NONDETERMINISTIC and "Numeric" not in i]
NUMERIC_IDS = [i for i in ptenv.ENV_IDS if "Numeric" in i]

_REG = Registry.default()
_TOOLS = [t for sc in _REG.scenarios for t in _REG.tools_for(sc)]
TOOL_NAMES = sorted({t.name for t in _TOOLS} | set(Builtins.names()))
API_NAMES = sorted({t.api for t in _TOOLS})
PLATFORM_NAMES = sorted({t.platform_name for t in _TOOLS})
PARAM_NAMES = sorted({t.arg_name(p) for t in _TOOLS for p in t.params} | {"field", "question", "message", "scenario", "platform"})
# characters that stress a parser: quotes, escapes, brackets, controls, a BOM, astral and odd unicode
_ODD = list("{}[]()\":,\\='`*/+-.eE0123456789 \t\n\r\x00\x1b\x7f\u00e9\u200b\u2028\ufeff\U0001f642\u0130\u00df\ud800\udfff")


def _reject(name: str) -> Any:
    raise ValueError(f"not strict JSON: {name}")


def strict_problem(obs: Any) -> tuple[str, str] | None:
    """Why ``obs`` is not a strict-JSON ptenv observation, as (kind, detail), or None."""
    if not isinstance(obs, str):
        return "observation not a str", type(obs).__name__
    try:
        obs.encode("utf-8")
    except UnicodeEncodeError as exc:
        return "observation not UTF-8", str(exc)[:120]
    try:
        data = json.loads(obs, parse_constant=_reject)
    except ValueError as exc:
        return "observation not strict JSON", str(exc)[:120]
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        return "observation has no type", obs[:120]
    return None


class Gen:
    """Seeded generators of actions, one method per shape."""

    def __init__(self, seed: int):
        self.r = random.Random(seed)

    # -- pieces ------------------------------------------------------------------------------
    def text(self, n: int | None = None) -> str:
        r = self.r
        n = r.choice([0, 1, 3, 10, 40, 200]) if n is None else n
        if r.random() < 0.5:
            return "".join(r.choice(_ODD) for _ in range(n))
        return "".join(chr(r.randrange(0x110000)) for _ in range(n))  # any code point, surrogates too

    def name(self) -> str:
        r = self.r
        k = r.random()
        if k < 0.5:
            return r.choice(TOOL_NAMES)
        if k < 0.65:
            return r.choice(API_NAMES)
        if k < 0.75:
            return r.choice(TOOL_NAMES).upper()
        return self.text()

    def number_literal(self) -> str:
        """A JSON number, or a near miss Python's json still reads (NaN, 1e999, 9...9)."""
        r = self.r
        return r.choice(
            [
                str(r.randint(-(10**6), 10**6)),
                repr(r.uniform(-1e6, 1e6)),
                "9" * r.choice([19, 310, 4299, 4301, 6000]),
                "-" + "9" * r.choice([309, 4400]),
                "1e999",
                "-1e999",
                "1e-400",
                "NaN",
                "Infinity",
                "-Infinity",
                "-0.0",
                "5e-324",
                "1.7976931348623157e308",
            ]
        )

    def json_value(self, depth: int = 0) -> str:
        """A JSON-ish value as text (numbers written by hand, so the odd literals get in)."""
        r = self.r
        k = r.random()
        if depth > 4 or k < 0.35:
            return self.number_literal()
        if k < 0.6:
            return json.dumps(self.text(), ensure_ascii=r.random() < 0.5)
        if k < 0.65:
            return r.choice(["true", "false", "null", '"\\ud800"', '"\\udfff\\ud800"', '"\\ud83d\\ude42"'])
        if k < 0.7:
            d = r.choice([50, 99, 101, 600, 1100, 3000])
            return "[" * d + "]" * d if r.random() < 0.5 else '{"a":' * d + "1" + "}" * d
        if k < 0.85:
            return "[" + ",".join(self.json_value(depth + 1) for _ in range(r.randint(0, 4))) + "]"
        return "{" + ",".join(f"{json.dumps(r.choice(PARAM_NAMES))}:{self.json_value(depth + 1)}" for _ in range(r.randint(0, 4))) + "}"

    def arguments(self) -> str:
        r = self.r
        k = r.random()
        if k < 0.7:
            keys = [r.choice(PARAM_NAMES) if r.random() < 0.8 else self.text(5) for _ in range(r.randint(0, 4))]
            return "{" + ",".join(f"{json.dumps(key)}:{self.json_value(1)}" for key in keys) + "}"
        if k < 0.9:  # the OpenAI shape: a JSON string, sometimes a string of a string of ...
            inner = self.arguments() if r.random() < 0.8 else self.json_value()
            return json.dumps(inner)
        return self.json_value()

    def valid_value(self, p: Any) -> Any:
        """A value a tool's parameter accepts (so the call gets past validation into the backend)."""
        r = self.r
        if p.enum:
            return r.choice(p.enum)
        if p.values and r.random() < 0.5:
            return r.choice(p.values)[0]
        if p.type == "integer":
            return r.randint(int(p.minimum if p.minimum is not None else 0), int(p.maximum if p.maximum is not None else 50))
        if p.type == "number":
            return round(r.uniform(p.minimum if p.minimum is not None else 0.0, p.maximum if p.maximum is not None else 500.0), 2)
        if p.type == "boolean":
            return r.random() < 0.5
        if p.type == "array":
            return ["x"]
        return {"date": "2026-04-01", "time": "10:00"}.get(p.context or "", r.choice(["Paris", "a@b.c", "curry", "x"]))

    def valid_call(self, ptbench: bool) -> str:
        """A real tool called with acceptable arguments, one of them (often) swapped for an extreme."""
        r = self.r
        tool = r.choice(_TOOLS)
        args = {tool.arg_name(p): self.valid_value(p) for p in tool.params if p.required or r.random() < 0.5}
        if ptbench:
            parts = [f"{k}={v!r}" for k, v in args.items()]
            if parts and r.random() < 0.7:
                parts[r.randrange(len(parts))] = parts[0].split("=")[0] + "=" + self.py_value(3)
            return f"{tool.platform_name}:[{tool.api}({', '.join(parts)})]"
        parts = [f"{json.dumps(k)}:{json.dumps(v)}" for k, v in args.items()]
        if parts and r.random() < 0.7:
            i = r.randrange(len(parts))
            parts[i] = parts[i].split(":")[0] + ":" + self.json_value(4)
        return f'{{"name":{json.dumps(tool.name)},"arguments":{{{",".join(parts)}}}}}'

    # -- whole actions -------------------------------------------------------------------------
    def tool_call(self) -> str:
        r = self.r
        name = json.dumps(self.name())
        args = self.arguments()
        shape = r.randrange(7)
        if shape == 0:
            return f'{{"name":{name},"arguments":{args}}}'
        if shape == 1:
            return f'{{"{r.choice(["tool", "name"])}":{name},"{r.choice(["args", "input", "parameters"])}":{args}}}'
        if shape == 2:
            return f'{{"type":"function","function":{{"name":{name},"arguments":{json.dumps(args)}}}}}'
        if shape == 3:
            return f'{{"type":"tool_use","id":"t1","name":{name},"input":{args}}}'
        if shape == 4:
            calls = ",".join(
                f'{{"function":{{"name":{json.dumps(self.name())},"arguments":{self.arguments()}}}}}' for _ in range(r.randint(0, 3))
            )
            value = r.choice(["[" + calls + "]", "null", "{}", '"x"', "5"])
            return '{"tool_calls":' + value + "}"
        if shape == 5:
            return "[" + ",".join(self.tool_call() for _ in range(r.choice([0, 1, 2, 17]))) + "]"
        return f'{{"name":{name},"function":{r.choice(["null", "5", name, "{}"])},"arguments":{args}}}'

    def py_value(self, depth: int = 0) -> str:
        """A Python expression as PTBench answers write them, literal or not."""
        r = self.r
        k = r.random()
        if depth > 3 or k < 0.3:
            return r.choice(
                [
                    str(r.randint(-100, 10**6)),
                    repr(r.uniform(-1e3, 1e3)),
                    "0x" + "f" * r.choice([8, 300, 5000]),
                    "9" * r.choice([5, 400, 4301]),
                    "1e999",
                    "-1e999",
                    "1e999j",
                    "1_000",
                    "True",
                    "None",
                    "...",
                    'b"\\xff"',
                    "{1, 2}",
                    "{(1, 2): 3}",
                ]
            )
        if k < 0.5:
            return repr(self.text())
        if k < 0.6:
            return "*".join(["1e12"] * r.randint(1, 40)) + r.choice(["", "/1", "/1e-300", "/0", "-1e308*10"])
        if k < 0.65:
            return "(" * r.choice([10, 150, 250]) + "1" + ")" * r.choice([10, 150, 250])
        if k < 0.7:
            return r.choice(["-", "~", "not ", "+"]) * r.choice([10, 3000]) + "1"
        if k < 0.75:
            return r.choice(
                ["__import__('os').system('true')", "(lambda: 1)()", "[x for x in y]", "f'{1}'", "a if b else c", "x.y", "(yield)"]
            )
        return "[" + ", ".join(self.py_value(depth + 1) for _ in range(r.randint(0, 4))) + "]"

    def ptbench(self) -> str:
        r = self.r
        calls = []
        for _ in range(r.choice([0, 1, 1, 2, 17])):
            func = r.choice(API_NAMES) if r.random() < 0.8 else self.text(4)
            if r.random() < 0.05:
                func = ".".join(["a"] * r.choice([3, 5000]))
            kws = [f"{r.choice(PARAM_NAMES) if r.random() < 0.9 else self.text(3)}={self.py_value()}" for _ in range(r.randint(0, 3))]
            pos = [self.py_value() for _ in range(r.choice([0, 0, 1]))]
            extra = ["**kw"] if r.random() < 0.03 else []
            calls.append(f"{func}({', '.join(pos + kws + extra)})")
        body = "[" + ", ".join(calls) + "]"
        platform = r.choice([*PLATFORM_NAMES, "P", self.text(4), ""])
        k = r.random()
        if k < 0.6:
            return f"{platform}:{body}"
        if k < 0.8:
            return body
        return calls[0] if calls else f"{platform}:"

    def broken(self) -> str:
        """A valid action cut short, or with a character swapped in."""
        r = self.r
        s = self.tool_call() if r.random() < 0.6 else self.ptbench()
        if not s:
            return s
        i = r.randrange(len(s))
        return s[:i] if r.random() < 0.5 else s[:i] + r.choice(_ODD) + s[i + 1 :]

    def huge(self) -> str:
        r = self.r
        n = r.choice([19_990, 20_000, 20_001, 30_000])
        return r.choice(
            [
                "a" + " " * n,
                "```" + "a" * n,
                "A" + " \t" * (n // 2) + ":" + "x",
                '{"name":"finish","arguments":{"message":"' + "x" * n + '"}}',
                "P:[f(a='" + "x" * n + "')]",
                '{"name":"' + "y" * n + '"}',
                "[" * (n // 2),
            ]
        )[:n]

    def action(self) -> tuple[str, str]:
        """(shape, action)."""
        r = self.r
        k = r.random()
        if k < 0.12:
            return "text", self.text()
        if k < 0.2:
            return "json", self.json_value()
        if k < 0.4:
            return "tool_call", self.tool_call()
        if k < 0.6:
            return "ptbench", self.ptbench()
        if k < 0.8:
            ptbench = r.random() < 0.3
            return "valid_call" + ("(ptbench)" if ptbench else ""), self.valid_call(ptbench)
        if k < 0.92:
            return "broken", self.broken()
        if k < 0.97:
            inner = self.tool_call()
            return "fenced", f"```{r.choice(['', 'json', 'py'])}\n{inner}\n" + r.choice(["```", "``", ""])
        return "huge", self.huge()

    def numeric_action(self, n: int) -> tuple[str, Any, bool]:
        """(kind, action, valid) for a ``Discrete(n)`` space."""
        r = self.r
        i = r.randrange(n)
        valid: list[tuple[str, Any]] = [
            ("int", i),
            ("np.int64", np.int64(i)),
            ("np.int32", np.int32(i)),
            ("np.uint8", np.uint8(i)),
            ("0-d array", np.array(i)),
        ]
        invalid: list[tuple[str, Any]] = [
            ("bool", r.random() < 0.5),
            ("np.bool_", np.bool_(True)),
            ("float", i + 0.5),
            ("whole float", float(i)),
            ("np.float32", np.float32(i)),
            ("str", str(i)),
            ("None", None),
            ("list", [i]),
            ("1-d array", np.array([i])),
            ("float array", np.array(float(i))),
            ("complex", complex(i, 0)),
            ("out of range", r.choice([-1, n, n + 5, -(10**30), 10**30])),
            ("np out of range", np.int64(n)),
        ]
        if r.random() < 0.5:
            kind, a = r.choice(valid)
            return kind, a, True
        kind, a = r.choice(invalid)
        return kind, a, False


def rss_kib() -> int:
    """The process's resident memory (Linux /proc; elsewhere the peak, from resource)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except OSError:
        import resource  # not on Windows; nor is /proc

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


@dataclass
class Report:
    env_id: str
    sent: int = 0
    ok: int = 0
    refused: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    #: The slowest steps as (seconds, description, action), slowest first (at most SLOW_KEPT).
    slow: list[tuple[float, str, Any]] = field(default_factory=list)
    #: The slowest of those re-timed alone, with the garbage collector off, and which it was.
    alone: float = 0.0
    alone_action: str = ""
    #: Steps over the hang limit during the run, and those still over it re-timed alone.
    over: int = 0
    hangs: int = 0
    rss_growth_kib: int = 0
    rss_late_kib: int = 0
    seconds: float = 0.0

    def fail(self, what: str, action: Any, detail: str = "") -> None:
        """Count a failure by kind; keep the first few of each kind's actions as examples."""
        self.failures[what] += 1
        if self.failures[what] <= 2 and len(self.examples) < 12:
            self.examples.append(f"{what}: {detail[:100]} <- {repr(action)[:160]}")

    def timed(self, seconds: float, description: str, action: Any, hang: float) -> None:
        self.over += seconds > hang
        if seconds > hang or len(self.slow) < SLOW_KEPT or seconds > self.slow[-1][0]:
            self.slow.append((seconds, description, action))
            self.slow.sort(key=lambda x: -x[0])
            # keep the top few, and every step over the limit (each is re-timed)
            del self.slow[max(SLOW_KEPT, sum(t > hang for t, _, _ in self.slow)) :]


SLOW_KEPT = 5


def retime(env: gym.Env[Any, Any], rep: Report, hang: float) -> None:
    """Re-time the slowest steps alone, the collector off: a full collection of this process's
    heap takes ~0.15 s and lands inside some step; a hang is a step slow on its own."""
    for _, description, action in rep.slow:
        env.reset(seed=0)
        gc.disable()
        try:
            t = time.perf_counter()
            with contextlib.suppress(Exception):  # counted already; only the time matters here
                env.step(action)
            dt = time.perf_counter() - t
        finally:
            gc.enable()
        rep.hangs += dt > hang
        if dt >= rep.alone:
            rep.alone, rep.alone_action = dt, description


def run_text(env_id: str, gen: Gen, n: int, hang: float) -> Report:
    rep = Report(env_id)
    env = gym.make(env_id, split="test", disable_env_checker=True)
    env.reset(seed=0)
    for warm in ('{"name": "finish"}', "x", "P:[f(a=1)]"):  # warm caches before measuring memory
        env.step(warm)
        env.reset()
    gc.collect()
    rss0, rss_mid, t0 = rss_kib(), 0, time.perf_counter()
    for i in range(n):
        if i == n // 2:
            gc.collect()
            rss_mid = rss_kib()
        shape, action = gen.action()
        rep.sent += 1
        t = time.perf_counter()
        try:
            obs, reward, term, trunc, _ = env.step(action)
        except Exception as exc:  # the promise: never
            rep.fail(f"{shape}: step raised {type(exc).__name__}", action, str(exc))
            env.reset()
            continue
        rep.timed(time.perf_counter() - t, f"{shape}: {action[:60]!r} ({len(action)} chars)", action, hang)
        problem = strict_problem(obs)
        if problem is not None:
            rep.fail(f"{shape}: {problem[0]}", action, problem[1])
        elif not (isinstance(reward, float) and math.isfinite(reward)):
            rep.fail(f"{shape}: reward {reward!r}", action)
        else:
            rep.ok += 1
        if term or trunc:
            env.reset()
    rep.seconds = time.perf_counter() - t0
    gc.collect()
    rss1 = rss_kib()
    rep.rss_growth_kib, rep.rss_late_kib = rss1 - rss0, rss1 - rss_mid
    retime(env, rep, hang)
    env.close()
    return rep


def run_numeric(env_id: str, gen: Gen, n: int, hang: float) -> Report:
    rep = Report(env_id)
    env = gym.make(env_id, split="test", disable_env_checker=True)
    env.reset(seed=0)
    space = env.action_space
    assert isinstance(space, gym.spaces.Discrete)
    for _ in range(20):  # warm-up
        _, _, term, trunc, _ = env.step(0)
        if term or trunc:
            env.reset()
    gc.collect()
    rss0, rss_mid, t0 = rss_kib(), 0, time.perf_counter()
    for i in range(n):
        if i == n // 2:
            gc.collect()
            rss_mid = rss_kib()
        kind, action, valid = gen.numeric_action(int(space.n))
        rep.sent += 1
        t = time.perf_counter()
        try:
            obs, reward, term, trunc, _ = env.step(action)
        except ValueError as exc:
            if not valid and f"Discrete({space.n})" in str(exc):
                rep.refused += 1
            else:
                rep.fail(f"{kind}: ValueError not naming the space" if not valid else f"{kind}: refused", action, str(exc))
            continue
        except Exception as exc:
            rep.fail(f"{kind}: step raised {type(exc).__name__}", action, str(exc))
            env.reset()
            continue
        rep.timed(time.perf_counter() - t, f"{kind}: {action!r}", action, hang)
        if not valid:
            rep.fail(f"{kind}: accepted", action)
        elif not (space.contains(np.int64(action)) and env.observation_space.contains(obs) and math.isfinite(float(reward))):
            rep.fail(f"{kind}: bad step result", action)
        else:
            rep.ok += 1
        if term or trunc:
            env.reset()
    rep.seconds = time.perf_counter() - t0
    gc.collect()
    rss1 = rss_kib()
    rep.rss_growth_kib, rep.rss_late_kib = rss1 - rss0, rss1 - rss_mid
    retime(env, rep, hang)
    env.close()
    return rep


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--actions", type=int, default=200_000, help="actions in all, split evenly over the ids (default 200000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hang", type=float, default=1.0, help="a step slower than this many seconds, even alone, is a hang (default 1)")
    args = ap.parse_args(argv)
    ids = TEXT_IDS + NUMERIC_IDS
    per_id = max(2, args.actions // len(ids))
    t_all = time.perf_counter()
    reports = []
    for k, env_id in enumerate(ids):
        gen = Gen(args.seed * 1000 + k)  # one stream per id: an id's actions do not depend on the others'
        run = run_numeric if env_id in NUMERIC_IDS else run_text
        reports.append(run(env_id, gen, per_id, args.hang))
        print(f"  {env_id}: {per_id} actions in {reports[-1].seconds:.1f} s", file=sys.stderr, flush=True)

    head = (
        f"{'id':28} {'sent':>7} {'ok':>7} {'refused':>7} {'failed':>6} {'slowest':>9} {'alone':>8} {'>limit':>6} {'hangs':>5}"
        f" {'rss +KiB':>8} {'2nd half':>8}"
    )
    print(head)
    print("-" * len(head))

    def row(name: str, rs: list[Report]) -> str:
        return (
            f"{name:28} {sum(r.sent for r in rs):7d} {sum(r.ok for r in rs):7d} {sum(r.refused for r in rs):7d}"
            f" {sum(sum(r.failures.values()) for r in rs):6d} {max(r.slow[0][0] if r.slow else 0.0 for r in rs) * 1000:7.1f}ms"
            f" {max(r.alone for r in rs) * 1000:6.1f}ms {sum(r.over for r in rs):6d} {sum(r.hangs for r in rs):5d}"
        )

    for rep in reports:
        print(row(rep.env_id.removeprefix("ptenv/"), [rep]) + f" {rep.rss_growth_kib:8d} {rep.rss_late_kib:8d}")
    print("-" * len(head))
    print(row("total", reports))
    total_failed = sum(sum(r.failures.values()) for r in reports)
    total_hangs = sum(r.hangs for r in reports)
    print(f"seed {args.seed}, hang limit {args.hang:g} s, {time.perf_counter() - t_all:.0f} s in all")
    slow = max(reports, key=lambda r: r.alone)
    print(f"slowest step alone: {slow.alone * 1000:.1f} ms in {slow.env_id}, {slow.alone_action}")
    for rep in reports:
        for what, count in rep.failures.most_common():
            print(f"FAILED {rep.env_id}: {what} x{count}")
        for ex in rep.examples:
            print(f"  e.g. {ex}")
        for seconds, description, _ in rep.slow:
            if seconds > args.hang:
                print(f"SLOW {rep.env_id}: {seconds:.2f} s in the run: {description}")
    return 1 if total_failed or total_hangs else 0


if __name__ == "__main__":
    sys.exit(main())
