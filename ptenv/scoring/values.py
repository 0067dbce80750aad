"""How the scorers compare values: ``compat`` as PTBench's published scorer does (it raises on
some type mismatches: :class:`_Raised`), ``strict`` through one normalized key per value."""

from __future__ import annotations

from typing import Any


class _Raised(Exception):
    """The published scorer raises on some type mismatches; the record then counts as a format failure."""


# -- value comparison ------------------------------------------------------------------------
def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _compat_value_ok(pred: Any, accepted: tuple[Any, ...]) -> bool:
    if not accepted:
        return False
    first = accepted[0]
    if isinstance(pred, int):  # bools are ints to Python, and to the published scorer
        if isinstance(first, str):
            raise _Raised("int prediction against a string gold")
        return _is_num(first) and abs(pred - first) <= 0.01
    if isinstance(pred, float):
        return any(_is_num(a) and pred == a for a in accepted)
    if isinstance(pred, str):
        if _is_num(first):
            raise _Raised("string prediction against a numeric gold")
        return pred.lower() in [a.lower() for a in accepted if isinstance(a, str)]
    if isinstance(pred, (list, tuple)):
        got = {str(x).lower() for x in pred}
        return any(isinstance(a, (list, tuple)) and got == {str(x).lower() for x in a} for a in accepted)
    return False


def _count(items: Any) -> dict[str, int]:
    """Counts as a plain dict (Counter is slower to build, and this runs at every episode's end)."""
    out: dict[str, int] = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return out


#: Normalized scalars (predictions repeat: the same value is normalized once). Bounded.
_NORMS: dict[tuple[type, Any], Any] = {}


def _norm(v: Any) -> Any:
    """The strict scorer's comparison key: 2, 2.0 and "2" are one number (to 6 decimals);
    strings ignore case and outer spaces; lists compare as sets; a bool is never a number."""
    t = type(v)
    if t is str or t is int or t is float or t is bool:
        key = (t, v)
        hit = _NORMS.get(key)
        if hit is None:
            if len(_NORMS) > 100_000:
                _NORMS.clear()
            hit = _NORMS[key] = _norm_of(v)
        return hit
    return _norm_of(v)


def _norm_of(v: Any) -> Any:
    if isinstance(v, bool):
        return ("bool", v)
    if _is_num(v):
        return ("num", round(float(v), 6))
    if isinstance(v, str):
        s = v.strip()
        try:
            return ("num", round(float(s), 6)) if s and s.lower() not in ("nan", "inf", "-inf", "infinity") else ("str", s.lower())
        except ValueError:
            return ("str", s.lower())
    if isinstance(v, (list, tuple)):
        return ("list", frozenset(_norm(x) for x in v))
    return ("other", repr(v))
