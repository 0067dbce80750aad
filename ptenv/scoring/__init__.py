"""PTBench's metrics: eight accuracy columns and the error taxonomy, with the ``compat`` and
``strict`` scorers (docs/scoring.md)."""

from ptenv.scoring.aggregate import aggregate, combine
from ptenv.scoring.scorer import (
    COLUMNS,
    ERRORS,
    SHORT_LABELS,
    GoldAnswer,
    Prediction,
    RecordScore,
    Scorer,
    judge_decline,
    judge_strict,
    record_from_dict,
    score_record,
)

__all__ = [
    "COLUMNS",
    "ERRORS",
    "SHORT_LABELS",
    "GoldAnswer",
    "Prediction",
    "RecordScore",
    "Scorer",
    "aggregate",
    "combine",
    "record_from_dict",
    "judge_decline",
    "judge_strict",
    "score_record",
]
