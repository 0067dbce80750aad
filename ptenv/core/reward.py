"""The reward model, in one place: what each step costs and what the end pays (docs/environments.md).

* **Step costs** (:data:`COSTS`) are charged as they happen, through an episode's :class:`Ledger`:
  an invalid action, a question to the user, a profile look-up. They only ever depend on what the
  agent can see.
* **The end** pays the weighted terms of the scored record (:data:`REWARD_WEIGHTS`, each term in
  [0, 1]) minus the costs that need the gold to be known (extra READ and WRITE calls): those are
  charged here and never step by step, where they would leak the gold.
* ``sparse`` pays 1 at the end on success, else 0; no cost is paid, though all are recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ptenv.scoring import RecordScore

RewardMode = Literal["shaped", "sparse"]
REWARD_MODES: tuple[str, ...] = ("shaped", "sparse")

#: Per-use costs subtracted from the shaped reward.
COSTS: dict[str, float] = {
    "invalid": 0.05,
    "question": 0.02,
    "lookup": 0.01,
    "extra_read": 0.01,
    "extra_write": 0.1,
}
#: Weights of the shaped reward's terms (they sum to 1).
REWARD_WEIGHTS: dict[str, float] = {"platform": 0.15, "tool_names": 0.15, "query_args": 0.15, "profile_args": 0.15, "success": 0.4}

Charge = Literal["invalid", "question", "lookup"]
#: The step penalties of an episode that paid none, by kind (a :class:`Ledger` starts so).
NO_STEP_PENALTIES: dict[str, float] = {"invalid": 0.0, "questions": 0.0, "lookups": 0.0}
#: What each step charge counts in ``info`` and in the penalties.
_COUNTERS: dict[str, tuple[str, str]] = {
    "invalid": ("invalid_actions", "invalid"),
    "question": ("questions", "questions"),
    "lookup": ("lookups", "lookups"),
}


@dataclass
class Ledger:
    """An episode's counters (shown in ``info`` every step) and the step penalties paid so far."""

    counts: dict[str, int] = field(
        default_factory=lambda: {"invalid_actions": 0, "failed_calls": 0, "tool_calls": 0, "questions": 0, "lookups": 0}
    )
    penalties: dict[str, float] = field(default_factory=lambda: dict(NO_STEP_PENALTIES))

    def charge(self, kind: Charge) -> float:
        """Count one ``kind`` and record its cost; returns the cost."""
        counter, penalty = _COUNTERS[kind]
        self.counts[counter] += 1
        self.penalties[penalty] += COSTS[kind]
        return COSTS[kind]


def reward_terms(record: RecordScore) -> dict[str, float]:
    """The reward's terms, each in [0, 1], from a scored record. An argument term with nothing to
    get wrong is right iff the functions are."""
    q_total, p_total = record.query_total, record.profile_total
    names = 1.0 if record.tool_names else 0.0
    return {
        "platform": 1.0 if record.platforms else 0.0,
        "tool_names": names,
        "query_args": min(1.0, record.query_hits / q_total) if q_total else names,
        "profile_args": min(1.0, record.profile_hits / p_total) if p_total else names,
        "success": 1.0 if record.overall else 0.0,
    }


#: The names of the reward's terms, in :data:`REWARD_WEIGHTS`' order.
TERMS: tuple[str, ...] = tuple(REWARD_WEIGHTS)
#: The names of the penalties in ``info["reward_terms"]``.
PENALTIES: tuple[str, ...] = ("penalty_invalid", "penalty_questions", "penalty_lookups", "penalty_extra_read", "penalty_extra_write")


@dataclass(slots=True)
class EpisodeScore:
    record: RecordScore
    #: What ``info["reward_terms"]`` shows: each term (:data:`TERMS`), each penalty
    #: (:data:`PENALTIES`: the step costs and the extra calls), and ``total``.
    reward_terms: dict[str, float]
    #: The part of the reward paid at the end (the step costs were paid as they happened).
    terminal_reward: float

    @property
    def success(self) -> bool:
        return self.record.overall

    @property
    def total(self) -> float:
        return self.reward_terms["total"]

    @property
    def terms(self) -> dict[str, float]:
        return {k: self.reward_terms[k] for k in TERMS}

    @property
    def penalties(self) -> dict[str, float]:
        return {k: self.reward_terms[k] for k in PENALTIES}


@dataclass(frozen=True)
class RewardModel:
    mode: RewardMode = "shaped"

    def __post_init__(self) -> None:
        if self.mode not in REWARD_MODES:
            raise ValueError(f"reward_mode must be 'shaped' or 'sparse', got {self.mode!r}")

    def paid(self, cost: float) -> float:
        """The step reward for costs charged in one step."""
        return -cost if self.mode == "shaped" else 0.0

    def score(self, record: RecordScore, step_penalties: dict[str, float], extra_read: int = 0, extra_write: int = 0) -> EpisodeScore:
        """The end of an episode: terms, every penalty, the terminal reward and the total.

        Written out rather than through :func:`reward_terms` (the same terms; a test holds them
        equal), as every episode ends here.
        """
        q_hits, q_total, p_hits, p_total = record.query_hits, record.query_total, record.profile_hits, record.profile_total
        names = 1.0 if record.tool_names else 0.0
        platform = 1.0 if record.platforms else 0.0
        # min(1.0, hits / total) without calling min: the ratio is below 1 exactly when hits < total
        query = (q_hits / q_total if q_hits < q_total else 1.0) if q_total else names
        profile = (p_hits / p_total if p_hits < p_total else 1.0) if p_total else names
        success = 1.0 if record.overall else 0.0
        extra_r, extra_w = extra_read * _EXTRA_READ, extra_write * _EXTRA_WRITE
        invalid, questions, lookups = step_penalties["invalid"], step_penalties["questions"], step_penalties["lookups"]
        if self.mode == "sparse":
            terminal = total = success
        else:  # the weighted sum in REWARD_WEIGHTS' order
            terminal = (
                (_W_PLATFORM * platform + _W_NAMES * names + _W_QUERY * query + _W_PROFILE * profile + _W_SUCCESS * success)
                - extra_r
                - extra_w
            )
            total = terminal - (invalid + questions + lookups)
        shown = {
            "platform": platform,
            "tool_names": names,
            "query_args": query,
            "profile_args": profile,
            "success": success,
            "penalty_invalid": invalid,
            "penalty_questions": questions,
            "penalty_lookups": lookups,
            "penalty_extra_read": extra_r,
            "penalty_extra_write": extra_w,
            "total": total,
        }
        return EpisodeScore(record, shown, terminal)


_W_PLATFORM, _W_NAMES, _W_QUERY, _W_PROFILE, _W_SUCCESS = REWARD_WEIGHTS.values()
_EXTRA_READ, _EXTRA_WRITE = COSTS["extra_read"], COSTS["extra_write"]
