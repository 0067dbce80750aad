"""The built-in tools every episode offers besides the scenario's platforms, as one typed class.

Each built-in is a documented method of :class:`Builtins`. Beside it, the :func:`builtin`
decorator declares its arguments (a pydantic model: the JSON Schema agents see is generated from
it, and arguments are validated against it), where it is offered, and what one use costs:

* ``finish``: always; ends the task.
* ``ask_user``: hidden mode; a question to the simulated user (costs ``question``).
* ``get_profile_field`` and ``search_history``: hidden mode; profile look-ups (cost ``lookup``).
* ``choose_platform``: the ``platform_first`` tool view; picks the platform, whose tools come back.
* ``decline``: ptenv-v2 (``ask``); declines a request a shown rule forbids, saying why; ends the task.

In the other modes the look-ups are not offered: what they would return is already in the
observation (or, for stated preferences in ``history`` mode, deliberately not).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema

from ptenv.core.observations import encode
from ptenv.core.reward import COSTS, Charge
from ptenv.core.user_sim import SimulatedUser, Situation
from ptenv.scenarios import Task, UserProfile
from ptenv.tools_registry import PROFILE_FIELDS, Registry, ScenarioSpec
from ptenv.tools_registry.tools import clean_schema
from ptenv.tools_registry.world import Encoded

FINISH = "finish"
ASK_USER = "ask_user"
GET_PROFILE_FIELD = "get_profile_field"
SEARCH_HISTORY = "search_history"
CHOOSE_PLATFORM = "choose_platform"
DECLINE = "decline"
#: What ``finish`` answers: one shared, read-only output that carries its JSON.
FINISHED = Encoded({"finished": True})


@dataclass(frozen=True)
class Outcome:
    """What a built-in did: an ``output`` (it worked) or an ``error``, and what the step is charged
    (:meth:`Builtins.run` sets it: the built-in's cost when it worked, ``invalid`` for bad arguments)."""

    output: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    charge: Charge | None = None


@dataclass(frozen=True)
class BuiltinSpec:
    name: str
    args: type[BaseModel]
    #: Offered only when the profile is hidden.
    hidden_only: bool
    #: What one use that works costs (a key of the reward model's costs), or None.
    cost: Charge | None
    #: The message of an ``invalid_arguments`` error; None: bad arguments are ignored.
    invalid: str | None
    method: Callable[..., Outcome]
    #: The arguments when none are given (None when some are required).
    defaults: BaseModel | None
    #: Offered only in this tool view (None: in every view).
    view: str | None = None
    #: Offered only on ptenv-v2 (the ``ask`` flag: its rules can call for declining).
    v2_only: bool = False

    def description(self) -> str:
        doc = " ".join((self.method.__doc__ or "").split())
        return doc.format(cost=COSTS[self.cost] if self.cost else 0)


def builtin(
    args: type[BaseModel],
    *,
    hidden_only: bool = False,
    cost: Charge | None = None,
    invalid: str | None = None,
    view: str | None = None,
    v2_only: bool = False,
) -> Any:
    """Declare a method of :class:`Builtins` a built-in tool."""

    def mark(method: Callable[..., Outcome]) -> Callable[..., Outcome]:
        method.__builtin__ = (args, hidden_only, cost, invalid, view, v2_only)  # type: ignore[attr-defined]
        return method

    return mark


class _Args(BaseModel):
    # arguments a built-in does not take are ignored, as a person would ignore them
    model_config = ConfigDict(extra="ignore", frozen=True)


class FinishArgs(_Args):
    # finish always ends the task: a note of another type is ignored rather than refused
    message: Annotated[Any, WithJsonSchema({"type": "string"})] = Field(None, description="Optional short note to the user.")


def _not_blank(v: str) -> str:
    if not v.strip():
        raise ValueError("empty text")
    return v


#: Words a person must have written: blank text is refused.
NonBlank = Annotated[str, AfterValidator(_not_blank)]


class AskUserArgs(_Args):
    question: NonBlank = Field(description="The question, in plain words.")


class GetProfileFieldArgs(_Args):
    field: Literal[tuple(PROFILE_FIELDS)] = Field(description="The profile field to read.")  # type: ignore[valid-type]


class SearchHistoryArgs(_Args):
    #: The schema's enum is the registry's scenarios (see :meth:`Builtins.definitions`).
    scenario: str | None = Field(None, description="Only this scenario.")
    platform: str | None = Field(None, description="Only this platform (id or name).")


class ChoosePlatformArgs(_Args):
    platform: str = Field(description="The platform's name or id.")


class DeclineArgs(_Args):
    reason: NonBlank = Field(description="Why the request cannot be done, in plain words for the user.")


class BuiltinContext(Protocol):
    """What the built-ins read of their episode (a task episode is one)."""

    user: UserProfile
    task: Task
    scenario: ScenarioSpec
    registry: Registry
    sim_user: SimulatedUser
    #: The platform picked with ``choose_platform`` (the ``platform_first`` view), if any.
    chosen_platform: str | None


class Builtins:
    """The built-in tools of one episode; ``run`` dispatches a call to the method of its name."""

    __slots__ = ("ctx",)

    def __init__(self, ctx: BuiltinContext):
        self.ctx = ctx

    @property
    def situation(self) -> Situation:
        return Situation(self.ctx.user, self.ctx.task, self.ctx.scenario)

    @builtin(FinishArgs)
    def finish(self, args: FinishArgs) -> Outcome:
        """Call when the user's request is done, or cannot be done. Ends the task."""
        return Outcome(output=FINISHED)

    @builtin(AskUserArgs, hidden_only=True, cost="question", invalid='ask_user needs a "question" string')
    def ask_user(self, args: AskUserArgs) -> Outcome:
        """Ask the user a question (costs {cost} reward). They answer about their own details and
        which platform they would use; they cannot tell you which tool to call."""
        try:
            answer = self.ctx.sim_user.reply(args.question, self.situation)
        except Exception as exc:  # an LLM-backed user can fail; the env must not
            msg = f"the simulated user could not answer ({type(exc).__name__}); try again or go on without"
            return Outcome(error={"code": "user_unavailable", "message": msg})
        return Outcome(output={"answer": answer})

    @builtin(GetProfileFieldArgs, hidden_only=True, cost="lookup", invalid=f"field must be one of {', '.join(PROFILE_FIELDS)}")
    def get_profile_field(self, args: GetProfileFieldArgs) -> Outcome:
        """Read one field of the user's profile (costs {cost} reward)."""
        return Outcome(output={"field": args.field, "value": self.ctx.user.facts[args.field]})

    @builtin(SearchHistoryArgs, hidden_only=True, cost="lookup", invalid="search_history takes a scenario and a platform as strings")
    def search_history(self, args: SearchHistoryArgs) -> Outcome:
        """Search the user's past behaviour: which platform they used, for what, in which
        situation (costs {cost} reward)."""
        events = []
        for e in self.ctx.user.history:
            sc = self.ctx.registry.scenarios[e.scenario]
            if args.scenario and e.scenario != args.scenario:
                continue
            if args.platform and args.platform.lower() not in (e.platform, sc.platform(e.platform).name.lower()):
                continue
            situation_text = next((c.phrases[0] for c in sc.contexts if c.id == e.context), None)
            event = {
                "date": e.date,
                "scenario": e.scenario,
                "platform": sc.platform(e.platform).name,
                "action": e.api,
                "situation": situation_text,
            }
            note = getattr(e, "note", None)  # ptenv-v2: a use that was not the user's own choice says so
            if note:
                event["note"] = note
            events.append(event)
        return Outcome(output={"events": events})

    @builtin(ChoosePlatformArgs, invalid='choose_platform needs a "platform" (one of the platforms listed)', view="platform_first")
    def choose_platform(self, args: ChoosePlatformArgs) -> Outcome:
        """Pick the platform to use for this request (the user's preference matters). Its tools
        come back with the answer; only the chosen platform's tools can be called. Call again to
        switch."""
        sc, wanted = self.ctx.scenario, args.platform.strip().lower()
        platform = next((p for p in sc.platforms if wanted in (p.id, p.name.lower())), None)
        if platform is None:
            names = ", ".join(p.name for p in sc.platforms)
            return Outcome(error={"code": "unknown_platform", "message": f"no platform {args.platform!r} here; choose one of {names}"})
        self.ctx.chosen_platform = platform.id
        return Outcome(output=_platform_tools(self.ctx.registry, sc.id, platform.id))

    @builtin(DeclineArgs, invalid='decline needs a "reason" string', v2_only=True)
    def decline(self, args: DeclineArgs) -> Outcome:
        """Decline the request when a rule shown to you forbids it, telling the user why. Ends
        the task; make no call the rule forbids."""
        return Outcome(output={"declined": True, "reason": args.reason})

    # -- the table -----------------------------------------------------------------------------
    def run(self, name: str, arguments: dict[str, Any]) -> Outcome:
        """Validate the arguments of built-in ``name`` and run it (``name`` is one of :data:`SPECS`)."""
        spec = SPECS[name]
        if not arguments and spec.defaults is not None:  # finish, most often: nothing to validate
            args = spec.defaults
        else:
            try:
                args = spec.args.model_validate(arguments)
            except ValidationError:
                if spec.defaults is None or spec.invalid is not None:
                    message = spec.invalid or f"{name}: invalid arguments"
                    return Outcome(error={"code": "invalid_arguments", "message": message}, charge="invalid")
                args = spec.defaults
        out = spec.method(self, args)
        return out if out.error is not None or spec.cost is None else Outcome(output=out.output, charge=spec.cost)

    @staticmethod
    def names() -> frozenset[str]:
        """Every built-in's name (offered or not)."""
        return BUILTIN_NAMES

    @staticmethod
    def offered(visibility: str, view: str = "full", ask: bool = False) -> frozenset[str]:
        """Names of the built-ins on offer in a visibility mode and tool view (``ask``: ``ask_user``
        in every mode, as on ptenv-v2, where some requests cannot be decided from the profile)."""
        return _offered(visibility, view, ask)

    @staticmethod
    def definitions(visibility: str, scenarios: tuple[str, ...], view: str = "full", ask: bool = False) -> tuple[dict[str, Any], ...]:
        """Definitions (name, description, JSON Schema parameters) of the built-ins on offer."""
        return _definitions(visibility, scenarios, view, ask)

    @staticmethod
    def definitions_json(visibility: str, scenarios: tuple[str, ...], view: str = "full", ask: bool = False) -> str:
        """:meth:`definitions` as compact JSON text (a list), encoded once."""
        return _definitions_json(visibility, scenarios, view, ask)


def _collect() -> dict[str, BuiltinSpec]:
    specs = {}
    for name, member in vars(Builtins).items():
        marks = getattr(member, "__builtin__", None)
        if marks is not None:
            args, hidden_only, cost, invalid, view, v2_only = marks
            try:
                defaults: BaseModel | None = args()
            except ValidationError:
                defaults = None
            specs[name] = BuiltinSpec(name, args, hidden_only, cost, invalid, member, defaults, view, v2_only)
    return specs


#: Every built-in, by name, in the order they are offered.
SPECS: dict[str, BuiltinSpec] = _collect()
BUILTIN_NAMES = frozenset(SPECS)


@cache
def _offered(visibility: str, view: str = "full", ask: bool = False) -> frozenset[str]:
    return frozenset(
        n
        for n, s in SPECS.items()
        if (visibility == "hidden" or not s.hidden_only or (ask and n == ASK_USER)) and s.view in (None, view) and (ask or not s.v2_only)
    )


# What a property's JSON Schema says first: its type, then its choices, then its description.
_PROP_ORDER = ("type", "enum", "description")


@cache
def _definitions(visibility: str, scenarios: tuple[str, ...], view: str = "full", ask: bool = False) -> tuple[dict[str, Any], ...]:
    out = []
    for name in SPECS:
        if name not in _offered(visibility, view, ask):
            continue
        spec = SPECS[name]
        schema = clean_schema(spec.args.model_json_schema())
        props = {}
        for pname, prop in schema["properties"].items():
            if spec.args is SearchHistoryArgs and pname == "scenario":
                prop = {**prop, "type": "string", "enum": list(scenarios)}
            props[pname] = {k: prop[k] for k in _PROP_ORDER if k in prop} | {k: v for k, v in prop.items() if k not in _PROP_ORDER}
        parameters = {"type": "object", "properties": props, "required": list(schema.get("required", [])), "additionalProperties": False}
        out.append({"name": name, "description": spec.description(), "parameters": parameters})
    return tuple(out)


@cache
def _definitions_json(visibility: str, scenarios: tuple[str, ...], view: str = "full", ask: bool = False) -> str:
    return encode(list(_definitions(visibility, scenarios, view, ask)))


def _platform_tools(registry: Registry, scenario: str, platform: str) -> Encoded:
    """``choose_platform``'s answer: the platform and its tools, pre-encoded once by the registry
    and shared by every episode (read-only)."""
    return registry.platform_tools(scenario, platform)
