"""``ptenv registry`` and ``ptenv data``: the built-in world and its datasets."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from ptenv.cli.common import output_file, print_json


def cmd_registry(args: argparse.Namespace) -> int:
    from ptenv.tools_registry import Registry

    reg = Registry.default()
    summary = reg.summary()
    if args.json:
        print_json(summary)
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
    stats["origin"] = ds.origin
    if ds.config.recipe == "v2":  # the request grammar's wordings (read as ptenv's readers read them)
        from ptenv.rl.request import wording_stats

        stats["wording"] = wording_stats(ds.tasks)
    stats["load_seconds"] = round(gen_s, 3)
    if args.json:
        print_json(stats)
        return 0
    how = "generated" if ds.origin == "generated" else "read from the dataset cache"
    print(f"dataset {stats['version']} (seed {stats['seed']}): {stats['users']} users, {stats['tasks']} tasks, {how} in {gen_s:.2f} s")
    print(f"{'split':<16}{'users':>7}{'tasks':>8}{'share':>8}")
    for name, s in stats["splits"].items():
        print(f"{name:<16}{s['users']:>7}{s['tasks']:>8}{s['tasks'] / stats['tasks']:>8.1%}")
    print("kinds:     " + ", ".join(f"{k} {v}" for k, v in stats["kinds"].items()))
    print("scenarios: " + ", ".join(f"{k} {v}" for k, v in stats["scenarios"].items()))
    if "difficulty" in stats:  # ptenv-v2: the share of tasks with each source of difficulty
        print("difficulty (share of tasks): " + ", ".join(f"{k} {v:.1%}" for k, v in stats["difficulty"].items()))
    if "wording" in stats:
        w = stats["wording"]
        print(
            f"requests: {w['as_written']:.1%} as a template is written, {w['greeted']:.1%} with a greeting or thank-you, "
            f"{w['wordings_per_intent']} distinct wordings per request kind, {w['unread']} unread"
        )
    if "gold_validation_errors" in stats:
        print(f"gold validation errors: {stats['gold_validation_errors']}, gold execution errors: {stats['gold_execution_errors']}")
        for e in stats["gold_error_examples"]:
            print(f"  {e}")
    print(f"sha256: {stats['checksum']}")
    return 1 if stats.get("gold_validation_errors") or stats.get("gold_execution_errors") else 0


def cmd_data_export(args: argparse.Namespace) -> int:
    from ptenv.scenarios.dataset import load_dataset

    out = output_file(args.out)
    ds = load_dataset(args.dataset)
    if args.format == "jsonl":
        ds.write_jsonl(out)
        n = len(ds.tasks)
    else:
        records = ds.to_ptbench(args.split)
        with open(out, "w", encoding="utf-8") as f:
            json.dump(records, f, ensure_ascii=False, indent=1)
        n = len(records)
    print(f"wrote {n} tasks to {out}", file=sys.stderr)
    return 0


def add_commands(sub: Any) -> None:
    from ptenv.scenarios.dataset import DATASETS, DEFAULT_DATASET

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
