"""ptenv: Gymnasium environments for personalized tool invocation.

``import ptenv`` registers the environments (Gymnasium 1.x has no entry-point plugins) and stays
light: the dataset, the tool schemas and the LLM SDKs load on first use.

    import gymnasium as gym
    import ptenv

    env = gym.make("ptenv/PersonalTool-v0", split="test", visibility="profile")
"""

from __future__ import annotations

from typing import Any

from ptenv.envs.registration import ENV_IDS, register_envs

__version__ = "0.1.0"

register_envs()


def parse_observation(text: str, with_tools: bool = True) -> dict[str, Any]:
    """An observation's JSON as a dict (see :mod:`ptenv.core.observations`); ``with_tools=False``
    skips an opening observation's tool list (most of its bytes)."""
    from ptenv.core.observations import parse_observation as _parse

    return _parse(text, with_tools)


__all__ = ["ENV_IDS", "__version__", "parse_observation", "register_envs"]
