"""The API tree (scenario > platform > API) as typed specs, and the backends that execute calls.

Imports nothing else of ptenv's: scenarios and the core build on it, never the reverse.
"""

from .backend import Backend
from .registry import SCENARIOS, Registry, load_scenario
from .specs import PROFILE_FIELDS, ApiSpec, ParamSpec, PlatformSpec, ScenarioSpec, ToolKind, template_slots
from .tools import ArgumentError, ToolSpec
from .world import World

__all__ = [
    "SCENARIOS",
    "PROFILE_FIELDS",
    "ApiSpec",
    "ArgumentError",
    "Backend",
    "ParamSpec",
    "PlatformSpec",
    "Registry",
    "ScenarioSpec",
    "ToolKind",
    "ToolSpec",
    "World",
    "load_scenario",
    "template_slots",
]
