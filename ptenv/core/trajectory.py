"""An episode's platform calls, indexed as they are made for the multi-step scoring rule.

The rule (docs/scoring.md): the prediction is what the agent did on the platform it ended on (its
last successful call): every WRITE call there, and the last call of each gold READ API. READ calls
outside the gold are exploration: they cost ``extra_read`` each but do not fail ``tool_names``.
WRITE calls outside the gold (or beyond the gold's count, or on another platform) changed the
world: they fail ``tool_names`` and cost ``extra_write`` each.

Which platform the agent ends on is known only at the end, so :class:`Trajectory` keeps, per
platform, what the rule needs if it were the one (a few counters and dicts, updated while the
call's data is at hand); :meth:`Trajectory.answer` then reads the chosen platform's part. Every
episode ends with a score, and judging the whole list of calls at that point cost more than the
rest of the finishing step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ptenv.tools_registry import ToolKind

_WRITE = ToolKind.WRITE

#: What a trajectory answers: the platform's name (PTBench's vocabulary), the calls, each
#: function's last arguments, the calls per function; then its extra READ and WRITE calls.
Answer = tuple[str | None, tuple[tuple[str, dict[str, Any]], ...], dict[str, dict[str, Any]], dict[str, int], int, int]
_NO_ANSWER: Answer = (None, (), {}, {}, 0, 0)


@dataclass(slots=True)
class CallRecord:
    """One call the agent made. ``args`` are the validated values that ran, by the platform's names."""

    tool: str
    ok: bool
    platform: str | None = None
    api: str | None = None
    kind: str = "builtin"
    args: dict[str, Any] = field(default_factory=dict)
    #: The platform's display name (PTBench's vocabulary: what the scorer compares).
    platform_name: str | None = None


class _OnPlatform:
    """The successful calls on one platform, as the rule reads them should it be the one chosen."""

    __slots__ = ("name", "last_read", "writes", "counts", "reads", "n_writes", "extra_read", "extra_write")

    def __init__(self, name: str | None) -> None:
        self.name = name
        self.last_read: dict[str, dict[str, Any]] = {}  # gold READ APIs: the last arguments of each
        self.writes: list[tuple[str, dict[str, Any]]] = []
        self.counts: dict[str, int] = {}  # calls per API as the answer has them: each gold READ API once, every write
        self.reads = self.n_writes = 0  # every call here, of each kind
        self.extra_read = self.extra_write = 0  # were this platform the one chosen


class Trajectory:
    """Every call of an episode (:attr:`calls`), its successful platform calls indexed by platform."""

    __slots__ = ("calls", "_gold_counts", "_on", "_last", "_reads", "_writes")

    def __init__(self, gold_counts: dict[str, int]) -> None:
        self.calls: list[CallRecord] = []
        self._gold_counts = gold_counts  # the gold's calls per function
        self._on: dict[str | None, _OnPlatform] = {}
        self._last: _OnPlatform | None = None  # the platform of the last successful call
        self._reads = self._writes = 0  # successful platform calls of each kind, on any platform

    def add(self, call: CallRecord) -> None:
        """Record a call; a successful platform call is indexed too."""
        self.calls.append(call)
        if not call.ok or call.platform is None:
            return
        on = self._on.get(call.platform)
        if on is None:
            on = self._on[call.platform] = _OnPlatform(call.platform_name)
        self._last = on
        api = call.api
        assert api is not None
        if call.kind is _WRITE:
            self._writes += 1
            on.n_writes += 1
            on.writes.append((api, call.args))
            n = on.counts[api] = on.counts.get(api, 0) + 1
            if n > self._gold_counts.get(api, 0):
                on.extra_write += 1
            return
        self._reads += 1
        on.reads += 1
        if api in self._gold_counts:
            on.extra_read += api in on.last_read
            on.last_read[api] = call.args
            on.counts[api] = 1  # its last call is the answer's
        else:
            on.extra_read += 1

    @property
    def wrote(self) -> bool:
        """Whether any platform call that writes (an order, a booking, a purchase) went through."""
        return self._writes > 0

    def answer(self) -> Answer:
        """What the trajectory answers under the rule, with its extra READ and WRITE calls (the
        calls on other platforms all count as extra)."""
        on = self._last
        if on is None:
            return _NO_ANSWER
        out = (*on.last_read.items(), *on.writes)
        extra_read = on.extra_read + self._reads - on.reads
        extra_write = on.extra_write + self._writes - on.n_writes
        return on.name, out, dict(out), dict(on.counts), extra_read, extra_write
