"""The reference solver: what a careful reader of the visible profile does, never the gold.

It is the scripted heuristic (the public templates read the request and fill the arguments) with
one change, the platform: it is decided by :func:`ptenv.scenarios.evidence.decide`, the reading
the ptenv-v2 generator holds every preference to (statements about this scenario first, then the
history without its noted uses, recent uses over old ones). On ptenv-v1 it decides as the
heuristic does. It reads what the visibility mode shows: in ``hidden`` mode it reads the history
through ``search_history`` (statements are not offered there).

On ptenv-v2 it reads the request grammar's wordings as every reader of requests does
(:mod:`ptenv.rl.wordings`).

When a notice says the platform it would pick cannot be used, it picks by the published rule
(:func:`ptenv.scenarios.situations.fallback`: the available platform best at what leads to the
wanted one).

When nothing visible decides (a scenario the user has no history or statement in), it asks the
user which app they would use (``ask_user``, on offer in every mode on ptenv-v2) and acts on the
answer.

It sits with the test infrastructure, not among the agents: it exists to show that every task is
decidable from what an agent may see (tests/test_dataset_v2.py).
"""

from __future__ import annotations

import json
from typing import Any

from ptenv.agents.heuristic import HeuristicAgent
from ptenv.core.builtins import DECLINE
from ptenv.core.episode import PREFERENCE_SORT
from ptenv.core.user_sim import PLATFORM_QUESTION, told_platform
from ptenv.scenarios.evidence import decide
from ptenv.scenarios.preference_args import preference_args
from ptenv.scenarios.situations import fallback, guardian_rule, must_decline
from ptenv.tools_registry import ApiSpec


class ReferenceSolver(HeuristicAgent):
    name = "reference-solver"

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        self._sorts = False
        self._rules: list[str] = []
        self._profile = ""
        self._told: str | None = None
        self._one_shot = False  # PTBench's form: one answer, nobody to ask

    def act(self, observation: str) -> str:
        from ptenv.core.observations import parse_observation

        obs = parse_observation(observation, with_tools=False)
        if obs.get("type") == "ptbench":  # the profile is the record's; its form has no sort and no rule to decline by
            self._profile, self._told, self._sorts, self._rules, self._one_shot = str(obs.get("user_profile") or ""), None, False, [], True
        elif obs.get("type") == "task":
            self._profile, self._told = str((obs.get("user") or {}).get("profile") or ""), None
            self._sorts = PREFERENCE_SORT in str(obs.get("instructions", ""))
            self._rules = [str(r) for r in obs.get("policies") or []]
        elif obs.get("type") == "tool_results":
            for res in obs.get("results", []):
                if res.get("ok") and res.get("tool") == "search_history":
                    self._profile = _as_profile(res["output"]["events"])
                if res.get("ok") and res.get("tool") == "ask_user" and self._req.scenario is not None:
                    self._told = told_platform(str(res["output"].get("answer", "")), self._req.scenario)
                    self._issue_first()
        return super().act(observation)

    def _decided(self) -> str | None:
        req = self._req
        assert req.scenario is not None
        return req.named or req.required or decide(self._profile, req.scenario, req.context) or self._told

    def _issue_first(self) -> None:
        verdict = self._forbidden()
        if verdict is None:  # the guardian rule may cover this purchase: the user's age decides
            self._state = "looking_up"
            self._pending.append(json.dumps({"name": "get_profile_field", "arguments": {"field": "age"}}))
            return
        if verdict:
            self._state = "done"
            self._pending.append(json.dumps({"name": DECLINE, "arguments": {"reason": "This purchase needs a guardian's consent."}}))
            return
        if self._decided() is None and self._told is None and self._state != "asking" and not self._one_shot:
            self._state = "asking"  # nothing visible decides: ask, then act on the answer
            self._pending.append(json.dumps({"name": "ask_user", "arguments": {"question": PLATFORM_QUESTION}}))
            return
        super()._issue_first()

    def _forbidden(self) -> bool | None:
        """Whether a shown rule forbids the request's call (None: it depends on the user's age,
        which is hidden and not looked up yet)."""
        req, rule = self._req, guardian_rule()
        tpl = req.template
        if rule["text"] not in self._rules or tpl is None or tpl.then is not None or tpl.first.key != rule["api"] or req.scenario is None:
            return False
        args = self._build(tpl.first, {}, {})
        if "age" not in req.facts:
            return None if isinstance(args.get(rule["param"]), int) and args[rule["param"]] >= rule["limit"] else False
        return must_decline(req.scenario.id, tpl.first.key, args, req.facts["age"])

    def _build(self, api: ApiSpec, facts: dict[str, Any], fixed: dict[str, Any]) -> dict[str, Any]:
        args = super()._build(api, facts, fixed)
        req = self._req
        # ptenv-v2: a one-call search the request does not sort is sorted the user's way
        single = req.template is not None and req.template.then is None and req.chain is None
        wanted = decide(self._profile, req.scenario, req.context) if self._sorts and single and req.scenario is not None else None
        if wanted is not None and req.scenario is not None:
            args |= {k: a.accepted[0] for k, a in preference_args(req.scenario, api, wanted, set(args)).items()}
        return args

    def _platform(self) -> str:
        # a platform a notice rules out: the available one best at what leads to the wanted one
        assert self._req.scenario is not None
        return fallback(self._req.scenario, self._decided() or super()._platform(), self._req.unavailable)


def _as_profile(events: list[dict[str, Any]]) -> str:
    """``search_history``'s events as the profile's history lines (what :func:`decide` reads)."""
    lines = ["Past behaviour (date, scenario, platform, action, situation):"]
    for e in events:
        action = f"{e['action']} ({e['note']})" if e.get("note") else e["action"]
        lines.append(f"- {e['date']} | {e['scenario']} | {e['platform']} | {action} | {e.get('situation') or '-'}")
    return "\n".join(lines)
