"""The environment's hot paths through the public API only, so two versions of ptenv (two
checkouts, two virtual environments) can be timed by the same script and compared:

    venv-a/bin/python benchmarks/hot_paths.py; venv-b/bin/python benchmarks/hot_paths.py   # alternate, repeat

Prints one JSON line of medians: reset, a catalogue search step (and over an episode's first 100),
the finishing step with its scoring (every task's gold already worked out), and replayed scripted
rollouts (the heuristic's own actions, resets included) in steps per second. ``ptenv bench`` holds
the budgets; this is for A/B runs of a change.
"""

import json
import statistics
import time

import gymnasium as gym

import ptenv  # noqa: F401  (registers the ids)
from ptenv.agents.heuristic import HeuristicAgent


def main() -> None:
    env = gym.make("ptenv/PersonalTool-v0", split="test", max_steps=10_000).unwrapped
    agent = HeuristicAgent(seed=0)
    ids = [t.id for t in env.tasks]
    scripts = []
    for tid in ids:  # the heuristic's actions (scoring every task once: its gold is worked out)
        obs, _ = env.reset(options={"task_id": tid})
        agent.reset(seed=0)
        actions: list[str] = []
        while True:
            actions.append(agent.act(obs))
            obs, _, term, trunc, _ = env.step(actions[-1])
            if term or trunc:
                break
        scripts.append((tid, actions))
    resets = []
    for i in range(3000):
        t = time.perf_counter_ns()
        env.reset(options={"task_id": ids[i % len(ids)]})
        resets.append(time.perf_counter_ns() - t)
    env.reset(options={"task_id": next(t.id for t in env.tasks if t.scenario == "takeout")})
    search = json.dumps({"name": "quickbite__search_dishes", "arguments": {"keyword": "curry", "max_price": 15}})
    steps = []
    for _ in range(2000):
        t = time.perf_counter_ns()
        env.step(search)
        steps.append(time.perf_counter_ns() - t)
    finishes = []
    for tid, actions in scripts:
        env.reset(options={"task_id": tid})
        for a in actions[:-1]:
            env.step(a)
        t = time.perf_counter_ns()
        env.step(actions[-1])
        finishes.append(time.perf_counter_ns() - t)
    t0, n = time.perf_counter(), 0
    for tid, actions in scripts:
        env.reset(options={"task_id": tid})
        for a in actions:
            env.step(a)
            n += 1
    figures = {
        "reset_us": statistics.median(resets) / 1e3,
        "tool_step_us": statistics.median(steps) / 1e3,
        "tool_step_first100_us": statistics.median(steps[:100]) / 1e3,
        "finish_with_scoring_us": statistics.median(finishes) / 1e3,
        "scripted_steps_per_s": n / (time.perf_counter() - t0),
    }
    print(json.dumps({k: round(v, 3) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
