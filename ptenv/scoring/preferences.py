"""Arguments a preference decides (ptenv-v2: a search sorted the way the user cares about), judged
in their own column and kept out of PTBench's: the calls PTBench's columns judge are the calls
made, without those arguments, so sending one or not changes nothing there."""

from __future__ import annotations

from typing import Any

#: The gold's preference arguments: function -> parameter -> accepted values.
PreferenceGold = dict[str, dict[str, tuple[Any, ...]]]


def split_preferences(
    calls: tuple[tuple[str, dict[str, Any]], ...], pred_map: dict[str, dict[str, Any]], gold: PreferenceGold
) -> tuple[tuple[tuple[str, dict[str, Any]], ...], dict[str, dict[str, Any]], int, int]:
    """(the calls and the by-function view without the gold's preference parameters, how many of
    those the prediction got right, how many there are). A function called more than once is
    judged by its last call, as PTBench's columns judge it."""
    total = sum(len(params) for params in gold.values())
    hits = sum(1 for f, params in gold.items() for k, ok in params.items() if f in pred_map and k in pred_map[f] and pred_map[f][k] in ok)
    strip = {f: set(params) for f, params in gold.items()}
    kept = tuple((f, {k: v for k, v in a.items() if k not in strip[f]}) if f in strip else (f, a) for f, a in calls)
    view = {f: ({k: v for k, v in a.items() if k not in strip[f]} if f in strip else a) for f, a in pred_map.items()}
    return kept, view, hits, total
