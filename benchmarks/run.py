"""The benchmarks live in ``ptenv.evaluation.bench`` so an installed ptenv can run them: ``ptenv bench [--json]``.

This script is the same command for a checkout: ``python benchmarks/run.py [--json]``.
"""

import sys

from ptenv.cli import main

raise SystemExit(main(["bench", *sys.argv[1:]]))
