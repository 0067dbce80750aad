"""Shorter renderings of tool definitions, for prompts that must fit a small model's context.

A definition is ``{"name", "description", "parameters": JSON Schema}`` (what the registry hands
agents). Most of its bytes are prose that the three platforms of a scenario repeat: each tool's
description opens with its platform's name in brackets and goes on for a sentence or two, and
every parameter carries a description of its own. Both renderings keep what a call needs (the
names, types, enums, bounds and what is required) and one short sentence per tool.
"""

from __future__ import annotations

import re
from typing import Any

_PLATFORM_TAG = re.compile(r"^\[[^\]]*\]\s*")


def short_description(text: str) -> str:
    """The first sentence, without the ``[Platform]`` tag the full view opens with."""
    text = _PLATFORM_TAG.sub("", text.strip())
    head, dot, _ = text.partition(". ")
    return head.rstrip(".") if dot else text.rstrip(".")


def compact_definition(definition: dict[str, Any]) -> dict[str, Any]:
    """The definition with a short description and no per-parameter prose: still a JSON Schema a
    function-calling API takes (the ``compact`` tool view; about 30% fewer bytes)."""
    params = dict(definition.get("parameters") or {})
    props = params.get("properties")
    if isinstance(props, dict):
        params["properties"] = {
            name: {k: v for k, v in schema.items() if k != "description"} if isinstance(schema, dict) else schema
            for name, schema in props.items()
        }
    return {"name": definition["name"], "description": short_description(str(definition.get("description", ""))), "parameters": params}


def _type_of(schema: Any) -> str:
    if not isinstance(schema, dict):
        return "any"
    if "enum" in schema:
        return "|".join(str(v) for v in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list[{_type_of(schema.get('items'))}]"
    return str(kind)


def signature_line(definition: dict[str, Any]) -> str:
    """One line per tool for a text prompt: ``- name(arg: type, optional?: a|b): what it does``."""
    params = definition.get("parameters") or {}
    required = set(params.get("required") or ())
    args = ", ".join(f"{p}{'' if p in required else '?'}: {_type_of(s)}" for p, s in (params.get("properties") or {}).items())
    return f"- {definition['name']}({args}): {short_description(str(definition.get('description', '')))}"
