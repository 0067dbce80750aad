"""Running agents over splits: the runner (this process, worker processes, or async slots),
resumable results and summaries, ``ptenv report`` and ``ptenv bench``::

    from ptenv.evaluation import evaluate, format_summary

    summary = evaluate("ptenv/PersonalTool-v0", "heuristic", "test", out=None)
    print(format_summary(summary))
"""

from ptenv.evaluation.results import format_summary, load_results, pass_hat_k, summarize
from ptenv.evaluation.runner import episode_plan, evaluate, run_episode

__all__ = ["episode_plan", "evaluate", "format_summary", "load_results", "pass_hat_k", "run_episode", "summarize"]
