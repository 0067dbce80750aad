"""``ptenv eval``, ``ptenv report`` and ``ptenv bench``: running agents, reporting runs, measuring speed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ptenv.cli.common import add_env_arg, add_llm_options, env_args, llm_kwargs, print_json


def cmd_eval(args: argparse.Namespace) -> int:
    from ptenv.core.agent import load_agent
    from ptenv.evaluation import evaluate, format_summary

    agent_kwargs = llm_kwargs(args)
    load_agent(args.agent, **agent_kwargs)  # fail early, with a clear message, on an unknown agent
    out = None
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        out = Path(args.out) / "results.jsonl"
    env_kwargs: dict[str, Any] = {"dataset": args.dataset}
    if args.visibility:
        env_kwargs["visibility"] = args.visibility
    env_kwargs.update(env_args(args))

    summary = evaluate(
        args.env,
        args.agent,
        args.split,
        out,
        episodes=args.episodes,
        seed=args.seed,
        env_kwargs=env_kwargs,
        progress=not args.quiet,
        trials=args.trials,
        workers=args.workers,
        concurrency=args.concurrency,
        agent_kwargs=agent_kwargs,
    )
    if out is not None:
        # the run's settings; API keys are never among them (at most the variable's name is)
        run = {
            "env": args.env,
            "agent": args.agent,
            "agent_kwargs": agent_kwargs,
            "split": args.split,
            "env_kwargs": env_kwargs,
            "seed": args.seed,
            "trials": args.trials,
        }
        (out.parent / "run.json").write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
        (out.parent / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print_json(summary)
    else:
        print(format_summary(summary))
        if out is not None:
            print(f"\nresults: {out}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from ptenv.evaluation.report import write_report

    md, page = write_report([Path(r) for r in args.runs], Path(args.out))
    print(f"wrote {md} and {page}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from ptenv.evaluation.bench import run

    return run(args)


def add_commands(sub: Any) -> None:
    from ptenv.scenarios.dataset import DATASETS, DEFAULT_DATASET

    p = sub.add_parser("eval", help="evaluate an agent on a split and print PTBench's columns")
    p.add_argument("--env", default="ptenv/PersonalTool-v0", help="environment id (default: ptenv/PersonalTool-v0)")
    p.add_argument(
        "--agent",
        default="heuristic",
        help="heuristic, profile-blind, random, learner, oracle (test-only), openai, anthropic, ptbench-text, or module:Class",
    )
    p.add_argument("--split", default="test", help="train, test_trained, test_untrained, or test (both, weighted)")
    p.add_argument("--dataset", default=DEFAULT_DATASET, choices=sorted(DATASETS))
    p.add_argument("--visibility", choices=["profile", "history", "facts", "hidden"], help="override the env's visibility mode")
    p.add_argument("--episodes", type=int, help="a seeded sample of this many episodes per split (default: all)")
    add_env_arg(p)
    add_llm_options(p.add_argument_group("LLM agents (openai, anthropic, ptbench-text); keys come only from environment variables"))
    p.add_argument("--trials", type=int, default=1, help="runs per task; > 1 adds pass^k to the summary")
    p.add_argument("--workers", type=int, default=1, help="parallel processes (results do not depend on it)")
    p.add_argument("--concurrency", type=int, default=1, help="episodes in flight at once in one process, for async (LLM) agents")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="directory for results.jsonl (resumable: rerun to continue) and summary.json")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser(
        "bench", help="measure the speed and size budgets (import, registry, generation, reset, step, scoring, memory, eval)"
    )
    from ptenv.evaluation.bench import add_arguments

    add_arguments(p)
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("report", help="Markdown + HTML report with plots from eval runs (directories of ptenv eval --out)")
    p.add_argument("runs", nargs="+", help="run directories")
    p.add_argument("--out", default="report", help="output directory (default: report)")
    p.set_defaults(func=cmd_report)
