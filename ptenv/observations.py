"""Observation text: JSON documents an LLM reads as they are and a script parses.

Every observation is one JSON object with a ``type``: ``task`` (a new request, with the tools on
offer), ``tool_results``, ``error``, ``finished`` or ``session_end``. docs/environments.md shows
each.
"""

from __future__ import annotations

import json
from typing import Any


def dumps(payload: dict[str, Any]) -> str:
    """Encode an observation payload (compact, unicode kept as is)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def parse_observation(text: str) -> dict[str, Any]:
    """The observation as a dict. Raises ``ValueError`` if ``text`` is not a ptenv observation."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not a ptenv observation: {exc.msg}") from None
    if not isinstance(data, dict) or "type" not in data:
        raise ValueError("not a ptenv observation: expected a JSON object with a 'type'")
    return data
