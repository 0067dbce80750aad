"""``python -m ptenv ...`` is the ``ptenv`` command."""

from ptenv.cli import main

raise SystemExit(main())
