"""The ``ptenv`` command line: the parser, and the one error boundary.

Every command that reports something has ``--json`` for machines; without it, a readable table.
Heavy modules are imported inside the commands so ``ptenv --help`` answers at once. A user's
mistake (an unknown split, dataset, agent, a bad value) prints one line and exits 2; a traceback
is only ever our bug.
"""

from __future__ import annotations

import argparse
import sys

from ptenv.cli import evaluate, learn, ptbench, world


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ptenv", description="Personalized tool invocation: registry, datasets and evaluation.")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (world, evaluate, ptbench, learn):
        group.add_commands(sub)
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
