"""``ptenv eval``, ``ptenv report`` and ``ptenv bench``: running agents, reporting runs, measuring speed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ptenv.cli.common import (
    add_env_arg,
    add_llm_options,
    at_least,
    between,
    check_agent,
    check_env,
    env_args,
    llm_kwargs,
    output_dir,
    print_json,
)


def cmd_eval(args: argparse.Namespace) -> int:
    from ptenv.evaluation import evaluate, format_summary
    from ptenv.evaluation.results import error_lines

    agent_kwargs = llm_kwargs(args)
    if args.trust_checkpoint:
        agent_kwargs["trust_checkpoint"] = True
    env_kwargs: dict[str, Any] = {"dataset": args.dataset, **env_args(args)}
    if args.visibility:
        env_kwargs["visibility"] = args.visibility
    if args.tool_view:
        env_kwargs["tool_view"] = args.tool_view
    check_agent(args.agent, agent_kwargs, args.tool_view)
    check_env(args.env, env_kwargs, text=True)
    summary = evaluate(
        args.env,
        args.agent,
        args.split,
        Path(args.out) if args.out else None,
        episodes=args.episodes,
        seed=args.seed,
        env_kwargs=env_kwargs,
        progress=not args.quiet,
        trials=args.trials,
        workers=args.workers,
        concurrency=args.concurrency,
        backend=args.backend,
        address=args.address,
        agent_kwargs=agent_kwargs,
        overwrite=args.overwrite,
        preflight=not args.no_preflight,
        debug=args.debug,
    )
    if args.json:
        print_json(summary)
    else:
        print(format_summary(summary))
        if args.out:
            print(f"\nresults: {Path(args.out) / 'results.jsonl'}")
    for line in error_lines(summary):  # on stderr too: a --json reader sees why episodes failed
        print(f"ptenv: {line}", file=sys.stderr)
    if args.debug and summary.get("first_traceback"):
        print(summary["first_traceback"], file=sys.stderr, end="")
    return 1 if summary["errored"] and summary["errored"] == summary["episodes"] else 0


def cmd_report(args: argparse.Namespace) -> int:
    from ptenv.evaluation.report import write_report

    md, page = write_report([Path(r) for r in args.runs], output_dir(args.out))
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
    p.add_argument(
        "--tool-view",
        choices=["full", "compact", "platform_first"],  # core.episode.TOOL_VIEWS (imported lazily)
        help="full (every platform's tools, the default), compact (the same tools, one short sentence each, no parameter prose: "
        "~25%% smaller prompts) or platform_first (choose_platform, then that platform's tools: ~3x smaller prompts)",
    )
    p.add_argument("--episodes", type=at_least(1), help="a seeded sample of this many episodes per split (default: all)")
    add_env_arg(p)
    add_llm_options(p.add_argument_group("LLM agents (openai, anthropic, ptbench-text); keys come only from environment variables"))
    p.add_argument("--trials", type=between(1, 1000), default=1, help="runs per task, 1 to 1000; > 1 adds pass^k to the summary")
    p.add_argument(
        "--workers",
        type=at_least(1),
        help="parallel processes, at most one per processor (default 1); with --backend ray, Ray actors "
        "(default one per CPU of the cluster). Results do not depend on it",
    )
    p.add_argument(
        "--concurrency",
        type=between(1, 1024),
        default=1,
        help="episodes in flight at once in one process (in each Ray actor with --backend ray), for async (LLM) agents",
    )
    p.add_argument(
        "--backend",
        choices=["local", "ray"],
        default="local",
        help="where episodes run: this machine (default), or Ray actors (pip install 'ptenv[ray]'); results are written here either way",
    )
    p.add_argument(
        "--address",
        help="the Ray cluster to run on, e.g. 10.0.0.5:6379 (default: $RAY_ADDRESS, else a local Ray started for the run)",
    )
    p.add_argument("--seed", type=between(0, 2**63 - 1), default=0)
    p.add_argument("--out", help="directory for results.jsonl (resumable: rerun the same command to continue), run.json, summary.json")
    p.add_argument("--overwrite", action="store_true", help="start --out over when it holds a run with other settings")
    p.add_argument("--no-preflight", action="store_true", help="do not check the LLM server and key before the first episode")
    p.add_argument(
        "--trust-checkpoint", action="store_true", help="load a pickled (stable-baselines3) checkpoint, which can run code: only your own"
    )
    p.add_argument("--debug", action="store_true", help="keep each error's traceback in results.jsonl and print the first one")
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
