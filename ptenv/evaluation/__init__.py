"""Running agents over splits: the runner (local processes or async slots), resumable results and
summaries, ``ptenv report`` and ``ptenv bench``."""
