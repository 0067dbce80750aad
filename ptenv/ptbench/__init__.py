"""PTBench's files: records (``data.json``), predictions (``generation.jsonl``), scoring them,
and predicting with an agent::

    from ptenv.ptbench import load_records, load_predictions, score

    records, refused = load_records("data.json")
    result = score(records, load_predictions("generation.jsonl"), scorer="compat")
"""

from ptenv.core.records import PTBenchRecord, load_records
from ptenv.ptbench.files import alignment_problems, format_scores, load_predictions, score, score_splits, scores_json
from ptenv.ptbench.predict import predict

__all__ = [
    "PTBenchRecord",
    "alignment_problems",
    "format_scores",
    "load_predictions",
    "load_records",
    "predict",
    "score",
    "score_splits",
    "scores_json",
]
