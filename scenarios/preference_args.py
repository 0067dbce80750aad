"""ptenv-v2's optional arguments that follow from a preference: a search sorted the way the user
cares about.

A request that does not say how to sort ("Find me a hoodie") leaves ``sort_by`` to the agent; the
user would have it sorted by what they put first in this situation: the price for someone who keeps
costs down, the rating for someone who wants the best, the delivery or journey time for someone who
hates waiting (:data:`SORT_FOR`). That trait is the one whose platform they pick
(:func:`~ptenv.scenarios.situations.trait_of`), so the argument is decidable exactly when the
platform is. Such an argument is in the gold with the source ``preference``: it is scored in its
own column, and never counts in PTBench's columns (a call with or without it is judged the same
there). A search whose sort options include none for the trait (dishes sort by price or rating
only) gets none; nor does a user of whom nothing is known in the scenario.
"""

from __future__ import annotations

from ptenv.tools_registry import ApiSpec, ScenarioSpec

from .situations import trait_of
from .tasks import ArgGold

#: The sort order a trait asks for, by the values the APIs offer.
SORT_FOR: dict[str, str] = {
    "price": "affordability",
    "delivery_fee": "affordability",
    "rating": "quality",
    "shipping_time": "speed",
    "delivery_time": "speed",
    "duration": "speed",
    "turnaround": "speed",
}


def preference_args(sc: ScenarioSpec, api: ApiSpec, wanted: str, taken: set[str]) -> dict[str, ArgGold]:
    """The preference-decided arguments (by parameter key) of a call of ``api`` for a user who
    would pick ``wanted`` (a platform id), leaving out the parameters already ``taken``."""
    sort = next((p for p in api.params if p.key == "sort_by" and not p.required and p.key not in taken), None)
    if sort is None or sort.enum is None:
        return {}
    trait = trait_of(sc, wanted)
    value = next((v for v in sort.enum if SORT_FOR.get(v) == trait), None)
    return {"sort_by": ArgGold(accepted=(value,), source="preference")} if value is not None else {}
