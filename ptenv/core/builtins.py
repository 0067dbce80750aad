"""Built-in tools every episode offers besides the scenario's platforms.

* ``finish``: always; ends the task.
* ``ask_user``: hidden mode; a question to the simulated user (costs :data:`COSTS` ``question``).
* ``get_profile_field`` and ``search_history``: hidden mode; profile look-ups (cost ``lookup``).

In ``profile`` and ``history`` modes the look-ups are not offered: what they would return is
already in the observation (or, for stated preferences in ``history`` mode, deliberately not).
"""

from __future__ import annotations

from typing import Any

from ptenv.tools_registry import PROFILE_FIELDS

FINISH = "finish"
ASK_USER = "ask_user"
GET_PROFILE_FIELD = "get_profile_field"
SEARCH_HISTORY = "search_history"
BUILTIN_NAMES = frozenset({FINISH, ASK_USER, GET_PROFILE_FIELD, SEARCH_HISTORY})

#: Per-use costs subtracted from the shaped reward (see docs/environments.md).
COSTS: dict[str, float] = {
    "invalid": 0.05,
    "question": 0.02,
    "lookup": 0.01,
    "extra_read": 0.01,
    "extra_write": 0.1,
}


def _fn(name: str, description: str, props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "parameters": {"type": "object", "properties": props, "required": required, "additionalProperties": False},
    }


def builtin_tools(visibility: str, scenarios: list[str]) -> list[dict[str, Any]]:
    """Definitions (name, description, JSON Schema parameters) of the built-ins on offer."""
    tools = [
        _fn(
            FINISH,
            "Call when the user's request is done, or cannot be done. Ends the task.",
            {"message": {"type": "string", "description": "Optional short note to the user."}},
            [],
        )
    ]
    if visibility == "hidden":
        tools += [
            _fn(
                ASK_USER,
                f"Ask the user a question (costs {COSTS['question']} reward). They answer about their own details and which platform they would use; they cannot tell you which tool to call.",
                {"question": {"type": "string", "description": "The question, in plain words."}},
                ["question"],
            ),
            _fn(
                GET_PROFILE_FIELD,
                f"Read one field of the user's profile (costs {COSTS['lookup']} reward).",
                {"field": {"type": "string", "enum": list(PROFILE_FIELDS), "description": "The profile field to read."}},
                ["field"],
            ),
            _fn(
                SEARCH_HISTORY,
                f"Search the user's past behaviour: which platform they used, for what, in which situation (costs {COSTS['lookup']} reward).",
                {
                    "scenario": {"type": "string", "enum": scenarios, "description": "Only this scenario."},
                    "platform": {"type": "string", "description": "Only this platform (id or name)."},
                },
                [],
            ),
        ]
    return tools
