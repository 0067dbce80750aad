"""The oracle: TEST-ONLY PRIVILEGE. It reads the gold through ``ptenv.testing.gold``, never through
observations or ``info``. It exists to prove every task is solvable (validity: oracle = 1.0) and
to draw the ceiling in reports. Never compare it with agents as if it were one."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from ptenv.core.observations import parse_observation
from ptenv.testing.gold import oracle_actions


class OracleAgent:
    name = "oracle (test-only: reads the gold)"

    def __init__(self, seed: int | None = 0):
        self._env: gym.Env[Any, Any] | None = None
        self._queue: list[str] = []

    def bind_env(self, env: gym.Env[Any, Any]) -> None:
        """The privileged door: the evaluation runner hands the env over to agents that ask."""
        self._env = env

    def reset(self, seed: int | None = None) -> None:
        self._queue = []

    def act(self, observation: str) -> str:
        if self._env is None:
            raise RuntimeError("the oracle needs bind_env(env): it reads the gold of the running episode")
        if parse_observation(observation).get("type") == "task":
            self._queue = oracle_actions(self._env)
        return self._queue.pop(0) if self._queue else '{"name": "finish"}'
