"""The numeric observation: a candidate builder's state as a fixed-size float32 vector.

:func:`features` gives ``SIZE = G + K * F`` floats in [0, 1]: the scenario, the situation, the
named platform, the shares of the user's past platform choices (from the visible history, or
learned from session feedback and answers), the stage, and per candidate (:data:`CAND_FEATURES`)
what it is and how its platform relates to the platform the visible evidence points to: the
user's majority, or on ptenv-v2 the platform an employer's rule covering the request requires,
then moved by a notice's published fallback rule. It reads only the builder
(:class:`ptenv.rl.candidates.CandidateBuilder`), which reads only what the agent may see.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from ptenv.rl.candidates import Candidate, CandidateBuilder, K
from ptenv.scenarios.situations import fallback
from ptenv.tools_registry import ScenarioSpec

#: Per-candidate features (F) and the global ones (G); the vector is G + K * F long. Per
#: candidate: what it is, how its platform relates to what is known of the user's choice, and
#: whether it is a look-up or the question.
_WHAT = ("valid", "finish", "p0", "p1", "p2", "with_profile")
_RELATES = ("named", "same_majority", "default_majority", "learned_majority", "chosen", "learned_exact", "told")
CAND_FEATURES = (*_WHAT, *_RELATES, "lookup", "ask")
F = len(CAND_FEATURES)
G = 5 + 5 + 4 + 3 + 3 + 3 + 3 + 3 + 1
SIZE = G + K * F


#: The numeric observation's parts as native float32 bytes: packing floats is faster than
#: np.array's conversion of a list, and gives the same values (Python floats rounded to float32
#: either way). The request's part is packed once per request, the candidates' rows once per
#: state (remembered), so a step packs only the 7 floats between them.
_HEAD = struct.Struct("23f")
_MID = struct.Struct("7f")
_ROWS_PACK = struct.Struct(f"{K * F}f")
_NO_HEAD = _HEAD.pack(*[0.0] * 23)


def features(b: CandidateBuilder, cands: list[Candidate]) -> np.ndarray:
    """The numeric observation (float32, values in [0, 1])."""
    sc = b.scenario
    if sc is not None:
        head = b._request_cache.get("head")
        if head is None:
            head = b._request_cache["head"] = _HEAD.pack(*b.request_features())
        l0, l1, l2 = b.shares("learned")
    else:
        head, l0, l1, l2 = _NO_HEAD, 0.0, 0.0, 0.0
    stage = min(b.stage, 2)
    mid = _MID.pack(l0, l1, l2, stage == 0, stage == 1, stage == 2, b.last_ok)
    same, default = b.request_majorities() if sc is not None else (None, None)
    learned, exact = b.majority("learned"), b.majority("exact")
    named, chosen, told = b.named, b.chosen, b.told
    if sc is not None and (b.required or b.unavailable):  # ptenv-v2: an employer's rule, then a notice's rule
        wants = (b.required,) * 4 if b.required else (same, default, learned, exact)
        same, default, learned, exact = (fallback(sc, p, b.unavailable) if p else None for p in wants)
    # rows follow from the candidates and the platforms matched; states recur (each epoch): remembered
    key = (sc.id if sc is not None else None, tuple(cands[:K]), named, same, default, learned, exact, chosen, told)
    rows = _ROWS.get(key)
    if rows is None:
        if len(_ROWS) >= 16384:
            _ROWS.clear()
        values = _rows(sc, cands[:K], named, same, default, learned, exact, chosen, told)
        rows = _ROWS[key] = _ROWS_PACK.pack(*values, *[0.0] * (K * F - len(values)))
    return np.frombuffer(bytearray(head + mid + rows), dtype=np.float32)  # a bytearray: writable


#: Candidate rows (packed, padded to ``K``) by (scenario, candidates, the platforms matched). Bounded.
_ROWS: dict[tuple[Any, ...], bytes] = {}


def _rows(
    sc: ScenarioSpec | None,
    cands: list[Candidate],
    named: str | None,
    same: str | None,
    default: str | None,
    learned: str | None,
    exact: str | None,
    chosen: str | None,
    told: str | None,
) -> tuple[float, ...]:
    """The per-candidate features of :func:`features` (:data:`CAND_FEATURES`), candidate by candidate."""
    vals: list[float] = []
    ids: list[str | None] = [p.id for p in sc.platforms[:3]] if sc is not None else []
    ids += [None] * (3 - len(ids))  # a platform of None never matches: candidates without one
    p0, p1, p2 = ids
    for c in cands:
        p, kind = c.platform, c.kind
        if p is None:
            vals += (1.0, 1.0 if kind == "finish" else 0.0, 0.0, 0.0, 0.0, 1.0 if c.with_profile else 0.0)
            vals += _NO_PLATFORM
        else:
            vals += (
                1.0,
                1.0 if kind == "finish" else 0.0,
                1.0 if p == p0 else 0.0,
                1.0 if p == p1 else 0.0,
                1.0 if p == p2 else 0.0,
                1.0 if c.with_profile else 0.0,
                1.0 if p == named else 0.0,
                1.0 if p == same else 0.0,
                1.0 if p == default else 0.0,
                1.0 if p == learned else 0.0,
                1.0 if p == chosen else 0.0,
                1.0 if p == exact else 0.0,
                1.0 if p == told else 0.0,
            )
        vals += (1.0 if kind == "lookup" else 0.0, 1.0 if kind == "ask" else 0.0)
    return tuple(vals)


#: The platform-matching features of a candidate without a platform.
_NO_PLATFORM = (0.0,) * 7
