"""The ``ptenv`` command line: the parser, and the one error boundary.

Every command that reports something has ``--json`` for machines; without it, a readable table.
Heavy modules are imported inside the commands so ``ptenv --help`` answers at once.

A user's mistake (an unknown split, dataset or agent, a value out of range, a missing file, a
directory where a file is wanted) prints one line on stderr saying what is wrong and what is
accepted, and exits 2. A traceback is only ever our bug: it is printed with a line saying so.
"""

from __future__ import annotations

import argparse
import sys
import traceback

from ptenv.cli import evaluate, learn, ptbench, world


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line (argparse prints the usage first)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ptenv", description="Personalized tool invocation: registry, datasets and evaluation.")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (world, evaluate, ptbench, learn):
        group.add_commands(sub)
    return parser


def _user_error(exc: BaseException) -> str:
    """The one line a user's mistake is told in."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc) or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    from ptenv.llm.client import scrub

    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except (KeyError, ValueError, OSError) as exc:  # the user's input: a clear line, not a traceback
        if isinstance(exc, BrokenPipeError):
            return 0
        print(f"ptenv: error: {scrub(_user_error(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        from ptenv.evaluation.runner import EvaluationInterrupted

        what = str(exc) if isinstance(exc, EvaluationInterrupted) else "interrupted"
        print(f"ptenv: {what}", file=sys.stderr)
        return 130
    except Exception:  # our bug: the traceback, and where to send it
        print(scrub(traceback.format_exc()), file=sys.stderr, end="")
        print(
            "ptenv: this is a bug in ptenv, not in your input; please report it with the command and the traceback above", file=sys.stderr
        )
        return 1
    return code


if __name__ == "__main__":
    raise SystemExit(main())
