"""Typed specifications of the API tree: scenario > platform > API > parameter.

The specs are loaded from the JSON files in ``data/`` (one per scenario). They describe what
exists; :mod:`.backend` makes it run. Specs are pydantic models because they are serialized
(``ptenv registry --json``) and shown to agents (tool schemas).
"""

from __future__ import annotations

import re
from enum import Enum
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: OpenAI's (and Anthropic's) constraint on tool names.
TOOL_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

#: Separator between platform id and API name in a tool name (no dots: OpenAI rejects them).
TOOL_SEP = "__"


class ToolKind(str, Enum):
    """Whether a call only reads the world or changes it (extra WRITE calls cost more)."""

    READ = "READ"
    WRITE = "WRITE"


ParamType = Literal["string", "integer", "number", "boolean", "array"]
#: Profile fields an API argument may be taken from (``ParamSpec.profile``). The registry owns
#: this vocabulary; ``scenarios`` builds profiles that fill every field.
PROFILE_FIELDS: dict[str, tuple[str, ...] | None] = {
    "full_name": None,
    "age": None,
    "occupation": None,
    "company": None,
    "city": ("Northport", "Riverton", "Lakeside", "Eastfield", "Westbrook", "Hillcrest", "Bayview", "Stonebridge"),
    "home_address": None,
    "work_address": None,
    "phone": None,
    "email": None,
    "work_email": None,
    "payment_method": ("credit_card", "debit_card", "e_wallet"),
    "diet": ("none", "vegetarian", "vegan", "halal", "gluten_free"),
    "clothing_size": ("XS", "S", "M", "L", "XL"),
    "shoe_size": None,
    "seat_preference": ("aisle", "window"),
    "passport_number": None,
    "language": ("english", "spanish", "french", "german", "mandarin"),
}

#: Where a gold argument value comes from. Published in task gold and used by scoring.
#: ``preference``: an optional argument the user's preference decides (ptenv-v2: a search sorted
#: the way they care about), scored in its own column.
Source = Literal["query", "profile", "context", "previous_result", "preference"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ParamSpec(_Frozen):
    """One argument of an API, in its canonical (scenario-wide) form.

    ``names`` maps a platform id to the name that platform uses for this argument, so that the
    platforms of one scenario are parallel but not identical.
    """

    key: str
    type: ParamType
    description: str
    required: bool = False
    enum: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    names: dict[str, str] = Field(default_factory=dict)
    #: Profile fields this argument is normally taken from (e.g. home or work address).
    profile: tuple[str, ...] = ()
    #: Context-derived value kind ("date" or "time"), resolved from the task's clock.
    context: Literal["date", "time"] | None = None
    #: Query slot values: each entry lists the accepted spellings, the first is used in text.
    values: tuple[tuple[Any, ...], ...] = ()
    #: Another parameter of the same API whose value this one must not equal (a trip's
    #: destination is not its origin); synthesis never makes a task that breaks it.
    differs_from: str | None = None

    def name_on(self, platform: str) -> str:
        return self.names.get(platform, self.key)


class OpSpec(_Frozen):
    """How the generic backend executes an API (see docs/registry-format.md)."""

    model_config = ConfigDict(frozen=True, extra="allow")
    type: Literal["search", "get", "create", "transition", "delete", "clear"]


class ApiSpec(_Frozen):
    """One API of a scenario, parallel across its three platforms."""

    key: str
    kind: ToolKind
    description: str
    params: tuple[ParamSpec, ...]
    op: OpSpec
    names: dict[str, str] = Field(default_factory=dict)
    queries: tuple[str, ...] = ()

    def name_on(self, platform: str) -> str:
        return self.names.get(platform, self.key)


class PlatformSpec(_Frozen):
    """A fictional platform: traits in words (``summary``) and in numbers (``traits``, 0..1)."""

    id: str
    name: str
    code: str
    summary: str
    traits: dict[str, float]
    #: Multipliers applied to the scenario's base catalogue to make this platform's listing.
    price_factor: float = 1.0
    time_factor: float = 1.0
    rating_offset: float = 0.0


class EntitySpec(_Frozen):
    """A static catalogue (products, restaurants, flights ...), varied per platform."""

    id_prefix: str
    records: tuple[dict[str, Any], ...]
    price_fields: tuple[str, ...] = ()
    time_fields: tuple[str, ...] = ()
    rating_fields: tuple[str, ...] = ()


class CollectionSpec(_Frozen):
    """Per-episode mutable state (orders, cart, bookings, calendar ...)."""

    id_prefix: str
    singular: str
    initial: tuple[dict[str, Any], ...] = ()


class ContextSpec(_Frozen):
    """A situation a query can mention; users may prefer another trait in it."""

    id: str
    phrases: tuple[str, ...]


class ChainSpec(_Frozen):
    """A multi-call task shape: run ``first``, then ``then`` with arguments bound to its result."""

    first: str
    then: str
    #: Fixed canonical arguments of the first call (e.g. a sort order), besides its query slots.
    first_args: dict[str, Any] = Field(default_factory=dict)
    #: ``then`` parameter -> field of the first result item it takes.
    bind: dict[str, str]
    queries: tuple[str, ...]


class ScenarioSpec(_Frozen):
    id: str
    name: str
    description: str
    #: Trait id -> what it means, in words.
    traits: dict[str, str]
    platforms: tuple[PlatformSpec, ...]
    entities: dict[str, EntitySpec]
    collections: dict[str, CollectionSpec]
    apis: tuple[ApiSpec, ...]
    contexts: tuple[ContextSpec, ...]
    chains: tuple[ChainSpec, ...] = ()

    def api(self, key: str) -> ApiSpec:
        for api in self.apis:
            if api.key == key:
                return api
        raise KeyError(f"scenario {self.id!r} has no API {key!r}")

    def platform(self, pid: str) -> PlatformSpec:
        p = self._platform_by_id.get(pid)
        if p is None:
            raise KeyError(f"scenario {self.id!r} has no platform {pid!r}")
        return p

    @cached_property
    def _platform_by_id(self) -> dict[str, PlatformSpec]:
        # every episode's scoring names its platform: a look-up, not a scan
        return {p.id: p for p in self.platforms}


#: A query-template slot: ``{key}`` or ``{key:noun}``.
SLOT_RE = re.compile(r"\{([a-z_][a-z0-9_]*)(?::(noun))?\}")


def template_slots(text: str) -> list[tuple[str, str]]:
    """The ``(key, form)`` slots of a query template; form is ``""`` or ``"noun"``."""
    return [(m.group(1), m.group(2) or "") for m in SLOT_RE.finditer(text)]
