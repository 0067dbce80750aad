"""The random agent: random tools with random arguments drawn from their schemas. Near 0 by design."""

from __future__ import annotations

import json
import random
from typing import Any

from ptenv.core.observations import parse_observation


class RandomAgent:
    name = "random"

    def __init__(self, seed: int | None = 0, calls_per_task: int = 2):
        self._rng = random.Random(seed)
        self.calls_per_task = calls_per_task
        self._tools: list[dict[str, Any]] = []
        self._left = 0

    def reset(self, seed: int | None = None) -> None:
        if seed is not None:
            self._rng = random.Random(seed)
        self._left = 0

    def act(self, observation: str) -> str:
        obs = parse_observation(observation)
        if obs.get("type") == "task":
            if "tools" in obs:
                self._tools = [t for t in obs["tools"] if "__" in t["name"]]
            self._left = self.calls_per_task
        if self._left <= 0 or not self._tools:
            return json.dumps({"name": "finish"})
        self._left -= 1
        tool = self._rng.choice(self._tools)
        props = tool["parameters"].get("properties", {})
        args = {k: self._value(v) for k, v in props.items() if k in tool["parameters"].get("required", []) or self._rng.random() < 0.3}
        return json.dumps({"name": tool["name"], "arguments": args})

    def _value(self, schema: dict[str, Any]) -> Any:
        if "enum" in schema:
            return self._rng.choice(schema["enum"])
        kind = schema.get("type")
        if kind == "integer":
            return self._rng.randint(int(schema.get("minimum", 0)), int(schema.get("maximum", 10)))
        if kind == "number":
            return round(self._rng.uniform(float(schema.get("minimum", 0)), float(schema.get("maximum", 100))), 2)
        if kind == "boolean":
            return self._rng.random() < 0.5
        if kind == "array":
            return [self._rng.choice(["a", "b", "c"])]
        return self._rng.choice(["x", "something", "2026-03-03", "12:00"])
