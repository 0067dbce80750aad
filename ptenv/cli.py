"""The ``ptenv`` command line.

Every command that reports something has ``--json`` for machines; without it, a readable table.
Heavy modules are imported inside the commands so ``ptenv --help`` answers at once.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any


def _print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def cmd_registry(args: argparse.Namespace) -> int:
    from ptenv.tools_registry import Registry

    reg = Registry.default()
    summary = reg.summary()
    if args.json:
        _print_json(summary)
    else:
        print(
            f"{summary['counts']['scenarios']} scenarios, {summary['counts']['platforms']} platforms, "
            f"{summary['counts']['tools']} tools ({summary['counts']['read']} READ, {summary['counts']['write']} WRITE)"
        )
        for sc in reg.scenarios.values():
            print(f"\n{sc.name}: {sc.description}")
            for p in sc.platforms:
                traits = ", ".join(f"{k} {v:.2f}" for k, v in p.traits.items())
                print(f"  {p.name:<14} {traits}\n  {'':<14} {p.summary}")
        bad = summary["invalid_schemas"]
        print(f"\ninvalid schemas: {len(bad)}")
        for b in bad[:20]:
            print(f"  {b['tool']}: {b['problem']}")
    return 1 if summary["invalid_schemas"] else 0


def cmd_data_stats(args: argparse.Namespace) -> int:
    from ptenv.scenarios.dataset import load_dataset

    t0 = time.perf_counter()
    ds = load_dataset(args.dataset)
    gen_s = time.perf_counter() - t0
    stats = ds.stats(validate=not args.no_validate)
    stats["generation_seconds"] = round(gen_s, 3)
    if args.json:
        _print_json(stats)
        return 0
    print(f"dataset {stats['version']} (seed {stats['seed']}): {stats['users']} users, {stats['tasks']} tasks, generated in {gen_s:.2f} s")
    print(f"{'split':<16}{'users':>7}{'tasks':>8}{'share':>8}")
    for name, s in stats["splits"].items():
        print(f"{name:<16}{s['users']:>7}{s['tasks']:>8}{s['tasks'] / stats['tasks']:>8.1%}")
    print("kinds:     " + ", ".join(f"{k} {v}" for k, v in stats["kinds"].items()))
    print("scenarios: " + ", ".join(f"{k} {v}" for k, v in stats["scenarios"].items()))
    if "gold_validation_errors" in stats:
        print(f"gold validation errors: {stats['gold_validation_errors']}, gold execution errors: {stats['gold_execution_errors']}")
        for e in stats["gold_error_examples"]:
            print(f"  {e}")
    print(f"sha256: {stats['checksum']}")
    return 1 if stats.get("gold_validation_errors") or stats.get("gold_execution_errors") else 0


def cmd_data_export(args: argparse.Namespace) -> int:
    from ptenv.scenarios.dataset import load_dataset

    ds = load_dataset(args.dataset)
    if args.format == "jsonl":
        ds.write_jsonl(args.out)
        n = len(ds.tasks)
    else:
        records = ds.to_ptbench(args.split)
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(records, f, ensure_ascii=False, indent=1)
        n = len(records)
    print(f"wrote {n} tasks to {args.out}", file=sys.stderr)
    return 0


#: ``ptenv eval`` options that configure LLM agents (passed to the agent's constructor when given).
_LLM_OPTIONS = ("model", "base_url", "temperature", "max_tokens", "timeout", "max_retries", "api_key_env", "cache_dir")


def _add_llm_options(p: argparse.ArgumentParser | Any) -> None:
    """The options that configure LLM agents and LLM calls (keys come only from the environment)."""
    p.add_argument("--model", help="model name (e.g. gpt-4o-mini, claude-sonnet-4-5, or your server's model)")
    p.add_argument("--base-url", help="OpenAI-compatible server (e.g. http://localhost:8000/v1); for anthropic, the server root")
    p.add_argument("--temperature", type=float)
    p.add_argument("--max-tokens", type=int)
    p.add_argument("--timeout", type=float, help="seconds per request (the SDK retries timeouts)")
    p.add_argument("--max-retries", type=int, help="SDK retries on 429, 5xx and timeouts (with backoff)")
    p.add_argument("--api-key-env", help="environment variable holding the key (default OPENAI_API_KEY / ANTHROPIC_API_KEY)")
    p.add_argument("--cache-dir", help="response cache (default .ptenv-cache/llm): a rerun is free and identical")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the response cache")


def _add_env_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--env-arg",
        action="append",
        metavar="KEY=VALUE",
        help="extra env kwarg, VALUE as JSON (e.g. --env-arg tasks_per_session=18 --env-arg scenarios='[\"takeout\"]')",
    )


def _env_args(args: argparse.Namespace) -> dict[str, Any]:
    """``--env-arg KEY=VALUE`` options as env kwargs (VALUE read as JSON, else as a string)."""
    out: dict[str, Any] = {}
    for item in args.env_arg or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--env-arg takes KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw  # a bare string
    return out


def _llm_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kwargs = {k: getattr(args, k) for k in _LLM_OPTIONS if getattr(args, k, None) is not None}
    if getattr(args, "no_cache", False):
        kwargs["cache_dir"] = None
    return kwargs


def cmd_eval(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ptenv.core.agent import load_agent
    from ptenv.evaluation.runner import evaluate, format_summary

    agent_kwargs = _llm_kwargs(args)
    load_agent(args.agent, **agent_kwargs)  # fail early, with a clear message, on an unknown agent
    out = None
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        out = Path(args.out) / "results.jsonl"
    env_kwargs: dict[str, Any] = {"dataset": args.dataset}
    if args.visibility:
        env_kwargs["visibility"] = args.visibility
    env_kwargs.update(_env_args(args))

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
        _print_json(summary)
    else:
        print(format_summary(summary))
        if out is not None:
            print(f"\nresults: {out}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ptenv.evaluation.report import write_report

    md, page = write_report([Path(r) for r in args.runs], Path(args.out))
    print(f"wrote {md} and {page}")
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    from ptenv.llm import synthesis as syn
    from ptenv.llm.client import LLMConfig
    from ptenv.scenarios.dataset import load_dataset

    config = LLMConfig(**{k: v for k, v in _llm_kwargs(args).items() if k in LLMConfig.__dataclass_fields__})
    if args.what == "paraphrase":
        ds = load_dataset(args.dataset)
        tasks = ds.split(args.split)[: args.n]
        outcome = syn.paraphrase(ds, tasks, args.provider, config)
        lines = [t.model_dump_json() for t in outcome.accepted]
    elif args.what == "users":
        outcome = syn.propose_users(args.n, args.provider, config, seed=args.seed)
        lines = [
            json.dumps({"user": r["user"].model_dump(mode="json"), "tasks": [t.model_dump(mode="json") for t in r["tasks"]]})
            for r in outcome.accepted
        ]
    else:
        outcome = syn.propose_apis(args.scenario, args.n, args.provider, config)
        lines = [a.model_dump_json() for a in outcome.accepted]
    with open(args.out, "w", encoding="utf-8") as f:  # overwritten, never appended: a rerun stays aligned
        f.writelines(line + "\n" for line in lines)
    print(f"accepted {len(outcome.accepted)}, rejected {len(outcome.rejected)}; wrote {args.out}")
    for r in outcome.rejected[:20]:
        print(f"  rejected {r['id']}: {r['reason']}")
    return 0


def _ptbench_inputs(args: argparse.Namespace) -> list[tuple[str, Path, Path | None]]:
    from pathlib import Path

    parts: list[tuple[str, Path, Path | None]] = []
    for folder in args.dir or []:
        parts.append((Path(folder).name, Path(folder) / "data.json", Path(folder) / "generation.jsonl"))
    data, preds = args.data or [], getattr(args, "predictions", None) or []
    if preds and len(preds) != len(data):
        raise ValueError("give one --predictions per --data, in the same order")
    for i, d in enumerate(data):
        parts.append((Path(d).stem if len(data) > 1 else "records", Path(d), Path(preds[i]) if preds else None))
    if not parts:
        raise ValueError("give --data FILE (and --predictions FILE), or --dir FOLDER holding data.json and generation.jsonl")
    return parts


def cmd_ptbench(args: argparse.Namespace) -> int:
    from ptenv import ptbench
    from ptenv.scoring import COLUMNS, ERRORS

    parts = _ptbench_inputs(args)
    loaded = []
    for name, data, preds in parts:
        records, errors = ptbench.load_records(data)
        for e in errors:
            print(f"{data}: {e}", file=sys.stderr)
        loaded.append((name, records, preds, errors))
    if args.ptbench_command == "check":
        for name, records, _, errors in loaded:
            print(f"{name}: {len(records)} records read, {len(errors)} refused")
        return 1 if any(e for *_, e in loaded) else 0
    if args.ptbench_command == "predict":
        from ptenv.core.agent import load_agent

        if len(loaded) != 1:
            raise ValueError("predict takes one --data")
        agent = load_agent(args.agent, **_llm_kwargs(args))
        n = ptbench.predict(loaded[0][1], agent, args.out, seed=args.seed)
        print(f"wrote {n} predictions to {args.out} (overwritten)")
        return 0
    inputs = []
    for name, records, preds, _ in loaded:
        if preds is None:
            raise ValueError(f"{name}: no predictions given")
        inputs.append((name, records, ptbench.load_predictions(preds)))
    result = ptbench.score_splits(inputs, args.scorer)
    rows = list(result["splits"].items()) + ([("overall (weighted)", result["overall"])] if "overall" in result else [])
    if args.json:
        if len(rows) == 1:  # exactly PTBench's shape
            _print_json({"acc": rows[0][1]["acc"], "errors": rows[0][1]["errors"]})
        else:
            _print_json({n: {"acc": r["acc"], "errors": r["errors"], "n": r["n"]} for n, r in rows})
        return 0
    print(f"scorer: {args.scorer}")
    print(f"{'':<22}{'n':>6}" + "".join(f"{c:>18}" for c in COLUMNS))
    for n, r in rows:
        print(f"{n:<22}{r['n']:>6}" + "".join(f"{100 * r['acc'][c]:>18.2f}" for c in COLUMNS))
    print()
    print(f"{'':<22}" + "".join(f"{e:>22}" for e in ERRORS))
    for n, r in rows:
        print(f"{n:<22}" + "".join(f"{r['errors'][e]:>22}" for e in ERRORS))
    for n, r in result["splits"].items():
        if r["misaligned"] or r["missing"] or r["extra"]:
            print(
                f"{n}: {len(r['misaligned'])} prediction line(s) for another query, {r['missing']} missing, {r['extra']} extra (scored as format failures)"
            )
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from ptenv.rl.train import train_bandit, train_ppo

    if args.agent not in ("bandit", "ppo"):
        raise ValueError(
            "ptenv train trains --agent bandit (numpy) or ppo (the rl extra); the session learner learns online: use ptenv eval"
        )
    env_kwargs: dict[str, Any] = {"dataset": args.dataset, **_env_args(args)}
    trainer = train_bandit if args.agent == "bandit" else train_ppo
    rows = trainer(args.env, args.steps, Path(args.out), seed=args.seed, split=args.split, env_kwargs=env_kwargs, progress=not args.quiet)
    last = rows[-1] if rows else {}
    print(
        f"trained {last.get('steps', 0)} steps; last block: reward {last.get('reward', 0):.3f}, platform {last.get('platform', 0):.3f}, profile {last.get('profile_args', 0):.3f}"
    )
    ckpt = f"{args.out}/checkpoint.{'npz' if args.agent == 'bandit' else 'zip'}"
    print(f"wrote {ckpt}, curve.csv, curve.png; evaluate: ptenv eval --agent {ckpt}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from ptenv.evaluation.bench import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    from ptenv.scenarios.dataset import DATASETS, DEFAULT_DATASET

    parser = argparse.ArgumentParser(prog="ptenv", description="Personalized tool invocation: registry, datasets and evaluation.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("registry", help="scenarios, platforms and tools of the built-in world")
    p.add_argument("--json", action="store_true", help="print JSON (scenarios, platforms, tools, counts, invalid_schemas)")
    p.set_defaults(func=cmd_registry)

    data = sub.add_parser("data", help="datasets: statistics and export").add_subparsers(dest="data_command", required=True)
    p = data.add_parser("stats", help="counts, splits, kinds and gold validation of a dataset")
    p.add_argument("--dataset", default=DEFAULT_DATASET, choices=sorted(DATASETS))
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--no-validate", action="store_true", help="skip validating and executing every gold call")
    p.set_defaults(func=cmd_data_stats)
    p = data.add_parser("export", help="write a dataset as JSONL or as PTBench data.json records")
    p.add_argument("--dataset", default=DEFAULT_DATASET, choices=sorted(DATASETS))
    p.add_argument("--format", choices=["jsonl", "ptbench"], default="jsonl")
    p.add_argument("--split", default="test", help="split for --format ptbench (train, test_trained, test_untrained, test, all)")
    p.add_argument("--out", required=True, help="output file (overwritten)")
    p.set_defaults(func=cmd_data_export)

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
    _add_env_arg(p)
    _add_llm_options(p.add_argument_group("LLM agents (openai, anthropic, ptbench-text); keys come only from environment variables"))
    p.add_argument("--trials", type=int, default=1, help="runs per task; > 1 adds pass^k to the summary")
    p.add_argument("--workers", type=int, default=1, help="parallel processes (results do not depend on it)")
    p.add_argument("--concurrency", type=int, default=1, help="episodes in flight at once in one process, for async (LLM) agents")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="directory for results.jsonl (resumable: rerun to continue) and summary.json")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=cmd_eval)

    pt = sub.add_parser("ptbench", help="PTBench files: check records, score predictions, predict with an agent").add_subparsers(
        dest="ptbench_command", required=True
    )
    for cmd, text in (
        ("score", "PTBench's accuracy and error columns for generation.jsonl against data.json"),
        ("predict", "write generation.jsonl from one of our agents on data.json records (overwrites)"),
        ("check", "read data.json records and report the ones refused, naming the field"),
    ):
        p = pt.add_parser(cmd, help=text)
        p.add_argument("--data", action="append", help="a data.json (repeatable: one split each)")
        p.add_argument("--dir", action="append", help="a folder with data.json and generation.jsonl (repeatable)")
        if cmd == "score":
            p.add_argument("--predictions", action="append", help="generation.jsonl for each --data, in order")
            p.add_argument("--scorer", choices=["compat", "strict"], default="compat")
            p.add_argument("--json", action="store_true", help='print {"acc": {...}, "errors": {...}} (per split and overall when several)')
        if cmd == "predict":
            p.add_argument("--agent", default="ptbench-text")
            p.add_argument("--out", required=True, help="generation.jsonl to write (overwritten)")
            p.add_argument("--seed", type=int, default=0)
            _add_llm_options(p)
        p.set_defaults(func=cmd_ptbench)

    p = sub.add_parser("train", help="train the candidate bandit on a numeric id; saves a checkpoint and learning curves")
    p.add_argument("--env", default="ptenv/PersonalTool-Numeric-v0")
    p.add_argument("--agent", default="bandit", choices=["bandit", "ppo"], help="bandit (numpy) or ppo (MaskablePPO, the rl extra)")
    p.add_argument("--steps", type=int, default=20_000)
    p.add_argument("--split", default="train")
    p.add_argument("--dataset", default=DEFAULT_DATASET, choices=sorted(DATASETS))
    _add_env_arg(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("synth", help="LLM-assisted synthesis (optional): paraphrases, users, APIs; every proposal validated")
    p.add_argument("what", choices=["paraphrase", "users", "apis"])
    p.add_argument("--provider", choices=["openai", "anthropic"], default="openai")
    _add_llm_options(p)
    p.set_defaults(model="gpt-4o-mini", temperature=0.7)
    p.add_argument("--dataset", default=DEFAULT_DATASET, choices=sorted(DATASETS), help="paraphrase: the dataset")
    p.add_argument("--split", default="test", help="paraphrase: the split")
    p.add_argument("--scenario", default="takeout", help="apis: the scenario to extend")
    p.add_argument("--n", type=int, default=10, help="how many proposals (paraphrase: the first n tasks)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="JSONL of accepted proposals (overwritten)")
    p.set_defaults(func=cmd_synth)

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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except (KeyError, ValueError) as exc:  # unknown split, dataset or agent: a clear message, not a traceback
        print(f"ptenv: error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    return code


if __name__ == "__main__":
    raise SystemExit(main())
