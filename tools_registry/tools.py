"""Concrete tools: one :class:`ToolSpec` per (platform, API), with a typed arguments model.

The pydantic arguments model of a tool is built on first use, not at registry load: building all
360 models costs ~0.2 s, while an episode only ever touches the 72 tools of one scenario.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, create_model

from .specs import TOOL_SEP, ParamSpec, ToolKind

_PY_TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "array": list[str],
}


class ArgumentError(BaseModel):
    """A structured complaint about one argument: which field, what was wrong, what was expected."""

    model_config = ConfigDict(frozen=True)
    field: str
    problem: str
    expected: str


class CheckedArgs(dict[str, Any]):
    """Validated arguments by canonical key, with the same values by the platform's own names
    (``named``). Those of a memoized validation are shared: read-only."""

    __slots__ = ("named", "key")

    def __init__(self, canonical: dict[str, Any], pairs: tuple[tuple[str, str], ...]):
        super().__init__(canonical)
        self.named: dict[str, Any] = {name: canonical[key] for key, name in pairs if key in canonical}
        #: The values as a hashable key, with their types (True == 1 in Python), or None when a
        #: value is not a plain scalar: what memoizes a search over the static catalogue.
        key: list[tuple[str, type, Any]] | None = []
        for k, v in canonical.items():
            if type(v) not in _SCALARS:
                key = None
                break
            key.append((k, type(v), v))  # type: ignore[union-attr]
        self.key: tuple[tuple[str, type, Any], ...] | None = tuple(key) if key is not None else None


_SCALARS = (str, int, float, bool, type(None))
#: How many argument sets a tool remembers the validation of (agents repeat calls a lot).
_MEMO_SIZE = 4096


class ToolSpec(BaseModel):
    """One callable tool: an API as one platform exposes it.

    ``name`` is ``<platform>__<api>`` (matches ``^[a-zA-Z0-9_-]{1,64}$``); ``api`` is the
    function name PTBench-style answers use (``Platform:[api(arg=...)]``).
    """

    model_config = ConfigDict(frozen=True)
    name: str
    scenario: str
    platform: str
    platform_name: str
    api: str
    api_key: str
    kind: ToolKind
    description: str
    params: tuple[ParamSpec, ...]
    _args_model: type[BaseModel] | None = PrivateAttr(None)
    _schema: dict[str, Any] | None = PrivateAttr(None)
    #: (model field, canonical key) and (canonical key, platform name) pairs, for the hot path.
    _field_keys: tuple[tuple[str, str], ...] = PrivateAttr(())
    _arg_pairs: tuple[tuple[str, str], ...] = PrivateAttr(())
    #: arguments (as given, when hashable) -> their validation: a pure function of them
    _checked: dict[tuple[tuple[str, type, Any], ...], CheckedArgs] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any) -> None:
        self._field_keys = tuple(("f_" + p.key, p.key) for p in self.params)
        self._arg_pairs = tuple((p.key, p.name_on(self.platform)) for p in self.params)

    def __getstate__(self) -> dict[Any, Any]:
        # Dynamically created models do not pickle; they are rebuilt on demand.
        state = dict(super().__getstate__())
        state["__pydantic_private__"] = {**state["__pydantic_private__"], "_args_model": None, "_schema": None, "_checked": {}}
        return state

    def arg_pairs(self) -> tuple[tuple[str, str], ...]:
        """(canonical key, this platform's name) of each argument."""
        pairs: tuple[tuple[str, str], ...] = _private(self)["_arg_pairs"]
        return pairs

    @staticmethod
    def make_name(platform: str, api: str) -> str:
        return f"{platform}{TOOL_SEP}{api}"

    def arg_name(self, param: ParamSpec) -> str:
        """The name this platform uses for a canonical parameter."""
        return param.name_on(self.platform)

    @property
    def args_model(self) -> type[BaseModel]:
        if self._args_model is None:
            self._args_model = _build_args_model(self)
        return self._args_model

    def parameters_schema(self) -> dict[str, Any]:
        """JSON Schema of the arguments, accepted by both OpenAI and Anthropic tool definitions."""
        if self._schema is None:
            self._schema = clean_schema(self.args_model.model_json_schema(by_alias=True))
        return self._schema

    def openai_tool(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters_schema(),
            },
        }

    def anthropic_tool(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "input_schema": self.parameters_schema()}

    def validate_args(self, args: Any) -> CheckedArgs | list[ArgumentError]:
        """Validate platform-named arguments; return canonical-keyed values (with ``named``, the
        same by the platform's names) or the errors. Valid arguments made of plain values are
        remembered: the same call validates once (the result is shared, read-only)."""
        if type(args) is dict:
            # with each value's type: True == 1 and 1 == 1.0 in Python, but they validate differently
            key = tuple([(k, type(v), v) for k, v in args.items()])
            try:
                hit = _private(self)["_checked"].get(key)
            except TypeError:  # a list value: not hashable, validated each time
                return self._validate(args)
            if hit is None:
                checked = self._validate(args)
                if isinstance(checked, list):
                    return checked
                memo = _private(self)["_checked"]
                if len(memo) >= _MEMO_SIZE:
                    memo.clear()
                hit = memo[key] = checked
            return hit
        return self._validate(args)

    def _validate(self, args: Any) -> CheckedArgs | list[ArgumentError]:
        if not isinstance(args, dict):
            return [
                ArgumentError(
                    field="(arguments)",
                    problem=f"arguments must be a JSON object, got {type(args).__name__}",
                    expected="an object of named arguments",
                )
            ]
        # Hot path (every tool step): read the cached model straight from pydantic's private
        # storage, since attribute access on a BaseModel's private attrs is slow.
        model = _private(self)["_args_model"] or self.args_model
        try:
            values = model.model_validate(args).__dict__
        except ValidationError as exc:
            return self._explain(exc)
        canonical = {key: v for field, key in _private(self)["_field_keys"] if (v := values[field]) is not None}
        return CheckedArgs(canonical, _private(self)["_arg_pairs"])

    def _explain(self, exc: ValidationError) -> list[ArgumentError]:
        by_name = {self.arg_name(p): p for p in self.params}
        out = []
        for err in exc.errors(include_url=False, include_input=False, include_context=False):
            loc = err["loc"]
            name = str(loc[0]) if loc else "(arguments)"
            param = by_name.get(name)
            if err["type"] == "extra_forbidden" or param is None:
                out.append(ArgumentError(field=name, problem="unknown argument", expected="one of " + ", ".join(sorted(by_name))))
            elif err["type"] == "missing":
                out.append(ArgumentError(field=name, problem="missing required argument", expected=describe_param(param)))
            else:
                out.append(ArgumentError(field=name, problem=err["msg"], expected=describe_param(param)))
        return out


def _private(tool: ToolSpec) -> dict[str, Any]:
    """pydantic's private-attribute storage, read directly (attribute access to it is slow)."""
    return tool.__pydantic_private__  # type: ignore[return-value]


def describe_param(p: ParamSpec) -> str:
    """What a parameter accepts, in words (used in error messages)."""
    text = {"array": "a list of strings"}.get(p.type, f"a {p.type}")
    if p.enum:
        text = "one of " + ", ".join(repr(v) for v in p.enum)
    if p.minimum is not None and p.maximum is not None:
        text += f" between {p.minimum:g} and {p.maximum:g}"
    elif p.minimum is not None:
        text += f" >= {p.minimum:g}"
    elif p.maximum is not None:
        text += f" <= {p.maximum:g}"
    if p.pattern:
        text += {"date": " formatted YYYY-MM-DD", "time": " formatted HH:MM"}.get(p.context or "", f" matching {p.pattern}")
    return text


def _build_args_model(tool: ToolSpec) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for p in tool.params:
        typ: Any = Literal[p.enum] if p.enum else _PY_TYPES[p.type]
        kw: dict[str, Any] = {"alias": tool.arg_name(p), "description": p.description}
        if p.minimum is not None:
            kw["ge"] = p.minimum
        if p.maximum is not None:
            kw["le"] = p.maximum
        if p.pattern is not None:
            kw["pattern"] = p.pattern
        if p.required:
            fields["f_" + p.key] = (typ, Field(..., **kw))
        else:
            fields["f_" + p.key] = (typ | None, Field(None, **kw))
    model_name = re.sub(r"\W", "_", tool.name) + "_args"
    # Fields are ``f_<canonical key>`` (never shadowing BaseModel attributes) aliased to the
    # platform's names; validation goes by alias only, so a platform's model accepts only its names.
    config = ConfigDict(extra="forbid", populate_by_name=False, protected_namespaces=())
    return create_model(model_name, __config__=config, **fields)


def clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Drop pydantic noise (titles, ``null`` branches and defaults of optional arguments)."""

    def clean(node: Any) -> Any:
        if isinstance(node, dict):
            if "anyOf" in node:
                branches = [b for b in node["anyOf"] if b.get("type") != "null"]
                if len(branches) == 1:
                    rest = {k: v for k, v in node.items() if k not in ("anyOf", "default")}
                    node = {**branches[0], **rest}
            out = {}
            for k, v in node.items():
                if k == "properties":  # keys here are argument names (one may be "title"): keep them all
                    out[k] = {name: clean(prop) for name, prop in v.items()}
                elif k != "title" and not (k == "default" and v is None):
                    out[k] = clean(v)
            return out
        if isinstance(node, list):
            return [clean(v) for v in node]
        return node

    out: dict[str, Any] = clean(schema)
    out.setdefault("required", [])
    out["additionalProperties"] = False
    return out


__all__ = ["ArgumentError", "ToolSpec", "clean_schema", "describe_param", "TOOL_SEP"]
