"""One task being worked on, without Gymnasium: the fast core every env wraps.

:class:`TaskEpisode` owns the episode's backend, parses actions, runs tool calls and built-ins,
keeps the trajectory and the counters, and scores the trajectory at the end
(:func:`score_trajectory`). Observations are JSON documents (text an LLM reads and a script
parses with :func:`ptenv.core.observations.parse_observation`).

Hidden means hidden: nothing here puts the gold or a hidden profile value into a payload. Costs
that depend on the gold (extra calls) are only known, and only charged, at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from ptenv.core.actions import ActionError, ParsedAction, ParsedCall, parse_action
from ptenv.core.builtins import ASK_USER, COSTS, FINISH, GET_PROFILE_FIELD, SEARCH_HISTORY, builtin_tools
from ptenv.core.observations import dumps
from ptenv.core.user_sim import ScriptedUser, SimulatedUser, Situation
from ptenv.scenarios import Task, UserProfile, render_profile
from ptenv.scenarios.dataset import ptbench_answer
from ptenv.scoring import GoldAnswer, Prediction, RecordScore, Scorer, score_record
from ptenv.tools_registry import PROFILE_FIELDS, Backend, Registry, ToolKind, ToolSpec

Visibility = Literal["profile", "history", "facts", "hidden"]
#: profile: facts, stated preferences, history (PTBench's setting); history: facts and history;
#: facts: the basic facts only (preferences must be learned, e.g. from session feedback); hidden: nothing.
VISIBILITIES: tuple[str, ...] = ("profile", "history", "facts", "hidden")
RewardMode = Literal["shaped", "sparse"]

#: Weights of the shaped reward's terms (they sum to 1); penalties are subtracted.
REWARD_WEIGHTS: dict[str, float] = {"platform": 0.15, "tool_names": 0.15, "query_args": 0.15, "profile_args": 0.15, "success": 0.4}

INSTRUCTIONS = (
    "You act for the user below on their request. Call the platforms' tools with JSON such as "
    '{"name": "<tool>", "arguments": {...}} (or a list of them, or PTBench form Platform:[func(arg=value)]). '
    "Choose the platform this user would prefer in this situation and fill arguments the user did not say "
    "from what you know about them. Results come back after each step. Call finish when done."
)


@dataclass(frozen=True)
class EpisodeConfig:
    visibility: Visibility = "profile"
    reward_mode: RewardMode = "shaped"
    scorer: Scorer = "strict"
    max_steps: int = 12

    def __post_init__(self) -> None:
        if self.visibility not in VISIBILITIES:
            raise ValueError(f"visibility must be one of {VISIBILITIES}, got {self.visibility!r}")
        if self.reward_mode not in ("shaped", "sparse"):
            raise ValueError(f"reward_mode must be 'shaped' or 'sparse', got {self.reward_mode!r}")
        if self.scorer not in ("strict", "compat"):
            raise ValueError(f"scorer must be 'strict' or 'compat', got {self.scorer!r}")
        if self.max_steps < 1:
            raise ValueError("max_steps must be at least 1")


@dataclass(slots=True)
class CallRecord:
    """One call the agent made. ``args`` are the validated values that ran, by the platform's names."""

    tool: str
    ok: bool
    platform: str | None = None
    api: str | None = None
    kind: str = "builtin"
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class EpisodeScore:
    record: RecordScore
    terms: dict[str, float]
    penalties: dict[str, float]
    #: The part of the reward paid at the end (the step costs were paid as they happened).
    terminal_reward: float
    total: float

    @property
    def success(self) -> bool:
        return self.record.overall


class EpisodeCore:
    """Step accounting shared by every kind of episode: counters, costs, action parsing."""

    def __init__(self, config: EpisodeConfig):
        self.config = config
        self.steps = 0
        self.counts = {"invalid_actions": 0, "failed_calls": 0, "tool_calls": 0, "questions": 0, "lookups": 0}
        self.step_penalties = {"invalid": 0.0, "questions": 0.0, "lookups": 0.0}
        self.finished = False

    def _parse(self, action: Any) -> ParsedAction | tuple[dict[str, Any], float]:
        """Count the step and parse the action; an unreadable one is charged and answered here."""
        self.steps += 1
        try:
            return parse_action(action)
        except ActionError as exc:
            self.counts["invalid_actions"] += 1
            self.step_penalties["invalid"] += COSTS["invalid"]
            shaped = self.config.reward_mode == "shaped"
            return self._payload("error", error=str(exc)), (-COSTS["invalid"] if shaped else 0.0)

    def _payload(self, kind: str, **extra: Any) -> dict[str, Any]:
        return {"type": kind, "step": self.steps, **extra, "steps_left": max(0, self.config.max_steps - self.steps)}


class TaskEpisode(EpisodeCore):
    def __init__(self, task: Task, user: UserProfile, registry: Registry, config: EpisodeConfig, sim_user: SimulatedUser | None = None):
        super().__init__(config)
        self.task, self.user, self.registry = task, user, registry
        self.scenario = registry.scenarios[task.scenario]
        self.sim_user: SimulatedUser = sim_user or ScriptedUser()
        self.backend = Backend(self.scenario, seed=task.seed, now=task.now)
        self.tools: dict[str, ToolSpec] = _tool_index(registry, task.scenario)
        self.builtins = _builtin_names(config.visibility)
        self.calls: list[CallRecord] = []

    # -- observation parts ------------------------------------------------------------------
    def intro_text(self, with_tools: bool = True, **extra: Any) -> str:
        """The task's opening observation as text; the tool list is spliced in pre-encoded."""
        head = dumps({**self.intro(with_tools=False), **extra})
        if not with_tools:
            return head
        return head[:-1] + ',"tools":' + tools_json(self.registry, self.task.scenario, self.config.visibility) + "}"

    def intro(self, with_tools: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "task",
            "instructions": INSTRUCTIONS,
            "now": self.task.now,
            "scenario": self.scenario.id,
            "query": self.task.query,
            "user": user_view(self.user, self.registry, self.task.scenario, self.config.visibility),
            "platforms": [{"id": p.id, "name": p.name, "summary": p.summary} for p in self.scenario.platforms],
            "max_steps": self.config.max_steps,
        }
        if with_tools:
            out["tools"] = tools_for(self.registry, self.task.scenario, self.config.visibility)
        return out

    # -- acting -------------------------------------------------------------------------------
    def act(self, action: Any) -> tuple[dict[str, Any], float]:
        """Run one action; return (observation payload, step reward). Never raises on bad input."""
        parsed = self._parse(action)
        if isinstance(parsed, tuple):
            return parsed
        shaped = self.config.reward_mode == "shaped"
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
        payload = self._payload("tool_results", results=results)
        if parsed.notes:
            payload["notes"] = list(parsed.notes)
        return payload, (-cost if shaped else 0.0)

    def _invalid(self, name: str, code: str, message: str, **more: Any) -> tuple[dict[str, Any], float]:
        self.counts["invalid_actions"] += 1
        self.step_penalties["invalid"] += COSTS["invalid"]
        return {"tool": name, "ok": False, "error": {"code": code, "message": message, **more}}, COSTS["invalid"]

    def _run(self, call: ParsedCall, platform_hint: str | None) -> tuple[dict[str, Any], float]:
        name = call.name
        if name in self.builtins:
            return self._builtin(name, call.arguments)
        if name in (ASK_USER, GET_PROFILE_FIELD, SEARCH_HISTORY):
            return self._invalid(
                name, "not_available", f"{name} is only offered in hidden mode; here the user's details are in the observation"
            )
        tool = self._resolve(name, platform_hint)
        if isinstance(tool, str):
            return self._invalid(name, "unknown_tool", tool)
        self.counts["tool_calls"] += 1
        ok, result, checked = self.backend.call_checked(tool, call.arguments)
        args = {name: checked[key] for key, name in tool.arg_pairs() if key in checked} if checked is not None else {}
        self.calls.append(CallRecord(tool=tool.name, ok=ok, platform=tool.platform, api=tool.api, kind=tool.kind.value, args=args))
        if checked is None:  # malformed arguments are a bad action
            self.counts["invalid_actions"] += 1
            self.step_penalties["invalid"] += COSTS["invalid"]
            return {"tool": tool.name, "ok": False, **result}, COSTS["invalid"]
        if not ok:  # a well-formed call the world refused (not found, wrong state): no penalty
            self.counts["failed_calls"] += 1
            return {"tool": tool.name, "ok": False, **result}, 0.0
        return {"tool": tool.name, "ok": True, "output": result}, 0.0

    def _resolve(self, name: str, platform_hint: str | None) -> ToolSpec | str:
        """A tool by exact name, ``Platform__api`` in any case, PTBench's ``Platform:[api(...)]``,
        or a bare API name that only one platform uses. Else a message saying why not."""
        tool = self.tools.get(name) or self.tools.get(name.lower())
        if tool is not None:
            return tool
        key = name.lower()
        if platform_hint is not None:
            tool = self.tools.get(f"{platform_hint.lower()}::{key}")
            if tool is not None:
                return tool
            return f"no tool {name!r} on platform {platform_hint!r} in this scenario"
        owners = [t for t in self.tools.values() if t.api.lower() == key]
        if len(owners) == 1:
            return owners[0]
        if owners:
            return f"{name!r} exists on several platforms; name one, e.g. {owners[0].name!r}"
        return f"no tool named {name!r} here; the tools on offer were listed at the start (names look like {next(iter(self.tools))!r})"

    def _builtin(self, name: str, args: dict[str, Any]) -> tuple[dict[str, Any], float]:
        if name == FINISH:
            self.finished = True
            return {"tool": FINISH, "ok": True, "output": {"finished": True}}, 0.0
        situation = Situation(self.user, self.task, self.scenario)
        if name == ASK_USER:
            question = args.get("question")
            if not isinstance(question, str) or not question.strip():
                return self._invalid(name, "invalid_arguments", 'ask_user needs a "question" string')
            try:
                answer = self.sim_user.reply(question, situation)
            except Exception as exc:  # an LLM-backed user can fail; the env must not
                msg = f"the simulated user could not answer ({type(exc).__name__}); try again or go on without"
                return {"tool": name, "ok": False, "error": {"code": "user_unavailable", "message": msg}}, 0.0
            self.counts["questions"] += 1
            self.step_penalties["questions"] += COSTS["question"]
            return {"tool": name, "ok": True, "output": {"answer": answer}}, COSTS["question"]
        if name == GET_PROFILE_FIELD:
            fld = args.get("field")
            if fld not in PROFILE_FIELDS:
                return self._invalid(name, "invalid_arguments", f"field must be one of {', '.join(PROFILE_FIELDS)}")
            self.counts["lookups"] += 1
            self.step_penalties["lookups"] += COSTS["lookup"]
            return {"tool": name, "ok": True, "output": {"field": fld, "value": self.user.facts[fld]}}, COSTS["lookup"]
        # search_history
        scenario, platform = args.get("scenario"), args.get("platform")
        self.counts["lookups"] += 1
        self.step_penalties["lookups"] += COSTS["lookup"]
        events = []
        for e in self.user.history:
            sc = self.registry.scenarios[e.scenario]
            if scenario and e.scenario != scenario:
                continue
            if platform and str(platform).lower() not in (e.platform, sc.platform(e.platform).name.lower()):
                continue
            situation_text = next((c.phrases[0] for c in sc.contexts if c.id == e.context), None)
            events.append(
                {
                    "date": e.date,
                    "scenario": e.scenario,
                    "platform": sc.platform(e.platform).name,
                    "action": e.api,
                    "situation": situation_text,
                }
            )
        return {"tool": name, "ok": True, "output": {"events": events}}, COSTS["lookup"]

    # -- scoring ------------------------------------------------------------------------------
    def score(self) -> EpisodeScore:
        return score_trajectory(self.task, self.calls, self.registry, self.config, self.step_penalties)


def reward_terms(record: RecordScore) -> dict[str, float]:
    """The reward's terms, each in [0, 1], from a scored record (see docs/environments.md)."""

    def frac(hits: int, total: int) -> float:  # nothing to get wrong: right iff the functions are
        return min(1.0, hits / total) if total else float(record.tool_names)

    return {
        "platform": float(record.platforms),
        "tool_names": float(record.tool_names),
        "query_args": frac(record.query_hits, record.query_total),
        "profile_args": frac(record.profile_hits, record.profile_total),
        "success": float(record.overall),
    }


def score_trajectory(
    task: Task, calls: list[CallRecord], registry: Registry, config: EpisodeConfig, step_penalties: dict[str, float]
) -> EpisodeScore:
    """Score a trajectory against the gold.

    The prediction is what the agent did on the platform it ended on (its last successful call):
    every WRITE call there, and the last call of each gold READ API. READ calls outside the gold
    are exploration: they cost ``extra_read`` each but do not fail ``tool_names``. WRITE calls
    outside the gold (or beyond the gold's count, or on another platform) changed the world: they
    fail ``tool_names`` and cost ``extra_write`` each.
    """
    sc = registry.scenarios[task.scenario]
    gold = gold_answer(task, registry)
    effective = [c for c in calls if c.ok and c.platform is not None]
    chosen = effective[-1].platform if effective else None
    gold_count: dict[str, int] = {}
    for g in task.gold.calls:
        gold_count[g.api] = gold_count.get(g.api, 0) + 1
    extra_read = extra_write = 0
    last_read: dict[str, dict[str, Any]] = {}
    writes: list[tuple[str, dict[str, Any]]] = []
    write_seen: dict[str, int] = {}
    for c in effective:
        assert c.api is not None
        is_write = c.kind == ToolKind.WRITE.value
        if c.platform != chosen:
            extra_write += is_write
            extra_read += not is_write
        elif is_write:
            writes.append((c.api, c.args))
            write_seen[c.api] = write_seen.get(c.api, 0) + 1
            if write_seen[c.api] > gold_count.get(c.api, 0):
                extra_write += 1
        elif c.api in gold_count:
            extra_read += c.api in last_read
            last_read[c.api] = c.args
        else:
            extra_read += 1
    pred_calls = tuple(list(last_read.items()) + writes)
    platform_name = sc.platform(chosen).name if chosen else None
    record = score_record(Prediction(platform=platform_name, calls=pred_calls), gold, config.scorer)
    terms = reward_terms(record)
    penalties = dict(step_penalties)
    penalties["extra_read"] = extra_read * COSTS["extra_read"]
    penalties["extra_write"] = extra_write * COSTS["extra_write"]
    if config.reward_mode == "sparse":
        terminal = terms["success"]
        total = terminal
    else:
        terminal = sum(REWARD_WEIGHTS[k] * v for k, v in terms.items()) - penalties["extra_read"] - penalties["extra_write"]
        total = terminal - sum(step_penalties.values())
    return EpisodeScore(record=record, terms=terms, penalties=penalties, terminal_reward=terminal, total=total)


@lru_cache(maxsize=8)
def _builtin_names(visibility: str) -> frozenset[str]:
    return frozenset(t["name"] for t in builtin_tools(visibility, []))


_GOLD: dict[tuple[int, str], tuple[Task, GoldAnswer]] = {}


def gold_answer(task: Task, registry: Registry) -> GoldAnswer:
    """The task's gold in PTBench's vocabulary (built once per task: scoring is on the hot path)."""
    key = (id(registry), task.id)
    hit = _GOLD.get(key)
    if hit is None or hit[0] is not task:
        answer, qp, pp = ptbench_answer(task, registry)
        hit = (task, GoldAnswer.from_ptbench(answer, qp, pp, aliases=(task.gold.platform,)))
        _GOLD[key] = hit
    return hit[1]


# -- cached renderings (per process) ------------------------------------------------------------
@lru_cache(maxsize=64)
def _tool_index_cached(registry_id: int, scenario: str, registry: Registry) -> dict[str, ToolSpec]:
    index: dict[str, ToolSpec] = {}
    for t in registry.tools_for(scenario):
        index[t.name] = t
        index[t.name.lower()] = t
        for alias in (t.platform, t.platform_name.lower()):
            index[f"{alias}::{t.api.lower()}"] = t
            index[f"{alias}__{t.api.lower()}"] = t
    return index


def _tool_index(registry: Registry, scenario: str) -> dict[str, ToolSpec]:
    return _tool_index_cached(id(registry), scenario, registry)


@lru_cache(maxsize=64)
def _tools_cached(registry_id: int, scenario: str, visibility: str, registry: Registry) -> tuple[dict[str, Any], ...]:
    tools = [{"name": t.name, "description": t.description, "parameters": t.parameters_schema()} for t in registry.tools_for(scenario)]
    return tuple(tools + builtin_tools(visibility, list(registry.scenarios)))


def tools_for(registry: Registry, scenario: str, visibility: str) -> list[dict[str, Any]]:
    """The tool definitions offered in an episode: the scenario's 72 plus the built-ins."""
    return list(_tools_cached(id(registry), scenario, visibility, registry))


_VIEWS: dict[tuple[int, str, str, int], tuple[UserProfile, str | None]] = {}


def user_view(user: UserProfile, registry: Registry, scenario: str, visibility: str) -> dict[str, Any]:
    """What the agent may know about the user in this visibility mode (rendered once, then cached).

    Cached by the profile object itself, not its id string: two datasets both have a ``u002``."""
    key = (id(user), scenario, visibility, id(registry))
    hit = _VIEWS.get(key)
    if hit is None or hit[0] is not user:
        hidden = visibility == "hidden"
        text = (
            None
            if hidden
            else render_profile(user, registry, scenarios=[scenario], statements=visibility == "profile", history=visibility != "facts")
        )
        hit = (user, text)
        _VIEWS[key] = hit
    text = hit[1]
    if text is None:
        return {
            "visibility": "hidden",
            "profile": None,
            "note": "The user's profile is hidden: use get_profile_field, search_history or ask_user (each has a small cost).",
        }
    return {"visibility": visibility, "profile": text}


@lru_cache(maxsize=64)
def _tools_json_cached(registry_id: int, scenario: str, visibility: str, registry: Registry) -> str:
    return dumps({"tools": tools_for(registry, scenario, visibility)})[len('{"tools":') : -1]


def tools_json(registry: Registry, scenario: str, visibility: str) -> str:
    """:func:`tools_for` as JSON text, encoded once: the 72 schemas are most of a reset's bytes."""
    return _tools_json_cached(id(registry), scenario, visibility, registry)
