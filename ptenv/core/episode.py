"""The episode protocol: one request being worked on, without Gymnasium.

Every environment wraps an :class:`Episode`; two kinds implement it. A
:class:`~ptenv.core.task_episode.TaskEpisode` executes calls against a stateful backend and is
scored against a dataset task's gold; a :class:`~ptenv.core.record_episode.RecordEpisode` records
the calls made on a PTBench record and judges them against its answer. Task sources
(:mod:`ptenv.core.sources`) make them, so no env needs to know which kind it runs.

Hidden means hidden: no episode puts the gold or a hidden profile value into a payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, NamedTuple, Protocol

from ptenv.core.actions import ActionError, ParsedAction, parse_action
from ptenv.core.reward import EpisodeScore, Ledger, RewardMode, RewardModel
from ptenv.scoring import Prediction, Scorer

Visibility = Literal["profile", "history", "facts", "hidden"]
#: profile: facts, stated preferences, history (PTBench's setting); history: facts and history;
#: facts: the basic facts only (preferences must be learned, e.g. from session feedback); hidden: nothing.
VISIBILITIES: tuple[str, ...] = ("profile", "history", "facts", "hidden")

#: What an agent that failed answered: nothing (scored as a format failure).
UNANSWERED = Prediction(platform=None, calls=None)

INSTRUCTIONS = (
    "You act for the user below on their request. Call the platforms' tools with JSON such as "
    '{"name": "<tool>", "arguments": {...}} (or a list of them, or PTBench form Platform:[func(arg=value)]). '
    "Choose the platform this user would prefer in this situation and fill arguments the user did not say "
    "from what you know about them. Results come back after each step. Call finish when done."
)

#: ptenv-v2's convention for optional arguments, added to its instructions (ptenv-v1, as PTBench,
#: wants unsaid optional arguments left out).
PREFERENCE_SORT = "When the request does not say how to sort a search, sort it by what this user cares about most here."


ToolView = Literal["full", "compact", "platform_first"]
#: full: every platform's tools from the start (PTBench's setting); compact: the same tools with
#: one short sentence each and no parameter prose (~30% smaller); platform_first: the platforms
#: and the built-ins, then, once the agent picks one with ``choose_platform``, that platform's tools.
TOOL_VIEWS: tuple[str, ...] = ("full", "compact", "platform_first")

#: The most steps an episode may be given (observations count them; more would be no benchmark).
MAX_STEPS = 100_000


@dataclass(frozen=True)
class EpisodeConfig:
    visibility: Visibility = "profile"
    reward_mode: RewardMode = "shaped"
    scorer: Scorer = "strict"
    max_steps: int = 12
    tool_view: ToolView = "full"
    #: ``ask_user`` on offer in every visibility mode, not only ``hidden`` (set by the dataset:
    #: ptenv-v2 has requests no visible source decides, where asking is the right move).
    ask_user: bool = False
    #: The instructions ask for searches sorted the user's way (:data:`PREFERENCE_SORT`; ptenv-v2's
    #: tasks score such an argument in its own column).
    preference_args: bool = False

    def __post_init__(self) -> None:
        if self.visibility not in VISIBILITIES:
            raise ValueError(f"visibility must be one of {VISIBILITIES}, got {self.visibility!r}")
        if self.tool_view not in TOOL_VIEWS:
            raise ValueError(f"tool_view must be one of {TOOL_VIEWS}, got {self.tool_view!r}")
        RewardModel(self.reward_mode)  # validates the mode
        if self.scorer not in ("strict", "compat"):
            raise ValueError(f"scorer must be 'strict' or 'compat', got {self.scorer!r}")
        if not (isinstance(self.max_steps, int) and not isinstance(self.max_steps, bool) and 1 <= self.max_steps <= MAX_STEPS):
            raise ValueError(f"max_steps must be an integer between 1 and {MAX_STEPS}, got {self.max_steps!r}")

    @cached_property
    def reward(self) -> RewardModel:
        return RewardModel(self.reward_mode)


class TaskInfo(NamedTuple):
    """What ``info`` may say about the request being worked on (public: no gold)."""

    id: str
    scenario: str
    kind: str | None


class Episode(Protocol):
    """One request being worked on. ``act`` never raises on bad input."""

    info: TaskInfo
    config: EpisodeConfig
    steps: int
    finished: bool
    ledger: Ledger

    def intro(self, **extra: Any) -> dict[str, Any]:
        """The opening observation (``type: "task"``) as data, without the tools on offer."""
        ...

    def render_intro(self, head: dict[str, Any], with_tools: bool = True) -> str:
        """:meth:`intro`'s data as text, with the tools on offer unless told not to."""
        ...

    def intro_text(self, with_tools: bool = True, **extra: Any) -> str:
        """The opening observation as text (:meth:`intro`, then :meth:`render_intro`)."""
        ...

    def act(self, action: Any) -> tuple[dict[str, Any], float]:
        """Run one action; return (observation payload, step reward)."""
        ...

    def score(self, notes: bool = False) -> EpisodeScore:
        """Score what was done against the gold (the end of the request); ``notes``: the record
        also says in words what was wrong (for debug mode; it costs time at every end)."""
        ...

    def score_unanswered(self) -> EpisodeScore:
        """The score of the request left without an answer (the agent failed): every column false,
        the gold's argument counts kept, so a failed episode counts as a failure everywhere."""
        ...

    def debug_gold(self) -> Any:
        """The gold, for ``info`` when an env is made with ``debug=True`` (never otherwise)."""
        ...


class EpisodeCore:
    """Step accounting every episode shares: the step count, the ledger, parsing an action."""

    def __init__(self, config: EpisodeConfig):
        self.config = config
        self.reward = config.reward
        self.steps = 0
        self.ledger = Ledger()
        self.finished = False

    @property
    def counts(self) -> dict[str, int]:
        return self.ledger.counts

    def _parse(self, action: Any) -> ParsedAction | tuple[dict[str, Any], float]:
        """Count the step and parse the action; an unreadable one is charged and answered here."""
        self.steps += 1
        try:
            return parse_action(action)
        except ActionError as exc:
            return self._payload("error", error=str(exc)), self.reward.paid(self.ledger.charge("invalid"))

    def _payload(self, kind: str, **extra: Any) -> dict[str, Any]:
        return {"type": kind, "step": self.steps, **extra, "steps_left": max(0, self.config.max_steps - self.steps)}
