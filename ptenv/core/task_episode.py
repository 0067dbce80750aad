"""A dataset task being worked on: calls execute against a stateful backend, then are judged.

:class:`TaskEpisode` parses actions, resolves tool names through the registry, runs platform
tools on its :class:`~ptenv.tools_registry.Backend` and built-ins through
:class:`~ptenv.core.builtins.Builtins`, keeps the trajectory (:mod:`ptenv.core.trajectory`: the multi-step scoring rule) and the ledger,
and at the end scores what was done with the reward model.

Its source (:class:`~ptenv.core.sources.DatasetSource`) hands it what is worked out once per task
or user: the gold in PTBench's vocabulary and the user as the visibility mode shows them.
"""

from __future__ import annotations

from typing import Any

from ptenv.core.actions import ParsedCall
from ptenv.core.builtins import DECLINE, FINISH, FINISHED, Builtins
from ptenv.core.episode import INSTRUCTIONS, PREFERENCE_SORT, UNANSWERED, EpisodeConfig, EpisodeCore, TaskInfo
from ptenv.core.observations import dumps
from ptenv.core.reward import EpisodeScore
from ptenv.core.trajectory import CallRecord, Trajectory
from ptenv.core.user_sim import ScriptedUser, SimulatedUser
from ptenv.scenarios import Task, UserProfile
from ptenv.scenarios.situations import employer_rule, rules_shown
from ptenv.scoring import GoldAnswer, Prediction, judge_decline, judge_strict, score_record
from ptenv.scoring.preferences import PreferenceGold, split_preferences
from ptenv.tools_registry import Backend, Registry

HIDDEN_NOTE = "The user's profile is hidden: use get_profile_field, search_history or ask_user (each has a small cost)."


class TaskEpisode(EpisodeCore):
    def __init__(
        self,
        task: Task,
        user: UserProfile,
        registry: Registry,
        config: EpisodeConfig,
        gold: GoldAnswer,
        profile_text: str | None,
        tools_json: str,
        sim_user: SimulatedUser | None = None,
    ):
        super().__init__(config)
        self.task, self.user, self.registry, self.gold = task, user, registry, gold
        self.info = TaskInfo(task.id, task.scenario, task.kind)
        self.scenario = registry.scenarios[task.scenario]
        self.sim_user: SimulatedUser = sim_user or ScriptedUser()
        #: What the visibility mode shows of the user (None: hidden), and the tools on offer as JSON.
        self.profile_text, self.tools_json = profile_text, tools_json
        self.backend = Backend(registry.world(task.scenario), seed=task.seed, now=task.now)
        self.tool_index = registry.tool_index(task.scenario)
        self.offered = Builtins.offered(config.visibility, config.tool_view, config.ask_user)
        #: Every call made, its successful platform calls indexed for scoring as they are made.
        self.trajectory = Trajectory(gold.function_counts)
        self.calls = self.trajectory.calls
        #: The ``platform_first`` view: platform tools only once one is chosen, and only its own.
        self.platform_first = config.tool_view == "platform_first"
        self.chosen_platform: str | None = None
        #: ptenv-v2's notices: platforms that cannot be used for this request (their calls fail)
        self.unavailable = {n.platform: n.text for n in task.notices}
        #: ptenv-v2: the user's employer's rule and the platforms' rules in this scenario, shown on
        #: every request here; whether the agent declined the request (the built-in ``decline``)
        policy = employer_rule(user, task.scenario)
        self.rules = ([policy.text] if policy is not None else []) + (rules_shown(task.scenario) if config.ask_user else [])
        self.declined = False
        #: ptenv-v2's arguments a preference decides, judged in their own column
        self.preferences: PreferenceGold = {
            c.api: params for c in task.gold.calls if (params := {k: a.accepted for k, a in c.args.items() if a.source == "preference"})
        }

    def debug_gold(self) -> Any:
        return self.task.gold.model_dump()

    # -- the opening observation ---------------------------------------------------------------
    def intro(self, **extra: Any) -> dict[str, Any]:
        """The task's opening observation as data, without its tool list (see :meth:`render_intro`)."""
        vis = self.config.visibility
        user: dict[str, Any] = {"visibility": vis, "profile": self.profile_text}
        if self.profile_text is None:
            user = {"visibility": "hidden", "profile": None, "note": HIDDEN_NOTE}
        return {
            "type": "task",
            "instructions": f"{INSTRUCTIONS} {PREFERENCE_SORT}" if self.config.preference_args else INSTRUCTIONS,
            "now": self.task.now,
            "scenario": self.scenario.id,
            "query": self.task.query,
            "user": user,
            "platforms": [{"id": p.id, "name": p.name, "summary": p.summary} for p in self.scenario.platforms],
            **({"notices": list(self.unavailable.values())} if self.unavailable else {}),
            **({"policies": list(self.rules)} if self.rules else {}),
            "max_steps": self.config.max_steps,
            **({"tool_view": self.config.tool_view} if self.platform_first else {}),
            **extra,
        }

    def render_intro(self, head: dict[str, Any], with_tools: bool = True) -> str:
        """:meth:`intro`'s data as the observation text, the tool list spliced in pre-encoded."""
        text = dumps(head)
        if not with_tools:
            return text
        # the tool list is most of the text: spliced in once, pre-encoded
        return "".join((text[:-1], ',"tools":', self.tools_json, "}"))

    def intro_text(self, with_tools: bool = True, **extra: Any) -> str:
        """The task's opening observation as text."""
        return self.render_intro(self.intro(**extra), with_tools)

    # -- acting -------------------------------------------------------------------------------
    def act(self, action: Any) -> tuple[dict[str, Any], float]:
        """Run one action; return (observation payload, step reward). Never raises on bad input."""
        parsed = self._parse(action)
        if isinstance(parsed, tuple):
            return parsed
        results: list[dict[str, Any]] = []
        cost = 0.0
        for call in parsed.calls:
            if self.finished:
                results.append(
                    {"tool": call.name, "ok": False, "error": {"code": "after_finish", "message": "ignored: the task was already finished"}}
                )
                continue
            res, c = self._run(call, parsed.platform)
            results.append(res)
            cost += c
        # the payload of every step, written out rather than through _payload: this is the hot path
        # (and max(0, left) as a test: a builtin call costs more than the comparison)
        left = self.config.max_steps - self.steps
        payload = {"type": "tool_results", "step": self.steps, "results": results, "steps_left": left if left > 0 else 0}
        if parsed.notes:
            payload["notes"] = list(parsed.notes)
        return payload, (-cost if self.reward.mode == "shaped" else 0.0)  # -0.0 when free, as RewardModel.paid

    def _invalid(self, name: str, code: str, message: str) -> tuple[dict[str, Any], float]:
        return {"tool": name, "ok": False, "error": {"code": code, "message": message}}, self.ledger.charge("invalid")

    def _run(self, call: ParsedCall, platform_hint: str | None) -> tuple[dict[str, Any], float]:
        name = call.name
        if name in self.offered:
            if name == FINISH and not call.arguments:  # how most episodes end: nothing to check or charge
                self.finished = True
                return {"tool": FINISH, "ok": True, "output": FINISHED}, 0.0
            return self._builtin(name, call.arguments)
        if name in Builtins.names():
            return self._invalid(
                name, "not_available", f"{name} is only offered in hidden mode; here the user's details are in the observation"
            )
        # the exact name first (what agents send); then every other spelling the registry accepts
        found = self.tool_index.get(name) if platform_hint is None else None
        tool = found if found is not None else self.registry.resolve(self.task.scenario, name, platform_hint)
        if isinstance(tool, str):
            return self._invalid(name, "unknown_tool", tool)
        if self.platform_first and tool.platform != self.chosen_platform:
            if self.chosen_platform is None:
                return self._invalid(name, "choose_platform_first", "pick the platform first with choose_platform; its tools come back")
            return self._invalid(name, "not_chosen", f"{tool.name} is not a tool of the platform you chose; choose_platform switches")
        self.ledger.counts["tool_calls"] += 1
        if self.unavailable and tool.platform in self.unavailable:  # as the notice said: a refusal, no penalty
            self.ledger.counts["failed_calls"] += 1
            self.trajectory.add(CallRecord(tool.name, False, tool.platform, tool.api, tool.kind, {}, tool.platform_name))
            message = f"{tool.platform_name} cannot be used for this request: {self.unavailable[tool.platform]}"
            return {"tool": tool.name, "ok": False, "error": {"code": "unavailable", "message": message}}, 0.0
        ok, result, checked = self.backend.call_checked(tool, call.arguments)
        args = checked.named if checked is not None else {}
        self.trajectory.add(CallRecord(tool.name, ok, tool.platform, tool.api, tool.kind, args, tool.platform_name))  # kind: a ToolKind
        if checked is None:  # malformed arguments are a bad action
            return {"tool": tool.name, "ok": False, **result}, self.ledger.charge("invalid")
        if not ok:  # a well-formed call the world refused (not found, wrong state): no penalty
            self.ledger.counts["failed_calls"] += 1
            return {"tool": tool.name, "ok": False, **result}, 0.0
        return {"tool": tool.name, "ok": True, "output": result}, 0.0

    def _builtin(self, name: str, args: dict[str, Any]) -> tuple[dict[str, Any], float]:
        out = Builtins(self).run(name, args)  # made per call: held, it would tie a cycle to the episode
        cost = self.ledger.charge(out.charge) if out.charge is not None else 0.0
        if out.error is not None:
            return {"tool": name, "ok": False, "error": out.error}, cost
        if name in (FINISH, DECLINE):
            self.finished = True
            self.declined = self.declined or name == DECLINE
        return {"tool": name, "ok": True, "output": out.output}, cost

    # -- scoring ------------------------------------------------------------------------------
    def score(self, notes: bool = False) -> EpisodeScore:
        """Judge the calls made against the gold (``notes``: say in words what was wrong)."""
        if self.task.gold.decline:  # ptenv-v2: right only when declined with nothing forbidden done
            return self.reward.score(judge_decline(self.declined, self.trajectory.wrote), self.ledger.penalties)
        platform, calls, pred_map, counts, extra_read, extra_write = self.trajectory.answer()
        hits = 0
        if self.preferences:  # ptenv-v2: judged apart, and left out of what PTBench's columns judge
            calls, pred_map, hits, _ = split_preferences(calls, pred_map, self.preferences)
        if self.config.scorer == "strict":  # the default: judged from the index, no Prediction made
            record = judge_strict(platform, calls, pred_map, counts, self.gold, notes)
        else:
            record = score_record(Prediction(platform, calls), self.gold, self.config.scorer, notes)
        if self.preferences:
            record.preference_hits, record.preference_total = hits, sum(map(len, self.preferences.values()))
        return self.reward.score(record, self.ledger.penalties, extra_read, extra_write)

    def score_unanswered(self) -> EpisodeScore:
        record = score_record(UNANSWERED, self.gold, self.config.scorer)
        record.preference_total = sum(map(len, self.preferences.values()))
        return self.reward.score(record, self.ledger.penalties)
