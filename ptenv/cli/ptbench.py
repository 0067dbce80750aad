"""``ptenv ptbench``: PTBench's files (check records, score predictions, predict with an agent)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ptenv.cli.common import add_llm_options, between, llm_kwargs, output_file, print_json


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

    parts = _ptbench_inputs(args)
    loaded = []
    for name, data, preds in parts:
        records, errors = ptbench.load_records(data)
        if not records and args.ptbench_command != "check":
            raise ValueError(f"{data}: no record could be read ({errors[0] if errors else 'the list is empty'})")
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
        _, records, _, errors = loaded[0]
        agent = load_agent(args.agent, **llm_kwargs(args))
        out = output_file(args.out)
        n = ptbench.predict(records, agent, out, seed=args.seed, slots=len(records) + len(errors))
        print(f"wrote {n} predictions to {out} (overwritten; a refused record's line is left empty)")
        return 0
    inputs, slots = [], {}
    for name, records, preds, errors in loaded:
        if preds is None:
            raise ValueError(f"{name}: no predictions given (--predictions FILE, one per --data)")
        inputs.append((name, records, ptbench.load_predictions(preds)))
        slots[name] = len(records) + len(errors)
    result = ptbench.score_splits(inputs, args.scorer, slots)
    if args.json:  # stdout stays exactly PTBench's shape; what does not line up goes to stderr
        print_json(ptbench.scores_json(result))
        for line in ptbench.alignment_problems(result):
            print(f"ptenv: {line}", file=sys.stderr)
    else:
        print(ptbench.format_scores(result, args.scorer))
    return 0


def add_commands(sub: Any) -> None:
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
            p.add_argument("--seed", type=between(0, 2**63 - 1), default=0)
            add_llm_options(p)
        p.set_defaults(func=cmd_ptbench)
