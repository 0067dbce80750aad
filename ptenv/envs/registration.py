"""The registered environment ids: a fat base class, thin variants with ``kwargs`` (as Minigrid)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

#: id -> (entry point, default kwargs)
_SPECS: dict[str, tuple[str, dict[str, Any]]] = {
    "ptenv/PersonalTool-v0": ("ptenv.envs.tool_env:PersonalToolEnv", {}),
    "ptenv/PersonalTool-Profile-v0": ("ptenv.envs.tool_env:PersonalToolEnv", {"visibility": "profile"}),
    "ptenv/PersonalTool-History-v0": ("ptenv.envs.tool_env:PersonalToolEnv", {"visibility": "history"}),
    "ptenv/PersonalTool-Hidden-v0": ("ptenv.envs.tool_env:PersonalToolEnv", {"visibility": "hidden"}),
    "ptenv/PersonalSession-v0": ("ptenv.envs.session_env:PersonalSessionEnv", {}),
    "ptenv/PTBench-v0": ("ptenv.envs.ptbench_env:PTBenchEnv", {}),
    # RL: Discrete candidate actions and a numeric Box observation (ptenv.rl.wrappers)
    "ptenv/PersonalTool-Numeric-v0": ("ptenv.rl.wrappers:make_numeric", {"env_id": "ptenv/PersonalTool-v0", "visibility": "history"}),
    # hidden profile, as PersonalSession-v0: candidates include profile look-ups and asking the user;
    # visibility="facts" leaves feedback as the only source of preferences
    "ptenv/PersonalSession-Numeric-v0": ("ptenv.rl.wrappers:make_numeric", {"env_id": "ptenv/PersonalSession-v0", "visibility": "hidden"}),
    # an LLM plays the user (PTENV_USER_BASE_URL / OPENAI_API_KEY): not reproducible run to run
    "ptenv/PersonalTool-LLMUser-v0": ("ptenv.envs.tool_env:PersonalToolEnv", {"visibility": "hidden", "sim_user": "openai:gpt-4o-mini"}),
}
NONDETERMINISTIC = frozenset({"ptenv/PersonalTool-LLMUser-v0"})
ENV_IDS: tuple[str, ...] = tuple(_SPECS)


def register_envs() -> None:
    """Register every ptenv id (idempotent). Entry points are strings, so nothing heavy loads here."""
    for env_id, (entry, kwargs) in _SPECS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry, kwargs=kwargs, nondeterministic=env_id in NONDETERMINISTIC)
