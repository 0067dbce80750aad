"""An online learner of one user's platform choices, for sessions (numpy).

It reads requests and fills arguments like the heuristic (profile fields are looked up when the
profile is hidden), but it never searches the user's history: the platform comes from what it has
learned in this session. Per (scenario, situation) it keeps Dirichlet counts of the platform the
user wanted, taken from the feedback after each request ("I'd rather have used X", or no complaint
about the platform), and picks by Thompson sampling. Situations it has not seen borrow, at a
discount, from what it learned about the scenario in general. ``reset`` starts a new user.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from ptenv.core.observations import parse_observation
from ptenv.core.user_sim import wanted_platform
from ptenv.tools_registry import Registry

from .heuristic import HeuristicAgent


class SessionLearner(HeuristicAgent):
    name = "learner"
    uses_history = False
    #: Weight of the scenario-wide counts when a situation has few of its own.
    pooling = 0.3

    def __init__(self, seed: int | None = 0):
        super().__init__(seed)
        self._np = np.random.default_rng(seed)
        self._counts: dict[tuple[str, str | None], np.ndarray] = defaultdict(lambda: np.zeros(3))
        self._last: dict[str, Any] | None = None

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        if seed is not None:
            self._np = np.random.default_rng(seed)
        self._counts.clear()
        self._last = None

    def act(self, observation: str) -> str:
        obs = parse_observation(observation, with_tools=False)
        if obs.get("type") == "task" and obs.get("feedback") and self._last is not None:
            self._learn(str(obs["feedback"]))
        return super().act(observation)

    def _learn(self, feedback: str) -> None:
        last = self._last
        assert last is not None
        self._last = None
        if last["named"]:  # the user named the platform: nothing learned about preferences
            return
        sc = Registry.default().scenarios[last["scenario"]]
        ids = [p.id for p in sc.platforms]
        wanted = wanted_platform(feedback, sc, last["chosen"])
        if wanted in ids:
            self._counts[(last["scenario"], last["context"])][ids.index(wanted)] += 1
            self._counts[(last["scenario"], "*")][ids.index(wanted)] += 1

    def _start(self, obs: dict[str, Any]) -> None:
        super()._start(obs)
        self._req.history = []  # learned, not looked up

    def _platform(self) -> str:
        sc, named, context = self._req.scenario, self._req.named, self._req.context
        assert sc is not None
        ids = [p.id for p in sc.platforms]
        if named:
            chosen = named
        else:
            alpha = 1.0 + self._counts[(sc.id, context)] + self.pooling * self._counts[(sc.id, "*")]
            chosen = ids[int(np.argmax(self._np.dirichlet(alpha)))]
        self._last = {"scenario": sc.id, "context": context, "named": bool(named), "chosen": chosen}
        return chosen
