"""Prompt tokens per request of the LLM agents in each tool view (the table in docs/llm.md).

    python benchmarks/prompt_sizes.py [--episodes 30]

Runs the ``openai`` and ``anthropic`` agents against the loopback server (which counts request
bytes / 4 as tokens, a tokenizer-free estimate) with a model that answers with the gold: in the
``full`` and ``compact`` views it calls the gold's tools; in ``platform_first`` it chooses the gold platform first.
Prints, per agent and view, the requests, the mean and largest prompt, and the first request's.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ptenv.evaluation import evaluate
from ptenv.scenarios import Task, load_dataset
from ptenv.testing.loopback import LoopbackLLM, Text, ToolCalls
from ptenv.tools_registry import Registry

DATASET = "ptenv-v1-mini"
TASKS = {(t.query, t.now): t for t in load_dataset(DATASET).tasks}


def _task(provider: str, body: dict[str, Any]) -> Task:
    msgs = body["messages"]
    system, query = (msgs[0]["content"], msgs[1]["content"]) if provider == "openai" else (body["system"], msgs[0]["content"])
    now = next(line.split(": ", 1)[1] for line in system.splitlines() if line.startswith("Current time: "))
    return TASKS[(query, now)]


def gold_model(provider: str, body: dict[str, Any]) -> Any:
    """Answers with the gold; first chooses its platform when no platform's tools are on offer."""
    task = _task(provider, body)
    names = [t.get("function", t)["name"] for t in body.get("tools", [])]
    turns = sum(m["role"] == "assistant" for m in body["messages"])
    if "choose_platform" in names:
        if not any("__" in n for n in names):
            platform = Registry.default().scenarios[task.scenario].platform(task.gold.platform).name
            return ToolCalls([("choose_platform", {"platform": platform})])
        turns -= 1  # the choosing turn is not a gold call
    if turns < len(task.gold.calls):
        call = task.gold.calls[turns]
        return ToolCalls([(call.tool, call.canonical_args())])
    return Text("All done.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=30)
    args = ap.parse_args()
    print("| agent | view | requests | prompt tokens per request: mean | largest | first request |")
    print("|---|---|---|---|---|---|")
    for agent in ("openai", "anthropic"):
        for view in ("full", "compact", "platform_first"):
            with LoopbackLLM(handler=gold_model) as srv:
                base = srv.openai_base_url if agent == "openai" else srv.anthropic_base_url
                s = evaluate(
                    "ptenv/PersonalTool-v0",
                    agent,
                    "test_untrained",
                    None,
                    episodes=args.episodes,
                    env_kwargs={"dataset": DATASET, "tool_view": view},
                    agent_kwargs={"base_url": base, "model": "loopback", "cache_dir": None},
                    progress=False,
                )
                opening = 2 if agent == "openai" else 1
                first = [len(json.dumps(b)) // 4 for _, _, _, b in srv.requests if len(b["messages"]) <= opening]
            u = s["usage"]
            assert s["metrics"]["overall"] == 1.0, s["metrics"]
            print(
                f"| `{agent}` | {view} | {u['requests']} | {u['input_tokens'] / u['requests']:,.0f} | {u['max_input_tokens']:,} |"
                f" {sum(first) / len(first):,.0f} |"
            )


if __name__ == "__main__":
    main()
