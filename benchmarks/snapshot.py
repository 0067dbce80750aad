"""A behaviour fingerprint: ``python benchmarks/snapshot.py --out snap.json``.

Everything a behaviour-preserving change (a refactor, a speed-up) must leave identical, measured
the way a user meets it: through the command line and ``gym.make`` only, so the same script runs
before and after code moves.

* the dataset's sha256;
* ``ptenv eval --json`` of the scripted agents on ``--split test`` (seed 0) in every visibility of
  ``PersonalTool-v0``, in ``PersonalSession-v0`` and in ``PTBench-v0``, with a digest of each run's
  ``results.jsonl`` (every action and step reward, timings left out);
* ``ptenv ptbench predict`` then ``score`` (both scorers) on an exported split;
* a digest of every observation, reward and ``info`` of seeded rollouts in each registered id.

Compare two snapshots with ``python benchmarks/snapshot.py --compare A.json B.json`` (exit 1 on any
difference, naming each one). A full snapshot takes a few minutes on two cores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

AGENTS = ("heuristic", "profile-blind", "random")
EVALS: list[tuple[str, list[str]]] = [
    *((f"PersonalTool-v0/{v}", ["--env", "ptenv/PersonalTool-v0", "--visibility", v]) for v in ("profile", "history", "facts", "hidden")),
    ("PersonalSession-v0", ["--env", "ptenv/PersonalSession-v0"]),
    ("PTBench-v0", ["--env", "ptenv/PTBench-v0"]),
]
#: Ids rolled out step by step (the LLM-user id needs a server and is nondeterministic).
ROLLOUT_IDS = (
    "ptenv/PersonalTool-v0",
    "ptenv/PersonalTool-Profile-v0",
    "ptenv/PersonalTool-History-v0",
    "ptenv/PersonalTool-Hidden-v0",
    "ptenv/PersonalSession-v0",
    "ptenv/PTBench-v0",
    "ptenv/PersonalTool-Numeric-v0",
    "ptenv/PersonalSession-Numeric-v0",
)


def _ptenv(*args: str) -> str:
    res = subprocess.run([sys.executable, "-m", "ptenv", *args], capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"ptenv {' '.join(args)} failed ({res.returncode}): {res.stderr.strip()[-500:]}")
    return res.stdout


def _results_digest(path: Path) -> str:
    """sha256 of a results.jsonl's records without their timings, in a stable order."""
    recs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        rec.pop("seconds", None)
        recs.append(json.dumps(rec, sort_keys=True))
    return hashlib.sha256("\n".join(sorted(recs)).encode()).hexdigest()


def _jsonable(x: Any) -> Any:
    import numpy as np

    if isinstance(x, np.ndarray):
        return x.round(6).tolist()
    if isinstance(x, (np.integer, np.floating)):
        return x.item()
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x


def rollout_digests(episodes: int) -> dict[str, str]:
    """Per id: sha256 of every (observation, reward, terminated, truncated, info) of seeded episodes.
    Text ids are driven by the heuristic agent, numeric ids by seeded random masked actions."""
    import gymnasium as gym
    import numpy as np

    import ptenv  # noqa: F401  (registers the ids)
    from ptenv.agents.heuristic import HeuristicAgent

    out = {}
    for env_id in ROLLOUT_IDS:
        h = hashlib.sha256()
        env = gym.make(env_id, split="test")
        numeric = "Numeric" in env_id
        rng = np.random.default_rng(0)
        agent = HeuristicAgent(seed=0)
        for ep in range(episodes):
            obs, info = env.reset(seed=ep)
            agent.reset(seed=ep)
            h.update(json.dumps(_jsonable([obs, info]), sort_keys=True).encode())
            for _ in range(300):
                if numeric:
                    action: Any = int(rng.choice(np.flatnonzero(info["action_mask"])))
                else:
                    action = agent.act(obs)
                obs, reward, terminated, truncated, info = env.step(action)
                h.update(json.dumps(_jsonable([obs, float(reward), terminated, truncated, info]), sort_keys=True).encode())
                if terminated or truncated:
                    break
        env.close()
        out[env_id] = h.hexdigest()
    return out


def record_digests(data: Path) -> dict[str, str]:
    """PTBench records run in the multi-step env and in PTBench-v0, each answered with its first
    accepted values (read from the exported file), then with a wrong platform."""
    import gymnasium as gym

    import ptenv  # noqa: F401

    records = json.loads(data.read_text(encoding="utf-8"))[:200]
    out = {}
    for env_id in ("ptenv/PersonalTool-v0", "ptenv/PTBench-v0"):
        h = hashlib.sha256()
        env = gym.make(env_id, records=str(data))
        for i, rec in enumerate(records):
            platform, calls = rec["answer"]
            if i % 3 == 2:  # a wrong platform now and then
                platform = "Nowhere"
            obs, info = env.reset(seed=i, options={"task_index": i})
            h.update(json.dumps([obs, info], sort_keys=True).encode())
            parts = [(f, {k: v[0] for k, v in args.items()}) for call in calls for f, args in call.items()]
            if env_id.endswith("PTBench-v0"):
                actions = [
                    platform + ":[" + ", ".join(f"{f}(" + ", ".join(f"{k}={v!r}" for k, v in a.items()) + ")" for f, a in parts) + "]"
                ]
            else:
                slug = platform.replace(" ", "_").lower()
                actions = [json.dumps({"name": f"{slug}__{f}", "arguments": a}) for f, a in parts] + ['{"name": "finish"}']
            for action in actions:
                step = env.step(action)
                h.update(json.dumps([step[0], float(step[1]), step[2], step[3], step[4]], sort_keys=True).encode())
        env.close()
        out[env_id] = h.hexdigest()
    return out


def snapshot(episodes: int) -> dict[str, Any]:
    snap: dict[str, Any] = {}
    stats = json.loads(_ptenv("data", "stats", "--json", "--no-validate"))
    snap["dataset_sha256"] = stats["checksum"]
    snap["eval"] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, env_args in EVALS:
            for agent in AGENTS:
                out = Path(tmp) / f"{name.replace('/', '_')}_{agent}"
                summary = json.loads(
                    _ptenv("eval", "--agent", agent, "--split", "test", "--seed", "0", "--json", "--quiet", "--out", str(out), *env_args)
                )
                snap["eval"][f"{name} {agent}"] = {"summary": summary, "results_sha256": _results_digest(out / "results.jsonl")}
                print(f"eval {name} {agent}: overall {summary['metrics']['overall']:.4f}", file=sys.stderr)
        data, gen = Path(tmp) / "data.json", Path(tmp) / "generation.jsonl"
        _ptenv("data", "export", "--format", "ptbench", "--split", "test", "--out", str(data))
        _ptenv("ptbench", "predict", "--data", str(data), "--agent", "heuristic", "--out", str(gen))
        snap["ptbench_generation_sha256"] = hashlib.sha256(gen.read_bytes()).hexdigest()
        snap["ptbench_export_sha256"] = hashlib.sha256(data.read_bytes()).hexdigest()
        for scorer in ("compat", "strict"):
            snap[f"ptbench_score_{scorer}"] = json.loads(
                _ptenv("ptbench", "score", "--data", str(data), "--predictions", str(gen), "--scorer", scorer, "--json")
            )
        snap["records_rollouts"] = record_digests(data)
    snap["rollouts"] = rollout_digests(episodes)
    return snap


def _diff(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}/{k}: only in {'second' if k not in a else 'first'}")
            else:
                out += _diff(a[k], b[k], f"{path}/{k}")
        return out
    return [] if a == b else [f"{path}: {json.dumps(a)[:120]} != {json.dumps(b)[:120]}"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="write the snapshot here (JSON)")
    ap.add_argument("--episodes", type=int, default=40, help="rollout episodes per id (default 40)")
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"), help="compare two snapshots instead")
    args = ap.parse_args()
    if args.compare:
        a, b = (json.loads(p.read_text()) for p in args.compare)
        diffs = _diff(a, b)
        for d in diffs:
            print(d)
        print("identical" if not diffs else f"{len(diffs)} difference(s)")
        return 1 if diffs else 0
    if args.out is None:
        ap.error("give --out FILE (or --compare A B)")
    snap = snapshot(args.episodes)
    args.out.write_text(json.dumps(snap, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
