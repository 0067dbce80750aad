"""The registry: every scenario, platform and tool, loaded from ``data/*.json``.

``Registry.default()`` is built once per process (about 10 ms) and shared; it is immutable. What
is derived from it (each scenario's :class:`World`, the tool-name index, the tool definitions as
JSON, PTBench's prompt parts) is built on first use and kept by the registry itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

from . import diskcache
from .specs import TOOL_NAME_RE, ScenarioSpec
from .tools import ToolSpec
from .views import compact_definition
from .world import Encoded, World

_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

#: The scenarios of the built-in world, in their canonical order.
SCENARIOS: tuple[str, ...] = ("shopping", "takeout", "entertainment", "work", "travel")


class Registry:
    """Scenarios, their platforms and the concrete tools (one per platform and API)."""

    def __init__(self, scenarios: Iterable[ScenarioSpec]):
        self.scenarios: dict[str, ScenarioSpec] = {s.id: s for s in scenarios}
        self.tools: dict[str, ToolSpec] = {}
        self._platform_tools: dict[tuple[str, str], Encoded] = {}
        self._by_scenario: dict[str, tuple[ToolSpec, ...]] = {}
        for sc in self.scenarios.values():
            built = []
            for platform in sc.platforms:
                for api in sc.apis:
                    name = ToolSpec.make_name(platform.id, api.name_on(platform.id))
                    if name in self.tools:
                        raise ValueError(f"duplicate tool name {name!r}")
                    tool = ToolSpec(
                        name=name,
                        scenario=sc.id,
                        platform=platform.id,
                        platform_name=platform.name,
                        api=api.name_on(platform.id),
                        api_key=api.key,
                        kind=api.kind,
                        description=f"[{platform.name}] {api.description}",
                        params=api.params,
                    )
                    self.tools[name] = tool
                    built.append(tool)
            self._by_scenario[sc.id] = tuple(built)
        self._worlds: dict[str, World] = {}
        self._indexes: dict[str, dict[str, ToolSpec]] = {}
        self._definitions: dict[str, tuple[tuple[dict[str, Any], ...], str]] = {}
        self._compact: dict[str, str] = {}
        self._ptbench_parts: dict[str, tuple[str, str]] = {}
        #: The key of this registry's schemas in the on-disk cache (the built-in registry's only:
        #: its specs come from this package's files, so a digest of them names the schemas).
        self._disk_key: str | None = None
        self._disk_texts: dict[str, str] | None = None

    @classmethod
    def default(cls) -> Registry:
        """The built-in registry (cached per process)."""
        return _default_registry()

    @classmethod
    def load_builtin(cls) -> Registry:
        """A new instance of the built-in registry. Its tool schemas are kept in the on-disk cache
        (:mod:`.diskcache`), keyed by a digest of this package's code and data."""
        registry = cls(load_scenario(s) for s in SCENARIOS)
        registry._disk_key = diskcache.code_digest(__package__ or "ptenv.tools_registry")
        return registry

    def tools_for(self, scenario: str, platform: str | None = None) -> tuple[ToolSpec, ...]:
        tools = self._by_scenario[scenario]
        return tools if platform is None else tuple(t for t in tools if t.platform == platform)

    def tool_for(self, scenario: str, platform: str, api_key: str) -> ToolSpec:
        api = self.scenarios[scenario].api(api_key)
        return self.tools[ToolSpec.make_name(platform, api.name_on(platform))]

    def world(self, scenario: str) -> World:
        """The scenario's static listings (built once per registry; backends share it)."""
        world = self._worlds.get(scenario)
        if world is None:
            world = self._worlds[scenario] = World(self.scenarios[scenario])
        return world

    def tool_index(self, scenario: str) -> dict[str, ToolSpec]:
        """A scenario's tools by every spelling :meth:`resolve` accepts (built once)."""
        index = self._indexes.get(scenario)
        if index is None:
            index = {}
            for t in self.tools_for(scenario):
                index[t.name] = t
                index[t.name.lower()] = t
                for alias in (t.platform, t.platform_name.lower()):
                    index[f"{alias}::{t.api.lower()}"] = t
                    index[f"{alias}__{t.api.lower()}"] = t
            self._indexes[scenario] = index
        return index

    def resolve(self, scenario: str, name: str, platform_hint: str | None = None) -> ToolSpec | str:
        """A scenario's tool by exact name, ``Platform__api`` in any case, PTBench's
        ``Platform:[api(...)]`` (``platform_hint`` is the platform), or a bare API name that only
        one platform uses. Else a message saying why not."""
        index = self.tool_index(scenario)
        tool = index.get(name) or index.get(name.lower())
        if tool is not None:
            return tool
        key = name.lower()
        if platform_hint is not None:
            tool = index.get(f"{platform_hint.lower()}::{key}")
            if tool is not None:
                return tool
            return f"no tool {name!r} on platform {platform_hint!r} in this scenario"
        owners = [t for t in self.tools_for(scenario) if t.api.lower() == key]
        if len(owners) == 1:
            return owners[0]
        if owners:
            return f"{name!r} exists on several platforms; name one, e.g. {owners[0].name!r}"
        return f"no tool named {name!r} here; the tools on offer were listed at the start (names look like {next(iter(index))!r})"

    def tool_definitions(self, scenario: str) -> tuple[dict[str, Any], ...]:
        """The scenario's tools as definitions (name, description, JSON Schema ``parameters``)."""
        return self._defs(scenario)[0]

    def tool_definitions_json(self, scenario: str) -> str:
        """:meth:`tool_definitions` as compact JSON text (a list), encoded once: the 72 schemas
        are most of the bytes of an episode's first observation."""
        return self._defs(scenario)[1]

    def compact_definitions_json(self, scenario: str) -> str:
        """The ``compact`` tool view of :meth:`tool_definitions_json`: each tool's description cut
        to its first sentence without the platform's tag, no per-parameter prose (about 30% fewer
        bytes; still JSON Schemas a function-calling API takes). Encoded once."""
        hit = self._compact.get(scenario)
        if hit is None:
            hit = self._compact[scenario] = _JSON.encode([compact_definition(d) for d in self.tool_definitions(scenario)])
        return hit

    def platform_tools(self, scenario: str, platform: str) -> Encoded:
        """``{"platform": id, "tools": [definitions]}`` of one platform's tools, encoded once (what
        ``choose_platform`` answers in the ``platform_first`` tool view). Shared: read-only."""
        hit = self._platform_tools.get((scenario, platform))
        if hit is None:
            prefix = f"{platform}__"
            defs = [d for d in self._defs(scenario)[0] if d["name"].startswith(prefix)]
            hit = self._platform_tools[(scenario, platform)] = Encoded({"platform": platform, "tools": defs})
        return hit

    def _defs(self, scenario: str) -> tuple[tuple[dict[str, Any], ...], str]:
        hit = self._definitions.get(scenario)
        if hit is None:
            text = self._stored_definitions().get(scenario)
            if text is not None:
                hit = self._definitions[scenario] = (tuple(json.loads(text)), text)
            else:
                defs = self._build_definitions(scenario)
                hit = self._definitions[scenario] = (defs, _JSON.encode(list(defs)))
        return hit

    def _build_definitions(self, scenario: str) -> tuple[dict[str, Any], ...]:
        # pydantic builds each tool's argument model and its JSON Schema: ~1.7 ms a tool, 0.6 s
        # for the 360, which is why the built-in registry keeps the result on disk
        return tuple({"name": t.name, "description": t.description, "parameters": t.parameters_schema()} for t in self.tools_for(scenario))

    def _stored_definitions(self) -> dict[str, str]:
        """Every scenario's definitions JSON from the on-disk cache (built and kept there on a
        miss); empty for a registry that is not the built-in one, or when caching is off."""
        if self._disk_texts is None:
            self._disk_texts = {}
            where = diskcache.entry_paths(f"tool-schemas-{self._disk_key[:20]}") if self._disk_key else None
            if where is not None and self._disk_key is not None:
                raw = diskcache.read_entry(*where, self._disk_key)
                texts = _read_texts(raw, set(self.scenarios)) if raw is not None else None
                if texts is None:
                    texts = {sc: _JSON.encode(list(self._build_definitions(sc))) for sc in self.scenarios}
                    diskcache.write_entry(*where, self._disk_key, json.dumps(texts, ensure_ascii=False).encode(), what="tool schemas")
                self._disk_texts = texts
        return self._disk_texts

    def ptbench_prompt_parts(self, scenario: str) -> tuple[str, str]:
        """PTBench's ``platforms`` and ``tools`` texts for a scenario (built once)."""
        hit = self._ptbench_parts.get(scenario)
        if hit is None:
            sc = self.scenarios[scenario]
            platforms = "\n".join(f"- {p.name}: {p.summary}" for p in sc.platforms)
            tools = [
                {"platform": t.platform_name, "name": t.api, "description": t.description, "parameters": d["parameters"]}
                for t, d in zip(self.tools_for(scenario), self.tool_definitions(scenario), strict=True)
            ]
            hit = self._ptbench_parts[scenario] = (platforms, json.dumps(tools, ensure_ascii=False))
        return hit

    def platform_ids(self) -> list[str]:
        return [p.id for sc in self.scenarios.values() for p in sc.platforms]

    def invalid_schemas(self) -> list[dict[str, str]]:
        """Tools whose name or argument schema either provider would reject (should be empty)."""
        bad = []
        for tool in self.tools.values():
            for problem in schema_problems(tool):
                bad.append({"tool": tool.name, "problem": problem})
        return bad

    def summary(self) -> dict[str, Any]:
        """What ``ptenv registry --json`` prints."""
        return {
            "scenarios": [
                {"id": s.id, "name": s.name, "platforms": [p.id for p in s.platforms], "apis": len(s.apis)} for s in self.scenarios.values()
            ],
            "platforms": [
                {"id": p.id, "name": p.name, "scenario": s.id, "summary": p.summary, "traits": p.traits}
                for s in self.scenarios.values()
                for p in s.platforms
            ],
            "tools": [
                {"name": t.name, "scenario": t.scenario, "platform": t.platform, "api": t.api, "kind": t.kind.value}
                for t in self.tools.values()
            ],
            "counts": {
                "scenarios": len(self.scenarios),
                "platforms": sum(len(s.platforms) for s in self.scenarios.values()),
                "tools": len(self.tools),
                "read": sum(t.kind.value == "READ" for t in self.tools.values()),
                "write": sum(t.kind.value == "WRITE" for t in self.tools.values()),
            },
            "invalid_schemas": self.invalid_schemas(),
        }


#: JSON Schema keywords both providers accept in tool parameter schemas, as we use them.
_ALLOWED_KEYS = {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "description",
    "enum",
    "items",
    "minimum",
    "maximum",
    "pattern",
    "const",
}


def schema_problems(tool: ToolSpec) -> list[str]:
    """Reasons OpenAI or Anthropic would refuse this tool definition (empty when it is valid)."""
    problems = []
    if not TOOL_NAME_RE.match(tool.name):
        problems.append(f"name {tool.name!r} does not match {TOOL_NAME_RE.pattern}")
    if not tool.description.strip():
        problems.append("empty description")
    try:
        schema = tool.parameters_schema()
    except Exception as exc:  # a broken spec must be reported, not crash the report
        return [*problems, f"schema could not be built: {exc}"]
    if schema.get("type") != "object":
        problems.append("top-level schema type must be 'object' (Anthropic input_schema)")
    props = schema.get("properties", {})
    for req in schema.get("required", []):
        if req not in props:
            problems.append(f"required {req!r} is not a property")
    for pname, prop in props.items():
        if not TOOL_NAME_RE.match(pname):
            problems.append(f"property name {pname!r} is not a plain identifier")
        if not prop.get("description"):
            problems.append(f"property {pname!r} has no description")
        if prop.get("type") not in {"string", "integer", "number", "boolean", "array"} and "enum" not in prop:
            problems.append(f"property {pname!r} has no simple type")
        if prop.get("type") == "array" and "items" not in prop:
            problems.append(f"array property {pname!r} has no items")
        extra = set(prop) - _ALLOWED_KEYS
        if extra:
            problems.append(f"property {pname!r} uses unsupported keywords {sorted(extra)}")
    if "$defs" in schema or "$ref" in json.dumps(schema):
        problems.append("schema uses $ref/$defs")
    return problems


def load_scenario(scenario: str) -> ScenarioSpec:
    """Parse one built-in scenario file (``data/<scenario>.json``)."""
    text = resources.files(__package__).joinpath(f"data/{scenario}.json").read_text(encoding="utf-8")
    return ScenarioSpec.model_validate_json(text)


def _read_texts(raw: bytes, scenarios: set[str]) -> dict[str, str] | None:
    """A stored schemas entry: ``{scenario: definitions JSON}`` for exactly these scenarios."""
    try:
        texts = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(texts, dict) or set(texts) != scenarios or not all(isinstance(v, str) for v in texts.values()):
        return None
    return texts


@cache
def _default_registry() -> Registry:
    return Registry.load_builtin()
