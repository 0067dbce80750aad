"""The reference solver: what a careful reader of the visible profile does, never the gold.

It is the scripted heuristic (the public templates read the request and fill the arguments) with
one change, the platform: it is decided by :func:`ptenv.scenarios.evidence.decide`, the reading
the ptenv-v2 generator holds every preference to (statements about this scenario first, then the
history without its noted uses, recent uses over old ones). On ptenv-v1 it decides as the
heuristic does. It reads what the visibility mode shows: in ``hidden`` mode it reads the history
through ``search_history`` (statements are not offered there).

It sits with the test infrastructure, not among the agents: it exists to show that every task is
decidable from what an agent may see (tests/test_dataset_v2.py).
"""

from __future__ import annotations

from typing import Any

from ptenv.agents.heuristic import HeuristicAgent
from ptenv.scenarios.evidence import decide


class ReferenceSolver(HeuristicAgent):
    name = "reference-solver"

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        self._profile = ""

    def act(self, observation: str) -> str:
        from ptenv.core.observations import parse_observation

        obs = parse_observation(observation, with_tools=False)
        if obs.get("type") == "task":
            self._profile = str((obs.get("user") or {}).get("profile") or "")
        elif obs.get("type") == "tool_results":
            for res in obs.get("results", []):
                if res.get("ok") and res.get("tool") == "search_history":
                    self._profile = _as_profile(res["output"]["events"])
        return super().act(observation)

    def _platform(self) -> str:
        req = self._req
        assert req.scenario is not None
        if req.named:
            return req.named
        return decide(self._profile, req.scenario, req.context) or super()._platform()


def _as_profile(events: list[dict[str, Any]]) -> str:
    """``search_history``'s events as the profile's history lines (what :func:`decide` reads)."""
    lines = ["Past behaviour (date, scenario, platform, action, situation):"]
    for e in events:
        action = f"{e['action']} ({e['note']})" if e.get("note") else e["action"]
        lines.append(f"- {e['date']} | {e['scenario']} | {e['platform']} | {action} | {e.get('situation') or '-'}")
    return "\n".join(lines)
