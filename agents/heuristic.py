"""Scripted baselines that read requests with the public query templates.

:class:`HeuristicAgent` is the strong scripted baseline. It reads the request with
:mod:`ptenv.rl.reader` (the scenario's published templates), then:

* platform: the one the query names; otherwise the one this user used in the same situation in
  their history (shown in ``profile``/``history`` modes, searched with ``search_history`` in
  ``hidden`` mode), else the one they use by default;
* profile-derived arguments: from the visible profile, or ``get_profile_field`` when hidden;
* multi-call requests: runs the first call, binds the id from its first result, runs the second;
  a long chain (ptenv-v2, 3-4 calls) runs its calls one at a time, each bound to the results so far.

:class:`ProfileBlindAgent` is the same reader with the user ignored: a named platform is kept,
any other choice is uniformly random, and required profile-derived arguments get a placeholder. It is the validity floor. Neither agent ever sees the gold.
"""

from __future__ import annotations

import json
import random
from typing import Any

from ptenv.core.observations import parse_observation
from ptenv.rl.chains import LongChainPlan
from ptenv.rl.reader import build_args, call_text
from ptenv.rl.request import Request, read_request
from ptenv.scenarios.situations import split_said
from ptenv.tools_registry import ApiSpec, Registry


class HeuristicAgent:
    name = "heuristic"
    uses_profile = True
    #: Whether to read the user's history for the platform (the session learner learns it instead).
    uses_history = True

    def __init__(self, seed: int | None = 0):
        self._rng = random.Random(seed)
        self._pending: list[str] = []
        self._req = Request(scenario=None, query="")
        self._chosen = ""
        self._state = "idle"
        self._platform_first = False
        self._plan: LongChainPlan | None = None
        self._outputs: list[dict[str, Any]] = []

    def reset(self, seed: int | None = None) -> None:
        if seed is not None:
            self._rng = random.Random(seed)
        self._pending, self._req, self._state = [], Request(scenario=None, query=""), "idle"
        self._plan, self._outputs = None, []

    # -- the loop ---------------------------------------------------------------------------
    def act(self, observation: str) -> str:
        obs = parse_observation(observation, with_tools=False)  # it knows the tools from the registry
        if obs.get("type") == "ptbench":
            return self._ptbench_answer(obs)
        if obs.get("type") == "task":
            self._start(obs)
        elif obs.get("type") == "tool_results":
            self._absorb(obs)
        if self._pending:
            return self._pending.pop(0)
        return json.dumps({"name": "finish"})

    def _read(self, obs: dict[str, Any]) -> Request:
        """The request of a task observation (the public templates read it)."""
        return read_request(obs)

    def _start(self, obs: dict[str, Any]) -> None:
        self._req = req = self._read(obs)
        self._pending = []
        self._platform_first = obs.get("tool_view") == "platform_first"
        if req.scenario is None or (req.template is None and req.chain is None):  # not a request this reader knows: finish
            self._state = "done"
            return
        if req.hidden and self.uses_profile:
            # look up what the profile would have shown: the history, and each needed field
            self._state = "looking_up"
            lookups = [{"name": "search_history", "arguments": {"scenario": req.scenario.id}}] if self.uses_history else []
            lookups += [{"name": "get_profile_field", "arguments": {"field": f}} for f in req.profile_needs()]
            if not lookups:
                self._issue_first()
                return
            self._pending = [json.dumps(lookups)]  # one action, several calls: saves steps
            return
        self._issue_first()

    def _ptbench_answer(self, obs: dict[str, Any]) -> str:
        """PTBench's one-shot protocol: the same reading, answered as ``Platform:[api(...)]``.
        A multi-call request needs the first call's result, so only its first call is given."""
        try:
            named = {t.get("platform") for t in json.loads(obs.get("tools") or "[]") if isinstance(t, dict)}
        except json.JSONDecodeError:
            named = set()
        sc = next((s for s in Registry.default().scenarios.values() if {p.name for p in s.platforms} <= named), None)
        if sc is None:  # not a ptenv world: nothing this reader knows
            return "I cannot answer this request."
        # ptenv-v2's notices and employer's rule go before the request in this form: read apart,
        # as the multi-step observation shows them
        notices, policies, query = split_said(sc, str(obs["query"]))
        self._start(
            {
                "scenario": sc.id,
                "query": query,
                "now": obs.get("now") or "2026-03-02T10:00",
                "user": {"visibility": "profile", "profile": obs.get("user_profile") or ""},
                "platforms": [{"id": p.id, "name": p.name} for p in sc.platforms],
                **({"notices": notices} if notices else {}),
                **({"policies": policies} if policies else {}),
            }
        )
        if not self._pending:
            return "I cannot answer this request."
        call = json.loads(self._pending.pop(0))
        platform, _, api = call["name"].partition("__")
        args = ", ".join(f"{k}={v!r}" for k, v in call["arguments"].items())
        return f"{sc.platform(platform).name}:[{api}({args})]"

    def _absorb(self, obs: dict[str, Any]) -> None:
        for res in obs.get("results", []):
            if not res.get("ok"):
                continue
            out = res.get("output", {})
            if res["tool"] == "get_profile_field":
                self._req.facts[out["field"]] = out["value"]
            elif res["tool"] == "search_history":
                assert self._req.scenario is not None
                self._req.history = [(e["platform"], e["situation"]) for e in out["events"] if e["scenario"] == self._req.scenario.id]
            elif self._state == "waiting_first" and res.get("output", {}).get("results"):
                self._issue_then(res["output"]["results"][0])
                return
            elif self._state == "chain" and self._plan is not None and "__" in str(res.get("tool")):
                self._outputs.append(out)
                following = self._plan.next_call_text(self._outputs)
                if following is None:
                    self._state = "done"
                else:
                    self._pending.append(following)
                return
        if self._state == "looking_up" and not self._pending:
            self._issue_first()
        elif self._state in ("waiting_first", "chain") and not self._pending:
            self._state = "done"  # the call failed or found nothing: finish

    # -- building calls ---------------------------------------------------------------------
    def _platform(self) -> str:
        req = self._req
        assert req.scenario is not None
        if req.named:
            return req.named
        if not self.uses_profile:
            return self._rng.choice([p.id for p in req.scenario.platforms])
        return req.history_platform() or req.scenario.platforms[0].id

    def _issue_first(self) -> None:
        tpl = self._req.template
        platform = self._chosen = self._platform()
        self._plan, self._outputs = self._req.plan(platform, self._req.facts if self.uses_profile else {}), []
        if self._plan is not None:  # a long chain: its calls one at a time, each from the results so far
            call = self._plan.next_call_text([]) or json.dumps({"name": "finish"})
        else:
            assert tpl is not None
            fixed = dict(tpl.chain.first_args) if tpl.chain else {}
            call = call_text(platform, tpl.first, self._args(tpl.first, fixed))
        if self._platform_first:  # the platform first, then its tool, in one action
            choose = {"name": "choose_platform", "arguments": {"platform": platform}}
            call = json.dumps([choose, json.loads(call)])
        self._pending.append(call)
        self._state = "chain" if self._plan is not None else "waiting_first" if tpl is not None and tpl.then is not None else "done"

    def _issue_then(self, first_result: dict[str, Any]) -> None:
        tpl = self._req.template
        assert tpl is not None and tpl.then is not None and tpl.chain is not None
        fixed = {k: first_result.get(f) for k, f in tpl.chain.bind.items()}
        args = self._args(tpl.then, fixed)
        self._pending.append(call_text(self._chosen, tpl.then, args))
        self._state = "done"

    def _args(self, api: ApiSpec, fixed: dict[str, Any]) -> dict[str, Any]:
        if self.uses_profile:
            return self._build(api, self._req.facts, fixed)
        out = self._build(api, {}, fixed)
        for p in api.params:  # the call must still go through: a guess, not the user's value
            if p.profile and p.required and p.key not in out:
                out[p.key] = self._rng.choice(p.enum) if p.enum else (int(p.minimum or 1) if p.type == "integer" else "unknown")
        return out

    def _build(self, api: ApiSpec, facts: dict[str, Any], fixed: dict[str, Any]) -> dict[str, Any]:
        """``api``'s canonical arguments from the request's slot texts and ``facts``."""
        tpl = self._req.template
        return build_args(api, self._req.texts, self._req.now, facts, fixed, tpl.read_slot if tpl else None)


class ProfileBlindAgent(HeuristicAgent):
    """The heuristic with the user ignored: the validity floor."""

    name = "profile-blind"
    uses_profile = False
