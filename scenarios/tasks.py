"""Tasks and their gold answers.

A :class:`Task` holds what the user asks (``query``) and, in ``gold``, what a correct agent does:
the platform, the calls, every accepted value of every argument, and where each value comes from
(query, profile, context or a previous result). The gold reaches scoring only: environments render
observations from the public fields and never from ``gold``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ptenv.tools_registry.specs import Source

#: Task kinds, in the order the synthesizer plans them.
TaskKind = Literal["tool_preference", "preference_and_profile", "profile_dependent", "explicit_platform", "multi_call", "refusal"]
#: ``refusal`` (ptenv-v2 only): a request a shown rule forbids; the right move is to decline it.
TASK_KINDS: tuple[str, ...] = (
    "tool_preference",
    "preference_and_profile",
    "profile_dependent",
    "explicit_platform",
    "multi_call",
    "refusal",
)
#: Kinds whose platform is not named in the query, so it must come from the user's preferences.
PREFERENCE_KINDS = frozenset({"tool_preference", "preference_and_profile", "multi_call"})


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ArgGold(_Model):
    """Accepted values of one argument (the first is canonical) and their provenance."""

    accepted: tuple[Any, ...]
    source: Source
    #: For ``source == "profile"``: the profile field the value was taken from.
    profile_field: str | None = None


class GoldCall(_Model):
    """One expected call: tool name, the platform's API name, and arguments by the platform's names."""

    tool: str
    api: str
    args: dict[str, ArgGold]

    def canonical_args(self) -> dict[str, Any]:
        return {k: a.accepted[0] for k, a in self.args.items()}


class Gold(_Model):
    platform: str
    calls: tuple[GoldCall, ...]
    #: ptenv-v2: the request must be declined (no call; ``calls`` is empty and ``platform`` the
    #: one the user would have used). Left out of the JSON when false.
    decline: bool = Field(default=False, exclude_if=lambda v: not v)


class Notice(_Model):
    """What the world says before a request (ptenv-v2, :mod:`ptenv.scenarios.situations`): the
    platform that cannot be used for it, why (``kind``), and the text the agent is shown."""

    kind: Literal["outage", "maintenance", "weather", "time_of_day", "abroad"]
    platform: str
    text: str


class Policy(_Model):
    """An employer's rule for one scenario (ptenv-v2, :mod:`ptenv.scenarios.situations`): spending
    in the situation ``context`` (a work trip, a work purchase, an office lunch) goes through
    ``platform``, whatever the user would pick; ``text`` is what the agent is shown."""

    scenario: str
    context: str
    platform: str
    text: str


class Task(_Model):
    id: str
    user_id: str
    scenario: str
    kind: TaskKind
    query: str
    #: Context id the query's situation phrase came from (None: no situation mentioned).
    context: str | None
    #: The task's clock (``YYYY-MM-DDTHH:MM``): "tomorrow" in the query is relative to it.
    now: str
    #: Seeds the episode's backend (ids of created records).
    seed: int
    #: Whether the query names the platform.
    platform_named: bool
    gold: Gold
    #: ptenv-v2: notices shown before the request (left out of the JSON when there are none, so
    #: ptenv-v1's bytes are those of a task without the field).
    notices: tuple[Notice, ...] = Field(default=(), exclude_if=lambda v: not v)

    def arg_names_by_source(self, source: str) -> list[str]:
        """``"api.arg"`` names of gold arguments with this provenance (PTBench's query/profile params)."""
        return [f"{c.api}.{k}" for c in self.gold.calls for k, a in c.args.items() if a.source == source]
