"""The gold answer of a request in PTBench's vocabulary, and what the strict scorer works out
from it once (normalized accepted values, function counts, parameter names): every episode of a
task is judged against the same gold, so its side of the comparison is computed on the gold."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ptenv.scoring.values import _count, _norm


@dataclass(frozen=True)
class GoldAnswer:
    platform: str
    calls: tuple[tuple[str, dict[str, tuple[Any, ...]]], ...]
    query_params: tuple[str, ...] = ()
    profile_params: tuple[str, ...] = ()
    #: Other spellings of the platform the strict scorer accepts (e.g. its id).
    platform_aliases: tuple[str, ...] = ()

    @cached_property
    def strict_values(self) -> dict[str, dict[str, frozenset[Any]]]:
        """Every accepted value, normalized once for the strict scorer (scoring is on the hot path)."""
        return {f: {p: frozenset(_norm(a) for a in acc) for p, acc in params.items()} for f, params in self.calls}

    @cached_property
    def strict_exact(self) -> dict[str, dict[str, frozenset[Any]]]:
        """Each accepted value that is a ``str`` or an ``int`` (never a bool), as given: a value of
        the same type equal to one of these is accepted without being normalized (the fast path;
        a ``str`` equals only ``str``s, an ``int`` only numbers, and the set holds no float)."""
        return {
            f: {p: frozenset(a for a in acc if type(a) is str or type(a) is int) for p, acc in params.items()} for f, params in self.calls
        }

    @cached_property
    def by_function(self) -> dict[str, dict[str, tuple[Any, ...]]]:
        """Each gold function's accepted values by parameter (a repeated function keeps its last)."""
        return dict(self.calls)

    @cached_property
    def function_counts(self) -> dict[str, int]:
        """How many times each function is in the gold."""
        return _count(f for f, _ in self.calls)

    @cached_property
    def query_set(self) -> frozenset[str]:
        return frozenset(self.query_params)

    @cached_property
    def profile_set(self) -> frozenset[str]:
        return frozenset(self.profile_params)

    @cached_property
    def param_totals(self) -> tuple[int, int]:
        """How many query and profile parameters the gold has: its names (as PTBench's scorer
        divides), plus one for each further gold function that takes the same name (a long chain
        books a room, then a meeting on the same date): the hits count every function's, so the
        total does too and a right answer scores 100%, not more. Without repeated names (all of
        ptenv-v1) it is the number of names."""
        uses = _count(p for params in self.by_function.values() for p in params)
        return (
            len(self.query_params) + sum(uses[p] - 1 for p in self.query_set if uses.get(p, 0) > 1),
            len(self.profile_params) + sum(uses[p] - 1 for p in self.profile_set if uses.get(p, 0) > 1),
        )

    @cached_property
    def platform_names(self) -> frozenset[str]:
        """The platform's spellings the strict scorer accepts, lower-cased."""
        return frozenset({self.platform.lower(), *(a.lower() for a in self.platform_aliases)})

    @cached_property
    def strict_accepted(self) -> dict[str, dict[str, frozenset[Any]]]:
        """:attr:`strict_values` and :attr:`strict_exact` in one set per parameter: the strict
        scorer looks a ``str`` or ``int`` prediction up as given, then its normalized key. The two
        kinds never meet: a key is a tuple, and a tuple equals no ``str`` or ``int``. One set
        instead of two, and one dict instead of three per function, as the gold is seldom in the
        CPU's cache when an episode ends."""
        exact = self.strict_exact
        return {f: {p: acc | exact[f][p] for p, acc in params.items()} for f, params in self.strict_values.items()}

    @cached_property
    def strict_full_hits(self) -> tuple[int, int]:
        """The query and profile hits of an answer that calls each gold function once with its
        parameters, every value right: each (function, parameter) pair of the gold, counted as
        its parameter is a query or a profile one."""
        pairs = [p for params in self.by_function.values() for p in params]
        return sum(p in self.query_set for p in pairs), sum(p in self.profile_set for p in pairs)

    @cached_property
    def strict_plan(self) -> tuple[Any, ...]:
        """What the strict scorer reads of the gold, in one look-up: strict_accepted,
        strict_full_hits, function_counts, platform_names, the platform's spellings that are
        accepted as they are, query_set, profile_set and the two parameter totals
        (:attr:`param_totals`). (The interpreter does not specialize reading a cached property, so
        one read instead of nine is measurably faster, and every episode ends with one.)"""
        return (
            self.strict_accepted,
            self.strict_full_hits,
            self.function_counts,
            self.platform_names,
            frozenset(p for p in (self.platform, *self.platform_aliases) if p.strip().lower() in self.platform_names),
            self.query_set,
            self.profile_set,
            *self.param_totals,
        )

    @classmethod
    def from_ptbench(
        cls, answer: list[Any], query_params: list[str], profile_params: list[str], aliases: tuple[str, ...] = ()
    ) -> GoldAnswer:
        """From a PTBench record's ``answer`` (``[platform, [{func: {param: [accepted, ...]}}]]``)."""
        platform, calls = answer
        parsed = tuple((func, {p: tuple(v) for p, v in params.items()}) for call in calls for func, params in call.items())
        return cls(
            platform=platform,
            calls=parsed,
            query_params=tuple(query_params),
            profile_params=tuple(profile_params),
            platform_aliases=aliases,
        )
