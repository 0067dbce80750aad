"""The ``ptenv`` command line (``ptenv --help``): one module per group of commands, each adding
its subcommands to the parser, and one error boundary (:func:`ptenv.cli.main.main`)."""

from ptenv.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
